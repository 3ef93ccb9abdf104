"""Mutant-killing tests for iot_geo.osm (issue 18): way rules, one-way rules, splitting at junctions,
Overpass JSON to OSM XML, and osmnx graphs (in memory and GraphML), on small files written here by hand."""

from __future__ import annotations

import gzip

import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString

from iot_geo.errors import NetworkBuildError
from iot_geo.geo import to_bng
from iot_geo.osm import WAY_RULES, osm_json_to_xml, overpass_filter, raw_from_graph, read_graphml, read_osm_file

# (tags, drive, cycle, walk), each worked out from the documented rules
RULES = [
    ({"highway": "residential"}, True, True, True),
    ({"highway": "service"}, True, True, True),
    ({"highway": "service", "service": "emergency_access"}, False, True, True),
    ({"highway": "primary", "access": "private"}, False, False, False),
    ({"highway": "primary", "access": "yes"}, True, True, True),
    ({"highway": "primary", "motor_vehicle": "no"}, False, True, True),
    ({"highway": "primary", "motorcar": "private"}, False, True, True),
    ({"highway": "pedestrian", "area": "yes"}, False, False, False),
    ({"highway": "service", "area": "yes"}, False, False, False),
    ({"highway": "service", "area": "no"}, True, True, True),
    ({"highway": "footway"}, False, False, True),
    ({"highway": "footway", "bicycle": "designated"}, False, True, True),
    ({"highway": "cycleway"}, False, True, False),
    ({"highway": "cycleway", "foot": "yes"}, False, True, True),
    ({"highway": "steps"}, False, False, True),
    ({"highway": "motorway"}, True, False, False),
    ({"highway": "motorway", "bicycle": "yes", "foot": "designated"}, True, False, False),
    ({"highway": "motorway_link", "foot": "permissive"}, True, False, False),
    ({"highway": "track", "access": "private"}, False, False, False),
    ({"highway": "track", "access": "no", "bicycle": "permissive", "foot": "yes"}, False, True, True),
    ({"highway": "track", "access": "no", "bicycle": "no"}, False, False, False),
    ({"highway": "residential", "bicycle": "private", "foot": "no"}, True, False, False),
    ({"highway": "construction"}, False, False, False),
    ({"highway": "elevator", "foot": "yes"}, False, False, False),
    ({"highway": "bus_guideway"}, False, False, False),
    ({}, False, False, False),
]


@pytest.mark.parametrize(("tags", "drive", "cycle", "walk"), RULES)
def test_way_rules_by_hand(tags, drive, cycle, walk):
    assert (WAY_RULES["drive"](tags), WAY_RULES["cycle"](tags), WAY_RULES["walk"](tags)) == (drive, cycle, walk)


def test_overpass_filters():
    assert overpass_filter("drive") == (
        '["highway"~"^(living_street|motorway|motorway_link|primary|primary_link|residential|road|secondary|'
        'secondary_link|service|tertiary|tertiary_link|trunk|trunk_link|unclassified)$"]["area"!~"^yes$"]'
        '["access"!~"^(no|private)$"]["motor_vehicle"!~"^(no|private)$"]["motorcar"!~"^(no|private)$"]')
    assert overpass_filter("walk") == overpass_filter("cycle") == '["highway"]["area"!~"^yes$"]'


LAT0, LON0 = 52.67, -0.72


def node(i: int, dlon: float = 0.0, dlat: float = 0.0) -> dict:
    return {"type": "node", "id": i, "lat": LAT0 + dlat, "lon": LON0 + dlon}


def way(i: int, nodes: list[int], **tags: str) -> dict:
    return {"type": "way", "id": i, "nodes": nodes, "tags": tags}


def test_osm_json_to_xml_writes_sorted_unique_escaped_xml(tmp_path):
    path = tmp_path / "a.osm"
    first = {"elements": [node(2, 0.001), node(1), way(20, [1, 2], highway="residential", name='A "B" & <C>')]}
    second = {"elements": [node(1), way(10, [2, 1], highway="service"), {"type": "relation", "id": 5},
                           {"type": "way", "id": 30, "nodes": [1, 2]}]}
    assert osm_json_to_xml([first, second, {}], path) == 3
    assert path.read_text(encoding="utf-8") == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="iot-geo">\n'
        '<node id="1" version="1" lat="52.6700000" lon="-0.7200000"/>\n'
        '<node id="2" version="1" lat="52.6700000" lon="-0.7190000"/>\n'
        '<way id="10" version="1"><nd ref="2"/><nd ref="1"/><tag k="highway" v="service"/></way>\n'
        '<way id="20" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/>'
        '<tag k="name" v=\'A "B" &amp; &lt;C&gt;\'/></way>\n'
        '<way id="30" version="1"><nd ref="1"/><nd ref="2"/></way>\n'
        '</osm>\n')


ONEWAY = [  # (tags, forward, backward) for driving
    ({"highway": "residential", "oneway": "yes"}, True, False),
    ({"highway": "residential", "oneway": "TRUE"}, True, False),
    ({"highway": "residential", "oneway": "1"}, True, False),
    ({"highway": "residential", "oneway": "-1"}, False, True),
    ({"highway": "residential", "oneway": "reverse"}, False, True),
    ({"highway": "motorway", "oneway": "no"}, True, True),
    ({"highway": "motorway", "oneway": "false"}, True, True),
    ({"highway": "motorway", "oneway": "0"}, True, True),
    ({"highway": "primary", "junction": "roundabout"}, True, False),
    ({"highway": "primary", "junction": "circular"}, True, False),
    ({"highway": "motorway"}, True, False),
    ({"highway": "motorway_link"}, True, False),
    ({"highway": "residential", "oneway": "alternating"}, True, True),
    ({"highway": "residential"}, True, True),
]


def test_read_osm_file_one_way_rules_tags_and_geometry(tmp_path):
    # one separate two-node way per case, 0.01 degrees apart, so none shares a node
    els = []
    for k, (tags, _, _) in enumerate(ONEWAY):
        els += [node(100 + 2 * k, dlat=0.01 * k), node(101 + 2 * k, 0.001, 0.01 * k),
                way(1 + k, [100 + 2 * k, 101 + 2 * k], **tags)]
    els[2]["tags"]["maxspeed"] = "20 mph"
    path = tmp_path / "oneway.osm"
    osm_json_to_xml([{"elements": els}], path)
    raw = read_osm_file(path, "drive")
    assert len(raw.seg_a) == len(ONEWAY)
    assert raw.seg_fwd_ok.tolist() == [f for _, f, _ in ONEWAY]
    assert raw.seg_bwd_ok.tolist() == [b for _, _, b in ONEWAY]
    assert raw.seg_highway.tolist() == [t["highway"] for t, _, _ in ONEWAY]
    assert raw.seg_maxspeed.tolist() == ["20 mph"] + [None] * (len(ONEWAY) - 1)
    assert raw.node_id.tolist() == list(range(100, 100 + 2 * len(ONEWAY)))
    x, y = to_bng(np.array([LON0, LON0 + 0.001]), np.array([LAT0, LAT0]))
    assert raw.node_x[:2].tolist() == pytest.approx(list(x)) and raw.node_y[:2].tolist() == pytest.approx(list(y))
    assert raw.seg_ptr.tolist() == list(range(0, 2 * len(ONEWAY) + 1, 2))
    assert raw.seg_length is None
    walk = read_osm_file(path, "walk")  # walking and cycling ignore one-way rules; motorways are not walked
    assert len(walk.seg_a) == len(ONEWAY) - 5 and walk.seg_fwd_ok.all() and walk.seg_bwd_ok.all()


def test_read_osm_file_splits_at_junctions_only(tmp_path):
    # way 1: 1-2-3-4 (east); way 2: 5-3 (from the north, meets way 1 at 3); way 3: 6-7-7-8 (a repeated node);
    # way 4: 9-10-11-9 (a loop: 9 used twice by one way); way 5: 1-12 with 12 missing from the file
    els = [node(1), node(2, 0.001), node(3, 0.002), node(4, 0.003), node(5, 0.002, 0.001),
           node(6, dlat=0.01), node(7, 0.001, 0.01), node(8, 0.002, 0.01),
           node(9, dlat=0.02), node(10, 0.001, 0.02), node(11, 0.001, 0.021),
           way(1, [1, 2, 3, 4], highway="residential"), way(2, [5, 3], highway="service"),
           way(3, [6, 7, 7, 8], highway="residential"), way(4, [9, 10, 11, 9], highway="residential"),
           way(5, [1, 12], highway="residential")]
    path = tmp_path / "j.osm"
    osm_json_to_xml([{"elements": els}], path)
    raw = read_osm_file(path, "drive")
    ids = raw.node_id.tolist()
    segs = [(ids[a], ids[b]) for a, b in zip(raw.seg_a, raw.seg_b, strict=True)]
    assert segs == [(1, 3), (3, 4), (5, 3), (6, 7), (7, 8), (9, 9)]
    assert ids == [1, 3, 4, 5, 6, 7, 8, 9]  # graph nodes only (2, 10 and 11 are inner vertices)
    assert np.diff(raw.seg_ptr).tolist() == [3, 2, 2, 2, 2, 4]
    x2, y2 = to_bng(np.array([LON0 + 0.001]), np.array([LAT0]))
    assert (raw.seg_x[1], raw.seg_y[1]) == pytest.approx((x2[0], y2[0]))  # the inner vertex of 1-3
    assert raw.seg_highway.tolist() == ["residential", "residential", "service", "residential", "residential",
                                        "residential"]


def test_read_osm_file_errors(tmp_path):
    path = tmp_path / "paths.osm"
    osm_json_to_xml([{"elements": [node(1), node(2, 0.001), way(1, [1, 2], highway="footway")]}], path)
    with pytest.raises(NetworkBuildError) as e:
        read_osm_file(path, "drive")
    assert str(e.value) == f"{path}: no ways usable for mode 'drive' (is this an OSM extract with roads?)"
    assert len(read_osm_file(path, "walk").seg_a) == 1
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><this is not xml")
    with pytest.raises(NetworkBuildError, match=r"bad\.osm: not a readable OpenStreetMap file \("):
        read_osm_file(bad, "drive")


def graph() -> nx.MultiDiGraph:
    """An osmnx-style graph in EPSG:27700: a two-way road 0-1 (a bent geometry), one-way 1-2, a footway 2-3,
    a bus guideway 0-3, a self-loop at 0 and a road 3-4 whose highway is a list."""
    G = nx.MultiDiGraph(crs="epsg:27700")
    for n, (x, y) in {10: (0, 0), 11: (300, 400), 12: (600, 400), 13: (600, 0), 14: (900, 0)}.items():
        G.add_node(n, x=float(x), y=float(y))
    bent = LineString([(0, 0), (0, 400), (300, 400)])
    G.add_edge(10, 11, highway="primary", length=700.0, geometry=bent, maxspeed="30 mph")
    G.add_edge(11, 10, highway="primary", length=700.0, geometry=LineString(bent.coords[::-1]), maxspeed="30 mph")
    G.add_edge(11, 12, highway="residential", length=300.0)
    G.add_edge(12, 13, highway="footway", length=400.0)
    G.add_edge(13, 12, highway="footway", length=400.0)
    G.add_edge(10, 13, highway="bus_guideway", length=600.0)
    G.add_edge(10, 10, highway="residential", length=50.0)
    G.add_edge(14, 13, highway=["tertiary", "residential"], length=300.04)
    return G


def test_raw_from_graph_drive_by_hand():
    raw = raw_from_graph(graph(), "drive", "g")
    ids = raw.node_id.tolist()
    assert ids == [10, 11, 12, 13, 14] and raw.node_x.tolist() == [0, 300, 600, 600, 900]
    segs = [(ids[a], ids[b]) for a, b in zip(raw.seg_a, raw.seg_b, strict=True)]
    # the footway is a road to a car here (osmnx graphs were already filtered by mode); the guideway never
    assert segs == [(10, 11), (11, 12), (12, 13), (14, 13)]
    assert raw.seg_fwd_ok.tolist() == [True, True, True, True]
    assert raw.seg_bwd_ok.tolist() == [True, False, True, False]  # opposite edges paired into one segment
    assert raw.seg_highway.tolist() == ["primary", "residential", "footway", "tertiary"]
    assert raw.seg_maxspeed.tolist() == ["30 mph", None, None, None]
    assert raw.seg_length.tolist() == [700.0, 300.0, 400.0, 300.04]
    assert raw.seg_ptr.tolist() == [0, 3, 5, 7, 9]
    assert raw.seg_x.tolist() == [0, 0, 300, 300, 600, 600, 600, 900, 600]
    assert raw.seg_y.tolist() == [0, 400, 400, 400, 400, 400, 0, 0, 0]


def test_parallel_edges_of_different_lengths_stay_two_segments():
    G = nx.MultiDiGraph(crs="epsg:27700")
    G.add_node(1, x=0.0, y=0.0)
    G.add_node(2, x=100.0, y=0.0)
    G.add_edge(1, 2, highway="residential", length=100.0)
    G.add_edge(1, 2, highway="residential", length=300.0, geometry=LineString([(0, 0), (50, 100), (100, 0)]))
    G.add_edge(2, 1, highway="residential", length=100.04)  # the first one's way back (same length to 0.1 m)
    raw = raw_from_graph(G, "drive", "g")
    assert raw.seg_length.tolist() == [100.0, 300.0]
    assert raw.seg_fwd_ok.tolist() == [True, True] and raw.seg_bwd_ok.tolist() == [True, False]


def test_raw_from_graph_walk_and_errors():
    raw = raw_from_graph(graph(), "walk", "g")
    ids = raw.node_id.tolist()
    segs = [(ids[a], ids[b]) for a, b in zip(raw.seg_a, raw.seg_b, strict=True)]
    assert segs == [(10, 11), (11, 12), (12, 13), (14, 13)]  # no guideway, no self-loop
    assert raw.seg_bwd_ok.all() and raw.seg_fwd_ok.all()
    G = graph()
    G.add_edge(12, 14, highway="motorway", length=10.0)
    assert len(raw_from_graph(G, "cycle", "g").seg_a) == 3  # neither the footway nor the motorway is cycled
    empty = nx.MultiDiGraph(crs="epsg:27700")
    empty.add_node(1, x=0.0, y=0.0)
    with pytest.raises(NetworkBuildError) as e:
        raw_from_graph(empty, "drive", "where.graphml")
    assert str(e.value) == "where.graphml: the graph has no edges"
    only = nx.MultiDiGraph(crs="epsg:27700")
    only.add_node(1, x=0.0, y=0.0)
    only.add_node(2, x=1.0, y=0.0)
    only.add_edge(1, 2, highway="bus_guideway", length=1.0)
    with pytest.raises(NetworkBuildError) as e:
        raw_from_graph(only, "drive", "there")
    assert str(e.value) == "there: no edges usable for mode 'drive'"


def test_raw_from_graph_in_lon_lat_snaps_geometry_ends_onto_nodes():
    G = nx.MultiDiGraph()  # no crs: EPSG:4326 assumed
    G.add_node(1, x=LON0, y=LAT0)
    G.add_node(2, x=LON0 + 0.01, y=LAT0)
    G.add_edge(1, 2, highway="residential", length=float("nan"),
               geometry=LineString([(LON0 + 1e-7, LAT0), (LON0 + 0.005, LAT0 + 0.001), (LON0 + 0.01, LAT0)]))
    raw = raw_from_graph(G, "drive", "g")
    x, y = to_bng(np.array([LON0, LON0 + 0.005, LON0 + 0.01]), np.array([LAT0, LAT0 + 0.001, LAT0]))
    assert raw.node_x.tolist() == pytest.approx([x[0], x[2]], abs=1e-6)
    assert raw.seg_x[0] == raw.node_x[0] and raw.seg_y[0] == raw.node_y[0]  # exactly on the node
    assert raw.seg_x[1] == pytest.approx(x[1], abs=1e-6) and raw.seg_y[1] == pytest.approx(y[1], abs=1e-6)
    assert np.isnan(raw.seg_length[0])


def test_read_graphml_plain_gzip_and_broken(tmp_path):
    import osmnx as ox

    G = graph()
    G.remove_edge(10, 10)
    for i, (*_, d) in enumerate(G.edges(data=True)):
        d["osmid"] = 1000 + i
    path = tmp_path / "g.graphml"
    ox.save_graphml(G, path)
    raw = read_graphml(path, "drive")
    assert raw.node_id.tolist() == [10, 11, 12, 13, 14] and raw.seg_bwd_ok.tolist() == [True, False, True, False]
    gz = tmp_path / "g.graphml.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_graphml(gz, "drive").seg_length.tolist() == raw.seg_length.tolist()
    bad = tmp_path / "bad.graphml"
    bad.write_text("not graphml")
    with pytest.raises(NetworkBuildError, match=r"bad\.graphml: not a readable osmnx GraphML file \(\w+: "):
        read_graphml(bad, "drive")
