"""Writing results: atomically, never over an input, with readable errors."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd

from iot_geo.errors import InvalidInputError


def check_output(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """Refuse an output path that is an input or sits in a folder that cannot be written."""
    out = Path(path).expanduser()
    for p in inputs:
        if p is not None and Path(p).exists() and out.exists() and out.resolve() == Path(p).resolve():
            raise InvalidInputError(f"output {out} is one of the inputs; choose another name")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the output folder {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise InvalidInputError(f"cannot write to {parent}: permission denied")
    return out


def _tmp_beside(out: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=out.suffix)
    os.close(fd)
    os.unlink(tmp)  # GDAL wants to create the file itself
    return Path(tmp)


#: GDAL stamps GeoPackages with the current time unless pinned; pinned, the same inputs give the same file.
GPKG_DATE = "2000-01-01T00:00:00Z"


def flatten_lists(df: pd.DataFrame, sep: str = ";") -> pd.DataFrame:
    """A copy with list cells joined by ``sep`` (for CSV, XLSX, GeoPackage and printed tables)."""
    frame = df.copy()
    for col in frame.columns:
        if frame[col].map(lambda v: isinstance(v, list)).any():
            frame[col] = frame[col].map(lambda v: sep.join(map(str, v)) if isinstance(v, list) else v)
    return frame


@contextlib.contextmanager
def atomic(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    Refuses an output that is an input or whose folder cannot be written; an ``OSError`` (disk full,
    permissions) becomes one :class:`InvalidInputError` naming the output.
    """
    out = check_output(path, inputs)
    tmp = _tmp_beside(out)
    try:
        yield tmp
        os.replace(tmp, out)
    except OSError as exc:
        raise InvalidInputError(f"could not write {out}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


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
        with atomic(path, inputs) as tmp:
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


def write_text(text: str, path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """Write a text file (a page, a stamp) atomically; never over an input."""
    with atomic(path, inputs) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path).expanduser()


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None] = (),
              *, float_format: str = "%.10g", provenance: dict[str, object] | None = None) -> Path:
    """Write a table as CSV atomically (geometry dropped, lists joined with ';', fixed float format).

    With ``provenance``, the stamp goes beside it as ``NAME.provenance.json``.
    """
    frame = flatten_lists(pd.DataFrame(df.drop(columns="geometry")) if "geometry" in df.columns else df)
    with atomic(path, inputs) as tmp:
        frame.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
        if provenance is not None:
            from iot_geo.provenance import dumps, sidecar

            write_text(dumps(provenance), sidecar(path))
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
    networks : TravelNetwork or TransitNetwork, optional
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
    from iot_geo.provenance import stamp

    out = Path(path).expanduser()
    suffix = out.suffix.lower()
    st = stamp(networks=list(networks), options=options or {})
    if suffix == ".csv":
        return write_csv(result, out, provenance=st)
    if suffix == ".gpkg":
        frame = result if isinstance(result, gpd.GeoDataFrame) else pd.DataFrame(result)
        return write_gpkg({layer or out.stem: frame}, out, provenance=st)
    if suffix in (".parquet", ".geoparquet"):
        from iot_geo.provenance import dumps

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
