"""Every dataset file is checked against its catalogue sha256 when read (issue 11, finding 4).

The tests build a private data directory in ``tmp_path`` from symlinks to the
shared data, replace one file by an altered copy, and read through it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from iot_geo import ChecksumError, settings
from iot_geo.sources import catalogue
from iot_geo.sources.catalogue import ModifiedDataWarning, dataset_path, get_dataset

REPO = Path(__file__).resolve().parents[1]
CENTROIDS = get_dataset("lsoa_centroids").files[0].path
REGION_LOOKUP = get_dataset("lookup_lad_region").files[0].path


def mirror(src: Path, dest: Path) -> Path:
    """A data directory of symlinks to every file of ``src``."""
    for p in src.rglob("*"):
        if p.is_file():
            t = dest / p.relative_to(src)
            t.parent.mkdir(parents=True, exist_ok=True)
            t.symlink_to(p)
    return dest


def alter(root: Path, rel: str, change: Callable[[bytes], bytes]) -> Path:
    """Replace the symlink ``root/rel`` by a changed copy of what it points to."""
    p = root / rel
    data = p.read_bytes()
    p.unlink()
    p.write_bytes(change(data))
    return p


@pytest.fixture()
def own_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setattr(settings, "cache_dir", cache)
    monkeypatch.setattr(catalogue, "SHA_MEMO", {})
    return cache


def test_altered_file_is_an_error_naming_the_file_and_the_fix(tmp_path, data_dir, own_cache):
    from iot_geo import load_population

    root = mirror(data_dir, tmp_path / "data")
    alter(root, CENTROIDS, _move_first_centroid)
    with pytest.raises(ChecksumError) as info:
        load_population(data_dir=root)
    msg = str(info.value)
    assert Path(CENTROIDS).name in msg
    assert "`iot-geo data fetch lsoa_centroids`" in msg and "--allow-modified-data" in msg
    # the intact files of the same directory still read
    assert dataset_path("population2015", data_dir=root).name == Path(get_dataset("population2015").files[0].path).name


def _move_first_centroid(data: bytes) -> bytes:
    """Shift the first LSOA centroid's X (longitude) by exactly 0.01 degree."""
    lines = data.decode("utf-8-sig").splitlines(keepends=True)
    header = lines[0].strip().split(",")
    cells = lines[1].rstrip("\r\n").split(",")
    i = header.index("X")
    cells[i] = repr(float(cells[i]) + 0.01)
    lines[1] = ",".join(cells) + "\n"
    return "".join(lines).encode("utf-8")


def test_allow_modified_data_uses_the_file_warns_and_stamps(tmp_path, data_dir, own_cache, monkeypatch):
    from iot_geo import load_areas, provenance

    root = mirror(data_dir, tmp_path / "data")
    rel = get_dataset("lookup_lad17_ca2017").files[0].path
    altered = alter(root, rel, lambda b: b.replace(b",Greater Manchester,", b",Greater Manchester (altered),"))
    monkeypatch.setattr(settings, "allow_modified_data", True)
    with pytest.warns(ModifiedDataWarning, match=Path(rel).name):
        ca = load_areas("ca", 2017, data_dir=root)
    # the altered file is the one used
    assert "Greater Manchester (altered)" in set(ca["name"]) and "Greater Manchester" not in set(ca["name"])
    st = provenance.stamp(data_dir=root, call=[])
    entry = next(d for d in st["datasets"] if d["dataset"] == "lookup_lad17_ca2017")
    assert entry["sha256"] == hashlib.sha256(altered.read_bytes()).hexdigest()
    assert entry["modified"] is True
    assert [w for w in st["warnings"] if Path(rel).name in w and "allow-modified-data" in w]
    intact = next(d for d in st["datasets"] if d["dataset"] == "lad2017")
    assert "modified" not in intact


def test_unmodified_data_leaves_no_warning_in_the_stamp(data_dir, own_cache):
    from iot_geo import provenance

    dataset_path("lep2021", data_dir=data_dir)
    st = provenance.stamp(data_dir=data_dir, call=[])
    assert "warnings" not in st
    assert all("modified" not in d for d in st["datasets"])


def test_checksums_are_cached_by_size_and_mtime(tmp_path, data_dir, own_cache, monkeypatch):
    root = mirror(data_dir, tmp_path / "data")
    path = dataset_path("population2015", data_dir=root)
    cache_file = own_cache / catalogue.SHA_CACHE_FILE
    entries = json.loads(cache_file.read_text())
    target = str(path.resolve())
    st = path.stat()
    assert entries[target] == [st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()]

    # a new process (empty memory) trusts the cache file and hashes nothing
    monkeypatch.setattr(catalogue, "SHA_MEMO", {})
    calls: list[Path] = []
    real = catalogue.sha256_file
    monkeypatch.setattr(catalogue, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    assert dataset_path("population2015", data_dir=root) == path
    assert calls == []

    # a changed file (new size and mtime) is hashed again and refused
    alter(root, get_dataset("population2015").files[0].path, lambda b: b + b"\0")
    with pytest.raises(ChecksumError, match="iot-geo data fetch population2015"):
        dataset_path("population2015", data_dir=root)
    assert len(calls) == 1


def test_unwritable_cache_still_verifies(tmp_path, data_dir, monkeypatch):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setattr(settings, "cache_dir", blocker / "cache")
    monkeypatch.setattr(catalogue, "SHA_MEMO", {})
    root = mirror(data_dir, tmp_path / "data")
    assert dataset_path("lep2021", data_dir=root).is_file()
    alter(root, get_dataset("lep2021").files[0].path, lambda b: b + b" ")
    with pytest.raises(ChecksumError):
        dataset_path("lep2021", data_dir=root)


def test_every_file_of_a_shapefile_is_checked(tmp_path, data_dir, own_cache):
    root = mirror(data_dir, tmp_path / "data")
    dbf = next(f.path for f in get_dataset("lad2017").files if f.path.endswith(".dbf"))
    alter(root, dbf, lambda b: b[:-1] + bytes([b[-1] ^ 1]))
    with pytest.raises(ChecksumError, match=r"lad_2017dec_gb_sgc\.dbf.*iot-geo data fetch lad2017"):
        dataset_path("lad2017", data_dir=root)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iot_geo", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd)


def test_cli_refuses_modified_data_and_allows_it_on_request(tmp_path, data_dir):
    root = mirror(data_dir, tmp_path / "data")
    alter(root, REGION_LOOKUP, lambda b: b + b"\n")  # a blank line: still a readable CSV, but not the catalogue's
    bids = str(REPO / "data/examples/rutland.yaml")
    out = tmp_path / "checks.csv"
    r = _cli("--data-dir", str(root), "bids", "check", bids, "-o", str(out), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert Path(REGION_LOOKUP).name in r.stderr and "iot-geo data fetch lookup_lad_region" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()

    r = _cli("--data-dir", str(root), "--allow-modified-data", "bids", "check", bids, "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr.lower() and Path(REGION_LOOKUP).name in r.stderr
    st = json.loads((tmp_path / "checks.provenance.json").read_text())
    assert any(Path(REGION_LOOKUP).name in w for w in st["warnings"])
    region = next(d for d in st["datasets"] if d["dataset"] == "lookup_lad_region")
    assert region["modified"] is True


def test_network_and_timetable_files_in_the_data_directory_are_checked(tmp_path, data_dir, own_cache, monkeypatch):
    from iot_geo import load_network
    from iot_geo.transit import load_timetable

    root = mirror(data_dir, tmp_path / "data")
    monkeypatch.setattr(settings, "data_dir", root)
    pbf = alter(root, "osm/leeds-its-example-2020.osm.pbf", lambda b: b + b"\0")
    with pytest.raises(ChecksumError, match=r"leeds-its-example-2020.osm.pbf.*iot-geo data fetch osm_leeds_example"):
        load_network(pbf, mode="walk", cache=False)
    feed = alter(root, "gtfs/chester-20230816-small_gtfs.zip", lambda b: b + b"\0")
    with pytest.raises(ChecksumError, match=r"chester-20230816-small_gtfs.zip.*iot-geo data fetch gtfs_chester"):
        load_timetable(feed)
    # the same bytes outside the data directory are the user's own file: not a catalogue file, not checked
    own = tmp_path / "mine.osm.pbf"
    own.write_bytes(pbf.read_bytes())
    assert load_network(own, mode="walk", cache=False).n_nodes > 0
