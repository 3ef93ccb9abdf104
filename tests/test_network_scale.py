"""Real-scale networks: found by name, one-way-aware snapping, honest coverage (issue 12)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from iot_geo import DataNotFoundError
from iot_geo.network import available_networks, find_network, list_networks, load_network

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iot_geo", *args], capture_output=True, text=True, timeout=300, **kw)


# ------------------------------------------------------------------ networks by name
def test_find_network_by_name_stem_and_path(data_dir, tmp_path, monkeypatch):
    pbf = data_dir / "osm" / "rutland-2022-07-20.osm.pbf"
    assert find_network("rutland-2022-07-20.osm.pbf") == pbf
    assert find_network("rutland-2022-07-20") == pbf  # a known file ending is added
    assert find_network("chester-20230816-small_gtfs.zip", "transit") == data_dir / "gtfs" / "chester-20230816-small_gtfs.zip"
    # a path still works, relative to the working folder
    monkeypatch.chdir(data_dir)
    assert find_network(Path("osm/westminster-2024-drive.graphml.gz")) == Path("osm/westminster-2024-drive.graphml.gz")
    # the data directory comes first: a file of the same name in the working folder is not taken
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rutland-2022-07-20.osm.pbf").write_bytes(b"not this one")
    assert find_network("rutland-2022-07-20.osm.pbf") == pbf


def test_unknown_network_lists_what_is_there(data_dir):
    with pytest.raises(DataNotFoundError) as e:
        load_network("rutland-1999.osm.pbf")
    msg = str(e.value)
    assert "rutland-1999.osm.pbf" in msg and str(data_dir / "osm") in msg
    for p in (data_dir / "osm").glob("*.pbf"):
        assert p.name in msg
    with pytest.raises(DataNotFoundError, match=r"chester-20230816-small_gtfs\.zip"):
        find_network("nowhere.zip", "transit")


def test_load_network_by_name_equals_by_path(data_dir):
    by_name = load_network("leeds-its-example-2020.osm.pbf", cache=False)
    by_path = load_network(data_dir / "osm" / "leeds-its-example-2020.osm.pbf", cache=False)
    assert by_name.n_nodes == by_path.n_nodes and by_name.n_edges == by_path.n_edges
    assert by_name.source["file_sha256"] == by_path.source["file_sha256"]


def test_list_networks_reports_cache_and_header(data_dir):
    names = {p.name for p in available_networks()}
    assert {"rutland-2022-07-20.osm.pbf", "cambridge-2020-drive.graphml.gz", "gm-rail-gtfs.zip"} <= names
    net = load_network("leeds-its-example-2020.osm.pbf", mode="walk")
    df = list_networks().set_index("name")
    row = df.loc["leeds-its-example-2020.osm.pbf"]
    assert "walk" in row["cached"] and row["modes"] == ["drive", "cycle", "walk"]
    assert row["bounds"] == [-1.5612, 53.8063, -1.5498, 53.8093]  # the pbf header's box (PROVENANCE.md)
    assert df.loc["rutland-2022-07-20.osm.pbf", "data_date"] == "2022-07-20T20:21:45Z"
    assert df.loc["gm-rail-gtfs.zip", "modes"] == ["transit"]
    # nodes of the cached build: the first cached mode of drive, cycle, walk
    first = next(m for m in ("drive", "cycle", "walk") if m in row["cached"])
    assert row["nodes"] == load_network("leeds-its-example-2020.osm.pbf", mode=first).n_nodes
    assert net.n_nodes > 0


def test_networks_command_json(data_dir):
    r = run("networks", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = {d["name"]: d for d in json.loads(r.stdout)}
    assert rows["rutland-2018-02-27.osm.pbf"]["data_date"] == "2018-02-27T21:43:02Z"
    assert rows["chester-20230816-small_gtfs.zip"]["folder"] == "gtfs"


def test_readme_network_names_resolve(data_dir):
    """Every --network / --gtfs in the README's command table is found in the data directory as written."""
    text = (REPO / "README.md").read_text()
    commands = re.findall(r"^\| `[a-z -]+` \| `(iot-geo [^`]+)`", text, flags=re.M)
    assert len(commands) >= 10
    seen = 0
    for cmd in commands:
        args = shlex.split(cmd)
        for flag, mode in (("--network", "drive"), ("--gtfs", "transit")):
            if flag in args:
                name = args[args.index(flag) + 1]
                assert find_network(name, mode).parent.parent == data_dir, cmd
                seen += 1
    assert seen >= 8


def test_catchment_command_by_name(data_dir, tmp_path):
    r = run("catchment", "--network", "rutland-2022-07-20.osm.pbf", "--minutes", "10", "--site",
            "Oakham=52.6707,-0.7270", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["people"] > 10_000
    bad = run("catchment", "--network", "rutlnd.osm.pbf", "--minutes", "10", "--site", "Oakham=52.6707,-0.7270",
              cwd=tmp_path)
    assert bad.returncode == 2 and "rutland-2022-07-20.osm.pbf" in bad.stderr and "Traceback" not in bad.stderr


# ------------------------------------------------------------------ one-way rules when snapping
def bng_sites(**pts):
    import geopandas as gpd
    from shapely.geometry import Point

    return gpd.GeoDataFrame({"site_id": list(pts)}, geometry=[Point(*p) for p in pts.values()], crs=27700)


def _square_with_spur():
    """A 1 km square of two-way roads 0-1-2-3 and a one-way spur 1 -> 4 that ends 600 m east of 1."""
    from helpers import X0, Y0, km_per_minute, raw_network

    nodes = {0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 1000, Y0 + 1000), 3: (X0, Y0 + 1000), 4: (X0 + 1600, Y0)}
    segs = [(0, 1, True, True), (1, 2, True, True), (2, 3, True, True), (3, 0, True, True), (1, 4, True, False)]
    return km_per_minute(raw_network(nodes, segs)), X0, Y0


def test_one_way_dead_end_is_not_joined_by_an_origin():
    import geopandas as gpd
    from shapely.geometry import Point

    from iot_geo.catchment import times_to_points

    net, X0, Y0 = _square_with_spur()
    site = bng_sites(corner=(X0, Y0 + 1000))  # node 3
    home = gpd.GeoDataFrame(geometry=[Point(X0 + 1500, Y0 + 50)], crs=27700)  # 50 m from the spur
    spur = int(np.flatnonzero((net.seg_a == 1) & (net.seg_b == 4))[0])
    assert net.snap(np.array([X0 + 1500.0]), np.array([Y0 + 50.0]))["seg"].iloc[0] == spur
    assert not net.snap_mask("origin")[spur] and net.snap_mask("destination")[spur]
    # to the site: the home starts on the road 1-2 500 m away (5 min on foot at 6 km/h), 50 m up it,
    # then 950 m to 2 and 1 km to 3: 5 + 0.95 + 1 = 6.95 minutes (not unreachable through the spur)
    t = times_to_points(net, home, site, max_minutes=60)
    assert t["corner"].iloc[0] == pytest.approx(6.95) and t["snap_m"].iloc[0] == pytest.approx(500.0)
    # from the site the spur can be driven: 1 km to 0... 3 -> 0 -> 1 is 2 km, 0.5 km along the spur, 0.5 min walk
    f = times_to_points(net, home, site, max_minutes=60, direction="from_site")
    assert f["corner"].iloc[0] == pytest.approx(2.0 + 0.5 + 0.5) and f["snap_m"].iloc[0] == pytest.approx(50.0)


def test_a_site_on_a_one_way_dead_end_joins_a_road_it_can_be_reached_by():
    from iot_geo.catchment import travel_times

    net, X0, Y0 = _square_with_spur()
    site = bng_sites(s=(X0 + 1500, Y0 + 50))
    to = travel_times(net, site, max_minutes=60)  # homes drive to it: the spur leads there, so it is used
    assert to.sites["snap_m"].iloc[0] == pytest.approx(50.0)
    assert to.per_site[0, 0] == pytest.approx(1.0 + 0.5 + 0.5)  # node 0 -> 1 -> half the spur -> walk
    frm = travel_times(net, site, max_minutes=60, direction="from_site")  # driving away needs a road back
    assert frm.sites["snap_m"].iloc[0] == pytest.approx(500.0)
    assert frm.per_site[0, 3] == pytest.approx(5.0 + 0.95 + 1.0)


def test_rutland_random_origins_all_reach_a_site(data_dir):
    """500 origins near Rutland's roads all reach Oakham (some used to join cut one-way trunk carriageways)."""
    import geopandas as gpd
    import shapely

    from iot_geo.catchment import times_to_points

    net = load_network("rutland-2022-07-20.osm.pbf")
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = net.bounds
    x, y = rng.uniform(x0, x1, 5000), rng.uniform(y0, y1, 5000)
    near = np.flatnonzero(net.snap(x, y, max_distance=300.0)["seg"].to_numpy() >= 0)[:500]
    assert len(near) == 500
    pts = gpd.GeoSeries(shapely.points(x[near], y[near]), crs=27700)
    t = times_to_points(net, pts, {"Oakham": (52.6707, -0.7270)}, max_minutes=240)
    assert t["minutes"].notna().all()
    # and every joined segment leads to the main strongly connected part, checked with networkx
    import networkx as nx

    G = net.to_networkx()
    main = max(nx.strongly_connected_components(G), key=len)
    seg = net.snap(x[near], y[near], role="origin")["seg"].to_numpy()
    ends = [int(net.seg_b[s]) if net.seg_fwd[s] >= 0 else int(net.seg_a[s]) for s in seg]
    anchor = next(iter(main))
    assert all(nx.has_path(G, e, anchor) for e in set(ends))
