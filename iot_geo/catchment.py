"""Catchments: the land and the people each site (or each bid) reaches within each band.

The tables here are built on the routing interface
(:class:`iot_geo.routing.RoutingNetwork`), so a road network and a timetable
give them alike. The steps, each owned by its own module:

* sites and bands are checked here (:func:`as_sites`, :func:`check_minutes`);
* the network searches from the sites (road: :mod:`iot_geo.search`, transit:
  :mod:`iot_geo.transit`) and times the LSOA centroids;
* the land reached is a travel-time grid contoured per band
  (:mod:`iot_geo.grids`: bands nest by construction);
* people are counted by population-weighted LSOA centroid reached within the
  band (:mod:`iot_geo.people`); centroids outside a road network's coverage
  are counted apart as ``people_outside_network``, never as reached.

A catchment that reaches the network's frontier (the edge of its data) is
``truncated``: its figures are lower bounds.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from iot_geo import settings
from iot_geo.errors import InvalidInputError
from iot_geo.geo import as_points, check_lat_lon, points_from_frame
from iot_geo.grids import ACCESS_MAX_M
from iot_geo.network import as_network
from iot_geo.people import PopArrays, people_in_reach, population_near, population_or_load
from iot_geo.postcodes import is_postcode, lookup_postcodes
from iot_geo.routing import RoutingNetwork, SiteTimes
from iot_geo.search import POINT_SNAP_MAX_M, SITE_SNAP_MAX_M

__all__ = [
    "CATCHMENT_COLUMNS",
    "DIRECTIONS",
    "MAX_MINUTES",
    "RESOLUTION_M",
    "CatchmentDetail",
    "as_sites",
    "catchment_detail",
    "catchments",
    "check_minutes",
    "lsoa_times",
    "parse_site_arg",
    "people_reached",
    "pick_network",
    "times_to_points",
    "travel_times",
    "warn_truncation",
]


#: Directions of travel.
DIRECTIONS = ("to_site", "from_site")
#: Largest band accepted, minutes.
MAX_MINUTES = 240.0
#: Default polygon resolution by mode (metres).
RESOLUTION_M = {"drive": 100.0, "cycle": 50.0, "walk": 25.0, "transit": 100.0}

CATCHMENT_COLUMNS = ["site_id", "group_id", "mode", "direction", "minutes", "area_km2", "people",
                     "people_16_59", "people_unknown", "truncated", "geometry"]


# --------------------------------------------------------------------- sites
def as_sites(sites: Any, *, where: str = "sites") -> gpd.GeoDataFrame:
    """Normalise sites to a GeoDataFrame ``site_id, name, group_id, geometry`` (EPSG:27700).

    Accepts a GeoDataFrame/DataFrame (``site_id`` or ``id`` or ``name``; a
    ``group_id`` or ``bid_id`` column groups sites), a mapping
    ``{name: (lat, lon)}``, or a sequence of ``(name, lat, lon)``.

    Raises
    ------
    InvalidInputError
        No sites, duplicate ids, missing or bad coordinates.

    Examples
    --------
    >>> import iot_geo as ig
    >>> ig.as_sites({"Oakham": (52.6707, -0.7270)})[["site_id", "name"]].values.tolist()
    [['Oakham', 'Oakham']]
    """
    if isinstance(sites, dict):
        rows = []
        for name, ll in sites.items():
            if not (isinstance(ll, tuple | list) and len(ll) == 2):
                raise InvalidInputError(f"{where}: site {name!r}: expected (lat, lon), got {ll!r}")
            rows.append({"site_id": str(name), "lat": ll[0], "lon": ll[1]})
        sites = pd.DataFrame(rows)
    elif isinstance(sites, list | tuple) and not isinstance(sites, pd.DataFrame):
        try:
            sites = pd.DataFrame([{"site_id": str(n), "lat": la, "lon": lo} for n, la, lo in sites])
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: expected (name, lat, lon) triples") from None
    if not isinstance(sites, pd.DataFrame):
        raise InvalidInputError(f"{where}: expected a (Geo)DataFrame, a dict or a list, got {type(sites).__name__}")
    if len(sites) == 0:
        raise InvalidInputError(f"{where}: no sites given")
    df = sites.copy()
    if isinstance(df, gpd.GeoDataFrame):
        geom = as_points(df, where=where)
    else:
        geom = points_from_frame(df, where=where)
    id_col = next((c for c in ("site_id", "id", "name") if c in df.columns), None)
    ids = df[id_col].astype(str) if id_col else pd.Series([f"site-{i + 1}" for i in range(len(df))], index=df.index)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InvalidInputError(f"{where}: duplicate site id {dup.iloc[0]!r}; give every site its own name")
    group = df["group_id"] if "group_id" in df.columns else (df["bid_id"] if "bid_id" in df.columns else None)
    out = gpd.GeoDataFrame(
        {
            "site_id": ids.to_numpy(),
            "name": (df["name"].astype(str) if "name" in df.columns else ids).to_numpy(),
            "group_id": (group.astype(str).to_numpy() if group is not None else np.full(len(df), "all", object)),
        },
        geometry=geom.values,
        crs=settings.crs,
    )
    return out


def parse_site_arg(text: str) -> tuple[str, float, float]:
    """Parse ``"Name=LAT,LON"`` or ``"Name=POSTCODE"`` (the CLI's ``--site``)."""
    name, _, coords = text.rpartition("=")
    if is_postcode(coords):
        if not name.strip():
            raise InvalidInputError(f"--site {text!r}: the site needs a name before '='")
        hit = lookup_postcodes([coords]).iloc[0]
        return name.strip(), float(hit["lat"]), float(hit["lon"])
    try:
        lat_s, lon_s = coords.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise InvalidInputError(f"--site {text!r}: expected NAME=LAT,LON or NAME=POSTCODE, for example "
                                "'Oakham=52.67,-0.73' or 'Oakham=LE15 6RP'") from None
    if not name.strip():
        raise InvalidInputError(f"--site {text!r}: the site needs a name before '='")
    check_lat_lon(np.array([lat]), np.array([lon]), where="--site", labels=[name])
    return name.strip(), lat, lon


def check_minutes(minutes: Iterable[float] | float) -> list[float]:
    """Validate bands: positive, at most :data:`MAX_MINUTES`, sorted, unique."""
    vals = [minutes] if isinstance(minutes, int | float) else list(minutes)
    if not vals:
        raise InvalidInputError("no minutes given: name at least one band, for example 10 15 20")
    out = []
    for m in vals:
        try:
            f = float(m)
        except (TypeError, ValueError):
            raise InvalidInputError(f"minutes {m!r} is not a number") from None
        if not math.isfinite(f) or f <= 0:
            raise InvalidInputError(f"minutes {m!r}: a band must be more than 0 minutes")
        if f > MAX_MINUTES:
            raise InvalidInputError(f"minutes {m!r}: bands over {MAX_MINUTES:g} minutes are not travel-to-learn times")
        out.append(f)
    return sorted(set(out))


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise InvalidInputError(f"direction {direction!r}: use 'to_site' or 'from_site'")


# -------------------------------------------------------------- travel times
def travel_times(
    network: RoutingNetwork,
    sites: Any,
    *,
    max_minutes: float,
    direction: str = "to_site",
    snap_max_m: float = SITE_SNAP_MAX_M,
) -> SiteTimes:
    """Minutes from every network node to each site (or from each site), up to a cutoff.

    Parameters
    ----------
    network : RoutingNetwork
    sites : GeoDataFrame, DataFrame, dict or list
        See :func:`as_sites`.
    max_minutes : float
        Cutoff in minutes (the largest band); farther nodes get ``inf``.
    direction : {"to_site", "from_site"}
        ``to_site`` (default): learners travel to college, one-way streets
        count the way they travel.
    snap_max_m : float
        A site farther than this from every usable road is an error.

    Returns
    -------
    SiteTimes
        A :class:`TravelTimes` on a road network.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> tt = ig.travel_times(net, oakham, max_minutes=15)
    >>> bool(0 < tt.min.min() < 15)
    True
    """
    network = as_network(network)
    _check_direction(direction)
    (cutoff,) = check_minutes([max_minutes])
    return network.search(as_sites(sites), max_minutes=cutoff, direction=direction, snap_max_m=snap_max_m)


def times_to_points(
    network: RoutingNetwork,
    points: Any,
    sites: Any,
    *,
    max_minutes: float,
    direction: str = "to_site",
    snap_max_m: float = POINT_SNAP_MAX_M,
    times: SiteTimes | None = None,
) -> pd.DataFrame:
    """Minutes between each point (with its own access leg) and each site.

    Parameters
    ----------
    network : RoutingNetwork
    points : GeoDataFrame, GeoSeries or DataFrame
        Homes, LSOA centroids, ... (any CRS, or lat/lon columns).
    sites : see :func:`as_sites`
    max_minutes : float
        Cutoff; farther points get NaN.
    direction : {"to_site", "from_site"}
    snap_max_m : float
        Points farther than this from every usable road are not reached (NaN).
    times : SiteTimes, optional
        Reuse an earlier search with the same sites, direction and cutoff.

    Returns
    -------
    pandas.DataFrame
        Same index as ``points``: one column of minutes per site id,
        ``nearest_site``, ``minutes`` (to the nearest), ``snap_m`` (the
        point's access distance) and ``outside_network`` (the point lies
        outside the network's coverage, beyond the clipped edge of an extract
        or in a gap with no roads: it is not timed, its minutes are NaN).

    Examples
    --------
    >>> import pandas as pd, iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> homes = pd.DataFrame({"lat": [52.6585], "lon": [-0.6395]})
    >>> bool(ig.times_to_points(net, homes, oakham, max_minutes=30)["minutes"].iloc[0] < 30)
    True
    """
    network = as_network(network)
    tt = times or travel_times(network, sites, max_minutes=max_minutes, direction=direction)
    pts = as_points(points)
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    minutes, snap_m = network.minutes_to_points(tt, x, y, snap_max_m=snap_max_m)
    outside = ~network.covered(x, y)
    minutes[:, outside] = np.inf  # never timed through a road fragment
    ids = list(tt.sites["site_id"])
    df = pd.DataFrame(np.where(minutes <= tt.max_minutes, minutes, np.nan).T, columns=ids, index=pts.index)
    best = minutes.min(axis=0)
    nearest = np.asarray(ids, dtype=object)[minutes.argmin(axis=0)]
    reached = best <= tt.max_minutes
    df["nearest_site"] = pd.Series(np.where(reached, nearest, None), index=df.index, dtype=object)
    df["minutes"] = np.where(reached, best, np.nan)
    df["snap_m"] = snap_m
    df["outside_network"] = outside
    return df


# ----------------------------------------------------------------- catchments
@dataclass
class CatchmentDetail:
    """What :func:`catchment_detail` computes: the table, and per-unit minutes to each LSOA centroid."""

    table: gpd.GeoDataFrame
    population: gpd.GeoDataFrame  # the centroids near the network
    unit_minutes: np.ndarray  # (n_units, n_population) minutes, inf where not reached
    units: list[str]  # site id (or group id for a union) of each row of unit_minutes
    #: per unit: minutes to the LSOA centroids outside the network's coverage through the nearest road fragment
    #: (inf for the others); those people are counted as ``people_outside_network``, never as reached
    outside_minutes: np.ndarray
    cells: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per unit: global cell ids, minutes
    resolution: float = 0.0


def _units(sites: gpd.GeoDataFrame, union: bool) -> list[tuple[str | None, str, np.ndarray]]:
    """What each catchment covers: (site id or None for a union, group id, indices of its sites)."""
    if union:
        groups = list(dict.fromkeys(sites["group_id"]))
        return [(None, g, np.flatnonzero(sites["group_id"].to_numpy() == g)) for g in groups]
    return [(str(sid), str(g), np.array([i])) for i, (sid, g) in enumerate(zip(sites["site_id"], sites["group_id"],
                                                                                strict=True))]


def catchment_detail(
    network: RoutingNetwork,
    sites: Any,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    union: bool = False,
    direction: str = "to_site",
    resolution: float | None = None,
    access_max_m: float = ACCESS_MAX_M,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    polygons: bool = True,
    keep_cells: bool = False,
) -> CatchmentDetail:
    """:func:`catchments` with the minutes to every LSOA centroid kept (for overlap and hub-and-spoke).

    One search from all the sites serves every band and unit; each unit (a site, or a group's sites
    together for ``union``) takes the nearest of its sites. ``polygons=False`` skips the grids;
    ``keep_cells`` keeps each unit's grid cells within the largest band (for shared land in overlap).
    """
    network = as_network(network)
    bands = check_minutes(minutes)
    _check_direction(direction)
    site_gdf = as_sites(sites)
    res = float(resolution or RESOLUTION_M[network.mode])
    if res <= 0:
        raise InvalidInputError(f"resolution {res} must be positive metres")
    # search a little past the largest band, so that its contour is interpolated between real
    # times on both sides (the same polygon whatever other bands are asked for)
    margin = network.grid_margin(res)
    tt = network.search(site_gdf, max_minutes=min(bands[-1] + margin, MAX_MINUTES + margin), direction=direction)
    pop, pop_minutes, outside_minutes = _centroid_minutes(network, tt, population_or_load(data_dir, population))
    units = _units(tt.sites, union)
    unit_minutes = np.vstack([pop_minutes[idx].min(axis=0) for _, _, idx in units])
    unit_outside = np.vstack([outside_minutes[idx].min(axis=0) for _, _, idx in units])
    arrays = PopArrays.of(pop)
    rows: list[dict[str, Any]] = []
    cells: list[tuple[np.ndarray, np.ndarray]] = []
    for u, (site_id, group_id, idx) in enumerate(units):
        geoms = [shapely.Polygon() for _ in bands]
        if polygons or keep_cells:
            grid = network.time_grid(tt, idx, resolution=res, access_max_m=access_max_m)
            geoms = grid.contours(bands) if polygons else geoms
            if keep_cells:
                cells.append(grid.cells(bands[-1]))
        node_t = tt.per_site[idx].min(axis=0)
        for band, geom in zip(bands, geoms, strict=True):
            rows.append(_row(site_id, group_id, network.mode, direction, band, geom,
                             people_in_reach(arrays, unit_minutes[u], band, unit_outside[u]),
                             bool(network.frontier[node_t <= band].any())))
    names = [str(g if sid is None else sid) for sid, g, _ in units]
    return CatchmentDetail(_table(rows), pop, unit_minutes, names, unit_outside, cells, res)


def _centroid_minutes(network: RoutingNetwork, tt: SiteTimes, population: gpd.GeoDataFrame
                      ) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """The centroids near the network, minutes to them per site, and the minutes of those outside its coverage.

    Centroids outside the coverage get ``inf`` in the first array; the second keeps, for them only, what a
    road fragment would have said (``inf`` for the others), to count them apart.
    """
    pop = population_near(network, population)
    x, y = pop.geometry.x.to_numpy(), pop.geometry.y.to_numpy()
    minutes, _ = network.minutes_to_points(tt, x, y)
    outside = ~network.covered(x, y)
    outside_minutes = np.where(outside, minutes, np.inf)
    minutes[:, outside] = np.inf
    return pop, minutes, outside_minutes


def _row(site_id: str | None, group_id: str, mode: str, direction: str, band: float, geom: shapely.Geometry,
         people: dict[str, Any], truncated: bool) -> dict[str, Any]:
    """One catchment row (the catchment table's documented columns, then people by IMD decile)."""
    return {"site_id": site_id if site_id is not None else "", "group_id": group_id, "mode": mode,
            "direction": direction, "minutes": int(band) if float(band).is_integer() else band,
            "area_km2": round(float(shapely.area(geom)) / 1e6, 4), **people, "truncated": truncated, "geometry": geom}


def _table(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """Catchment rows as a GeoDataFrame with the documented columns first and geometry last."""
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=settings.crs)
    cols = CATCHMENT_COLUMNS[:-1] + [c for c in out.columns if c not in CATCHMENT_COLUMNS] + ["geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=settings.crs)


def catchments(
    network: RoutingNetwork,
    sites: Any,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    union: bool = False,
    direction: str = "to_site",
    resolution: float | None = None,
    access_max_m: float = ACCESS_MAX_M,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    warn_truncated: bool = True,
) -> gpd.GeoDataFrame:
    """Isochrone catchments with the people they reach, per site (or per group) and band.

    Parameters
    ----------
    network : RoutingNetwork
        A road network or a transit one (:func:`iot_geo.load_network`).
    sites : see :func:`as_sites`
        A ``group_id`` (or ``bid_id``) column groups sites for ``union``.
    minutes : sequence of float
        Bands in minutes (default 30, 45, 60; use shorter ones on small extracts).
    union : bool
        One catchment per group of sites (the nearest site of the group counts)
        instead of one per site.
    direction : {"to_site", "from_site"}
    resolution : float, optional
        Grid cell in metres (default by mode: :data:`RESOLUTION_M`).
    access_max_m : float
        How far off a reached road the polygon reaches, on foot.
    population : GeoDataFrame, optional
        LSOA centroids with ``people``, ``people_16_59``, ``imd_decile``;
        default :func:`iot_geo.load_population`.
    data_dir : path, optional
    warn_truncated : bool
        Warn about catchments that reach the edge of the network.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site_id, group_id, mode, direction, minutes, area_km2, people,
        people_16_59, people_unknown, truncated, geometry`` plus ``lsoas`` and
        ``imd_1``..``imd_10`` (people by IMD decile). ``site_id`` is empty for a
        union. ``truncated``: the catchment reaches the edge of the loaded
        network, so its figures are lower bounds.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> ig.catchments(net, oakham, minutes=(10, 15))["minutes"].tolist()
    [10, 15]
    """
    network = as_network(network)
    out = catchment_detail(network, sites, minutes=minutes, union=union, direction=direction,
                           resolution=resolution, access_max_m=access_max_m, population=population,
                           data_dir=data_dir).table
    if warn_truncated and out["truncated"].any():
        warn_truncation(out)
    return out


def warn_truncation(table: pd.DataFrame) -> None:
    """Warn that some catchments reach the edge of their network (their figures are lower bounds)."""
    cut = table[table["truncated"]]
    if not len(cut):
        return
    names = ", ".join(f"{s or g} {m} min" for s, g, m in zip(cut["site_id"].astype(str).head(5),
                                                            cut["group_id"].astype(str).head(5),
                                                            cut["minutes"].astype(str).head(5), strict=True))
    warnings.warn(f"{len(cut)} catchment(s) reach the edge of the loaded network ({names}"
                  f"{', ...' if len(cut) > 5 else ''}): their figures are lower bounds", stacklevel=3)


def pick_network(networks: RoutingNetwork | Sequence[RoutingNetwork], sites: gpd.GeoDataFrame, *, label: str
                 ) -> RoutingNetwork:
    """The first network that every one of ``sites`` can join (:meth:`~iot_geo.routing.RoutingNetwork.covers`)."""
    nets = list(networks) if isinstance(networks, Sequence) else [networks]  # not isinstance(Protocol): see routing
    if not nets:
        raise InvalidInputError("no network given")
    x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    gaps: list[float] = []
    for net in nets:
        if net.covers(x, y).all():
            return net
        if (gap := net.site_gap_m(x, y)) is not None:
            gaps.append(gap)
    # each network says why in its own words; where gaps are measured (roads), the nearest one is named
    far = (f"the nearest leaves a site {min(gaps):,.0f} m from any usable road" if gaps
           else "; ".join(dict.fromkeys(f"{net.mode}: a site with {net.refusal}" for net in nets)))
    raise InvalidInputError(f"{label}: no loaded network covers all its sites ({far}); "
                            "load a network that covers the bid's area")


def people_reached(
    network: RoutingNetwork,
    sites: Any,
    *,
    minutes: Sequence[float] | float = (30, 45, 60),
    direction: str = "to_site",
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """People whose LSOA centroid is reached from any of the sites, per band.

    Returns
    -------
    pandas.DataFrame
        One row per band: ``minutes, people, people_16_59, people_unknown,
        people_outside_network, outside_network_share, lsoas, imd_1..imd_10``.

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> bool(ig.people_reached(net, oakham, minutes=(10,))["people"].iloc[0] > 5000)
    True
    """
    network = as_network(network)
    bands = check_minutes(minutes)
    g = as_sites(sites)
    g["group_id"] = "all"
    det = catchment_detail(network, g, minutes=bands, union=True, direction=direction, population=population,
                           data_dir=data_dir, polygons=False)
    arrays = PopArrays.of(det.population)
    return pd.DataFrame([{"minutes": b, **people_in_reach(arrays, det.unit_minutes[0], b, det.outside_minutes[0])}
                         for b in bands])


def lsoa_times(
    network: RoutingNetwork,
    sites: Any,
    *,
    max_minutes: float,
    direction: str = "to_site",
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Minutes from each LSOA centroid near the network to its nearest site (the DfT JTS question).

    Examples
    --------
    >>> import iot_geo as ig
    >>> net = ig.load_network("rutland-2022-07-20.osm.pbf")  # in the data directory's osm/ folder
    >>> oakham = {"Oakham": (52.6707, -0.7270)}
    >>> bool(ig.lsoa_times(net, oakham, max_minutes=10)["minutes"].notna().sum() > 5)
    True
    """
    network = as_network(network)
    pop = population_near(network, population_or_load(data_dir, population))
    t = times_to_points(network, pop, sites, max_minutes=max_minutes, direction=direction)
    return pd.DataFrame(pd.concat([pop.drop(columns="geometry").reset_index(drop=True),
                      t[["nearest_site", "minutes", "snap_m"]].reset_index(drop=True)], axis=1))
