"""The output writers: exact bytes of CSVs, list cells, refusals, GeoPackage layers and stamps."""

from __future__ import annotations

import json
import os
import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from iot_geo import InvalidInputError, files, outputs


def test_csv_bytes_lists_floats_and_geometry(tmp_path):
    df = gpd.GeoDataFrame({"bid": ["a", "b"], "routes": [["digital", "construction"], []], "share": [1 / 3, 2.0],
                           "n": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)], crs=27700)
    out = outputs.write_csv(df, tmp_path / "t.csv")
    assert out == tmp_path / "t.csv"
    # geometry dropped, lists joined with ';', floats to 10 significant figures, '\n' line ends
    assert out.read_bytes() == b"bid,routes,share,n\na,digital;construction,0.3333333333,1\nb,,2,2\n"
    assert outputs.write_csv(pd.DataFrame({"x": [0.5]}), tmp_path / "u.csv", float_format="%.1f").read_text() == \
        "x\n0.5\n"
    assert list(df.columns) == ["bid", "routes", "share", "n", "geometry"]  # the caller's frame is untouched
    assert df["routes"].iloc[0] == ["digital", "construction"]


def test_csv_provenance_sidecar(tmp_path):
    out = outputs.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", provenance={"tool": "iot-geo", "n": 1})
    side = tmp_path / "t.provenance.json"
    assert json.loads(side.read_text(encoding="utf-8")) == {"tool": "iot-geo", "n": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.provenance.json"] and out.exists()
    outputs.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "plain.csv")
    assert not (tmp_path / "plain.provenance.json").exists()


def test_flatten_lists_only_touches_list_columns():
    df = pd.DataFrame({"l": [[1, 2], "x", None], "s": ["a;b", "c", "d"], "n": [1, 2, 3]})
    flat = outputs.flatten_lists(df)
    assert list(flat["l"][:2]) == ["1;2", "x"] and pd.isna(flat["l"].iloc[2]) and list(flat["s"]) == ["a;b", "c", "d"]
    assert list(flat["n"]) == [1, 2, 3]
    assert outputs.flatten_lists(df, sep=" | ")["l"].iloc[0] == "1 | 2"
    assert df["l"].iloc[0] == [1, 2]


def test_refuses_an_input_and_unwritable_places(tmp_path):
    src = tmp_path / "bids.csv"
    src.write_text("keep\n")
    with pytest.raises(InvalidInputError, match=r"output .*bids\.csv is one of the inputs"):
        outputs.write_csv(pd.DataFrame({"a": [1]}), src, [None, src])
    with pytest.raises(InvalidInputError, match="one of the inputs"):
        files.write_text("x", tmp_path / "." / "bids.csv", [str(src)])
    assert src.read_text() == "keep\n"
    # a different file beside an input is fine, and folders are created
    assert files.write_text("x", tmp_path / "new" / "deeper" / "o.txt", [src]).read_text() == "x"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InvalidInputError, match=r"cannot write .*file/sub/o\.csv: Not a directory"):
        files.check_output(blocker / "sub" / "o.csv")
    assert files.check_output(tmp_path / "o.csv") == tmp_path / "o.csv"


def test_atomic_replaces_only_on_success(tmp_path):
    out = tmp_path / "o.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError), files.atomic(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".o.") and tmp.suffix == ".txt"
        assert not tmp.exists()  # GDAL wants to create the file itself
        tmp.write_text("new")
        raise RuntimeError("boom")
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["o.txt"]
    with files.atomic(out) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["o.txt"]


def test_gpkg_layers_order_stamp_and_pinned_date(tmp_path, monkeypatch):
    monkeypatch.setenv("OGR_CURRENT_DATE", "2011-11-11T11:11:11Z")
    sites = gpd.GeoDataFrame({"name": ["b", "a"], "routes": [["x", "y"], ["z"]]},
                             geometry=[Point(2, 2), Point(1, 1)], crs=27700)
    table = pd.DataFrame({"k": [2, 1], "v": [["p"], ["q", "r"]]})
    out = outputs.write_gpkg({"sites": sites, "table": table}, tmp_path / "l.gpkg", provenance={"tool": "iot-geo"})
    assert os.environ["OGR_CURRENT_DATE"] == "2011-11-11T11:11:11Z"  # the caller's setting is restored
    assert [tuple(r) for r in pyogrio.list_layers(out)] == [("sites", "Point"), ("table", None)]
    back = gpd.read_file(out, layer="sites")
    assert list(back["name"]) == ["b", "a"] and list(back["routes"]) == ["x;y", "z"]
    assert back.crs.to_epsg() == 27700 and list(back.geometry.x) == [2.0, 1.0]
    tab = pyogrio.read_dataframe(out, layer="table")
    assert list(tab["k"]) == [2, 1] and list(tab["v"]) == ["p", "q;r"]
    with sqlite3.connect(out) as con:
        stamp = con.execute("SELECT key, value FROM provenance").fetchall()
        dates = {d for (d,) in con.execute("SELECT last_change FROM gpkg_contents")}
    assert stamp == [("stamp", json.dumps({"tool": "iot-geo"}))]
    assert dates == {outputs.GPKG_DATE}
    monkeypatch.delenv("OGR_CURRENT_DATE")
    outputs.write_gpkg({"sites": sites}, tmp_path / "m.gpkg")
    assert "OGR_CURRENT_DATE" not in os.environ
    with sqlite3.connect(tmp_path / "m.gpkg") as con:
        assert not con.execute("SELECT name FROM sqlite_master WHERE name = 'provenance'").fetchall()


def test_gpkg_refuses_an_input_whatever_the_names(tmp_path):
    src = tmp_path / "sites.gpkg"
    layer = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(0, 0)], crs=27700).rename_geometry("geom")
    outputs.write_gpkg({"s": layer}, src)
    before = src.read_bytes()
    with pytest.raises(InvalidInputError, match="one of the inputs"):
        outputs.write_gpkg({"s": layer}, src, [src])
    assert src.read_bytes() == before
    # a geometry column of another name, and a file name without .gpkg: still a GeoPackage of that geometry
    odd = outputs.write_gpkg({"s": layer}, tmp_path / "layers.data", provenance={"b": 1, "a": "é"})
    back = gpd.read_file(odd, layer="s")
    assert pyogrio.read_info(odd, layer="s")["driver"] == "GPKG" and back.geometry.iloc[0] == Point(0, 0)
    with sqlite3.connect(odd) as con:
        (raw,) = con.execute("SELECT value FROM provenance").fetchone()
    assert raw == '{"a": "é", "b": 1}'  # sorted keys, text as text


def test_csv_large_and_small_floats(tmp_path):
    out = outputs.write_csv(pd.DataFrame({"x": [1e20, 1.5e-7]}), tmp_path / "f.csv")
    assert out.read_text() == "x\n1e+20\n1.5e-07\n"
