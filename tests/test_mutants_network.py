"""Mutant-killing tests for iot_geo.network (issue 18): listing and finding networks in a data directory,
building from small OSM and GraphML files written here, the cache, and load_network's argument checks."""

from __future__ import annotations

import gzip

import networkx as nx
import numpy as np
import pytest

from iot_geo import DataNotFoundError, InvalidInputError, NetworkBuildError
from iot_geo.network import (
    as_network,
    available_networks,
    find_network,
    list_networks,
    load_network,
    load_road_network,
)
from iot_geo.osm import osm_json_to_xml

LAT0, LON0 = 52.67, -0.72


def small_osm(path):
    """A residential square about 140 m across (four nodes, four ways) and a footway spur."""
    els = [{"type": "node", "id": i, "lat": LAT0 + dy, "lon": LON0 + dx}
           for i, (dx, dy) in enumerate([(0, 0), (0.002, 0), (0.002, 0.00125), (0, 0.00125), (0.004, 0)], start=1)]
    els += [{"type": "way", "id": 10 + k, "nodes": [a, b], "tags": {"highway": "residential"}}
            for k, (a, b) in enumerate([(1, 2), (2, 3), (3, 4), (4, 1)])]
    els += [{"type": "way", "id": 20, "nodes": [2, 5], "tags": {"highway": "footway"}}]
    osm_json_to_xml([{"elements": els}], path)
    return path


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data directory: osm/ with two OSM files, a GraphML file, a hidden file and a text file; gtfs/ with a
    feed folder, a zip and a text file; and an empty cache."""
    root = tmp_path / "data"
    (root / "osm").mkdir(parents=True)
    small_osm(root / "osm" / "town.osm")
    small_osm(root / "osm" / "b[1].osm")
    (root / "osm" / "g.graphml").write_text('<?xml version="1.0"?><graphml><key id="d0" for="graph" '
                                            'attr.name="created_date"/><graph><data key="d0">2023-05-06 07:08:09'
                                            "</data></graph></graphml>")
    (root / "osm" / ".hidden.osm").write_text("x")
    (root / "osm" / "notes.txt").write_text("x")
    (root / "gtfs" / "feed").mkdir(parents=True)
    (root / "gtfs" / "bus.zip").write_bytes(b"PK")
    (root / "gtfs" / "readme.txt").write_text("x")
    monkeypatch.setenv("IOT_GEO_DATA", str(root))
    monkeypatch.setenv("IOT_GEO_CACHE", str(tmp_path / "cache"))
    return root


def test_available_networks_by_folder(data):
    osm = [data / "osm" / n for n in ("b[1].osm", "g.graphml", "town.osm")]
    gtfs = [data / "gtfs" / n for n in ("bus.zip", "feed")]
    assert available_networks("drive") == osm and available_networks("walk") == osm
    assert available_networks("transit") == gtfs
    assert available_networks() == osm + gtfs
    assert available_networks(data_dir=data / "nowhere") == []


def test_find_network_by_name_suffix_path_and_the_error(data, tmp_path):
    assert find_network("town.osm") == data / "osm" / "town.osm"
    assert find_network("town") == data / "osm" / "town.osm"
    assert find_network("g") == data / "osm" / "g.graphml"
    assert find_network("bus", "transit") == data / "gtfs" / "bus.zip"
    assert find_network("feed", "transit") == data / "gtfs" / "feed"  # a feed may be a folder
    elsewhere = small_osm(tmp_path / "elsewhere.osm")
    assert find_network(elsewhere) == elsewhere and find_network(str(elsewhere), "walk") == elsewhere
    with pytest.raises(DataNotFoundError) as e:
        find_network("nope")
    assert str(e.value) == (f"network 'nope' not found in {data / 'osm'} nor as a path; networks there: b[1].osm, "
                            "g.graphml, town.osm. Give a file name from that list, a path, or --data-dir for another "
                            "data directory")
    with pytest.raises(DataNotFoundError, match=r"networks there: bus\.zip, feed\. Give"):
        find_network("town", "transit")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match=r"networks there: none \(the folder .*empty/osm is empty or missing\)"):
        find_network("town", data_dir=empty)
    (data / "osm" / "dir.osm").mkdir()
    with pytest.raises(DataNotFoundError):
        find_network("dir")  # a folder is not a road network file


def test_list_networks_before_and_after_a_cached_build(data):
    before = list_networks()
    assert list(before.columns) == ["name", "folder", "modes", "nodes", "bounds", "data_date", "cached"]
    assert before["name"].tolist() == ["b[1].osm", "g.graphml", "town.osm", "bus.zip", "feed"]
    assert before["folder"].tolist() == ["osm", "osm", "osm", "gtfs", "gtfs"]
    assert before["modes"].tolist() == [["drive", "cycle", "walk"], ["drive"], ["drive", "cycle", "walk"],
                                        ["transit"], ["transit"]]
    assert before["cached"].tolist() == [[], [], [], [], []]
    assert before["nodes"].isna().all() and before["bounds"].isna().all()
    assert before["data_date"].tolist()[1] == "2023-05-06 07:08:09"
    walk = load_network("town", mode="walk")
    assert walk.n_nodes == 5 and walk.source["file"] == "town.osm" and walk.source["format"] == "osm"
    drive = load_network("town")
    assert drive.n_nodes == 4
    after = list_networks().set_index("name")
    assert after.loc["town.osm", "cached"] == ["drive", "walk"]
    assert after.loc["town.osm", "nodes"] == 4  # the drive build comes first
    assert after.loc["town.osm", "bounds"] == pytest.approx([LON0, LAT0, LON0 + 0.002, LAT0 + 0.00125], abs=2e-4)
    assert after.loc["b[1].osm", "cached"] == []  # another file: its name is not a glob for town's entries
    assert load_network("town").source["cached"] is True
    assert list_networks(data_dir=data).equals(list_networks())


def test_list_networks_on_an_empty_data_directory(tmp_path):
    empty = list_networks(data_dir=tmp_path)
    assert len(empty) == 0 and list(empty.columns) == ["name", "folder", "modes", "nodes", "bounds", "data_date",
                                                       "cached"]


def test_load_network_argument_checks(data):
    with pytest.raises(InvalidInputError) as e:
        load_network("town", mode="drive", day="2024-01-02", arrive_by="09:00")
    assert str(e.value) == "options arrive_by, day apply to mode 'transit' only"
    with pytest.raises(InvalidInputError) as e:
        load_network((-0.8, 52.6, -0.7, 52.7), mode="transit")
    assert str(e.value) == "mode 'transit' takes a GTFS feed (zip or folder), not a bounding box"
    with pytest.raises(InvalidInputError) as e:
        load_road_network("town", mode="bus")
    assert str(e.value) == "unknown mode 'bus'; use one of drive, cycle, walk (or transit with a GTFS feed)"
    with pytest.raises(DataNotFoundError):
        load_network("missing.osm.pbf")  # looks like a file: never taken for a place name
    with pytest.raises(DataNotFoundError):
        load_network("folder/missing")


def test_load_network_of_a_graph_and_of_a_compressed_graphml(data, tmp_path):
    import osmnx as ox

    G = nx.MultiDiGraph(crs="epsg:27700", created_date="2021-01-01")
    G.add_node(1, x=480_000.0, y=300_000.0)
    G.add_node(2, x=481_000.0, y=300_000.0)
    G.add_edge(1, 2, highway="residential", length=1000.0, osmid=5)
    G.add_edge(2, 1, highway="residential", length=1000.0, osmid=5)
    net = load_network(G, mode="drive", speeds=60.0)
    assert net.n_nodes == 2 and net.source == {"file": "osmnx graph in memory", "format": "networkx",
                                               "cached": False, "data_date": "2021-01-01",
                                               "components": 1, "main_component_nodes": 2}
    assert net.edge_minutes.tolist() == pytest.approx([1.0, 1.0])
    path = tmp_path / "g.graphml"
    ox.save_graphml(G, path)
    gz = tmp_path / "g.graphml.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    a, b = load_network(path, speeds=60.0, cache=False), load_network(gz, speeds=60.0, cache=False)
    assert a.source["format"] == b.source["format"] == "graphml"
    assert a.edge_minutes.tolist() == b.edge_minutes.tolist() == pytest.approx([1.0, 1.0])
    bad = tmp_path / "roads.osm"
    bad.write_text("no roads here")
    with pytest.raises(NetworkBuildError):
        load_network(bad, cache=False)


def line_graph(**graph_attrs) -> nx.MultiDiGraph:
    """Two nodes 1 km apart in EPSG:27700 joined both ways by a residential road."""
    G = nx.MultiDiGraph(crs="epsg:27700", **graph_attrs)
    G.add_node(1, x=480_000.0, y=300_000.0)
    G.add_node(2, x=481_000.0, y=300_000.0)
    G.add_edge(1, 2, highway="residential", length=1000.0, osmid=5)
    G.add_edge(2, 1, highway="residential", length=1000.0, osmid=5)
    return G


def test_network_views_of_a_one_km_road():
    net = load_network(line_graph(created_date="2021-01-01"), speeds=60.0)
    G = net.to_networkx()
    assert sorted((u, v, d["minutes"]) for u, v, d in G.edges(data=True)) == [(0, 1, 1.0), (1, 0, 1.0)]
    (line,) = net.segment_geometries(np.array([0]))
    assert list(line.coords) == [(480_000.0, 300_000.0), (481_000.0, 300_000.0)]
    assert net.grid_margin(100.0) == pytest.approx(1.05 * 100.0 / (net.speeds.access_kmh * 1000.0 / 60.0))
    assert net.summary()["bounds"] == net.bounds == (480_000.0, 300_000.0, 481_000.0, 300_000.0)
    html = net._repr_html_()
    assert "<th style='text-align:left'>data date</th><td>2021-01-01</td>" in html
    assert "<td>60 km/h</td>" in html and "<th style='text-align:left'>from cache</th><td>False</td>" in html
    with pytest.raises(NetworkBuildError) as e:
        load_network(nx.MultiDiGraph(crs="epsg:27700"))
    assert str(e.value) == "the osmnx graph: the graph has no edges"
    assert as_network(line_graph()).n_nodes == 2  # a graph in memory is built
    assert as_network(net) is net


def test_a_cached_network_keeps_its_source(data):
    first = load_network("town")
    again = load_network("town")
    assert again.source["cached"] is True and first.source["cached"] is False
    assert again.source["file"] == "town.osm" and again.source["file_sha256"] == first.source["file_sha256"]
    assert again.source["format"] == "osm"


def test_a_graphml_file_is_recognised_by_its_content(data, tmp_path):
    import osmnx as ox

    path = tmp_path / "roads.data"
    ox.save_graphml(line_graph(), path)
    net = load_network(path, speeds=60.0, cache=False)
    assert net.source["format"] == "graphml" and net.n_nodes == 2


def test_speeds_given_to_load_network_are_checked(data):
    from iot_geo.speeds import Speeds

    with pytest.raises(InvalidInputError) as e:
        load_network("town", speeds=Speeds("walk"))
    assert str(e.value) == "speeds are for mode 'walk', the network is 'drive'"
    with pytest.raises(InvalidInputError) as e:
        load_network("town", speeds={"residential": (30, 300)})
    assert str(e.value) == "speeds['residential'] must be (urban km/h, rural km/h) within 0.5..200"
    assert load_network("town", speeds={"residential": (30, 60)}, cache=False).n_nodes == 4


def test_a_feed_is_found_in_the_gtfs_folder(data):
    from test_transit import write_feed

    write_feed(data / "gtfs" / "line", [("t1", "S1", [("A", 500), ("B", 510)])])
    net = load_network("line", mode="transit", day="2024-03-05")
    assert net.mode == "transit" and net.source["file"] == "line" and net.source["day"] == "2024-03-05"


def test_a_saved_network_reopens_as_it_was(data):
    from iot_geo.network import reopen_network

    net = load_network("town")
    kind, path, speeds, options = net.file_ref()
    assert kind == "npz" and options == () and speeds == net.speeds
    assert net.saved_file().is_file() and str(net.saved_file().resolve()) == path
    again = reopen_network(kind, path, speeds=speeds)
    assert again.n_nodes == net.n_nodes and again.edge_minutes.tolist() == net.edge_minutes.tolist()
    assert again.source["cached"] is True
    with pytest.raises(InvalidInputError, match=r"a saved road network \(drive-[0-9a-f]+\.npz\) reopens only with its speeds"):
        reopen_network("npz", path)  # a road network needs its speeds


def test_each_segment_gets_the_speed_of_its_own_limit_class_and_setting():
    from helpers import raw_network

    from iot_geo.network import TravelNetwork
    from iot_geo.speeds import Speeds, parse_maxspeed_kmh, road_class

    # five 2 km segments on a line, 2 km apart (rural), each with its own class and limit
    tags = [("primary", None), ("primary", "20 mph"), ("primary", "40 mph"), ("residential", "60 mph"),
            ("residential", None)]
    nodes = {i: (480_000.0 + 2000 * i, 300_000.0) for i in range(len(tags) + 1)}
    raw = raw_network(nodes, [(i, i + 1, True, True, None, hw, ms) for i, (hw, ms) in enumerate(tags)])
    for speeds in (Speeds("drive"), Speeds("drive", free_flow=True)):
        net = TravelNetwork.from_raw(raw, mode="drive", speeds=speeds)
        for i, (hw, ms) in enumerate(tags):
            cls = road_class(hw)
            limit = parse_maxspeed_kmh(ms, cls)
            urban = limit is not None and limit <= 30 * 1.609344 + 0.5  # untagged: rural, 2 km between junctions
            kmh = speeds.edge_kmh(cls, limit, urban)
            got = net.edge_minutes[net.seg_fwd[i]]
            assert got == pytest.approx(2.0 / kmh * 60.0), (hw, ms, speeds.free_flow)
