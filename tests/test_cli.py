"""The CLI as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import io


def run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iot_geo", *args], capture_output=True, text=True, timeout=300, **kw)


def test_locate_json_negative_longitude():
    r = run("locate", "52.67", "-0.73", "--vintage", "2017", "--format", "json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["lad_code"] == "E06000017" and row["lep_codes"] == ["E37000042"]


def test_areas_csv_and_geojson():
    r = run("areas", "--kind", "lep", "--vintage", "2017", "--format", "csv")
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(io.StringIO(r.stdout))
    assert len(df) == 38 and {"code", "name", "vintage", "area_km2"} <= set(df.columns)
    g = run("areas", "--kind", "oa", "--format", "geojson")
    assert g.returncode == 0
    assert len(json.loads(g.stdout)["features"]) == 12


def test_providers_within_lep():
    r = run("providers", "--type", "fe_college", "--within", "E37000042", "--vintage", "2017", "-f", "csv")
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(io.StringIO(r.stdout))
    assert "New College Stamford" in set(df["name"]) and "Cambridge Regional College" in set(df["name"])
    assert (df["provider_type"] == "fe_college").all()


def test_bad_input_one_line_exit_2(tmp_path):
    cases = [
        ("areas", "--kind", "county"),
        ("areas", "--kind", "lep", "--vintage", "1990"),
        ("locate", "-0.73", "52.67"),
        ("--data-dir", str(tmp_path / "none"), "areas"),
        ("areas", "--no-such-option"),
    ]
    for args in cases:
        r = run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        assert r.stderr.strip(), args


def test_data_check_and_list(data_dir):
    r = run("data", "check", "--format", "csv", "--data-dir", str(data_dir))
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(io.StringIO(r.stdout))
    assert (df["status"] == "ok").all()
    lst = run("data", "list", "--format", "json")
    names = {d["name"] for d in json.loads(lst.stdout)}
    assert {"lep2021", "lad2017", "providers_ks5", "lookup_lad17_lep2017"} <= names
