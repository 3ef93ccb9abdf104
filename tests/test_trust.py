"""Trust: determinism, properties on random inputs, fuzzed readers, injected faults, no network."""

from __future__ import annotations

import errno
import itertools
import json
import socket
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from helpers import X0, Y0, km_per_minute, raw_network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Point

from iot_geo import DataNotFoundError, InvalidInputError
from iot_geo.bids import Bid, read_bids
from iot_geo.catchment import as_sites, catchments
from iot_geo.search import snap_sites
from iot_geo.sources.providers import read_providers

REPO = Path(__file__).resolve().parents[1]
ALLOWED = (InvalidInputError, DataNotFoundError)
COUNTS: dict[str, int] = {}


def _count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


def teardown_module(module):  # the closing note quotes these figures
    print("\nproperty and fuzz cases run: " + json.dumps(COUNTS, sort_keys=True))


# --------------------------------------------------------------- determinism
def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "iot_geo", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_same_inputs_same_bytes(tmp_path, data_dir):
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    outs = []
    for k in (1, 2):
        d = tmp_path / f"run{k}"
        d.mkdir()
        r = _run(["overlap", str(REPO / "data/examples/rutland.yaml"), "--network", net, "--minutes", "10", "15",
                  "-o", str(d / "overlap.csv"), "--gpkg", str(d / "overlap.gpkg")], cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        outs.append(d)
    a, b = outs
    assert (a / "overlap.csv").read_bytes() == (b / "overlap.csv").read_bytes()
    assert (a / "overlap.provenance.json").read_bytes() == (b / "overlap.provenance.json").read_bytes()
    dumps = []
    for d in outs:
        with sqlite3.connect(d / "overlap.gpkg") as con:
            tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            dumps.append({t: con.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables})
    assert dumps[0] == dumps[1]
    assert "provenance" in dumps[0] and "overlap" in dumps[0]


# ---------------------------------------------------------------- properties
@st.composite
def graphs(draw):
    n = draw(st.integers(3, 12))
    m = draw(st.integers(n, 3 * n))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.booleans(), st.booleans()),
                          min_size=m, max_size=m))
    xs = draw(st.lists(st.floats(0, 5000), min_size=n, max_size=n))
    ys = draw(st.lists(st.floats(0, 5000), min_size=n, max_size=n))
    nodes = {i: (X0 + xs[i], Y0 + ys[i]) for i in range(n)}
    segs = [(a, b, f, bw or not f) for a, b, f, bw in edges if a != b and nodes[a] != nodes[b]]
    if not segs:
        segs = [(0, 1, True, True)]
        nodes[1] = (nodes[0][0] + 100, nodes[0][1])
    return nodes, segs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_times_equal_networkx_and_never_shrink_along_edges(g):
    _count("times_vs_networkx")
    nodes, segs = g
    net = km_per_minute(raw_network(nodes, segs))
    # the reference is built from the drawn roads themselves, not from the network's arrays
    G = nx.DiGraph()
    G.add_nodes_from(sorted(nodes))
    for a, b, fwd, bwd in segs:
        minutes = float(np.hypot(nodes[b][0] - nodes[a][0], nodes[b][1] - nodes[a][1])) / 1000.0
        for u, v, ok in ((a, b, fwd), (b, a, bwd)):
            if ok and (not G.has_edge(u, v) or G[u][v]["minutes"] > minutes):
                G.add_edge(u, v, minutes=minutes)
    assert list(net.node_id) == sorted(nodes)
    for src in range(min(net.n_nodes, 3)):
        ours = dijkstra(net.csr, indices=src)
        ref = nx.single_source_dijkstra_path_length(G, src, weight="minutes")
        for v in range(net.n_nodes):
            assert (v in ref) == np.isfinite(ours[v])
            if v in ref:
                assert ours[v] == pytest.approx(ref[v], abs=1e-9)
        # along every edge the time grows by at most the edge's time (triangle inequality)
        finite = np.isfinite(ours[net.edge_u])
        assert np.all(ours[net.edge_v][finite] <= ours[net.edge_u][finite] + net.edge_minutes[finite] + 1e-9)


ROAD = None


def _road():
    global ROAD
    if ROAD is None:
        nodes = {i: (X0 + 1000 * (i % 6), Y0 + 1000 * (i // 6)) for i in range(36)}
        segs = [(i, i + 1, True, True) for i in range(36) if i % 6 != 5]
        segs += [(i, i + 6, True, i % 3 != 0) for i in range(30)]
        ROAD = km_per_minute(raw_network(nodes, segs))
    return ROAD


EMPTY_POP = gpd.GeoDataFrame({"lsoa_code": [], "people": [], "people_16_59": []}, geometry=[], crs=27700)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5000), st.floats(0, 5000)), min_size=1, max_size=3),
       st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
def test_bands_nest_and_union_reaches_most(points, bands):
    _count("bands_nest_union")
    net = _road()
    sites = gpd.GeoDataFrame({"site_id": [f"s{i}" for i in range(len(points))], "group_id": "g"},
                             geometry=[Point(X0 + x, Y0 + y) for x, y in points], crs=27700)
    pts = gpd.GeoDataFrame({"lsoa_code": [f"p{i}" for i in range(36)], "people": np.arange(36) * 10.0 + 5,
                            "people_16_59": np.arange(36) * 5.0},
                           geometry=[Point(X0 + 1000 * (i % 6) + 300, Y0 + 1000 * (i // 6)) for i in range(36)],
                           crs=27700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        each = catchments(net, sites, minutes=bands, population=pts)
        union = catchments(net, sites, minutes=bands, population=pts, union=True)
    for _, g in each.groupby("site_id"):
        g = g.sort_values("minutes")
        geoms = list(g.geometry)
        for small, big in itertools.pairwise(geoms):
            assert shapely.difference(small, big).area <= 1e-6 * max(small.area, 1) + 1.0
        assert g["people"].is_monotonic_increasing
    for b in bands:
        assert union.loc[union["minutes"] == b, "people"].iloc[0] >= each.loc[each["minutes"] == b, "people"].max()


@settings(max_examples=60, deadline=None)
@given(st.floats(-3000, 8000), st.floats(-3000, 8000), st.floats(50, 2000))
def test_snapping_never_moves_a_point_farther_than_the_limit(x, y, limit):
    _count("snapping_limit")
    net = _road()
    site = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[Point(X0 + x, Y0 + y)], crs=27700)
    try:
        snapped = snap_sites(net, as_sites(site), max_distance=limit)
    except InvalidInputError as exc:
        assert "from the nearest usable road" in str(exc)
        return
    d = float(snapped["snap_m"].iloc[0])
    assert d <= limit
    seg, f = int(snapped["snap_seg"].iloc[0]), float(snapped["snap_frac"].iloc[0])
    on_road = net.segment_geometries(np.array([seg]))[0].interpolate(f, normalized=True)
    assert on_road.distance(Point(X0 + x, Y0 + y)) == pytest.approx(d, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=4), st.integers(1, 6))
def test_overlap_is_symmetric_in_area_and_people(columns, band):
    _count("overlap_symmetric")
    from iot_geo.overlap import overlap

    net = _road()
    bids = []
    for i, c in enumerate(columns):
        sites = gpd.GeoDataFrame({"bid_id": f"b{i}", "site_id": [f"b{i}-hub"], "name": "hub", "role": "hub",
                                  "provider_id": ""}, geometry=[Point(X0 + 1000 * c, Y0 + 2500)], crs=27700)
        bids.append(Bid(f"b{i}", f"b{i}", "L", "fe_college", [], ["E1"], ["E1"], None, None, ["digital"], [4], sites))
    pts = gpd.GeoDataFrame({"lsoa_code": [f"p{i}" for i in range(36)], "people": 100.0, "people_16_59": 50.0},
                           geometry=[Point(X0 + 1000 * (i % 6), Y0 + 1000 * (i // 6) + 200) for i in range(36)],
                           crs=27700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fwd = overlap(net, bids, minutes=[band], population=pts)
        rev = overlap(net, bids[::-1], minutes=[band], population=pts)
    pd.testing.assert_frame_equal(fwd.reset_index(drop=True), rev.reset_index(drop=True))
    # against each bid's own times to the centroids: shared people and each bid's share of its own
    from iot_geo.catchment import times_to_points

    reached = [(times_to_points(net, pts, b.sites, max_minutes=band)["minutes"] <= band).to_numpy() for b in bids]
    people = pts["people"].to_numpy()
    pairs = set()
    for i, j in itertools.combinations(range(len(bids)), 2):
        both = float(people[reached[i] & reached[j]].sum())
        if both > 0:
            pairs.add((f"b{i}", f"b{j}"))
    assert pairs <= set(zip(fwd["bid_a"], fwd["bid_b"], strict=True))
    for r in fwd.itertuples():
        i, j = int(r.bid_a[1:]), int(r.bid_b[1:])
        both = float(people[reached[i] & reached[j]].sum())
        assert r.people_both == both
        assert r.people_share_a == (round(both / people[reached[i]].sum(), 4) if reached[i].any() else 0.0)
        assert r.people_share_b == (round(both / people[reached[j]].sum(), 4) if reached[j].any() else 0.0)
    for r in fwd.itertuples():
        assert 0 <= r.people_share_a <= 1 and 0 <= r.people_share_b <= 1
        same = columns[int(r.bid_a[1:])] == columns[int(r.bid_b[1:])]
        if same:
            assert r.people_share_a == r.people_share_b == 1.0


# -------------------------------------------------------------------- fuzzing
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True), text,
                   st.sampled_from(["<script>alert(1)</script>", "\x00\x01", "E37000042", "digital", "hub"]))
value = st.recursive(scalar, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(text, c, max_size=4)),
                     max_leaves=12)
site = st.fixed_dictionaries({}, optional={"id": st.one_of(text, st.sampled_from(["a", "b-1"])),
                                           "name": text, "role": st.sampled_from(["hub", "spoke", "boss", None]),
                                           "lat": st.one_of(st.floats(allow_nan=True), st.just(52.66), text),
                                           "lon": st.one_of(st.floats(allow_nan=True), st.just(-0.47)),
                                           "easting": value, "northing": value,
                                           "provider_id": st.sampled_from(["urn:130760", "urn:1", "", None])})
bid = st.fixed_dictionaries({}, optional={
    "id": st.one_of(text, st.just("x-1")), "name": text, "lead": text,
    "lead_type": st.sampled_from(["fe_college", "FE college", "wizard", None, 3]),
    "partners": st.one_of(value, st.lists(st.fixed_dictionaries({"name": text, "type": text}), max_size=2)),
    "lep": st.sampled_from(["Greater Cambridge and Greater Peterborough", "E37000042", "Nowhere", None, 42]),
    "combined_authority": st.one_of(st.none(), text), "routes": st.one_of(value, st.just(["digital"])),
    "levels": st.one_of(value, st.just([3, 4])), "sites": st.one_of(value, st.lists(site, max_size=3))})
doc = st.one_of(value, st.fixed_dictionaries({"bids": st.lists(bid, max_size=3)},
                                             optional={"schema": st.sampled_from([1, 2, "1", None]),
                                                       "vintage": value}))


def _only_allowed(fn, path):
    try:
        out = fn(path)
    except ALLOWED as exc:
        msg = str(exc)
        assert str(path) in msg or path.name in msg or "bid" in msg or "row" in msg, msg
        return None
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(doc)
def test_fuzz_yaml_bids(tmp_path, d):
    _count("fuzz_bids_yaml")
    p = tmp_path / "fuzz.yaml"
    p.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    out = _only_allowed(read_bids, p)
    if out is not None:
        assert len(out) >= 1 and out.sites.crs.to_epsg() == 27700


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_fuzz_raw_bytes_as_bid_files(tmp_path, data):
    for suffix in (".yaml", ".geojson"):
        _count(f"fuzz_raw{suffix}")
        p = tmp_path / f"raw{suffix}"
        p.write_bytes(data)
        _only_allowed(read_bids, p)


cell = st.one_of(st.just(""), st.sampled_from(["52.66", "-0.47", "nan", "1e400", "inf", "abc", "500000",
                                               "300000", "<b>x</b>", "\x07"]), text.filter(lambda t: "\n" not in t))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["name", "lat", "lon", "easting", "northing", "type", "id", "postcode", "x"]),
                min_size=1, max_size=6, unique=True),
       st.lists(st.lists(cell, min_size=6, max_size=6), max_size=4),
       st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_fuzz_provider_csv(tmp_path, header, rows, encoding):
    _count("fuzz_provider_csv")
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow(r[: len(header)])
    p = tmp_path / "prov.csv"
    try:
        p.write_bytes(buf.getvalue().encode(encoding))
    except UnicodeEncodeError:
        return
    out = _only_allowed(read_providers, p)
    if out is not None:
        assert out.crs.to_epsg() == 27700 and out.geometry.notna().all()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({"bid_id": st.sampled_from(["a", "b", "", "zz"]), "id": text,
                                        "role": st.sampled_from(["hub", "spoke", ""]), "lat": cell, "lon": cell}),
                max_size=4),
       st.lists(st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "c"]), "name": text, "lead": text,
                                        "lead_type": st.sampled_from(["fe_college", "x"]),
                                        "lep": st.sampled_from(["E37000042", "Nope", ""]),
                                        "routes": st.sampled_from(["digital", "digital;foo", ""])}), max_size=3))
def test_fuzz_csv_bids(tmp_path, sites, bids):
    _count("fuzz_bids_csv")
    pd.DataFrame(bids, columns=["id", "name", "lead", "lead_type", "lep", "routes"]).to_csv(tmp_path / "bids.csv",
                                                                                           index=False)
    pd.DataFrame(sites, columns=["bid_id", "id", "role", "lat", "lon"]).to_csv(tmp_path / "sites.csv", index=False)
    _only_allowed(read_bids, tmp_path)


# ---------------------------------------------------------------------- faults
def test_full_disk_fails_cleanly_and_leaves_inputs(tmp_path, monkeypatch):
    from iot_geo import outputs

    src = tmp_path / "input.csv"
    src.write_text("a\n1\n")
    before = src.read_bytes()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(InvalidInputError, match="No space left"):
        outputs.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "out.csv", [src])
    assert not (tmp_path / "out.csv").exists() and src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.csv"]


def test_unwritable_output_folder(tmp_path, monkeypatch):
    from iot_geo import files, outputs

    monkeypatch.setattr(files.os, "access", lambda *a, **k: False)
    with pytest.raises(InvalidInputError, match="permission denied"):
        outputs.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "x" / "out.csv")


def test_report_failure_leaves_no_half_written_folder(tmp_path, monkeypatch, data_dir):
    from iot_geo import load_network, report

    bids = read_bids(REPO / "data/examples/rutland.yaml")
    net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = report.analyse(bids, net, minutes=[10])

    def boom(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("iot_geo.outputs.write_gpkg", boom)
    with pytest.raises(InvalidInputError, match=r"report .*rep was not written: No space left on device"):
        report.write_report(a, tmp_path / "rep")
    assert list(tmp_path.iterdir()) == []


def test_skip_invalid_runs_the_rest(tmp_path):
    good = (REPO / "data/examples/rutland.yaml").read_text()
    bad_bid = good.replace("id: oakham-engineering", "id: Bad ID!")
    p = tmp_path / "mixed.yaml"
    p.write_text(bad_bid)
    with pytest.raises(InvalidInputError, match="Bad ID"):
        read_bids(p)
    bids = read_bids(p, skip_invalid=True)
    assert bids.ids == ["stamford-iot"] and len(bids.problems) == 1


def test_no_network_in_tests():
    with pytest.raises(Exception, match="tried to use socket"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
