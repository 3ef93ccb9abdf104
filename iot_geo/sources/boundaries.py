"""Area layers: LEPs, Combined Authorities, districts, regions and Opportunity Areas.

Every layer comes back in EPSG:27700 with the columns ``code, name, kind,
vintage, geometry`` (plus a few of its own). Vintages are explicit ``int``
years; see :data:`VINTAGES`.

How the layers without a boundary file are built
-------------------------------------------------
LEP 2017
    The LAD December 2017 districts dissolved through a LAD 2017 -> LEP 2017
    table that :func:`build_lad17_lep17` derives from two official ONS LSOA
    lookups (LSOA -> LEP April 2017 v2, and LSOA -> LAD April 2017 v4). A
    district belongs to every LEP that any of its LSOAs is in: 31 districts
    sat in two LEPs at once and four more (East Hampshire, New Forest, Test
    Valley, Winchester) are split between Enterprise M3 and Solent by the
    ONS best fit. All 35 are kept in both LEPs, so those LEPs overlap.
CA 2017
    The LAD 2017 districts dissolved through the ONS March 2017 lookup.
Regions
    The LAD 2017 or 2021 districts dissolved through the LAD -> region column of
    a third-party compilation of ONS codes (``lookup_lad_region``).
Opportunity Areas
    The 12 areas of 2016-17 listed in ``data/opportunity_areas.csv``, drawn by
    dissolving their LAD December 2017 districts: the districts as they were
    when the areas were named. For LAD 2021 the successor districts are reported
    (``lad21_codes``) but the area is not redrawn.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from iot_geo import settings
from iot_geo.errors import InvalidInputError
from iot_geo.sources.catalogue import dataset_path, reading
from iot_geo.sources.derived import lad17_lep17

__all__ = [
    "KINDS", "PROJECT_DATA", "VINTAGES", "build_lad17_lep17", "load_areas", "opportunity_area_table",
    "resolve_vintage",
]


KINDS = ("lep", "ca", "lad", "oa", "region")
VINTAGES: dict[str, tuple[int, ...]] = {
    "lep": (2017, 2021),
    "ca": (2017, 2021, 2022, 2024),
    "lad": (2017, 2021),
    "oa": (2017,),
    "region": (2017, 2021),
}
COLUMNS = ["code", "name", "kind", "vintage", "geometry"]
PROJECT_DATA = Path(__file__).resolve().parents[2] / "data"


def resolve_vintage(kind: str, vintage: int | None) -> int:
    """Return the vintage to use for ``kind``: the latest one not after ``vintage``.

    ``None`` means the latest. A year before the first vintage is an error
    listing the available ones.
    """
    if kind not in VINTAGES:
        raise InvalidInputError(f"unknown area kind {kind!r}; use one of {', '.join(KINDS)}")
    have = VINTAGES[kind]
    if vintage is None:
        return have[-1]
    try:
        year = int(vintage)
    except (TypeError, ValueError):
        raise InvalidInputError(f"vintage {vintage!r} is not a year; {kind} vintages: {list(have)}") from None
    if year in have:
        return year
    earlier = [v for v in have if v <= year]
    if not earlier or year > 2100:
        raise InvalidInputError(f"no {kind} vintage {year}; available: {', '.join(map(str, have))}")
    return earlier[-1]


def _root(data_dir: str | os.PathLike[str] | None) -> str:
    return str(settings.get_data_dir(data_dir).resolve())


def _read_csv(name: str, root: str) -> pd.DataFrame:
    path = dataset_path(name, data_dir=root)
    with reading(name, path):
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)


def _read_layer(name: str, root: str) -> gpd.GeoDataFrame:
    path = dataset_path(name, data_dir=root)
    with reading(name, path):
        return gpd.read_file(path, engine="pyogrio")


def _standard(gdf: gpd.GeoDataFrame, code: str, name: str, kind: str, vintage: int) -> gpd.GeoDataFrame:
    out = gdf.rename(columns={code: "code", name: "name"})
    out = out.to_crs(settings.crs)
    out["kind"] = kind
    out["vintage"] = vintage
    out["geometry"] = shapely.make_valid(out.geometry.values)
    extra = [c for c in out.columns if c not in COLUMNS and c.islower()]
    return gpd.GeoDataFrame(out[COLUMNS[:-1] + extra + ["geometry"]], geometry="geometry", crs=settings.crs)


@functools.lru_cache(maxsize=8)
def _lad(vintage: int, root: str) -> gpd.GeoDataFrame:
    if vintage == 2017:
        gdf = _read_layer("lad2017", root)
        return _standard(gdf, "lad17cd", "lad17nm", "lad", 2017)
    gdf = _read_layer("lad2021", root)
    return _standard(gdf, "LAD21CD", "LAD21NM", "lad", 2021)


def build_lad17_lep17(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Derive the LAD 2017 -> LEP 2017 table from the two official ONS LSOA lookups.

    The lookups are read from the data directory (checked against the catalogue);
    :func:`iot_geo.sources.derived.lad17_lep17` says how the table is derived.

    Returns
    -------
    pandas.DataFrame
        One row per English LAD 2017: ``LAD17CD, LAD17NM, LEP17CD1, LEP17NM1,
        LEP17CD2, LEP17NM2, RELATION, N_LSOA, SHARE_LSOA_LEP1, SHARE_LSOA_LEP2``.
    """
    root = _root(data_dir)
    lad, lep = (dataset_path(name, data_dir=root) for name in ("lookup_lsoa11_lad2017", "lookup_lsoa11_lep2017"))
    with reading("lookup_lsoa11_lad2017", lad), reading("lookup_lsoa11_lep2017", lep):
        return lad17_lep17(lad, lep)


@functools.lru_cache(maxsize=4)
def _lad17_lep17_long(root: str) -> pd.DataFrame:
    table = build_lad17_lep17(data_dir=root)
    long = pd.concat(
        [
            table[["LAD17CD", "LEP17CD1", "LEP17NM1"]].set_axis(["lad_code", "code", "name"], axis=1),
            table[["LAD17CD", "LEP17CD2", "LEP17NM2"]].set_axis(["lad_code", "code", "name"], axis=1),
        ]
    )
    return long[long["code"] != ""].reset_index(drop=True)


def _dissolve(lads: gpd.GeoDataFrame, members: pd.DataFrame, kind: str, vintage: int) -> gpd.GeoDataFrame:
    """Dissolve districts into areas; ``members`` has ``lad_code, code, name``."""
    joined = lads[["code", "geometry"]].rename(columns={"code": "lad_code"}).merge(members, on="lad_code")
    parts = []
    for (code, name), grp in joined.groupby(["code", "name"], sort=True):
        geom = shapely.make_valid(shapely.union_all(grp.geometry.values))
        parts.append({"code": code, "name": name, "kind": kind, "vintage": vintage,
                      "lad_codes": ";".join(sorted(grp["lad_code"])), "geometry": geom})
    return gpd.GeoDataFrame(parts, geometry="geometry", crs=settings.crs)


@functools.lru_cache(maxsize=16)
def _load(kind: str, vintage: int, root: str) -> gpd.GeoDataFrame:
    if kind == "lad":
        return _lad(vintage, root)
    if kind == "lep":
        if vintage == 2021:
            gdf = _read_layer("lep2021", root)
            return _standard(gdf, "LEP21CD", "LEP21NM", "lep", 2021)
        return _dissolve(_lad(2017, root), _lad17_lep17_long(root), "lep", 2017)
    if kind == "ca":
        if vintage == 2017:
            lk = _read_csv("lookup_lad17_ca2017", root)
            members = lk[["LAD17CD", "CAUTH17CD", "CAUTH17NM"]].set_axis(["lad_code", "code", "name"], axis=1)
            return _dissolve(_lad(2017, root), members, "ca", 2017)
        name, code_col, name_col = {
            2021: ("ca2021", "CAUTH21CD", "CAUTH21NM"),
            2022: ("ca2022", "CAUTH22CD", "CAUTH22NM"),
            2024: ("ca2024", "CAUTH24CD", "CAUTH24NM"),
        }[vintage]
        gdf = _read_layer(name, root)
        return _standard(gdf, code_col, name_col, "ca", vintage)
    if kind == "region":
        lk = _read_csv("lookup_lad_region", root)
        members = lk[lk["RGNCD"] != ""][["LADCD", "RGNCD", "RGNNM"]].set_axis(["lad_code", "code", "name"], axis=1)
        return _dissolve(_lad(vintage, root), members.drop_duplicates(), "region", vintage)
    if kind == "oa":
        return _opportunity_areas(root)
    raise AssertionError(kind)


def opportunity_area_table() -> pd.DataFrame:
    """The 12 Opportunity Areas of 2016-17 as written in ``data/opportunity_areas.csv``."""
    path = PROJECT_DATA / "opportunity_areas.csv"
    return pd.read_csv(path, dtype=str)


def _opportunity_areas(root: str) -> gpd.GeoDataFrame:
    table = opportunity_area_table()
    lads = _lad(2017, root)
    succ = _read_csv("lookup_lad11_lad21", root)[["LAD11CD", "LAD21CD", "LAD21NM"]]
    succ_map = dict(zip(succ["LAD11CD"], succ["LAD21CD"], strict=False))
    rows = []
    for _, r in table.iterrows():
        codes = r["lad17_codes"].split(";")
        missing = [c for c in codes if c not in set(lads["code"])]
        if missing:
            raise InvalidInputError(f"opportunity_areas.csv: {r['oa_name']}: district(s) {missing} not in LAD 2017")
        geom = shapely.union_all(lads.loc[lads["code"].isin(codes), "geometry"].values)
        rows.append(
            {
                "code": "oa:" + r["oa_name"].lower().replace(" ", "-"),
                "name": r["oa_name"],
                "kind": "oa",
                "vintage": 2017,
                "wave": int(r["wave"]),
                "announced": r["announced"],
                "lad_codes": ";".join(codes),
                "lad21_codes": ";".join(sorted({succ_map.get(c, c) for c in codes})),
                "geometry": shapely.make_valid(geom),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.crs)


def load_areas(
    kind: str, vintage: int | None = None, *, data_dir: str | os.PathLike[str] | None = None
) -> gpd.GeoDataFrame:
    """Load one area layer in EPSG:27700.

    Parameters
    ----------
    kind : {"lep", "ca", "lad", "oa", "region"}
        LEPs, Combined Authorities, local authority districts, Opportunity
        Areas or English regions.
    vintage : int, optional
        The year of the boundaries (see :data:`VINTAGES`); a year between two
        vintages takes the earlier one; default the latest.
    data_dir : path, optional
        Data directory; default from settings.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code, name, kind, vintage, geometry`` and, for built layers,
        ``lad_codes`` (the member districts, ``;``-separated).

    Raises
    ------
    InvalidInputError
        Unknown kind or unavailable vintage (the message lists what there is).
    DataNotFoundError
        A file the layer needs is not in the data directory.

    Examples
    --------
    >>> import iot_geo as ig
    >>> len(ig.load_areas("lep", vintage=2017))
    38
    """
    year = resolve_vintage(kind, vintage)
    return _load(kind, year, _root(data_dir)).copy()
