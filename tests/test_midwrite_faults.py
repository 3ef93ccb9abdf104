"""Disk errors that strike in the middle of a write (after some bytes are on disk, not before).

Whatever the output (CSV, GeoPackage, HTML page, network cache), a failed write must leave either
nothing or the previous complete file under the output's name, and no temporary file behind.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from iot_geo import InvalidInputError, files, outputs
from iot_geo.errors import IotGeoError


class DiskFull:
    """A file object that lets ``limit`` bytes through to the real file, then fails as a full disk would."""

    def __init__(self, fh, limit: int) -> None:
        self._fh = fh
        self._left = limit

    def write(self, data):
        size = len(data.encode("utf-8") if isinstance(data, str) else data)
        if size > self._left:
            part = data[: self._left]
            self._fh.write(part)
            self._fh.flush()
            self._left = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._left -= size
        return self._fh.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False

    def __iter__(self):
        return iter(self._fh)

    def __getattr__(self, name):
        return getattr(self._fh, name)


def fail_writes_under(monkeypatch, folder: Path, limit: int) -> list[str]:
    """Make every file opened for writing under ``folder`` fail after ``limit`` bytes; returns their names."""
    real_open, real_fdopen = builtins.open, os.fdopen
    opened: list[str] = []

    def wrapped(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        if isinstance(file, str | os.PathLike) and any(m in mode for m in "wax") and \
                Path(os.fspath(file)).resolve().is_relative_to(folder.resolve()):
            opened.append(Path(os.fspath(file)).name)
            return DiskFull(fh, limit)
        return fh

    def wrapped_fdopen(fd, mode="r", *args, **kwargs):
        fh = real_fdopen(fd, mode, *args, **kwargs)
        if any(m in mode for m in "wax"):
            opened.append(f"fd:{fd}")
            return DiskFull(fh, limit)
        return fh

    monkeypatch.setattr(builtins, "open", wrapped)
    monkeypatch.setattr(io, "open", wrapped)
    monkeypatch.setattr(os, "fdopen", wrapped_fdopen)
    return opened


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


TABLE = pd.DataFrame({"bid": [f"bid-{i}" for i in range(2000)], "people": np.arange(2000) * 1.5})


def test_csv_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    out = tmp_path / "people.csv"
    outputs.write_csv(TABLE.head(3), out)
    before = out.read_bytes()
    opened = fail_writes_under(monkeypatch, tmp_path, limit=4096)
    with pytest.raises(InvalidInputError, match=r"people\.csv.*No space left"):
        outputs.write_csv(TABLE, out)
    monkeypatch.undo()
    assert opened, "the fault was never injected"
    assert out.read_bytes() == before  # the old complete file, not a half-written new one
    assert listing(tmp_path) == ["people.csv"]


def test_csv_mid_write_with_provenance_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "new.csv"
    fail_writes_under(monkeypatch, tmp_path, limit=100)
    with pytest.raises(InvalidInputError, match="No space left"):
        outputs.write_csv(TABLE, out, provenance={"tool": "iot-geo"})
    monkeypatch.undo()
    assert listing(tmp_path) == []


def test_html_mid_write_keeps_the_previous_page(tmp_path, monkeypatch):
    out = tmp_path / "map.html"
    files.write_text("<html>old</html>", out)
    fail_writes_under(monkeypatch, tmp_path, limit=10)
    with pytest.raises(InvalidInputError, match="No space left"):
        files.write_text("<html>" + "x" * 100_000 + "</html>", out)
    monkeypatch.undo()
    assert out.read_text() == "<html>old</html>" and listing(tmp_path) == ["map.html"]


def test_saved_map_mid_write(tmp_path, monkeypatch):
    import folium

    from iot_geo.maps import save_map

    out = tmp_path / "m.html"
    fail_writes_under(monkeypatch, tmp_path, limit=1000)
    with pytest.raises(InvalidInputError, match="No space left"):
        save_map(folium.Map(location=(52.6, -0.7)), out)
    monkeypatch.undo()
    assert listing(tmp_path) == []


LAYER = gpd.GeoDataFrame({"name": [f"s{i}" for i in range(500)]},
                         geometry=[Point(480_000 + i, 300_000) for i in range(500)], crs=27700)


def test_gpkg_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    """GDAL writes the GeoPackage itself: the fault truncates what it wrote and fails the second layer."""
    import pyogrio

    out = tmp_path / "layers.gpkg"
    outputs.write_gpkg({"sites": LAYER.head(2)}, out)
    before = out.read_bytes()
    real = pyogrio.write_dataframe
    calls = []

    def half_then_full(df, path, *args, **kwargs):
        calls.append(path)
        real(df, path, *args, **kwargs)
        if len(calls) == 2:  # the second layer: half its bytes reach the disk, then the disk is full
            size = os.path.getsize(path)
            with open(path, "r+b") as fh:
                fh.truncate(size // 2)
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pyogrio, "write_dataframe", half_then_full)
    with pytest.raises(InvalidInputError, match=r"layers\.gpkg.*No space left"):
        outputs.write_gpkg({"sites": LAYER, "table": pd.DataFrame({"a": range(500)})}, out)
    monkeypatch.undo()
    assert len(calls) == 2
    assert out.read_bytes() == before and listing(tmp_path) == ["layers.gpkg"]
    assert list(pyogrio.list_layers(out)[:, 0]) == ["sites"]


def test_gpkg_provenance_table_failure(tmp_path, monkeypatch):
    import sqlite3

    out = tmp_path / "p.gpkg"

    def no_space(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite3, "connect", no_space)
    with pytest.raises(Exception, match="disk is full"):
        outputs.write_gpkg({"sites": LAYER}, out, provenance={"tool": "iot-geo"})
    monkeypatch.undo()
    assert listing(tmp_path) == []


def test_network_cache_mid_write_leaves_no_entry_and_rebuilds(tmp_path, monkeypatch):
    from test_network import write_osm

    from iot_geo.network import load_network

    cache = tmp_path / "cache"
    monkeypatch.setenv("IOT_GEO_CACHE", str(cache))
    osm = write_osm(tmp_path / "oakham.osm")
    opened = fail_writes_under(monkeypatch, cache, limit=2000)
    import warnings

    # a full disk may fail the call or only skip the cache with a warning: either way no bad entry
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            load_network(osm, mode="drive", speeds=60.0)
        except (OSError, IotGeoError) as exc:
            assert "No space left" in str(exc)
        else:
            assert any("No space left" in str(w.message) for w in caught)
    assert opened
    monkeypatch.undo()
    monkeypatch.setenv("IOT_GEO_CACHE", str(cache))
    assert listing(cache / "networks") == []  # no half-written entry and no temporary file
    net = load_network(osm, mode="drive", speeds=60.0)
    assert not net.source["cached"]
    again = load_network(osm, mode="drive", speeds=60.0)
    assert again.source["cached"] and np.array_equal(again.edge_minutes, net.edge_minutes)


def test_a_csv_that_fails_to_land_leaves_no_provenance_stamp_beside_the_old_table(tmp_path, monkeypatch):
    """The stamp goes beside the CSV only once the CSV itself is in place: never a new stamp on an old table."""
    out = tmp_path / "people.csv"
    outputs.write_csv(pd.DataFrame({"a": [1]}), out, provenance={"run": "old"})
    old_csv, old_stamp = out.read_text(), (tmp_path / "people.provenance.json").read_text()
    real_replace = os.replace

    def fail_for_the_csv(src, dst):
        if Path(dst).name == "people.csv":
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", fail_for_the_csv)
    with pytest.raises(InvalidInputError):
        outputs.write_csv(pd.DataFrame({"a": [2]}), out, provenance={"run": "new"})
    assert out.read_text() == old_csv
    assert (tmp_path / "people.provenance.json").read_text() == old_stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv", "people.provenance.json"]
