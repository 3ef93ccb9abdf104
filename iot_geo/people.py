"""People reached: the LSOA population table, and counting the people whose centroid is reached in time.

Population counts use each LSOA's population-weighted centroid, timed from the
sites like any other point: an LSOA counts when its centroid is reached within
the band, not by polygon overlap. Centroids whose population is unknown
(Wales) are counted in ``people_unknown`` (the number of such LSOAs). People
whose centroid lies outside a road network's coverage are counted apart
(``people_outside_network``), never as reached.

Catchments, hub and spoke, overlap, checks, evidence and batch runs all count
people with these functions, so their figures agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from iot_geo.sources import population as population_source

if TYPE_CHECKING:
    from iot_geo.routing import RoutingNetwork

__all__ = ["PopArrays", "people_in_reach", "population_near", "population_or_load", "whole_count"]


def population_or_load(data_dir: str | os.PathLike[str] | None, population: gpd.GeoDataFrame | None
                       ) -> gpd.GeoDataFrame:
    """``population`` itself, or the LSOA centroids of :func:`iot_geo.load_population` when it is None.

    Examples
    --------
    >>> from iot_geo.people import population_or_load
    >>> bool(len(population_or_load(None, None)) > 30000)
    True
    """
    if population is not None:
        return population
    return population_source.load_population(data_dir=data_dir)


def population_near(network: RoutingNetwork, pop: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The centroids within the network's bounds widened by its :attr:`~iot_geo.routing.RoutingNetwork.reach_m`.

    A cheap box filter: the only centroids a catchment on this network can reach.
    """
    minx, miny, maxx, maxy = network.bounds
    m = network.reach_m
    x, y = pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy()
    return pop[(x >= minx - m) & (x <= maxx + m) & (y >= miny - m) & (y <= maxy + m)]


@dataclass
class PopArrays:
    """Population columns as plain arrays for fast per-band sums (``people`` 0 where unknown).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from iot_geo.people import PopArrays
    >>> pop = gpd.GeoDataFrame({"people": [10.0, None], "people_16_59": [6.0, None], "imd_decile": [3, None]},
    ...                        geometry=gpd.points_from_xy([0, 1], [0, 1]))
    >>> a = PopArrays.of(pop)
    >>> a.people.tolist(), a.known.tolist(), a.decile.tolist()
    ([10.0, 0.0], [True, False], [3, 0])
    """

    people: np.ndarray
    people_16_59: np.ndarray
    known: np.ndarray
    decile: np.ndarray  # 0 where unknown

    @classmethod
    def of(cls, pop: gpd.GeoDataFrame) -> PopArrays:
        """The arrays of a population table (``people``, optional ``people_16_59`` and ``imd_decile``)."""
        people = pop["people"].to_numpy(dtype=float, na_value=np.nan)
        p1659 = (pop["people_16_59"].to_numpy(dtype=float, na_value=np.nan) if "people_16_59" in pop.columns
                 else np.full(len(pop), np.nan))
        known = np.isfinite(people)
        decile = (pop["imd_decile"].to_numpy(dtype=float, na_value=0).astype(np.int64) if "imd_decile" in pop.columns
                  else np.zeros(len(pop), np.int64))
        return cls(np.where(known, people, 0.0), np.nan_to_num(p1659), known, np.clip(decile, 0, 10))


def people_in_reach(pop: PopArrays, minutes_to_pop: np.ndarray, band: float,
                    outside_minutes: np.ndarray | None = None) -> dict[str, Any]:
    """People reached within ``band``, as the people columns of a catchment row.

    Keys: ``people, people_16_59, people_unknown, people_outside_network, outside_network_share, lsoas,
    imd_1..imd_10``.

    ``outside_minutes``: the times the points outside the network's coverage would get through the
    nearest road fragment (inf for the others); those people are counted apart, never as reached.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> from iot_geo.people import PopArrays, people_in_reach
    >>> pop = gpd.GeoDataFrame({"people": [10.0, 20.0]}, geometry=gpd.points_from_xy([0, 1], [0, 1]))
    >>> people_in_reach(PopArrays.of(pop), np.array([5.0, 50.0]), 30)["people"]
    10
    """
    reached = minutes_to_pop <= band
    by_decile = np.bincount(pop.decile[reached], weights=pop.people[reached], minlength=11)
    people = float(pop.people[reached].sum())
    outside = 0.0 if outside_minutes is None else float(pop.people[outside_minutes <= band].sum())
    out: dict[str, Any] = {
        "people": whole_count(people),
        "people_16_59": whole_count(pop.people_16_59[reached].sum()),
        "people_unknown": int((reached & ~pop.known).sum()),
        "people_outside_network": whole_count(outside),
        "outside_network_share": round(outside / (people + outside), 4) if people + outside > 0 else 0.0,
        "lsoas": int(reached.sum()),
    }
    for d in range(1, 11):
        out[f"imd_{d}"] = whole_count(by_decile[d])
    return out


def whole_count(people: float) -> int:
    """A count of people as a whole number (sums of the population's counts; a weighted one is rounded).

    Examples
    --------
    >>> from iot_geo.people import whole_count
    >>> whole_count(1234.5001)
    1235
    """
    return int(round(float(people)))
