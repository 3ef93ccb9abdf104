"""Small-area population: LSOA 2011 population-weighted centroids with people and IMD.

People are the ONS mid-2015 estimates published with the English indices of
deprivation 2019 (File 6: total and aged 16-59, excluding prisoners); the IMD
decile is from File 1 (1 = most deprived tenth). Welsh LSOAs keep their
centroids with ``people`` unknown (NaN), so that a count near the border can
say how much it could not count.
"""

from __future__ import annotations

import functools
import hashlib
import os

import geopandas as gpd
import numpy as np
import pandas as pd

from iot_geo import settings
from iot_geo.files import write_cache
from iot_geo.geo import to_bng
from iot_geo.sources.catalogue import dataset_path, get_dataset, reading

__all__ = ["forget_loaded", "load_population"]


COLUMNS = ["lsoa_code", "lsoa_name", "people", "people_16_59", "imd_decile", "geometry"]


def _cache_key(root: str) -> str:
    digest = "|".join(
        f.sha256 for n in ("lsoa_centroids", "population2015", "imd2019") for f in get_dataset(n).files
    )
    return hashlib.sha256((digest + root).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=2)
def _load(root: str) -> gpd.GeoDataFrame:
    cache = settings.get_cache_dir() / f"population-{_cache_key(root)}.csv"
    paths = [dataset_path(n, data_dir=root) for n in ("lsoa_centroids", "population2015", "imd2019")]
    if cache.is_file() and cache.stat().st_mtime >= max(p.stat().st_mtime for p in paths):
        table = pd.read_csv(cache, dtype={"lsoa_code": str, "lsoa_name": str})
    else:
        with reading("lsoa_centroids", paths[0]):
            cent = pd.read_csv(paths[0], encoding="utf-8-sig", dtype={"lsoa11cd": str, "lsoa11nm": str})
        with reading("population2015", paths[1]):
            pop = pd.read_excel(paths[1], sheet_name="Population Denominators", engine="openpyxl")
        with reading("imd2019", paths[2]):
            imd = pd.read_excel(paths[2], sheet_name="IMD2019", engine="openpyxl")
        pop = pop.rename(
            columns={
                "LSOA code (2011)": "lsoa_code",
                "Total population: mid 2015 (excluding prisoners)": "people",
                "Population aged 16-59: mid 2015 (excluding prisoners)": "people_16_59",
            }
        )[["lsoa_code", "people", "people_16_59"]]
        imd = imd.rename(
            columns={"LSOA code (2011)": "lsoa_code", "Index of Multiple Deprivation (IMD) Decile": "imd_decile"}
        )[["lsoa_code", "imd_decile"]]
        x, y = to_bng(cent["X"].to_numpy(), cent["Y"].to_numpy())
        table = pd.DataFrame(
            {"lsoa_code": cent["lsoa11cd"], "lsoa_name": cent["lsoa11nm"], "x": np.round(x, 2), "y": np.round(y, 2)}
        )
        table = table.merge(pop, on="lsoa_code", how="left").merge(imd, on="lsoa_code", how="left")
        table = table.sort_values("lsoa_code").reset_index(drop=True)
        write_cache(cache, lambda tmp: table.to_csv(tmp, index=False), "the population cache")
    geom = gpd.points_from_xy(table["x"], table["y"])
    out = table.drop(columns=["x", "y"])
    out["imd_decile"] = out["imd_decile"].astype("Int64")
    return gpd.GeoDataFrame(out, geometry=geom, crs=settings.crs)


def forget_loaded() -> None:
    """Forget the populations loaded in this process: the next load reads the cache file or the sources again.

    Examples
    --------
    >>> from iot_geo.sources.population import forget_loaded, load_population
    >>> forget_loaded()
    >>> len(load_population())
    34753
    """
    _load.cache_clear()


def load_population(*, data_dir: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Load LSOA (2011) population-weighted centroids with people and IMD 2019 decile.

    Parameters
    ----------
    data_dir : path, optional
        Data directory.

    Returns
    -------
    geopandas.GeoDataFrame
        ``lsoa_code, lsoa_name, people, people_16_59, imd_decile, geometry``
        (EPSG:27700); ``people`` is NaN where unknown (Wales). 34,753 rows on the
        shared data: 32,844 English and 1,909 Welsh.

    Examples
    --------
    >>> import iot_geo as ig
    >>> int(ig.load_population()["people"].sum())
    54728204
    """
    return _load(str(settings.get_data_dir(data_dir).resolve())).copy()
