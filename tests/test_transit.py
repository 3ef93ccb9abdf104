"""Timetables and the arrive-by search: hand-built feeds with known answers, and Chester against a time-expanded graph."""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from iot_geo import DataNotFoundError, InvalidInputError
from iot_geo.geo import to_bng
from iot_geo.transit import (
    arrive_by_minutes,
    latest_departures,
    load_timetable,
    reference_latest_departures,
    walk_seconds,
)

# stops about 3.4 km apart along a line of latitude in Rutland, so no walk joins them
STOPS = {"A": (52.60, -0.70), "B": (52.60, -0.65), "C": (52.60, -0.60), "D": (52.60, -0.55)}
NEAR_C = (52.60, -0.6074)  # about 500 m west of C


def xy(stop):
    x, y = to_bng(np.array([stop[1]]), np.array([stop[0]]))
    return float(x[0]), float(y[0])


def hms(t):
    h, m = divmod(int(t), 60)
    return f"{h:02d}:{m:02d}:00"


def write_feed(folder: Path, trips, *, calendar=None, calendar_dates=(), frequencies=(), stops=None):
    """``trips``: (trip_id, service_id, [(stop, minutes after midnight), ...])."""
    folder.mkdir(parents=True, exist_ok=True)
    stops = stops or STOPS
    (folder / "agency.txt").write_text("agency_id,agency_name,agency_url,agency_timezone\nag,Test,http://x,Europe/London\n")
    (folder / "routes.txt").write_text("route_id,agency_id,route_short_name,route_type\nr1,ag,1,3\n")
    (folder / "stops.txt").write_text("stop_id,stop_name,stop_lat,stop_lon\n" + "".join(
        f"{s},{s},{la},{lo}\n" for s, (la, lo) in stops.items()))
    (folder / "trips.txt").write_text("route_id,service_id,trip_id\n" + "".join(
        f"r1,{sv},{t}\n" for t, sv, _ in trips))
    rows = []
    for t, _, calls in trips:
        for k, (s, m) in enumerate(calls):
            rows.append(f"{t},{hms(m)},{hms(m)},{s},{k + 1}\n")
    (folder / "stop_times.txt").write_text("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + "".join(rows))
    cal = calendar or [("S1", "1111111")]
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n" + "".join(
            f"{sv},{','.join(days)},20240101,20241231\n" for sv, days in cal))
    (folder / "calendar_dates.txt").write_text("service_id,date,exception_type\n" + "".join(
        f"{sv},{d},{e}\n" for sv, d, e in calendar_dates))
    if frequencies:
        (folder / "frequencies.txt").write_text("trip_id,start_time,end_time,headway_secs\n" + "".join(
            f"{t},{hms(a)},{hms(b)},{h}\n" for t, a, b, h in frequencies))
    return folder


def run(folder, dest, deadline_min, **kw):
    tt = load_timetable(folder, **kw.pop("load", {}))
    x, y = xy(dest)
    ld = latest_departures(tt, x, y, deadline_min * 60.0, max_transfers=kw.pop("max_transfers", 5))
    return tt, {sid: ld[i] / 60.0 for i, sid in enumerate(tt.stops["stop_id"])}


def test_direct_trip_and_default_day(tmp_path):
    f = write_feed(tmp_path / "f", [("t1", "S1", [("A", 480), ("B", 500)])])
    tt, ld = run(f, STOPS["B"], 540)
    assert tt.day == dt.date(2024, 1, 2)  # the first Tuesday of the feed
    assert ld["A"] == 480 and ld["B"] == 540 and "C" not in ld  # stops no trip serves that day are left out


def test_transfer_just_caught_and_just_missed(tmp_path):
    caught = write_feed(tmp_path / "c", [("t1", "S1", [("A", 480), ("B", 500)]), ("t2", "S1", [("B", 500), ("C", 520)])])
    assert run(caught, STOPS["C"], 540)[1]["A"] == 480
    missed = write_feed(tmp_path / "m", [("t1", "S1", [("A", 480), ("B", 500)]), ("t2", "S1", [("B", 499), ("C", 520)])])
    assert run(missed, STOPS["C"], 540)[1]["A"] == -np.inf
    # and with no change allowed, even the caught one is out of reach
    assert run(caught, STOPS["C"], 540, max_transfers=0)[1]["A"] == -np.inf


def test_waiting_at_a_stop(tmp_path):
    f = write_feed(tmp_path / "w", [("t1", "S1", [("A", 480), ("B", 500)]), ("t2", "S1", [("B", 530), ("C", 535)])])
    assert run(f, STOPS["C"], 540)[1]["A"] == 480  # 30 minutes' wait at B


def test_trip_past_midnight(tmp_path):
    f = write_feed(tmp_path / "n", [("late", "S1", [("A", 24 * 60 + 10), ("B", 24 * 60 + 30)])])
    assert run(f, STOPS["B"], 24 * 60 + 40)[1]["A"] == 24 * 60 + 10


def test_service_removed_by_calendar_dates(tmp_path):
    trips = [("t1", "S1", [("A", 480), ("B", 500)]), ("t2", "S2", [("A", 490), ("B", 510)])]
    f = write_feed(tmp_path / "x", trips, calendar=[("S1", "1111111"), ("S2", "1111111")],
                   calendar_dates=[("S2", "20240102", 2)])
    assert run(f, STOPS["B"], 540)[1]["A"] == 480  # the default day, Tuesday 2 January, has no S2
    assert run(f, STOPS["B"], 540, load={"day": "2024-01-03"})[1]["A"] == 490  # the next day the later bus runs
    # without the exception the later bus runs on the 2nd too: the 480 above is the removal's doing
    plain = write_feed(tmp_path / "x2", trips, calendar=[("S1", "1111111"), ("S2", "1111111")])
    assert run(plain, STOPS["B"], 540, load={"day": "2024-01-02"})[1]["A"] == 490
    # an added service (exception type 1) runs on a day its calendar does not
    added = write_feed(tmp_path / "x3", trips, calendar=[("S1", "1111111"), ("S2", "0000000")],
                       calendar_dates=[("S2", "20240102", 1)])
    assert run(added, STOPS["B"], 540, load={"day": "2024-01-02"})[1]["A"] == 490
    assert run(added, STOPS["B"], 540, load={"day": "2024-01-03"})[1]["A"] == 480


def test_frequency_based_trips(tmp_path):
    f = write_feed(tmp_path / "q", [("tmpl", "S1", [("A", 0), ("B", 10)])], frequencies=[("tmpl", 420, 480, 900)])
    tt, ld = run(f, STOPS["B"], 480)
    assert ld["A"] == 465  # buses leave at 07:00, 07:15, 07:30, 07:45; the last arrives 07:55
    assert tt.source["trips"] == 4


def test_a_walk_beats_the_bus(tmp_path):
    stops = dict(STOPS, E=NEAR_C)
    f = write_feed(tmp_path / "k", [("slow", "S1", [("E", 500), ("C", 530)])], stops=stops)
    _, ld = run(f, STOPS["C"], 540)
    walk = walk_seconds(np.hypot(*np.subtract(xy(NEAR_C), xy(STOPS["C"])))) / 60.0
    assert ld["E"] == pytest.approx(540 - walk) and ld["E"] > 500


def test_window_median(tmp_path):
    trips = [(f"t{k}", "S1", [("A", 480 + 10 * k), ("B", 490 + 10 * k)]) for k in range(6)]  # every 10 min
    f = write_feed(tmp_path / "h", trips)
    tt = load_timetable(f)
    x, y = xy(STOPS["B"])
    m = arrive_by_minutes(tt, x, y, arrive_by="09:00", window_minutes=30, step_minutes=1)
    a = int(tt.stops.index[tt.stops["stop_id"] == "A"][0])
    # deadlines 08:30..09:00 (31 of them); for 08:30 + j the last bus arrives at 08:30 + 10 * (j // 10), so the
    # trip from A takes 10 + j % 10 minutes: four 10s, then three each of 11..19; the median (16th) is 14
    assert m[a] == pytest.approx(14.0)
    # the 90th percentile (28th of 31 values) is 18 and the best case 10
    p90 = arrive_by_minutes(tt, x, y, arrive_by="09:00", window_minutes=30, step_minutes=1, percentile=90)
    best = arrive_by_minutes(tt, x, y, arrive_by="09:00", window_minutes=30, step_minutes=1, percentile=0)
    assert p90[a] == pytest.approx(18.0) and best[a] == pytest.approx(10.0)


def test_chester_equals_time_expanded_search(data_dir):
    tt = load_timetable(data_dir / "gtfs/chester-20230816-small_gtfs.zip")
    assert tt.day.weekday() == 1
    x, y = xy((53.1795, -2.8870))  # Cheshire College South & West, Handbridge campus
    for deadline in (8 * 3600 + 30 * 60, 9 * 3600):
        ours = latest_departures(tt, x, y, deadline, max_transfers=50)
        ref = reference_latest_departures(tt, x, y, deadline)
        assert np.isfinite(ours).sum() > 500
        np.testing.assert_array_equal(ours, ref)


def test_bad_feeds(tmp_path):
    with pytest.raises(DataNotFoundError):
        load_timetable(tmp_path / "none.zip")
    f = write_feed(tmp_path / "ok", [("t1", "S1", [("A", 480), ("B", 500)])])
    (f / "stop_times.txt").unlink()
    with pytest.raises(InvalidInputError, match=r"lacks stop_times\.txt"):
        load_timetable(f)
    back = write_feed(tmp_path / "back", [("t1", "S1", [("A", 480), ("B", 470)])])
    with pytest.raises(InvalidInputError, match="trip 't1' runs backwards"):
        load_timetable(back)
    z = tmp_path / "junk.zip"
    z.write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="not a GTFS zip"):
        load_timetable(z)
    good = write_feed(tmp_path / "g", [("t1", "S1", [("A", 480), ("B", 500)])])
    with pytest.raises(InvalidInputError, match="no service on 2030-01-01; the feed runs 2024-01-01 to 2024-12-31"):
        load_timetable(good, day="2030-01-01")
    unknown = write_feed(tmp_path / "u", [("t1", "S1", [("A", 480), ("B", 500), ("ZZ", 510)])])
    with pytest.warns(UserWarning, match="1 stop_times name 1 unknown stop id"):
        load_timetable(unknown)
    zipped = tmp_path / "feed.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for p in good.iterdir():
            zf.write(p, p.name)
    assert load_timetable(zipped).n_stops == 2  # A and B: the stops served that day


def test_depart_at_search_on_hand_built_feed(tmp_path):
    from iot_geo.transit import earliest_arrivals

    f = write_feed(tmp_path / "fw", [("t1", "S1", [("A", 480), ("B", 500)]), ("t2", "S1", [("B", 500), ("C", 520)]),
                                     ("t3", "S1", [("B", 499), ("D", 515)])])
    tt = load_timetable(f)
    x, y = xy(STOPS["A"])
    ea = earliest_arrivals(tt, x, y, 470 * 60.0, max_transfers=3)
    got = {sid: ea[i] / 60.0 for i, sid in enumerate(tt.stops["stop_id"])}
    assert got["A"] == 470 and got["B"] == 500 and got["C"] == 520
    assert got["D"] == np.inf  # t3 leaves B a minute before t1 arrives


def test_transit_catchments_people_and_hub_spoke(data_dir):
    import geopandas as gpd
    from shapely.geometry import Point

    import iot_geo as ig
    from iot_geo.bids import Bid

    net = ig.load_network(data_dir / "gtfs/chester-20230816-small_gtfs.zip", mode="transit", arrive_by="09:00",
                          window_minutes=20, max_transfers=2)
    site = {"Handbridge": (53.1795, -2.8870)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = ig.catchments(net, site, minutes=(30, 45, 60))
        pr = ig.people_reached(net, site, minutes=(30, 45, 60))
    assert list(c["mode"].unique()) == ["transit"]
    assert c["people"].is_monotonic_increasing and c["area_km2"].is_monotonic_increasing
    assert (c["people"].to_numpy() == pr["people"].to_numpy()).all()
    assert c["people"].iloc[0] > 10_000 and c["people_unknown"].iloc[-1] > 0  # Welsh areas counted as unknown
    geoms = list(c.geometry)
    for small, big in itertools.pairwise(geoms):
        assert small.difference(big).area <= 1e-6 * small.area + 1.0
    hx, hy = xy((53.1795, -2.8870))
    sx, sy = xy((53.1905, -2.8916))  # Chester city centre
    sites = gpd.GeoDataFrame({"bid_id": "chester", "site_id": ["hub", "centre"], "name": ["hub", "centre"],
                              "role": ["hub", "spoke"], "provider_id": ""}, geometry=[Point(hx, hy), Point(sx, sy)],
                             crs=27700)
    bid = Bid("chester", "Chester", "Lead", "fe_college", [], [], [], None, None, ["digital"], [4], sites)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hs = ig.hub_spoke(net, bid, minutes=[30])
    rows = hs.set_index("site_id")
    assert 0 < rows.loc["centre", "to_hub_minutes"] < 40
    assert rows.loc["(network)", "people_alone"] >= rows.loc["hub", "people_alone"]


def test_transit_cli(tmp_path, data_dir):
    import subprocess
    import sys

    import pandas as pd

    r = subprocess.run([sys.executable, "-m", "iot_geo", "catchment", "--mode", "transit", "--gtfs",
                        str(data_dir / "gtfs/chester-20230816-small_gtfs.zip"), "--arrive-by", "09:00", "--minutes",
                        "30", "45", "--site", "Handbridge=53.1795,-2.8870", "--csv", str(tmp_path / "t.csv")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path / "t.csv")
    assert list(df["minutes"]) == [30, 45] and (df["mode"] == "transit").all()
    bad = subprocess.run([sys.executable, "-m", "iot_geo", "catchment", "--mode", "transit", "--gtfs",
                          str(data_dir / "gtfs/chester-20230816-small_gtfs.zip"), "--day", "2030-01-01", "--minutes",
                          "30", "--site", "Handbridge=53.1795,-2.8870"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "no service on 2030-01-01" in bad.stderr


def test_walking_network_times_the_walks(tmp_path):
    """A stop 500 m from the college as the crow flies, but 1.5 km round a river by the only footpath."""
    from helpers import raw_network

    from iot_geo.network import TravelNetwork
    from iot_geo.speeds import Speeds

    cx, cy = xy(STOPS["C"])
    ex, ey = cx - 500.0, cy
    la, lo = 52.60, -0.6074
    stops = dict(STOPS, E=(la, lo))
    f = write_feed(tmp_path / "wn", [("slow", "S1", [("E", 500), ("C", 530)])], stops=stops)
    ex, ey = xy((la, lo))
    nodes = {0: (ex, ey), 1: (ex, ey + 500), 2: (cx, cy + 500), 3: (cx, cy)}
    walk = TravelNetwork.from_raw(raw_network(nodes, [(0, 1, True, True), (1, 2, True, True), (2, 3, True, True)]),
                                  mode="walk", speeds=Speeds("walk", constant_kmh=6.0, park_minutes=0.0, access_kmh=6.0))
    tt_line = load_timetable(f)
    tt_net = load_timetable(f, walk_network=walk)
    a = latest_departures(tt_line, cx, cy, 540 * 60.0)
    b = latest_departures(tt_net, cx, cy, 540 * 60.0)
    e_line = int(tt_line.stops.index[tt_line.stops["stop_id"] == "E"][0])
    e_net = int(tt_net.stops.index[tt_net.stops["stop_id"] == "E"][0])
    gap = np.hypot(ex - cx, ey - cy)
    assert a[e_line] / 60 == pytest.approx(540 - walk_seconds(gap) / 60)  # straight line: walk it (6.8 min)
    assert b[e_net] / 60 == pytest.approx(540 - (500 + gap + 500) / 100.0)  # 1.5 km at 6 km/h: 15 min...
    assert b[e_net] < a[e_line]
    assert tt_net.source["walking"] == "network"


def _with_transfers(folder: Path, rows: str) -> Path:
    (folder / "transfers.txt").write_text("from_stop_id,to_stop_id,transfer_type,min_transfer_time\n" + rows)
    return folder


def test_transfers_txt_minimum_change_time(tmp_path):
    # t1 reaches B at 08:30 and t0 at 08:32; t3 leaves B at 08:36 for C. With 5 minutes to change at B only t1
    # connects (08:35 <= 08:36): the latest start from A is 08:00, not 08:05.
    trips = [("t1", "S1", [("A", 480), ("B", 510)]), ("t0", "S1", [("A", 485), ("B", 512)]),
             ("t3", "S1", [("B", 516), ("C", 538)])]
    plain = write_feed(tmp_path / "p", trips)
    tt, ld = run(plain, STOPS["C"], 540)
    assert ld["A"] == 485 and tt.source["transfers"] == 0
    five = _with_transfers(write_feed(tmp_path / "f", trips), "B,B,2,300\n")
    tt, ld = run(five, STOPS["C"], 540)
    assert ld["A"] == 480 and tt.source["transfers"] == 1
    assert ld["B"] == 516  # boarding at B itself needs no change time
    x, y = xy(STOPS["C"])
    ref = reference_latest_departures(tt, x, y, 540 * 60.0)
    assert np.array_equal(ref, latest_departures(tt, x, y, 540 * 60.0, max_transfers=5))
    # a change is not possible at B at all
    none = _with_transfers(write_feed(tmp_path / "n", trips), "B,B,3,\n")
    tt, ld = run(none, STOPS["C"], 540)
    assert ld["A"] == -np.inf
    # ... but alighting at B to walk to a destination beside B needs no change time
    assert run(none, STOPS["B"], 540)[1]["A"] == 485
    # the depart-at search honours it too: from A at 07:55, C is reached at 08:58 (t1 then t3)
    from iot_geo.transit import earliest_arrivals

    tt = load_timetable(five)
    ax, ay = xy(STOPS["A"])
    ea = earliest_arrivals(tt, ax, ay, 475 * 60.0)
    got = {sid: ea[i] / 60.0 for i, sid in enumerate(tt.stops["stop_id"])}
    assert got["C"] == 538
    tt = load_timetable(none)
    ea = earliest_arrivals(tt, ax, ay, 475 * 60.0)
    assert dict(zip(tt.stops["stop_id"], ea / 60.0, strict=True))["C"] == np.inf


def test_transfers_txt_between_stops_and_bad_rows(tmp_path):
    # A -> B by t1 (08:30), then walk B -> D (3.4 km: beyond any footpath) only because transfers.txt says 4 minutes
    trips = [("t1", "S1", [("A", 480), ("B", 510)]), ("t2", "S1", [("D", 515), ("C", 535)])]
    f = _with_transfers(write_feed(tmp_path / "w", trips), "B,D,2,240\n")
    tt, ld = run(f, STOPS["C"], 540)
    assert ld["A"] == 480  # 08:30 + 4 min = 08:34 <= 08:35
    slow = _with_transfers(write_feed(tmp_path / "s", trips), "B,D,2,360\n")
    assert run(slow, STOPS["C"], 540)[1]["A"] == -np.inf
    bad = _with_transfers(write_feed(tmp_path / "b", trips), "B,D,2,\n")
    with pytest.raises(InvalidInputError, match="min_transfer_time"):
        load_timetable(bad)


def test_gm_rail_feed_reads_its_interchange_times(data_dir):
    import pandas as pd

    feed = data_dir / "gtfs/gm-rail-gtfs.zip"
    with zipfile.ZipFile(feed) as z, z.open("transfers.txt") as fh:
        tr = pd.read_csv(fh, dtype=str)
    tt = load_timetable(feed)
    assert len(tr) == 125 and 100 < tt.source["transfers"] <= 125  # rows for the stops the day's trips serve
    ids = tt.stops["stop_id"].tolist()
    same = tr[(tr["from_stop_id"] == tr["to_stop_id"]) & tr["from_stop_id"].isin(ids)]
    assert len(same) > 100
    got = tt.change_s[[ids.index(s) for s in same["from_stop_id"]]]
    assert np.array_equal(got, same["min_transfer_time"].astype(float).to_numpy())
    assert tt.change_s[ids.index("SFD")] == 300.0  # Salford Central: five minutes to change


def test_gm_rail_interchange_times_lengthen_trips_to_salford(data_dir):
    """On the real feed the five-minute changes never shorten a trip and lengthen some (those that change trains)."""
    import dataclasses

    from iot_geo import load_network

    rail = load_network(data_dir / "gtfs/gm-rail-gtfs.zip", mode="transit", arrive_by="09:00", window_minutes=0)
    free = dataclasses.replace(rail, timetable=dataclasses.replace(rail.timetable,
                                                                   change_s=np.zeros(rail.timetable.n_stops)))
    x, y = 382136.087, 398571.865  # University of Salford (provider file)
    with_mct = rail.stop_minutes(x, y)
    without = free.stop_minutes(x, y)
    both = np.isfinite(with_mct) & np.isfinite(without)
    assert both.sum() > 50
    assert (with_mct[both] >= without[both] - 1e-9).all()
    assert (with_mct[both] > without[both] + 1e-9).any()
    assert not (np.isfinite(with_mct) & ~np.isfinite(without)).any()


def test_travel_times_stop_at_the_cutoff_on_both_kinds_of_network(data_dir):
    """``travel_times`` says farther nodes get inf: a timetable's stops too, as a road's junctions."""
    import geopandas as gpd
    from helpers import X0, Y0, straight_road

    import iot_geo as ig

    feed = ig.load_network(data_dir / "gtfs/chester-20230816-small_gtfs.zip", mode="transit", arrive_by="09:00",
                           window_minutes=0)
    road_site = gpd.GeoDataFrame({"site_id": ["km 10"]}, geometry=gpd.points_from_xy([X0 + 10_000], [Y0]), crs=27700)
    for net, site in ((feed, {"Handbridge": (53.1795, -2.8870)}), (straight_road(), road_site)):
        wide = ig.travel_times(net, site, max_minutes=60).per_site
        short = ig.travel_times(net, site, max_minutes=10).per_site
        assert np.isfinite(short).sum() > 0 and (short[np.isfinite(short)] <= 10).all(), net.mode
        # the cutoff only hides what is farther: every node within it keeps its time
        assert np.array_equal(np.where(wide <= 10, wide, np.inf), short), net.mode


def test_a_road_network_refuses_to_carry_a_timetable_search_to_points(data_dir):
    from helpers import straight_road

    import iot_geo as ig

    feed = ig.load_network(data_dir / "gtfs/chester-20230816-small_gtfs.zip", mode="transit", arrive_by="09:00",
                           window_minutes=0)
    times = ig.travel_times(feed, {"Handbridge": (53.1795, -2.8870)}, max_minutes=30)
    with pytest.raises(ig.InvalidInputError, match="takes the search of this road network"):
        straight_road().minutes_to_points(times, np.array([480_000.0]), np.array([300_000.0]))


def test_a_bid_no_timetable_covers_is_refused_in_the_timetables_words(data_dir):
    import geopandas as gpd

    import iot_geo as ig
    from iot_geo.catchment import pick_network

    feed = ig.load_network(data_dir / "gtfs/chester-20230816-small_gtfs.zip", mode="transit", arrive_by="09:00",
                           window_minutes=0)
    london = gpd.GeoDataFrame({"site_id": ["x"]}, geometry=gpd.points_from_xy([530_000.0], [180_000.0]), crs=27700)
    with pytest.raises(ig.InvalidInputError, match=r"^bid 'x': no loaded network covers all its sites \(transit: a "
                                                    r"site with no stop within [\d,]+ m\); load a network"):
        pick_network([feed], london, label="bid 'x'")
