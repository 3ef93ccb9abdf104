"""Writing files safely: atomically, never over an input, never into the data directory.

Every file iot-geo writes goes through :func:`atomic` (a report folder through
:func:`atomic_folder`, a cache file through :func:`write_cache`, a finished
download through :func:`promote`): a uniquely named temporary file beside the
target, then a rename. Outputs must be regular files or new paths, never the data
directory; a folder is replaced only when iot-geo wrote it (its marker file
:data:`FOLDER_MARKER`). Result tables with provenance stamps are written by
:mod:`iot_geo.outputs`, on top of this module.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from iot_geo import settings
from iot_geo.errors import InvalidInputError

__all__ = [
    "CACHE_WARNED", "FOLDER_MARKER", "atomic", "atomic_folder", "check_folder", "check_output", "clean_partials",
    "lock_folder", "partial_folder", "promote", "write_cache", "write_text",
]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _refuse_data_dir(out: Path, shown: str | os.PathLike[str]) -> None:
    data = settings.get_data_dir().resolve()
    if _inside(out.resolve(), data):
        raise InvalidInputError(f"output {shown} is inside the data directory {data}; iot-geo never writes "
                                "there: choose a folder outside it")


def _refuse_special(out: Path, shown: str | os.PathLike[str]) -> None:
    """Refuse anything but a regular file or a new path: a folder, device, FIFO or socket stays what it is."""
    try:
        mode = os.stat(out).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InvalidInputError(f"cannot write {shown}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise InvalidInputError(f"output {shown} is a folder; name a file to write")
    if not stat.S_ISREG(mode):
        kind = ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise InvalidInputError(f"output {shown} is {kind}; iot-geo writes only regular files: name a new file")


def check_output(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (), *,
                 internal: bool = False) -> Path:
    """Check an output path before any work; returns the path to write (a link is followed to its file).

    Refused, each with one :class:`InvalidInputError` naming the path: an input; anything that is not a
    regular file or a new path (a folder, a device such as ``/dev/full``, a FIFO, a socket); and, unless
    ``internal`` (the cache, fetched data), the data directory or anything inside it. The parent folder is
    created if missing.
    """
    shown = path
    out = Path(path).expanduser()
    if out.name in ("", ".", ".."):
        raise InvalidInputError(f"output {shown} names a folder, not a file; name a file to write")
    if out.is_symlink():
        out = out.resolve()
    for p in inputs:
        if p is not None and Path(p).exists() and out.exists() and out.resolve() == Path(p).resolve():
            raise InvalidInputError(f"output {shown} is one of the inputs; choose another name")
    if not internal:
        _refuse_data_dir(out, shown)
    _refuse_special(out, shown)
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the output folder {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise InvalidInputError(f"cannot write to {parent}: permission denied")
    return out


#: Temporary files are ``.NAME.iot-geo-XXXXXXXX.tmp.SUFFIX`` beside the output: unique per writer.
TMP_TAG = ".iot-geo-"


def _tmp_beside(out: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}{TMP_TAG}", suffix=f".tmp{out.suffix}")
    os.close(fd)
    os.unlink(tmp)  # GDAL wants to create the file itself
    return Path(tmp)


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a write can raise when the disk is full or unwritable (the OS, SQLite, GDAL)."""
    import pyogrio.errors

    return OSError, sqlite3.Error, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError


def _reason(exc: BaseException, folder: Path) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
    if "No space left" not in reason:
        with contextlib.suppress(OSError):
            if shutil.disk_usage(folder).free < 1 << 20:
                reason += " (No space left on device)"
    return reason


@contextlib.contextmanager
def atomic(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (), *,
           what: str = "", internal: bool = False) -> Iterator[Path]:
    """Yield a new temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    The one writer every file of iot-geo goes through: checks the output first (:func:`check_output`),
    gives each writer its own temporary name (so parallel runs never meet), and turns a full disk, a
    read-only folder or a GDAL/SQLite write error into one :class:`InvalidInputError` naming the path and
    ``what`` was not written; the temporary file (and any GDAL side file) is removed, the old file kept.
    """
    out = check_output(path, inputs, internal=internal)
    label = f"{what} {path}" if what else f"{path}"
    try:
        tmp = _tmp_beside(out)
    except OSError as exc:
        raise InvalidInputError(f"{label} was not written: {_reason(exc, out.parent)}") from None
    try:
        yield tmp
        _refuse_special(out, path)  # it may have changed while we wrote
        os.replace(tmp, out)
    except _write_errors() as exc:
        kept = "; the earlier file is kept" if out.exists() else ""
        raise InvalidInputError(f"{label} was not written: {_reason(exc, out.parent)} (nothing half-written is "
                                f"left{kept})") from None
    finally:
        for p in out.parent.glob(glob.escape(tmp.name) + "*"):
            p.unlink(missing_ok=True)


#: The file that marks a folder as written by iot-geo, listing the files it wrote there.
FOLDER_MARKER = ".iot-geo-report.json"


#: A folder being written is ``.NAME.iot-geo-partial.XXXXXXXX`` beside its target, locked while in use.
PARTIAL_TAG = ".iot-geo-partial."


#: What a report written before the marker existed holds (recognised with its page's provenance stamp).
_OLD_REPORT_FILES = re.compile(r"(index|map)\.html|tables\.xlsx|layers\.gpkg|overview\.png|bid-[a-z0-9-]+\.png|"
                               r"(people|hub_spoke|overlap|checks|bids|evidence)(\.csv|\.provenance\.json)")


def _marker_files(folder: Path) -> set[str] | None:
    """The files iot-geo wrote into the folder, or ``None`` if the folder is not iot-geo's.

    Read from the folder's marker; a report from before the marker is recognised by the provenance
    stamp in its ``index.html`` and then may hold only the files such a report has.
    """
    try:
        doc = json.loads((folder / FOLDER_MARKER).read_text(encoding="utf-8"))
        return {str(f) for f in doc["files"]} if doc.get("written_by") == "iot-geo" else None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        page = (folder / "index.html").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if 'id="iot-geo-provenance"' not in page or "Made by iot-geo" not in page:
        return None
    return {name for name in _listing(folder) if _OLD_REPORT_FILES.fullmatch(name)}


def _listing(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir() or p.is_symlink()}


def check_folder(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (), *,
                 overwrite: bool = False, what: str = "report") -> Path:
    """Check an output folder before any work; returns its full path.

    A new folder is fine, and so is an empty one. An existing one is replaced only when iot-geo wrote it (its marker file lists
    every file in it, so nothing a user added is lost) and ``overwrite`` is given. Refused with one
    :class:`InvalidInputError` naming the folder: anything else that exists, the current folder or one
    holding it, a folder holding an input, the data directory, a folder inside it or one holding it.
    """
    shown = path
    target = Path(path).expanduser()
    if target.is_symlink():
        raise InvalidInputError(f"{what} folder {shown} is a link; name a new folder")
    full = target.resolve()
    if _inside(Path.cwd().resolve(), full):
        raise InvalidInputError(f"{what} folder {shown} is the current folder or holds it; name a new folder "
                                f"such as {Path(shown) / what}")
    for p in inputs:
        if p is not None and Path(p).exists() and _inside(Path(p).resolve(), full):
            raise InvalidInputError(f"{what} folder {shown} would overwrite the input {p}; name a new folder")
    data = settings.get_data_dir().resolve()
    if _inside(full, data) or _inside(data, full):
        raise InvalidInputError(f"{what} folder {shown} is or holds the data directory {data}, or lies inside "
                                "it; iot-geo never writes there: name a folder outside it")
    if os.path.lexists(full):
        if not full.is_dir():
            raise InvalidInputError(f"{what} folder {shown} exists and is not a folder; name a new folder")
        if not any(full.iterdir()):  # an empty folder the user made for it: nothing there to lose
            return _writable_parent(full)
        listed = _marker_files(full)
        if listed is None:
            raise InvalidInputError(f"{what} folder {shown} already exists and was not written by iot-geo; iot-geo "
                                    "never replaces a folder it did not write: name a new folder")
        extra = sorted(_listing(full) - listed - {FOLDER_MARKER})
        if extra:
            more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
            raise InvalidInputError(f"{what} folder {shown} holds files iot-geo did not write "
                                    f"({', '.join(extra[:3])}{more}); move them out or name a new folder")
        if not overwrite:
            raise InvalidInputError(f"{what} folder {shown} holds an earlier iot-geo {what}; give --overwrite to "
                                    "replace it, or name a new folder")
    return _writable_parent(full)


def _writable_parent(full: Path) -> Path:
    """``full``, once its parent folder exists and can be written."""
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the folder {full.parent}: {exc.strerror}") from None
    if not os.access(full.parent, os.W_OK):
        raise InvalidInputError(f"cannot write to {full.parent}: permission denied")
    return full


def lock_folder(folder: Path, *, wait: bool = True) -> int | None:
    """Hold an advisory lock on a folder (released when the process ends); ``None`` if it cannot be had.

    Where folders cannot be locked (Windows) this is always ``None``, so partial folders are left alone.
    """
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):  # pragma: no cover - Windows
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    return fd


def partial_folder(target: Path) -> Path:
    """A new, empty, recognisable folder beside ``target`` to write into."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}{PARTIAL_TAG}", dir=target.parent))


def clean_partials(target: Path) -> list[Path]:
    """Remove partial folders a killed run left beside ``target`` (only iot-geo's, only if no run holds them)."""
    removed = []
    for d in target.parent.glob(f".{glob.escape(target.name)}{PARTIAL_TAG}*"):
        if d.is_symlink() or not d.is_dir():
            continue
        fd = lock_folder(d, wait=False)
        if fd is None:
            continue  # another run is writing it
        try:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (), *,
                  overwrite: bool = False, what: str = "report") -> Iterator[Path]:
    """Yield a new hidden folder beside ``path`` to write into; on success it becomes ``path``.

    The folder is checked first (:func:`check_folder`); partial folders of killed runs are removed; the
    new folder gets the marker that lets a later ``overwrite`` replace it. On any failure the partial
    folder is removed and ``path`` is as it was; a full or unwritable disk is one
    :class:`InvalidInputError` naming the folder.
    """
    target = check_folder(path, inputs, overwrite=overwrite, what=what)
    clean_partials(target)
    try:
        tmp = partial_folder(target)
    except OSError as exc:
        raise InvalidInputError(f"the {what} {path} was not written: {_reason(exc, target.parent)}") from None
    locks = [fd for fd in (lock_folder(tmp),) if fd is not None]
    old = tmp.with_name(tmp.name + "-old")
    try:
        tmp.chmod(0o755)
        yield tmp
        files = sorted(_listing(tmp) - {FOLDER_MARKER})
        (tmp / FOLDER_MARKER).write_text(json.dumps({"written_by": "iot-geo", "kind": what, "files": files},
                                                    indent=1) + "\n", encoding="utf-8")
        check_folder(path, inputs, overwrite=overwrite, what=what)  # it may have changed while we wrote
        if os.path.lexists(target):
            fd = lock_folder(target)
            if fd is not None:
                locks.append(fd)
            os.replace(target, old)
        os.replace(tmp, target)
    except _write_errors() as exc:
        raise InvalidInputError(f"the {what} {path} was not written: {_reason(exc, target.parent)} (nothing "
                                "half-written is left)") from None
    finally:
        for d in (tmp, old):
            if os.path.lexists(d):
                shutil.rmtree(d, ignore_errors=True)
        for fd in locks:
            os.close(fd)


#: Cache folders already warned about in this process (one warning each).
CACHE_WARNED: set[str] = set()


def write_cache(path: Path, write: Callable[[Path], None], what: str) -> bool:
    """Write a cache file through :func:`atomic`; if the cache cannot be written, warn once and go on.

    A read-only or full cache folder is not an error: the result was built in memory and is used as is.
    Returns whether the file was written.
    """
    try:
        with atomic(path, what=what, internal=True) as tmp:
            write(tmp)
        return True
    except InvalidInputError as exc:
        root = settings.get_cache_dir(create=False)
        key = str(root if _inside(path, root) else path.parent)
        if key not in CACHE_WARNED:
            CACHE_WARNED.add(key)
            why = str(exc) if str(exc).startswith(what) else f"{what} was not written ({exc})"
            warnings.warn(f"{why}; the cache {key} is not usable, so this run builds in memory (set "
                          f"{settings.CACHE_ENV} to a writable folder to keep results between runs)", stacklevel=3)
        return False


def promote(src: Path, path: str | os.PathLike[str], *, what: str = "", internal: bool = False) -> Path:
    """Move a finished file iot-geo wrote under a name of its own (a resumable download's part) into place.

    The move is atomic (a rename in the same folder); the target is checked as every output is
    (:func:`check_output`), and a failure is one :class:`InvalidInputError` naming the path.
    """
    out = check_output(path, internal=internal)
    try:
        os.replace(src, out)
    except OSError as exc:
        raise InvalidInputError(f"{what + ' ' if what else ''}{out} was not written: {exc.strerror or exc}") from None
    return out


def write_text(text: str, path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (),
               *, what: str = "the page", internal: bool = False) -> Path:
    """Write a text file (a page, a stamp) atomically; never over an input (``internal``: iot-geo's own data files)."""
    with atomic(path, inputs, what=what, internal=internal) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path).expanduser()
