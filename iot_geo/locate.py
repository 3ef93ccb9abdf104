"""Which areas a point is in: district, LEP(s), Combined Authority, region, Opportunity Area."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd

from iot_geo.geo import as_points
from iot_geo.sources.boundaries import load_areas, resolve_vintage

__all__ = ["locate", "locate_many"]


#: Boundary files are generalised (up to 500 m, clipped to the coast), so a point
#: on the shore can fall just outside every polygon. Such a point takes the
#: nearest area within this many metres, with a note.
COAST_TOLERANCE_M = 1000.0

_COUNTRY = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}


def _contains(
    points: gpd.GeoSeries, areas: gpd.GeoDataFrame, tolerance: float, fallback: set[int] | None = None
) -> tuple[pd.DataFrame, set[int]]:
    """All areas containing each point.

    Points in none take the nearest area within ``tolerance`` when they are in
    ``fallback`` (``None``: every point may fall back).
    """
    pts = gpd.GeoDataFrame({"pt": np.arange(len(points))}, geometry=points.values, crs=points.crs)
    hits = gpd.sjoin(pts, areas[["code", "name", "geometry"]], predicate="within", how="inner")
    hits = hits[["pt", "code", "name"]]
    nearest: set[int] = set()
    missing = pts[~pts["pt"].isin(hits["pt"])]
    if fallback is not None:
        missing = missing[missing["pt"].isin(fallback)]
    if len(missing) and tolerance > 0:
        near = gpd.sjoin_nearest(missing, areas[["code", "name", "geometry"]], max_distance=tolerance,
                                 how="inner", distance_col="dist")
        near = near.sort_values(["pt", "dist"]).drop_duplicates("pt")
        nearest = set(near["pt"].tolist())
        hits = pd.concat([hits, near[["pt", "code", "name"]]])
    return hits.sort_values(["pt", "code"]), nearest


def _first(hits: pd.DataFrame, n: int) -> tuple[list[str | None], list[str | None]]:
    """The first (lowest code) area of each of ``n`` points, or None: codes and names."""
    one = hits.drop_duplicates("pt").set_index("pt").reindex(range(n))
    codes = [c if isinstance(c, str) else None for c in one["code"]]
    names = [c if isinstance(c, str) else None for c in one["name"]]
    return codes, names


def _all(hits: pd.DataFrame, n: int) -> tuple[list[list[str]], list[list[str]]]:
    """Every area of each of ``n`` points (codes in order): codes and names as lists."""
    codes: list[list[str]] = [[] for _ in range(n)]
    names: list[list[str]] = [[] for _ in range(n)]
    for pt, code, name in zip(hits["pt"].tolist(), hits["code"].tolist(), hits["name"].tolist(), strict=True):
        codes[pt].append(code)
        names[pt].append(name)
    return codes, names


def locate_many(
    points: object,
    *,
    vintage: int | None = None,
    tolerance_m: float = COAST_TOLERANCE_M,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """:func:`locate` for any number of points in one vectorised pass (one spatial join per layer).

    Parameters and result as :func:`locate`.
    """
    pts = as_points(points)
    n = len(pts)
    v_lad = resolve_vintage("lad", vintage)
    v_lep = resolve_vintage("lep", vintage)
    v_ca = resolve_vintage("ca", vintage)
    v_rgn = resolve_vintage("region", vintage)
    lad, near_lad = _contains(pts, load_areas("lad", v_lad, data_dir=data_dir), tolerance_m)
    english = set(lad.loc[lad["code"].str.startswith("E"), "pt"].tolist())
    # LEPs and regions tile England: an English point outside them is a generalisation artefact.
    lep, near_lep = _contains(pts, load_areas("lep", v_lep, data_dir=data_dir), tolerance_m, english)
    rgn, _ = _contains(pts, load_areas("region", v_rgn, data_dir=data_dir), tolerance_m, english)
    # CAs and Opportunity Areas have inland borders: fall back only where the district did.
    coastal = english & near_lad
    ca, _ = _contains(pts, load_areas("ca", v_ca, data_dir=data_dir), tolerance_m, coastal)
    oa_layer = load_areas("oa", data_dir=data_dir)
    oa, _ = _contains(pts, oa_layer, tolerance_m, coastal)
    oa_succ = dict(zip(oa_layer["name"], oa_layer["lad21_codes"], strict=True))
    lad_codes, lad_names = _first(lad, n)
    lep_codes, lep_names = _all(lep, n)
    ca_codes, ca_names = _first(ca, n)
    rgn_codes, rgn_names = _first(rgn, n)
    _, oa_names = _first(oa, n)
    rows = []
    for i in range(n):
        notes = []
        lad_code = lad_codes[i]
        country = _COUNTRY.get(str(lad_code)[0], "unknown") if lad_code else None
        in_england = country == "England"
        if lad_code is None:
            notes.append(f"outside every district (more than {tolerance_m:g} m from Great Britain's boundaries)")
        elif not in_england:
            notes.append(f"in {country}, not England: no LEP, CA or Opportunity Area applies")
        if i in near_lad:
            notes.append(f"outside the generalised, coast-clipped boundaries: nearest district within {tolerance_m:g} m")
        if i in near_lep and in_england:
            notes.append(f"LEP taken as the nearest within {tolerance_m:g} m")
        oa_name = oa_names[i] if in_england else None
        if oa_name and v_lad >= 2021:
            notes.append(f"Opportunity Area drawn on 2017 districts; successor district(s) {oa_succ[oa_name]}")
        rows.append(
            {
                "lad_code": lad_code,
                "lad_name": lad_names[i],
                "lep_codes": lep_codes[i] if in_england else [],
                "lep_names": lep_names[i] if in_england else [],
                "ca_code": ca_codes[i] if in_england else None,
                "ca_name": ca_names[i] if in_england else None,
                "region_code": rgn_codes[i] if in_england else None,
                "region_name": rgn_names[i] if in_england else None,
                "oa_name": oa_name,
                "in_england": bool(in_england),
                "note": "; ".join(notes),
                "lad_vintage": v_lad,
                "lep_vintage": v_lep,
                "ca_vintage": v_ca,
            }
        )
    return pd.DataFrame(rows, index=pts.index, columns=LOCATE_COLUMNS)


#: The columns of :func:`locate`, in order.
LOCATE_COLUMNS = ["lad_code", "lad_name", "lep_codes", "lep_names", "ca_code", "ca_name", "region_code",
                  "region_name", "oa_name", "in_england", "note", "lad_vintage", "lep_vintage", "ca_vintage"]


def locate(
    points: object,
    *,
    vintage: int | None = None,
    tolerance_m: float = COAST_TOLERANCE_M,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Find the district, LEPs, Combined Authority, region and Opportunity Area of each point.

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or DataFrame
        Points in any CRS, or a table with ``lat``/``lon`` or
        ``easting``/``northing`` columns.
    vintage : int, optional
        Boundary year; each layer takes its latest vintage not after it
        (2017: LEP 2017, CA 2017, LAD 2017; default: the latest of each).
    tolerance_m : float
        A point outside every district (the boundaries are generalised and
        clipped to the coast) takes the nearest within this many metres.
    data_dir : path, optional
        Data directory.

    Returns
    -------
    pandas.DataFrame
        One row per point: ``lad_code, lad_name, lep_codes, lep_names`` (lists:
        a place can be in two LEPs), ``ca_code, ca_name, region_code,
        region_name, oa_name, in_england, note`` and the vintages used.

    Examples
    --------
    >>> import pandas as pd, iot_geo as ig
    >>> ig.locate(pd.DataFrame({"lat": [52.67], "lon": [-0.73]}), vintage=2017).loc[0, ["lad_name", "lep_codes"]].tolist()
    ['Rutland', ['E37000042']]
    """
    return locate_many(points, vintage=vintage, tolerance_m=tolerance_m, data_dir=data_dir)
