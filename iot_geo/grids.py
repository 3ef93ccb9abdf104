"""Travel-time grids and their contours: the land reached within each band.

A :class:`TimeGrid` holds minutes per cell. :func:`grid_from_points` writes
timed points into a grid of ``resolution`` metres (the minimum per cell) and
spreads them on foot over a disk (a distance-weighted erosion): off a reached
road for road networks, from the stops reached (and the sites) for transit.
Every band is contoured from the one grid (contourpy), so bands nest by
construction, and every grid of one resolution lies on the same lattice.

:func:`time_grid` does this for a road search: points are sampled along every
reached segment every :data:`SAMPLE_SPACING` cells, each with its exact time
(the part of an edge reached before time runs out is kept, the rest dropped),
and spread over :data:`ACCESS_MAX_M` metres at the access speed. A point
inside a band's polygon lies within one cell diagonal of a point reachable
within the band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import contourpy
import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from iot_geo.search import same_segment_times, sample_segments, segment_point_times

if TYPE_CHECKING:
    from iot_geo.network import TravelNetwork

__all__ = ["ACCESS_MAX_M", "SAMPLE_SPACING", "TimeGrid", "grid_from_points", "time_grid"]


#: Isochrone polygons reach at most this far off a reached road, on foot (metres).
ACCESS_MAX_M = 400.0
#: Points are sampled along reached roads every this many grid cells.
SAMPLE_SPACING = 0.75


@dataclass
class TimeGrid:
    """Minutes to reach each cell centre (network time plus the access leg); ``inf`` where unreached."""

    values: np.ndarray  # (ny, nx)
    x0: float  # centre of cell (0, 0)
    y0: float
    resolution: float

    def cells(self, minutes: float) -> tuple[np.ndarray, np.ndarray]:
        """Cells reached within ``minutes``: global cell ids and their minutes (float32).

        Every grid of one resolution lies on the same lattice (grids are aligned to multiples of
        the resolution), so the ids of different catchments can be compared.
        """
        iy, ix = np.nonzero(self.values <= minutes)
        gx = np.int64(round(self.x0 / self.resolution)) + ix
        gy = np.int64(round(self.y0 / self.resolution)) + iy
        return gy * (1 << 32) + gx, self.values[iy, ix].astype(np.float32)

    def contours(self, bands: Sequence[float]) -> list[shapely.Geometry]:
        """The land reached within each band, as (Multi)Polygons in EPSG:27700 (one contouring pass)."""
        z = np.where(np.isfinite(self.values), self.values, 1e9)
        ny, nx = z.shape
        if ny < 2 or nx < 2 or not (z <= max(bands)).any():
            return [shapely.Polygon() for _ in bands]
        xs = self.x0 + np.arange(nx) * self.resolution
        ys = self.y0 + np.arange(ny) * self.resolution
        gen = contourpy.contour_generator(xs, ys, z, fill_type=contourpy.FillType.ChunkCombinedOffsetOffset,
                                          name="serial", chunk_size=0)
        out = []
        for band in bands:
            points, offsets, outer = (c[0] for c in gen.filled(-1.0, float(band)))
            if points is None or len(points) == 0:
                out.append(shapely.Polygon())
                continue
            polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, points, (offsets, outer))
            geom = shapely.multipolygons(polys) if len(polys) > 1 else polys[0]
            # contourpy's filled contours of one grid do not overlap or self-cross (tests check validity)
            out.append(geom)
        return out

    def contour(self, minutes: float) -> shapely.Geometry:
        """The land reached within ``minutes`` as a (Multi)Polygon in EPSG:27700."""
        return self.contours([minutes])[0]


def grid_from_points(x: np.ndarray, y: np.ndarray, t: np.ndarray, *, resolution: float, walk_max_m: float,
                     per_m: float) -> TimeGrid:
    """A time grid from timed points, each spreading on foot up to ``walk_max_m`` (``per_m`` minutes a metre).

    Cells hold the smallest time of the points in them; the grid is aligned to multiples of
    ``resolution`` and padded by the walk and two cells. No points: a 1 x 1 grid of ``inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from iot_geo.grids import grid_from_points
    >>> g = grid_from_points(np.array([0.0]), np.array([0.0]), np.array([5.0]), resolution=100.0,
    ...                      walk_max_m=200.0, per_m=0.01)
    >>> float(g.values.min()), bool(np.isinf(g.values).any())
    (5.0, True)
    """
    res = resolution
    if not len(t):
        return TimeGrid(np.full((1, 1), np.inf), 0.0, 0.0, res)
    pad = walk_max_m + 2 * res
    x0 = math.floor((x.min() - pad) / res) * res
    y0 = math.floor((y.min() - pad) / res) * res
    nx = int(math.ceil((x.max() + pad - x0) / res)) + 1
    ny = int(math.ceil((y.max() + pad - y0) / res)) + 1
    flat = np.full(ny * nx, np.inf)
    np.minimum.at(flat, np.rint((y - y0) / res).astype(np.int64) * nx + np.rint((x - x0) / res).astype(np.int64), t)
    grid = flat.reshape(ny, nx)
    r = int(walk_max_m // res)
    if r >= 1:
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        dist = np.hypot(yy, xx) * res
        grid = ndimage.grey_erosion(grid, footprint=dist <= walk_max_m, structure=-(dist * per_m), mode="constant",
                                    cval=np.inf)
    return TimeGrid(grid, x0, y0, res)


def time_grid(
    network: TravelNetwork,
    node_minutes: np.ndarray,
    *,
    direction: str,
    max_minutes: float,
    resolution: float,
    access_max_m: float = ACCESS_MAX_M,
    snapped_sites: gpd.GeoDataFrame | None = None,
) -> TimeGrid:
    """Rasterise the reached road network into a travel-time grid (see the module docstring)."""
    net = network
    reached_node = node_minutes <= max_minutes
    seg_reached = reached_node[net.seg_a] | reached_node[net.seg_b]
    if snapped_sites is not None:
        seg_reached[snapped_sites["snap_seg"].to_numpy()] = True
    segs = np.flatnonzero(seg_reached & ((net.seg_fwd >= 0) | (net.seg_bwd >= 0)))
    if not len(segs):
        return TimeGrid(np.full((1, 1), np.inf), 0.0, 0.0, resolution)
    x, y, sseg, frac = sample_segments(net, segs, SAMPLE_SPACING * resolution)
    t = segment_point_times(net, node_minutes, sseg, frac, direction)
    if snapped_sites is not None:
        t = np.minimum(t, np.min(same_segment_times(net, snapped_sites, sseg, frac, direction), axis=0))
    keep = t <= max_minutes
    per_m = 1.0 / (net.speeds.access_kmh * 1000.0 / 60.0)
    return grid_from_points(x[keep], y[keep], t[keep], resolution=resolution, walk_max_m=access_max_m, per_m=per_m)
