"""Nothing lost, nothing injected, nothing silently wrong (issue 11, items 1, 3, 5 and 8).

Outputs never replace what iot-geo did not write; spreadsheet cells never run;
temporary files are unique and a full or read-only disk is one clear line;
people counts are integers everywhere.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import socket
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from iot_geo import files, settings
from iot_geo.errors import InvalidInputError

REPO = Path(__file__).resolve().parents[1]
HOSTILE = ['=HYPERLINK("http://x","y")', "=1+1", "=cmd|'/C calc'!A1", "+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
           "\tTab", "\rCR", "'=quoted already", "''=two quotes", "'plain quote", "O'Neil", "-", "normal"]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iot_geo", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def fake_data_dir(tmp_path, monkeypatch):
    """A data directory of our own, so a failing test can never write into the shared data."""
    d = tmp_path / "data"
    (d / "boundaries").mkdir(parents=True)
    (d / "boundaries" / "keep.csv").write_text("a\n1\n")
    monkeypatch.setattr(settings, "data_dir", d)
    return d


# ------------------------------------------------------------ 1. outputs are regular files or new paths
def _special_outputs(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock.csv"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock_path))
    s.close()
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    out = {"fifo": fifo, "socket": sock_path, "folder": folder}
    if Path("/dev/full").exists():
        out["device"] = Path("/dev/full")
    return out


def test_every_writer_refuses_devices_fifos_sockets_and_folders(tmp_path):
    from iot_geo import outputs

    specials = _special_outputs(tmp_path)
    before = {k: os.stat(p).st_mode for k, p in specials.items()}
    df = pd.DataFrame({"a": [1]})
    writers = {
        "csv": lambda p: outputs.write_csv(df, p),
        "text": lambda p: files.write_text("x", p),
        "gpkg": lambda p: outputs.write_gpkg({"t": df}, p),
        "xlsx": lambda p: outputs.write_xlsx({"t": df}, p),
    }
    for kind, p in specials.items():
        for wname, write in writers.items():
            with pytest.raises(InvalidInputError) as info:
                write(p)
            msg = str(info.value)
            assert str(p) in msg and "\n" not in msg, (kind, wname, msg)
            assert os.stat(p).st_mode == before[kind], (kind, wname)  # still the device, FIFO, socket, folder
    assert (tmp_path / "folder.csv" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.csv", "folder.csv", "sock.csv"]  # no temp left


def test_outputs_into_the_data_directory_are_refused(fake_data_dir, tmp_path):
    from iot_geo import outputs

    df = pd.DataFrame({"a": [1]})
    for target in (fake_data_dir, fake_data_dir / "boundaries" / "keep.csv", fake_data_dir / "new.csv",
                   fake_data_dir / "boundaries" / "sub" / "x.csv"):
        with pytest.raises(InvalidInputError, match="data directory"):
            outputs.write_csv(df, target)
    assert (fake_data_dir / "boundaries" / "keep.csv").read_text() == "a\n1\n"
    assert sorted(str(p.relative_to(fake_data_dir)) for p in fake_data_dir.rglob("*")) == [
        "boundaries", "boundaries/keep.csv"]
    # a link that leads into the data directory is refused too
    link = tmp_path / "link.csv"
    link.symlink_to(fake_data_dir / "boundaries" / "keep.csv")
    with pytest.raises(InvalidInputError, match="data directory"):
        outputs.write_csv(df, link)
    assert (fake_data_dir / "boundaries" / "keep.csv").read_text() == "a\n1\n"


def test_regular_file_outputs_are_still_replaced(tmp_path):
    from iot_geo import outputs

    p = tmp_path / "t.csv"
    p.write_text("old\n")
    outputs.write_csv(pd.DataFrame({"a": [1, 2]}), p)
    assert p.read_text() == "a\n1\n2\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["t.csv"]


def test_cli_outputs_refuse_fifo_and_device_before_any_work(tmp_path, data_dir):
    fifo = tmp_path / "o.csv"
    os.mkfifo(fifo)
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    r = run("overlap", "data/examples/rutland.yaml", "--network", net, "--minutes", "10", "-o", str(fifo))
    assert r.returncode == 2 and str(fifo) in one_line(r.stderr)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    m = run("map", "data/examples/rutland.yaml", "--network", net, "--minutes", "10", "-o", str(fifo))
    assert m.returncode == 2 and str(fifo) in one_line(m.stderr)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# ------------------------------------------------------------ 1. report folders
def _hostile_bids(tmp_path: Path) -> Path:
    doc = yaml.safe_load((REPO / "data/examples/rutland.yaml").read_text())
    doc["bids"][0]["name"] = '=HYPERLINK("http://x","y")'
    doc["bids"][0]["lead"] = "=1+1"
    doc["bids"][1]["name"] = "=cmd|'/C calc'!A1"
    p = tmp_path / "hostile.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


@pytest.fixture(scope="module")
def analysis(tmp_path_factory, data_dir):
    from iot_geo import load_network, report
    from iot_geo.bids import read_bids

    bids = read_bids(_hostile_bids(tmp_path_factory.mktemp("bids")))
    net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return report.analyse(bids, net, minutes=[10])


@pytest.fixture(scope="module")
def written_report(analysis, tmp_path_factory):
    from iot_geo import report

    folder = tmp_path_factory.mktemp("written") / "rep"
    report.write_report(analysis, folder)
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_report_never_replaces_a_folder_it_did_not_write(analysis, tmp_path):
    from iot_geo import report

    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    (mine / "sub" / "keep.txt").write_text("keep")
    before = _tree(mine)
    for overwrite in (False, True):
        with pytest.raises(InvalidInputError) as info:
            report.write_report(analysis, mine, overwrite=overwrite)
        assert str(mine) in str(info.value) and "\n" not in str(info.value)
        assert _tree(mine) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no hidden partial folder left


def test_report_goes_into_an_empty_folder_the_user_made_but_not_one_with_a_hidden_file(analysis, tmp_path):
    from iot_geo import report

    empty = tmp_path / "out"
    empty.mkdir()  # `mkdir out && iot-geo report ... -o out`: nothing there to lose
    report.write_report(analysis, empty)
    assert (empty / "index.html").is_file() and (empty / files.FOLDER_MARKER).is_file()
    hidden = tmp_path / "dotted"
    hidden.mkdir()
    (hidden / ".keep").write_text("")
    with pytest.raises(InvalidInputError, match="not written by iot-geo"):
        report.write_report(analysis, hidden)
    assert [p.name for p in hidden.iterdir()] == [".keep"]


def test_report_replaces_its_own_report_only_with_overwrite(analysis, written_report, tmp_path):
    import shutil

    from iot_geo import report

    folder = tmp_path / "rep"
    shutil.copytree(written_report, folder)
    assert (folder / "index.html").is_file() and (folder / "tables.xlsx").is_file()
    with pytest.raises(InvalidInputError, match="--overwrite"):
        report.write_report(analysis, folder)
    (folder / "index.html").write_text("stale")
    report.write_report(analysis, folder, overwrite=True)
    assert (folder / "index.html").read_text() != "stale"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    # a file the user put into an old report is never deleted: the folder is refused, naming the file
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match=r"notes\.txt"):
        report.write_report(analysis, folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine"


def test_report_from_before_the_marker_is_recognised_by_its_provenance_stamp(analysis, tmp_path):
    from iot_geo import report

    folder = tmp_path / "old"
    report.write_report(analysis, folder, provenance={"iot_geo_version": "0.1.0"})
    (folder / files.FOLDER_MARKER).unlink()  # as an earlier version wrote it
    with pytest.raises(InvalidInputError, match="--overwrite"):
        report.write_report(analysis, folder)
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match=r"keep\.txt"):
        report.write_report(analysis, folder, overwrite=True)
    (folder / "keep.txt").unlink()
    report.write_report(analysis, folder, overwrite=True)
    assert (folder / files.FOLDER_MARKER).is_file()
    # a page without iot-geo's stamp is not a report of ours
    page = folder / "index.html"
    page.write_text(page.read_text().replace('id="iot-geo-provenance"', 'id="something"'))
    (folder / files.FOLDER_MARKER).unlink()
    with pytest.raises(InvalidInputError, match="not written by iot-geo"):
        report.write_report(analysis, folder, overwrite=True)


def test_report_into_current_folder_data_dir_or_file_is_one_clear_error(analysis, tmp_path, monkeypatch,
                                                                        fake_data_dir):
    from iot_geo import report

    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("x")
    a_file = tmp_path / "file"
    a_file.write_text("f")
    for target in (Path("."), Path(".."), fake_data_dir, fake_data_dir / "boundaries" / "rep", a_file):
        with pytest.raises(InvalidInputError) as info:
            report.write_report(analysis, target, overwrite=True)
        assert "\n" not in str(info.value)
    assert (tmp_path / "x.txt").read_text() == "x" and a_file.read_text() == "f"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "file", "x.txt"]


def test_killed_report_partial_folders_are_cleaned_only_when_ours_and_dead(analysis, tmp_path):
    from iot_geo import report

    target = tmp_path / "rep"
    stale = files.partial_folder(target)  # what a killed run leaves behind
    (stale / "index.html").write_text("half")
    users = tmp_path / ".rep.backup"
    users.mkdir()
    (users / "mine.txt").write_text("mine")
    busy = files.partial_folder(target)  # another run, still writing: it holds the lock
    fd = files.lock_folder(busy)
    try:
        report.write_report(analysis, target)
        assert not stale.exists() and busy.is_dir()
    finally:
        os.close(fd)
    assert (users / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rep.backup", busy.name, "rep"]


def test_cli_report_refuses_existing_folder_fifo_and_dot_in_one_line(tmp_path, data_dir):
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    (mine / "sub" / "keep.txt").write_text("keep")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target, extra in ((str(mine), []), (str(mine), ["--overwrite"]), (str(fifo), []), (".", [])):
        r = run("report", "data/examples/rutland.yaml", "--network", net, "--minutes", "10", "-o", target, *extra,
                cwd=REPO if target != "." else tmp_path) if target != "." else \
            run("report", str(REPO / "data/examples/rutland.yaml"), "--network", net, "--minutes", "10", "-o", ".",
                cwd=tmp_path)
        assert r.returncode == 2, (target, r.stderr)
        line = one_line(r.stderr)
        assert "error" in line and (target in line or target == "."), line
    assert (mine / "notes.txt").read_text() == "my notes" and (mine / "sub" / "keep.txt").read_text() == "keep"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "mine"]


# ------------------------------------------------------------ 3. formula injection
def test_csv_neutralises_formulas_and_reads_them_back(tmp_path):
    from iot_geo import outputs

    df = pd.DataFrame({"name": HOSTILE, "n": range(-len(HOSTILE) // 2, len(HOSTILE) - len(HOSTILE) // 2),
                       "x": np.linspace(-1.5, 1.5, len(HOSTILE))})
    p = outputs.write_csv(df, tmp_path / "t.csv")
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    for cell in raw["name"]:
        assert cell == "+1" or not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell  # "+1" is a number
    assert raw.loc[1, "name"] == "'=1+1" and raw.loc[8, "name"] == "''=quoted already"
    assert raw.loc[13, "name"] == "normal" and raw.loc[10, "name"] == "'plain quote"
    assert raw.loc[0, "n"] == "-7" and raw.loc[0, "x"] == "-1.5"  # numbers stay numbers
    back = outputs.read_csv(p)
    assert list(back["name"]) == HOSTILE
    assert back["n"].tolist() == df["n"].tolist()
    # the terminal's CSV is neutralised the same way
    from iot_geo.cli import emit

    buf = io.StringIO()
    old, sys.stdout = sys.stdout, buf
    try:
        emit(df, "csv")
    finally:
        sys.stdout = old
    assert list(outputs.unneutralise(pd.read_csv(io.StringIO(buf.getvalue()), dtype=str,
                                                 keep_default_na=False))["name"]) == HOSTILE
    assert "\n'=1+1," in buf.getvalue() and ",-7," in buf.getvalue()


def test_xlsx_text_cells_are_always_strings(tmp_path):
    import openpyxl

    from iot_geo import outputs

    p = outputs.write_xlsx({"t": pd.DataFrame({"name": HOSTILE, "n": range(len(HOSTILE))})}, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(p)["t"]
    cells = [ws.cell(row=i + 2, column=1) for i in range(len(HOSTILE))]
    assert [c.data_type for c in cells] == ["s"] * len(HOSTILE)
    assert [c.value for c in cells] == [h.replace("\r", "\n") for h in HOSTILE]  # XML reads a lone CR as LF
    assert ws.cell(row=3, column=2).data_type == "n"


def test_report_tables_hold_bid_names_as_text(written_report):
    import openpyxl

    wb = openpyxl.load_workbook(written_report / "tables.xlsx")
    formulas = [(ws.title, c.coordinate, c.value) for ws in wb for row in ws.iter_rows() for c in row
                if c.data_type == "f"]
    assert formulas == []
    bids = wb["bids"]
    names = [bids.cell(row=r, column=2).value for r in range(2, bids.max_row + 1)]
    assert names == ['=HYPERLINK("http://x","y")', "=cmd|'/C calc'!A1"]
    raw = (written_report / "bids.csv").read_text()
    assert ",'=1+1," in raw and '"\'=HYPERLINK(""http://x"",""y"")"' in raw


def test_bid_csv_reader_reads_neutralised_cells_back(tmp_path):
    from iot_geo import outputs
    from iot_geo.bids import read_bids

    outputs.write_csv(pd.DataFrame([{"id": "evil", "name": "=1+1", "lead": "@lead", "lead_type": "fe_college",
                                     "lep": "Greater Lincolnshire", "routes": "engineering_manufacturing",
                                     "levels": "4;5"}]), tmp_path / "bids.csv")
    outputs.write_csv(pd.DataFrame([{"bid_id": "evil", "id": "hub", "name": "-Hub+", "role": "hub",
                                     "lat": 52.6707, "lon": -0.7270}]), tmp_path / "sites.csv")
    assert "'=1+1" in (tmp_path / "bids.csv").read_text()
    b = read_bids(tmp_path / "bids.csv")
    assert b["evil"].name == "=1+1" and b["evil"].lead == "@lead"
    assert list(b["evil"].sites["name"]) == ["-Hub+"]


# ------------------------------------------------------------ 5. temporary files, races, full and read-only disks
def test_population_cache_temp_names_are_unique(tmp_path, monkeypatch):
    from iot_geo.sources import population

    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    population.forget_loaded()
    seen: list[str] = []
    real = pd.DataFrame.to_csv

    def spy(self, path=None, *a, **k):
        seen.append(str(path))
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", spy)
    try:
        population.load_population()
    finally:
        population.forget_loaded()
    (cache,) = tmp_path.glob("population-*.csv")
    assert len(seen) == 1 and Path(seen[0]).parent == tmp_path
    # not the one fixed name every process shared (``NAME.part``), but one of mkstemp's own
    assert seen[0] != str(cache) + ".part" and Path(seen[0]).name.startswith(f".{cache.name}.iot-geo-")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


CONCURRENT = """
import hashlib, sys
from iot_geo.sources.population import load_population
from iot_geo import load_network
p = load_population()
net = load_network(sys.argv[1])
print(hashlib.sha256(p.to_csv().encode()).hexdigest(), net.n_nodes, net.n_edges, net.source["cached"])
"""


def test_four_concurrent_first_runs_on_an_empty_cache(tmp_path, data_dir):
    cache = tmp_path / "cache"
    env = {**os.environ, "IOT_GEO_CACHE": str(cache)}
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, net], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    # the same population and network in every process (a process that starts late may already find the network
    # another one cached: that is allowed, and says so)
    assert len({tuple(o.split()[:3]) for o, _ in results}) == 1
    # the caches they left give the same answers
    from iot_geo import load_network
    from iot_geo.sources import population

    old = settings.cache_dir
    settings.cache_dir = cache
    population.forget_loaded()
    try:
        pop = population.load_population()
        again = load_network(net)
    finally:
        settings.cache_dir = old
        population.forget_loaded()
    digest = hashlib.sha256(pop.to_csv().encode()).hexdigest()
    assert results[0][0].split()[:3] == [digest, str(again.n_nodes), str(again.n_edges)]
    assert "False" in {o.split()[3] for o, _ in results}  # at least the first built it
    assert again.source["cached"]
    leftovers = [str(p.relative_to(cache)) for p in cache.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_read_only_cache_builds_in_memory_with_one_warning(tmp_path, monkeypatch, data_dir):
    from iot_geo import load_network
    from iot_geo.sources import population

    cache = tmp_path / "cache"
    monkeypatch.setattr(settings, "cache_dir", cache)
    real = files.tempfile.mkstemp

    def read_only(*a, dir=None, **k):
        if dir is not None and Path(dir).resolve().is_relative_to(cache.resolve()):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    files.CACHE_WARNED.clear()
    population.forget_loaded()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pop = population.load_population()
            net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    finally:
        population.forget_loaded()
    assert len(pop) == 34_753 and net.n_nodes > 1000
    msgs = [str(w.message) for w in caught]
    assert len(msgs) == 1 and str(cache) in msgs[0] and "Read-only" in msgs[0] and "memory" in msgs[0], msgs
    assert [p for p in cache.rglob("*") if p.is_file()] == []


def test_unusable_cache_from_the_cli_is_one_warning(tmp_path, data_dir):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = run("catchment", "--network", str(data_dir / "osm/rutland-2022-07-20.osm.pbf"), "--minutes", "10",
            "--site", "Oakham=52.6707,-0.7270", "-f", "csv", env={"IOT_GEO_CACHE": str(blocker / "cache")})
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning:") and str(blocker) in lines[0], r.stderr
    assert int(pd.read_csv(io.StringIO(r.stdout))["people"].iloc[0]) > 10_000


def _partial_then_enospc(nbytes: int = 100):
    """A writer that puts ``nbytes`` on disk and then finds the disk full."""

    def write(path: str | os.PathLike[str], payload: bytes) -> None:
        with open(path, "wb") as fh:
            fh.write(payload[:nbytes])
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


class _FullDisk(io.StringIO):
    """A text file that takes ``room`` characters onto the disk and then finds the disk full."""

    def __init__(self, path, room: int) -> None:
        super().__init__()
        self.path, self.room = path, room

    def write(self, text: str) -> int:
        Path(self.path).write_text(text[:self.room])
        raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    from iot_geo import outputs

    df = pd.DataFrame({"name": ["a", "b"] * 50, "n": range(100)})
    monkeypatch.setattr(outputs, "open", lambda path, *a, **k: _FullDisk(path, 100), raising=False)
    old = tmp_path / "t.csv"
    old.write_text("previous\n")
    with pytest.raises(InvalidInputError) as info:
        outputs.write_csv(df, old)
    msg = str(info.value)
    assert "\n" not in msg and str(old) in msg and "No space left" in msg and "not written" in msg
    assert old.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
    monkeypatch.undo()

    import pyogrio

    real_write = pyogrio.write_dataframe

    def gdal_full(frame, path, *a, **k):
        real_write(frame, path, *a, **k)
        raise pyogrio.errors.DataSourceError(f"sqlite3_exec(COMMIT) failed: database or disk is full ({path})")

    monkeypatch.setattr(pyogrio, "write_dataframe", gdal_full)
    with pytest.raises(InvalidInputError) as info:
        outputs.write_gpkg({"t": df}, tmp_path / "t.gpkg")
    assert "\n" not in str(info.value) and str(tmp_path / "t.gpkg") in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_full_disk_in_the_cache_is_one_warning_and_leaves_nothing(tmp_path, monkeypatch, data_dir):
    from iot_geo import load_network
    from iot_geo.sources import population

    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    files.CACHE_WARNED.clear()
    real_to_csv = pd.DataFrame.to_csv
    enospc = _partial_then_enospc(1000)

    def to_csv(self, path=None, *a, **k):
        if path is None:
            return real_to_csv(self, path, *a, **k)
        enospc(path, real_to_csv(self, None, *a, **k).encode())

    real_savez = np.savez

    def savez(fh, **arrays):
        buf = io.BytesIO()
        real_savez(buf, **arrays)
        fh.write(buf.getvalue()[:5000])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    monkeypatch.setattr(np, "savez", savez)
    population.forget_loaded()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pop = population.load_population()
            net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf", cache=True)
    finally:
        population.forget_loaded()
    assert len(pop) == 34_753 and net.n_nodes > 1000
    msgs = [str(w.message) for w in caught]
    assert len(msgs) == 1 and "No space left" in msgs[0] and str(tmp_path) in msgs[0], msgs
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_no_fixed_temporary_names_left_in_the_code():
    hits = []
    for p in (REPO / "iot_geo").rglob("*.py"):
        text = p.read_text()
        for needle in ('+ ".part"', '.part")', ".part.png", "os.replace("):
            if needle in text and p.name != "files.py":
                hits.append(f"{p.name}: {needle}")
    assert hits == []


# ------------------------------------------------------------ 8. people counts are integers
PEOPLE = ("people", "people_16_59", "people_both", "people_alone", "people_only_here", "people_with_site",
          "people_16_59_alone", "area_people", "people_unknown", *(f"imd_{d}" for d in range(1, 11)))


def _people_cols(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c in PEOPLE]


def test_library_tables_hold_people_as_integers(analysis):
    from iot_geo.catchment import people_reached

    tables = {"catchments": analysis.catchments.table, "overlap": analysis.overlap, "hub_spoke": analysis.hub_spoke,
              "people": analysis.people_table(),
              "reached": people_reached(analysis.networks[0], {"Oakham": (52.6707, -0.7270)}, minutes=[10])}
    for name, df in tables.items():
        cols = _people_cols(df)
        assert cols, name
        for c in cols:
            assert pd.api.types.is_integer_dtype(df[c]), (name, c, df[c].dtype)
    # the figure is the sum of the population file's people over the reached LSOAs (a whole number)
    assert int(tables["reached"]["people"].iloc[0]) == tables["reached"]["people"].iloc[0] > 10_000


def test_every_command_prints_people_as_integers(tmp_path, data_dir):
    net = str(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    bids = "data/examples/rutland.yaml"
    commands = {
        "overlap": ["overlap", bids, "--network", net, "--minutes", "10", "15", "-o", str(tmp_path / "o.csv")],
        "catchment": ["catchment", "--network", net, "--minutes", "10", "--site", "Oakham=52.6707,-0.7270",
                      "--csv", str(tmp_path / "c.csv")],
        "hubspoke": ["hubspoke", bids, "--bid", "stamford-iot", "--network", net, "--minutes", "10",
                     "-o", str(tmp_path / "h.csv")],
        "suggest-spokes": ["suggest-spokes", "--hub", "Stamford=52.6590,-0.4715", "--k", "1", "--network", net,
                           "--minutes", "10"],
    }
    for name, args in commands.items():
        printed = None
        for fmt in ("csv", "json") if name in ("overlap", "hubspoke") else ("csv",):
            r = run(*args, "-f", fmt)
            assert r.returncode == 0, (name, r.stderr)
            if fmt == "csv":
                printed = pd.read_csv(io.StringIO(r.stdout), dtype=str, keep_default_na=False)
                df = pd.read_csv(io.StringIO(r.stdout), dtype=str, keep_default_na=False)
                cols = _people_cols(df)
                bad = [(c, v) for c in cols for v in df[c] if v != "" and not v.lstrip("-").isdigit()]
            else:
                records = json.loads(r.stdout)
                cols = [c for c in records[0] if c in PEOPLE]
                bad = [(c, rec[c]) for rec in records for c in cols if not (rec[c] is None or type(rec[c]) is int)]
            assert cols, (name, fmt)
            assert bad == [], (name, fmt, bad[:3])
        written = {"overlap": "o.csv", "catchment": "c.csv", "hubspoke": "h.csv"}.get(name)
        if written:
            on_disk = pd.read_csv(tmp_path / written, dtype=str, keep_default_na=False)
            assert printed is not None
            for c in _people_cols(on_disk):
                assert list(on_disk[c]) == list(printed[c]), (name, c)
