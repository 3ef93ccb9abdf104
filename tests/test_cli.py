"""The CLI as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd


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


def test_demo_writes_maps_reports_and_geopackages(tmp_path, data_dir):
    import geopandas as gpd
    import pyogrio

    r = run("--data-dir", str(data_dir), "demo", "--maps", str(tmp_path / "maps"), "--reports",
            str(tmp_path / "reports"))
    assert r.returncode == 0, r.stderr
    for name in ("cambridge", "rutland"):
        page = (tmp_path / "maps" / f"{name}.html").read_text()
        assert "iot-legend" in page and "catchment" in page
        rep = tmp_path / "reports" / name
        assert {"index.html", "map.html", "layers.gpkg", "tables.xlsx", "people.csv", "overlap.csv", "checks.csv",
                "hub_spoke.csv", "overview.png"} <= {p.name for p in rep.iterdir()}
        layers = {n for n, _ in pyogrio.list_layers(rep / "layers.gpkg")}
        assert {"sites", "catchments", "overlap"} <= layers
        assert len(gpd.read_file(rep / "layers.gpkg", layer="catchments")) > 0
        assert not [p for p in rep.parent.iterdir() if p.name.startswith(".")]  # nothing half-written left
    assert "cambridge" in r.stdout and "rutland" in r.stdout
    again = run("--data-dir", str(data_dir), "demo", "--maps", str(tmp_path / "maps"), "--reports",
                str(tmp_path / "reports"))
    assert again.returncode == 0 and again.stdout.count("reused from the cache") == 2


def test_catchment_cli_and_overlap_cli(tmp_path, data_dir):
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    out = tmp_path / "c.gpkg"
    r = run("catchment", "--network", net, "--minutes", "10", "15", "--site", "Oakham=52.6707,-0.7270",
            "-o", str(out), "--csv", str(tmp_path / "c.csv"))
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path / "c.csv")
    assert list(df["minutes"]) == [10, 15] and (df["people"] > 10_000).all()
    bad = run("catchment", "--network", net, "--minutes", "0", "--site", "Oakham=52.6707,-0.7270")
    assert bad.returncode == 2 and "minutes" in bad.stderr
    far = run("catchment", "--network", net, "--minutes", "10", "--site", "Leeds=53.8,-1.55")
    assert far.returncode == 2 and "'Leeds'" in far.stderr and "m from the nearest usable road" in far.stderr
    dup = run("catchment", "--network", net, "--minutes", "10", "--site", "A=52.67,-0.72", "--site", "A=52.6,-0.7")
    assert dup.returncode == 2 and "duplicate site id 'A'" in dup.stderr
    ov = run("overlap", "data/examples/rutland.yaml", "--network", net, "--minutes", "10", "15",
             "-o", str(tmp_path / "o.csv"))
    assert ov.returncode == 0, ov.stderr
    assert len(pd.read_csv(tmp_path / "o.csv")) >= 1
    chk = run("bids", "check", "data/examples/rutland.yaml", "-f", "csv")
    assert chk.returncode == 0 and "stem_levels" in chk.stdout
    same = run("overlap", "data/examples/rutland.yaml", "--network", net, "--minutes", "10",
               "-o", "data/examples/rutland.yaml")
    assert same.returncode == 2 and "one of the inputs" in same.stderr


def test_terminal_cells_read_as_a_person_would():
    import numpy as np

    from iot_geo.cli import format_cell

    assert format_cell(37462, "people") == "37,462"
    assert format_cell(np.int64(37462), "people_both") == "37,462"
    assert format_cell(37462.0, "area_people") == "37,462"
    assert format_cell(np.int64(2017), "vintage") == "2017"  # not a count: no separator
    assert format_cell(15, "minutes") == "15"
    assert format_cell(0.2512, "people_share_a") == "0.25"
    assert format_cell(float("nan"), "people") == "" and format_cell(None) == ""
    assert format_cell(True, "duplicate") == "True"
    assert format_cell(["digital", "construction"]) == "digital, construction"


def test_one_meaning_per_option(tmp_path):
    import openpyxl
    import yaml

    # -o is the main output, its format by suffix; --csv and --xlsx are side outputs of the same table
    r = run("bids", "check", "data/examples/cambridge.yaml", "-o", str(tmp_path / "checks.xlsx"),
            "--csv", str(tmp_path / "checks.csv"), "-f", "csv")
    assert r.returncode == 0, r.stderr
    printed = pd.read_csv(io.StringIO(r.stdout))
    assert pd.read_csv(tmp_path / "checks.csv", comment="#").equals(printed)
    sheet = openpyxl.load_workbook(tmp_path / "checks.xlsx").active
    assert [c.value for c in sheet[1]] == list(printed.columns) and sheet.max_row == len(printed) + 1
    bad = run("bids", "check", "data/examples/cambridge.yaml", "--csv", str(tmp_path / "checks.txt"))
    assert bad.returncode == 2 and "--csv" in bad.stderr and "name a .csv file" in bad.stderr
    # --bid is needed only when the file holds more than one bid
    two = run("hubspoke", "data/examples/rutland.yaml", "--network", "rutland-2022-07-20.osm.pbf", "--minutes", "10")
    assert two.returncode == 2 and "holds 2 bids (" in two.stderr and "--bid" in two.stderr
    doc = yaml.safe_load(Path("data/examples/rutland.yaml").read_text())
    doc["bids"] = [b for b in doc["bids"] if b["id"] == "stamford-iot"]
    one = tmp_path / "one.yaml"
    one.write_text(yaml.safe_dump(doc))
    ok = run("hubspoke", str(one), "--network", "rutland-2022-07-20.osm.pbf", "--minutes", "10", "-f", "csv",
             "-o", str(tmp_path / "hs.csv"))
    assert ok.returncode == 0, ok.stderr
    assert set(pd.read_csv(io.StringIO(ok.stdout))["bid_id"]) == {"stamford-iot"}
    assert (tmp_path / "hs.csv").is_file() and "people_only_here" in ok.stderr
    # flags read as flags in --help (typer's own --help line aside)
    for cmd in (["map"], ["report"], ["catchment"], ["overlap"], ["batch"]):
        h = run(*cmd, "--help")
        assert [line for line in h.stdout.splitlines() if "<bool>" in line and "--help" not in line] == [], cmd
    assert "--offline" in h.stdout or "--online" in run("map", "--help").stdout
