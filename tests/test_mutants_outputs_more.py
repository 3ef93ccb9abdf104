"""More mutant-killing tests for iot_geo.outputs (issue 18): workbooks, GeoPackages, Parquet and CSV written
and read back, each checked cell by cell against what was given."""

from __future__ import annotations

import json
import os
import sqlite3

import geopandas as gpd
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Point

from iot_geo import InvalidInputError
from iot_geo.outputs import flatten_lists, write, write_csv, write_gpkg, write_xlsx

GPKG_DATE = "2000-01-01T00:00:00Z"  # the date GeoPackages are pinned to (documented in iot_geo.outputs)


def table() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ["=1+1", "b"], "people": [1.5, 20.0], "codes": [["E1", "E2"], ["E3"]]},
                            geometry=[Point(480_000, 300_000), Point(481_000, 300_500)], crs=27700)


def test_flatten_lists_joins_only_list_cells():
    df = pd.DataFrame({"a": [["x", 1], "y", None], "b": [1, 2, 3]})
    flat = flatten_lists(df, sep="|")
    assert flat["a"].tolist()[:2] == ["x|1", "y"] and pd.isna(flat["a"].iloc[2]) and flat["b"].tolist() == [1, 2, 3]
    assert flatten_lists(df)["a"].tolist()[0] == "x;1"
    assert df["a"].tolist()[0] == ["x", 1]  # the input is left alone


def test_write_xlsx_cells_are_text_never_formulas(tmp_path):
    path = write_xlsx({"sites": table(), "more": pd.DataFrame({"n": [3], "t": ["@SUM(A1)"]})}, tmp_path / "t.xlsx")
    assert path == tmp_path / "t.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["sites", "more"]
    ws = wb["sites"]
    assert [c.value for c in ws[1]] == ["site_id", "people", "codes"]  # geometry dropped
    assert [c.value for c in ws[2]] == ["=1+1", 1.5, "E1;E2"]
    assert ws["A2"].data_type == "s" and ws["A2"].quotePrefix
    assert ws["B2"].data_type == "n" and not ws["B2"].quotePrefix
    assert ws["A3"].value == "b" and ws["A3"].data_type == "s" and not ws["A3"].quotePrefix  # plain text as it was
    assert wb["more"]["B2"].value == "@SUM(A1)" and wb["more"]["B2"].data_type == "s"


def test_write_gpkg_layers_stamp_and_pinned_date(tmp_path, monkeypatch):
    monkeypatch.setenv("OGR_CURRENT_DATE", "1999-09-09T09:09:09Z")
    path = write_gpkg({"sites": table(), "plain": pd.DataFrame({"k": ["=x"], "v": [[1, 2]]})}, tmp_path / "a.gpkg",
                      provenance={"tool": "iot-geo", "name": "é"})
    assert path == tmp_path / "a.gpkg" and os.environ["OGR_CURRENT_DATE"] == "1999-09-09T09:09:09Z"
    back = gpd.read_file(path, layer="sites")
    assert back["site_id"].tolist() == ["=1+1", "b"] and back["codes"].tolist() == ["E1;E2", "E3"]
    assert back.crs.to_epsg() == 27700 and back.geometry.x.tolist() == [480_000, 481_000]
    plain = gpd.read_file(path, layer="plain")
    assert plain["v"].tolist() == ["1;2"]
    with sqlite3.connect(path) as con:
        (stamp,) = con.execute("SELECT value FROM provenance WHERE key = 'stamp'").fetchone()
        dates = {d for (d,) in con.execute("SELECT last_change FROM gpkg_contents")}
    con.close()
    assert stamp == '{"name": "é", "tool": "iot-geo"}'
    assert dates == {GPKG_DATE}
    monkeypatch.delenv("OGR_CURRENT_DATE")
    write_gpkg({"sites": table()}, tmp_path / "b.gpkg")
    assert "OGR_CURRENT_DATE" not in os.environ
    with sqlite3.connect(tmp_path / "b.gpkg") as con:
        names = {n for (n,) in con.execute("SELECT name FROM sqlite_master")}
    con.close()
    assert "provenance" not in names


def test_write_by_suffix(tmp_path):
    t = table()
    csv = write(t, tmp_path / "t.csv", options={"bands": [30]})
    assert csv.read_text(encoding="utf-8").splitlines() == ["site_id,people,codes", "'=1+1,1.5,E1;E2", "b,20,E3"]
    assert json.loads((tmp_path / "t.provenance.json").read_text(encoding="utf-8"))["options"] == {"bands": [30]}
    g = write(t, tmp_path / "t.gpkg")
    assert gpd.read_file(g, layer="t")["people"].tolist() == [1.5, 20.0]
    write(t, tmp_path / "u.gpkg", layer="catchments")
    assert gpd.read_file(tmp_path / "u.gpkg", layer="catchments")["site_id"].tolist() == ["=1+1", "b"]
    write(pd.DataFrame(t.drop(columns="geometry")), tmp_path / "p.gpkg")
    assert gpd.read_file(tmp_path / "p.gpkg", layer="p")["codes"].tolist() == ["E1;E2", "E3"]
    pq_path = write(t, tmp_path / "t.PARQUET", options={"mode": "drive"})
    assert pq_path == tmp_path / "t.PARQUET"
    back = gpd.read_parquet(pq_path)
    assert back.crs.to_epsg() == 27700 and back["codes"].tolist() == ["E1;E2", "E3"]
    meta = pq.read_schema(pq_path).metadata
    assert json.loads(meta[b"iot_geo_provenance"].decode())["options"] == {"mode": "drive"}
    assert b"geo" in meta  # GeoParquet's own metadata kept
    plain = write(pd.DataFrame({"a": [1]}), tmp_path / "a.geoparquet")
    assert pd.read_parquet(plain)["a"].tolist() == [1]
    with pytest.raises(InvalidInputError) as e:
        write(t, tmp_path / "t.json")
    assert str(e.value) == f"{tmp_path / 't.json'}: write a .gpkg, .parquet or .csv file (got '.json')"
    with pytest.raises(InvalidInputError, match=r"\(got 'no suffix'\)"):
        write(t, tmp_path / "noext")


def test_write_csv_float_format_and_stamp(tmp_path):
    df = pd.DataFrame({"x": [1 / 3, 2.0, 1e-12]})
    write_csv(df, tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_text().splitlines() == ["x", "0.3333333333", "2", "1e-12"]
    assert not (tmp_path / "a.provenance.json").exists()
    write_csv(df, tmp_path / "b.csv", float_format="%.2f", provenance={"k": "v"})
    assert (tmp_path / "b.csv").read_text().splitlines() == ["x", "0.33", "2.00", "0.00"]
    assert json.loads((tmp_path / "b.provenance.json").read_text(encoding="utf-8")) == {"k": "v"}


def test_to_csv_text_float_format():
    from iot_geo.outputs import to_csv_text

    assert to_csv_text(pd.DataFrame({"x": [1 / 3]}), float_format="%.2f") == "x\n0.33\n"
    assert to_csv_text(pd.DataFrame({"x": [0.5]})) == "x\n0.5\n"


def test_a_stamp_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    real = os.replace

    def no_stamp(src, dst):
        if str(dst).endswith(".provenance.json"):
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", no_stamp)
    with pytest.raises(InvalidInputError) as e:
        write_csv(pd.DataFrame({"x": [1]}), tmp_path / "a.csv", provenance={"k": "v"})
    assert str(e.value) == (f"the provenance stamp {tmp_path / 'a.provenance.json'} was not written: No space left on "
                            "device (nothing half-written is left)")


def test_a_workbook_never_replaces_an_input(tmp_path):
    inp = tmp_path / "in.xlsx"
    write_xlsx({"a": pd.DataFrame({"x": [1]})}, inp)
    with pytest.raises(InvalidInputError, match="is one of the inputs"):
        write_xlsx({"a": pd.DataFrame({"x": [2]})}, inp, [inp])
    assert openpyxl.load_workbook(inp)["a"]["A2"].value == 1


def test_geoparquet_keeps_a_geometry_column_of_another_name(tmp_path):
    t = gpd.GeoDataFrame({"site_id": ["a"], "geom": [Point(480_000, 300_000)]}, geometry="geom", crs=27700)
    back = gpd.read_parquet(write(t, tmp_path / "g.parquet"))
    assert back.geometry.name == "geom" and back.crs.to_epsg() == 27700 and back["site_id"].tolist() == ["a"]
