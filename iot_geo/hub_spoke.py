"""Hub and spoke: what each site of a bid adds, and which spokes to choose.

People are counted by LSOA population-weighted centroid, as in
:mod:`iot_geo.catchment`: a centroid counts for a site when it is reached
within the band. For each site:

- ``people_alone``: the people that site reaches on its own;
- ``people_only_here``: the people that site reaches and no other site of the
  bid does: what the network would lose without that one site;
- ``people_with_site``: the people the hub and that site reach together (for
  the hub, the hub alone): a spoke's value over the hub, even where several
  spokes reach the same people and so each has few ``people_only_here``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from iot_geo import settings
from iot_geo.bids import Bid
from iot_geo.catchment import CatchmentDetail, as_sites, catchment_detail, check_minutes, pick_network, times_to_points
from iot_geo.covering import greedy_cover, maximal_covering
from iot_geo.errors import InvalidInputError
from iot_geo.people import population_or_load, whole_count
from iot_geo.routing import RoutingNetwork
from iot_geo.sources import boundaries, providers

__all__ = ["MIN_GAP_MINUTES", "area_population", "hub_spoke", "network_covers", "suggest_spokes"]


def area_population(bid: Bid, population: gpd.GeoDataFrame, *, data_dir: str | os.PathLike[str] | None = None
                    ) -> tuple[float, shapely.Geometry, str]:
    """People whose LSOA centroid lies in the bid's LEP(s) (else its combined authority), the area, and its label."""
    if bid.lep_codes:
        layer = boundaries.load_areas("lep", _vintage(bid, "lep"), data_dir=data_dir)
        geom = shapely.union_all(layer.loc[layer["code"].isin(bid.lep_codes), "geometry"].values)
        label = " + ".join(bid.lep_names) + " LEP"
    elif bid.ca_code:
        layer = boundaries.load_areas("ca", _vintage(bid, "ca"), data_dir=data_dir)
        geom = shapely.union_all(layer.loc[layer["code"] == bid.ca_code, "geometry"].values)
        label = f"{bid.ca_name} CA"
    else:  # pragma: no cover - read_bids requires one
        return float("nan"), shapely.Polygon(), ""
    x, y = population.geometry.x.to_numpy(), population.geometry.y.to_numpy()
    inside = shapely.contains_xy(geom, x, y)
    return float(np.nansum(population["people"].to_numpy(dtype=float, na_value=np.nan)[inside])), geom, label


def _vintage(bid: Bid, kind: str) -> int | None:
    return bid.vintage.get(kind)


def network_covers(network: RoutingNetwork, area: shapely.Geometry, *, tolerance_m: float = 1000.0) -> bool:
    """Whether the network's extent (its nodes' or stops' hull, widened by ``tolerance_m``) covers an area."""
    xy = np.column_stack([network.node_x, network.node_y])
    hull = shapely.convex_hull(shapely.multipoints(xy))
    return bool(shapely.buffer(hull, tolerance_m).contains(area))


def hub_spoke(
    network: RoutingNetwork | Sequence[RoutingNetwork],
    bid: Bid,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """People reached by each site of a bid, what each spoke adds, and the whole network's reach.

    Parameters
    ----------
    network : RoutingNetwork or list of them
        The network that covers all the bid's sites is used.
    bid : Bid
        From :func:`iot_geo.read_bids`.
    minutes : sequence of float
        Bands (minutes).
    population : GeoDataFrame, optional
        LSOA centroids (default :func:`iot_geo.load_population`).
    data_dir : path, optional

    Returns
    -------
    pandas.DataFrame
        One row per site and band, then one ``role == "network"`` row per band:
        ``bid_id, site_id, name, role, minutes, people_alone, people_16_59_alone,
        people_only_here, share_only_here, people_with_site, to_hub_minutes,
        from_hub_minutes, truncated, area_people, area_share,
        area_share_is_lower_bound, area`` (see the module's docstring for the
        people columns; ``share_only_here`` is ``people_only_here`` as a share
        of the network's people). People are integers.
        ``to_hub_minutes``/``from_hub_minutes``: spoke to hub and hub to spoke.
        ``area_share``: the people of the bid's LEP (or CA) that the network
        reaches, as a share of all its people (people reached outside the area
        do not count, so it is at most 1); a lower bound where the loaded road network does not
        cover the whole area or a catchment is truncated.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> bid = ig.read_bids("data/examples/rutland.yaml")["stamford-iot"]
    >>> ig.hub_spoke(net, bid, minutes=(10,))["role"].tolist()
    ['hub', 'spoke', 'spoke', 'network']
    """
    bands = check_minutes(minutes)
    net = pick_network(network, bid.sites, label=f"bid {bid.id!r}")
    full_pop = population_or_load(data_dir, population)
    sites = bid.grouped_sites()
    det = catchment_detail(net, sites, minutes=bands, population=full_pop, polygons=False)
    hub_idx = np.flatnonzero(sites["role"].to_numpy() == "hub")
    to_hub, from_hub = _hub_times(net, sites, sites.iloc[hub_idx[:1]])
    area_people, area_geom, area_label = area_population(bid, full_pop, data_dir=data_dir)
    area = _Area(area_people, area_label, network_covers(net, area_geom) if not area_geom.is_empty else False,
                 shapely.contains_xy(area_geom, det.population.geometry.x.to_numpy(),
                                     det.population.geometry.y.to_numpy()))
    hub_row = int(hub_idx[0]) if len(hub_idx) else 0
    rows = []
    for band in bands:
        label = int(band) if float(band).is_integer() else band
        truncated = bool(det.table.loc[det.table["minutes"] == label, "truncated"].any())
        rows += _band_rows(bid, sites, det, band, label, truncated, hub_row, (to_hub, from_hub), area)
    table = pd.DataFrame(rows)
    table["area_people"] = table["area_people"].round().astype("Int64")  # on the network rows only
    return table


@dataclass
class _Area:
    """The bid's LEP (or CA) for the network rows: its people, label, whether the network covers it, who is in it."""

    people: float
    label: str
    covered: bool
    inside: np.ndarray  # bool per centroid of the catchment detail's population


def _band_rows(bid: Bid, sites: gpd.GeoDataFrame, det: CatchmentDetail, band: float, label: float, truncated: bool,
               hub_row: int, hub_times: tuple[np.ndarray, np.ndarray], area: _Area) -> list[dict[str, Any]]:
    """One band: a row per site (alone, only here, with the hub, times to and from the hub), then the network row."""
    people = np.nan_to_num(det.population["people"].to_numpy(dtype=float, na_value=np.nan))
    p1659 = np.nan_to_num(det.population["people_16_59"].to_numpy(dtype=float, na_value=np.nan))
    reach = det.unit_minutes <= band  # (sites, centroids)
    union = reach.any(axis=0)
    union_people = whole_count(people[union].sum())
    to_hub, from_hub = hub_times
    rows = []
    for i, s in enumerate(sites.itertuples()):
        others = np.delete(reach, i, axis=0).any(axis=0) if len(sites) > 1 else np.zeros_like(union)
        only_here = whole_count(people[reach[i] & ~others].sum())
        rows.append({
            "bid_id": bid.id, "site_id": s.site_id, "name": s.name, "role": s.role, "minutes": label,
            "people_alone": whole_count(people[reach[i]].sum()),
            "people_16_59_alone": whole_count(p1659[reach[i]].sum()), "people_only_here": only_here,
            "share_only_here": round(only_here / union_people, 4) if union_people else 0.0,
            "people_with_site": whole_count(people[reach[i] | reach[hub_row]].sum()),
            "to_hub_minutes": round(float(to_hub[i]), 2), "from_hub_minutes": round(float(from_hub[i]), 2),
            "truncated": truncated,
        })
    rows.append({
        "bid_id": bid.id, "site_id": "(network)", "name": bid.name, "role": "network", "minutes": label,
        "people_alone": union_people, "people_16_59_alone": whole_count(p1659[union].sum()),
        "people_only_here": union_people, "share_only_here": 1.0, "people_with_site": union_people,
        "to_hub_minutes": np.nan, "from_hub_minutes": np.nan, "truncated": truncated,
        "area_people": area.people,
        "area_share": round(float(people[union & area.inside].sum()) / area.people, 4) if area.people else np.nan,
        "area_share_is_lower_bound": bool((not area.covered) or truncated), "area": area.label,
    })
    return rows


def _hub_times(net: RoutingNetwork, sites: gpd.GeoDataFrame, hub: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from each site to the hub and from the hub to each site (NaN where not made within 240 minutes)."""
    to_hub = times_to_points(net, sites, hub, max_minutes=240, direction="to_site")["minutes"].to_numpy()
    from_hub = times_to_points(net, sites, hub, max_minutes=240, direction="from_site")["minutes"].to_numpy()
    return to_hub, from_hub


def _default_candidates(network: RoutingNetwork, data_dir: str | os.PathLike[str] | None) -> gpd.GeoDataFrame:
    """The FE and sixth-form colleges, UTCs and universities that can join the network (its own ``covers``)."""
    prov = providers.load_providers(["fe_college", "sixth_form_college", "utc", "university"], data_dir=data_dir)
    near = prov[network.covers(prov.geometry.x.to_numpy(), prov.geometry.y.to_numpy())]
    return near.rename(columns={"provider_id": "site_id"})


#: Default smallest gap (minutes) between the hub and a spoke, and between two chosen spokes.
MIN_GAP_MINUTES = 10.0


def suggest_spokes(
    network: RoutingNetwork,
    hub: Any,
    candidates: Any = None,
    *,
    k: int,
    minutes: float,
    min_gap: float = MIN_GAP_MINUTES,
    with_providers: bool | None = None,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Choose ``k`` spokes that, with the hub, reach the most people within ``minutes`` (maximal covering).

    Parameters
    ----------
    network : RoutingNetwork
    hub : sites (see :func:`iot_geo.as_sites`)
        The hub (one site).
    candidates : sites, optional
        The user's own candidate spoke sites.
    k : int
        Number of spokes to choose.
    minutes : float
        Band (minutes).
    min_gap : float
        No spoke within this many minutes of the hub, and no two chosen spokes
        within it of each other (either direction), so that spokes spread
        provision rather than duplicate it. 0 turns the rule off.
    with_providers : bool, optional
        Add every FE college, sixth-form college, UTC and university on the
        network to the candidates. Default: yes when no ``candidates`` are
        given, no when they are.
    population : GeoDataFrame, optional
    data_dir : path, optional

    Returns
    -------
    geopandas.GeoDataFrame
        The chosen spokes with ``people_alone`` and ``people_only_here``
        (reached by that spoke and by neither the hub nor another chosen
        spoke). ``attrs`` holds ``objective`` (people reached by hub and
        spokes), ``hub_people``, ``solver``, ``greedy_objective``,
        ``greedy_gap`` (how far a greedy choice falls short, as a share of the
        optimum), ``candidates`` (the pool's size) and ``excluded_near_hub``.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")
    >>> best = ig.suggest_spokes(net, {"Stamford": (52.6590, -0.4715)}, k=1, minutes=20)
    >>> best["name"].tolist(), best.attrs["candidates"]
    (['Harington School'], 1)
    """
    (band,) = check_minutes([minutes])
    if not isinstance(k, int | np.integer) or k < 1:
        raise InvalidInputError(f"k={k!r}: choose at least one spoke")
    if not np.isfinite(min_gap) or min_gap < 0:
        raise InvalidInputError(f"min_gap={min_gap!r}: give minutes >= 0")
    hub_gdf = as_sites(hub, where="hub")
    if len(hub_gdf) != 1:
        raise InvalidInputError(f"hub: give exactly one hub site, got {len(hub_gdf)}")
    cand, sites, close, excluded = _spaced_pool(network, hub_gdf, candidates, with_providers, min_gap, data_dir)
    if k > len(cand):
        raise InvalidInputError(
            f"k={k} but the pool holds {len(cand)} candidate site(s) on the network"
            + (f" ({excluded} more lie within {min_gap:g} min of the hub)" if excluded else "")
            + ": lower k, add --candidates or lower the gap")
    pop = population_or_load(data_dir, population)
    det = catchment_detail(network, sites.reset_index(drop=True), minutes=[band], population=pop, polygons=False)
    reach = det.unit_minutes <= band
    weights = np.nan_to_num(det.population["people"].to_numpy(dtype=float, na_value=np.nan))
    base, cover = reach[0], reach[1:]
    chosen, objective, solver = maximal_covering(cover, weights, base, int(k),
                                                 close=close if close.any() else None, time_limit=60.0)
    g_chosen, g_obj = greedy_cover(cover, weights, base, int(k), close)
    out = _chosen_table(cand, chosen, cover, weights, base)
    out.attrs.update({
        "objective": int(objective), "hub_people": int(weights[base].sum()), "solver": solver, "minutes": band,
        "greedy_objective": int(g_obj), "greedy_choice": [str(cand["site_id"].iloc[j]) for j in g_chosen],
        "greedy_gap": round((objective - g_obj) / objective, 6) if objective else 0.0,
        "candidates": int(len(cand)), "excluded_near_hub": excluded, "min_gap": float(min_gap),
    })
    return out


def _spaced_pool(network: RoutingNetwork, hub: gpd.GeoDataFrame, candidates: Any, with_providers: bool | None,
                 min_gap: float, data_dir: str | os.PathLike[str] | None
                 ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray, int]:
    """The candidates outside ``min_gap`` of the hub; the hub and them as sites; their close pairs; how many were cut.

    The last is the number of candidates that lay within the gap of the hub.
    """
    cand = _candidate_pool(network, candidates, with_providers, hub, data_dir)
    sites = gpd.GeoDataFrame(
        pd.concat([hub[["site_id", "geometry"]], cand[["site_id", "geometry"]]], ignore_index=True),
        geometry="geometry", crs=settings.crs)
    close = _close_pairs(network, sites, min_gap) if min_gap > 0 else np.zeros((len(sites),) * 2, dtype=bool)
    keep = ~close[0, 1:]  # not within the gap of the hub
    cand, sites = cand[keep].reset_index(drop=True), sites.iloc[np.r_[0, 1 + np.flatnonzero(keep)]]
    return cand, sites, close[1:, 1:][np.ix_(keep, keep)], int((~keep).sum())


def _chosen_table(cand: gpd.GeoDataFrame, chosen: list[int], cover: np.ndarray, weights: np.ndarray,
                  base: np.ndarray) -> gpd.GeoDataFrame:
    """The chosen spokes with ``people_only_here`` and ``people_alone``, most people only here first."""
    out = cand.iloc[chosen].copy()
    added = []
    for j in chosen:
        others = base | cover[[c for c in chosen if c != j]].any(axis=0) if len(chosen) > 1 else base
        added.append(whole_count(weights[cover[j] & ~others].sum()))
    out["people_only_here"] = pd.array(added, dtype="int64")
    out["people_alone"] = pd.array([whole_count(weights[cover[j]].sum()) for j in chosen], dtype="int64")
    out = out.sort_values(["people_only_here", "site_id"], ascending=[False, True])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=settings.crs)


def _candidate_pool(network: RoutingNetwork, candidates: Any, with_providers: bool | None,
                    hub: gpd.GeoDataFrame, data_dir: str | os.PathLike[str] | None) -> gpd.GeoDataFrame:
    """The user's candidates and/or the providers on the network; none off the network, none at the hub."""
    parts = []
    if candidates is not None:
        parts.append(as_sites(candidates, where="candidates"))
    if with_providers or (with_providers is None and candidates is None):
        parts.append(_default_candidates(network, data_dir))
    cand = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    cand = cand.astype({"site_id": str}).drop_duplicates("site_id")
    if len(cand):
        cand = cand[network.covers(cand.geometry.x.to_numpy(), cand.geometry.y.to_numpy())]
    cand = cand[~cand["site_id"].isin(hub["site_id"].astype(str))]
    cand = cand[cand.geometry.distance(hub.geometry.iloc[0]) > 50.0]
    return gpd.GeoDataFrame(cand.reset_index(drop=True), geometry="geometry", crs=settings.crs)


def _close_pairs(network: RoutingNetwork, sites: gpd.GeoDataFrame, min_gap: float) -> np.ndarray:
    """``close[i, j]``: site j is within ``min_gap`` minutes of site i, or i of j (sites at their access points)."""
    if len(sites) < 2:
        return np.zeros((len(sites),) * 2, dtype=bool)
    t = times_to_points(network, sites.geometry, sites, max_minutes=min_gap, direction="from_site")
    m = t[list(sites["site_id"])].to_numpy(dtype=float).T  # (from site i, to site j)
    near: np.ndarray = np.nan_to_num(m, nan=np.inf) <= min_gap
    close: np.ndarray = near | near.T
    np.fill_diagonal(close, False)
    return close

