"""Road search: travel times from sites over a road network, times to points, and the network's edge.

Each site joins the network at its nearest usable point on a road segment
(not only at a node), with an access leg on foot from the site to that point
(:data:`iot_geo.speeds.ACCESS_KMH`) and, for driving, the minutes to park and
walk. The site becomes a virtual node joined to the segment's end nodes by
the part of the segment it can travel, and one Dijkstra run with a cutoff
(scipy's compiled ``dijkstra`` on the CSR graph; on the reversed graph for
times *to* a site) serves every band. Several sites run as one batch.

A point (a home, an LSOA centroid) is timed the same way from its own snapped
point: the time at either end node of its segment plus the part of the segment
to travel, plus its own access leg. Two points on the same segment also get
the direct trip along it.

This module works on a :class:`iot_geo.network.TravelNetwork`'s arrays; the
network calls it for its part of the routing interface
(:class:`iot_geo.routing.RoutingNetwork`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.csgraph import dijkstra

from iot_geo.errors import InvalidInputError, warn_caller

if TYPE_CHECKING:
    from iot_geo.network import TravelNetwork

__all__ = [
    "POINT_SNAP_MAX_M", "SITE_SNAP_MAX_M", "TravelTimes", "frontier_nodes", "node_times", "point_minutes",
    "same_segment_times", "sample_segments", "segment_cumlen", "segment_point_times", "site_sources", "snap_role",
    "snap_sites",
]


#: A site farther than this from every usable road is an error (metres).
SITE_SNAP_MAX_M = 1000.0
#: A home (LSOA centroid) farther than this from every usable road is not reached (metres).
POINT_SNAP_MAX_M = 1000.0


@dataclass
class TravelTimes:
    """Minutes per network node from or to each site, and for the sites together.

    Attributes
    ----------
    network : TravelNetwork
    sites : GeoDataFrame
        The sites, with their snapping (``snap_seg, snap_frac, snap_m, access_minutes``).
    direction : str
    max_minutes : float
        The cutoff: nodes beyond it have ``inf``.
    per_site : numpy.ndarray
        ``(n_sites, n_nodes)`` minutes.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> tt = ig.travel_times(net, {"Oakham": (52.6707, -0.7270)}, max_minutes=15)
    >>> isinstance(tt, ig.TravelTimes), list(tt.sites["site_id"])
    (True, ['Oakham'])
    """

    network: TravelNetwork
    sites: gpd.GeoDataFrame
    direction: str
    max_minutes: float
    per_site: np.ndarray
    _min: np.ndarray | None = field(default=None, repr=False)

    @property
    def min(self) -> np.ndarray:
        """Minutes per node to (or from) the nearest site."""
        if self._min is None:
            self._min = self.per_site.min(axis=0)
        return self._min

    def _repr_html_(self) -> str:
        reached = int(np.isfinite(self.min).sum())
        return str(f"<b>TravelTimes</b> {self.network.mode}, {self.direction}, cutoff {self.max_minutes:g} min: "
                f"{len(self.sites)} site(s), {reached:,} of {self.network.n_nodes:,} nodes reached"
                + self.sites.drop(columns="geometry").to_html(index=False))


def snap_role(direction: str, *, site: bool) -> str:
    """Whether travel starts (``"origin"``) or ends (``"destination"``) at a site or at a point, by direction."""
    starts_at_site = direction == "from_site"
    return "origin" if starts_at_site == site else "destination"


def snap_sites(network: TravelNetwork, sites: gpd.GeoDataFrame, *, max_distance: float = SITE_SNAP_MAX_M,
               direction: str | None = None) -> gpd.GeoDataFrame:
    """Snap sites to the network; a site farther than ``max_distance`` is an error naming it.

    With ``direction``, a site joins only a road it can be reached by (``to_site``) or left by
    (``from_site``), one-way rules respected (:meth:`TravelNetwork.snap_mask`).
    """
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    role = None if direction is None else snap_role(direction, site=True)
    snap = network.snap(x, y, max_distance=max_distance, role=role)
    far = snap["distance"].to_numpy() > max_distance
    if far.any():
        i = int(np.flatnonzero(far)[0])
        d = network.snap(x[i:i + 1], y[i:i + 1], max_distance=100_000.0, role=role)["distance"].iloc[0]
        if not np.isfinite(d):  # far away: the nearest node is a fair measure
            d = float(np.hypot(network.node_x - x[i], network.node_y - y[i]).min())
        what = f"{d:,.0f} m from the nearest usable road"
        raise InvalidInputError(
            f"site {sites['site_id'].iloc[i]!r} is {what} of the {network.mode} network "
            f"({network.source.get('file', 'loaded network')}); the limit is {max_distance:,.0f} m: "
            "is the site inside the network's area?"
        )
    outside = ~network.covered(x, y)
    if direction is not None and outside.any():
        names = ", ".join(f"{sites['site_id'].iloc[i]!r} ({snap['distance'].iloc[i]:,.0f} m from a road)"
                          for i in np.flatnonzero(outside))
        source = network.source.get("file", network.source.get("place"))
        named = f" {source}" if source else ""
        warn_caller(
            f"site(s) {names} lie outside the coverage of the {network.mode} network{named} (beyond the edge of "
            "the extract or in a gap with no roads): their times run through the nearest road fragment and are "
            "not reliable; use a network that covers them")
    out = sites.copy()
    out["outside_network"] = outside
    out["snap_seg"] = snap["seg"].to_numpy()
    out["snap_frac"] = snap["frac"].to_numpy()
    out["snap_m"] = snap["distance"].to_numpy()
    out["access_minutes"] = out["snap_m"] / (network.speeds.access_kmh * 1000.0 / 60.0) + network.speeds.park_minutes
    return out


def site_sources(network: TravelNetwork, snapped: gpd.GeoDataFrame, direction: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Virtual edges: (site index, node, offset minutes) for each way a site joins its segment."""
    s = snapped["snap_seg"].to_numpy()
    f = snapped["snap_frac"].to_numpy()
    acc = snapped["access_minutes"].to_numpy()
    fwd = network.seg_fwd[s]
    bwd = network.seg_bwd[s]
    w_f = network.edge_minutes[np.maximum(fwd, 0)]
    w_b = network.edge_minutes[np.maximum(bwd, 0)]
    a, b = network.seg_a[s], network.seg_b[s]
    if direction == "to_site":  # who can reach the site: a along fwd, b along bwd
        nodes = np.concatenate([a, b])
        offs = np.concatenate([acc + f * w_f, acc + (1 - f) * w_b])
    else:  # the site reaches b along fwd, a along bwd
        nodes = np.concatenate([b, a])
        offs = np.concatenate([acc + (1 - f) * w_f, acc + f * w_b])
    offs = np.where(np.concatenate([fwd >= 0, bwd >= 0]), offs, np.inf)
    site = np.concatenate([np.arange(len(s)), np.arange(len(s))])
    ok = np.isfinite(offs)
    return site[ok], nodes[ok], offs[ok]


def _augmented(base: sp.csr_matrix, site: np.ndarray, nodes: np.ndarray, offs: np.ndarray, k: int) -> sp.csr_matrix:
    """The graph with ``k`` virtual source rows appended (no copy of the base rows' logic, one concat)."""
    n = base.shape[0]
    order = np.lexsort((nodes, site))
    site, nodes, offs = site[order], nodes[order], offs[order]
    counts = np.bincount(site, minlength=k)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)]).astype(base.indptr.dtype)
    indices = np.concatenate([base.indices, nodes.astype(base.indices.dtype)])
    data = np.concatenate([base.data, offs])
    return sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def node_times(network: TravelNetwork, sites: gpd.GeoDataFrame, *, max_minutes: float, direction: str,
               snap_max_m: float = SITE_SNAP_MAX_M) -> TravelTimes:
    """Minutes from every node to each site (or from each site), up to ``max_minutes`` (one Dijkstra run).

    ``sites`` are already normalised (:func:`iot_geo.catchment.as_sites`) and the cutoff and direction
    already checked; :func:`iot_geo.catchment.travel_times` is the checked public entry.
    """
    snapped = snap_sites(network, sites, max_distance=snap_max_m, direction=direction)
    k = len(snapped)
    site, nodes, offs = site_sources(network, snapped, direction)
    base = network.csr_rev if direction == "to_site" else network.csr
    graph = _augmented(base, site, nodes, offs, k)
    n = network.n_nodes
    dist = dijkstra(graph, directed=True, indices=np.arange(n, n + k), limit=max_minutes)
    per_site = np.asarray(dist[:, :n], dtype=np.float64).reshape(k, n)
    return TravelTimes(network, snapped, direction, max_minutes, per_site)


def segment_point_times(network: TravelNetwork, T: np.ndarray, seg: np.ndarray, frac: np.ndarray, direction: str
                        ) -> np.ndarray:
    """Network minutes of points on segments, given node minutes ``T`` (``(k, N)`` or ``(N,)``)."""
    fwd = network.seg_fwd[seg]
    bwd = network.seg_bwd[seg]
    w_f = network.edge_minutes[np.maximum(fwd, 0)]
    w_b = network.edge_minutes[np.maximum(bwd, 0)]
    Ta = T[..., network.seg_a[seg]]
    Tb = T[..., network.seg_b[seg]]
    if direction == "to_site":
        via_f, via_b = (1 - frac) * w_f + Tb, frac * w_b + Ta
    else:
        via_f, via_b = Ta + frac * w_f, Tb + (1 - frac) * w_b
    return np.minimum(np.where(fwd >= 0, via_f, np.inf), np.where(bwd >= 0, via_b, np.inf))


def same_segment_times(network: TravelNetwork, snapped: gpd.GeoDataFrame, seg: np.ndarray, frac: np.ndarray,
                       direction: str) -> np.ndarray:
    """Direct trips along a shared segment: ``(k, n_points)`` minutes (inf where not on the site's segment)."""
    s_seg = snapped["snap_seg"].to_numpy()
    s_f = snapped["snap_frac"].to_numpy()
    acc = snapped["access_minutes"].to_numpy()
    out = np.full((len(s_seg), len(seg)), np.inf)
    for i in range(len(s_seg)):
        on = np.flatnonzero(seg == s_seg[i])
        if not len(on):
            continue
        fwd, bwd = network.seg_fwd[s_seg[i]], network.seg_bwd[s_seg[i]]
        f = frac[on]
        # to_site: the point travels towards the site; from_site the reverse
        ahead = f <= s_f[i] if direction == "to_site" else f >= s_f[i]
        gap = np.abs(s_f[i] - f)
        t = np.full(len(on), np.inf)
        if fwd >= 0:
            t = np.where(ahead, gap * network.edge_minutes[fwd], t)
        if bwd >= 0:
            t = np.minimum(t, np.where(~ahead, gap * network.edge_minutes[bwd], np.inf))
        out[i, on] = t + acc[i]
    return out


def point_minutes(tt: TravelTimes, x: np.ndarray, y: np.ndarray, snap_max_m: float = POINT_SNAP_MAX_M
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Minutes between points and each site of a search: ``(k, n)`` (inf where unreached) and snap distances.

    Each point joins its nearest usable segment within ``snap_max_m`` (its own access leg on foot); the
    times are not masked by the network's coverage (:meth:`TravelNetwork.covered`): callers decide.
    """
    net = tt.network
    out = np.full((len(tt.sites), len(x)), np.inf)
    # only points near a node reached within the cutoff can be reached: snap just those
    reached = np.isfinite(tt.min)
    if not reached.any():
        return out, np.full(len(x), np.inf)
    rx, ry = net.node_x[reached], net.node_y[reached]
    pad = snap_max_m + float(net.seg_length.max(initial=0.0))
    near = ((x >= rx.min() - pad) & (x <= rx.max() + pad) & (y >= ry.min() - pad) & (y <= ry.max() + pad))
    role = snap_role(tt.direction, site=False)
    # every point is snapped once per network and remembered (the same population serves every bid and
    # band); a part only when few of many points are near the reached area
    if near.all() or near.mean() > 0.05 or len(x) <= 50_000:
        snap = net.snap_cached(x, y, max_distance=snap_max_m, role=role)
    else:
        part = net.snap_cached(x[near], y[near], max_distance=snap_max_m, role=role)
        snap = pd.DataFrame({"seg": np.full(len(x), -1, np.int64), "frac": np.zeros(len(x)),
                             "distance": np.full(len(x), np.inf)})
        snap.loc[near, ["seg", "frac", "distance"]] = part[["seg", "frac", "distance"]].to_numpy()
        snap["seg"] = snap["seg"].astype(np.int64)
    seg = snap["seg"].to_numpy()
    ok = seg >= 0
    if ok.any():
        frac = snap["frac"].to_numpy()[ok]
        t = segment_point_times(net, tt.per_site, seg[ok], frac, tt.direction)
        t = np.minimum(t, same_segment_times(net, tt.sites, seg[ok], frac, tt.direction))
        access = snap["distance"].to_numpy()[ok] / (net.speeds.access_kmh * 1000.0 / 60.0)
        out[:, ok] = t + access
    return out, snap["distance"].to_numpy()


def segment_cumlen(network: TravelNetwork) -> np.ndarray:
    """Cumulative distance per flattened vertex, with a 1 m gap between segments (cached)."""
    if network._cumlen is not None:
        return network._cumlen
    d = np.hypot(np.diff(network.seg_x), np.diff(network.seg_y))
    boundary = np.zeros(len(network.seg_x) - 1, dtype=bool)
    boundary[network.seg_ptr[1:-1] - 1] = True
    d[boundary] = 1.0
    cum = np.concatenate([[0.0], np.cumsum(d)])
    network._cumlen = cum
    return cum


def sample_segments(network: TravelNetwork, segs: np.ndarray, spacing: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing`` metres (ends included) along the given segments.

    Returns
    -------
    (x, y, seg, frac)
        Coordinates, the segment of each point and its fraction along it.
    """
    cum = segment_cumlen(network)
    start = cum[network.seg_ptr[segs]]
    glen = cum[network.seg_ptr[segs + 1] - 1] - start
    n = np.maximum(np.ceil(glen / spacing).astype(np.int64), 1) + 1
    rep = np.repeat(np.arange(len(segs)), n)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    i = np.arange(n.sum()) - np.repeat(first, n)
    frac = i / np.repeat(n - 1, n)
    g = start[rep] + frac * glen[rep]
    j = np.searchsorted(cum, g, side="right") - 1
    lo = network.seg_ptr[segs][rep]
    hi = network.seg_ptr[segs + 1][rep] - 2
    j = np.clip(j, lo, hi)
    span = cum[j + 1] - cum[j]
    t = np.where(span > 0, (g - cum[j]) / np.where(span > 0, span, 1.0), 0.0)
    x = network.seg_x[j] + t * (network.seg_x[j + 1] - network.seg_x[j])
    y = network.seg_y[j] + t * (network.seg_y[j + 1] - network.seg_y[j])
    return x, y, segs[rep], frac


def frontier_nodes(x: np.ndarray, y: np.ndarray, cell: float = 500.0) -> np.ndarray:
    """Nodes on the edge of the loaded network's extent.

    The nodes are rasterised on a ``cell``-metre grid, the occupied region is
    closed and its holes filled; nodes in cells that touch the outside are the
    frontier. A catchment that reaches one is cut by the edge of the data.
    """
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    ix = ((x - x.min()) // cell).astype(np.int64) + 3
    iy = ((y - y.min()) // cell).astype(np.int64) + 3
    grid = np.zeros((iy.max() + 4, ix.max() + 4), dtype=bool)
    grid[iy, ix] = True
    closed = ndimage.binary_closing(grid, structure=np.ones((3, 3)), iterations=2)
    filled = ndimage.binary_fill_holes(closed | grid)
    edge = filled & ~ndimage.binary_erosion(filled, structure=np.ones((3, 3)), border_value=0)
    out: np.ndarray = edge[iy, ix]
    return out
