"""Overlap between competing bids: shared land, shared people, and duplicate provision.

For each bid, the union catchment of its sites (the nearest site counts) is
computed per band on the network that covers the bid. Candidate pairs come
from a spatial index over the largest-band polygons (plus any pair that
reaches a common LSOA centroid); only candidates are intersected.

Shared people are those whose LSOA centroid both bids reach within the band,
counted from the centroids' travel times (the same count as
:func:`iot_geo.catchments`), not from polygon overlap.

Duplicate provision (the competition: "we would not expect to see competing
bids which duplicate provision in an area") is flagged when both
    * the shared people are at least ``duplicate_share`` (default
      :data:`DUPLICATE_SHARE`) of either bid's people, and
    * the bids offer at least one route in common.
Two bids in the same LEP whose catchments meet also get the reason "consider
one co-ordinated bid (hub and spoke)", duplicate or not.
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
from iot_geo.bids import Bid, Bids
from iot_geo.catchment import _population, catchment_detail, check_minutes, pick_network, warn_truncation
from iot_geo.network import TravelNetwork

#: Shared people, as a share of either bid's people, above which (with a shared route) bids duplicate provision.
DUPLICATE_SHARE = 0.25

OVERLAP_COLUMNS = ["bid_a", "bid_b", "mode", "minutes", "area_both_km2", "area_share_a", "area_share_b",
                   "people_both", "people_share_a", "people_share_b", "shared_routes", "same_lep", "same_ca",
                   "duplicate", "reasons"]


@dataclass
class BidCatchments:
    """Union catchments of every bid, with the minutes from each bid to every LSOA centroid."""

    table: gpd.GeoDataFrame  # one row per bid and band (group_id = bid id)
    bids: list[Bid]
    people: np.ndarray  # people per centroid (0 where unknown), over the whole population table
    minutes: np.ndarray  # (n_bids, n_population) minutes, inf where not reached
    bands: list[float]
    mode: str


def bid_catchments(
    network: TravelNetwork | Sequence[TravelNetwork],
    bids: Bids | Sequence[Bid],
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> BidCatchments:
    """The union catchment of each bid per band, on the network that covers it."""
    bands = check_minutes(minutes)
    pop = _population(data_dir, population).reset_index(drop=True)
    people = np.nan_to_num(pop["people"].to_numpy(dtype=float, na_value=np.nan))
    code_pos = pd.Index(pop["lsoa_code"])
    bid_list = list(bids)
    mins = np.full((len(bid_list), len(pop)), np.inf)
    tables = []
    modes = set()
    for i, bid in enumerate(bid_list):
        net = pick_network(network, bid.sites, label=f"bid {bid.id!r}")
        modes.add(net.mode)
        sites = bid.sites.copy()
        sites["group_id"] = bid.id
        det = catchment_detail(net, sites, minutes=bands, union=True, population=pop)
        pos = code_pos.get_indexer(det.population["lsoa_code"])
        mins[i, pos] = det.unit_minutes[0]
        tables.append(det.table)
    table = gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=settings.crs)
    return BidCatchments(table, bid_list, people, mins, bands, "/".join(sorted(modes)))


def _pairs(bc: BidCatchments) -> set[tuple[int, int]]:
    """Candidate pairs: polygons that intersect at the largest band (spatial index) or share a reached centroid."""
    largest = bc.table[bc.table["minutes"] == bc.table["minutes"].max()]
    order = {b.id: i for i, b in enumerate(bc.bids)}
    geoms = largest.geometry.values
    idx = np.asarray([order[g] for g in largest["group_id"]])
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = {(min(idx[a], idx[b]), max(idx[a], idx[b])) for a, b in zip(left, right, strict=True) if idx[a] != idx[b]}
    reach = bc.minutes <= max(bc.bands)
    cols = np.flatnonzero(reach.any(axis=0))
    if len(cols):
        shared = reach[:, cols].astype(np.int32) @ reach[:, cols].T.astype(np.int32)
        a, b = np.nonzero(np.triu(shared, 1))
        pairs |= set(zip(a.tolist(), b.tolist(), strict=True))
    return pairs


def overlap(
    network: TravelNetwork | Sequence[TravelNetwork] | BidCatchments,
    bids: Bids | Sequence[Bid] | None = None,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    duplicate_share: float = DUPLICATE_SHARE,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    with_geometry: bool = False,
) -> pd.DataFrame:
    """One row per unordered pair of bids (``bid_a < bid_b``) and band whose catchments meet.

    Parameters
    ----------
    network : TravelNetwork, list of them, or BidCatchments
        Each bid uses the network that covers all its sites. A
        :class:`BidCatchments` from :func:`bid_catchments` is reused as is.
    bids : Bids or list of Bid
    minutes : sequence of float
    duplicate_share : float
        See the module docstring.
    population : GeoDataFrame, optional
    data_dir : path, optional
    with_geometry : bool
        Return a GeoDataFrame with the shared polygons (see :func:`overlap_areas`).

    Returns
    -------
    pandas.DataFrame
        ``bid_a, bid_b, mode, minutes, area_both_km2, area_share_a,
        area_share_b, people_both, people_share_a, people_share_b,
        shared_routes, same_lep, same_ca, duplicate, reasons``; the area and
        people figures are symmetric (``_a`` is the share of bid a's own).
    """
    if isinstance(network, BidCatchments):
        bc = network
    else:
        if bids is None:
            raise TypeError("overlap() needs the bids")
        bc = bid_catchments(network, bids, minutes=minutes, population=population, data_dir=data_dir)
    if bc.table["truncated"].any():
        warn_truncation(bc.table)
    geo = {(g, m): geom for g, m, geom in zip(bc.table["group_id"], bc.table["minutes"], bc.table.geometry,
                                                strict=True)}
    rows = []
    pairs = sorted(_pairs(bc), key=lambda p: tuple(sorted((bc.bids[p[0]].id, bc.bids[p[1]].id))))
    for i, j in pairs:
        a, b = sorted((bc.bids[i], bc.bids[j]), key=lambda x: x.id)
        ia, ib = (i, j) if a is bc.bids[i] else (j, i)
        shared_routes = sorted(set(a.routes) & set(b.routes))
        same_lep = bool(set(a.lep_codes) & set(b.lep_codes))
        same_ca = bool(a.ca_code and a.ca_code == b.ca_code)
        for band in bc.bands:
            key = int(band) if float(band).is_integer() else band
            ga, gb = geo[(a.id, key)], geo[(b.id, key)]
            both = shapely.intersection(ga, gb) if shapely.intersects(ga, gb) else shapely.Polygon()
            ra, rb = bc.minutes[ia] <= band, bc.minutes[ib] <= band
            pa, pb, pboth = (float(bc.people[ra].sum()), float(bc.people[rb].sum()),
                             float(bc.people[ra & rb].sum()))
            if both.area <= 0 and pboth <= 0:
                continue
            sa = pboth / pa if pa else 0.0
            sb = pboth / pb if pb else 0.0
            reasons = []
            duplicate = bool(max(sa, sb) >= duplicate_share and shared_routes)
            if pboth > 0:
                reasons.append(f"shares {sa:.0%} of {a.id}'s and {sb:.0%} of {b.id}'s people within {key} min")
            if shared_routes:
                reasons.append("both offer " + ", ".join(shared_routes))
            if duplicate:
                reasons.append("duplicate provision: same routes for the same people")
            if same_lep:
                reasons.append("same LEP: consider a single co-ordinated bid (hub and spoke)")
            row: dict[str, Any] = {
                "bid_a": a.id, "bid_b": b.id, "mode": bc.mode, "minutes": key,
                "area_both_km2": round(both.area / 1e6, 4),
                "area_share_a": round(both.area / ga.area, 4) if ga.area else 0.0,
                "area_share_b": round(both.area / gb.area, 4) if gb.area else 0.0,
                "people_both": pboth, "people_share_a": round(sa, 4), "people_share_b": round(sb, 4),
                "shared_routes": shared_routes, "same_lep": same_lep, "same_ca": same_ca,
                "duplicate": duplicate, "reasons": "; ".join(reasons),
            }
            if with_geometry:
                row["geometry"] = both
            rows.append(row)
    if with_geometry:
        return gpd.GeoDataFrame(rows, columns=[*OVERLAP_COLUMNS, "geometry"], geometry="geometry", crs=settings.crs)
    return pd.DataFrame(rows, columns=OVERLAP_COLUMNS)


def overlap_areas(
    network: TravelNetwork | Sequence[TravelNetwork] | BidCatchments,
    bids: Bids | Sequence[Bid] | None = None,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    **kwargs: Any,
) -> gpd.GeoDataFrame:
    """The shared polygons of :func:`overlap`, one per pair and band (for maps)."""
    return overlap(network, bids, minutes=minutes, with_geometry=True, **kwargs)  # type: ignore[return-value]
