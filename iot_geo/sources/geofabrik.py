"""OpenStreetMap extracts from Geofabrik, by region id (``iot-geo data fetch osm:REGION``).

Geofabrik publishes an index of its extracts (``index-v1.json``: a GeoJSON
feature per region with ``id``, ``parent``, ``name`` and ``urls.pbf``) and an
``.md5`` file beside every ``.osm.pbf``. :func:`fetch_osm` looks the region up
in the index, downloads its pbf into the data directory's ``osm/`` folder
through a ``.part`` file (resumed with an HTTP ``Range`` request after a cut,
restarted if the server does not support ranges), checks the md5, reads the
extract's replication timestamp and only then renames it to
``REGION-YYYY-MM-DD.osm.pbf``. A side file ``REGION-YYYY-MM-DD.osm.pbf.source.json``
records where and when it came from, for provenance.

A mirror (``--base-url`` or ``$IOT_GEO_BASE_URL``) must serve Geofabrik's own
layout: ``BASE/index-v1.json`` and the pbf paths of the index.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from iot_geo import settings
from iot_geo.errors import ChecksumError, DataNotFoundError, DownloadError, InvalidInputError
from iot_geo.files import promote, write_text

__all__ = ["PREFIX", "Region", "fetch_osm", "find_region", "load_index"]


log = logging.getLogger(__name__)

#: Geofabrik's download server.
GEOFABRIK_URL = "https://download.geofabrik.de"
#: Prefix of the dataset names that mean a Geofabrik region (``osm:rutland``).
PREFIX = "osm:"
#: Licence of every extract.
LICENCE = "ODbL 1.0, © OpenStreetMap contributors (https://www.openstreetmap.org/copyright)"


@dataclass(frozen=True)
class Region:
    """One Geofabrik extract."""

    id: str
    name: str
    parent: str | None
    pbf_url: str


def _base(base_url: str | None) -> str:
    return (base_url or settings.get_base_url() or GEOFABRIK_URL).rstrip("/")


def _on_mirror(url: str, base: str) -> str:
    """``url`` (an address in Geofabrik's index) served from ``base`` instead, same path."""
    path = urlsplit(url).path
    return base + path


def load_index(base_url: str | None = None, *, session: requests.Session | None = None) -> dict[str, Region]:
    """Geofabrik's index of extracts: region id -> :class:`Region`."""
    base = _base(base_url)
    url = f"{base}/index-v1.json"
    s = session or requests.Session()
    try:
        resp = s.get(url, timeout=settings.download_timeout)
    except requests.RequestException as exc:
        raise DownloadError(f"{url}: could not read the Geofabrik index ({exc.__class__.__name__}); "
                            "check the connection or give --base-url for a mirror") from None
    if resp.status_code != 200:
        raise DownloadError(f"{url}: HTTP {resp.status_code} {resp.reason} reading the Geofabrik index")
    try:
        features = resp.json()["features"]
        out = {}
        for f in features:
            p = f["properties"]
            pbf = p.get("urls", {}).get("pbf")
            if pbf:
                out[str(p["id"])] = Region(str(p["id"]), str(p.get("name", p["id"])), p.get("parent"), str(pbf))
    except (ValueError, KeyError, TypeError) as exc:
        raise DownloadError(f"{url}: not a Geofabrik index ({exc.__class__.__name__}: {exc})") from None
    return out


def find_region(region: str, index: dict[str, Region]) -> Region:
    """The region with this id (or, failing that, this exact name); an unknown one suggests close ids."""
    key = region.strip().lower()
    if key in index:
        return index[key]
    by_name = [r for r in index.values() if r.name.lower() == key]
    if len(by_name) == 1:
        return by_name[0]
    close = difflib.get_close_matches(key, list(index), n=5, cutoff=0.6)
    close += [r.id for r in index.values() if key and key in r.id and r.id not in close][: 5 - len(close)]
    hint = f"did you mean {', '.join(close)}?" if close else "see https://download.geofabrik.de for the ids"
    raise InvalidInputError(f"osm:{region}: no Geofabrik region has that id; {hint}")


def _expected_md5(url: str, session: requests.Session) -> str:
    md5_url = url + ".md5"
    try:
        resp = session.get(md5_url, timeout=settings.download_timeout)
    except requests.RequestException as exc:
        raise DownloadError(f"{md5_url}: could not read the checksum ({exc.__class__.__name__})") from None
    if resp.status_code != 200:
        raise DownloadError(f"{md5_url}: HTTP {resp.status_code} {resp.reason} reading the checksum")
    digest = resp.text.split()[0].lower() if resp.text.split() else ""
    if len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
        raise DownloadError(f"{md5_url}: not an md5 checksum file")
    return digest


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _stream(url: str, part: Path, session: requests.Session, progress: Any) -> None:
    """Append ``url`` to ``part``, resuming from its size where the server allows a range."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with session.get(url, stream=True, timeout=settings.download_timeout, headers=headers) as resp:
            if resp.status_code == 416 and have:  # the part is already whole
                return
            if resp.status_code == 200:
                have = 0  # no range support: start again
            elif resp.status_code != 206:
                raise DownloadError(f"{url}: HTTP {resp.status_code} {resp.reason}")
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length is not None and length.isdigit() else None
            task = progress.add_task(part.name.lstrip(".").split(".osm.pbf")[0] + ".osm.pbf", total=total,
                                     completed=have) if progress is not None else None
            got = have
            with open(part, "ab" if have else "wb") as out:
                for block in resp.iter_content(chunk_size=1 << 16):
                    out.write(block)
                    got += len(block)
                    if task is not None:
                        progress.update(task, completed=got)
            if total is not None and got != total:
                raise DownloadError(f"{url}: got {got:,} of {total:,} bytes")
    except requests.RequestException as exc:
        got = part.stat().st_size if part.exists() else 0
        raise DownloadError(f"{url}: transfer cut after {got:,} bytes ({exc.__class__.__name__}); the part is kept "
                            f"in {part}: run the same fetch again to resume") from None


def _replication_date(path: Path) -> str | None:
    """The extract's replication timestamp (ISO), from its header."""
    try:
        import osmium  # deferred: the PBF reader loads only when an extract's header is read

        reader = osmium.io.Reader(osmium.io.File(str(path), "pbf"), osmium.osm.osm_entity_bits.NOTHING)
        header = reader.header()
        reader.close()
        stamp = header.get("osmosis_replication_timestamp") or header.get("timestamp")
        return str(stamp) if stamp else None
    except Exception:
        return None


def _osm_folder(data_dir: str | os.PathLike[str] | None) -> Path:
    """The data directory's ``osm/`` folder, made when missing."""
    folder = settings.get_data_dir(data_dir) / "osm"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataNotFoundError(f"cannot create {folder}: {exc.strerror}") from None
    return folder


def _already_here(folder: Path, region: str, md5: str) -> Path | None:
    """An extract of ``region`` already fetched whose record and content match ``md5``, if any."""
    for done in folder.glob(f"{region}-*.osm.pbf.source.json"):
        try:
            meta = json.loads(done.read_text())
        except (OSError, ValueError):
            continue
        target = done.with_name(done.name.removesuffix(".source.json"))
        if meta.get("md5") == md5 and target.is_file() and _md5_file(target) == md5:
            return target
    return None


def _download(url: str, part: Path, s: requests.Session, show_progress: bool) -> None:
    """Stream ``url`` into ``part`` (resuming it), with a progress bar when asked."""
    progress = None
    if show_progress:
        # deferred: rich's progress bar loads only when one is drawn
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        progress.start()
    try:
        _stream(url, part, s, progress)
    finally:
        if progress is not None:
            progress.stop()


def _check_md5(part: Path, url: str, md5: str) -> None:
    """Delete the download and refuse it when it does not match Geofabrik's md5."""
    got = _md5_file(part)
    if got != md5:
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{url}: md5 {got} does not match Geofabrik's {md5}; the download was deleted, "
                            "run the fetch again (the extract may have been replaced while it downloaded)")


def _install(part: Path, target: Path, meta: dict[str, Any]) -> None:
    """Move the checked download to ``target`` with its source record beside it; never over a file not ours."""
    side = target.with_name(target.name + ".source.json")
    if target.exists() and _md5_file(target) != meta["md5"] and not side.exists():
        part.unlink(missing_ok=True)
        raise InvalidInputError(f"{target} exists and was not written by iot-geo; move it away and fetch again")
    promote(part, target, what="the OpenStreetMap extract", internal=True)
    write_text(json.dumps(meta, indent=1) + "\n", side, what="the extract's source record", internal=True)


def fetch_osm(
    region: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    show_progress: bool = True,
    session: requests.Session | None = None,
) -> Path:
    """Download the Geofabrik extract of ``region`` into the data directory's ``osm/`` folder.

    Parameters
    ----------
    region : str
        A Geofabrik region id (``rutland``, ``leicestershire``, ``greater-london``, ``england``);
        a leading ``osm:`` is allowed.
    data_dir : path, optional
    base_url : str, optional
        A mirror with Geofabrik's layout (default ``$IOT_GEO_BASE_URL``, else Geofabrik).
    show_progress : bool
        Draw a progress bar.

    Returns
    -------
    pathlib.Path
        ``osm/REGION-YYYY-MM-DD.osm.pbf`` (the extract's date), usable as ``--network`` by name.

    Raises
    ------
    InvalidInputError
        Unknown region (the message suggests close ids).
    DownloadError
        The index, checksum or file could not be read; a cut transfer keeps its ``.part`` file
        and the next fetch resumes it.
    ChecksumError
        The file does not match Geofabrik's md5; it is deleted and nothing is written.
    """
    region = region.removeprefix(PREFIX)
    s = session or requests.Session()
    base = _base(base_url)
    reg = find_region(region, load_index(base, session=s))
    url = _on_mirror(reg.pbf_url, base)
    md5 = _expected_md5(url, s)
    folder = _osm_folder(data_dir)
    done = _already_here(folder, reg.id, md5)
    if done is not None:
        log.info("%s is already here and matches Geofabrik's md5", done.name)
        return done
    part = folder / f".{reg.id}.osm.pbf.{md5[:8]}.part"  # a part of another version is never resumed
    _download(url, part, s, show_progress)
    _check_md5(part, url, md5)
    stamp = _replication_date(part)
    day = stamp[:10] if stamp else dt.date.today().isoformat()
    target = folder / f"{reg.id}-{day}.osm.pbf"
    meta = {"region": reg.id, "name": reg.name, "parent": reg.parent, "url": url, "index_url": reg.pbf_url,
            "md5": md5, "replication_timestamp": stamp,
            "downloaded_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "licence": LICENCE}
    _install(part, target, meta)
    return target
