"""Coordinates in and out: named lat/lon or easting/northing columns to EPSG:27700.

One place for turning a user's coordinates into British National Grid points,
with the checks every reader shares: coordinates present, numeric, inside
Great Britain, and latitude/longitude not swapped.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from iot_geo import settings
from iot_geo.errors import InvalidInputError

__all__ = ["GB_LAT", "GB_LON", "as_points", "check_bng", "check_lat_lon", "points_from_frame", "to_bng", "to_wgs84"]


# Generous boxes around Great Britain (with Northern Ireland for lon/lat input).
GB_LAT = (49.5, 61.0)
GB_LON = (-8.8, 2.1)
GB_EASTING = (-120_000.0, 700_000.0)
GB_NORTHING = (-20_000.0, 1_250_000.0)

LAT_NAMES = ("lat", "latitude", "y_lat")
LON_NAMES = ("lon", "lng", "long", "longitude", "x_lon")
EAST_NAMES = ("easting", "east", "x", "bng_e", "oseast1m")
NORTH_NAMES = ("northing", "north", "y", "bng_n", "osnrth1m")

_TO_BNG = Transformer.from_crs(settings.wgs84, settings.crs, always_xy=True)
_TO_WGS = Transformer.from_crs(settings.crs, settings.wgs84, always_xy=True)


def to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS84 longitude/latitude (degrees) to British National Grid (metres)."""
    e, n = _TO_BNG.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(e), np.asarray(n)


def to_wgs84(easting: np.ndarray, northing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project British National Grid (metres) to WGS84 longitude/latitude (degrees)."""
    lon, lat = _TO_WGS.transform(np.asarray(easting, dtype=float), np.asarray(northing, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return str(lower[n])
    return None


def _numeric(df: pd.DataFrame, col: str, where: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidInputError(
            f"{where}: row {i + 1}: column {col!r} has {df[col].iloc[i]!r}, not a number "
            f"({int(bad.sum())} such rows)"
        )
    return values.to_numpy(dtype=float)


def check_lat_lon(lat: np.ndarray, lon: np.ndarray, *, where: str, labels: Sequence[str] | None = None) -> None:
    """Raise :class:`InvalidInputError` for lat/lon outside Great Britain, naming swaps.

    Parameters
    ----------
    lat, lon : array of float
        Degrees.
    where : str
        What the points came from (a file name), for the message.
    labels : sequence of str, optional
        A label per point (row number or name) for the message.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    inside = (lat >= GB_LAT[0]) & (lat <= GB_LAT[1]) & (lon >= GB_LON[0]) & (lon <= GB_LON[1])
    if inside.all():
        return
    i = int(np.flatnonzero(~inside)[0])
    label = labels[i] if labels is not None else f"row {i + 1}"
    swapped = GB_LAT[0] <= lon[i] <= GB_LAT[1] and GB_LON[0] <= lat[i] <= GB_LON[1]
    if swapped:
        raise InvalidInputError(
            f"{where}: {label}: lat={lat[i]:g}, lon={lon[i]:g} looks like latitude and longitude "
            f"swapped (lat={lon[i]:g}, lon={lat[i]:g} would be in Great Britain); swap the columns"
        )
    raise InvalidInputError(
        f"{where}: {label}: lat={lat[i]:g}, lon={lon[i]:g} is outside Great Britain "
        f"(lat {GB_LAT[0]}..{GB_LAT[1]}, lon {GB_LON[0]}..{GB_LON[1]}); "
        f"{int((~inside).sum())} point(s) outside"
    )


def check_bng(easting: np.ndarray, northing: np.ndarray, *, where: str, labels: Sequence[str] | None = None) -> None:
    """Raise :class:`InvalidInputError` for easting/northing outside Great Britain."""
    e = np.asarray(easting, dtype=float)
    n = np.asarray(northing, dtype=float)
    inside = (e >= GB_EASTING[0]) & (e <= GB_EASTING[1]) & (n >= GB_NORTHING[0]) & (n <= GB_NORTHING[1])
    inside &= (np.abs(e) > 1000) | (np.abs(n) > 1000)  # both tiny: degrees, not metres
    if inside.all():
        return
    i = int(np.flatnonzero(~inside)[0])
    label = labels[i] if labels is not None else f"row {i + 1}"
    hint = ""
    if abs(e[i]) <= 180 and abs(n[i]) <= 180:
        hint = " (these look like degrees: name the columns lat and lon)"
    raise InvalidInputError(
        f"{where}: {label}: easting={e[i]:g}, northing={n[i]:g} is outside Great Britain{hint}"
    )


def points_from_frame(
    df: pd.DataFrame,
    *,
    where: str,
    lat: str | None = None,
    lon: str | None = None,
    easting: str | None = None,
    northing: str | None = None,
) -> gpd.GeoSeries:
    """Build EPSG:27700 points from a table's named coordinate columns.

    Columns may be named by the caller or are detected (``lat``/``latitude`` and
    ``lon``/``longitude``, or ``easting``/``northing``). Lat/lon wins where both
    pairs are present and complete.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    where : str
        What the table came from, for messages.
    lat, lon, easting, northing : str, optional
        Column names, where not detected.

    Returns
    -------
    geopandas.GeoSeries
        Points in EPSG:27700, same index as ``df``.

    Raises
    ------
    InvalidInputError
        No coordinate columns, a non-numeric value, or a point outside Great
        Britain (with a hint where latitude and longitude look swapped).
    """
    cols = list(df.columns)
    lat_c = lat or _find(cols, LAT_NAMES)
    lon_c = lon or _find(cols, LON_NAMES)
    e_c = easting or _find(cols, EAST_NAMES)
    n_c = northing or _find(cols, NORTH_NAMES)
    labels = [f"row {i + 1}" for i in range(len(df))]
    if lat_c and lon_c:
        la = _numeric(df, lat_c, where)
        lo = _numeric(df, lon_c, where)
        check_lat_lon(la, lo, where=where, labels=labels)
        x, y = to_bng(lo, la)
    elif e_c and n_c:
        x = _numeric(df, e_c, where)
        y = _numeric(df, n_c, where)
        check_bng(x, y, where=where, labels=labels)
    else:
        raise InvalidInputError(
            f"{where}: no coordinate columns: expected lat and lon (or latitude/longitude), "
            f"or easting and northing; found {', '.join(map(str, cols)) or 'no columns'}"
        )
    return gpd.GeoSeries(gpd.points_from_xy(x, y), index=df.index, crs=settings.crs)


def as_points(points: object, *, where: str = "points") -> gpd.GeoSeries:
    """Accept a GeoDataFrame/GeoSeries (any CRS) or a DataFrame with coordinates; return EPSG:27700 points."""
    if isinstance(points, gpd.GeoDataFrame):
        geo = points.geometry
    elif isinstance(points, gpd.GeoSeries):
        geo = points
    elif isinstance(points, pd.DataFrame):
        return points_from_frame(points, where=where)
    else:
        raise InvalidInputError(f"{where}: expected a GeoDataFrame, GeoSeries or DataFrame with coordinates, "
                                f"got {type(points).__name__}")
    if geo.crs is None:
        raise InvalidInputError(f"{where}: geometry has no CRS; set it (EPSG:27700 or EPSG:4326)")
    geo = geo.to_crs(settings.crs)
    if not (geo.geom_type == "Point").all():
        geo = geo.representative_point()
    return geo
