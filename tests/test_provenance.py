"""Provenance stamps: exact contents on a hand-built network, and every place a stamp is read back from."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, km_per_minute, raw_network

from iot_geo import DataNotFoundError, InvalidInputError, __version__, outputs, provenance
from iot_geo.sources import catalogue


@pytest.fixture
def net():
    n = km_per_minute(raw_network({0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 2000, Y0)},
                                  [(0, 1, True, True), (1, 2, True, False)]))
    n.source.update({"file": "x.osm", "file_sha256": "abc", "format": "osm", "data_date": "2022-07-20",
                     "path": "/secret/home/x.osm", "cached": True})
    return n


def test_stamp_names_version_network_options_and_call(net, tmp_path, data_dir):
    inp = tmp_path / "bids.yaml"
    inp.write_text("x")
    st = provenance.stamp(networks=[net], options={"minutes": [10, 15], "share": 0.25, "when": pd.Timestamp(0)},
                          call=["overlap", str(inp), "--out=" + str(tmp_path / "o.csv"), "--minutes", "10"],
                          data_dir=data_dir)
    assert st["iot_geo_version"] == __version__
    # the network by file, checksum and date; never its absolute path or whether it came from the cache
    assert st["networks"] == [{"mode": "drive", "file": "x.osm", "file_sha256": "abc", "format": "osm",
                               "data_date": "2022-07-20", "speeds": net.speeds.key(), "nodes": 3, "edges": 3}]
    assert st["options"] == {"minutes": [10, 15], "share": 0.25, "when": "1970-01-01 00:00:00"}
    assert st["call"] == ["iot-geo", "overlap", "bids.yaml", "--out=o.csv", "--minutes", "10"]
    assert "/secret" not in json.dumps(st) and str(tmp_path) not in json.dumps(st)


def test_datasets_are_named_with_their_checksums(data_dir):
    from iot_geo.sources.catalogue import get_dataset

    name = "lsoa_centroids"
    rows = provenance.datasets([name], data_dir=data_dir)
    ds = get_dataset(name)
    assert [r["file"] for r in rows] == [f.path.rsplit("/", 1)[-1] for f in ds.files]
    for r, f in zip(rows, ds.files, strict=True):
        assert r["dataset"] == name and r["vintage"] == ds.vintage and r["licence"] == ds.licence
        assert r["sha256"] == hashlib.sha256((data_dir / f.path).read_bytes()).hexdigest()
    catalogue.READ.add(name)
    assert name in catalogue.READ and name in {r["dataset"] for r in provenance.datasets(data_dir=data_dir)}


def test_stamp_round_trips_through_every_output(tmp_path):
    st = {"tool": "iot-geo", "text": "</script><b>&", "n": [1, 2]}
    assert provenance.dumps(st) == json.dumps(st, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert provenance.sidecar(tmp_path / "a.b.csv") == tmp_path / "a.b.provenance.json"
    block = provenance.html_block(st)
    assert "</script><b>" not in block and block.startswith('<script type="application/json" id="iot-geo-provenance">')
    page = tmp_path / "p.html"
    page.write_text(f"<html><body>{block}</body></html>", encoding="utf-8")
    csv = outputs.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", provenance=st)
    import geopandas as gpd
    from shapely.geometry import Point

    gpkg = outputs.write_gpkg({"s": gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=27700)},
                              tmp_path / "t.gpkg", provenance=st)
    for p in (page, csv, gpkg, provenance.sidecar(csv)):
        assert provenance.read(p) == st, p.name


def test_read_says_what_is_missing(tmp_path):
    with pytest.raises(DataNotFoundError, match="not found"):
        provenance.read(tmp_path / "nope.csv")
    (tmp_path / "bare.csv").write_text("a\n")
    with pytest.raises(InvalidInputError, match=r"no provenance side file bare\.provenance\.json"):
        provenance.read(tmp_path / "bare.csv")
    (tmp_path / "bare.html").write_text("<html></html>")
    with pytest.raises(InvalidInputError, match="no provenance element"):
        provenance.read(tmp_path / "bare.html")
    with sqlite3.connect(tmp_path / "bare.gpkg") as con:
        con.execute("CREATE TABLE x (a)")
    with pytest.raises(InvalidInputError, match="no provenance table"):
        provenance.read(tmp_path / "bare.gpkg")
    with sqlite3.connect(tmp_path / "empty.gpkg") as con:
        con.execute("CREATE TABLE provenance (key TEXT PRIMARY KEY, value TEXT)")
    with pytest.raises(InvalidInputError, match="empty provenance table"):
        provenance.read(tmp_path / "empty.gpkg")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(InvalidInputError, match=r"\.csv, \.gpkg and \.html"):
        provenance.read(tmp_path / "x.txt")


def test_stamp_of_a_timetable_and_paths_that_do_not_exist(data_dir):
    from types import SimpleNamespace

    from iot_geo.transit import TransitNetwork

    feed = SimpleNamespace(mode="transit", source={"file": "feed.zip", "day": "2024-01-02", "arrive_by": "09:00"},
                           n_nodes=np.int64(42))
    feed.describe = lambda: TransitNetwork.describe(feed)  # a timetable's own description, without reading a feed
    st = provenance.stamp(networks=[feed], call=["catchment", "no/such/folder/x.csv", "plain"], data_dir=data_dir)
    assert st["networks"] == [{"mode": "transit", "file": "feed.zip", "day": "2024-01-02", "arrive_by": "09:00",
                               "stops": 42}]
    assert st["call"] == ["iot-geo", "catchment", "no/such/folder/x.csv", "plain"]
    assert st["options"] == {}
    assert isinstance(st["networks"][0]["stops"], int)


def test_stamp_text_is_sorted_escaped_and_complete(net, tmp_path, data_dir):
    st = {"b": "é</script>&", "a": 1}
    assert provenance.dumps(st) == '{\n "a": 1,\n "b": "é</script>&"\n}\n'
    assert provenance.html_block(st) == ('<script type="application/json" id="iot-geo-provenance">'
                                         '{"a": 1, "b": "\\u00e9\\u003c/script\\u003e\\u0026"}</script>')
    page = tmp_path / "p.htm"
    page.write_text(f"<html>{provenance.html_block(st)}</html>", encoding="utf-8")
    assert provenance.read(page) == st
    net.source["place"] = "Oakham, Rutland"
    new_out = tmp_path / "not-yet.csv"
    s = provenance.stamp(networks=[net], options={"z": 1, "a": np.int64(2)}, call=["x", str(new_out)],
                         data_dir=data_dir)
    assert sorted(s) == ["call", "datasets", "iot_geo_version", "networks", "options"]
    assert s["networks"][0]["place"] == "Oakham, Rutland"
    assert s["call"] == ["iot-geo", "x", "not-yet.csv"]  # an output not written yet is a path too
    assert list(s["options"]) == ["a", "z"] and s["options"]["a"] == 2
    import sys

    assert provenance.stamp(data_dir=data_dir)["call"][1:] == provenance.plain_args(sys.argv[1:])


def test_dataset_checksums_are_remembered_correctly(data_dir, tmp_path):
    catalogue.READ.add("lsoa_centroids")
    one = provenance.datasets(["imd2019"], data_dir=data_dir)
    assert {r["dataset"] for r in one} == {"imd2019"}
    again = provenance.datasets(["imd2019"], data_dir=data_dir)
    assert again == one and all(r["sha256"] for r in one)
    assert [r["sha256"] for r in provenance.datasets(["imd2019"], data_dir=tmp_path)] == [None] * len(one)
