"""Postcodes to coordinates.

A postcode is resolved, in this order:

1. from an ONS postcode file in the data directory's ``postcodes/`` folder:
   the ONS Postcode Directory (ONSPD) or the National Statistics Postcode
   Lookup (NSPL), as published by ONS on the Open Geography Portal
   (https://geoportal.statistics.gov.uk/, search "ONSPD" or "NSPL"; about
   1 GB unzipped, re-issued every quarter, Open Government Licence; contains
   Royal Mail and OS data). Any CSV there with the columns ``pcds`` (or
   ``pcd``), ``lat`` and ``long`` is read; the shared data here has none;
2. otherwise online from postcodes.io (``settings.postcodes_url``, or the
   environment variable ``IOT_GEO_POSTCODES_URL``), which serves the same
   ONSPD coordinates; ``online=False`` forbids that.

The coordinates are the postcode's centroid (ONS: the mean position of its
addresses, snapped to the nearest address). An unknown or malformed postcode
is an :class:`~iot_geo.errors.InvalidInputError`; a terminated postcode found
in the ONS file (``doterm`` set) is still placed, with a warning.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from iot_geo import settings
from iot_geo.errors import DownloadError, InvalidInputError

__all__ = ["POSTCODES_IO", "is_postcode", "lookup_postcodes", "normalise_postcode"]


log = logging.getLogger(__name__)

#: The default postcodes.io address (overridden by ``IOT_GEO_POSTCODES_URL``).
POSTCODES_IO = "https://api.postcodes.io"
#: UK postcode shape: outward code (area, district) and inward code (sector, unit).
POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
_BULK = 100  # postcodes.io's bulk limit


def normalise_postcode(text: str) -> str:
    """``" le15 6rp"`` -> ``"LE15 6RP"``; a malformed postcode is an error.

    Examples
    --------
    >>> normalise_postcode("le156rp")
    'LE15 6RP'
    """
    parts = str(text).upper().split()
    if len(parts) == 1:  # no space: the inward code is the last three characters
        parts = [parts[0][:-3], parts[0][-3:]]
    m = POSTCODE_RE.match(" ".join(parts)) if len(parts) == 2 else None
    if not m:
        raise InvalidInputError(f"{text!r} is not a UK postcode (expected the shape 'LE15 6RP')")
    return f"{m.group(1)} {m.group(2)}"


def is_postcode(text: str) -> bool:
    """Whether ``text`` has the shape of a UK postcode.

    Examples
    --------
    >>> is_postcode("LE15 6RP"), is_postcode("52.67,-0.73")
    (True, False)
    """
    try:
        normalise_postcode(text)
    except InvalidInputError:
        return False
    return True


def _postcode_files(root: Path) -> list[Path]:
    folder = root / "postcodes"
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


@lru_cache(maxsize=4)
def _directory(files: tuple[str, ...]) -> pd.DataFrame:
    """Postcode -> lat, lon (and termination date) from ONSPD/NSPL CSVs."""
    frames = []
    for f in files:
        head = pd.read_csv(f, nrows=0).columns
        pc = "pcds" if "pcds" in head else ("pcd" if "pcd" in head else None)
        if pc is None or "lat" not in head or "long" not in head:
            log.warning("postcodes: %s has no pcds/pcd, lat and long columns; skipped", f)
            continue
        cols = [pc, "lat", "long"] + (["doterm"] if "doterm" in head else [])
        df = pd.read_csv(f, usecols=cols, dtype={pc: str, "doterm": str})
        df["postcode"] = df[pc].str.upper().str.replace(r"\s+", "", regex=True)
        frames.append(df.rename(columns={"long": "lon"}).drop(columns=pc))
    if not frames:
        return pd.DataFrame(columns=["postcode", "lat", "lon"]).set_index("postcode")
    out = pd.concat(frames, ignore_index=True).drop_duplicates("postcode", keep="last").set_index("postcode")
    # ONS marks postcodes without a grid reference with lat 99.999999
    return out[(out["lat"] < 90) & out["lat"].notna()]


def _online(postcodes: list[str], base_url: str, timeout: float) -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float]] = {}
    url = base_url.rstrip("/") + "/postcodes"
    for i in range(0, len(postcodes), _BULK):
        chunk = postcodes[i:i + _BULK]
        try:
            r = requests.post(url, json={"postcodes": chunk}, timeout=timeout)
        except requests.RequestException as exc:
            raise DownloadError(f"postcodes: could not reach {url} ({exc.__class__.__name__}); put an ONS postcode "
                                "directory CSV in the data directory's postcodes/ folder to work offline") from None
        if r.status_code != 200:
            raise DownloadError(f"postcodes: {url} answered HTTP {r.status_code}")
        try:
            results = r.json()["result"]
            for item in results:
                res = item.get("result")
                if res and res.get("latitude") is not None:
                    found[normalise_postcode(item["query"])] = (float(res["latitude"]), float(res["longitude"]))
        except (ValueError, KeyError, TypeError):
            raise DownloadError(f"postcodes: {url} did not answer as postcodes.io does") from None
    return found


def lookup_postcodes(
    postcodes: Iterable[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    online: bool = True,
    timeout: float = 20.0,
) -> pd.DataFrame:
    """Latitude and longitude of each postcode.

    Parameters
    ----------
    postcodes : iterable of str
        UK postcodes in any case and spacing.
    data_dir : path, optional
        Where ``postcodes/*.csv`` (ONSPD or NSPL) is looked for.
    online : bool
        Ask postcodes.io for those not found in a local file.
    timeout : float
        Seconds to wait for postcodes.io.

    Returns
    -------
    pandas.DataFrame
        ``postcode`` (normalised), ``lat``, ``lon``, ``source`` (``"onspd"``
        or ``"postcodes.io"``), one row per input, in order.

    Examples
    --------
    >>> lookup_postcodes(["LE15 6RP"])[["postcode", "lat", "lon"]]  # doctest: +SKIP
    """
    given = [normalise_postcode(p) for p in postcodes]
    keys = [p.replace(" ", "") for p in given]
    try:
        root = settings.get_data_dir(data_dir)
        files = tuple(str(f) for f in _postcode_files(root))
    except Exception:  # no data directory: online only
        files = ()
    local = _directory(files) if files else None
    lat, lon, source = [float("nan")] * len(given), [float("nan")] * len(given), [""] * len(given)
    missing = []
    for i, k in enumerate(keys):
        if local is not None and k in local.index:
            row: dict[Any, Any] = local.loc[k].to_dict()
            lat[i], lon[i], source[i] = float(row["lat"]), float(row["lon"]), "onspd"
            term = row.get("doterm")
            if isinstance(term, str) and term.strip():
                warnings.warn(f"postcode {given[i]} was terminated ({term}); its last centroid is used",
                              UserWarning, stacklevel=2)
        else:
            missing.append(i)
    if missing and online:
        base = settings.postcodes_url or os.environ.get("IOT_GEO_POSTCODES_URL") or POSTCODES_IO
        found = _online(sorted({given[i] for i in missing}), base, timeout)
        for i in missing:
            if given[i] in found:
                lat[i], lon[i] = found[given[i]]
                source[i] = "postcodes.io"
    unknown = [given[i] for i in range(len(given)) if not source[i]]
    if unknown:
        where = "the data directory's postcodes/ folder" + (" or postcodes.io" if online else "")
        raise InvalidInputError(f"postcode(s) not found in {where}: {', '.join(unknown[:10])}"
                                + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""))
    return pd.DataFrame({"postcode": given, "lat": lat, "lon": lon, "source": source})
