"""Mutant-killing tests for iot_geo.transit (issue 18): footpaths between stops on a walking network, the
timetable's source record, and stops near a point, on a hand-built feed and footpath network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import raw_network
from test_transit import STOPS as LINE_STOPS
from test_transit import write_feed, xy

from iot_geo import InvalidInputError
from iot_geo.network import TravelNetwork
from iot_geo.speeds import Speeds
from iot_geo.transit import DETOUR, MAX_TRANSFER_M, load_timetable, load_transit, parse_gtfs_time, walk_seconds

# P and Q about 300 m apart east-west; R about 350 m south of Q
STOPS = {"P": (52.60, -0.7000), "Q": (52.60, -0.6956), "R": (52.59685, -0.6956)}


def feed(tmp_path):
    return write_feed(tmp_path / "feed", [("t1", "S1", [("P", 500), ("Q", 505), ("R", 510)])], stops=STOPS)


def footpath_network() -> tuple[TravelNetwork, float]:
    """A footpath from P up 150 m, across to above Q and down 150 m (300 m more than the straight line), and a
    separate 100 m path at R that joins nothing (so not part of the network's main component: R joins the main
    footpath at its nearest point, Q itself, on foot); 6 km/h (100 m a minute)."""
    (px, py), (qx, qy), (rx, ry) = xy(STOPS["P"]), xy(STOPS["Q"]), xy(STOPS["R"])
    nodes = {0: (px, py), 1: (px, py + 150), 2: (qx, qy + 150), 3: (qx, qy), 4: (rx, ry), 5: (rx + 100, ry)}
    raw = raw_network(nodes, [(0, 1, True, True), (1, 2, True, True), (2, 3, True, True), (4, 5, True, True)])
    net = TravelNetwork.from_raw(raw, mode="walk", speeds=Speeds("walk", constant_kmh=6.0, park_minutes=0.0,
                                                                 access_kmh=6.0))
    return net, float(np.hypot(qx - px, qy - py))


def pairs(tt) -> dict[tuple[str, str], float]:
    ids = tt.stops["stop_id"].tolist()
    return {(ids[i], ids[j]): float(s) for i, j, s in zip(tt.foot_i, tt.foot_j, tt.foot_s, strict=True)}


def test_footpaths_straight_line_and_on_the_walking_network(tmp_path):
    f = feed(tmp_path)
    (qx, qy), (rx, ry) = xy(STOPS["Q"]), xy(STOPS["R"])
    net, pq = footpath_network()
    qr = float(np.hypot(rx - qx, ry - qy))
    assert 250 < pq < 350 and 300 < qr < MAX_TRANSFER_M < pq + qr
    line = load_timetable(f)
    assert pairs(line) == pytest.approx({("P", "Q"): float(walk_seconds(pq)), ("Q", "P"): float(walk_seconds(pq)),
                                         ("Q", "R"): float(walk_seconds(qr)), ("R", "Q"): float(walk_seconds(qr))})
    on_net = load_timetable(f, walk_network=net)
    # on the footpaths P <-> Q is 300 m longer than the straight line, at 100 m a minute (0.6 s a metre);
    # R <-> Q is R's access leg to Q, the straight line without the detour factor
    assert pairs(on_net) == pytest.approx({("P", "Q"): (300 + pq) * 0.6, ("Q", "P"): (300 + pq) * 0.6,
                                           ("Q", "R"): qr * 0.6, ("R", "Q"): qr * 0.6})
    assert on_net.walk_network is net and line.walk_network is None
    # a shorter limit on changes: no pair at all, with or without the network
    assert pairs(load_timetable(f, max_transfer_m=250.0, walk_network=net)) == {}
    assert load_timetable(f, max_transfer_m=250.0).foot_s.tolist() == []


def test_timetable_source_record(tmp_path):
    f = feed(tmp_path)
    net, _ = footpath_network()
    tt = load_timetable(f, day="2024-03-06", max_transfer_m=350.0)
    assert tt.source == {"walking": f"straight line x {DETOUR}", "transfers": 0, "file": "feed", "day": "2024-03-06",
                         "trips": 1, "patterns": 1, "max_transfer_m": 350.0, "valid": ["2024-01-01", "2024-12-31"]}
    assert load_timetable(f, walk_network=net).source["walking"] == "network"
    assert load_timetable(f).source["day"] == "2024-01-02"  # the first Tuesday
    assert tt.n_stops == 3 and tt.stops["stop_id"].tolist() == ["P", "Q", "R"]


def test_stops_near_a_point_on_the_walking_network(tmp_path):
    f = feed(tmp_path)
    net, pq = footpath_network()
    (px, py), (qx, qy) = xy(STOPS["P"]), xy(STOPS["Q"])
    line = load_timetable(f)
    idx, secs = line.near(px, py, 400.0)
    assert idx.tolist() == [0, 1] and secs.tolist() == pytest.approx([0.0, float(walk_seconds(pq))])
    on_net = load_timetable(f, walk_network=net)
    idx, secs = on_net.near(px, py, 400.0)
    assert idx.tolist() == [0, 1] and secs.tolist() == pytest.approx([0.0, (300 + pq) * 0.6])
    (rx, ry) = xy(STOPS["R"])
    idx, secs = on_net.near(qx, qy, 400.0)
    assert idx.tolist() == [0, 1, 2]
    assert secs.tolist() == pytest.approx([(300 + pq) * 0.6, 0.0, float(np.hypot(rx - qx, ry - qy)) * 0.6])
    idx, secs = on_net.near(qx, qy, 100.0)
    assert idx.tolist() == [1] and secs.tolist() == [0.0]


def test_a_time_without_seconds_is_named():
    with pytest.raises(InvalidInputError) as e:
        parse_gtfs_time(pd.Series(["", "08:00"]))
    assert str(e.value) == "stop_times.txt: time '08:00' is not HH:MM:SS"


def change_feed(tmp_path):
    """A -> B by t1 (08:20 -> 08:25), B -> C by t2 (08:30 -> 08:40): from A to C takes one change."""
    return write_feed(tmp_path / "change", [("t1", "S1", [("A", 500), ("B", 505)]),
                                            ("t2", "S1", [("B", 510), ("C", 520)])])


def test_load_transit_source_view_and_change_limit(tmp_path):
    f = change_feed(tmp_path)
    net = load_transit(f, day="2024-03-05", arrive_by="08:45", window_minutes=0.0, max_transfers=1)
    assert net.source == {"walking": f"straight line x {DETOUR}", "transfers": 0, "file": "change",
                          "day": "2024-03-05", "trips": 2, "patterns": 2, "max_transfer_m": MAX_TRANSFER_M,
                          "valid": ["2024-01-01", "2024-12-31"], "format": "gtfs", "arrive_by": "08:45",
                          "window_minutes": 0.0, "percentile": 50.0, "max_transfers": 1, "max_walk_m": 800.0}
    assert net._repr_html_() == (
        "<b>TransitNetwork</b> change: 3 stops, 2 trips on 2024-03-05 (feed valid [&#x27;2024-01-01&#x27;, "
        "&#x27;2024-12-31&#x27;]); arrive by 08:45, window 0 min, 50th percentile, up to 1 changes, walks up to 800 m")
    cx, cy = xy(LINE_STOPS["C"])
    ids = net.timetable.stops["stop_id"].tolist()
    one = dict(zip(ids, net.stop_minutes(cx, cy).tolist(), strict=True))
    assert one["A"] == pytest.approx(525 - 500) and one["B"] == pytest.approx(525 - 510) and one["C"] == 0.0
    none = load_transit(f, day="2024-03-05", arrive_by="08:45", window_minutes=0.0, max_transfers=0)
    zero = dict(zip(ids, none.stop_minutes(cx, cy).tolist(), strict=True))
    assert np.isinf(zero["A"]) and zero["B"] == pytest.approx(15.0)  # t2 alone still serves B


def test_one_call_trips_and_zero_headways_add_nothing(tmp_path):
    f = write_feed(tmp_path / "odd", [("a-lone", "S1", [("A", 500)]), ("b", "S1", [("A", 500), ("B", 510)]),
                                      ("c", "S1", [("C", 500), ("D", 510)])],
                   frequencies=[("c", 480, 600, 0)])
    tt = load_timetable(f)
    assert [p.trip_ids for p in tt.patterns] == [["b"]]
    assert tt.foot_i.dtype == np.int64 and tt.foot_j.dtype == np.int64 and len(tt.foot_i) == 0


def test_minutes_to_no_points(tmp_path):
    net = load_transit(change_feed(tmp_path), day="2024-03-05", window_minutes=0.0)
    cx, cy = xy(LINE_STOPS["C"])
    import geopandas as gpd

    s = gpd.GeoDataFrame({"site_id": ["c"]}, geometry=gpd.points_from_xy([cx], [cy]), crs=27700)
    times = net.search(s, max_minutes=60.0, direction="to_site")
    minutes, access = net.minutes_to_points(times, np.zeros(0), np.zeros(0))
    assert minutes.shape == (1, 0) and access.shape == (0,)
