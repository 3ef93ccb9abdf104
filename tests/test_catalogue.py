"""The dataset catalogue and `fetch`, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from iot_geo import ChecksumError, DataNotFoundError, DownloadError, InvalidInputError
from iot_geo.sources import catalogue
from iot_geo.sources.catalogue import DATASETS, check, dataset_path, fetch, get_dataset, sha256_file


class _CutHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files, but sends only the first half of each body and then hangs up."""

    def copyfile(self, source, outputfile):  # type: ignore[override]
        data = source.read()
        outputfile.write(data[: len(data) // 2])
        outputfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def log_message(self, *args):  # keep test output quiet
        pass


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(directory: Path, handler: type) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def mirror(data_dir) -> Iterator[str]:
    yield from _serve(data_dir, _QuietHandler)


def test_catalogue_entries_are_complete(data_dir):
    for ds in DATASETS:
        assert ds.title and ds.publisher and ds.vintage and ds.licence and ds.attribution, ds.name
        assert ds.kind in {"official", "third_party", "derived", "prepared"}
        for f in ds.files:
            assert len(f.sha256) == 64
            if ds.kind in ("official",):
                assert f.source_url and f.source_url.startswith("https://"), ds.name
    assert get_dataset("providers_ks5").kind == "third_party" and not get_dataset("providers_ks5").downloadable
    assert get_dataset("lookup_lad17_lep2017").derived_from == ("lookup_lsoa11_lep2017", "lookup_lsoa11_lad2017")


def test_check_on_shared_data_all_intact(data_dir):
    statuses = check(data_dir=data_dir)
    assert {s.status for s in statuses} == {"ok"}
    assert len(statuses) == sum(len(d.files) for d in DATASETS)


def test_fetch_from_local_mirror(tmp_path, mirror, data_dir):
    paths = fetch(["lep2021", "lookup_lad17_ca2017", "lad2017"], data_dir=tmp_path, base_url=mirror,
                  show_progress=False)
    assert len(paths) == 7
    for p in paths:
        rel = p.relative_to(tmp_path)
        assert sha256_file(p) == sha256_file(data_dir / rel)
    assert not list(tmp_path.rglob("*.part"))
    # a second fetch finds the intact files and downloads nothing
    again = fetch(["lep2021"], data_dir=tmp_path, base_url="http://127.0.0.1:9", show_progress=False)
    assert again == [tmp_path / "boundaries/lep_2021may_en_buc.geojson"]


def test_fetch_builds_derived_table_from_its_inputs(tmp_path, mirror, data_dir):
    fetch(["lookup_lad17_lep2017"], data_dir=tmp_path, base_url=mirror, show_progress=False)
    built = pd.read_csv(tmp_path / "boundaries/lookup_lad17_lep17_en_derived.csv", dtype=str, keep_default_na=False)
    ref = pd.read_csv(data_dir / "boundaries/lookup_lad17_lep17_en_derived.csv", dtype=str, keep_default_na=False)
    assert built[["LAD17CD", "LEP17CD1", "LEP17CD2", "RELATION"]].equals(ref[["LAD17CD", "LEP17CD1", "LEP17CD2", "RELATION"]])
    assert (tmp_path / "boundaries/lookup_lsoa11_lep17_apr2017_en_v2.csv").is_file()


def test_fetch_refuses_wrong_checksum(tmp_path, data_dir):
    served = tmp_path / "served"
    target = served / "boundaries/lookup_lad17_cauth17_mar2017_en.csv"
    target.parent.mkdir(parents=True)
    body = (data_dir / "boundaries/lookup_lad17_cauth17_mar2017_en.csv").read_bytes()
    target.write_bytes(body.replace(b"Bolton", b"Boltan"))  # same size, different bytes
    dest = tmp_path / "data"
    for base in _serve(served, _QuietHandler):
        with pytest.raises(ChecksumError, match="does not match"):
            fetch(["lookup_lad17_ca2017"], data_dir=dest, base_url=base, show_progress=False)
    assert not (dest / "boundaries/lookup_lad17_cauth17_mar2017_en.csv").exists()
    assert not list(dest.rglob("*.part"))


def test_fetch_survives_server_dying_mid_file(tmp_path, data_dir):
    dest = tmp_path / "data"
    for base in _serve(data_dir, _CutHandler):
        with pytest.raises(DownloadError, match="nothing was written"):
            fetch(["lep2021"], data_dir=dest, base_url=base, show_progress=False)
    assert not (dest / "boundaries/lep_2021may_en_buc.geojson").exists()
    assert not list(dest.rglob("*.part"))


def test_fetch_404_and_unreachable(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for base in _serve(empty, _QuietHandler):
        with pytest.raises(DownloadError, match="HTTP 404"):
            fetch(["lep2021"], data_dir=tmp_path / "d", base_url=base, show_progress=False)
    with pytest.raises(DownloadError):
        fetch(["lep2021"], data_dir=tmp_path / "d", base_url="http://127.0.0.1:9", show_progress=False)


def test_fetch_refuses_datasets_without_address(tmp_path):
    with pytest.raises(InvalidInputError, match="no download address"):
        fetch(["providers_ks5"], data_dir=tmp_path, show_progress=False)
    with pytest.raises(InvalidInputError, match="unknown dataset 'nope'"):
        fetch(["nope"], data_dir=tmp_path, show_progress=False)


def test_check_reports_missing_corrupt_and_rebuildable(tmp_path, data_dir):
    for name in ("lookup_lsoa11_lep2017", "lookup_lsoa11_lad2017", "lep2021"):
        for f in get_dataset(name).files:
            (tmp_path / f.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(data_dir / f.path, tmp_path / f.path)
    (tmp_path / "boundaries/lep_2021may_en_buc.geojson").write_bytes(b"{}")
    status = {s.dataset: s.status for s in check(data_dir=tmp_path)}
    assert status["lep2021"] == "corrupt"
    assert status["lookup_lad17_lep2017"] == "rebuildable"
    assert status["lad2021"] == "missing"
    assert status["lookup_lsoa11_lep2017"] == "ok"


def test_missing_file_error_names_directory_and_fix(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"lep_2021may_en_buc.geojson not found in .*boundaries.*data fetch lep2021"):
        dataset_path("lep2021", data_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        dataset_path("lep2021", data_dir=tmp_path / "nowhere")
    assert catalogue.get_dataset("lep2021").downloadable


def test_corrupted_layer_is_one_clear_error(tmp_path, data_dir, monkeypatch):
    from iot_geo import load_areas, settings

    for name in ("lep2021",):
        for f in get_dataset(name).files:
            (tmp_path / f.path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / f.path).write_bytes((data_dir / f.path).read_bytes()[:5000])  # cut short
    # the checksum on read catches it first
    with pytest.raises(ChecksumError, match=r"lep_2021may_en_buc.geojson.*iot-geo data fetch lep2021"):
        load_areas("lep", 2021, data_dir=tmp_path)
    # read anyway, the reader's failure is still one clear error
    monkeypatch.setattr(settings, "allow_modified_data", True)
    with pytest.warns(UserWarning), pytest.raises(InvalidInputError,
                                                  match=r"unreadable as lep2021.*data fetch --force lep2021"):
        load_areas("lep", 2021, data_dir=tmp_path)
