"""Education providers: colleges, universities, UTCs and schools with sixth forms.

Sources (see ``iot-geo data list``)
-----------------------------------
``providers_ks5``
    16-18 institutions from the DfE 2018/19 KS5 performance tables, geocoded
    to postcode centroids by a third party. Its ``SCHTYPE`` lumps general FE
    and sixth-form colleges together as ``College``.
``providers_he``
    Higher education institutions (data.ac.uk Learning Providers plus).

Rules (documented, and counted by :func:`type_rule_counts`)
-----------------------------------------------------------
* ``College`` whose name contains "sixth form" or "6th form" ->
  ``sixth_form_college``; every other ``College`` -> ``fe_college``. Sixth-form
  colleges whose names do not say so (Carmel College, Greenhead College, ...)
  are counted as FE colleges: the source has no field that tells them apart.
* A name containing "UTC" or "University Technical College" -> ``utc``.
* Other KS5 institutions (academies, maintained, independent and special
  schools) -> ``school_sixth_form``.
* Every HE institution -> ``university``.
* The same institution in two files is merged when the postcodes are equal
  (spaces and case ignored) and the names are equal after normalising
  (case, punctuation, "the", "&" = "and"); the KS5 row is kept and the other
  id goes into ``other_ids``. Two providers that only share a postcode (for
  example LIPA Sixth Form College and the Liverpool Institute for Performing
  Arts) stay separate.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from iot_geo import settings
from iot_geo.errors import DataNotFoundError, InvalidInputError
from iot_geo.geo import check_lat_lon, points_from_frame, to_bng
from iot_geo.outputs import unneutralise
from iot_geo.sources.catalogue import dataset_path, reading

__all__ = [
    "PROVIDER_TYPES", "ks5_type", "load_providers", "merge_duplicates", "normalise_name", "normalise_postcode",
    "normalise_type", "read_providers", "type_rule_counts",
]


PROVIDER_TYPES = (
    "fe_college",
    "sixth_form_college",
    "university",
    "utc",
    "school_sixth_form",
    "independent_training_provider",
    "other",
)
COLUMNS = ["provider_id", "name", "provider_type", "postcode", "source", "geometry"]

_SIXTH = re.compile(r"sixth\s*form|6th\s*form", re.I)
_UTC = re.compile(r"\bUTC\b|UTC@|@UTC|University Technical College", re.I)

_TYPE_ALIASES = {
    "fe": "fe_college", "fe college": "fe_college", "further education": "fe_college",
    "further education college": "fe_college", "general fe college": "fe_college", "college": "fe_college",
    "sfc": "sixth_form_college", "sixth form college": "sixth_form_college",
    "sixth-form college": "sixth_form_college", "he": "university", "university": "university",
    "hei": "university", "higher education": "university", "utc": "utc",
    "university technical college": "utc", "school": "school_sixth_form",
    "school sixth form": "school_sixth_form", "itp": "independent_training_provider",
    "training provider": "independent_training_provider",
    "independent training provider": "independent_training_provider",
}


def normalise_type(value: object, *, where: str = "provider type") -> str:
    """Map a provider type as people write it to the API vocabulary.

    Raises
    ------
    InvalidInputError
        For a value that matches nothing; the message lists the vocabulary.
    """
    text = str(value).strip().lower().replace("_", " ")
    if text.replace(" ", "_") in PROVIDER_TYPES:
        return text.replace(" ", "_")
    if text in _TYPE_ALIASES:
        return _TYPE_ALIASES[text]
    raise InvalidInputError(f"{where}: unknown provider type {value!r}; use one of {', '.join(PROVIDER_TYPES)}")


def normalise_name(name: str) -> str:
    """Lower case, '&' as 'and', punctuation and a leading 'the' removed, spaces collapsed."""
    text = name.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    text = re.sub(r"^\s*the\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def normalise_postcode(pc: object) -> str:
    """Upper case without spaces ('' for missing)."""
    return re.sub(r"\s+", "", str(pc or "")).upper() if isinstance(pc, str) else ""


def ks5_type(schtype: str, name: str) -> str:
    """The API provider type of a KS5 row, by the rules in the module docstring."""
    if _UTC.search(name):
        return "utc"
    if schtype == "College":
        return "sixth_form_college" if _SIXTH.search(name) else "fe_college"
    return "school_sixth_form"


def _require(df: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"missing column(s) {', '.join(missing)}")


def _ks5(root: str) -> gpd.GeoDataFrame:
    path = dataset_path("providers_ks5", data_dir=root)
    with reading("providers_ks5", path):
        df = pd.read_csv(path, encoding="latin-1", dtype=str, keep_default_na=False)
        _require(df, ("URN", "SCHNAME", "SCHTYPE", "PCODE", "LATITUDE", "LONGITUDE"))
    lat = pd.to_numeric(df["LATITUDE"], errors="coerce").to_numpy()
    lon = pd.to_numeric(df["LONGITUDE"], errors="coerce").to_numpy()
    ok = np.isfinite(lat) & np.isfinite(lon)
    df, lat, lon = df[ok], lat[ok], lon[ok]
    check_lat_lon(lat, lon, where=str(path))
    x, y = to_bng(lon, lat)
    out = pd.DataFrame(
        {
            "provider_id": "urn:" + df["URN"],
            "name": df["SCHNAME"],
            "provider_type": [ks5_type(t, n) for t, n in zip(df["SCHTYPE"], df["SCHNAME"], strict=True)],
            "postcode": df["PCODE"],
            "source": "providers_ks5",
            "source_type": df["SCHTYPE"],
            "town": df["TOWN"],
            "ofsted": df["OFSTEDRATING"],
            "website": df["WEB"],
            "other_ids": "",
        }
    )
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=settings.crs)


def _he(root: str) -> gpd.GeoDataFrame:
    path = dataset_path("providers_he", data_dir=root)
    with reading("providers_he", path):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        _require(df, ("UKPRN", "VIEW_NAME", "PROVIDER_NAME", "POSTCODE", "LATITUDE", "LONGITUDE", "EASTING", "NORTHING"))
    e = pd.to_numeric(df["EASTING"], errors="coerce").to_numpy()
    n = pd.to_numeric(df["NORTHING"], errors="coerce").to_numpy()
    lat = pd.to_numeric(df["LATITUDE"], errors="coerce").to_numpy()
    lon = pd.to_numeric(df["LONGITUDE"], errors="coerce").to_numpy()
    # prefer the published lat/lon (one CRS for the whole file); easting/northing where it is missing
    x, y = to_bng(np.nan_to_num(lon, nan=0.0), np.nan_to_num(lat, nan=0.0))
    has_ll = np.isfinite(lat) & np.isfinite(lon)
    x = np.where(has_ll, x, e)
    y = np.where(has_ll, y, n)
    ok = np.isfinite(x) & np.isfinite(y)
    df = df[ok]
    out = pd.DataFrame(
        {
            "provider_id": "ukprn:" + df["UKPRN"],
            "name": df["VIEW_NAME"].where(df["VIEW_NAME"] != "", df["PROVIDER_NAME"]),
            "provider_type": "university",
            "postcode": df["POSTCODE"],
            "source": "providers_he",
            "source_type": "HEI",
            "town": df["TOWN"].str.title(),
            "ofsted": "",
            "website": df["WEBSITE_URL"],
            "other_ids": "",
        }
    )
    return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x[ok], y[ok]), crs=settings.crs)


def merge_duplicates(first: gpd.GeoDataFrame, second: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Append ``second`` to ``first``, merging rows that are the same institution.

    Same institution: equal normalised postcode and equal normalised name. The
    row of ``first`` is kept; the merged id is added to its ``other_ids``.

    Returns
    -------
    (GeoDataFrame, int)
        The combined table and the number of rows merged.
    """
    key_a = first["postcode"].map(normalise_postcode) + "|" + first["name"].map(normalise_name)
    key_b = second["postcode"].map(normalise_postcode) + "|" + second["name"].map(normalise_name)
    lookup = dict(zip(key_a, first.index, strict=True))
    dup = key_b.isin(lookup.keys()) & (second["postcode"].map(normalise_postcode) != "")
    first = first.copy()
    for key, pid in zip(key_b[dup], second.loc[dup, "provider_id"], strict=True):
        i = lookup[key]
        first.at[i, "other_ids"] = ";".join(filter(None, [first.at[i, "other_ids"], pid]))
    merged = pd.concat([first, second[~dup]], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=settings.crs), int(dup.sum())


@functools.lru_cache(maxsize=4)
def _all(root: str) -> tuple[gpd.GeoDataFrame, int]:
    ks5 = _ks5(root)
    try:
        he = _he(root)
    except DataNotFoundError:
        return ks5, 0
    return merge_duplicates(ks5, he)


def load_providers(
    types: Iterable[str] | str | None = None, *, data_dir: str | os.PathLike[str] | None = None
) -> gpd.GeoDataFrame:
    """Load the providers in the data directory as one GeoDataFrame (EPSG:27700).

    Parameters
    ----------
    types : str or iterable of str, optional
        Keep only these provider types (API vocabulary or common names).
    data_dir : path, optional
        Data directory.

    Returns
    -------
    geopandas.GeoDataFrame
        ``provider_id, name, provider_type, postcode, source, geometry`` plus
        ``source_type, town, ofsted, website, other_ids``.

    Examples
    --------
    >>> import iot_geo as ig
    >>> "New College Stamford" in set(ig.load_providers(["fe_college"])["name"])
    True
    """
    gdf, _ = _all(str(settings.get_data_dir(data_dir).resolve()))
    if types is not None:
        wanted = {normalise_type(t) for t in ([types] if isinstance(types, str) else types)}
        gdf = gdf[gdf["provider_type"].isin(wanted)]
    cols = COLUMNS[:-1] + [c for c in gdf.columns if c not in COLUMNS] + ["geometry"]
    return gpd.GeoDataFrame(gdf[cols].reset_index(drop=True), geometry="geometry", crs=settings.crs)


def type_rule_counts(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """How many providers each typing rule decided, by source type, plus merges."""
    gdf, merged = _all(str(settings.get_data_dir(data_dir).resolve()))
    counts = gdf.groupby(["source", "source_type", "provider_type"]).size().rename("n").reset_index()
    extra = pd.DataFrame([{"source": "merged", "source_type": "", "provider_type": "", "n": merged}])
    out: pd.DataFrame = pd.concat([counts, extra], ignore_index=True)
    return out


def read_providers(
    path: str | os.PathLike[str],
    *,
    lat: str | None = None,
    lon: str | None = None,
    easting: str | None = None,
    northing: str | None = None,
) -> gpd.GeoDataFrame:
    r"""Read a user's provider CSV with lat/lon or easting/northing columns.

    Columns: ``name`` (required), ``provider_id`` or ``id`` (else ``user:ROW``),
    ``provider_type`` or ``type`` (else ``other``), ``postcode`` (optional) and
    coordinates, named by the caller or detected.

    Raises
    ------
    InvalidInputError
        Unreadable file, no name or coordinate columns, a bad value or type, a
        point outside Great Britain or with lat/lon swapped: the message names
        the file and row.
    DataNotFoundError
        If the file does not exist.

    Examples
    --------
    >>> import pathlib, tempfile, iot_geo as ig
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.csv"
    >>> _ = path.write_text("name,lat,lon\nOakham Campus,52.6707,-0.7270\n")
    >>> ig.read_providers(path)[["name", "provider_id"]].values.tolist()
    [['Oakham Campus', 'user:1']]
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"provider file {p} not found")
    head = p.read_bytes()[:4]
    encodings = ["utf-16"] if head[:2] in (b"\xff\xfe", b"\xfe\xff") else ["utf-8-sig", "latin-1"]
    df = None  # unneutralise below: an iot-geo CSV reads back as written
    for enc in encodings:
        try:
            df = unneutralise(pd.read_csv(p, dtype=str, keep_default_na=False, encoding=enc))
            break
        except UnicodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InvalidInputError(f"{p}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if df is None:
        raise InvalidInputError(f"{p}: not text in UTF-8, UTF-16 or Latin-1; save it as UTF-8")
    df.columns = [str(c).strip() for c in df.columns]
    lower = {c.lower(): c for c in df.columns}
    if "name" not in lower:
        raise InvalidInputError(f"{p}: no 'name' column (columns: {', '.join(df.columns)})")
    if len(df) == 0:
        raise InvalidInputError(f"{p}: no rows")
    geom = points_from_frame(df, where=str(p), lat=lat, lon=lon, easting=easting, northing=northing)
    id_col = lower.get("provider_id") or lower.get("id")
    type_col = lower.get("provider_type") or lower.get("type")
    ids = df[id_col] if id_col else pd.Series([f"user:{i + 1}" for i in range(len(df))], index=df.index)
    if ids.duplicated().any():
        raise InvalidInputError(f"{p}: duplicate provider id {ids[ids.duplicated()].iloc[0]!r}")
    types = (
        [normalise_type(t, where=f"{p}: row {i + 1}") for i, t in enumerate(df[type_col])]
        if type_col
        else ["other"] * len(df)
    )
    out = pd.DataFrame(
        {
            "provider_id": ids.values,
            "name": df[lower["name"]].values,
            "provider_type": types,
            "postcode": df[lower["postcode"]].values if "postcode" in lower else "",
            "source": p.name,
        }
    )
    return gpd.GeoDataFrame(out, geometry=geom.values, crs=settings.crs)
