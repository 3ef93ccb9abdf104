"""Provenance stamps: which data, network, speeds, options and version made an output.

A stamp is a plain JSON-able dict. It names datasets by file name, vintage
and sha256 (never by absolute path), the road network by its source file and
sha256 and the date of its OpenStreetMap data where known, the mode,
direction, speeds and options, and the call that made it (arguments with paths
reduced to file names). It holds no clock time, so the same inputs give the
same stamp.

Where stamps go: ``NAME.provenance.json`` beside a CSV, a ``provenance``
table in a GeoPackage, a ``<script type="application/json"
id="iot-geo-provenance">`` element in maps and reports. ``iot-geo provenance
FILE`` prints any of them back.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from iot_geo import settings
from iot_geo.errors import DataNotFoundError, InvalidInputError
from iot_geo.sources import catalogue

__all__ = ["datasets", "dumps", "html_block", "plain_args", "read", "sidecar", "stamp", "warnings_for"]


def datasets(names: Iterable[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None
             ) -> list[dict[str, Any]]:
    """File name, vintage, licence and sha256 of each dataset used (default: those read so far).

    A file that differs from the catalogue (read with ``allow_modified_data``) is marked ``modified: true``.
    """
    root = settings.get_data_dir(data_dir)
    out = []
    for name in sorted(set(names) if names is not None else catalogue.READ):
        ds = catalogue.get_dataset(name)
        for f in ds.files:
            p = root / f.path
            sha = catalogue.cached_sha256(p) if p.is_file() else None
            entry: dict[str, Any] = {"dataset": name, "file": Path(f.path).name, "vintage": ds.vintage,
                                     "licence": ds.licence, "sha256": sha}
            if sha is not None and sha != f.sha256 and ds.kind != "derived":
                entry["modified"] = True
            out.append(entry)
    return out


def warnings_for(used: Sequence[dict[str, Any]]) -> list[str]:
    """One line per dataset file in ``used`` (from :func:`datasets`) that differs from the catalogue."""
    return [f"modified data: {d['file']} ({d['dataset']}) is not the catalogue's file (sha256 {d['sha256']}); "
            "used because of --allow-modified-data" for d in used if d.get("modified")]


def plain_args(argv: Sequence[str]) -> list[str]:
    """Command-line arguments with every path reduced to its file name (as stamps record the call).

    Examples
    --------
    >>> from iot_geo.provenance import plain_args
    >>> plain_args(["report", "/tmp/bids.yaml", "--out=/tmp/x/rep", "--minutes", "45"])
    ['report', 'bids.yaml', '--out=rep', '--minutes', '45']
    """
    out = []
    for a in argv:
        if os.sep in a and (Path(a).exists() or Path(a).parent.exists()):
            out.append(Path(a).name or a)
        elif a.startswith("--") and "=" in a and os.sep in a:
            k, v = a.split("=", 1)
            out.append(f"{k}={Path(v).name}")
        else:
            out.append(a)
    return out


def stamp(
    *,
    networks: Sequence[Any] = (),
    options: dict[str, Any] | None = None,
    call: Sequence[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """A provenance stamp for an output (see the module docstring)."""
    nets = [dict(n.describe()) for n in networks]  # each network says what it is (RoutingNetwork.describe)
    used = datasets(data_dir=data_dir)
    out = {
        "iot_geo_version": settings.package_version(),
        "datasets": used,
        "networks": nets,
        "options": _jsonable(options or {}),
        "call": ["iot-geo", *plain_args(call if call is not None else sys.argv[1:])],
    }
    if modified := warnings_for(used):
        out["warnings"] = modified
    return out


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o),
                                 sort_keys=True))


def dumps(st: dict[str, Any]) -> str:
    """The stamp as stable JSON text."""
    return json.dumps(st, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def sidecar(path: str | os.PathLike[str]) -> Path:
    """``data.csv`` -> ``data.provenance.json``."""
    p = Path(path)
    return p.with_name(p.stem + ".provenance.json")


def html_block(st: dict[str, Any]) -> str:
    """A ``<script type="application/json">`` element carrying the stamp (HTML-safe)."""
    text = json.dumps(st, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="iot-geo-provenance">{text}</script>'


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the stamp of an output: a CSV's side file, a GeoPackage's table, Parquet metadata or a page's script element."""
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{p} not found")
    if p.suffix == ".json" and p.name.endswith(".provenance.json"):
        return dict(json.loads(p.read_text(encoding="utf-8")))
    if p.suffix.lower() == ".csv":
        side = sidecar(p)
        if not side.is_file():
            raise InvalidInputError(f"{p}: no provenance side file {side.name} beside it")
        return dict(json.loads(side.read_text(encoding="utf-8")))
    if p.suffix.lower() == ".gpkg":
        with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as con:
            try:
                rows = con.execute("SELECT value FROM provenance WHERE key = 'stamp'").fetchall()
            except sqlite3.DatabaseError:
                raise InvalidInputError(f"{p}: no provenance table") from None
        if not rows:
            raise InvalidInputError(f"{p}: empty provenance table")
        return dict(json.loads(rows[0][0]))
    if p.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        meta = pq.read_schema(p).metadata or {}
        if b"iot_geo_provenance" not in meta:
            raise InvalidInputError(f"{p}: no iot_geo_provenance in the Parquet metadata")
        return dict(json.loads(meta[b"iot_geo_provenance"].decode("utf-8")))
    if p.suffix.lower() in (".html", ".htm"):
        m = re.search(r'<script type="application/json" id="iot-geo-provenance">(.*?)</script>',
                      p.read_text(encoding="utf-8"), flags=re.S)
        if not m:
            raise InvalidInputError(f"{p}: no provenance element in the page")
        return dict(json.loads(m.group(1)))
    raise InvalidInputError(f"{p}: iot-geo writes provenance for .csv, .gpkg and .html outputs")
