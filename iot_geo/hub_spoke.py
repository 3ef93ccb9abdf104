"""Hub and spoke: what each site of a bid adds, and which spokes to choose.

People are counted by LSOA population-weighted centroid, as in
:mod:`iot_geo.catchment`: a centroid counts for a site when it is reached
within the band. ``people_added`` for a site is the people that site reaches
and no other site of the bid does: what the bid would lose without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from iot_geo import settings
from iot_geo.bids import Bid
from iot_geo.catchment import (
    SITE_SNAP_MAX_M,
    AnyNetwork,
    _population,
    as_sites,
    catchment_detail,
    check_minutes,
    pick_network,
    times_to_points,
)
from iot_geo.covering import greedy_cover, maximal_covering
from iot_geo.errors import InvalidInputError
from iot_geo.network import TravelNetwork
from iot_geo.transit import TransitNetwork

#: A spoke that adds less than this share of the whole network's people is flagged redundant.
REDUNDANT_SHARE = 0.05


def _bid_sites(bid: Bid) -> gpd.GeoDataFrame:
    s = bid.sites.copy()
    s["group_id"] = bid.id
    return s


def area_population(bid: Bid, population: gpd.GeoDataFrame, *, data_dir: str | os.PathLike[str] | None = None
                    ) -> tuple[float, shapely.Geometry, str]:
    """People whose LSOA centroid lies in the bid's LEP(s) (else its combined authority), the area, and its label."""
    from iot_geo.sources.boundaries import load_areas

    if bid.lep_codes:
        layer = load_areas("lep", _vintage(bid, "lep"), data_dir=data_dir)
        geom = shapely.union_all(layer.loc[layer["code"].isin(bid.lep_codes), "geometry"].values)
        label = " + ".join(bid.lep_names) + " LEP"
    elif bid.ca_code:
        layer = load_areas("ca", _vintage(bid, "ca"), data_dir=data_dir)
        geom = shapely.union_all(layer.loc[layer["code"] == bid.ca_code, "geometry"].values)
        label = f"{bid.ca_name} CA"
    else:  # pragma: no cover - read_bids requires one
        return float("nan"), shapely.Polygon(), ""
    x, y = population.geometry.x.to_numpy(), population.geometry.y.to_numpy()
    inside = shapely.contains_xy(geom, x, y)
    return float(np.nansum(population["people"].to_numpy(dtype=float, na_value=np.nan)[inside])), geom, label


def _vintage(bid: Bid, kind: str) -> int | None:
    return bid.vintage.get(kind)


def network_covers(network: AnyNetwork, area: shapely.Geometry, *, tolerance_m: float = 1000.0) -> bool:
    """Whether the network's extent (its nodes' or stops' hull, widened by ``tolerance_m``) covers an area."""
    if isinstance(network, TransitNetwork):
        xy = np.column_stack([network.stop_x, network.stop_y])
    else:
        xy = np.column_stack([network.node_x, network.node_y])
    hull = shapely.convex_hull(shapely.multipoints(xy))
    return bool(shapely.buffer(hull, tolerance_m).contains(area))


def hub_spoke(
    network: AnyNetwork | Sequence[AnyNetwork],
    bid: Bid,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    redundant_share: float = REDUNDANT_SHARE,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """People reached by each site of a bid, what each spoke adds, and the whole network's reach.

    Parameters
    ----------
    network : TravelNetwork or list of them
        The network that covers all the bid's sites is used.
    bid : Bid
        From :func:`iot_geo.read_bids`.
    minutes : sequence of float
        Bands (minutes).
    redundant_share : float
        A spoke adding less than this share of the network's people is flagged.
    population : GeoDataFrame, optional
        LSOA centroids (default :func:`iot_geo.load_population`).
    data_dir : path, optional

    Returns
    -------
    pandas.DataFrame
        One row per site and band, then one ``role == "network"`` row per band:
        ``bid_id, site_id, name, role, minutes, people_alone, people_16_59_alone,
        people_added, share_added, to_hub_minutes, from_hub_minutes, redundant,
        area_people, area_share, area_share_is_lower_bound, area, truncated``.
        ``to_hub_minutes``/``from_hub_minutes``: spoke to hub and hub to spoke.
        ``area_share``: the network's people as a share of the people of the
        bid's LEP (or CA); a lower bound where the loaded road network does not
        cover the whole area or a catchment is truncated.
    """
    bands = check_minutes(minutes)
    net = pick_network(network, bid.sites, label=f"bid {bid.id!r}")
    full_pop = _population(data_dir, population)
    sites = _bid_sites(bid)
    det = catchment_detail(net, sites, minutes=bands, population=full_pop, polygons=False)
    pm = det.unit_minutes  # (k, n)
    people = det.population["people"].to_numpy(dtype=float, na_value=np.nan)
    people = np.nan_to_num(people)
    p1659 = np.nan_to_num(det.population["people_16_59"].to_numpy(dtype=float, na_value=np.nan))
    hub_idx = np.flatnonzero(sites["role"].to_numpy() == "hub")
    hub = sites.iloc[hub_idx[:1]]
    to_hub, from_hub = _hub_times(net, sites, hub)
    area_people, area_geom, area_label = area_population(bid, full_pop, data_dir=data_dir)
    covers = network_covers(net, area_geom) if not area_geom.is_empty else False
    rows = []
    for band in bands:
        reach = pm <= band
        union = reach.any(axis=0)
        union_people = float(people[union].sum())
        truncated = bool(det.table.loc[det.table["minutes"] == (int(band) if float(band).is_integer() else band),
                                       "truncated"].any())
        for i, s in enumerate(sites.itertuples()):
            others = np.delete(reach, i, axis=0).any(axis=0) if len(sites) > 1 else np.zeros_like(union)
            alone = float(people[reach[i]].sum())
            added = float(people[reach[i] & ~others].sum())
            share = added / union_people if union_people else 0.0
            rows.append({
                "bid_id": bid.id, "site_id": s.site_id, "name": s.name, "role": s.role,
                "minutes": int(band) if float(band).is_integer() else band,
                "people_alone": alone, "people_16_59_alone": float(p1659[reach[i]].sum()),
                "people_added": added, "share_added": round(share, 4),
                "to_hub_minutes": round(float(to_hub[i]), 2), "from_hub_minutes": round(float(from_hub[i]), 2),
                "redundant": bool(s.role == "spoke" and share < redundant_share),
            })
        rows.append({
            "bid_id": bid.id, "site_id": "(network)", "name": bid.name, "role": "network",
            "minutes": int(band) if float(band).is_integer() else band, "people_alone": union_people,
            "people_16_59_alone": float(p1659[union].sum()), "people_added": union_people, "share_added": 1.0,
            "to_hub_minutes": np.nan, "from_hub_minutes": np.nan, "redundant": False,
            "area_people": area_people, "area_share": round(union_people / area_people, 4) if area_people else np.nan,
            "area_share_is_lower_bound": bool((not covers) or truncated), "area": area_label,
            "truncated": truncated,
        })
    return pd.DataFrame(rows)


def _hub_times(net: AnyNetwork, sites: gpd.GeoDataFrame, hub: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from each site to the hub and from the hub to each site."""
    if isinstance(net, TransitNetwork):
        hx, hy = float(hub.geometry.x.iloc[0]), float(hub.geometry.y.iloc[0])
        sx, sy = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
        to = net.point_minutes(net.stop_minutes(hx, hy, "to_site"), sx, sy, hx, hy)
        frm = net.point_minutes(net.stop_minutes(hx, hy, "from_site"), sx, sy, hx, hy)
        return to, frm
    to_hub = times_to_points(net, sites, hub, max_minutes=240, direction="to_site")["minutes"].to_numpy()
    from_hub = times_to_points(net, sites, hub, max_minutes=240, direction="from_site")["minutes"].to_numpy()
    return to_hub, from_hub


def _default_candidates(network: TravelNetwork, data_dir: str | os.PathLike[str] | None) -> gpd.GeoDataFrame:
    from iot_geo.sources.providers import load_providers

    prov = load_providers(["fe_college", "sixth_form_college", "utc", "university"], data_dir=data_dir)
    minx, miny, maxx, maxy = network.bounds
    x, y = prov.geometry.x.to_numpy(), prov.geometry.y.to_numpy()
    near = prov[(x >= minx - SITE_SNAP_MAX_M) & (x <= maxx + SITE_SNAP_MAX_M)
                & (y >= miny - SITE_SNAP_MAX_M) & (y <= maxy + SITE_SNAP_MAX_M)]
    return near.rename(columns={"provider_id": "site_id"})


def _greedy(cover: np.ndarray, weights: np.ndarray, base: np.ndarray, k: int) -> tuple[list[int], float]:
    return greedy_cover(cover, weights, base, k)


def _mclp(cover: np.ndarray, weights: np.ndarray, base: np.ndarray, k: int) -> tuple[list[int], float, str]:
    """Maximal covering location (the shared solver, :func:`iot_geo.covering.maximal_covering`)."""
    return maximal_covering(cover, weights, base, k, time_limit=60.0)


def suggest_spokes(
    network: TravelNetwork,
    hub: Any,
    candidates: Any = None,
    *,
    k: int,
    minutes: float,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Choose ``k`` spokes that, with the hub, reach the most people within ``minutes`` (maximal covering).

    Parameters
    ----------
    network : TravelNetwork
    hub : sites (see :func:`iot_geo.catchment.as_sites`)
        The hub (one site).
    candidates : sites, optional
        Candidate spoke sites; default the FE and sixth-form colleges, UTCs and
        universities within the network's area.
    k : int
        Number of spokes to choose.
    minutes : float
        Band (minutes).
    population : GeoDataFrame, optional
    data_dir : path, optional

    Returns
    -------
    geopandas.GeoDataFrame
        The chosen spokes with ``people_added`` (reached by that spoke and by
        neither the hub nor another chosen spoke). ``attrs`` holds
        ``objective`` (people reached by hub and spokes), ``hub_people``,
        ``solver``, ``greedy_objective`` and ``greedy_gap`` (how far a greedy
        choice falls short, as a share of the optimum).
    """
    (band,) = check_minutes([minutes])
    hub_gdf = as_sites(hub, where="hub")
    if len(hub_gdf) != 1:
        raise InvalidInputError(f"hub: give exactly one hub site, got {len(hub_gdf)}")
    cand = _default_candidates(network, data_dir) if candidates is None else as_sites(candidates, where="candidates")
    snap = network.snap(cand.geometry.x.to_numpy(), cand.geometry.y.to_numpy())
    cand = cand[(snap["distance"] <= SITE_SNAP_MAX_M).to_numpy()]
    cand = cand[~cand["site_id"].astype(str).isin(hub_gdf["site_id"])]
    cand = cand[cand.geometry.distance(hub_gdf.geometry.iloc[0]) > 50.0].reset_index(drop=True)
    if not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k={k!r}: choose at least one spoke")
    if k > len(cand):
        raise InvalidInputError(f"k={k} but only {len(cand)} candidate site(s) lie on the network")
    pop = _population(data_dir, population)
    sites = pd.concat([hub_gdf[["site_id", "geometry"]], cand[["site_id", "geometry"]].astype({"site_id": str})],
                      ignore_index=True)
    det = catchment_detail(network, gpd.GeoDataFrame(sites, geometry="geometry", crs=settings.crs),
                           minutes=[band], population=pop, polygons=False)
    reach = det.unit_minutes <= band
    weights = np.nan_to_num(det.population["people"].to_numpy(dtype=float, na_value=np.nan))
    base, cover = reach[0], reach[1:]
    chosen, objective, solver = _mclp(cover, weights, base, int(k))
    g_chosen, g_obj = _greedy(cover, weights, base, int(k))
    out = cand.iloc[chosen].copy()
    added = []
    for j in chosen:
        others = base | cover[[c for c in chosen if c != j]].any(axis=0) if len(chosen) > 1 else base
        added.append(float(weights[cover[j] & ~others].sum()))
    out["people_added"] = added
    out["people_alone"] = [float(weights[cover[j]].sum()) for j in chosen]
    out = out.sort_values("people_added", ascending=False)
    out.attrs.update({
        "objective": objective, "hub_people": float(weights[base].sum()), "solver": solver, "minutes": band,
        "greedy_objective": g_obj, "greedy_choice": [str(cand["site_id"].iloc[j]) for j in g_chosen],
        "greedy_gap": round((objective - g_obj) / objective, 6) if objective else 0.0,
        "candidates": int(len(cand)),
    })
    return gpd.GeoDataFrame(out, geometry="geometry", crs=settings.crs)


__all__ = ["REDUNDANT_SHARE", "hub_spoke", "suggest_spokes"]
