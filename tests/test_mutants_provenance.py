"""Provenance: modified-data marks and warnings, Parquet stamps, odd arguments (issue 18, mutation testing)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from iot_geo import InvalidInputError, outputs, provenance
from iot_geo.sources import catalogue

REGION = "boundaries/lookup_lad_all_codes_rgn_cauth_drkane.csv"  # the "lookup_lad_region" dataset (third party)
DERIVED = "boundaries/lookup_lad17_lep17_en_derived.csv"  # "lookup_lad17_lep2017", rebuilt by iot-geo


@pytest.fixture
def altered(tmp_path, data_dir):
    """A data folder whose region lookup has one extra line, and a derived table with one extra line too."""
    for rel in (REGION, DERIVED):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / rel, tmp_path / rel)
        with open(tmp_path / rel, "a", encoding="utf-8") as f:
            f.write("\n")
    return tmp_path


def test_a_changed_file_is_marked_modified_and_warned_about(altered, data_dir):
    sha = hashlib.sha256((altered / REGION).read_bytes()).hexdigest()
    [entry] = provenance.datasets(["lookup_lad_region"], data_dir=altered)
    assert entry == {"dataset": "lookup_lad_region", "file": "lookup_lad_all_codes_rgn_cauth_drkane.csv",
                     "vintage": "2011-2025", "licence": entry["licence"], "sha256": sha, "modified": True}
    assert provenance.warnings_for([entry]) == [
        f"modified data: lookup_lad_all_codes_rgn_cauth_drkane.csv (lookup_lad_region) is not the catalogue's file "
        f"(sha256 {sha}); used because of --allow-modified-data"]
    [same] = provenance.datasets(["lookup_lad_region"], data_dir=data_dir)
    assert "modified" not in same and provenance.warnings_for([same]) == []


def test_a_derived_table_that_differs_is_not_called_modified(altered):
    # iot-geo rebuilds derived tables itself; their bytes may differ from the catalogue's copy
    [entry] = provenance.datasets(["lookup_lad17_lep2017"], data_dir=altered)
    assert entry["sha256"] == hashlib.sha256((altered / DERIVED).read_bytes()).hexdigest()
    assert "modified" not in entry


def test_stamp_carries_the_warnings_of_its_own_data_dir(altered, data_dir, monkeypatch):
    monkeypatch.setattr(catalogue, "READ", {"lookup_lad_region"})
    st = provenance.stamp(call=["x"], data_dir=altered)
    assert st["datasets"][0]["modified"] is True
    assert st["warnings"] == provenance.warnings_for(st["datasets"]) and len(st["warnings"]) == 1
    assert "warnings" not in provenance.stamp(call=["x"], data_dir=data_dir)


def test_stamp_names_every_network_after_a_timetable():
    from helpers import straight_road

    feed = SimpleNamespace(describe=lambda: {"mode": "transit", "file": "feed.zip", "stops": 3})  # a timetable's own words
    road = straight_road()
    road.source = {"file": "x.osm", "path": "/home/me/x.osm"}  # the path is never stamped: only the file name
    st = provenance.stamp(networks=[feed, road, feed], call=["x"])
    assert st["networks"] == [{"mode": "transit", "file": "feed.zip", "stops": 3},
                              {"mode": "drive", "file": "x.osm", "speeds": road.speeds.key(), "nodes": 31, "edges": 60},
                              {"mode": "transit", "file": "feed.zip", "stops": 3}]


def test_an_option_path_with_an_equals_sign_keeps_the_file_name_whole():
    st = provenance.stamp(call=["run", "--out=/no/such/dir/a=b.csv", "--x=1"])
    assert st["call"] == ["iot-geo", "run", "--out=a=b.csv", "--x=1"]


@pytest.mark.parametrize("suffix", [".parquet", ".geoparquet", ".PARQUET"])
def test_parquet_stamp_is_read_back(tmp_path, suffix):
    out = outputs.write(pd.DataFrame({"a": [1]}), tmp_path / f"t{suffix}", options={"minutes": [10]})
    st = provenance.read(out)
    assert st["options"] == {"minutes": [10]} and st["call"][0] == "iot-geo"


def test_parquet_without_a_stamp_says_so(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(InvalidInputError, match="no iot_geo_provenance in the Parquet metadata"):
        provenance.read(tmp_path / "plain.parquet")


def test_a_json_file_that_is_not_a_side_file_is_refused(tmp_path):
    (tmp_path / "data.json").write_text('{"a": 1}')
    with pytest.raises(InvalidInputError, match=r"\.csv, \.gpkg and \.html"):
        provenance.read(tmp_path / "data.json")


def test_stamps_are_read_as_utf8_whatever_the_locale(tmp_path):
    """A stamp holding non-ASCII text reads back under an ASCII (C, no UTF-8 mode) locale."""
    st = {"place": "Bishop’s Stortford – Hertford"}
    (tmp_path / "a.csv").write_text("x\n")
    (tmp_path / "a.provenance.json").write_text(provenance.dumps(st), encoding="utf-8")
    (tmp_path / "b.provenance.json").write_text(provenance.dumps(st), encoding="utf-8")
    (tmp_path / "c.html").write_text(f"<p>é</p>{provenance.html_block(st)}", encoding="utf-8")
    # read here too: the answer is the same in this (UTF-8) process, and mutation testing links the test to read()
    assert [provenance.read(tmp_path / n)["place"] for n in ("a.csv", "b.provenance.json", "c.html")] == [st["place"]] * 3
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}  # '' is the current folder
    code = ("import sys; from iot_geo import provenance\n"
            "for f in sys.argv[1:]: print(provenance.read(f)['place'].encode('unicode_escape').decode())")
    run = subprocess.run([sys.executable, "-c", code, *(str(tmp_path / n) for n in ("a.csv", "b.provenance.json",
                                                                                     "c.html"))],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [st["place"].encode("unicode_escape").decode()] * 3
