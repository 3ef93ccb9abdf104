"""Real-scale networks: found by name, one-way-aware snapping, honest coverage (issue 12)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

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
