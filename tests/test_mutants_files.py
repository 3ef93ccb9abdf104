"""Mutant-killing tests for iot_geo.files (issue 18): report folders, partial folders, locks, caches, moves.

Every refusal is checked word for word (the message is what a user reads), and every success by what is
on disk afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from pathlib import Path

import pytest

from iot_geo import InvalidInputError
from iot_geo.files import (
    atomic,
    atomic_folder,
    check_folder,
    clean_partials,
    lock_folder,
    partial_folder,
    promote,
    write_cache,
    write_text,
)

# the documented names of the folder marker and of partial folders (reports written earlier carry them)
FOLDER_MARKER = ".iot-geo-report.json"
PARTIAL_TAG = ".iot-geo-partial."


def marked(folder: Path, files: dict[str, str], *, by: str = "iot-geo", listed: list[str] | None = None) -> Path:
    """A folder holding ``files`` and a marker that lists ``listed`` (default: all of them)."""
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    doc = {"written_by": by, "kind": "report", "files": sorted(files) if listed is None else listed}
    (folder / FOLDER_MARKER).write_text(json.dumps(doc), encoding="utf-8")
    return folder


def refused(match_exactly: str, *args, **kwargs) -> None:
    with pytest.raises(InvalidInputError) as e:
        check_folder(*args, **kwargs)
    assert str(e.value) == match_exactly


def test_check_folder_new_empty_and_nested(tmp_path):
    assert check_folder(tmp_path / "new") == (tmp_path / "new").resolve()
    assert check_folder(tmp_path / "a" / "b" / "new") == (tmp_path / "a" / "b" / "new").resolve()
    assert (tmp_path / "a" / "b").is_dir() and not (tmp_path / "a" / "b" / "new").exists()
    (tmp_path / "empty").mkdir()
    assert check_folder(tmp_path / "empty", overwrite=False) == (tmp_path / "empty").resolve()


def test_check_folder_refusals_word_for_word(tmp_path, monkeypatch):
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    refused(f"report folder {tmp_path / 'link'} is a link; name a new folder", tmp_path / "link")
    (tmp_path / "file").write_text("x")
    refused(f"map folder {tmp_path / 'file'} exists and is not a folder; name a new folder", tmp_path / "file",
            what="map")
    inp = tmp_path / "in" / "bids.csv"
    inp.parent.mkdir()
    inp.write_text("x")
    refused(f"report folder {tmp_path / 'in'} would overwrite the input {inp}; name a new folder", tmp_path / "in",
            [None, inp])
    refused(f"report folder {tmp_path} would overwrite the input {inp}; name a new folder", tmp_path, [inp])
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "mine.txt").write_text("keep me")
    refused(f"report folder {tmp_path / 'user'} already exists and was not written by iot-geo; iot-geo never "
            "replaces a folder it did not write: name a new folder", tmp_path / "user")
    monkeypatch.chdir(tmp_path / "target")
    refused("report folder . is the current folder or holds it; name a new folder such as report", ".")
    refused(f"report folder {tmp_path} is the current folder or holds it; name a new folder such as "
            f"{tmp_path / 'report'}", tmp_path)


def test_check_folder_refuses_the_data_directory_either_way(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("IOT_GEO_DATA", str(data))
    monkeypatch.chdir(tmp_path.parent)
    for p in (data / "out", tmp_path / "x" / ".." / "data"):
        with pytest.raises(InvalidInputError, match="is or holds the data directory"):
            check_folder(p)
    refused(f"report folder {tmp_path} is or holds the data directory {data.resolve()}, or lies inside it; iot-geo "
            "never writes there: name a folder outside it", tmp_path)


def test_check_folder_with_a_marker(tmp_path):
    rep = marked(tmp_path / "rep", {"index.html": "<p>", "sub/people.csv": "a"})
    refused(f"report folder {rep} holds an earlier iot-geo report; give --overwrite to replace it, or name a new "
            "folder", rep)
    assert check_folder(rep, overwrite=True) == rep.resolve()
    for extra in ("a.txt", "b.txt", "c.txt"):
        (rep / extra).write_text("mine")
    refused(f"report folder {rep} holds files iot-geo did not write (a.txt, b.txt, c.txt); move them out or name "
            "a new folder", rep, overwrite=True)
    (rep / "sub" / "d.txt").write_text("mine")
    (rep / "e.txt").write_text("mine")
    refused(f"report folder {rep} holds files iot-geo did not write (a.txt, b.txt, c.txt and 2 more); move them "
            "out or name a new folder", rep, overwrite=True)
    other = marked(tmp_path / "other", {"index.html": "<p>"}, by="someone else")
    with pytest.raises(InvalidInputError, match="was not written by iot-geo"):
        check_folder(other, overwrite=True)


def test_a_report_from_before_the_marker_is_recognised_by_its_stamp(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    page = '<script id="iot-geo-provenance">{}</script><footer>Made by iot-geo 0.1</footer>'
    for name in ("index.html", "map.html", "tables.xlsx", "people.csv", "people.provenance.json", "bid-b-1.png"):
        (old / name).write_text(page if name == "index.html" else "x", encoding="utf-8")
    assert check_folder(old, overwrite=True) == old.resolve()
    (old / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match=r"did not write \(notes\.txt\)"):
        check_folder(old, overwrite=True)
    (old / "notes.txt").unlink()
    (old / FOLDER_MARKER).write_text("not json")  # a broken marker: the stamp still decides
    assert check_folder(old, overwrite=True) == old.resolve()
    for half in ('<script id="iot-geo-provenance">', "Made by iot-geo"):
        (old / "index.html").write_text(half, encoding="utf-8")
        with pytest.raises(InvalidInputError, match="was not written by iot-geo"):
            check_folder(old, overwrite=True)
    (old / "index.html").unlink()
    with pytest.raises(InvalidInputError, match="was not written by iot-geo"):
        check_folder(old, overwrite=True)


def test_atomic_folder_writes_the_marker_and_replaces_only_with_overwrite(tmp_path):
    target = tmp_path / "rep"
    with atomic_folder(target, what="map") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(f".rep{PARTIAL_TAG}") and not any(tmp.iterdir())
        assert oct(tmp.stat().st_mode & 0o777) == "0o755"
        (tmp / "index.html").write_text("one")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "t.csv").write_text("two")
    doc = json.loads((target / FOLDER_MARKER).read_text(encoding="utf-8"))
    assert doc == {"written_by": "iot-geo", "kind": "map", "files": ["index.html", "sub/t.csv"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    with pytest.raises(InvalidInputError, match="holds an earlier iot-geo map"), atomic_folder(target, what="map"):
        pass
    with atomic_folder(target, overwrite=True, what="map") as tmp:
        (tmp / "index.html").write_text("new")
    assert (target / "index.html").read_text() == "new" and not (target / "sub").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no partial or old folder left


def test_atomic_folder_failures_leave_the_target_as_it_was(tmp_path):
    target = tmp_path / "rep"
    with atomic_folder(target) as tmp:
        (tmp / "index.html").write_text("kept")
    with pytest.raises(ValueError, match="boom"), atomic_folder(target, overwrite=True) as tmp:
        (tmp / "index.html").write_text("half")
        raise ValueError("boom")
    with pytest.raises(InvalidInputError) as e, atomic_folder(target, overwrite=True) as tmp:
        raise OSError(28, "No space left on device")
    assert str(e.value) == (f"the report {target} was not written: No space left on device (nothing half-written "
                            "is left)")
    assert (target / "index.html").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_partial_folders_locks_and_cleaning(tmp_path):
    target = tmp_path / "rep"
    p1, p2 = partial_folder(target), partial_folder(target)
    assert p1 != p2 and p1.is_dir() and not any(p1.iterdir())
    assert p1.parent == tmp_path and p1.name.startswith(".rep.iot-geo-partial.")
    (p1 / "half.html").write_text("x")
    fd = lock_folder(p2)
    assert isinstance(fd, int)
    assert lock_folder(p2, wait=False) is None  # held by the run writing it
    (tmp_path / f".rep{PARTIAL_TAG}file").write_text("a file, not a folder")
    (tmp_path / f".rep{PARTIAL_TAG}link").symlink_to(p1)
    (tmp_path / f".other{PARTIAL_TAG}x").mkdir()
    (tmp_path / "rep-mine").mkdir()
    try:
        assert clean_partials(target) == [p1]
    finally:
        os.close(fd)
    assert not p1.exists() and p2.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p2.name, f".rep{PARTIAL_TAG}file", f".rep{PARTIAL_TAG}link", f".other{PARTIAL_TAG}x", "rep-mine"])
    fd = lock_folder(p2, wait=False)  # released: free again
    assert isinstance(fd, int)
    os.close(fd)
    assert clean_partials(target) == [p2]
    # a killed run's partial folder goes when the next report is written
    stale = partial_folder(target)
    with atomic_folder(target) as tmp:
        (tmp / "a").write_text("a")
    assert not stale.exists()


def test_write_cache_writes_or_warns_once_per_folder(tmp_path):
    path = tmp_path / "c" / "net.npz"
    assert write_cache(path, lambda p: p.write_bytes(b"ok"), "the network cache") is True
    assert path.read_bytes() == b"ok"
    blocked = tmp_path / "blocker"
    blocked.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning) as w:
        assert write_cache(blocked / "net.npz", lambda p: p.write_bytes(b"x"), "the network cache") is False
    msg = str(w[0].message)
    assert msg.startswith(f"the network cache was not written (cannot write {blocked / 'net.npz'}: Not a directory)")
    assert msg.endswith(f"; the cache {blocked} is not usable, so this run builds in memory (set IOT_GEO_CACHE to "
                        "a writable folder to keep results between runs)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same folder again: no second warning
        assert write_cache(blocked / "other.npz", lambda p: p.write_bytes(b"x"), "the network cache") is False

    def full(p: Path) -> None:
        raise OSError(28, "No space left on device")

    with pytest.warns(UserWarning) as w:
        assert write_cache(tmp_path / "d" / "pop.parquet", full, "the population cache") is False
    assert str(w[0].message).startswith(f"the population cache {tmp_path / 'd' / 'pop.parquet'} was not written: "
                                        "No space left on device (nothing half-written is left); the cache "
                                        f"{tmp_path / 'd'} is not usable")
    assert not (tmp_path / "d" / "pop.parquet").exists() and list((tmp_path / "d").iterdir()) == []


def test_atomic_keeps_the_earlier_file_and_names_the_reason(tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("old")
    with pytest.raises(InvalidInputError) as e, atomic(out, what="the table") as tmp:
        tmp.write_text("half")
        raise sqlite3.OperationalError("disk   I/O\n error")
    assert str(e.value) == (f"the table {out} was not written: disk I/O error (nothing half-written is left; the "
                            "earlier file is kept)")
    with pytest.raises(InvalidInputError) as e, atomic(tmp_path / "new.csv") as tmp:
        raise sqlite3.OperationalError("")
    assert str(e.value) == (f"{tmp_path / 'new.csv'} was not written: OperationalError (nothing half-written is "
                            "left)")
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_promote_and_write_text(tmp_path):
    src = tmp_path / ".part"
    src.write_text("done")
    assert promote(src, tmp_path / "sub" / "f.osm.pbf", what="the extract") == tmp_path / "sub" / "f.osm.pbf"
    assert (tmp_path / "sub" / "f.osm.pbf").read_text() == "done" and not src.exists()
    with pytest.raises(InvalidInputError) as e:
        promote(tmp_path / "missing", tmp_path / "g.pbf", what="the extract")
    assert str(e.value) == f"the extract {tmp_path / 'g.pbf'} was not written: No such file or directory"
    with pytest.raises(InvalidInputError) as e:
        promote(tmp_path / "missing", tmp_path / "g.pbf")
    assert str(e.value) == f"{tmp_path / 'g.pbf'} was not written: No such file or directory"
    assert write_text("é ✓", tmp_path / "p.html") == tmp_path / "p.html"
    assert (tmp_path / "p.html").read_bytes() == "é ✓".encode()
    with pytest.raises(InvalidInputError, match="is one of the inputs"):
        write_text("x", tmp_path / "p.html", [tmp_path / "p.html"])


def test_four_extra_files_are_three_named_and_one_more(tmp_path):
    rep = marked(tmp_path / "rep", {"index.html": "<p>"})
    for extra in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (rep / extra).write_text("mine")
    refused(f"report folder {rep} holds files iot-geo did not write (a.txt, b.txt, c.txt and 1 more); move them "
            "out or name a new folder", rep, overwrite=True)


def test_a_full_disk_is_named_once(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _folder: usage(10, 10, 0))
    for err, said in ((OSError(28, "No space left on device"), "No space left on device"),
                      (OSError(5, "Input/output error"), "Input/output error (No space left on device)")):
        with pytest.raises(InvalidInputError) as e, atomic(tmp_path / "t.csv") as tmp:
            tmp.write_text("x")
            raise err
        assert str(e.value) == f"{tmp_path / 't.csv'} was not written: {said} (nothing half-written is left)"


def test_caches_and_downloads_may_go_into_the_data_directory_pages_may_not(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("IOT_GEO_DATA", str(data))
    assert write_cache(data / "c" / "x.npz", lambda p: p.write_bytes(b"ok"), "the cache") is True
    src = tmp_path / "part"
    src.write_text("done")
    assert promote(src, data / "osm" / "f.pbf", internal=True) == data / "osm" / "f.pbf"
    src.write_text("again")
    with pytest.raises(InvalidInputError, match="inside the data directory"):
        promote(src, data / "osm" / "g.pbf")
    with pytest.raises(InvalidInputError, match="inside the data directory"):
        write_text("x", data / "page.html")
    assert write_text("x", data / "stamp.json", internal=True).read_text() == "x"


def test_write_text_names_the_page_it_could_not_write(tmp_path, monkeypatch):
    def full(_src, _dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(InvalidInputError) as e:
        write_text("x", tmp_path / "p.html")
    assert str(e.value) == (f"the page {tmp_path / 'p.html'} was not written: No space left on device (nothing "
                            "half-written is left)")
    assert list(tmp_path.iterdir()) == []


def test_a_cache_warning_names_the_cache_root_and_the_caller(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    root.mkdir()
    (root / "networks").write_text("a file where the networks folder should be")
    monkeypatch.setenv("IOT_GEO_CACHE", str(root))
    with pytest.warns(UserWarning) as w:
        assert write_cache(root / "networks" / "x.npz", lambda p: p.write_bytes(b"x"), "the network cache") is False
    assert f"; the cache {root} is not usable" in str(w[0].message)
    assert not w[0].filename.endswith("files.py")  # pointed at the code that asked for the cache
