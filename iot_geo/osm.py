"""Road segments from OpenStreetMap: which ways each mode may use, and reading them into a :class:`RawNetwork`.

* OpenStreetMap files (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.osm.gz``) are
  read with pyosmium (:func:`read_osm_file`): ways are kept by the mode's rules
  (:data:`WAY_RULES`) and split at junctions; lengths are planar metres in
  British National Grid (its scale error is under 0.04 % in England).
* osmnx graphs, in memory or GraphML (``.graphml``, ``.graphml.gz``;
  :func:`raw_from_graph`, :func:`read_graphml`): the stored ``length`` and
  ``geometry`` are used; ``bus_guideway`` edges are dropped for driving.
* Overpass answers (:func:`overpass_filter`, :func:`osm_json_to_xml`) are
  written as OSM XML and read like an extract, with the same rules.

Driving follows one-way rules (``oneway=yes/-1``, roundabouts, motorways);
cycling and walking use every kept way in both directions. A
:class:`RawNetwork` holds the segments before speeds;
:meth:`iot_geo.network.TravelNetwork.from_raw` turns it into a network.
"""

from __future__ import annotations

import gzip
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iot_geo import settings
from iot_geo.errors import NetworkBuildError
from iot_geo.geo import to_bng

__all__ = [
    "WAY_RULES",
    "RawNetwork",
    "osm_json_to_xml",
    "overpass_filter",
    "raw_from_graph",
    "read_graphml",
    "read_osm_file",
]


_NO_ACCESS = {"no", "private"}
_DRIVE = {
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link", "secondary",
    "secondary_link", "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "road",
    "service",  # car parks, access roads, driveways: at the low speed speeds.py documents, so sites join their own road
}
_NEVER = {
    "proposed", "construction", "abandoned", "platform", "raceway", "bus_guideway", "razed", "planned",
    "elevator", "escalator", "corridor", "no", "disused", "rest_area", "services", "emergency_bay", "bus_stop",
}
_NOT_CYCLE = {"motorway", "motorway_link", "steps", "footway", "pedestrian"}
_NOT_WALK = {"motorway", "motorway_link", "cycleway"}


def _ok_drive(t: dict[str, str]) -> bool:
    return (
        t.get("highway") in _DRIVE
        and t.get("area") != "yes"
        and t.get("access") not in _NO_ACCESS
        and t.get("motor_vehicle") not in _NO_ACCESS
        and t.get("motorcar") not in _NO_ACCESS
        and t.get("service") != "emergency_access"
    )


_ALLOWED = ("yes", "designated", "permissive")


def _ok_unpowered(t: dict[str, str], key: str, excluded: set[str]) -> bool:
    """Whether cyclists (``key="bicycle"``) or walkers (``key="foot"``) may use a way.

    Every way but the excluded classes, which the mode's own tag may open (never a motorway);
    the mode's tag overrides a general ``access``.
    """
    hw = t.get("highway", "")
    if not hw or hw in _NEVER or t.get("area") == "yes" or t.get(key) in _NO_ACCESS:
        return False
    if hw in excluded:
        return t.get(key) in _ALLOWED and not hw.startswith("motorway")
    return t.get("access") not in _NO_ACCESS or t.get(key) in _ALLOWED


def _ok_cycle(t: dict[str, str]) -> bool:
    return _ok_unpowered(t, "bicycle", _NOT_CYCLE)


def _ok_walk(t: dict[str, str]) -> bool:
    return _ok_unpowered(t, "foot", _NOT_WALK)


#: Which OSM ways each mode may use (a function of the way's tags).
WAY_RULES: dict[str, Callable[[dict[str, str]], bool]] = {"drive": _ok_drive, "cycle": _ok_cycle, "walk": _ok_walk}


def _oneway(t: dict[str, str]) -> int:
    """+1 forward only, -1 backward only, 0 both ways (driving rules)."""
    ow = t.get("oneway", "").lower()
    if ow in ("yes", "true", "1"):
        return 1
    if ow in ("-1", "reverse"):
        return -1
    if ow in ("no", "false", "0"):
        return 0
    if t.get("junction") in ("roundabout", "circular") or t.get("highway") in ("motorway", "motorway_link"):
        return 1
    return 0


@dataclass
class RawNetwork:
    """Road segments before speeds: the mode-independent part of a build."""

    node_id: np.ndarray  # int64, OSM ids or 0..N-1
    node_x: np.ndarray
    node_y: np.ndarray
    seg_a: np.ndarray  # int64 node index at the start of the geometry
    seg_b: np.ndarray
    seg_ptr: np.ndarray  # int64 offsets into seg_x/seg_y, len n_seg + 1
    seg_x: np.ndarray
    seg_y: np.ndarray
    seg_fwd_ok: np.ndarray  # bool: travel a -> b allowed
    seg_bwd_ok: np.ndarray
    seg_highway: np.ndarray  # object (str)
    seg_maxspeed: np.ndarray  # object (str or None)
    seg_length: np.ndarray | None = None  # metres; computed from geometry when None


_TAG_KEYS = ("highway", "oneway", "junction", "maxspeed", "access", "area", "motor_vehicle", "motorcar", "bicycle",
             "foot", "service")


def read_osm_file(path: Path, mode: str) -> RawNetwork:
    """Road segments from an OSM file, in one pass.

    Node locations are kept by pyosmium's C++ location index and nodes and
    untagged ways never reach Python (C++ key and entity filters); each kept
    way appends its node ids and coordinates to flat arrays
    (:func:`_collect_ways`), and splitting at junctions is vectorised
    (:func:`_split_ways`), so an England extract (10^8 nodes) builds in
    minutes with a few GB of memory.
    """
    ways = _collect_ways(path, mode)
    if not ways.lengths:
        raise NetworkBuildError(f"{path}: no ways usable for mode {mode!r} (is this an OSM extract with roads?)")
    return _split_ways(ways)


@dataclass
class _Ways:
    """The kept ways of an OSM file as flat arrays: node ids and coordinates, then one entry per way."""

    refs: array[int]  # node ids of every way, one after the other
    lons: array[float]
    lats: array[float]
    lengths: array[int]  # nodes per way
    oneway: array[int]  # +1, -1 or 0 per way (driving rules; 0 for other modes)
    highway: array[int]  # code of the way's highway tag (see hw_codes)
    maxspeed: array[int]  # code of the way's maxspeed tag (see ms_codes)
    hw_codes: dict[str, int]
    ms_codes: dict[str | None, int]


def _collect_ways(path: Path, mode: str) -> _Ways:
    """The ways the mode's rules keep (:data:`WAY_RULES`), with their node locations, as flat arrays."""
    import osmium  # deferred: pyosmium is loaded only to read an OSM file

    rule = WAY_RULES[mode]
    w = _Ways(array("q"), array("d"), array("d"), array("q"), array("b"), array("l"), array("l"), {}, {None: 0})
    try:
        processor = (osmium.FileProcessor(str(path)).with_locations()
                     .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                     .with_filter(osmium.filter.KeyFilter("highway")))
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            otags = obj.tags
            tags = {k: str(otags.get(k)) for k in _TAG_KEYS if k in otags}
            if not rule(tags):
                continue
            nodes = obj.nodes
            try:
                r = [n.ref for n in nodes]
                lo = [n.lon for n in nodes]
                la = [n.lat for n in nodes]
            except osmium.InvalidLocationError:
                ok = [n for n in nodes if n.location.valid()]
                r, lo, la = [n.ref for n in ok], [n.lon for n in ok], [n.lat for n in ok]
            if len(r) < 2:
                continue
            w.refs.extend(r)
            w.lons.extend(lo)
            w.lats.extend(la)
            w.lengths.append(len(r))
            w.oneway.append(_oneway(tags) if mode == "drive" else 0)
            w.highway.append(w.hw_codes.setdefault(tags.get("highway", ""), len(w.hw_codes)))
            w.maxspeed.append(w.ms_codes.setdefault(tags.get("maxspeed"), len(w.ms_codes)))
    except RuntimeError as exc:
        raise NetworkBuildError(f"{path}: not a readable OpenStreetMap file ({exc})") from None
    return w


def _split_ways(w: _Ways) -> RawNetwork:
    """Cut the ways into segments at junctions (nodes used by more than one way, or twice by one) and way ends."""
    all_refs = np.frombuffer(w.refs, dtype=np.int64)
    lengths = np.frombuffer(w.lengths, dtype=np.int64)
    n_ways = len(lengths)
    uniq, first, inverse, counts = np.unique(all_refs, return_index=True, return_inverse=True, return_counts=True)
    node_x, node_y = to_bng(np.frombuffer(w.lons, dtype=np.float64)[first],
                            np.frombuffer(w.lats, dtype=np.float64)[first])
    w.lons, w.lats = array("d"), array("d")  # free every way's coordinates (GBs on a national extract)
    del first
    node_x, node_y = np.asarray(node_x), np.asarray(node_y)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    is_node = counts > 1
    is_node[inverse[starts[:-1]]] = True
    is_node[inverse[starts[1:] - 1]] = True
    cut = np.flatnonzero(is_node[inverse])
    way_of = np.repeat(np.arange(n_ways, dtype=np.int64), lengths)
    c0, c1 = cut[:-1], cut[1:]
    keep = way_of[c0] == way_of[c1]
    c0, c1 = c0[keep], c1[keep]
    keep = ~((inverse[c0] == inverse[c1]) & (c1 - c0 < 2))
    c0, c1 = c0[keep], c1[keep]
    del cut, keep
    seg_way = way_of[c0]
    del way_of
    n_pts = c1 - c0 + 1
    ptr = np.concatenate([[0], np.cumsum(n_pts)]).astype(np.int64)
    vert = inverse[np.repeat(c0 - ptr[:-1], n_pts) + np.arange(int(ptr[-1]), dtype=np.int64)]
    ow = np.frombuffer(w.oneway, dtype=np.int8)[seg_way]
    a, b = inverse[c0], inverse[c1]
    del inverse
    used, relabel = np.unique(np.concatenate([a, b]), return_inverse=True)  # graph nodes only
    a, b = relabel[: len(a)], relabel[len(a):]
    return RawNetwork(
        node_id=uniq[used], node_x=node_x[used], node_y=node_y[used],
        seg_a=a.astype(np.int64), seg_b=b.astype(np.int64), seg_ptr=ptr, seg_x=node_x[vert], seg_y=node_y[vert],
        seg_fwd_ok=ow >= 0, seg_bwd_ok=ow <= 0,
        seg_highway=_tag_names(w.hw_codes)[_codes(w.highway)[seg_way]],
        seg_maxspeed=_tag_names(w.ms_codes)[_codes(w.maxspeed)[seg_way]],
    )


def _tag_names(codes: dict[Any, int]) -> np.ndarray:
    """Tag values by code (the inverse of a ``{value: code}`` table)."""
    names = np.empty(len(codes), dtype=object)
    for name, code in codes.items():
        names[code] = name
    return names


def _codes(values: array[int]) -> np.ndarray:
    """An ``array("l")`` of codes as numpy (its item size depends on the platform)."""
    return np.frombuffer(values, dtype=np.int64 if values.itemsize == 8 else np.int32)


def read_graphml(path: Path, mode: str) -> RawNetwork:
    """Road segments from an osmnx GraphML file (``.graphml`` or ``.graphml.gz``; :func:`raw_from_graph`)."""
    import osmnx as ox  # deferred: osmnx is loaded only to read GraphML

    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                G = ox.load_graphml(graphml_str=fh.read())
        else:
            G = ox.load_graphml(path)
    except (OSError, ValueError, KeyError, SyntaxError, Exception) as exc:
        raise NetworkBuildError(f"{path}: not a readable osmnx GraphML file ({exc.__class__.__name__}: {exc})") from None
    return raw_from_graph(G, mode, str(path))


def raw_from_graph(G: Any, mode: str, where: str) -> RawNetwork:
    """Road segments from an osmnx ``MultiDiGraph`` (in memory or read from GraphML)."""
    if G.number_of_edges() == 0:
        raise NetworkBuildError(f"{where}: the graph has no edges")
    node_id, node_x, node_y, tr = _graph_nodes(G)
    segs = _graph_segments(G, mode, {int(n): i for i, n in enumerate(node_id)}, tr, node_x, node_y)
    if not segs.a:
        raise NetworkBuildError(f"{where}: no edges usable for mode {mode!r}")
    ptr = np.concatenate([[0], np.cumsum([len(g) for g in segs.geoms])]).astype(np.int64)
    flat = np.concatenate(segs.geoms)
    # snap geometry ends exactly onto their nodes
    a = np.asarray(segs.a)
    b = np.asarray(segs.b)
    flat[ptr[:-1], 0], flat[ptr[:-1], 1] = node_x[a], node_y[a]
    flat[ptr[1:] - 1, 0], flat[ptr[1:] - 1, 1] = node_x[b], node_y[b]
    lengths = np.asarray(segs.lengths)
    return RawNetwork(
        node_id=node_id, node_x=node_x, node_y=node_y, seg_a=a, seg_b=b, seg_ptr=ptr,
        seg_x=flat[:, 0].copy(), seg_y=flat[:, 1].copy(), seg_fwd_ok=np.asarray(segs.fwd),
        seg_bwd_ok=np.asarray(segs.bwd), seg_highway=np.asarray(segs.highway, dtype=object),
        seg_maxspeed=np.asarray(segs.maxspeed, dtype=object),
        seg_length=np.where(np.isfinite(lengths), lengths, np.nan),
    )


def _graph_nodes(G: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """A graph's node ids (sorted), their coordinates in EPSG:27700, and the transformer from the graph's CRS."""
    from pyproj import CRS, Transformer  # deferred: pyproj is loaded only for graphs

    nodes = list(G.nodes)
    node_id = np.asarray(nodes, dtype=np.int64)
    order = np.argsort(node_id)
    xs = np.asarray([G.nodes[n]["x"] for n in nodes], dtype=float)[order]
    ys = np.asarray([G.nodes[n]["y"] for n in nodes], dtype=float)[order]
    tr = Transformer.from_crs(CRS.from_user_input(G.graph.get("crs", "epsg:4326")), settings.crs, always_xy=True)
    nx_, ny_ = tr.transform(xs, ys)
    return node_id[order], np.asarray(nx_), np.asarray(ny_), tr


@dataclass
class _GraphSegments:
    """Segments gathered from a graph's edges, one list entry each."""

    a: list[int] = field(default_factory=list)
    b: list[int] = field(default_factory=list)
    fwd: list[bool] = field(default_factory=list)
    bwd: list[bool] = field(default_factory=list)
    highway: list[str] = field(default_factory=list)
    maxspeed: list[Any] = field(default_factory=list)
    lengths: list[float] = field(default_factory=list)
    geoms: list[np.ndarray] = field(default_factory=list)


def _graph_segments(G: Any, mode: str, pos: dict[int, int], tr: Any, node_x: np.ndarray, node_y: np.ndarray
                    ) -> _GraphSegments:
    """The edges the mode may use, opposite directed edges that share a geometry paired into one segment."""
    rule = WAY_RULES[mode]
    seen: dict[tuple[int, int, float], int] = {}
    out = _GraphSegments()
    for u, v, d in G.edges(data=True):
        if u == v:
            continue
        highway = d.get("highway", "")
        h0 = highway[0] if isinstance(highway, list) else str(highway)
        if mode == "drive":
            if h0 in _NEVER or h0 == "bus_guideway":
                continue
        elif (not rule({"highway": h0}) and h0 not in _DRIVE) or h0.startswith("motorway"):
            continue
        iu, iv = pos[int(u)], pos[int(v)]
        length = float(d.get("length", np.nan))
        key = (min(iu, iv), max(iu, iv), round(length, 1))
        if key in seen:
            s = seen[key]
            if out.a[s] == iu:
                out.fwd[s] = True
            else:
                out.bwd[s] = True
            continue
        geom = d.get("geometry")
        if geom is not None:
            coords = np.asarray(geom.coords)
            gx, gy = tr.transform(coords[:, 0], coords[:, 1])
        else:
            gx, gy = np.array([node_x[iu], node_x[iv]]), np.array([node_y[iu], node_y[iv]])
        seen[key] = len(out.a)
        out.a.append(iu)
        out.b.append(iv)
        out.fwd.append(True)
        out.bwd.append(mode != "drive")
        out.highway.append(h0)
        out.maxspeed.append(d.get("maxspeed"))
        out.lengths.append(length)
        out.geoms.append(np.column_stack([gx, gy]))
    return out


def overpass_filter(mode: str) -> str:
    """The Overpass way filter that fetches what :data:`WAY_RULES` may keep for ``mode`` (the rules then decide)."""
    if mode == "drive":
        classes = "|".join(sorted(_DRIVE))
        return (f'["highway"~"^({classes})$"]["area"!~"^yes$"]["access"!~"^(no|private)$"]'
                '["motor_vehicle"!~"^(no|private)$"]["motorcar"!~"^(no|private)$"]')
    return '["highway"]["area"!~"^yes$"]'


def osm_json_to_xml(responses: Any, path: Path) -> int:
    """Write Overpass JSON answers as one OSM XML file (nodes, then ways); returns the number of ways."""
    from xml.sax.saxutils import quoteattr

    nodes: dict[int, tuple[float, float]] = {}
    ways: dict[int, tuple[list[int], dict[str, str]]] = {}
    for resp in responses:
        for el in resp.get("elements", []):
            if el.get("type") == "node":
                nodes[int(el["id"])] = (float(el["lat"]), float(el["lon"]))
            elif el.get("type") == "way":
                ways[int(el["id"])] = ([int(n) for n in el.get("nodes", [])], dict(el.get("tags", {})))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="iot-geo">\n')
        for nid in sorted(nodes):
            lat, lon = nodes[nid]
            fh.write(f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        for wid in sorted(ways):
            refs, tags = ways[wid]
            fh.write(f'<way id="{wid}" version="1">')
            fh.write("".join(f'<nd ref="{r}"/>' for r in refs))
            fh.write("".join(f"<tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>" for k, v in tags.items()))
            fh.write("</way>\n")
        fh.write("</osm>\n")
    return len(ways)
