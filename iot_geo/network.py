"""Travel networks: build them from OpenStreetMap, hold them as arrays, cache them.

A :class:`TravelNetwork` is a directed graph in compressed sparse row form
(scipy) with node coordinates in EPSG:27700, edge times in minutes, and the
road geometry as *segments*: one polyline per piece of road between two
junctions, with the directed edge that runs along it (``seg_fwd``) and the one
that runs against it (``seg_bwd``), either ``-1`` where travel that way is not
allowed. Sites and homes join the network on segments (not only at nodes), and
isochrone polygons are drawn from points sampled along segments.

Sources
-------
Road segments are read by :mod:`iot_geo.osm` (the ways each mode may use,
:data:`~iot_geo.osm.WAY_RULES`, and their one-way rules) from:

* OpenStreetMap files (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.osm.gz``);
* osmnx GraphML (``.graphml``, ``.graphml.gz``) or an osmnx graph in memory;
* a place name or a ``(west, south, east, north)`` bounding box in degrees:
  downloaded through osmnx (needs the internet).

Rules
-----
* Parallel edges (two roads between the same two junctions in the same
  direction) keep the fastest.
* Built networks are cached under a hash of the input file's bytes and the
  build options, written atomically (a temporary file, then a rename), and
  checked against a stored sha256 when reloaded: a damaged entry is rebuilt
  with a warning.

Routing
-------
A :class:`TravelNetwork` implements the routing interface
(:class:`iot_geo.routing.RoutingNetwork`): it searches with
:mod:`iot_geo.search` and draws time grids with :mod:`iot_geo.grids`.
:func:`load_network` is the one loader of every mode: road networks here, a
GTFS feed for ``transit`` (:func:`iot_geo.transit.load_transit`, a module
beside this one that imports neither it nor the catchments).
"""

from __future__ import annotations

import bz2
import contextlib
import glob
import gzip
import hashlib
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy import ndimage
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from iot_geo import settings
from iot_geo.errors import DataNotFoundError, InvalidInputError, NetworkBuildError
from iot_geo.files import atomic, write_cache
from iot_geo.grids import TimeGrid, time_grid
from iot_geo.osm import (
    RawNetwork,
    osm_json_to_xml,
    overpass_filter,
    raw_from_graph,
    read_graphml,
    read_osm_file,
)
from iot_geo.search import (
    POINT_SNAP_MAX_M,
    SITE_SNAP_MAX_M,
    TravelTimes,
    frontier_nodes,
    node_times,
    point_minutes,
    sample_segments,
)
from iot_geo.snapping import SnapIndex
from iot_geo.sources.catalogue import verify_path
from iot_geo.speeds import MODES, URBAN_NODES_PER_KM2, URBAN_RADIUS_M, Speeds, parse_maxspeed_kmh, road_class
from iot_geo.transit import load_transit

if TYPE_CHECKING:
    from iot_geo.routing import RoutingNetwork, SiteTimes

__all__ = [
    "BUILD_FORMAT", "CACHE_FORMAT", "COVERAGE_CELL_M", "COVERAGE_CLOSE_CELLS", "COVERAGE_HOLE_KM2", "FEED_MODES",
    "GTFS_SUFFIXES", "NETWORK_SUFFIXES", "SNAP_TREE_CACHE_MAX", "TravelNetwork", "as_network", "available_networks",
    "builder_version", "digest_arrays", "find_network", "is_graph", "list_networks", "load_network",
    "load_road_network", "polyline_lengths", "reopen_network",
]


log = logging.getLogger(__name__)

#: Networks with more segments than this build their snapping index per query window instead of keeping one.
SNAP_TREE_CACHE_MAX = 400_000

#: Coverage: grid cell (metres), gaps closed across a disk of this many cells, and enclosed holes up to this many
#: km² filled (see :meth:`TravelNetwork.covered`).
COVERAGE_CELL_M = 250.0
COVERAGE_CLOSE_CELLS = 5
COVERAGE_HOLE_KM2 = 8.0

#: Version of the cached network format; bump when the arrays change meaning.
CACHE_FORMAT = 5
#: Version of the builder (the code that turns OSM into arrays); bump when a build would come out different.
BUILD_FORMAT = 1


def builder_version() -> str:
    """The builder's version in cache keys: the package version plus :data:`BUILD_FORMAT` and :data:`CACHE_FORMAT`.

    A network cached by another version of iot-geo is rebuilt, never reused.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        pkg = version("iot-geo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        pkg = "0.0.0"
    return f"{pkg}+build{BUILD_FORMAT}.cache{CACHE_FORMAT}"

def polyline_lengths(ptr: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Length in metres of each polyline stored flat (offsets ``ptr``)."""
    d = np.hypot(np.diff(x), np.diff(y))
    csum = np.concatenate([[0.0], np.cumsum(d)])
    # the step from one polyline's last vertex to the next's first is not part of either
    out: np.ndarray = csum[ptr[1:] - 1] - csum[ptr[:-1]]
    return out


def _segment_speeds(raw: RawNetwork, speeds: Speeds) -> tuple[np.ndarray, np.ndarray]:
    """km/h and road class per segment, computed once per distinct (maxspeed tag, road class, urban) combination.

    A segment is urban where its speed limit is 30 mph or less, or, untagged, where the junctions around
    its middle are dense (:data:`iot_geo.speeds.URBAN_NODES_PER_KM2` within :data:`iot_geo.speeds.URBAN_RADIUS_M`).
    """
    n_seg = len(raw.seg_a)
    hw_codes, hw_uniq = pd.factorize(pd.Series(raw.seg_highway, dtype=object).fillna(""))
    cls_codes_u, cls_names = pd.factorize(np.asarray([road_class(h) for h in hw_uniq], dtype=object))
    seg_cls = cls_codes_u[hw_codes] if len(hw_codes) else np.zeros(0, np.int64)
    classes = np.asarray(cls_names, dtype=object)[seg_cls]
    ms_text = pd.Series([";".join(map(str, m)) if isinstance(m, list | tuple) else m for m in raw.seg_maxspeed],
                        dtype=object)
    ms_codes, ms_uniq = pd.factorize(ms_text, use_na_sentinel=True)
    ms_codes = ms_codes.astype(np.int64) + 1  # 0: no maxspeed tag
    n_cls = max(len(cls_names), 1)
    pair_uniq, pair_inv = np.unique(ms_codes * n_cls + seg_cls, return_inverse=True)
    lim_uniq = np.asarray([
        parse_maxspeed_kmh(ms_uniq[p // n_cls - 1] if p // n_cls else None, str(cls_names[p % n_cls]))
        for p in pair_uniq], dtype=float)
    limits = lim_uniq[pair_inv] if n_seg else np.zeros(0)
    urban = np.zeros(n_seg, dtype=bool)
    if speeds.constant_kmh is None and n_seg:
        mid = raw.seg_ptr[:-1] + (raw.seg_ptr[1:] - raw.seg_ptr[:-1]) // 2
        tree = cKDTree(np.column_stack([raw.node_x, raw.node_y]))
        counts = tree.query_ball_point(np.column_stack([raw.seg_x[mid], raw.seg_y[mid]]), URBAN_RADIUS_M,
                                       return_length=True)
        density = counts / (np.pi * (URBAN_RADIUS_M / 1000.0) ** 2)
        urban = np.where(np.isfinite(limits), limits <= 30 * 1.609344 + 0.5, density >= URBAN_NODES_PER_KM2)
    combo_uniq, combo_inv = np.unique(pair_inv.astype(np.int64) * 2 + urban, return_inverse=True)
    kmh_uniq = np.asarray([
        speeds.edge_kmh(str(cls_names[pair_uniq[c // 2] % n_cls]),
                        lim_uniq[c // 2] if np.isfinite(lim_uniq[c // 2]) else None, bool(c % 2))
        for c in combo_uniq], dtype=float)
    return (kmh_uniq[combo_inv] if n_seg else np.zeros(0)), classes


def _directed_edges(raw: RawNetwork, seg_minutes: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges along the segments, each way travel is allowed; parallel edges keep the fastest.

    Returns ``u, v, minutes, segment`` per edge, and per segment the edge running with it and the one
    running against it (-1 for none).
    """
    n_seg = len(raw.seg_a)
    s_f = np.flatnonzero(raw.seg_fwd_ok).astype(np.int32)
    s_b = np.flatnonzero(raw.seg_bwd_ok).astype(np.int32)
    u = np.concatenate([raw.seg_a[s_f], raw.seg_b[s_b]]).astype(np.int32)
    v = np.concatenate([raw.seg_b[s_f], raw.seg_a[s_b]]).astype(np.int32)
    minutes = np.concatenate([seg_minutes[s_f], seg_minutes[s_b]])
    segs = np.concatenate([s_f, s_b])
    is_fwd = np.zeros(len(segs), bool)
    is_fwd[: len(s_f)] = True
    del s_f, s_b
    keep = u != v
    u, v, minutes, segs, is_fwd = u[keep], v[keep], minutes[keep], segs[keep], is_fwd[keep]
    # parallel edges keep the fastest: sort by (u, v, minutes) and take the first of each pair
    key = u.astype(np.int64) * len(raw.node_x) + v
    order = np.lexsort((minutes, key))
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    order = order[first]
    del key, first
    u, v, minutes, segs, is_fwd = u[order], v[order], minutes[order], segs[order], is_fwd[order]
    seg_fwd = np.full(n_seg, -1, dtype=np.int64)
    seg_bwd = np.full(n_seg, -1, dtype=np.int64)
    eid = np.arange(len(u), dtype=np.int64)
    seg_fwd[segs[is_fwd]] = eid[is_fwd]
    seg_bwd[segs[~is_fwd]] = eid[~is_fwd]
    return u, v, minutes, segs, seg_fwd, seg_bwd


@dataclass
class TravelNetwork:
    """A travel network for one mode: a directed graph as arrays, in EPSG:27700.

    Build one with :func:`load_network` (or :meth:`from_raw` for hand-made or
    synthetic networks). Edge times are minutes; ``csr`` holds the graph,
    ``csr_rev`` its reverse (for times *to* a site).

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> isinstance(net, ig.TravelNetwork), net.mode
    (True, 'drive')
    """

    mode: str
    speeds: Speeds
    node_id: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_minutes: np.ndarray
    edge_seg: np.ndarray  # the segment each edge runs along
    seg_a: np.ndarray
    seg_b: np.ndarray
    seg_ptr: np.ndarray
    seg_x: np.ndarray
    seg_y: np.ndarray
    seg_length: np.ndarray
    seg_fwd: np.ndarray  # edge id running a -> b, or -1
    seg_bwd: np.ndarray  # edge id running b -> a, or -1
    seg_highway: np.ndarray
    frontier: np.ndarray  # bool per node
    snappable: np.ndarray  # bool per segment: sites and homes may join here
    source: dict[str, Any] = field(default_factory=dict)
    _csr: sp.csr_matrix | None = field(default=None, repr=False)
    _csr_rev: sp.csr_matrix | None = field(default=None, repr=False)
    _reach: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _coverage: tuple[float, float, float, np.ndarray] | None = field(default=None, repr=False)
    _cumlen: np.ndarray | None = field(default=None, repr=False)
    _seg_bbox: np.ndarray | None = field(default=None, repr=False)
    _snap_memo: dict[tuple[str, float, str | None], pd.DataFrame] = field(default_factory=dict, repr=False)
    _snap_index: dict[str | None, SnapIndex] = field(default_factory=dict, repr=False)
    _saved: Path | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_raw(cls, raw: RawNetwork, *, mode: str = "drive", speeds: Speeds | None = None,
                 source: dict[str, Any] | None = None) -> TravelNetwork:
        """Apply a speed profile to road segments and build the graph.

        Parameters
        ----------
        raw : RawNetwork
            Segments with their allowed directions, road class and ``maxspeed``.
        mode : {"drive", "cycle", "walk"}
        speeds : Speeds, optional
            Default: the mode's documented profile.
        source : dict, optional
            What the network was built from (for provenance).
        """
        if mode not in MODES:
            raise InvalidInputError(f"unknown mode {mode!r}; road networks take one of {', '.join(MODES)}")
        speeds = speeds or Speeds.for_mode(mode)
        n_seg = len(raw.seg_a)
        length = raw.seg_length if raw.seg_length is not None else polyline_lengths(raw.seg_ptr, raw.seg_x, raw.seg_y)
        geo_len = polyline_lengths(raw.seg_ptr, raw.seg_x, raw.seg_y)
        length = np.where(np.isfinite(length) & (length > 0), length, geo_len)
        kmh, classes = _segment_speeds(raw, speeds)
        u, v, minutes, segs, seg_fwd, seg_bwd = _directed_edges(raw, length / (kmh * 1000.0 / 60.0))
        net = cls(
            mode=mode, speeds=speeds, node_id=raw.node_id, node_x=np.asarray(raw.node_x, float),
            node_y=np.asarray(raw.node_y, float), edge_u=u, edge_v=v,
            edge_minutes=minutes.astype(np.float64), edge_seg=segs, seg_a=raw.seg_a,
            seg_b=raw.seg_b, seg_ptr=raw.seg_ptr, seg_x=raw.seg_x, seg_y=raw.seg_y,
            seg_length=length.astype(np.float64), seg_fwd=seg_fwd, seg_bwd=seg_bwd,
            seg_highway=np.asarray(classes, dtype=object), frontier=frontier_nodes(raw.node_x, raw.node_y),
            snappable=np.zeros(n_seg, dtype=bool), source=dict(source or {}),
        )
        net._mark_snappable()
        if len(net.edge_u) == 0:
            raise NetworkBuildError(f"no usable edges for mode {mode!r} in {net.source.get('file', 'the input')}")
        return net

    def _mark_snappable(self) -> None:
        """Segments a site or a home may join: both ends in the main (weakly connected) component, not a motorway."""
        n_comp, labels = connected_components(self.csr, directed=True, connection="weak")
        main = np.bincount(labels).argmax() if len(labels) else 0
        in_main = labels == main
        used = (self.seg_fwd >= 0) | (self.seg_bwd >= 0)
        not_motorway = ~np.isin(self.seg_highway, ["motorway"]) if self.mode == "drive" else True
        self.snappable = used & in_main[self.seg_a] & in_main[self.seg_b] & not_motorway
        self.source["components"] = int(n_comp)
        self.source["main_component_nodes"] = int(in_main.sum())

    # ---------------------------------------------------------------- graphs
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_x)

    @property
    def n_edges(self) -> int:
        """Number of directed edges (after parallel edges were reduced to the fastest)."""
        return len(self.edge_u)

    @property
    def csr(self) -> sp.csr_matrix:
        """The directed graph: ``csr[u, v]`` is the minutes from ``u`` to ``v``."""
        if self._csr is None:
            self._csr = _csr_from_edges(self.edge_u, self.edge_v, self.edge_minutes, self.n_nodes)
        return self._csr

    @property
    def csr_rev(self) -> sp.csr_matrix:
        """The reversed graph, for times to a site."""
        if self._csr_rev is None:
            self._csr_rev = _csr_from_edges(self.edge_v, self.edge_u, self.edge_minutes, self.n_nodes)
        return self._csr_rev

    def to_networkx(self) -> Any:
        """The same weighted graph as a networkx ``DiGraph`` (attribute ``minutes``), for cross-checks."""
        import networkx as nx

        G = nx.DiGraph()
        G.add_nodes_from(range(self.n_nodes))
        G.add_weighted_edges_from(zip(self.edge_u.tolist(), self.edge_v.tolist(), self.edge_minutes.tolist(),
                                      strict=True), weight="minutes")
        return G

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the nodes, metres."""
        return (float(self.node_x.min()), float(self.node_y.min()), float(self.node_x.max()),
                float(self.node_y.max()))

    def segment_geometries(self, segs: np.ndarray | None = None) -> np.ndarray:
        """Shapely LineStrings of the given segments (all by default)."""
        segs = np.arange(len(self.seg_a)) if segs is None else np.asarray(segs)
        starts, stops = self.seg_ptr[segs], self.seg_ptr[segs + 1]
        counts = stops - starts
        idx = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
        coords = np.column_stack([self.seg_x[idx], self.seg_y[idx]])
        lines: np.ndarray = shapely.linestrings(coords, indices=np.repeat(np.arange(len(segs)), counts))
        return lines

    def coverage_grid(self) -> tuple[float, float, float, np.ndarray]:
        """The area the network's roads cover, as a grid: ``(x0, y0, cell, covered)``.

        Cells of :data:`COVERAGE_CELL_M` metres that a road passes through,
        closed over gaps narrower than about :data:`COVERAGE_CLOSE_CELLS` cells
        (fields between country roads) and with enclosed holes up to
        :data:`COVERAGE_HOLE_KM2` km² filled. What stays uncovered is beyond the
        edge of the data (where an extract was clipped) or a large gap with no
        roads in it; ``covered[i, j]`` is the cell whose lower-left corner is
        ``(x0 + j * cell, y0 + i * cell)``.
        """
        if self._coverage is None:
            cell, r = COVERAGE_CELL_M, COVERAGE_CLOSE_CELLS
            # points a cell apart fall in the same or a touching cell: the road's trace has no gaps
            x, y, _, _ = sample_segments(self, np.arange(len(self.seg_a)), cell)
            pad = r + 2
            x0, y0 = float(x.min()) - pad * cell, float(y.min()) - pad * cell
            ix = ((x - x0) // cell).astype(np.int64)
            iy = ((y - y0) // cell).astype(np.int64)
            grid = np.zeros((int(iy.max()) + pad + 1, int(ix.max()) + pad + 1), dtype=bool)
            grid[iy, ix] = True
            yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
            closed = ndimage.binary_closing(grid, structure=xx ** 2 + yy ** 2 <= r * r) | grid
            labels, _ = ndimage.label(~closed)
            sizes = np.bincount(labels.ravel())
            small = sizes * cell ** 2 <= COVERAGE_HOLE_KM2 * 1e6
            small[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = False
            small[0] = False
            self._coverage = (x0, y0, cell, closed | small[labels])
        return self._coverage

    def covered(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point (EPSG:27700) lies inside the network's coverage (:meth:`coverage_grid`).

        A point outside it is beyond the clipped edge of an extract or in a gap
        with no roads: timing it through the nearest road fragment would be
        wrong, so catchments count it as ``outside_network`` instead.
        """
        x0, y0, cell, grid = self.coverage_grid()
        qx = np.floor((np.asarray(x, float) - x0) / cell)
        qy = np.floor((np.asarray(y, float) - y0) / cell)
        ok = (qx >= 0) & (qy >= 0) & (qx < grid.shape[1]) & (qy < grid.shape[0])
        out = np.zeros(len(qx), dtype=bool)
        out[ok] = grid[qy[ok].astype(np.int64), qx[ok].astype(np.int64)]
        return out

    def main_reach(self) -> tuple[np.ndarray, np.ndarray]:
        """Per node: whether it can reach the main strongly connected component, and whether that reaches it.

        The main component is the largest set of nodes that can all reach each other. A one-way road that
        leaves it for a dead end (a carriageway cut by the edge of an extract) can be reached from it but
        leads nowhere; a one-way road that only enters it can be left but never reached. A network in which
        no two nodes reach each other (one-way roads only, without a loop) has no main part: every node counts.
        """
        if self._reach is None:
            from scipy.sparse.csgraph import breadth_first_order, connected_components

            n = self.n_nodes
            _, labels = connected_components(self.csr, directed=True, connection="strong")
            main = int(np.bincount(labels).argmax()) if n else 0
            members = np.flatnonzero(labels == main)
            if len(members) <= 1:  # no two nodes reach each other (one-way roads only, no loop): no main part
                self._reach = (np.ones(n, dtype=bool), np.ones(n, dtype=bool))
                return self._reach
            # a virtual node n joined to every member both ways: one search each way finds all
            hub_u = np.concatenate([self.edge_u, np.full(len(members), n), members])
            hub_v = np.concatenate([self.edge_v, members, np.full(len(members), n)])
            w = np.ones(len(hub_u))
            both = sp.csr_matrix((w, (hub_u, hub_v)), shape=(n + 1, n + 1))
            fwd_only = sp.csr_matrix((w[: len(self.edge_u) + len(members)],
                                      (hub_u[: len(self.edge_u) + len(members)],
                                       hub_v[: len(self.edge_u) + len(members)])), shape=(n + 1, n + 1))
            from_main = np.zeros(n + 1, dtype=bool)
            from_main[breadth_first_order(fwd_only, n, directed=True, return_predecessors=False)] = True
            to_main = np.zeros(n + 1, dtype=bool)
            to_main[breadth_first_order(both.T.tocsr(), n, directed=True, return_predecessors=False)] = True
            self._reach = (to_main[:n], from_main[:n])
        return self._reach

    def snap_mask(self, role: str | None = None) -> np.ndarray:
        """Segments a point may join, per segment.

        Parameters
        ----------
        role : {None, "origin", "destination"}
            ``None``: :attr:`snappable` (the main weakly connected part, no motorways).
            ``"origin"``: travel starts at the point, so one of the segment's directed edges must lead to a
            node that reaches the main strongly connected component. ``"destination"``: travel ends at the
            point, so one of its edges must start at a node the main component reaches. A point on a one-way
            dead end then joins the next road it can travel on (one-way rules respected).
        """
        if role is None:
            return self.snappable
        if role not in ("origin", "destination"):
            raise InvalidInputError(f"snap role {role!r}: use 'origin' or 'destination'")
        to_main, from_main = self.main_reach()
        ok = to_main if role == "origin" else from_main
        fwd, bwd = self.seg_fwd >= 0, self.seg_bwd >= 0
        if role == "origin":  # a -> b ends at b; b -> a ends at a
            usable = (fwd & ok[self.seg_b]) | (bwd & ok[self.seg_a])
        else:  # a -> b starts at a
            usable = (fwd & ok[self.seg_a]) | (bwd & ok[self.seg_b])
        out: np.ndarray = self.snappable & usable
        return out

    def _segment_boxes(self) -> np.ndarray:
        """Each segment's bounding box ``(4, n_seg)`` as float32, widened by a metre (16 bytes a segment; cached)."""
        if self._seg_bbox is None:
            starts = self.seg_ptr[:-1]
            self._seg_bbox = np.stack([
                np.minimum.reduceat(self.seg_x, starts) - 1, np.minimum.reduceat(self.seg_y, starts) - 1,
                np.maximum.reduceat(self.seg_x, starts) + 1, np.maximum.reduceat(self.seg_y, starts) + 1,
            ]).astype(np.float32)
        return self._seg_bbox

    def forget_snapping(self) -> None:
        """Forget every snapping index and remembered snap, so that the next snap starts cold.

        As in a fresh process: benchmarks time cold runs with it. Results never depend on it.
        """
        self._seg_bbox = None
        self._snap_index.clear()
        self._snap_memo.clear()

    def snap_cached(self, x: np.ndarray, y: np.ndarray, *, max_distance: float = np.inf,
                    role: str | None = None) -> pd.DataFrame:
        """:meth:`snap`, remembered for the same points (population centroids are snapped once per network)."""
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        key = (hashlib.sha1(x.tobytes() + y.tobytes()).hexdigest(), float(max_distance), role)
        if key not in self._snap_memo:
            if len(self._snap_memo) > 8:
                self._snap_memo.clear()
            self._snap_memo[key] = self.snap(x, y, max_distance=max_distance, role=role)
        return self._snap_memo[key]

    def snap(self, x: np.ndarray, y: np.ndarray, *, max_distance: float = np.inf,
             role: str | None = None) -> pd.DataFrame:
        """Join points to their nearest usable point on the network.

        Parameters
        ----------
        x, y : array of float
            Points, EPSG:27700 metres.
        max_distance : float
            Points farther than this from every usable segment get ``seg = -1``.
        role : {None, "origin", "destination"}
            Whether travel starts or ends at the points: only segments usable
            that way are joined (see :meth:`snap_mask`).

        Returns
        -------
        pandas.DataFrame
            ``seg`` (segment id or -1), ``frac`` (0..1 along the segment from its
            start node), ``distance`` (metres, the access leg).
        """
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        window = None
        if len(x) and np.isfinite(max_distance):
            window = (float(x.min() - max_distance), float(y.min() - max_distance),
                      float(x.max() + max_distance), float(y.max() + max_distance))
        elif len(x):
            window = (-np.inf, -np.inf, np.inf, np.inf)
        out: pd.DataFrame = self._snap_index_for(window, role).query(x, y, max_distance=max_distance)
        return out

    def _snap_index_for(self, window: tuple[float, float, float, float] | None, role: str | None = None
                        ) -> SnapIndex:
        """The snapping index (:class:`iot_geo.snapping.SnapIndex`) over the segments usable for ``role``.

        One index per role for the whole network, built once and kept; on networks of over
        :data:`SNAP_TREE_CACHE_MAX` segments, one over the usable segments inside ``window``
        for each call (a whole-network index would double the memory of a 10^6-node network).
        """
        mask = self.snap_mask(role)
        if len(self.seg_a) <= SNAP_TREE_CACHE_MAX or window is None:
            if role not in self._snap_index:
                self._snap_index[role] = SnapIndex(self.seg_ptr, self.seg_x, self.seg_y, np.flatnonzero(mask))
            return self._snap_index[role]
        sx0, sy0, sx1, sy1 = self._segment_boxes()
        minx, miny, maxx, maxy = window
        inside = mask & (sx1 >= minx) & (sx0 <= maxx) & (sy1 >= miny) & (sy0 <= maxy)
        return SnapIndex(self.seg_ptr, self.seg_x, self.seg_y, np.flatnonzero(inside))

    # ------------------------------------------------- the routing interface
    @property
    def reach_m(self) -> float:
        """A point (an LSOA centroid) is timed when it lies within :data:`~iot_geo.search.POINT_SNAP_MAX_M` of a road."""
        return POINT_SNAP_MAX_M

    @property
    def refusal(self) -> str:
        """Why a site cannot join: too far from a usable road."""
        return f"more than {SITE_SNAP_MAX_M:,.0f} m from the {self.mode} network"

    def covers(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each site lies within :data:`~iot_geo.search.SITE_SNAP_MAX_M` of a road it can use both ways.

        A site is searched from as an origin or as a destination (by direction); a site that only a one-way
        dead end could take in one role is not covered, so a search never fails on a covered site.
        """
        ok = np.ones(len(np.atleast_1d(x)), dtype=bool)
        for role in ("origin", "destination"):
            ok &= self.snap(x, y, max_distance=SITE_SNAP_MAX_M, role=role)["distance"].to_numpy() <= SITE_SNAP_MAX_M
        return ok

    def site_gap_m(self, x: np.ndarray, y: np.ndarray) -> float | None:
        """How far the farthest of these sites lies from a usable road (metres; searched up to 100 km)."""
        return float(self.snap(x, y, max_distance=100_000.0)["distance"].to_numpy().max())

    def search(self, sites: gpd.GeoDataFrame, *, max_minutes: float, direction: str,
               snap_max_m: float | None = None) -> TravelTimes:
        """Minutes from every node to each site, or from each site (:func:`iot_geo.search.node_times`).

        A site farther than ``snap_max_m`` (default :data:`~iot_geo.search.SITE_SNAP_MAX_M`) from a usable
        road is an error naming it.
        """
        snap_max = SITE_SNAP_MAX_M if snap_max_m is None else snap_max_m
        return node_times(self, sites, max_minutes=max_minutes, direction=direction, snap_max_m=snap_max)

    def minutes_to_points(self, times: SiteTimes, x: np.ndarray, y: np.ndarray, *, snap_max_m: float | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Minutes between points and each site, and each point's access distance (:func:`iot_geo.search.point_minutes`).

        Points join a road within ``snap_max_m`` (default :data:`~iot_geo.search.POINT_SNAP_MAX_M`); points
        outside the network's coverage are timed too: mask them with :meth:`covered`.
        """
        if not isinstance(times, TravelTimes) or times.network is not self:
            raise InvalidInputError("minutes_to_points takes the search of this road network (its search(...)): "
                                    "times from another network cannot be carried on to points here")
        snap_max = POINT_SNAP_MAX_M if snap_max_m is None else snap_max_m
        return point_minutes(times, x, y, snap_max)

    def grid_margin(self, resolution: float) -> float:
        """One cell on foot, so that the largest band's contour lies between real times on both sides."""
        return 1.05 * resolution / (self.speeds.access_kmh * 1000.0 / 60.0)

    def time_grid(self, times: SiteTimes, idx: np.ndarray, *, resolution: float, access_max_m: float) -> TimeGrid:
        """The reached roads of the sites ``idx`` as a travel-time grid (:func:`iot_geo.grids.time_grid`)."""
        return time_grid(self, times.per_site[idx].min(axis=0), direction=times.direction,
                         max_minutes=times.max_minutes, resolution=resolution, access_max_m=access_max_m,
                         snapped_sites=times.sites.iloc[idx])

    def describe(self) -> dict[str, Any]:
        """The source file (name, sha256, format, data date), mode, speeds and size, for provenance."""
        src = {k: v for k, v in self.source.items() if k in ("file", "file_sha256", "format", "data_date", "place")}
        return {"mode": self.mode, **src, "speeds": self.speeds.key(), "nodes": int(self.n_nodes),
                "edges": int(self.n_edges)}

    def file_ref(self) -> tuple[str, str, Speeds, tuple[tuple[str, Any], ...]]:
        """``("npz", path, speeds, ())``: the network saved once in the cache folder (:meth:`saved_file`)."""
        return ("npz", str(self.saved_file().resolve()), self.speeds, ())

    def saved_file(self) -> Path:
        """The network saved in the cache folder under the sha256 of its arrays (written once, atomically).

        The path is remembered on the network, so later calls skip the hashing.
        """
        if self._saved is not None and self._saved.is_file():
            return self._saved
        digest = hashlib.sha256((self.digest() + json.dumps(self.speeds.key(), sort_keys=True)).encode())
        path = settings.get_cache_dir() / "batch" / f"{self.mode}-{digest.hexdigest()[:32]}.npz"
        if not path.is_file():
            self.save(path)
        self._saved = path
        return path

    # ------------------------------------------------------------- describe
    def summary(self) -> dict[str, Any]:
        """Counts and extent, for tables and provenance."""
        return {
            "mode": self.mode, "nodes": self.n_nodes, "edges": self.n_edges, "segments": len(self.seg_a),
            "km_of_road": round(float(self.seg_length.sum()) / 1000.0, 1),
            "components": self.source.get("components"), "bounds": self.bounds,
            "speeds": self.speeds.key(), "source": {k: v for k, v in self.source.items() if k != "path"},
        }

    def _repr_html_(self) -> str:
        import html

        s = self.summary()
        rows = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(str(v))}</td></tr>" for k, v in [
            ("mode", s["mode"]), ("source", self.source.get("file", self.source.get("place", "?"))),
            ("data date", self.source.get("data_date") or "unknown"), ("nodes", f"{s['nodes']:,}"),
            ("directed edges", f"{s['edges']:,}"), ("km of road", f"{s['km_of_road']:,}"),
            ("speeds", "free flow" if self.speeds.free_flow else (f"{self.speeds.constant_kmh:g} km/h"
                                                                  if self.speeds.constant_kmh else "morning peak")),
            ("from cache", bool(self.source.get("cached")))])
        return f"<b>TravelNetwork</b><table>{rows}</table>"

    def __repr__(self) -> str:
        return (f"TravelNetwork(mode={self.mode!r}, nodes={self.n_nodes:,}, edges={self.n_edges:,}, "
                f"source={self.source.get('file', '?')!r})")

    # ---------------------------------------------------------------- cache
    #: The arrays that make a network: what :meth:`save` writes and what its memory is.
    ARRAYS = ("node_id", "node_x", "node_y", "edge_u", "edge_v", "edge_minutes", "edge_seg", "seg_a", "seg_b",
               "seg_ptr", "seg_x", "seg_y", "seg_length", "seg_fwd", "seg_bwd", "frontier", "snappable")

    def save(self, path: Path) -> None:
        """Write the network to ``path`` (npz) atomically, with a sha256 of its arrays."""
        with atomic(path, what="the network", internal=True) as tmp:
            self._write_npz(tmp)

    def _arrays(self) -> dict[str, Any]:
        """The arrays a saved network holds (road classes as text)."""
        arrays: dict[str, Any] = {k: getattr(self, k) for k in self.ARRAYS}
        arrays["seg_highway"] = self.seg_highway.astype(str)
        return arrays

    def digest(self) -> str:
        """sha256 of the network's arrays (what the cache checks on reload)."""
        return digest_arrays(self._arrays())

    def _write_npz(self, path: Path) -> None:
        arrays = self._arrays()
        meta = {"mode": self.mode, "speeds": self.speeds.key(), "source": self.source, "format": CACHE_FORMAT}
        digest = digest_arrays(arrays)
        arrays["meta"] = np.frombuffer(json.dumps({**meta, "sha256": digest}).encode(), dtype=np.uint8)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: Path, speeds: Speeds) -> TravelNetwork:
        """Read a cached network; raises ``ValueError`` if it is damaged."""
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        if meta.get("format") != CACHE_FORMAT:
            raise ValueError("old cache format")
        highway = arrays.pop("seg_highway").astype(object)
        if digest_arrays({**arrays, "seg_highway": highway.astype(str)}) != meta["sha256"]:
            raise ValueError("checksum mismatch")
        return cls(mode=meta["mode"], speeds=speeds, seg_highway=highway, source=meta["source"], **arrays)


def _csr_from_edges(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """A CSR matrix of edges u -> v with weight w (no duplicate pairs), built without a COO detour."""
    order = np.lexsort((v, u))
    counts = np.bincount(u, minlength=n)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32 if len(u) < 2**31 else np.int64)
    m = sp.csr_matrix((w[order], v[order].astype(indptr.dtype), indptr), shape=(n, n))
    m.has_sorted_indices = True
    return m


def digest_arrays(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over named arrays (names, dtypes and bytes, in name order)."""
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _data_date(path: Path, kind: str) -> str | None:
    """The date of the OpenStreetMap data in a file, where its header says (replication timestamp)."""
    try:
        if kind == "osm":
            import osmium

            reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
            header = reader.header()
            reader.close()
            stamp = header.get("osmosis_replication_timestamp") or header.get("timestamp")
            return str(stamp) if stamp else None
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                head = fh.read(4096)
        else:
            with open(path, encoding="utf-8") as fh:
                head = fh.read(4096)
        m = re.search(r'key="created_date"[^>]*>([^<]+)<|<data key="d\d+">(\d{4}-\d{2}-\d{2}[^<]*)</data>', head)
        return (m.group(1) or m.group(2)) if m else None
    except Exception:
        return None


def _sniff(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".graphml", ".graphml.gz")):
        return "graphml"
    if name.endswith((".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml", ".xml.bz2")):
        return "osm"
    head = path.read_bytes()[:512] if path.stat().st_size else b""
    if head.startswith(b"BZh"):
        head = bz2.decompress(path.read_bytes())[:512]
    elif head.startswith(b"\x1f\x8b"):
        with gzip.open(path) as fh:
            head = fh.read(512)
    if b"<osm" in head:
        return "osm"
    if b"<graphml" in head:
        return "graphml"
    if b"OSMHeader" in head:
        return "osm"
    raise NetworkBuildError(
        f"{path}: not an OpenStreetMap file (.osm.pbf, .osm, .osm.bz2) or an osmnx GraphML file (.graphml[.gz])"
    )


#: File name endings of road network files (OpenStreetMap and osmnx GraphML).
NETWORK_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".graphml", ".graphml.gz")
#: File name endings of GTFS feeds (zip files or folders).
GTFS_SUFFIXES = (".zip", "")
#: Modes whose network is a timetable (a GTFS feed in the data directory's ``gtfs/`` folder), not roads.
FEED_MODES = ("transit",)


def _network_folder(mode: str) -> str:
    return "gtfs" if mode in FEED_MODES else "osm"


def available_networks(mode: str | None = None, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Network files in the data directory: ``osm/`` road networks and ``gtfs/`` feeds (``mode="transit"``).

    With ``mode=None`` both folders are listed.
    """
    root = settings.get_data_dir(data_dir)
    out: list[Path] = []
    for folder in (["osm", "gtfs"] if mode is None else [_network_folder(mode)]):
        d = root / folder
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            name = p.name.lower()
            if ((folder == "osm" and p.is_file() and name.endswith(NETWORK_SUFFIXES))
                    or (folder == "gtfs" and (p.is_dir() or name.endswith(".zip")))):
                out.append(p)
    return out


def find_network(name: str | os.PathLike[str], mode: str = "drive", *,
                 data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The file a network name stands for.

    ``name`` is looked for in the data directory's ``osm/`` folder (``gtfs/``
    for ``mode="transit"``), as given or with a known file ending added
    (``"rutland-2022-07-20"`` finds ``rutland-2022-07-20.osm.pbf``), and then
    as a path.

    Raises
    ------
    DataNotFoundError
        Neither exists; the message lists the networks the data directory has.
    """
    text = os.fspath(name)
    root = settings.get_data_dir(data_dir)
    folder = root / _network_folder(mode)
    base = Path(text).expanduser()
    if text and not base.is_absolute() and len(base.parts) == 1 and folder.is_dir():
        feed = mode in FEED_MODES  # a feed may be a folder
        for suffix in (GTFS_SUFFIXES if feed else ("", *NETWORK_SUFFIXES)):
            cand = folder / (text + suffix)
            if cand.exists() and (cand.is_file() or feed):
                return cand
    if base.exists():
        return base
    there = available_networks(mode, data_dir)
    listing = ", ".join(p.name for p in there) if there else f"none (the folder {folder} is empty or missing)"
    raise DataNotFoundError(
        f"network {text!r} not found in {folder} nor as a path; networks there: {listing}. "
        "Give a file name from that list, a path, or --data-dir for another data directory"
    )


def _osm_header_bounds(path: Path) -> tuple[float, float, float, float] | None:
    try:
        import osmium

        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        box = reader.header().box()
        reader.close()
        if box.valid():
            return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    except Exception:
        return None
    return None


def _cached_builds(path: Path) -> list[tuple[dict[str, Any], Path]]:
    """Cache entries built from this very file (same sha256), newest first: ``(meta, entry)``."""
    folder = settings.get_cache_dir() / "networks"
    entries = sorted(folder.glob(f"{glob.escape(path.name)}.*.npz"), key=lambda p: -p.stat().st_mtime)
    if not entries:
        return []
    sha = _file_sha256(path)
    out = []
    for e in entries:
        try:
            with np.load(e, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
        except Exception:
            continue
        if meta.get("source", {}).get("file_sha256") == sha and meta.get("format") == CACHE_FORMAT:
            out.append((meta, e))
    return out


def list_networks(data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The networks in the data directory, one row each.

    Columns: ``name`` (what ``--network``/:func:`load_network` take), ``folder``,
    ``modes`` (the modes it can be built for), ``nodes`` (of a cached build,
    the first of drive/cycle/walk; empty if never built), ``bounds``
    (west, south, east, north in degrees: the file header's, else the cached
    build's), ``data_date`` and ``cached`` (the modes built and cached).
    """
    rows: list[dict[str, Any]] = []
    for path in available_networks(None, data_dir):
        if path.parent.name == "gtfs":
            rows.append({"name": path.name, "folder": "gtfs", "modes": ["transit"], "nodes": None, "bounds": None,
                         "data_date": None, "cached": []})
            continue
        kind = _sniff(path)
        modes = list(MODES) if kind == "osm" else ["drive"]
        builds = _cached_builds(path)
        cached_modes = [m for m in MODES if any(meta["mode"] == m for meta, _ in builds)]
        nodes: int | None = None
        bounds = _osm_header_bounds(path) if kind == "osm" else None
        for _meta, entry in sorted(builds, key=lambda b: MODES.index(b[0]["mode"]) if b[0]["mode"] in MODES else 9):
            with np.load(entry, allow_pickle=False) as z:
                x, y = z["node_x"], z["node_y"]
            nodes = len(x)
            if bounds is None and len(x):
                from pyproj import Transformer

                tr = Transformer.from_crs(settings.crs, settings.wgs84, always_xy=True)
                lon, lat = tr.transform([x.min(), x.max()], [y.min(), y.max()])
                bounds = (lon[0], lat[0], lon[1], lat[1])
            break
        rows.append({"name": path.name, "folder": "osm", "modes": modes, "nodes": nodes,
                     "bounds": [round(float(b), 4) for b in bounds] if bounds else None,
                     "data_date": _data_date(path, kind), "cached": cached_modes})
    return pd.DataFrame(rows, columns=["name", "folder", "modes", "nodes", "bounds", "data_date", "cached"])


def _looks_like_file(text: str) -> bool:
    low = text.lower()
    return (os.sep in text or "/" in text or low.endswith((*NETWORK_SUFFIXES, ".bz2", ".gz", ".zip", ".xml"))
            or Path(text).exists())


def load_network(
    source: str | os.PathLike[str] | tuple[float, float, float, float] | Any,
    *,
    mode: str = "drive",
    speeds: Speeds | float | dict[str, tuple[float, float]] | None = None,
    free_flow: bool = False,
    cache: bool = True,
    progress: bool = False,
    **transit: Any,
) -> RoutingNetwork:
    """Build (or reload from the cache) a travel network for one mode.

    Parameters
    ----------
    source : name, path, place name or bbox
        An OSM file (``.osm.pbf``, ``.osm``, ``.osm.bz2``) or an osmnx GraphML
        file (``.graphml``, ``.graphml.gz``), by its name in the data
        directory's ``osm/`` folder (``gtfs/`` for transit; see
        :func:`find_network`) or by path; or, online only, a place name or a
        ``(west, south, east, north)`` bounding box in degrees (fetched from
        Overpass through osmnx); or an osmnx ``MultiDiGraph`` in memory.
    mode : {"drive", "cycle", "walk", "transit"}
        Travel mode. ``"transit"`` takes a GTFS feed and the options of
        :func:`iot_geo.transit.load_transit` (``day``, ``arrive_by``,
        ``window_minutes``, ``percentile``, ``max_transfers``, ``max_walk_m``).
    speeds : Speeds, float or dict, optional
        A full :class:`~iot_geo.speeds.Speeds` profile; a number (one speed in
        km/h for every road); or ``{road class: (urban km/h, rural km/h)}``
        overriding the drive peak profile. Default: the mode's documented profile.
    free_flow : bool
        Drive only: speed limits instead of the morning-peak profile.
    cache : bool
        Reuse and write the cache (folder from settings).
    progress : bool
        Show a spinner while building.

    Returns
    -------
    RoutingNetwork
        A :class:`TravelNetwork`, or a :class:`~iot_geo.transit.TransitNetwork` for transit; both
        implement the routing interface (:class:`iot_geo.routing.RoutingNetwork`).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    NetworkBuildError
        The file is not OSM or GraphML, or holds no roads usable for the mode.
    InvalidInputError
        Unknown mode, bad speeds, or transit options for a road mode.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> net.mode, net.n_nodes > 1000
    ('drive', True)
    """
    if mode in FEED_MODES:
        return _load_feed(source, mode, transit)
    if transit:
        raise InvalidInputError(f"options {', '.join(sorted(transit))} apply to mode 'transit' only")
    return load_road_network(source, mode=mode, speeds=speeds, free_flow=free_flow, cache=cache, progress=progress)


def _load_feed(source: Any, mode: str, options: dict[str, Any]) -> RoutingNetwork:
    """A timetable network from a GTFS feed (:func:`iot_geo.transit.load_transit`)."""
    if isinstance(source, tuple):
        raise InvalidInputError(f"mode {mode!r} takes a GTFS feed (zip or folder), not a bounding box")
    return load_transit(find_network(source, mode), **options)


def load_road_network(
    source: str | os.PathLike[str] | tuple[float, float, float, float] | Any,
    *,
    mode: str = "drive",
    speeds: Speeds | float | dict[str, tuple[float, float]] | None = None,
    free_flow: bool = False,
    cache: bool = True,
    progress: bool = False,
) -> TravelNetwork:
    """A road network (:func:`load_network` for ``drive``, ``cycle`` and ``walk``): a file, a graph or a download.

    Examples
    --------
    >>> from iot_geo.network import load_road_network
    >>> load_road_network("rutland-2022-07-20.osm.pbf", mode="walk").mode
    'walk'
    """
    if mode not in MODES:
        raise InvalidInputError(f"unknown mode {mode!r}; use one of {', '.join(MODES)} (or transit with a GTFS feed)")
    profile = _speeds(mode, speeds, free_flow)
    if isinstance(source, tuple):
        return _from_osmnx_download(source, mode, profile)
    if is_graph(source):
        return _from_graph(source, mode, profile)
    try:
        path = find_network(source, mode)
    except DataNotFoundError:
        if isinstance(source, str) and not _looks_like_file(source):
            return _from_osmnx_download(source, mode, profile)  # a place name
        raise
    return _from_file(path, mode, profile, cache=cache, progress=progress)


def _from_graph(graph: Any, mode: str, profile: Speeds) -> TravelNetwork:
    """A road network from an osmnx ``MultiDiGraph`` in memory (never cached)."""
    raw = raw_from_graph(graph, mode, "the osmnx graph")
    return TravelNetwork.from_raw(raw, mode=mode, speeds=profile, source={
        "file": "osmnx graph in memory", "format": "networkx", "cached": False,
        "data_date": graph.graph.get("created_date")})


def _from_file(path: Path, mode: str, profile: Speeds, *, cache: bool, progress: bool) -> TravelNetwork:
    """A road network from an OSM or GraphML file: from the cache when built before, else built (and cached)."""
    if not path.is_file():
        raise DataNotFoundError(f"network file {path} is not a file")
    verify_path(path)
    kind = _sniff(path)
    file_sha = _file_sha256(path)
    cache_path = _cache_path(path, mode, profile, file_sha)
    if cache and (net := _from_cache(cache_path, mode, profile)) is not None:
        return net
    with _spinner(f"building the {mode} network from {path.name}", show=progress):
        raw = read_graphml(path, mode) if kind == "graphml" else read_osm_file(path, mode)
        net = TravelNetwork.from_raw(raw, mode=mode, speeds=profile, source={
            "file": path.name, "file_sha256": file_sha, "format": kind, "cached": False,
            "data_date": _data_date(path, kind)})
    if cache:
        write_cache(cache_path, net._write_npz, f"the {mode} network cache")
    return net


def _cache_path(path: Path, mode: str, profile: Speeds, file_sha: str) -> Path:
    """Where a build of this file's bytes, mode, speeds and builder version is cached."""
    key_obj = {"file_sha256": file_sha, "mode": mode, "speeds": profile.key(), "format": CACHE_FORMAT,
               "builder": builder_version()}
    key = hashlib.sha256(json.dumps(key_obj, sort_keys=True).encode()).hexdigest()[:24]
    return settings.get_cache_dir() / "networks" / f"{path.name}.{mode}.{key}.npz"


def _from_cache(cache_path: Path, mode: str, profile: Speeds) -> TravelNetwork | None:
    """The cached build, or None when there is none or it is damaged (then it is removed, with a warning)."""
    if not cache_path.is_file():
        return None
    try:
        net = TravelNetwork.load(cache_path, profile)
    except Exception as exc:
        warnings.warn(f"cached network {cache_path.name} is damaged ({exc}); rebuilding", stacklevel=4)
        with contextlib.suppress(OSError):
            cache_path.unlink(missing_ok=True)
        return None
    net.source["cached"] = True
    log.info("reloaded %s network from cache %s", mode, cache_path.name)
    return net


@contextlib.contextmanager
def _spinner(text: str, *, show: bool) -> Iterator[None]:
    """A spinner on stderr while the block runs (nothing when ``show`` is false)."""
    if not show:
        yield
        return
    from rich.console import Console  # deferred: rich is loaded only when a spinner is shown

    status = Console(stderr=True).status(text)
    status.start()
    try:
        yield
    finally:
        status.stop()


def _speeds(mode: str, speeds: Speeds | float | dict[str, tuple[float, float]] | None, free_flow: bool) -> Speeds:
    base = Speeds.for_mode(mode, free_flow=free_flow)
    if speeds is None:
        return base
    if isinstance(speeds, Speeds):
        if speeds.mode != mode:
            raise InvalidInputError(f"speeds are for mode {speeds.mode!r}, the network is {mode!r}")
        return speeds
    if isinstance(speeds, int | float):
        if not 0.5 <= float(speeds) <= 200:
            raise InvalidInputError(f"speed {speeds} km/h is outside 0.5..200 km/h")
        return Speeds(mode, constant_kmh=float(speeds), park_minutes=base.park_minutes)
    if isinstance(speeds, dict):
        for k, v in speeds.items():
            if not (isinstance(v, tuple | list) and len(v) == 2 and all(0.5 <= float(s) <= 200 for s in v)):
                raise InvalidInputError(f"speeds[{k!r}] must be (urban km/h, rural km/h) within 0.5..200")
        return Speeds(mode, free_flow=free_flow, by_class={k: (float(v[0]), float(v[1])) for k, v in speeds.items()},
                      park_minutes=base.park_minutes)
    raise InvalidInputError(f"speeds must be a Speeds, a number of km/h or a dict, not {type(speeds).__name__}")


def _from_osmnx_download(source: str | tuple[float, float, float, float], mode: str, profile: Speeds) -> TravelNetwork:
    """Download a network through osmnx's Overpass client (online only) and build it with iot-geo's own rules.

    A place name is geocoded with osmnx (Nominatim, ``osmnx.settings.nominatim_url``) to its boundary
    polygon; a bounding box ``(west, south, east, north)`` is used as it is. The ways are fetched from
    Overpass (``osmnx.settings.overpass_url``, osmnx's cache, pauses and query splitting) with a filter
    that asks for what :data:`~iot_geo.osm.WAY_RULES` may keep, written as OSM XML and read exactly like an extract:
    the same rules, junctions and one-way handling, so the network equals one built from a file of the
    same data (ways crossing the boundary come whole, as in an extract cut with complete ways).
    """
    import osmnx as ox
    import shapely.geometry

    try:
        from osmnx import _overpass
    except ImportError as exc:  # pragma: no cover - osmnx layout changed
        raise NetworkBuildError(f"this osmnx has no Overpass client ({exc}); give an OSM or GraphML file") from None
    network_type = {"drive": "drive", "cycle": "bike", "walk": "walk"}[mode]
    try:
        if isinstance(source, tuple):
            if len(source) != 4:
                raise InvalidInputError(f"bounding box {source!r}: give (west, south, east, north) in degrees")
            west, south, east, north = (float(v) for v in source)
            if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                raise InvalidInputError(f"bounding box {source!r}: give (west, south, east, north) in degrees")
            polygon = shapely.geometry.box(west, south, east, north)
        else:
            polygon = ox.geocode_to_gdf(source).union_all()
        responses = list(_overpass._download_overpass_network(polygon, network_type, overpass_filter(mode)))
    except InvalidInputError:
        raise
    except Exception as exc:
        raise NetworkBuildError(
            f"could not download {source!r} through osmnx ({exc.__class__.__name__}: {exc}); "
            "offline, give an OSM or GraphML file instead"
        ) from None
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "download.osm"
        if osm_json_to_xml(responses, p) == 0:
            raise NetworkBuildError(f"Overpass returned no roads for {source!r}")
        raw = read_osm_file(p, mode)
    return TravelNetwork.from_raw(raw, mode=mode, speeds=profile, source={
        "place": str(source), "format": "overpass", "overpass_url": str(ox.settings.overpass_url),
        "data_date": next((str(r["osm3s"]["timestamp_osm_base"]) for r in responses
                           if isinstance(r.get("osm3s"), dict) and "timestamp_osm_base" in r["osm3s"]), None)})


def as_network(network: Any, mode: str = "drive") -> RoutingNetwork:
    """``network`` itself, or a :class:`TravelNetwork` built from an osmnx ``MultiDiGraph`` in memory."""
    if is_graph(network):
        return load_network(network, mode=mode)
    out: RoutingNetwork = network
    return out


def reopen_network(kind: str, path: str, *, speeds: Speeds | None = None,
                   options: tuple[tuple[str, Any], ...] = ()) -> RoutingNetwork:
    """Open a network again from its :meth:`~iot_geo.routing.RoutingNetwork.file_ref` (in another process).

    ``"npz"``: a road network saved by :meth:`TravelNetwork.save`, with its ``speeds``; ``"gtfs"``: a feed,
    read with ``options`` (:func:`iot_geo.transit.load_transit`).
    """
    if kind == "npz":
        if speeds is None:
            raise InvalidInputError(f"a saved road network ({Path(path).name}) reopens only with its speeds")
        net = TravelNetwork.load(Path(path), speeds)
        net.source["cached"] = True
        return net
    if kind == "gtfs":
        return load_transit(path, **dict(options))
    raise InvalidInputError(f"unknown network reference {kind!r}: 'npz' (a saved road network) or 'gtfs' (a feed)")


def is_graph(obj: Any) -> bool:
    """Whether ``obj`` looks like a networkx graph (an osmnx ``MultiDiGraph``)."""
    return hasattr(obj, "graph") and hasattr(obj, "edges") and hasattr(obj, "nodes") and hasattr(obj, "is_directed")
