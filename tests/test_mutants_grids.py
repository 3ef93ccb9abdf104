"""Mutant-killing known answers for iot_geo.grids (issue 18): time grids and contours worked out by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import X0, Y0, km_per_minute, raw_network, straight_road
from shapely.geometry import Point

from iot_geo.catchment import as_sites
from iot_geo.grids import ACCESS_MAX_M, SAMPLE_SPACING, TimeGrid, grid_from_points, time_grid
from iot_geo.search import node_times


def test_cells_are_global_lattice_ids_with_their_minutes():
    g = TimeGrid(np.array([[1.0, 5.0, np.inf], [5.5, 2.0, 0.0]]), x0=1000.0, y0=2000.0, resolution=100.0)
    ids, minutes = g.cells(5.0)  # 5.0 is reached (at the band), 5.5 and inf are not
    gx0, gy0 = 10, 20
    assert ids.tolist() == [gy0 * 2**32 + gx0, gy0 * 2**32 + gx0 + 1, (gy0 + 1) * 2**32 + gx0 + 1,
                            (gy0 + 1) * 2**32 + gx0 + 2]
    assert minutes.tolist() == [1.0, 5.0, 2.0, 0.0] and minutes.dtype == np.float32


def test_contour_of_one_low_cell_is_a_diamond_and_bands_nest():
    # a 5 x 5 grid of 100 m cells, 0 minutes at the centre and 10 elsewhere: the 5-minute line crosses each
    # edge from the centre half way (50 m), so the band is a diamond of area 2 * 50 * 50
    v = np.full((5, 5), 10.0)
    v[2, 2] = 0.0
    g = TimeGrid(v, x0=0.0, y0=0.0, resolution=100.0)
    five, twenty = g.contours([5.0, 20.0])
    assert five.area == pytest.approx(5000.0)
    assert five.centroid.equals(shapely.Point(200.0, 200.0))
    assert twenty.area == pytest.approx(400.0 * 400.0)  # every cell centre is within 20 minutes
    assert g.contour(5.0).equals(five)
    # two low cells far apart: a MultiPolygon of two diamonds
    v[0, 0] = 0.0
    two = TimeGrid(v, 0.0, 0.0, 100.0).contour(5.0)
    assert two.geom_type == "MultiPolygon" and len(two.geoms) == 2
    assert two.area == pytest.approx(5000.0 + 1250.0)  # of the corner cell's diamond one quarter is on the grid


def test_contours_of_nothing_reached_or_a_degenerate_grid_are_empty():
    far = TimeGrid(np.full((3, 3), 50.0), 0.0, 0.0, 100.0)
    assert [p.is_empty for p in far.contours([10.0, 20.0])] == [True, True]
    assert far.contour(50.0).area == pytest.approx(200.0 * 200.0)  # at the band exactly: reached
    row = TimeGrid(np.zeros((1, 4)), 0.0, 0.0, 100.0)
    assert [p.is_empty for p in row.contours([5.0, 10.0])] == [True, True]
    col = TimeGrid(np.zeros((4, 1)), 0.0, 0.0, 100.0)
    assert col.contour(5.0).is_empty
    inf = TimeGrid(np.array([[np.inf, np.inf], [np.inf, 1.0]]), 0.0, 0.0, 100.0)
    assert not inf.contour(5.0).is_empty and inf.contour(5.0).area < 100.0 * 100.0


def test_grid_from_points_alignment_size_and_walk_by_hand():
    # one point at (1000, 2000), 5 minutes; 100 m cells; walk 200 m at 0.01 min/m: pad = 200 + 2 * 100 = 400
    g = grid_from_points(np.array([1000.0]), np.array([2000.0]), np.array([5.0]), resolution=100.0,
                         walk_max_m=200.0, per_m=0.01)
    assert (g.x0, g.y0, g.resolution) == (600.0, 1600.0, 100.0)  # floor((1000 - 400) / 100) * 100
    assert g.values.shape == (9, 9)  # ceil((1000 + 400 - 600) / 100) + 1
    c = 4  # the point's cell
    assert g.values[c, c] == 5.0
    assert g.values[c, c + 1] == pytest.approx(6.0) and g.values[c - 1, c] == pytest.approx(6.0)  # 100 m
    assert g.values[c, c + 2] == pytest.approx(7.0) and g.values[c, c - 2] == pytest.approx(7.0)  # 200 m
    assert g.values[c + 1, c + 1] == pytest.approx(5.0 + np.hypot(100, 100) * 0.01)
    assert np.isinf(g.values[c + 2, c + 1]) and np.isinf(g.values[c, c + 3])  # 224 m and 300 m: beyond the walk
    assert np.isfinite(g.values).sum() == 13  # the cells within 200 m of the point
    # alignment is to multiples of the resolution, not to the point
    h = grid_from_points(np.array([1049.0]), np.array([2051.0]), np.array([1.0]), resolution=100.0,
                         walk_max_m=200.0, per_m=0.01)
    assert (h.x0, h.y0) == (600.0, 1600.0) and h.values.shape == (10, 10)
    assert h.values[5, 4] == 1.0  # rint((2051 - 1600) / 100) = 5, rint((1049 - 600) / 100) = 4


def test_grid_from_points_keeps_the_smallest_time_and_short_walks_do_not_spread():
    x = np.array([1000.0, 1010.0, 1300.0])
    y = np.array([2000.0, 2000.0, 2000.0])
    g = grid_from_points(x, y, np.array([5.0, 3.0, 9.0]), resolution=100.0, walk_max_m=99.0, per_m=0.01)
    assert g.values.shape == (int(np.ceil((99 + 200) * 2 / 100)) + 1, int(np.ceil((300 + 2 * 299) / 100)) + 1)
    assert sorted(g.values[np.isfinite(g.values)].tolist()) == [3.0, 9.0]  # no spread under one cell
    wide = grid_from_points(x, y, np.array([5.0, 3.0, 9.0]), resolution=100.0, walk_max_m=150.0, per_m=0.01)
    assert np.isfinite(wide.values).sum() == 2 * 9  # each point's 3 x 3 block (141 m diagonal within 150 m)
    assert wide.values.min() == 3.0
    empty = grid_from_points(np.array([]), np.array([]), np.array([]), resolution=50.0, walk_max_m=400.0, per_m=0.01)
    assert empty.values.shape == (1, 1) and np.isinf(empty.values[0, 0])
    assert (empty.x0, empty.y0, empty.resolution) == (0.0, 0.0, 50.0)


def grid_value(g: TimeGrid, x: float, y: float) -> float:
    return float(g.values[int(round((y - g.y0) / g.resolution)), int(round((x - g.x0) / g.resolution))])


def test_time_grid_on_the_straight_road_by_hand():
    road = straight_road()  # 1 km a minute, access 100 m a minute (0.01 min/m)
    minutes = np.abs(np.arange(31) - 10.0)  # a site at km 10
    g = time_grid(road, minutes, direction="from_site", max_minutes=3.5, resolution=100.0)
    assert g.resolution == 100.0 and g.x0 % 100 == 0 and g.y0 % 100 == 0
    step = SAMPLE_SPACING * 100.0 / 1000.0  # minutes between samples along the road
    for d in (0.0, 1.0, 2.0, 3.0, 3.4):  # on the road, either side
        assert grid_value(g, X0 + 1000 * (10 + d), Y0) == pytest.approx(d, abs=step)
        assert grid_value(g, X0 + 1000 * (10 - d), Y0) == pytest.approx(d, abs=step)
    # the part of the road 13 -> 14 reached before time runs out is kept (node 14 at 4 minutes is not reached)
    assert grid_value(g, X0 + 13_400, Y0) <= 3.5
    # beyond 3.5 minutes the road's points are dropped: 13.7 km is reached only on foot from 13.5 km (+2 minutes)
    assert grid_value(g, X0 + 13_700, Y0) == pytest.approx(5.5, abs=step)
    # off the road on foot: 200 m north of km 11 is 1 + 2 minutes; the walk stops at ACCESS_MAX_M
    assert grid_value(g, X0 + 11_000, Y0 + 200) == pytest.approx(3.0, abs=step)
    assert grid_value(g, X0 + 11_000, Y0 + ACCESS_MAX_M - 100) <= 1.0 + 3.0 + step
    assert np.isinf(grid_value(g, X0 + 11_000, Y0 + ACCESS_MAX_M + 100))
    short = time_grid(road, minutes, direction="from_site", max_minutes=3.5, resolution=100.0, access_max_m=100.0)
    assert np.isinf(grid_value(short, X0 + 11_000, Y0 + 200))
    assert grid_value(short, X0 + 11_000, Y0 + 100) == pytest.approx(2.0, abs=step)


def test_time_grid_with_nothing_reached_is_one_unreached_cell():
    road = straight_road()
    g = time_grid(road, np.full(31, np.inf), direction="from_site", max_minutes=10, resolution=50.0)
    assert g.values.shape == (1, 1) and np.isinf(g.values[0, 0]) and g.resolution == 50.0
    assert (g.x0, g.y0) == (0.0, 0.0)


def test_time_grid_keeps_a_node_reached_exactly_at_the_cutoff():
    road = straight_road()
    minutes = np.full(31, np.inf)
    minutes[10] = 3.0  # only km 10 is reached, exactly at the cutoff
    g = time_grid(road, minutes, direction="from_site", max_minutes=3.0, resolution=100.0)
    assert grid_value(g, X0 + 10_000, Y0) == 3.0
    assert np.isfinite(g.values).sum() == np.isfinite(grid_from_points(
        np.array([X0 + 10_000.0]), np.array([Y0]), np.array([3.0]), resolution=100.0, walk_max_m=ACCESS_MAX_M,
        per_m=0.01).values).sum()


def test_time_grid_draws_one_way_roads():
    nodes = {0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 2000, Y0)}
    line = km_per_minute(raw_network(nodes, [(0, 1, True, False), (1, 2, True, False)]))
    g = time_grid(line, np.array([0.0, 1.0, 2.0]), direction="from_site", max_minutes=3.0, resolution=100.0)
    assert grid_value(g, X0 + 500, Y0) == pytest.approx(0.5, abs=0.08)
    assert grid_value(g, X0 + 1500, Y0) == pytest.approx(1.5, abs=0.08)


def test_time_grid_with_snapped_sites_times_each_point_from_its_own_site():
    road = straight_road()
    s = as_sites(gpd.GeoDataFrame({"site_id": ["a", "b"]}, geometry=[Point(X0 + 10_500, Y0), Point(X0 + 20_500, Y0)],
                                  crs=27700))
    tt = node_times(road, s, max_minutes=2.0, direction="from_site")
    g = time_grid(road, tt.min, direction="from_site", max_minutes=2.0, resolution=100.0, snapped_sites=tt.sites)
    for site_km in (10.5, 20.5):  # on the road, no access leg: the site's own segment is direct
        assert grid_value(g, X0 + 1000 * site_km, Y0) == pytest.approx(0.0, abs=0.08)
        assert grid_value(g, X0 + 1000 * (site_km + 0.3), Y0) == pytest.approx(0.3, abs=0.08)
        assert grid_value(g, X0 + 1000 * (site_km + 1.5), Y0) == pytest.approx(1.5, abs=0.08)
    assert grid_value(g, X0 + 15_000, Y0) > 2.0
