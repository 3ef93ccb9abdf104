"""Travel times, isochrone polygons and people reached.

Travel times
------------
Each site joins the network at its nearest usable point on a road segment
(not only at a node), with an access leg on foot from the site to that point
(:data:`iot_geo.speeds.ACCESS_KMH`) and, for driving, the minutes to park and
walk. The site becomes a virtual node joined to the segment's end nodes by
the part of the segment it can travel, and one Dijkstra run with a cutoff at
the largest band (scipy's compiled ``dijkstra`` on the CSR graph; on the
reversed graph for times *to* a site) serves every band. Several sites run as
one batch; the minimum over sites comes from the same matrix.

A point (a home, an LSOA centroid) is timed the same way from its own snapped
point: the time at either end node of its segment plus the part of the segment
to travel, plus its own access leg. Two points on the same segment also get
the direct trip along it.

Isochrone polygons
------------------
Cover what can be reached and nothing else: points are sampled along every
reached segment every three quarters of a cell, each with its exact time (the part of
an edge reached before time runs out is kept, the rest dropped); their times
are written into a grid of ``resolution`` metres (the minimum per cell); the
access leg off the road is added as a distance-weighted erosion over
:data:`ACCESS_MAX_M` metres at walking speed; and every band is contoured from
the one grid (contourpy), so bands nest by construction. A point inside a
band's polygon lies within one cell diagonal (``resolution * sqrt(2)``) of a
point reachable within the band. Land farther than :data:`ACCESS_MAX_M` from
any road reached in time stays outside.

People reached
--------------
Population counts use each LSOA's population-weighted centroid, timed from
the site like any other point (its own access leg, up to
:data:`POINT_SNAP_MAX_M`): an LSOA counts when its centroid is reached within
the band, not by polygon overlap. Centroids whose population is unknown
(Wales) are counted in ``people_unknown`` (the number of such LSOAs).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import contourpy
import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy import ndimage
from scipy.sparse.csgraph import dijkstra

from iot_geo import settings
from iot_geo.errors import InvalidInputError
from iot_geo.geo import as_points, check_lat_lon, points_from_frame
from iot_geo.network import TravelNetwork, as_network
from iot_geo.transit import TransitNetwork, walk_seconds

#: Either kind of network: roads (drive, cycle, walk) or a timetable (transit).
AnyNetwork = TravelNetwork | TransitNetwork

#: Directions of travel.
DIRECTIONS = ("to_site", "from_site")
#: Largest band accepted, minutes.
MAX_MINUTES = 240.0
#: A site farther than this from every usable road is an error (metres).
SITE_SNAP_MAX_M = 1000.0
#: A home (LSOA centroid) farther than this from every usable road is not reached (metres).
POINT_SNAP_MAX_M = 1000.0
#: Isochrone polygons reach at most this far off a reached road, on foot (metres).
ACCESS_MAX_M = 400.0
#: Points are sampled along reached roads every this many grid cells.
SAMPLE_SPACING = 0.75
#: Default polygon resolution by mode (metres).
RESOLUTION_M = {"drive": 100.0, "cycle": 50.0, "walk": 25.0, "transit": 100.0}

CATCHMENT_COLUMNS = ["site_id", "group_id", "mode", "direction", "minutes", "area_km2", "people",
                     "people_16_59", "people_unknown", "truncated", "geometry"]


# --------------------------------------------------------------------- sites
def as_sites(sites: Any, *, where: str = "sites") -> gpd.GeoDataFrame:
    """Normalise sites to a GeoDataFrame ``site_id, name, group_id, geometry`` (EPSG:27700).

    Accepts a GeoDataFrame/DataFrame (``site_id`` or ``id`` or ``name``; a
    ``group_id`` or ``bid_id`` column groups sites), a mapping
    ``{name: (lat, lon)}``, or a sequence of ``(name, lat, lon)``.

    Raises
    ------
    InvalidInputError
        No sites, duplicate ids, missing or bad coordinates.

    Examples
    --------
    >>> import iot_geo as ig
    >>> ig.as_sites({"Oakham": (52.6707, -0.7270)})[["site_id", "name"]].values.tolist()
    [['Oakham', 'Oakham']]
    """
    if isinstance(sites, dict):
        rows = []
        for name, ll in sites.items():
            if not (isinstance(ll, tuple | list) and len(ll) == 2):
                raise InvalidInputError(f"{where}: site {name!r}: expected (lat, lon), got {ll!r}")
            rows.append({"site_id": str(name), "lat": ll[0], "lon": ll[1]})
        sites = pd.DataFrame(rows)
    elif isinstance(sites, list | tuple) and not isinstance(sites, pd.DataFrame):
        try:
            sites = pd.DataFrame([{"site_id": str(n), "lat": la, "lon": lo} for n, la, lo in sites])
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: expected (name, lat, lon) triples") from None
    if not isinstance(sites, pd.DataFrame):
        raise InvalidInputError(f"{where}: expected a (Geo)DataFrame, a dict or a list, got {type(sites).__name__}")
    if len(sites) == 0:
        raise InvalidInputError(f"{where}: no sites given")
    df = sites.copy()
    if isinstance(df, gpd.GeoDataFrame):
        geom = as_points(df, where=where)
    else:
        geom = points_from_frame(df, where=where)
    id_col = next((c for c in ("site_id", "id", "name") if c in df.columns), None)
    ids = df[id_col].astype(str) if id_col else pd.Series([f"site-{i + 1}" for i in range(len(df))], index=df.index)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InvalidInputError(f"{where}: duplicate site id {dup.iloc[0]!r}; give every site its own name")
    group = df["group_id"] if "group_id" in df.columns else (df["bid_id"] if "bid_id" in df.columns else None)
    out = gpd.GeoDataFrame(
        {
            "site_id": ids.to_numpy(),
            "name": (df["name"].astype(str) if "name" in df.columns else ids).to_numpy(),
            "group_id": (group.astype(str).to_numpy() if group is not None else np.full(len(df), "all", object)),
        },
        geometry=geom.values,
        crs=settings.crs,
    )
    return out


def parse_site_arg(text: str) -> tuple[str, float, float]:
    """Parse ``"Name=LAT,LON"`` or ``"Name=POSTCODE"`` (the CLI's ``--site``)."""
    from iot_geo.postcodes import is_postcode, lookup_postcodes  # only when a postcode is given

    name, _, coords = text.rpartition("=")
    if is_postcode(coords):
        if not name.strip():
            raise InvalidInputError(f"--site {text!r}: the site needs a name before '='")
        hit = lookup_postcodes([coords]).iloc[0]
        return name.strip(), float(hit["lat"]), float(hit["lon"])
    try:
        lat_s, lon_s = coords.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise InvalidInputError(f"--site {text!r}: expected NAME=LAT,LON or NAME=POSTCODE, for example "
                                "'Oakham=52.67,-0.73' or 'Oakham=LE15 6RP'") from None
    if not name.strip():
        raise InvalidInputError(f"--site {text!r}: the site needs a name before '='")
    check_lat_lon(np.array([lat]), np.array([lon]), where="--site", labels=[name])
    return name.strip(), lat, lon


def check_minutes(minutes: Iterable[float] | float) -> list[float]:
    """Validate bands: positive, at most :data:`MAX_MINUTES`, sorted, unique."""
    vals = [minutes] if isinstance(minutes, int | float) else list(minutes)
    if not vals:
        raise InvalidInputError("no minutes given: name at least one band, for example 10 15 20")
    out = []
    for m in vals:
        try:
            f = float(m)
        except (TypeError, ValueError):
            raise InvalidInputError(f"minutes {m!r} is not a number") from None
        if not math.isfinite(f) or f <= 0:
            raise InvalidInputError(f"minutes {m!r}: a band must be more than 0 minutes")
        if f > MAX_MINUTES:
            raise InvalidInputError(f"minutes {m!r}: bands over {MAX_MINUTES:g} minutes are not travel-to-learn times")
        out.append(f)
    return sorted(set(out))


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise InvalidInputError(f"direction {direction!r}: use 'to_site' or 'from_site'")


# -------------------------------------------------------------- travel times
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

    @property
    def nearest(self) -> np.ndarray:
        """Index of the nearest site per node (-1 where none is reached)."""
        idx = self.per_site.argmin(axis=0)
        return np.where(np.isfinite(self.min), idx, -1)

    def node_frame(self) -> pd.DataFrame:
        """One row per reached node: ``node``, ``x``, ``y``, ``minutes``, ``nearest_site``."""
        net = self.network
        reached = np.flatnonzero(np.isfinite(self.min))
        ids = self.sites["site_id"].to_numpy()
        return pd.DataFrame({"node": net.node_id[reached], "x": net.node_x[reached], "y": net.node_y[reached],
                             "minutes": self.min[reached], "nearest_site": ids[self.nearest[reached]]})

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
        warnings.warn(
            f"site(s) {names} lie outside the coverage of the {network.mode} network "
            f"{network.source.get('file', network.source.get('place', ''))} (beyond the edge of the extract or in a gap "
            "with no roads): their times run through the nearest road fragment and are not reliable; use a network "
            "that covers them", stacklevel=3)
    out = sites.copy()
    out["outside_network"] = outside
    out["snap_seg"] = snap["seg"].to_numpy()
    out["snap_frac"] = snap["frac"].to_numpy()
    out["snap_m"] = snap["distance"].to_numpy()
    out["access_minutes"] = out["snap_m"] / (network.speeds.access_kmh * 1000.0 / 60.0) + network.speeds.park_minutes
    return out


def _site_sources(network: TravelNetwork, snapped: gpd.GeoDataFrame, direction: str
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


def travel_times(
    network: TravelNetwork,
    sites: Any,
    *,
    max_minutes: float,
    direction: str = "to_site",
    snap_max_m: float = SITE_SNAP_MAX_M,
    _unchecked: bool = False,
) -> TravelTimes:
    """Minutes from every network node to each site (or from each site), up to a cutoff.

    Parameters
    ----------
    network : TravelNetwork
    sites : GeoDataFrame, DataFrame, dict or list
        See :func:`as_sites`.
    max_minutes : float
        Cutoff in minutes (the largest band); farther nodes get ``inf``.
    direction : {"to_site", "from_site"}
        ``to_site`` (default): learners travel to college, one-way streets
        count the way they travel.
    snap_max_m : float
        A site farther than this from every usable road is an error.

    Returns
    -------
    TravelTimes

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> tt = ig.travel_times(net, oakham, max_minutes=15)
    >>> bool(0 < tt.min.min() < 15)
    True
    """
    network = as_network(network)
    _check_direction(direction)
    (cutoff,) = [float(max_minutes)] if _unchecked else check_minutes([max_minutes])
    snapped = snap_sites(network, as_sites(sites), max_distance=snap_max_m, direction=direction)
    k = len(snapped)
    site, nodes, offs = _site_sources(network, snapped, direction)
    base = network.csr_rev if direction == "to_site" else network.csr
    graph = _augmented(base, site, nodes, offs, k)
    n = network.n_nodes
    dist = dijkstra(graph, directed=True, indices=np.arange(n, n + k), limit=cutoff)
    per_site = np.asarray(dist[:, :n], dtype=np.float64).reshape(k, n)
    return TravelTimes(network, snapped, direction, cutoff, per_site)


def _point_times(network: TravelNetwork, T: np.ndarray, seg: np.ndarray, frac: np.ndarray, direction: str
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


def _same_segment(network: TravelNetwork, snapped: gpd.GeoDataFrame, seg: np.ndarray, frac: np.ndarray,
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


def times_to_points(
    network: TravelNetwork,
    points: Any,
    sites: Any,
    *,
    max_minutes: float,
    direction: str = "to_site",
    snap_max_m: float = POINT_SNAP_MAX_M,
    times: TravelTimes | None = None,
) -> pd.DataFrame:
    """Minutes between each point (with its own access leg) and each site.

    Parameters
    ----------
    network : TravelNetwork
    points : GeoDataFrame, GeoSeries or DataFrame
        Homes, LSOA centroids, ... (any CRS, or lat/lon columns).
    sites : see :func:`as_sites`
    max_minutes : float
        Cutoff; farther points get NaN.
    direction : {"to_site", "from_site"}
    snap_max_m : float
        Points farther than this from every usable road are not reached (NaN).
    times : TravelTimes, optional
        Reuse an earlier search with the same sites, direction and cutoff.

    Returns
    -------
    pandas.DataFrame
        Same index as ``points``: one column of minutes per site id,
        ``nearest_site``, ``minutes`` (to the nearest), ``snap_m`` (the
        point's access distance) and ``outside_network`` (the point lies
        outside the network's coverage, beyond the clipped edge of an extract
        or in a gap with no roads: it is not timed, its minutes are NaN).

    Examples
    --------
    >>> import pandas as pd, iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> homes = pd.DataFrame({"lat": [52.6585], "lon": [-0.6395]})
    >>> bool(ig.times_to_points(net, homes, oakham, max_minutes=30)["minutes"].iloc[0] < 30)
    True
    """
    network = as_network(network)
    tt = times or travel_times(network, sites, max_minutes=max_minutes, direction=direction)
    pts = as_points(points)
    raw = _raw_point_minutes(tt, pts.x.to_numpy(), pts.y.to_numpy(), snap_max_m)
    minutes, snap_m = raw
    outside = ~network.covered(pts.x.to_numpy(), pts.y.to_numpy())
    minutes[:, outside] = np.inf  # never timed through a road fragment
    ids = list(tt.sites["site_id"])
    df = pd.DataFrame(np.where(minutes <= tt.max_minutes, minutes, np.nan).T, columns=ids, index=pts.index)
    best = minutes.min(axis=0)
    nearest = np.asarray(ids, dtype=object)[minutes.argmin(axis=0)]
    reached = best <= tt.max_minutes
    df["nearest_site"] = pd.Series(np.where(reached, nearest, None), index=df.index, dtype=object)
    df["minutes"] = np.where(reached, best, np.nan)
    df["snap_m"] = snap_m
    df["outside_network"] = outside
    return df


def _raw_point_minutes(tt: TravelTimes, x: np.ndarray, y: np.ndarray, snap_max_m: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``(k, n)`` minutes for points (inf where unreached) and their snap distances."""
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
        t = _point_times(net, tt.per_site, seg[ok], frac, tt.direction)
        t = np.minimum(t, _same_segment(net, tt.sites, seg[ok], frac, tt.direction))
        access = snap["distance"].to_numpy()[ok] / (net.speeds.access_kmh * 1000.0 / 60.0)
        out[:, ok] = t + access
    return out, snap["distance"].to_numpy()


# ------------------------------------------------------------------ polygons
def _segment_cumlen(network: TravelNetwork) -> np.ndarray:
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
    cum = _segment_cumlen(network)
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


@dataclass
class TimeGrid:
    """Minutes to reach each cell centre (network time plus the access leg); ``inf`` where unreached."""

    values: np.ndarray  # (ny, nx)
    x0: float  # centre of cell (0, 0)
    y0: float
    resolution: float

    def cells(self, minutes: float) -> tuple[np.ndarray, np.ndarray]:
        """Cells reached within ``minutes``: global cell ids and their minutes (float32).

        Every grid of one resolution lies on the same lattice (grids are aligned to multiples of
        the resolution), so the ids of different catchments can be compared.
        """
        iy, ix = np.nonzero(self.values <= minutes)
        gx = np.int64(round(self.x0 / self.resolution)) + ix
        gy = np.int64(round(self.y0 / self.resolution)) + iy
        return gy * (1 << 32) + gx, self.values[iy, ix].astype(np.float32)

    def contours(self, bands: Sequence[float]) -> list[shapely.Geometry]:
        """The land reached within each band, as (Multi)Polygons in EPSG:27700 (one contouring pass)."""
        z = np.where(np.isfinite(self.values), self.values, 1e9)
        ny, nx = z.shape
        if ny < 2 or nx < 2 or not (z <= max(bands)).any():
            return [shapely.Polygon() for _ in bands]
        xs = self.x0 + np.arange(nx) * self.resolution
        ys = self.y0 + np.arange(ny) * self.resolution
        gen = contourpy.contour_generator(xs, ys, z, fill_type=contourpy.FillType.ChunkCombinedOffsetOffset,
                                          name="serial", chunk_size=0)
        out = []
        for band in bands:
            points, offsets, outer = (c[0] for c in gen.filled(-1.0, float(band)))
            if points is None or len(points) == 0:
                out.append(shapely.Polygon())
                continue
            polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, points, (offsets, outer))
            geom = shapely.multipolygons(polys) if len(polys) > 1 else polys[0]
            # contourpy's filled contours of one grid do not overlap or self-cross (tests check validity)
            out.append(geom)
        return out

    def contour(self, minutes: float) -> shapely.Geometry:
        """The land reached within ``minutes`` as a (Multi)Polygon in EPSG:27700."""
        return self.contours([minutes])[0]


def time_grid(
    network: TravelNetwork,
    node_minutes: np.ndarray,
    *,
    direction: str,
    max_minutes: float,
    resolution: float,
    access_max_m: float = ACCESS_MAX_M,
    snapped_sites: gpd.GeoDataFrame | None = None,
) -> TimeGrid:
    """Rasterise the reached network into a travel-time grid (see the module docstring)."""
    net = network
    reached_node = node_minutes <= max_minutes
    seg_reached = reached_node[net.seg_a] | reached_node[net.seg_b]
    if snapped_sites is not None:
        seg_reached[snapped_sites["snap_seg"].to_numpy()] = True
    segs = np.flatnonzero(seg_reached & ((net.seg_fwd >= 0) | (net.seg_bwd >= 0)))
    if not len(segs):
        return TimeGrid(np.full((1, 1), np.inf), 0.0, 0.0, resolution)
    x, y, sseg, frac = sample_segments(net, segs, SAMPLE_SPACING * resolution)
    t = _point_times(net, node_minutes, sseg, frac, direction)
    if snapped_sites is not None:
        tt_dummy = np.min(_same_segment(net, snapped_sites, sseg, frac, direction), axis=0)
        t = np.minimum(t, tt_dummy)
    keep = t <= max_minutes
    x, y, t = x[keep], y[keep], t[keep]
    if not len(t):
        return TimeGrid(np.full((1, 1), np.inf), 0.0, 0.0, resolution)
    pad = access_max_m + 2 * resolution
    x0 = math.floor((x.min() - pad) / resolution) * resolution
    y0 = math.floor((y.min() - pad) / resolution) * resolution
    nx = int(math.ceil((x.max() + pad - x0) / resolution)) + 1
    ny = int(math.ceil((y.max() + pad - y0) / resolution)) + 1
    ix = np.rint((x - x0) / resolution).astype(np.int64)
    iy = np.rint((y - y0) / resolution).astype(np.int64)
    flat = np.full(ny * nx, np.inf)
    np.minimum.at(flat, iy * nx + ix, t)  # per cell, the smallest time
    grid = flat.reshape(ny, nx)
    r = int(access_max_m // resolution)
    if r >= 1:
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        dist = np.hypot(yy, xx) * resolution
        footprint = dist <= access_max_m
        per_m = 1.0 / (net.speeds.access_kmh * 1000.0 / 60.0)
        grid = ndimage.grey_erosion(grid, footprint=footprint, structure=-(dist * per_m), mode="constant",
                                    cval=np.inf)
    return TimeGrid(grid, x0, y0, resolution)


# ----------------------------------------------------------------- catchments
def _population(data_dir: str | os.PathLike[str] | None, population: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if population is not None:
        return population
    from iot_geo.sources.population import load_population

    return load_population(data_dir=data_dir)


@dataclass
class _PopArrays:
    """Population columns as plain arrays for fast per-band sums."""

    people: np.ndarray
    people_16_59: np.ndarray
    known: np.ndarray
    decile: np.ndarray  # 0 where unknown

    @classmethod
    def of(cls, pop: gpd.GeoDataFrame) -> _PopArrays:
        people = pop["people"].to_numpy(dtype=float, na_value=np.nan)
        p1659 = (pop["people_16_59"].to_numpy(dtype=float, na_value=np.nan) if "people_16_59" in pop.columns
                 else np.full(len(pop), np.nan))
        known = np.isfinite(people)
        decile = (pop["imd_decile"].to_numpy(dtype=float, na_value=0).astype(np.int64) if "imd_decile" in pop.columns
                  else np.zeros(len(pop), np.int64))
        return cls(np.where(known, people, 0.0), np.nan_to_num(p1659), known, np.clip(decile, 0, 10))


def _people_in_reach(pop: _PopArrays, minutes_to_pop: np.ndarray, band: float,
                     outside_minutes: np.ndarray | None = None) -> dict[str, Any]:
    """People reached within ``band``.

    ``outside_minutes``: the times the points outside the network's coverage would get through the
    nearest road fragment (inf for the others); those people are counted apart, never as reached.
    """
    reached = minutes_to_pop <= band
    by_decile = np.bincount(pop.decile[reached], weights=pop.people[reached], minlength=11)
    people = float(pop.people[reached].sum())
    outside = 0.0 if outside_minutes is None else float(pop.people[outside_minutes <= band].sum())
    out: dict[str, Any] = {
        "people": _whole(people),
        "people_16_59": _whole(pop.people_16_59[reached].sum()),
        "people_unknown": int((reached & ~pop.known).sum()),
        "people_outside_network": _whole(outside),
        "outside_network_share": round(outside / (people + outside), 4) if people + outside > 0 else 0.0,
        "lsoas": int(reached.sum()),
    }
    for d in range(1, 11):
        out[f"imd_{d}"] = _whole(by_decile[d])
    return out


def _whole(people: float) -> int:
    """A count of people as a whole number (sums of the population's counts; a weighted one is rounded)."""
    return int(round(float(people)))


def _pop_near(network: TravelNetwork, pop: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = network.bounds
    m = POINT_SNAP_MAX_M
    x, y = pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy()
    return pop[(x >= minx - m) & (x <= maxx + m) & (y >= miny - m) & (y <= maxy + m)]


@dataclass
class CatchmentDetail:
    """What :func:`catchment_detail` computes: the table, and per-unit minutes to each LSOA centroid."""

    table: gpd.GeoDataFrame
    population: gpd.GeoDataFrame  # the centroids near the network
    unit_minutes: np.ndarray  # (n_units, n_population) minutes, inf where not reached
    units: list[str]  # site id (or group id for a union) of each row of unit_minutes
    times: TravelTimes
    cells: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per unit: global cell ids, minutes
    resolution: float = 0.0
    #: per unit: minutes to the LSOA centroids outside the network's coverage through the nearest road fragment
    #: (inf for the others); those people are counted as ``people_outside_network``, never as reached
    outside_minutes: np.ndarray | None = None


def _units(sites: gpd.GeoDataFrame, union: bool) -> list[tuple[str | None, str, np.ndarray]]:
    """What each catchment covers: (site id or None for a union, group id, indices of its sites)."""
    if union:
        groups = list(dict.fromkeys(sites["group_id"]))
        return [(None, g, np.flatnonzero(sites["group_id"].to_numpy() == g)) for g in groups]
    return [(str(sid), str(g), np.array([i])) for i, (sid, g) in enumerate(zip(sites["site_id"], sites["group_id"],
                                                                                strict=True))]


def catchment_detail(
    network: AnyNetwork,
    sites: Any,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    union: bool = False,
    direction: str = "to_site",
    resolution: float | None = None,
    access_max_m: float = ACCESS_MAX_M,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    polygons: bool = True,
    keep_cells: bool = False,
) -> CatchmentDetail:
    """:func:`catchments` with the minutes to every LSOA centroid kept (for overlap and hub-and-spoke)."""
    network = as_network(network)
    bands = check_minutes(minutes)
    _check_direction(direction)
    site_gdf = as_sites(sites)
    if isinstance(network, TransitNetwork):
        return _transit_detail(network, site_gdf, bands, union=union, direction=direction, resolution=resolution,
                               population=population, data_dir=data_dir, polygons=polygons, keep_cells=keep_cells)
    res = float(resolution or RESOLUTION_M[network.mode])
    if res <= 0:
        raise InvalidInputError(f"resolution {res} must be positive metres")
    # search a little past the largest band, so that its contour is interpolated between real
    # times on both sides (the same polygon whatever other bands are asked for)
    margin = 1.05 * res / (network.speeds.access_kmh * 1000.0 / 60.0)  # one cell on foot
    tt = travel_times(network, site_gdf, max_minutes=min(bands[-1] + margin, MAX_MINUTES + margin),
                      direction=direction, _unchecked=True)
    pop = _pop_near(network, _population(data_dir, population))
    pop_minutes, _ = _raw_point_minutes(tt, pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy(), POINT_SNAP_MAX_M)
    outside = ~network.covered(pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy())
    outside_minutes = np.where(outside, pop_minutes, np.inf)  # what a road fragment would have said
    pop_minutes[:, outside] = np.inf
    pop_arrays = _PopArrays.of(pop)
    units = _units(tt.sites, union)
    rows = []
    cells: list[tuple[np.ndarray, np.ndarray]] = []
    unit_minutes = np.empty((len(units), len(pop)))
    unit_outside = np.empty((len(units), len(pop)))
    for u, (site_id, group_id, idx) in enumerate(units):
        node_t = tt.per_site[idx].min(axis=0)
        pm = pop_minutes[idx].min(axis=0)
        unit_minutes[u] = pm
        unit_outside[u] = outside_minutes[idx].min(axis=0)
        if polygons:
            grid = time_grid(network, node_t, direction=direction, max_minutes=tt.max_minutes, resolution=res,
                             access_max_m=access_max_m, snapped_sites=tt.sites.iloc[idx])
            geoms = grid.contours(bands)
            if keep_cells:
                cells.append(grid.cells(bands[-1]))
        else:
            geoms = [shapely.Polygon() for _ in bands]
        for band, geom in zip(bands, geoms, strict=True):
            rows.append(_row(site_id, group_id, network.mode, direction, band, geom,
                             _people_in_reach(pop_arrays, pm, band, unit_outside[u]),
                             bool(network.frontier[node_t <= band].any())))
    names = [str(g if sid is None else sid) for sid, g, _ in units]
    return CatchmentDetail(_table(rows), pop, unit_minutes, names, tt, cells, res, unit_outside)


def _row(site_id: str | None, group_id: str, mode: str, direction: str, band: float, geom: shapely.Geometry,
         people: dict[str, Any], truncated: bool) -> dict[str, Any]:
    """One catchment row (API.md's columns, then people by IMD decile)."""
    return {"site_id": site_id if site_id is not None else "", "group_id": group_id, "mode": mode,
            "direction": direction, "minutes": int(band) if float(band).is_integer() else band,
            "area_km2": round(float(shapely.area(geom)) / 1e6, 4), **people, "truncated": truncated, "geometry": geom}


def _table(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Catchment rows as a GeoDataFrame with API.md's columns first and geometry last."""
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.crs)
    cols = CATCHMENT_COLUMNS[:-1] + [c for c in out.columns if c not in CATCHMENT_COLUMNS] + ["geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=settings.crs)


def catchments(
    network: AnyNetwork,
    sites: Any,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    union: bool = False,
    direction: str = "to_site",
    resolution: float | None = None,
    access_max_m: float = ACCESS_MAX_M,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    warn_truncated: bool = True,
) -> gpd.GeoDataFrame:
    """Isochrone catchments with the people they reach, per site (or per group) and band.

    Parameters
    ----------
    network : TravelNetwork
    sites : see :func:`as_sites`
        A ``group_id`` (or ``bid_id``) column groups sites for ``union``.
    minutes : sequence of float
        Bands in minutes (default 30, 45, 60; use shorter ones on small extracts).
    union : bool
        One catchment per group of sites (the nearest site of the group counts)
        instead of one per site.
    direction : {"to_site", "from_site"}
    resolution : float, optional
        Grid cell in metres (default by mode: :data:`RESOLUTION_M`).
    access_max_m : float
        How far off a reached road the polygon reaches, on foot.
    population : GeoDataFrame, optional
        LSOA centroids with ``people``, ``people_16_59``, ``imd_decile``;
        default :func:`iot_geo.load_population`.
    data_dir : path, optional
    warn_truncated : bool
        Warn about catchments that reach the edge of the network.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id, group_id, mode, direction, minutes, area_km2, people,
        people_16_59, people_unknown, truncated, geometry`` plus ``lsoas`` and
        ``imd_1``..``imd_10`` (people by IMD decile). ``site_id`` is empty for a
        union. ``truncated``: the catchment reaches the edge of the loaded
        network, so its figures are lower bounds.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> ig.catchments(net, oakham, minutes=(10, 15))["minutes"].tolist()
    [10, 15]
    """
    network = as_network(network)
    out = catchment_detail(network, sites, minutes=minutes, union=union, direction=direction,
                           resolution=resolution, access_max_m=access_max_m, population=population,
                           data_dir=data_dir).table
    if warn_truncated and out["truncated"].any():
        warn_truncation(out)
    return out


def warn_truncation(table: pd.DataFrame) -> None:
    """Warn that some catchments reach the edge of their network (their figures are lower bounds)."""
    cut = table[table["truncated"]]
    if not len(cut):
        return
    names = ", ".join(f"{s or g} {m} min" for s, g, m in zip(cut["site_id"].astype(str).head(5),
                                                            cut["group_id"].astype(str).head(5),
                                                            cut["minutes"].astype(str).head(5), strict=True))
    warnings.warn(f"{len(cut)} catchment(s) reach the edge of the loaded network ({names}"
                  f"{', ...' if len(cut) > 5 else ''}): their figures are lower bounds", stacklevel=3)


def pick_network(networks: AnyNetwork | Sequence[AnyNetwork], sites: gpd.GeoDataFrame, *, label: str
                 ) -> AnyNetwork:
    """The first network that every one of ``sites`` can join (within :data:`SITE_SNAP_MAX_M`)."""
    nets = [networks] if isinstance(networks, TravelNetwork | TransitNetwork) else list(networks)
    if not nets:
        raise InvalidInputError("no network given")
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    best = None
    for net in nets:
        if isinstance(net, TransitNetwork):
            if net.covers(x, y).all():
                return net
            continue
        d = net.snap(x, y, max_distance=SITE_SNAP_MAX_M)["distance"].to_numpy()
        if (d <= SITE_SNAP_MAX_M).all():
            return net
        d = net.snap(x, y, max_distance=100_000.0)["distance"].to_numpy()
        best = d.max() if best is None else min(best, d.max())
    far = f"the nearest leaves a site {best:,.0f} m from any usable road" if best is not None else \
        "no stop within walking reach of every site"
    raise InvalidInputError(f"{label}: no loaded network covers all its sites ({far}); "
                            "load a network that covers the bid's area")


def people_reached(
    network: AnyNetwork,
    sites: Any,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    direction: str = "to_site",
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """People whose LSOA centroid is reached from any of the sites, per band.

    Returns
    -------
    pandas.DataFrame
        One row per band: ``minutes, people, people_16_59, people_unknown,
        people_outside_network, outside_network_share, lsoas, imd_1..imd_10``.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> bool(ig.people_reached(net, oakham, minutes=(10,))["people"].iloc[0] > 5000)
    True
    """
    network = as_network(network)
    bands = check_minutes(minutes)
    g = as_sites(sites)
    g["group_id"] = "all"
    det = catchment_detail(network, g, minutes=bands, union=True, direction=direction, population=population,
                           data_dir=data_dir, polygons=False)
    arrays = _PopArrays.of(det.population)
    outside = None if det.outside_minutes is None else det.outside_minutes[0]
    return pd.DataFrame([{"minutes": b, **_people_in_reach(arrays, det.unit_minutes[0], b, outside)} for b in bands])


def lsoa_times(
    network: TravelNetwork,
    sites: Any,
    *,
    max_minutes: float,
    direction: str = "to_site",
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Minutes from each LSOA centroid near the network to its nearest site (the DfT JTS question).

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> bool(ig.lsoa_times(net, oakham, max_minutes=10)["minutes"].notna().sum() > 5)
    True
    """
    pop = _pop_near(network, _population(data_dir, population))
    t = times_to_points(network, pop, sites, max_minutes=max_minutes, direction=direction)
    return pd.DataFrame(pd.concat([pop.drop(columns="geometry").reset_index(drop=True),
                      t[["nearest_site", "minutes", "snap_m"]].reset_index(drop=True)], axis=1))


def _transit_detail(
    network: TransitNetwork,
    site_gdf: gpd.GeoDataFrame,
    bands: list[float],
    *,
    union: bool,
    direction: str,
    resolution: float | None,
    population: gpd.GeoDataFrame | None,
    data_dir: str | os.PathLike[str] | None,
    polygons: bool,
    keep_cells: bool,
) -> CatchmentDetail:
    """Catchments on a timetable: stops reached in time, plus the walk from them (and straight from the site)."""
    x, y = site_gdf.geometry.x.to_numpy(), site_gdf.geometry.y.to_numpy()
    far = ~network.covers(x, y)
    if far.any():
        raise InvalidInputError(f"site {site_gdf['site_id'].iloc[int(np.flatnonzero(far)[0])]!r} has no stop within "
                                f"{network.max_walk_m:,.0f} m in {network.source.get('file', 'the feed')}")
    res = float(resolution or RESOLUTION_M["transit"])
    stop_min = np.vstack([network.stop_minutes(float(a), float(b), direction) for a, b in zip(x, y, strict=True)])
    minx, miny, maxx, maxy = network.bounds
    pad = network.max_walk_m
    full = _population(data_dir, population)
    px, py = full.geometry.x.to_numpy(), full.geometry.y.to_numpy()
    pop = full[(px >= minx - pad) & (px <= maxx + pad) & (py >= miny - pad) & (py <= maxy + pad)]
    px, py = pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy()
    per_site = np.vstack([network.point_minutes(stop_min[i], px, py, x[i], y[i]) for i in range(len(x))])
    arrays = _PopArrays.of(pop)
    frontier = _stop_frontier(network)
    units = _units(site_gdf, union)
    rows: list[dict[str, Any]] = []
    cells: list[tuple[np.ndarray, np.ndarray]] = []
    unit_minutes = np.empty((len(units), len(pop)))
    walk_per_m = float(walk_seconds(1.0)) / 60.0  # minutes a metre on foot, detour included
    for u, (site_id, group_id, idx) in enumerate(units):
        sm = stop_min[idx].min(axis=0)
        unit_minutes[u] = per_site[idx].min(axis=0)
        geoms = [shapely.Polygon() for _ in bands]
        if polygons or keep_cells:
            # burn the stops (and the sites themselves, at 0 minutes) into a grid, then walk from them
            sx = np.concatenate([network.stop_x[np.isfinite(sm)], x[idx]])
            sy = np.concatenate([network.stop_y[np.isfinite(sm)], y[idx]])
            st = np.concatenate([sm[np.isfinite(sm)], np.zeros(len(idx))])
            keep = st <= bands[-1]
            grid = _grid_from_points(sx[keep], sy[keep], st[keep], res, network.max_walk_m, walk_per_m)
            if polygons:
                geoms = grid.contours(bands)
            if keep_cells:
                cells.append(grid.cells(bands[-1]))
        for band, geom in zip(bands, geoms, strict=True):
            rows.append(_row(site_id, group_id, "transit", direction, band, geom,
                             _people_in_reach(arrays, unit_minutes[u], band), bool(frontier[sm <= band].any())))
    names = [str(g if sid is None else sid) for sid, g, _ in units]
    dummy = TravelTimes(network, site_gdf, direction, bands[-1], stop_min)  # type: ignore[arg-type]
    return CatchmentDetail(_table(rows), pop, unit_minutes,
                           names, dummy, cells, res)


def _stop_frontier(network: TransitNetwork) -> np.ndarray:
    from iot_geo.network import _frontier

    return _frontier(network.stop_x, network.stop_y, cell=1000.0)


def _grid_from_points(x: np.ndarray, y: np.ndarray, t: np.ndarray, res: float, walk_max_m: float, per_m: float
                      ) -> TimeGrid:
    """A time grid from timed points, each spreading on foot up to ``walk_max_m`` (``per_m`` minutes a metre)."""
    if not len(t):
        return TimeGrid(np.full((1, 1), np.inf), 0.0, 0.0, res)
    pad = walk_max_m + 2 * res
    x0 = math.floor((x.min() - pad) / res) * res
    y0 = math.floor((y.min() - pad) / res) * res
    nx = int(math.ceil((x.max() + pad - x0) / res)) + 1
    ny = int(math.ceil((y.max() + pad - y0) / res)) + 1
    flat = np.full(ny * nx, np.inf)
    np.minimum.at(flat, np.rint((y - y0) / res).astype(np.int64) * nx + np.rint((x - x0) / res).astype(np.int64), t)
    grid = flat.reshape(ny, nx)
    r = int(walk_max_m // res)
    if r >= 1:
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        dist = np.hypot(yy, xx) * res
        grid = ndimage.grey_erosion(grid, footprint=dist <= walk_max_m, structure=-(dist * per_m), mode="constant",
                                    cval=np.inf)
    return TimeGrid(grid, x0, y0, res)


__all__ = [
    "TravelTimes",
    "as_sites",
    "catchment_detail",
    "catchments",
    "check_minutes",
    "lsoa_times",
    "people_reached",
    "pick_network",
    "sample_segments",
    "snap_sites",
    "time_grid",
    "times_to_points",
    "travel_times",
]
