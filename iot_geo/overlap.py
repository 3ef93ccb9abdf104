"""Overlap between competing bids: shared land, shared people, and duplicate provision.

For each bid, the union catchment of its sites (the nearest site counts) is
computed per band on the network that covers the bid. Shared land is counted
on the catchments' travel-time grid (every grid of one resolution lies on the
same lattice): a sparse bid-by-cell matrix times its transpose gives the
shared cells of every pair at once, so only pairs that really share cells or
people appear and no pair of polygons is intersected to find them (a grid
spatial index). Areas are therefore exact to the grid resolution, like the
polygons drawn from the same grid; :func:`overlap_areas` intersects the
polygons of the overlapping pairs for maps.

Shared people are those whose LSOA centroid both bids reach within the band,
counted from the centroids' travel times (the same count as
:func:`iot_geo.catchments`), not from polygon overlap.

Duplicate provision (the competition: "we would not expect to see competing
bids which duplicate provision in an area") is flagged when both
    * the shared people are at least ``duplicate_share`` (default
      :data:`DUPLICATE_SHARE`) of either bid's people, and
    * the bids offer at least one route in common.
Two bids in the same LEP whose catchments meet also get the reason "consider
one co-ordinated bid (hub and spoke)", duplicate or not. The same LEP is judged
both from the LEPs the bids declare and from where their sites are (the LEP
boundaries of the bid's vintage, :func:`located_leps`); the reason says which:
``declared``, ``located``, or ``both declared and located``.
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
from scipy.sparse import csr_matrix

from iot_geo import settings
from iot_geo.bids import Bid, Bids
from iot_geo.catchment import catchment_detail, check_minutes, pick_network, warn_truncation
from iot_geo.errors import InvalidInputError
from iot_geo.locate import locate_many
from iot_geo.people import population_or_load, whole_count
from iot_geo.routing import RoutingNetwork

__all__ = [
    "DUPLICATE_SHARE",
    "OVERLAP_COLUMNS",
    "BidCatchments",
    "bid_catchments",
    "located_leps",
    "overlap",
    "overlap_areas",
    "same_lep_basis",
]


#: Shared people, as a share of either bid's people, above which (with a shared route) bids duplicate provision.
DUPLICATE_SHARE = 0.25

OVERLAP_COLUMNS = ["bid_a", "bid_b", "mode", "minutes", "area_both_km2", "area_share_a", "area_share_b",
                   "people_both", "people_share_a", "people_share_b", "shared_routes", "same_lep", "same_ca",
                   "duplicate", "reasons"]
#: The column types of a table with no pairs (pandas would make every column ``object``; the flags stay flags).
_EMPTY_TYPES: dict[str, Any] = {"minutes": float, "area_both_km2": float, "area_share_a": float, "area_share_b": float,
                "people_both": "int64", "people_share_a": float, "people_share_b": float, "same_lep": bool,
                "same_ca": bool, "duplicate": bool}


def located_leps(bids: Sequence[Bid], *, data_dir: str | os.PathLike[str] | None = None
                 ) -> dict[str, dict[str, str]]:
    """The LEPs (code -> name) that each bid's sites lie in, on the LEP boundaries of the bid's vintage.

    Every site of every bid of one vintage is located in one vectorised pass
    (:func:`iot_geo.locate.locate_many`). A site outside England has no LEP.
    """
    out: dict[str, dict[str, str]] = {b.id: {} for b in bids}
    by_vintage: dict[int | None, list[Bid]] = {}
    for b in bids:
        by_vintage.setdefault(b.vintage.get("lep"), []).append(b)
    for vintage, group in by_vintage.items():
        group = [b for b in group if len(b.sites)]
        if not group:
            continue
        pts = gpd.GeoSeries(pd.concat([b.sites.geometry.to_crs(settings.crs) for b in group], ignore_index=True),
                            crs=settings.crs)
        owners = [b.id for b in group for _ in range(len(b.sites))]
        where = locate_many(pts, vintage=vintage, data_dir=data_dir)
        for owner, codes, names in zip(owners, where["lep_codes"], where["lep_names"], strict=True):
            out[owner].update(zip(codes, names, strict=True))
    return out


def same_lep_basis(a: Bid, b: Bid, located: dict[str, dict[str, str]]) -> tuple[str, list[str]] | None:
    """Whether two bids are in the same LEP, and on what basis: ``(basis, LEP names)`` or None.

    ``basis`` is ``declared`` (both name it), ``located`` (sites of both lie in
    it) or ``both declared and located``.
    """
    declared = sorted(set(a.lep_codes) & set(b.lep_codes))
    where_a, where_b = located.get(a.id, {}), located.get(b.id, {})
    placed = sorted(set(where_a) & set(where_b))
    if not declared and not placed:
        return None
    names = dict(zip(a.lep_codes, a.lep_names, strict=False))
    if declared and placed:
        return "both declared and located", [where_a.get(c) or names.get(c, c) for c in sorted({*declared, *placed})]
    if declared:
        return "declared", [names.get(c, c) for c in declared]
    return "located", [where_a[c] for c in placed]


@dataclass
class BidCatchments:
    """Union catchments of every bid, with the minutes from each bid to every LSOA centroid."""

    table: gpd.GeoDataFrame  # one row per bid and band (group_id = bid id)
    bids: list[Bid]
    people: np.ndarray  # people per centroid (0 where unknown), over the whole population table
    minutes: np.ndarray  # (n_bids, n_population) minutes, inf where not reached
    bands: list[float]
    mode: str
    cells: list[tuple[np.ndarray, np.ndarray]]  # per bid: global cell ids and minutes (largest band)
    resolution: float


def bid_catchments(
    network: RoutingNetwork | Sequence[RoutingNetwork],
    bids: Bids | Sequence[Bid],
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> BidCatchments:
    """The union catchment of each bid per band, on the network that covers it."""
    bands = check_minutes(minutes)
    pop = population_or_load(data_dir, population).reset_index(drop=True)
    people = np.nan_to_num(pop["people"].to_numpy(dtype=float, na_value=np.nan))
    code_pos = pd.Index(pop["lsoa_code"])
    bid_list = list(bids)
    mins = np.full((len(bid_list), len(pop)), np.inf)
    tables = []
    cells: list[tuple[np.ndarray, np.ndarray]] = []
    resolutions = set()
    modes = set()
    for i, bid in enumerate(bid_list):
        net = pick_network(network, bid.sites, label=f"bid {bid.id!r}")
        modes.add(net.mode)
        det = catchment_detail(net, bid.grouped_sites(), minutes=bands, union=True, population=pop, keep_cells=True)
        pos = code_pos.get_indexer(det.population["lsoa_code"])
        mins[i, pos] = det.unit_minutes[0]
        tables.append(det.table)
        cells.append(det.cells[0])
        resolutions.add(det.resolution)
    if len(resolutions) > 1:
        raise InvalidInputError(f"bids were drawn at different grid resolutions ({sorted(resolutions)} m); "
                                "load networks of one mode")
    table = gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=settings.crs)
    return BidCatchments(table, bid_list, people, mins, bands, "/".join(sorted(modes)), cells, resolutions.pop())


def _shared_cells(bc: BidCatchments, band: float) -> np.ndarray:
    """``(n_bids, n_bids)`` counts of grid cells reached within ``band`` by both bids (diagonal: each bid's own)."""
    ids, rows = [], []
    for i, (cid, t) in enumerate(bc.cells):
        keep = cid[t <= band]
        ids.append(keep)
        rows.append(np.full(len(keep), i, dtype=np.int32))
    all_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    if not len(all_ids):
        return np.zeros((len(bc.bids), len(bc.bids)))
    _, col = np.unique(all_ids, return_inverse=True)
    m = csr_matrix((np.ones(len(col), dtype=np.float32), (np.concatenate(rows), col)),
                   shape=(len(bc.bids), int(col.max()) + 1))
    return np.asarray((m @ m.T).toarray(), dtype=np.float64)


def overlap(
    network: RoutingNetwork | Sequence[RoutingNetwork] | None = None,
    bids: Bids | Sequence[Bid] | None = None,
    *,
    catchments: BidCatchments | None = None,
    minutes: Sequence[float] | float = (30, 45, 60),
    duplicate_share: float = DUPLICATE_SHARE,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    with_geometry: bool = False,
) -> pd.DataFrame:
    """One row per unordered pair of bids (``bid_a < bid_b``) and band whose catchments meet.

    Parameters
    ----------
    network : RoutingNetwork or list of them
        Each bid uses the network that covers all its sites.
    bids : Bids or list of Bid
    catchments : BidCatchments, optional
        Catchments already made by :func:`bid_catchments`, reused as they are (give them instead of
        ``network`` and ``bids``; ``minutes``, ``population`` are theirs).
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

    Examples
    --------
    >>> import iot_geo as ig
    >>> cam = ig.load_network("cambridge-2020-drive.graphml.gz")
    >>> bids = ig.read_bids("data/examples/cambridge.yaml")
    >>> bool(ig.overlap(cam, bids, minutes=(10,))["duplicate"].all())  # every pair duplicates provision
    True
    """
    bc = catchments if catchments is not None else _catchments_of(network, bids, minutes, population, data_dir)
    if bc.table["truncated"].any():
        warn_truncation(bc.table)
    geo = {(g, m): geom for g, m, geom in zip(bc.table["group_id"], bc.table["minutes"], bc.table.geometry,
                                                strict=True)}
    located = located_leps(bc.bids, data_dir=data_dir)
    rows = []
    for band in bc.bands:
        key = int(band) if float(band).is_integer() else band
        shared = _shared_cells(bc, band)
        people_both = _shared_people(bc, band)
        a_idx, b_idx = np.nonzero(np.triu((shared > 0) | (people_both > 0), 1))
        for i, j in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
            ia, ib = (i, j) if bc.bids[i].id < bc.bids[j].id else (j, i)
            row = _pair_row(bc, ia, ib, key, shared, people_both, duplicate_share, located)
            if with_geometry:
                row["geometry"] = shapely.intersection(geo[(bc.bids[ia].id, key)], geo[(bc.bids[ib].id, key)])
            rows.append(row)
    rows.sort(key=lambda r: (r["bid_a"], r["bid_b"], r["minutes"]))
    table = pd.DataFrame(rows, columns=OVERLAP_COLUMNS)
    if not rows:
        table = table.astype(_EMPTY_TYPES)
    if with_geometry:
        geometry = gpd.GeoSeries([r["geometry"] for r in rows], crs=settings.crs)
        out: pd.DataFrame = gpd.GeoDataFrame(table, geometry=geometry.values, crs=settings.crs)
        return out
    return table


def _catchments_of(network: RoutingNetwork | Sequence[RoutingNetwork] | None, bids: Bids | Sequence[Bid] | None,
                   minutes: Sequence[float] | float, population: gpd.GeoDataFrame | None,
                   data_dir: str | os.PathLike[str] | None) -> BidCatchments:
    """:func:`bid_catchments` of the bids (which :func:`overlap` needs unless it is given catchments)."""
    if isinstance(network, BidCatchments):
        raise InvalidInputError("overlap: catchments from bid_catchments go in catchments=..., not in the network's "
                                "place: overlap(catchments=bc)")
    if network is None:
        raise TypeError("overlap() needs the network(s) and the bids, or catchments=... from bid_catchments")
    if bids is None:
        raise TypeError("overlap() needs the bids")
    return bid_catchments(network, bids, minutes=minutes, population=population, data_dir=data_dir)


def _shared_people(bc: BidCatchments, band: float) -> np.ndarray:
    """``(n_bids, n_bids)`` people reached within ``band`` by both bids, every pair at once (diagonal: each bid's own)."""
    reach = bc.minutes <= band
    cols = np.flatnonzero(reach.any(axis=0))
    r = reach[:, cols].astype(np.float64)
    out: np.ndarray = (r * bc.people[cols]) @ r.T
    return out


def _pair_row(bc: BidCatchments, ia: int, ib: int, key: float, shared: np.ndarray, people_both: np.ndarray,
              duplicate_share: float, located: dict[str, dict[str, str]]) -> dict[str, Any]:
    """One row of the overlap table: bids ``ia < ib`` within band ``key`` (shares, routes, LEP, the verdict)."""
    a, b = bc.bids[ia], bc.bids[ib]
    shared_routes = sorted(set(a.routes) & set(b.routes))
    lep_basis = same_lep_basis(a, b, located)
    pa, pb, pboth = people_both[ia, ia], people_both[ib, ib], people_both[ia, ib]
    sa = pboth / pa if pa else 0.0
    sb = pboth / pb if pb else 0.0
    ca, cb, cboth = shared[ia, ia], shared[ib, ib], shared[ia, ib]
    duplicate = bool(max(sa, sb) >= duplicate_share and shared_routes)
    return {
        "bid_a": a.id, "bid_b": b.id, "mode": bc.mode, "minutes": key,
        "area_both_km2": round(cboth * (bc.resolution ** 2 / 1e6), 4),
        "area_share_a": round(cboth / ca, 4) if ca else 0.0,
        "area_share_b": round(cboth / cb, 4) if cb else 0.0,
        "people_both": whole_count(pboth), "people_share_a": round(sa, 4), "people_share_b": round(sb, 4),
        "shared_routes": shared_routes, "same_lep": lep_basis is not None,
        "same_ca": bool(a.ca_code and a.ca_code == b.ca_code),
        "duplicate": duplicate, "reasons": "; ".join(_reasons(a, b, key, (sa, sb, pboth), shared_routes, duplicate,
                                                             lep_basis)),
    }


def _reasons(a: Bid, b: Bid, key: float, shares: tuple[float, float, float], shared_routes: list[str],
             duplicate: bool, lep_basis: tuple[str, list[str]] | None) -> list[str]:
    """Why a pair is in the table, in words: shared people, shared routes, duplicate provision, same LEP."""
    sa, sb, pboth = shares
    reasons = []
    if pboth > 0:
        reasons.append(f"shares {sa:.0%} of {a.id}'s and {sb:.0%} of {b.id}'s people within {key} min")
    if shared_routes:
        reasons.append("both offer " + ", ".join(shared_routes))
    if duplicate:
        reasons.append("duplicate provision: same routes for the same people")
    if lep_basis is not None:
        reasons.append(f"same LEP ({lep_basis[0]}: {', '.join(lep_basis[1])}): consider a single "
                       "co-ordinated bid (hub and spoke)")
    return reasons


def overlap_areas(
    network: RoutingNetwork | Sequence[RoutingNetwork] | None = None,
    bids: Bids | Sequence[Bid] | None = None,
    *,
    catchments: BidCatchments | None = None,
    minutes: Sequence[float] | float = (30, 45, 60),
    **kwargs: Any,
) -> gpd.GeoDataFrame:
    """The shared polygons of :func:`overlap`, one per pair and band (for maps).

    Examples
    --------
    >>> import iot_geo as ig
    >>> cam = ig.load_network("cambridge-2020-drive.graphml.gz")
    >>> len(ig.overlap_areas(cam, ig.read_bids("data/examples/cambridge.yaml"), minutes=(10,)))
    3
    """
    out = overlap(network, bids, catchments=catchments, minutes=minutes, with_geometry=True, **kwargs)
    assert isinstance(out, gpd.GeoDataFrame)
    return out
