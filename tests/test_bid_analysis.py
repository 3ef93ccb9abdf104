"""Hub and spoke, spoke choice, overlap and checks: hand-built answers and the example bids."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, people_along_road, straight_road
from shapely.geometry import Point

from iot_geo import InvalidInputError, load_network
from iot_geo.bids import Bid, read_bids
from iot_geo.checks import check_bids
from iot_geo.covering import greedy_cover, maximal_covering
from iot_geo.hub_spoke import hub_spoke, suggest_spokes
from iot_geo.overlap import bid_catchments, overlap, overlap_areas

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


@pytest.fixture(scope="module")
def road():
    return straight_road()


@pytest.fixture(scope="module")
def people():
    return people_along_road()


def make_bid(bid_id, sites, routes=("digital",), lep=("E37000042",)):
    rows = [{"bid_id": bid_id, "site_id": sid, "name": sid, "role": role, "provider_id": "",
             "geometry": Point(X0 + 1000 * km, Y0)} for sid, role, km in sites]
    return Bid(bid_id, bid_id, "Lead College", "fe_college", [], list(lep), ["Test LEP"] * len(lep), None, None,
               list(routes), [3, 4, 5], gpd.GeoDataFrame(rows, geometry="geometry", crs=27700))


def test_identical_bids_overlap_fully_and_disjoint_ones_not(road, people):
    a = make_bid("a", [("a-hub", "hub", 10)])
    b = make_bid("b", [("b-hub", "hub", 10)])
    c = make_bid("c", [("c-hub", "hub", 25)], routes=("construction",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = overlap(road, [a, b, c], minutes=[3], population=people)
    assert list(zip(o["bid_a"], o["bid_b"], strict=True)) == [("a", "b")]
    row = o.iloc[0]
    assert row["people_share_a"] == row["people_share_b"] == 1.0
    assert row["area_share_a"] == pytest.approx(1.0) and row["area_share_b"] == pytest.approx(1.0)
    assert row["people_both"] == sum(100 * (k + 1) for k in range(7, 14))  # km 7..13 within 3 minutes
    assert row["duplicate"] and "same LEP" in row["reasons"] and row["shared_routes"] == ["digital"]


def test_overlap_is_symmetric(road, people):
    a = make_bid("a", [("a-hub", "hub", 10)])
    b = make_bid("b", [("b-hub", "hub", 14)], routes=("construction",), lep=("E37000001",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ab = overlap(road, [a, b], minutes=[3, 5], population=people)
        ba = overlap(road, [b, a], minutes=[3, 5], population=people)
    pd.testing.assert_frame_equal(ab, ba)
    bc = bid_catchments(road, [a, b], minutes=[3, 5], population=people)
    cell = bc.resolution ** 2
    polys = bc.table.set_index(["group_id", "minutes"]).geometry
    for r in ab.itertuples():
        own_a = (bc.cells[0][1] <= r.minutes).sum() * cell
        own_b = (bc.cells[1][1] <= r.minutes).sum() * cell
        assert r.area_share_a * own_a == pytest.approx(r.area_both_km2 * 1e6, rel=1e-3)
        assert r.area_share_b * own_b == pytest.approx(r.area_both_km2 * 1e6, rel=1e-3)
        # counted on the grid, the shared area agrees with the polygons' intersection to the resolution
        inter = polys[("a", r.minutes)].intersection(polys[("b", r.minutes)])
        # cells and contour differ by at most half a cell along the boundary
        assert abs(inter.area - r.area_both_km2 * 1e6) <= inter.length * bc.resolution / 2
    r3 = ab[ab["minutes"] == 3].iloc[0]
    assert r3["people_both"] == 1200 + 1300 + 1400  # km 11, 12, 13 are within 3 minutes of km 10 and km 14
    assert not r3["duplicate"]  # no shared route
    # they declare different LEPs, but both sites lie in Rutland, in one LEP (2021): told, with "located"
    assert r3["same_lep"] and "same LEP (located: " in r3["reasons"]
    geoms = overlap_areas(road, [a, b], minutes=[3], population=people)
    assert len(geoms) == 1
    assert geoms.geometry.iloc[0].area == pytest.approx(polys[("a", 3)].intersection(polys[("b", 3)]).area)


def test_spoke_outside_reach_adds_exactly_its_people(road, people):
    bid = make_bid("hs", [("hub", "hub", 5), ("far-spoke", "spoke", 20), ("near-spoke", "spoke", 6)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = hub_spoke(road, bid, minutes=[2], population=people)
    rows = h.set_index("site_id")
    far = sum(100 * (k + 1) for k in range(18, 23))
    hub_only = sum(100 * (k + 1) for k in range(3, 8))  # the hub reaches km 3..7
    assert rows.loc["far-spoke", "people_alone"] == far
    assert rows.loc["far-spoke", "people_only_here"] == far
    assert rows.loc["near-spoke", "people_only_here"] == 900  # only km 8 is its own
    assert rows.loc["hub", "people_only_here"] == 400  # only km 3 (km 4..7 are also near the near spoke)
    # with the hub: the near spoke adds km 8 to the hub's km 3..7; the far spoke adds km 18..22
    assert rows.loc["hub", "people_with_site"] == hub_only
    assert rows.loc["near-spoke", "people_with_site"] == hub_only + 900
    assert rows.loc["far-spoke", "people_with_site"] == hub_only + far
    net = rows.loc["(network)"]
    assert net["people_alone"] == sum(100 * (k + 1) for k in list(range(3, 9)) + list(range(18, 23)))
    assert rows.loc["near-spoke", "share_only_here"] == pytest.approx(round(900 / net["people_alone"], 4))
    assert rows.loc["far-spoke", "to_hub_minutes"] == pytest.approx(15.0)
    assert rows.loc["far-spoke", "from_hub_minutes"] == pytest.approx(15.0)
    assert "redundant" not in h.columns and "people_added" not in h.columns
    assert h["truncated"].dtype == bool
    for col in ("people_alone", "people_only_here", "people_with_site", "people_16_59_alone"):
        assert pd.api.types.is_integer_dtype(h[col]), col


def test_suggest_spokes_all_and_known_best(road, people):
    hub = gpd.GeoDataFrame({"site_id": ["hub"]}, geometry=[Point(X0 + 5000, Y0)], crs=27700)
    cands = gpd.GeoDataFrame({"site_id": ["c6", "c15", "c25"]},
                             geometry=[Point(X0 + 1000 * k, Y0) for k in (6, 15, 25)], crs=27700)
    every = suggest_spokes(road, hub, cands, k=3, minutes=2, min_gap=0, population=people)
    assert set(every["site_id"]) == {"c6", "c15", "c25"}
    best = suggest_spokes(road, hub, cands, k=1, minutes=2, min_gap=0, population=people)
    assert list(best["site_id"]) == ["c25"]  # km 23..27 hold the most people
    assert best.attrs["objective"] == best.attrs["hub_people"] + sum(100 * (k + 1) for k in range(23, 28))
    assert best.attrs["greedy_choice"] == ["c25"] and best.attrs["greedy_gap"] == 0
    with pytest.raises(InvalidInputError, match="pool holds 3 candidate"):
        suggest_spokes(road, hub, cands, k=4, minutes=2, min_gap=0, population=people)


def test_suggest_spokes_keeps_spokes_apart(road, people):
    # 1 km a minute: c6 is 1 min from the hub (km 5), c14 9 min, c16 11 min, c17 12 min, c25 20 min;
    # c16-c17 1 min apart, c16-c25 9 min, c17-c25 8 min
    hub = gpd.GeoDataFrame({"site_id": ["hub"]}, geometry=[Point(X0 + 5000, Y0)], crs=27700)
    cands = gpd.GeoDataFrame({"site_id": ["c6", "c14", "c16", "c17", "c25"]},
                             geometry=[Point(X0 + 1000 * k, Y0) for k in (6, 14, 16, 17, 25)], crs=27700)
    one = suggest_spokes(road, hub, cands, k=1, minutes=2, population=people)  # default gap: 10 minutes
    assert one.attrs["min_gap"] == 10.0 and one.attrs["excluded_near_hub"] == 2  # c6 and c14
    assert one.attrs["candidates"] == 3 and list(one["site_id"]) == ["c25"]
    with pytest.raises(InvalidInputError, match=r"no 2 sites could be chosen .*minimum gap"):
        suggest_spokes(road, hub, cands, k=2, minutes=2, population=people)  # c16, c17, c25 all within 10 min
    two = suggest_spokes(road, hub, cands, k=2, minutes=2, min_gap=5, population=people)
    # c6 is excluded (1 min); c16 and c17 cannot both be chosen; c17 reaches km 15..19 (people 1600..2000)
    assert list(two["site_id"]) == ["c25", "c17"]
    assert two.attrs["objective"] == two.attrs["hub_people"] + sum(100 * (k + 1) for k in [*range(15, 20), *range(23, 28)])
    assert two.attrs["greedy_choice"] == ["c25", "c17"]
    with pytest.raises(InvalidInputError, match=r"pool holds 4 candidate.*1 more lie within 5 min of the hub"):
        suggest_spokes(road, hub, cands, k=5, minutes=2, min_gap=5, population=people)


def test_greedy_respects_close_pairs():
    cover = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 1]], dtype=bool)
    close = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=bool)
    chosen, obj = greedy_cover(cover, np.ones(3), np.zeros(3, bool), 2, close)
    assert chosen == [1, 2] and obj == 3.0
    x, obj2, _ = maximal_covering(cover, np.ones(3), np.zeros(3, bool), 2, close=close)
    assert obj2 == 3.0 and not {0, 1} <= set(x)


def test_duplicate_provision_check_names_the_other_bids(road, people):
    a = make_bid("a", [("a-hub", "hub", 10)])
    b = make_bid("b", [("b-hub", "hub", 11)])  # shares km 9..12 of a's km 8..12 within 2 min
    c = make_bid("c", [("c-hub", "hub", 11)], routes=("construction",))  # same people, no shared route
    d = make_bid("d", [("d-hub", "hub", 25)])  # far away
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks = check_bids([a, b, c, d], road, minutes=[1, 2], population=people)
    dup = checks[checks["check"] == "duplicate_provision"].set_index("bid_id")
    assert dup.loc["a", "status"] == dup.loc["b", "status"] == "warn"
    assert dup.loc["c", "status"] == dup.loc["d", "status"] == "pass"
    # a reaches km 8..12 (people 900..1300 = 5,500); b km 9..13 (6,000); both km 9..12 (4,600)
    assert "b (84% of this bid's people and 77% of b's shared within 2 min; both offer digital)" in dup.loc["a", "evidence"]
    assert "a (77% of this bid's people and 84% of a's shared" in dup.loc["b", "evidence"]
    assert "threshold 25%" in dup.loc["a", "evidence"]
    assert "c" not in dup.loc["a", "evidence"].split("with 1 other bid(s): ")[1].split(" (")[0]


def test_exact_beats_greedy_where_greedy_is_myopic():
    # six areas of one person; S0 covers four, S1 and S2 three each: greedy takes S0 first (5 in all),
    # the optimum is S1 + S2 (all 6)
    w = np.ones(6)
    cover = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], dtype=bool)
    base = np.zeros(6, bool)
    g, g_obj = greedy_cover(cover, w, base, 2)
    x, obj, solver = maximal_covering(cover, w, base, 2)
    assert g[0] == 0 and g_obj == 5.0
    assert sorted(x) == [1, 2] and obj == 6.0 and "HiGHS" in solver


@pytest.fixture(scope="module")
def cambridge(data_dir):
    return load_network(data_dir / "osm/cambridge-2020-drive.graphml.gz")


def test_cambridge_examples_flag_duplicates(cambridge):
    bids = read_bids(EXAMPLES / "cambridge.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = overlap(cambridge, bids, minutes=[10])
    assert len(o) == 3 and o["duplicate"].all()
    assert (o["people_both"] > 10_000).all()
    assert o["reasons"].str.contains("single co-ordinated bid").all()


def test_checks_on_examples(cambridge, data_dir):
    bids = read_bids(EXAMPLES / "cambridge.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = check_bids(bids, cambridge, minutes=[10, 15])
    assert set(c["status"]) <= {"pass", "warn", "fail"}
    by = c.set_index(["bid_id", "check"])["status"]
    assert by[("hills-road-digital", "fe_college_involved")] == "warn"
    assert by[("long-road-stem", "fe_college_involved")] == "pass"
    assert by[("cambridge-regional-iot", "sites_in_area")] == "pass"
    assert by[("cambridge-regional-iot", "other_bids_same_lep")] == "warn"
    dup = c[c["check"] == "duplicate_provision"].set_index("bid_id")["evidence"]
    assert (c.loc[c["check"] == "duplicate_provision", "status"] == "warn").all()  # all three pairs duplicate
    assert "hills-road-digital" in dup["cambridge-regional-iot"] and "long-road-stem" in dup["cambridge-regional-iot"]
    assert by[("cambridge-regional-iot", "lep_coverage")] == "warn"  # the city network is not the whole LEP
    no_net = check_bids(read_bids(EXAMPLES / "rutland.yaml"))
    assert set(no_net["check"]) == {"sites_in_area", "fe_college_involved", "stem_levels", "other_bids_same_lep"}
    assert no_net.set_index(["bid_id", "check"])["status"][("oakham-engineering", "stem_levels")] == "warn"


def test_bid_outside_every_network(road, people):
    far = make_bid("far", [("far-hub", "hub", 10)])
    far.sites["geometry"] = [Point(X0 + 10_000, Y0 + 50_000)]
    with pytest.raises(InvalidInputError, match="bid 'far': no loaded network covers all its sites"):
        overlap(road, [far], minutes=[3], population=people)
