"""Real-scale networks: found by name, one-way-aware snapping, honest coverage (issue 12)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
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
    inside = ~t["outside_network"]
    assert inside.sum() >= 470  # a few lie beyond the clipped edge of the extract: not timed, by design
    assert t.loc[inside, "minutes"].notna().all()  # 7 of these 475 were stuck before one-way rules applied
    # and every joined segment leads to the main strongly connected part, checked with networkx
    import networkx as nx

    G = net.to_networkx()
    main = max(nx.strongly_connected_components(G), key=len)
    seg = net.snap(x[near], y[near], role="origin")["seg"].to_numpy()
    ends = [int(net.seg_b[s]) if net.seg_fwd[s] >= 0 else int(net.seg_a[s]) for s in seg]
    anchor = next(iter(main))
    assert all(nx.has_path(G, e, anchor) for e in set(ends))


# ------------------------------------------------------------------ honest where the map ends
STAMFORD_CENTRE = (52.6520, -0.4800)
OAKHAM = (52.6707, -0.7270)


def _grid_network(size_km: int, hole: tuple[float, float, float, float] | None = None, keep: tuple = ()):
    """Two-way roads every 500 m over ``size_km`` km; roads with both ends inside ``hole`` (km) are left out
    except those listed in ``keep`` (pairs of node keys)."""
    from helpers import X0, Y0, km_per_minute, raw_network

    n = size_km * 2 + 1
    nodes = {(i, j): (X0 + 500.0 * i, Y0 + 500.0 * j) for i in range(n) for j in range(n)}

    def inside(k):
        return hole is not None and hole[0] <= k[0] / 2 <= hole[2] and hole[1] <= k[1] / 2 <= hole[3]

    segs = []
    for i in range(n):
        for j in range(n):
            for nb in ((i + 1, j), (i, j + 1)):
                if nb in nodes and (not (inside((i, j)) or inside(nb)) or ((i, j), nb) in keep):
                    segs.append(((i, j), nb, True, True))
    ids = {k: m for m, k in enumerate(sorted(nodes))}
    return km_per_minute(raw_network({ids[k]: v for k, v in nodes.items()},
                                     [(ids[a], ids[b], f, bw) for a, b, f, bw in segs])), X0, Y0


def test_clean_grid_flags_nothing_inside():
    from iot_geo.catchment import times_to_points

    net, X0, Y0 = _grid_network(10)
    rng = np.random.default_rng(3)
    x, y = X0 + rng.uniform(0, 10_000, 2000), Y0 + rng.uniform(0, 10_000, 2000)
    assert net.covered(x, y).all()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[:50], y[:50]), crs=27700)
    t = times_to_points(net, pts, bng_sites(c=(X0 + 5000, Y0 + 5000)), max_minutes=120)
    assert not t["outside_network"].any() and t["minutes"].notna().all()
    # beyond the edge of the data: 600 m past the last road is outside
    assert not net.covered(np.array([X0 - 600.0, X0 + 5000]), np.array([Y0 + 5000, Y0 + 10_600])).any()


def test_hand_made_extract_with_a_hole():
    from iot_geo.catchment import times_to_points

    # a 5 x 5 km hole (25 km², more than the 8 km² filled), with one road fragment running 2 km into it
    # from its west side; and a 1 x 1 km hole (filled: fields between roads)
    keep = (((5, 10), (6, 10)), ((6, 10), (7, 10)), ((7, 10), (8, 10)), ((8, 10), (9, 10)))
    net, X0, Y0 = _grid_network(14, hole=(3.0, 3.0, 7.0, 7.0), keep=keep)
    small, _, _ = _grid_network(14, hole=(10.5, 10.5, 11.5, 11.5))
    assert small.covered(np.array([X0 + 11_000.0]), np.array([Y0 + 11_000.0])).all()
    home_gap = (X0 + 4500.0, Y0 + 5600.0)  # 600 m north of the fragment's end, 2 km from the hole's edge
    home_ok = (X0 + 9250.0, Y0 + 9100.0)  # 100 m from the road y = 9 km
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([home_gap[0], home_ok[0]], [home_gap[1], home_ok[1]]),
                           crs=27700)
    assert net.snap(np.array([home_gap[0]]), np.array([home_gap[1]]))["distance"].iloc[0] == pytest.approx(600.0)
    t = times_to_points(net, pts, bng_sites(s=(X0 + 10_000, Y0 + 10_000)), max_minutes=120)
    assert t["outside_network"].tolist() == [True, False]
    assert np.isnan(t["minutes"].iloc[0])  # never timed through the fragment
    assert t["minutes"].iloc[1] == pytest.approx(1.0 + 0.75 + 1.0)  # 100 m on foot, 1.75 km of roads
    with pytest.warns(UserWarning, match="'in_gap'"):
        travel_times_for(net, bng_sites(in_gap=home_gap))


def travel_times_for(net, sites):
    from iot_geo.catchment import travel_times

    return travel_times(net, sites, max_minutes=30)


def test_stamford_centre_in_the_rutland_extract(data_dir):
    import warnings

    import iot_geo as ig
    from iot_geo.catchment import times_to_points
    from iot_geo.sources.population import load_population

    net = load_network("rutland-2022-07-20.osm.pbf")
    sites = {"Stamford centre": STAMFORD_CENTRE, "Oakham": OAKHAM}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = ig.catchments(net, sites, minutes=(30, 45))
    msgs = [str(w.message) for w in caught if "outside the coverage" in str(w.message)]
    assert len(msgs) == 1 and "'Stamford centre' (722 m from a road)" in msgs[0] and "Oakham" not in msgs[0]
    pop = load_population()
    rutland_lsoas = pop[pop["lsoa_name"].str.startswith("Rutland ")]
    assert len(rutland_lsoas) == 23
    t = times_to_points(net, rutland_lsoas, {"Oakham": OAKHAM}, max_minutes=120)
    assert not t["outside_network"].any() and t["minutes"].notna().all()  # the county itself is all inside
    # the extract's people near Stamford are counted apart, not timed through fragments: the total with
    # coverage ignored equals reached + outside, band by band
    stam = table[table["site_id"] == "Stamford centre"].set_index("minutes")
    assert (stam["people_outside_network"] > 0).all()
    assert stam["outside_network_share"].tolist() == pytest.approx(
        (stam["people_outside_network"] / (stam["people"] + stam["people_outside_network"])).round(4).tolist())
    everything = np.ones
    net2 = load_network("rutland-2022-07-20.osm.pbf")
    net2.covered = lambda x, y: everything(len(x), dtype=bool)  # the old rule: every point timed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = ig.catchments(net2, {"Stamford centre": STAMFORD_CENTRE}, minutes=(30, 45)).set_index("minutes")
    assert (old["people"] == stam["people"] + stam["people_outside_network"]).all()
    assert (old["people_outside_network"] == 0).all()


def test_clean_network_cambridge_flags_nothing(data_dir):
    import warnings

    import iot_geo as ig
    from iot_geo.catchment import times_to_points
    from iot_geo.sources.population import load_population

    net = load_network("cambridge-2020-drive.graphml.gz")
    pop = load_population()
    x0, y0, x1, y1 = net.bounds
    px, py = pop.geometry.x, pop.geometry.y
    inner = pop[(px > x0 + 1500) & (px < x1 - 1500) & (py > y0 + 1500) & (py < y1 - 1500)]
    assert len(inner) > 70
    bids = ig.read_bids(REPO / "data" / "examples" / "cambridge.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no site is outside
        warnings.filterwarnings("ignore", message=".*reach the edge")
        t = times_to_points(net, inner, bids.sites, max_minutes=60)
        table = ig.catchments(net, bids.sites, minutes=(10,))
    assert not t["outside_network"].any()
    assert (table["people_outside_network"] == 0).all()


# ------------------------------------------------------------------ England scale, on a small tiling
def _bench(name):
    import importlib.util

    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_tiled_extract_trip_across_a_border_is_the_sum_of_its_parts(data_dir, tmp_path):
    from scipy.sparse.csgraph import dijkstra

    tile_osm = _bench("tile_osm")
    src = data_dir / "osm" / "rutland-2022-07-20.osm.pbf"
    out = tmp_path / "two.osm.pbf"
    figs = tile_osm.write_tiles(src, out, 2, 1, links=1, progress=False)
    assert figs["tiles"] == 2 and figs["links"] == 1
    base = tile_osm.read_base(src)
    tiled = load_network(out, cache=False)
    rut = load_network(src)
    assert tiled.n_nodes == 2 * rut.n_nodes  # the link joins two way ends: no new junction
    ((a_id, b_id),) = tile_osm.link_end_ids(src, 2, 1)

    def tiled_index(tile, osm_id):  # a Rutland node's copy in a tile
        k = int(np.searchsorted(base.node_id, osm_id))
        return int(np.searchsorted(tiled.node_id, tile * tile_osm.STRIDE + k + 1))

    def rut_index(tiled_id):
        return int(np.searchsorted(rut.node_id, base.node_id[(tiled_id - 1) % tile_osm.STRIDE]))

    # Oakham's junction in tile 0 to Uppingham's copy in tile 1, through the one link
    p = int(np.argmin(np.hypot(rut.node_x - 486_000, rut.node_y - 308_800)))
    q = int(np.argmin(np.hypot(rut.node_x - 486_700, rut.node_y - 299_700)))
    P, Q = tiled_index(0, rut.node_id[p]), tiled_index(1, rut.node_id[q])
    A = int(np.searchsorted(tiled.node_id, a_id))
    B = int(np.searchsorted(tiled.node_id, b_id))
    whole = dijkstra(tiled.csr, indices=P)[Q]
    link = tiled.csr[A, B]
    first = dijkstra(rut.csr, indices=p)[rut_index(a_id)]
    last = dijkstra(rut.csr, indices=rut_index(b_id))[q]
    assert np.isfinite(whole) and link > 0
    # the copy in tile 1 keeps the original's times (moved in BNG metres; coordinates rounded to 1e-7 degrees)
    assert whole == pytest.approx(first + link + last, abs=1e-3)
    in_copy = dijkstra(tiled.csr, indices=tiled_index(1, rut.node_id[p]))[Q]
    assert in_copy == pytest.approx(dijkstra(rut.csr, indices=p)[q], abs=1e-3)


def test_bench_scale_path_on_a_small_tiling(data_dir, tmp_path):
    out = tmp_path / "four.osm.pbf"
    figs = _bench("tile_osm").write_tiles(data_dir / "osm" / "rutland-2022-07-20.osm.pbf", out, 2, 2, links=3,
                                          progress=False)
    out.with_name(out.name + ".tiles.json").write_text(json.dumps(figs))
    res = _bench("bench_scale").measure(out, minutes=20.0, n_sites=3)
    rut = load_network("rutland-2022-07-20.osm.pbf")
    assert res["osm_nodes"] == figs["nodes"] == 4 * 170_885 and res["tiles"] == 4  # PROVENANCE.md's node count
    assert 4 * rut.n_nodes <= res["drive_nodes"] <= 4 * rut.n_nodes + 12
    assert res["cache_bytes"] > 0 and res["catchment_1_site_people"] > 0
    assert res["catchment_3_sites_people"] >= res["catchment_1_site_people"]


def test_a_site_covered_is_a_site_both_directions_can_search_from():
    """covers() says a site can join; a site that only a one-way dead end could take (as a destination, not as
    an origin) is not covered, rather than passing and then failing in one direction of the search."""
    import geopandas as gpd

    from iot_geo.catchment import travel_times

    net, X0, Y0 = _square_with_spur()
    # 600 m past the spur's end (node 4): 600 m from the spur, 1,200 m from any road an origin can use
    x, y = np.array([X0 + 2200.0]), np.array([Y0])
    assert not net.covers(x, y).any()
    site = gpd.GeoDataFrame({"site_id": ["east"]}, geometry=gpd.points_from_xy(x, y), crs=27700)
    with pytest.raises(Exception, match="east"):
        travel_times(net, site, max_minutes=30, direction="from_site")
    # a site by the square is covered, and both directions search from it
    inside = np.array([X0 + 500.0]), np.array([Y0 + 100.0])
    assert net.covers(*inside).all()
    home = gpd.GeoDataFrame({"site_id": ["in"]}, geometry=gpd.points_from_xy(*inside), crs=27700)
    for direction in ("to_site", "from_site"):
        assert np.isfinite(travel_times(net, home, max_minutes=30, direction=direction).per_site).any()
