"""Mutant-killing known answers for iot_geo.search (issue 18): road search on hand-built roads, by hand.

The roads are 1 km a minute with access legs on foot at 100 m a minute (tests/helpers.py), so every
time is a whole number of minutes or tenths.
"""

from __future__ import annotations

import sys
import warnings

import geopandas as gpd
import numpy as np
import pytest
from helpers import X0, Y0, km_per_minute, raw_network, straight_road
from shapely.geometry import Point

from iot_geo.catchment import as_sites
from iot_geo.errors import InvalidInputError
from iot_geo.network import TravelNetwork
from iot_geo.search import (
    POINT_SNAP_MAX_M,
    SITE_SNAP_MAX_M,
    frontier_nodes,
    node_times,
    point_minutes,
    sample_segments,
    segment_cumlen,
    site_sources,
    snap_role,
    snap_sites,
)
from iot_geo.speeds import Speeds


def sites(**where: tuple[float, float]) -> gpd.GeoDataFrame:
    """Sites named by keyword at (km along the test road, metres north of it)."""
    return as_sites(gpd.GeoDataFrame({"site_id": list(where)},
                                     geometry=[Point(X0 + 1000 * k, Y0 + off) for k, off in where.values()], crs=27700))


def one_way_line() -> TravelNetwork:
    """Three nodes 1 km apart, km 0 -> 1 -> 2, one way east."""
    nodes = {0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 2000, Y0)}
    return km_per_minute(raw_network(nodes, [(0, 1, True, False), (1, 2, True, False)]))


def test_snap_role_by_direction():
    assert snap_role("from_site", site=True) == "origin"
    assert snap_role("from_site", site=False) == "destination"
    assert snap_role("to_site", site=True) == "destination"
    assert snap_role("to_site", site=False) == "origin"
    assert SITE_SNAP_MAX_M == 1000.0 and POINT_SNAP_MAX_M == 1000.0


def test_snap_sites_columns_and_access_minutes_with_parking():
    road = straight_road()
    s = snap_sites(road, sites(a=(10.5, 100), b=(3.0, -250)))
    assert s["snap_seg"].tolist() == [10, 2] or s["snap_seg"].tolist() == [10, 3]
    assert s["snap_frac"].iloc[0] == pytest.approx(0.5)
    assert s["snap_m"].tolist() == pytest.approx([100.0, 250.0])
    assert s["access_minutes"].tolist() == pytest.approx([1.0, 2.5])  # 100 m a minute, no parking
    assert s["outside_network"].dtype == bool and s["site_id"].tolist() == ["a", "b"]
    raw = raw_network({i: (X0 + 1000 * i, Y0) for i in range(3)}, [(0, 1, True, True), (1, 2, True, True)])
    slow = TravelNetwork.from_raw(raw, mode="drive", speeds=Speeds("drive", constant_kmh=60.0, park_minutes=2.0,
                                                                   access_kmh=3.0))
    assert snap_sites(slow, sites(a=(1.5, 100)))["access_minutes"].iloc[0] == pytest.approx(2.0 + 2.0)


def test_snap_sites_refuses_a_far_site_saying_how_far_and_the_limit():
    road = straight_road()
    road.source["file"] = "test-road.osm"
    with pytest.raises(InvalidInputError) as e:
        snap_sites(road, sites(near=(5, 0), far=(10, 1500)))
    assert str(e.value) == ("site 'far' is 1,500 m from the nearest usable road of the drive network (test-road.osm); "
                            "the limit is 1,000 m: is the site inside the network's area?")
    with pytest.raises(InvalidInputError, match=r"'a' is 100 m from .* the limit is 50 m"):
        snap_sites(road, sites(a=(10, 100)), max_distance=50.0)
    # beyond the 100 km search: the distance to the nearest node is given instead
    with pytest.raises(InvalidInputError, match="'moon' is 200,000 m from the nearest usable road"):
        snap_sites(road, sites(moon=(10, 200_000)))
    del road.source["file"]
    with pytest.raises(InvalidInputError, match=r"drive network \(loaded network\)"):
        snap_sites(road, sites(far=(10, 1500)))


def test_snap_sites_warns_about_sites_outside_coverage_only_with_a_direction():
    road = straight_road()
    x, y = np.array([X0 + 10_000.0]), np.array([Y0 + 900.0])
    assert not road.covered(x, y)[0] and road.covered(np.array([X0 + 10_000.0]), np.array([Y0]))[0]
    road.source["place"] = "Testshire"
    with pytest.warns(UserWarning) as w:
        s = snap_sites(road, sites(edge=(10, 900)), direction="from_site")
    assert str(w[0].message) == (
        "site(s) 'edge' (900 m from a road) lie outside the coverage of the drive network Testshire (beyond the edge "
        "of the extract or in a gap with no roads): their times run through the nearest road fragment and are not "
        "reliable; use a network that covers them")
    assert s["outside_network"].tolist() == [True]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert snap_sites(road, sites(edge=(10, 900)))["outside_network"].tolist() == [True]
        assert snap_sites(road, sites(on=(10, 0)), direction="to_site")["outside_network"].tolist() == [False]


def test_site_sources_on_a_one_way_road_by_direction():
    line = one_way_line()
    s = snap_sites(line, sites(a=(0.25, 0)))  # on the first segment, a quarter along
    site, nodes, offs = site_sources(line, s, "to_site")  # only km 0 can reach it, a quarter of a minute away
    assert site.tolist() == [0] and nodes.tolist() == [0] and offs.tolist() == pytest.approx([0.25])
    site, nodes, offs = site_sources(line, s, "from_site")  # it reaches only km 1, three quarters away
    assert site.tolist() == [0] and nodes.tolist() == [1] and offs.tolist() == pytest.approx([0.75])
    road = straight_road()
    s = snap_sites(road, sites(a=(10.25, 100), b=(20.5, 0)))
    site, nodes, offs = site_sources(road, s, "from_site")
    got = sorted(zip(site.tolist(), nodes.tolist(), np.round(offs, 6).tolist(), strict=True))
    assert got == [(0, 10, 1.25), (0, 11, 1.75), (1, 20, 0.5), (1, 21, 0.5)]


def test_node_times_and_their_min_by_hand():
    road = straight_road()
    tt = node_times(road, sites(a=(10.5, 100), b=(20, 0)), max_minutes=3.0, direction="from_site")
    assert tt.per_site.shape == (2, 31) and tt.direction == "from_site" and tt.max_minutes == 3.0
    a = tt.per_site[0]
    assert a[[9, 10, 11, 12]].tolist() == pytest.approx([2.5, 1.5, 1.5, 2.5])  # 1 minute on foot, then the road
    assert np.isinf(a[[8, 13]]).all()  # 3.5 minutes: beyond the cutoff
    assert tt.per_site[1][[17, 18, 19, 20, 21, 22, 23]].tolist() == [3.0, 2.0, 1.0, 0.0, 1.0, 2.0, 3.0]
    assert tt.min[10] == pytest.approx(1.5) and tt.min[20] == 0.0 and np.isinf(tt.min[0])
    html = tt._repr_html_()
    assert html.startswith("<b>TravelTimes</b> drive, from_site, cutoff 3 min: 2 site(s), 11 of 31 nodes reached<table")
    assert "snap_m" in html and "geometry" not in html
    assert "<tr>\n      <td>a</td>" in html  # no index column: each row starts with its site


def test_node_times_respect_one_way_roads_both_directions():
    line = one_way_line()
    to = node_times(line, sites(a=(1, 0)), max_minutes=10, direction="to_site").per_site[0]
    assert to[0] == pytest.approx(1.0) and np.isinf(to[2])
    fro = node_times(line, sites(a=(1, 0)), max_minutes=10, direction="from_site").per_site[0]
    assert fro[2] == pytest.approx(1.0) and np.isinf(fro[0])


def test_point_minutes_by_hand():
    road = straight_road()
    tt = node_times(road, sites(a=(10.5, 100)), max_minutes=3.0, direction="from_site")
    x = np.array([X0 + 12_000, X0 + 10_800, X0 + 5_000, X0 + 11_000, X0 + 9_500])
    y = np.array([Y0 - 100, Y0, Y0 + 1500, Y0 + 300, Y0])
    t, d = point_minutes(tt, x, y)
    # km 12 100 m south: 2.5 + 1 on foot; km 10.8 on the site's own segment: 1 + 0.3 direct (not 1.7 via km 11);
    # 1.5 km off the road: not snapped; km 11 300 m north: 1.5 + 3; km 9.5 on the road: 2.5 + 0.5 via km 9 or
    # 1 + 1.0 straight along the site's segment? no: 9.5 is on segment 9-10, so via km 10: 1.5 + 0.5
    assert t.shape == (1, 5)
    assert t[0].tolist() == pytest.approx([3.5, 1.3, np.inf, 4.5, 2.0])
    assert d.tolist() == pytest.approx([100.0, 0.0, np.inf, 300.0, 0.0])
    t2, d2 = point_minutes(tt, x, y, snap_max_m=200.0)  # the 300 m point is now too far to snap
    assert np.isinf(t2[0, 3]) and t2[0, 0] == pytest.approx(3.5)
    to = node_times(road, sites(a=(10.5, 100)), max_minutes=3.0, direction="to_site")
    assert point_minutes(to, x, y)[0][0].tolist() == pytest.approx([3.5, 1.3, np.inf, 4.5, 2.0])  # two-way road
    none = node_times(road, sites(a=(10.5, 100)), max_minutes=0.5, direction="from_site")  # 1 minute on foot first
    t3, d3 = point_minutes(none, x, y)
    assert np.isinf(t3).all() and np.isinf(d3).all() and t3.shape == (1, 5)


def test_point_minutes_on_a_one_way_segment_go_only_with_the_traffic():
    line = one_way_line()
    tt = node_times(line, sites(a=(0.5, 0)), max_minutes=10, direction="from_site")
    t, _ = point_minutes(tt, np.array([X0 + 800.0, X0 + 200.0, X0 + 1500.0]), np.full(3, Y0))
    assert t[0, 0] == pytest.approx(0.3) and np.isinf(t[0, 1]) and t[0, 2] == pytest.approx(1.0)
    to = node_times(line, sites(a=(0.5, 0)), max_minutes=10, direction="to_site")
    t, _ = point_minutes(to, np.array([X0 + 800.0, X0 + 200.0, X0 + 1500.0]), np.full(3, Y0))
    assert np.isinf(t[0, 0]) and t[0, 1] == pytest.approx(0.3) and np.isinf(t[0, 2])
    # a site on the second segment: a point on the first (edge 0) drives to km 1, then half a kilometre on
    to = node_times(line, sites(a=(1.5, 0)), max_minutes=10, direction="to_site")
    t, _ = point_minutes(to, np.array([X0 + 500.0, X0 + 1800.0]), np.full(2, Y0))
    assert t[0, 0] == pytest.approx(1.0) and np.isinf(t[0, 1])


def test_point_minutes_of_many_points_few_of_them_near():
    # more than 50,000 points, almost all 100 km away: only the near ones are snapped, with the same answers
    road = straight_road()
    tt = node_times(road, sites(a=(10.5, 100)), max_minutes=3.0, direction="from_site")
    x_near = np.array([X0 + 12_000, X0 + 10_800, X0 + 11_000])
    y_near = np.array([Y0 - 100, Y0, Y0 + 300])
    n_far = 60_000
    x = np.concatenate([np.full(n_far, X0 + 10_000.0), x_near])
    y = np.concatenate([np.full(n_far, Y0 + 100_000.0), y_near])
    t, d = point_minutes(tt, x, y)
    assert t.shape == (1, n_far + 3)
    assert np.isinf(t[0, :n_far]).all() and np.isinf(d[:n_far]).all()
    assert t[0, n_far:].tolist() == pytest.approx([3.5, 1.3, 4.5])
    assert d[n_far:].tolist() == pytest.approx([100.0, 0.0, 300.0])


def test_segment_cumlen_and_sample_segments_by_hand():
    # a straight 1 km segment and a bent one: (0, 0) -> (0, 300) -> (400, 300), 700 m
    raw = raw_network({0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 400, Y0 + 300)},
                      [(0, 1, True, True), (0, 2, True, True, [(X0, Y0 + 300)])])
    net = km_per_minute(raw)
    cum = segment_cumlen(net)
    assert cum.tolist() == pytest.approx([0.0, 1000.0, 1001.0, 1301.0, 1701.0])  # a 1 m gap between segments
    assert segment_cumlen(net) is cum  # cached
    x, y, seg, frac = sample_segments(net, np.array([0]), 300.0)  # ceil(1000 / 300) + 1 = 5 points, ends included
    assert x.tolist() == pytest.approx([X0, X0 + 250, X0 + 500, X0 + 750, X0 + 1000]) and (y == Y0).all()
    assert seg.tolist() == [0] * 5 and frac.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    x, y, seg, frac = sample_segments(net, np.array([1, 0]), 350.0)
    assert seg.tolist() == [1, 1, 1, 0, 0, 0, 0]  # ceil(700 / 350) + 1 and ceil(1000 / 350) + 1
    assert (x[:3] - X0).tolist() == pytest.approx([0, 50, 400]) and (y[:3] - Y0).tolist() == pytest.approx([0, 300, 300])
    assert frac[:3].tolist() == [0.0, 0.5, 1.0]
    x, _, _, frac = sample_segments(net, np.array([0]), 5000.0)  # one gap longer than the segment: its two ends
    assert x.tolist() == pytest.approx([X0, X0 + 1000]) and frac.tolist() == [0.0, 1.0]


def test_frontier_nodes_are_the_outer_ring():
    assert frontier_nodes(np.array([]), np.array([])).tolist() == []
    gx, gy = np.meshgrid(np.arange(11) * 500.0 + X0, np.arange(11) * 500.0 + Y0)
    edge = frontier_nodes(gx.ravel(), gy.ravel()).reshape(11, 11)
    ring = np.ones((11, 11), bool)
    ring[1:-1, 1:-1] = False
    assert (edge == ring).all()
    # with 2 km cells the 5 km square is a 3 x 3 block of cells: only the 16 nodes of the middle one are inside
    coarse = frontier_nodes(gx.ravel(), gy.ravel(), cell=2000.0).reshape(11, 11)
    middle = np.zeros((11, 11), bool)
    middle[4:8, 4:8] = True
    assert (coarse == ~middle).all()


def square_with_one_way_spur() -> TravelNetwork:
    """A two-way 1 km square (nodes 0-3) and a one-way spur 1 -> 4 east from its corner at km 1, a dead end."""
    nodes = {0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 1000, Y0 + 1000), 3: (X0, Y0 + 1000), 4: (X0 + 2000, Y0)}
    segs = [(0, 1, True, True), (1, 2, True, True), (2, 3, True, True), (3, 0, True, True), (1, 4, True, False)]
    return km_per_minute(raw_network(nodes, segs))


def test_sites_join_only_roads_they_can_travel_in_the_direction_asked():
    net = square_with_one_way_spur()
    near_spur = sites(s=(1.8, 50))  # 50 m from the spur, 800 m from the square's east side
    assert snap_sites(net, near_spur)["snap_seg"].tolist() == [4]
    to = snap_sites(net, near_spur, direction="to_site")  # the spur can be driven to from the square
    assert to["snap_seg"].tolist() == [4] and to["snap_m"].tolist() == pytest.approx([50.0])
    fro = snap_sites(net, near_spur, direction="from_site")  # but leads nowhere: leave by the square
    assert fro["snap_seg"].tolist() == [1] and fro["snap_m"].tolist() == pytest.approx([800.0])
    with pytest.raises(InvalidInputError, match="'far' is 1,500 m from the nearest usable road"):
        snap_sites(net, sites(far=(2.5, 0)), max_distance=100.0, direction="from_site")
    with pytest.raises(InvalidInputError, match="'far' is 500 m from the nearest usable road"):
        snap_sites(net, sites(far=(2.5, 0)), max_distance=100.0, direction="to_site")


def test_the_coverage_warning_names_the_caller_of_node_times():
    if "mutmut.mutation.trampoline" in sys.modules:
        pytest.skip("mutmut's trampolines add stack frames, so a stacklevel cannot be checked under it")
    with pytest.warns(UserWarning, match="outside the coverage") as w:
        node_times(straight_road(), sites(edge=(10, 900)), max_minutes=5.0, direction="from_site")
    assert w[0].filename == __file__


def test_the_coverage_warning_of_travel_times_names_the_user_s_line():
    from iot_geo.catchment import travel_times

    with pytest.warns(UserWarning, match="outside the coverage") as w:
        travel_times(straight_road(), sites(edge=(10, 900)), max_minutes=5.0, direction="from_site")
    assert w[0].filename == __file__


def test_the_coverage_warning_of_a_network_without_a_file_name_reads_cleanly():
    from iot_geo.catchment import travel_times

    road = straight_road()
    road.source = {}
    with pytest.warns(UserWarning) as w:
        travel_times(road, sites(edge=(10, 900)), max_minutes=5.0, direction="from_site")
    assert "the drive network (beyond the edge" in str(w[0].message)
