"""Writing result tables: CSV, GeoPackage, XLSX and Parquet, with provenance stamps.

Every table goes through :func:`iot_geo.files.atomic` (a temporary file beside the
target, then a rename; never over an input, never into the data directory). Text
that a spreadsheet would run is neutralised in CSV (:func:`neutralise`, undone by
:func:`read_csv`) and stored as text in XLSX.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from iot_geo.errors import InvalidInputError
from iot_geo.files import atomic
from iot_geo.provenance import dumps, sidecar, stamp

__all__ = [
    "GPKG_DATE", "flatten_lists", "neutralise", "read_csv", "to_csv_text", "unneutralise", "write", "write_csv",
    "write_gpkg", "write_xlsx",
]


#: GDAL stamps GeoPackages with the current time unless pinned; pinned, the same inputs give the same file.
GPKG_DATE = "2000-01-01T00:00:00Z"


def flatten_lists(df: pd.DataFrame, sep: str = ";") -> pd.DataFrame:
    """A copy with list cells joined by ``sep`` (for CSV, XLSX, GeoPackage and printed tables)."""
    frame = df.copy()
    for col in frame.columns:
        if frame[col].map(lambda v: isinstance(v, list)).any():
            frame[col] = frame[col].map(lambda v: sep.join(map(str, v)) if isinstance(v, list) else v)
    return frame


def write_gpkg(layers: dict[str, gpd.GeoDataFrame | pd.DataFrame], path: str | os.PathLike[str],
               inputs: Iterable[str | os.PathLike[str] | None] = (), *,
               provenance: dict[str, object] | None = None) -> Path:
    """Write several layers into one GeoPackage atomically (a temporary file, then a rename).

    Rows keep their order and GDAL's timestamps are pinned (``OGR_CURRENT_DATE``), so the same
    inputs give the same tables. A ``provenance`` table holds the stamp when one is given.
    """
    old_date = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = GPKG_DATE
    try:
        with atomic(path, inputs, what="the GeoPackage") as tmp:
            for name, df in layers.items():
                if isinstance(df, gpd.GeoDataFrame):
                    gpd.GeoDataFrame(flatten_lists(df), geometry=df.geometry.name, crs=df.crs).to_file(
                        tmp, layer=name, driver="GPKG", engine="pyogrio")
                else:
                    import pyogrio

                    pyogrio.write_dataframe(flatten_lists(pd.DataFrame(df)), tmp, layer=name, driver="GPKG")
            if provenance is not None:
                with sqlite3.connect(tmp) as con:
                    con.execute("CREATE TABLE provenance (key TEXT PRIMARY KEY, value TEXT)")
                    con.execute("INSERT INTO provenance VALUES ('stamp', ?)",
                                (json.dumps(provenance, sort_keys=True, ensure_ascii=False),))
                con.close()
    finally:
        if old_date is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = old_date
    return Path(path).expanduser()


#: Leading characters that make a spreadsheet treat a cell as a formula (OWASP, "CSV injection").
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _neutralise_cell(v: object) -> object:
    if isinstance(v, str) and v.lstrip("'").startswith(RISKY_START) and not _NUMBER.fullmatch(v):
        return "'" + v
    return v


def _unneutralise_cell(v: object) -> object:
    if isinstance(v, str) and v.startswith("'") and v[1:].lstrip("'").startswith(RISKY_START) \
            and not _NUMBER.fullmatch(v[1:]):
        return v[1:]
    return v


def _text_columns(df: pd.DataFrame) -> list[object]:
    return [c for c in df.columns if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])]


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells a spreadsheet would run as a formula get a leading ``'`` (OWASP's advice).

    Text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (after any quotes already
    there, so that the change can be undone exactly) is prefixed; numbers (``-3``, also as text) are
    left alone. :func:`unneutralise` reverses it; iot-geo's CSV readers apply it.
    """
    frame = df.copy()
    for c in _text_columns(frame):
        frame[c] = frame[c].map(_neutralise_cell)
    return frame


def unneutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise`: text read back from an iot-geo CSV is what was written."""
    frame = df.copy()
    for c in _text_columns(frame):
        frame[c] = frame[c].map(_unneutralise_cell)
    return frame


def read_csv(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` for files iot-geo may have written: neutralised text cells come back unchanged."""
    return unneutralise(pd.read_csv(path, **kwargs))


#: Stands in for a carriage return while pandas writes CSV: it holds a line feed, so the cell gets quoted.
_CR = "\n\x00iot-geo-cr\x00"


def _csv(frame: pd.DataFrame, float_format: str | None) -> str:
    """CSV text with LF line ends in which a cell holding a carriage return is quoted too.

    (Python's csv writer quotes a lone CR only when it ends lines with one; unquoted, a CR splits the
    row in a spreadsheet and could start a formula on a new line.)
    """
    crs = [c for c in _text_columns(frame) if frame[c].map(lambda v: isinstance(v, str) and "\r" in v).any()]
    if crs:
        frame = frame.copy()
        for c in crs:
            frame[c] = frame[c].map(lambda v: v.replace("\r", _CR) if isinstance(v, str) else v)
    text: str = frame.to_csv(index=False, float_format=float_format, lineterminator="\n")
    return text.replace(_CR, "\r") if crs else text


def to_csv_text(df: pd.DataFrame, *, float_format: str | None = None) -> str:
    """A table as CSV text (lists joined with ';', text cells neutralised), as the terminal prints it."""
    return _csv(neutralise(flatten_lists(df)), float_format)


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (),
              *, float_format: str = "%.10g", provenance: dict[str, object] | None = None) -> Path:
    """Write a table as CSV atomically (geometry dropped, lists joined with ';', fixed float format).

    Text cells that a spreadsheet would run as a formula are neutralised (:func:`neutralise`). With
    ``provenance``, the stamp goes beside it as ``NAME.provenance.json``.
    """
    frame = neutralise(flatten_lists(pd.DataFrame(df.drop(columns="geometry")) if "geometry" in df.columns else df))
    stamp_file = atomic(sidecar(path), what="the provenance stamp") if provenance is not None else contextlib.nullcontext()
    # the stamp's rename comes after the table's: a table that fails to land leaves the old stamp beside it
    with stamp_file as stamp_tmp, atomic(path, inputs, what="the CSV table") as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(_csv(frame, float_format))
        if stamp_tmp is not None and provenance is not None:
            stamp_tmp.write_text(dumps(provenance), encoding="utf-8")
    return Path(path).expanduser()


def write_xlsx(tables: dict[str, pd.DataFrame], path: str | os.PathLike[str],
               inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """Write tables as the sheets of one workbook, atomically; text cells are always text, never formulas.

    openpyxl reads a string beginning with ``=`` as a formula; every such cell is stored as a string
    (data type ``s``) with Excel's quote prefix, so a bid name can never run.
    """
    with atomic(path, inputs, what="the workbook") as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for name, df in tables.items():
            frame = flatten_lists(pd.DataFrame(df.drop(columns="geometry")) if "geometry" in df.columns else df)
            frame.to_excel(xl, sheet_name=name, index=False)
        for ws in xl.book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.data_type != "s":
                        cell.data_type = "s"
                        cell.quotePrefix = True
    return Path(path).expanduser()


def write(result: pd.DataFrame, path: str | os.PathLike[str], *, networks: Iterable[object] = (),
          layer: str | None = None, options: dict[str, object] | None = None) -> Path:
    """Write a result table by the file's suffix, atomically, with a provenance stamp.

    Parameters
    ----------
    result : DataFrame or GeoDataFrame
        Catchments, people tables, overlap, checks, ...
    path : path
        ``.gpkg`` (GeoPackage, one layer plus a ``provenance`` table),
        ``.parquet`` (GeoParquet for a GeoDataFrame, else Parquet; the stamp
        in the file's metadata under ``iot_geo_provenance``) or ``.csv``
        (geometry dropped; the stamp beside it as ``NAME.provenance.json``).
    networks : list of RoutingNetwork, optional
        The networks the result was computed on, named in the stamp.
    layer : str, optional
        GeoPackage layer name (default the file's stem).
    options : dict, optional
        Options to record in the stamp (bands, mode, ...).

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import geopandas as gpd, shapely, tempfile, pathlib
    >>> from iot_geo.outputs import write
    >>> gdf = gpd.GeoDataFrame({"site_id": ["a"], "people": [120]}, geometry=[shapely.Point(0, 0)], crs=27700)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write(gdf, folder / "sites.csv").read_text().splitlines()
    ['site_id,people', 'a,120']
    """
    out = Path(path).expanduser()
    suffix = out.suffix.lower()
    st = stamp(networks=list(networks), options=options or {})
    if suffix == ".csv":
        return write_csv(result, out, provenance=st)
    if suffix == ".gpkg":
        frame = result if isinstance(result, gpd.GeoDataFrame) else pd.DataFrame(result)
        return write_gpkg({layer or out.stem: frame}, out, provenance=st)
    if suffix in (".parquet", ".geoparquet"):
        frame = flatten_lists(result)
        with atomic(out) as tmp:
            if isinstance(result, gpd.GeoDataFrame):
                gpd.GeoDataFrame(frame, geometry=result.geometry.name, crs=result.crs).to_parquet(tmp, index=False)
            else:
                pd.DataFrame(frame).to_parquet(tmp, index=False)
            _add_parquet_metadata(tmp, {"iot_geo_provenance": dumps(st)})
        return out
    raise InvalidInputError(f"{out}: write a .gpkg, .parquet or .csv file (got {out.suffix or 'no suffix'!r})")


def _add_parquet_metadata(path: Path, extra: dict[str, str]) -> None:
    """Rewrite a Parquet file's schema metadata with ``extra`` added (keys and values as UTF-8)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in extra.items()}}
    pq.write_table(table.replace_schema_metadata(meta), path)
