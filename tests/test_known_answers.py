"""Known answers for every figure a user reads, on hand-built cases worked out by hand.

The network is a straight two-way road (or a grid) at 60 km/h (a kilometre a minute) with access legs
on foot at 6 km/h (100 m a minute) and no parking time, so every time below is a whole number of
minutes (or a tenth) that can be checked on paper. Speeds are passed explicitly, so a change to the
documented speed profile (speeds.py) does not move these answers; those figures are checked against
their documentation at the end of this file instead.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, km_per_minute, raw_network, straight_road
from shapely.geometry import Point, box

from iot_geo.bids import Bid, Partner
from iot_geo.catchment import catchments, people_reached
from iot_geo.checks import COVERAGE_PASS, check_bids
from iot_geo.errors import InvalidInputError
from iot_geo.hub_spoke import hub_spoke
from iot_geo.overlap import DUPLICATE_SHARE, overlap

REPO = Path(__file__).resolve().parents[1]
IMD = [f"imd_{d}" for d in range(1, 11)]


def km(k: float, off: float = 0.0) -> Point:
    """A point ``k`` km along the test road, ``off`` metres north of it."""
    return Point(X0 + 1000.0 * k, Y0 + off)


@pytest.fixture(scope="module")
def road():
    return straight_road()


def population(rows):
    """``rows``: (code, point, people, people_16_59, imd_decile); None is unknown (as Welsh LSOAs are)."""
    codes, pts, people, p1659, dec = zip(*rows, strict=True)
    return gpd.GeoDataFrame({"lsoa_code": list(codes),
                             "people": pd.array([np.nan if p is None else p for p in people], dtype="float64"),
                             "people_16_59": pd.array([np.nan if p is None else p for p in p1659], dtype="float64"),
                             "imd_decile": pd.array(list(dec), dtype="Int64")},
                            geometry=list(pts), crs=27700)


# A site at km 10; minutes to each centroid worked out by hand (to_site and from_site alike on a two-way road):
#   A km 10 -> 0      B km 8 -> 2         C km 7 -> 3 (at the cutoff)   D km 13 -> 3 (at the cutoff)
#   E km 12, 100 m off the road -> 2 + 1 (on foot) = 3 (at the cutoff)  F km 12, 150 m off -> 3.5
#   G km 6.9 -> 3.1   H km 9 -> 1, people unknown (Wales)              I km 11 -> 1, decile unknown
CENTROIDS = population([
    ("A", km(10), 1000, 600, 1),
    ("B", km(8), 200, 120, 10),
    ("C", km(7), 30, 18, 2),
    ("D", km(13), 4000, 2400, 5),
    ("E", km(12, 100), 50000, 30000, 5),
    ("F", km(12, 150), 600000, 360000, 3),
    ("G", km(6.9), 7_000_000, 4_200_000, 4),
    ("H", km(9), None, None, None),
    ("I", km(11), 80, 48, None),
])
# band 2: A, B (at the cutoff), H, I             band 3: also C, D, E (each exactly at the cutoff)
EXPECTED = {
    2: {"people": 1000 + 200 + 80, "people_16_59": 600 + 120 + 48, "people_unknown": 1, "lsoas": 4,
        "imd": {1: 1000, 10: 200}},
    3: {"people": 1000 + 200 + 80 + 30 + 4000 + 50000, "people_16_59": 600 + 120 + 48 + 18 + 2400 + 30000,
        "people_unknown": 1, "lsoas": 7, "imd": {1: 1000, 2: 30, 5: 4000 + 50000, 10: 200}},
}


def _check_band(row, band):
    exp = EXPECTED[band]
    for col in ("people", "people_16_59", "people_unknown", "lsoas"):
        assert row[col] == exp[col], (band, col)
    assert [row[c] for c in IMD] == [exp["imd"].get(d, 0) for d in range(1, 11)], band


@pytest.mark.parametrize("direction", ["to_site", "from_site"])
def test_people_16_59_and_imd_deciles_per_band(road, direction):
    site = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[km(10)], crs=27700)
    c = catchments(road, site, minutes=[3, 2], direction=direction, population=CENTROIDS,
                   warn_truncated=False).set_index("minutes")
    assert list(c.index) == [2, 3]
    for band in (2, 3):
        _check_band(c.loc[band], band)
    pr = people_reached(road, site, minutes=[2, 3], direction=direction,
                        population=CENTROIDS).set_index("minutes")
    for band in (2, 3):
        _check_band(pr.loc[band], band)


def test_default_population_is_read_through_the_loader(road, monkeypatch):
    """Without ``population=``, catchments read the LSOA table through load_population (injected here)."""
    calls = []

    def fake(*, data_dir=None):
        calls.append(data_dir)
        return CENTROIDS

    monkeypatch.setattr("iot_geo.sources.population.load_population", fake)
    c = catchments(road, gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[km(10)], crs=27700), minutes=[3],
                   warn_truncated=False, data_dir="somewhere")
    assert calls == ["somewhere"]
    _check_band(c.iloc[0], 3)


# Two sites of one bid, at km 10 and km 12; one minute reaches km 9-11 and km 11-13.
UNION_POP = population([(f"K{k}", km(k), 2.0 ** (k - 8), 2.0 ** (k - 8) / 2, k - 7) for k in range(8, 15)])


def test_union_counts_a_centroid_reached_by_two_sites_once(road):
    sites = gpd.GeoDataFrame({"site_id": ["s1", "s2"], "group_id": ["bid", "bid"]}, geometry=[km(10), km(12)],
                             crs=27700)
    each = catchments(road, sites, minutes=[1], population=UNION_POP, warn_truncated=False).set_index("site_id")
    # people 2^(k-8): km 9 = 2, km 10 = 4, km 11 = 8, km 12 = 16, km 13 = 32
    assert each.loc["s1", "people"] == 2 + 4 + 8 and each.loc["s2", "people"] == 8 + 16 + 32
    union = catchments(road, sites, minutes=[1], union=True, population=UNION_POP, warn_truncated=False).iloc[0]
    assert union["site_id"] == "" and union["group_id"] == "bid"
    assert union["people"] == 2 + 4 + 8 + 16 + 32  # km 11 once, not twice (70)
    assert union["people_16_59"] == (2 + 4 + 8 + 16 + 32) / 2 and union["lsoas"] == 5
    # deciles k - 7: km 9 -> 2, ..., km 13 -> 6
    assert [union[c] for c in IMD] == [0, 2, 4, 8, 16, 32, 0, 0, 0, 0]
    pr = people_reached(road, sites, minutes=[1], population=UNION_POP).iloc[0]
    assert pr["people"] == 62 and pr["lsoas"] == 5


# ------------------------------------------------------------------ overlap
def make_bid(bid_id, sites, routes=("digital",), lep=("E37000042",), ca=None, lead_type="fe_college",
             partners=(), lead="Lead College", lep_names=None):
    rows = [{"bid_id": bid_id, "site_id": sid, "name": sid, "role": role, "provider_id": "", "geometry": pt}
            for sid, role, pt in sites]
    return Bid(bid_id, bid_id, lead, lead_type, list(partners), list(lep),
               list(lep_names or ["Test"] * len(lep)), ca, ca and "Test CA", list(routes), [3, 4, 5],
               gpd.GeoDataFrame(rows, geometry="geometry", crs=27700))


def _overlap(road, bids, pop, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return overlap(road, bids, minutes=kw.pop("minutes", [3]), population=pop, **kw)


def test_overlap_shares_are_each_bids_own(road):
    # a at km 10 reaches km 7-13 in 3 minutes, b at km 14 reaches km 11-17; 100 * (km + 1) people per km
    pop = population([(f"K{k}", km(k), 100.0 * (k + 1), 10.0, 1) for k in range(31)])
    a = make_bid("a", [("a-hub", "hub", km(10))])
    b = make_bid("b", [("b-hub", "hub", km(14))], routes=("construction",), lep=("E37000001",))
    row = _overlap(road, [b, a], pop).iloc[0]
    own_a = sum(100 * (k + 1) for k in range(7, 14))  # 7,700
    own_b = sum(100 * (k + 1) for k in range(11, 18))  # 10,500
    both = 1200 + 1300 + 1400  # km 11, 12, 13
    assert (row["bid_a"], row["bid_b"], row["minutes"]) == ("a", "b", 3)
    assert row["people_both"] == both
    assert row["people_share_a"] == pytest.approx(both / own_a, abs=5e-5)  # 0.5065
    assert row["people_share_b"] == pytest.approx(both / own_b, abs=5e-5)  # 0.3714
    assert not row["duplicate"] and not row["same_ca"] and row["shared_routes"] == []
    # the bids declare different LEPs, but both sites lie in Rutland, so in the same 2017 LEP (issue 11, finding 7)
    assert row["same_lep"]
    assert row["reasons"].startswith("shares 51% of a's and 37% of b's people within 3 min; same LEP (located: ")


def _threshold_case(road, pa, shared, pb, **kw):
    """a at km 10 (reaches km 7-13), b at km 16 (reaches km 13-19): only km 13 is shared."""
    pop = population([("Pa", km(8), pa, 1.0, 1), ("S", km(13), shared, 1.0, 1), ("Pb", km(18), pb, 1.0, 1)])
    a = make_bid("a", [("a-hub", "hub", km(10))], routes=kw.pop("routes_a", ("digital",)))
    b = make_bid("b", [("b-hub", "hub", km(16))], routes=kw.pop("routes_b", ("digital", "construction")),
                 lep=kw.pop("lep_b", ("E37000042",)))
    return _overlap(road, [a, b], pop, **kw).iloc[0]


def test_duplicate_flag_on_both_sides_of_the_threshold(road):
    assert DUPLICATE_SHARE == 0.25
    below = _threshold_case(road, 76, 24, 300)  # 24 % of a's people, 7 % of b's
    assert below["people_share_a"] == 0.24 and not below["duplicate"]
    at = _threshold_case(road, 75, 25, 300)  # exactly 25 % of a's people: a duplicate
    assert at["people_share_a"] == 0.25 and at["duplicate"]
    assert at["reasons"] == ("shares 25% of a's and 8% of b's people within 3 min; both offer digital; "
                             "duplicate provision: same routes for the same people; "
                             "same LEP (declared: Test): consider a single co-ordinated bid (hub and spoke)")
    b_side = _threshold_case(road, 300, 25, 75)  # 25 % of b's people only
    assert b_side["people_share_a"] == pytest.approx(25 / 325, abs=5e-5) and b_side["people_share_b"] == 0.25
    assert b_side["duplicate"]
    # the same people without a shared route are not duplicate provision
    no_route = _threshold_case(road, 75, 25, 300, routes_b=("construction",))
    assert no_route["shared_routes"] == [] and not no_route["duplicate"]
    assert "duplicate provision" not in no_route["reasons"] and "both offer" not in no_route["reasons"]
    # a stricter threshold given by the caller
    strict = _threshold_case(road, 75, 25, 300, duplicate_share=0.26)
    assert not strict["duplicate"]
    lenient = _threshold_case(road, 76, 24, 300, duplicate_share=0.24)
    assert lenient["duplicate"]


def test_same_lep_and_ca_reasons(road):
    other_lep = _threshold_case(road, 75, 25, 300, lep_b=("E37000001",))
    assert not other_lep["same_lep"] and "same LEP" not in other_lep["reasons"] and other_lep["duplicate"]
    same = _threshold_case(road, 76, 24, 300)
    assert same["same_lep"] and same["reasons"].endswith(
        "same LEP (declared: Test): consider a single co-ordinated bid (hub and spoke)")  # b's site is in Northants
    pop = population([("S", km(13), 10.0, 1.0, 1)])
    a = make_bid("a", [("a-hub", "hub", km(10))], lep=(), ca="E47000008")
    b = make_bid("b", [("b-hub", "hub", km(16))], lep=(), ca="E47000008")
    c = make_bid("c", [("c-hub", "hub", km(13))], lep=(), ca="E47000001")
    o = _overlap(road, [a, b, c], pop).set_index(["bid_a", "bid_b"])
    assert o.loc[("a", "b"), "same_ca"] and not o.loc[("a", "c"), "same_ca"] and not o.loc[("b", "c"), "same_ca"]
    # no LEP declared; a and c both lie in Rutland (one LEP), b in North Northamptonshire
    assert o.loc[("a", "c"), "same_lep"] and not o.loc[("a", "b"), "same_lep"] and not o.loc[("b", "c"), "same_lep"]
    assert "same LEP (located: Greater Lincolnshire)" in o.loc[("a", "c"), "reasons"]


def test_pairs_that_share_nothing_are_left_out(road):
    pop = population([("S", km(13), 10.0, 1.0, 1)])
    a = make_bid("a", [("a-hub", "hub", km(2))])
    b = make_bid("b", [("b-hub", "hub", km(28))])
    table = _overlap(road, [a, b], pop)
    assert len(table) == 0
    # an empty table keeps its columns and types: selecting the duplicates of nothing is still a table
    assert table["duplicate"].dtype == bool and list(table[table["duplicate"]].columns) == list(table.columns)
    checks = check_bids([a, b], road, minutes=[5], population=pop)
    dup = checks[checks["check"] == "duplicate_provision"]
    assert dup["status"].tolist() == ["pass", "pass"]


# ------------------------------------------------------------- hub and spoke
def test_hub_spoke_people_only_here_with_site_and_16_59(road):
    # hub at km 5, spoke at km 12; band 1: hub reaches km 4-6, spoke km 11-13, nothing shared
    def run(spoke_people):
        pop = population([("H", km(5), 2000.0 - spoke_people, 7.0, 1), ("S", km(12), spoke_people, 3.0, 2),
                          ("X", km(20), 1e6, 1e6, 3)])
        bid = make_bid("hs", [("hub", "hub", km(5)), ("spoke", "spoke", km(12))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return hub_spoke(road, bid, minutes=[1], population=pop).set_index("site_id")

    at = run(100.0)  # the spoke adds 100 of 2,000 people: 5 %
    assert at.loc["spoke", "people_only_here"] == 100 and at.loc["spoke", "share_only_here"] == 0.05
    assert at.loc["hub", "people_only_here"] == 1900 and at.loc["hub", "people_with_site"] == 1900
    assert at.loc["spoke", "people_with_site"] == 2000  # hub and spoke together
    assert at.loc["spoke", "people_16_59_alone"] == 3.0 and at.loc["hub", "people_16_59_alone"] == 7.0
    assert at.loc["(network)", "people_alone"] == 2000 and at.loc["(network)", "people_16_59_alone"] == 10.0
    assert at.loc["spoke", "to_hub_minutes"] == 7.0 and at.loc["spoke", "from_hub_minutes"] == 7.0
    below = run(99.0)
    assert below.loc["spoke", "share_only_here"] == 0.0495 and below.loc["spoke", "people_with_site"] == 2000
    assert "redundant" not in below.columns


def _world(monkeypatch, *, lep=None, oa=None, ca=None, providers=None):
    """Replace the boundary and provider loaders with hand-made layers (the public loaders, injected)."""
    layers = {"lep": lep, "oa": oa, "ca": ca}
    calls = []

    def load_areas(kind, vintage=None, *, data_dir=None):
        calls.append((kind, data_dir))
        return layers[kind]

    def load_providers(types=None, *, data_dir=None):
        calls.append(("providers", data_dir))
        return providers

    monkeypatch.setattr("iot_geo.sources.boundaries.load_areas", load_areas)
    # the area-evidence checks read the real evidence files by LSOA code (tested in test_evidence.py): not here
    import sys

    monkeypatch.setattr(sys.modules["iot_geo.checks"], "evidence_checks", lambda *a, **k: [])
    if providers is not None:
        monkeypatch.setattr("iot_geo.sources.providers.load_providers", load_providers)
    return calls


def _declared_only(monkeypatch):
    """Where a test hands a stand-in data directory, skip locating sites in the real LEPs (declared LEPs only)."""
    import sys

    declared = lambda bids, data_dir=None: {b.id: {} for b in bids}  # noqa: E731
    for where in ("iot_geo.overlap", "iot_geo.checks"):  # patched where it is looked up
        monkeypatch.setattr(sys.modules[where], "located_leps", declared)


def _layer(code, geom):
    return gpd.GeoDataFrame({"code": [code], "name": [f"{code} name"]}, geometry=[geom], crs=27700)


def test_hub_spoke_lep_share(road, monkeypatch):
    # the LEP holds km 0-20 of the road; the bid reaches km 4-6 (hub) and km 11-13 (spoke) in 1 minute
    _world(monkeypatch, lep=_layer("E37000042", box(X0 - 500, Y0 - 500, X0 + 20_500, Y0 + 500)))
    pop = population([(f"K{k}", km(k), 10.0 * (k + 1), 1.0, 1) for k in range(31)])
    bid = make_bid("hs", [("hub", "hub", km(5)), ("spoke", "spoke", km(12))], lep_names=["Test"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = hub_spoke(road, bid, minutes=[1], population=pop).set_index("site_id")
    net = h.loc["(network)"]
    reached = sum(10 * (k + 1) for k in (4, 5, 6, 11, 12, 13))  # 570
    in_lep = sum(10 * (k + 1) for k in range(21))  # 2,310
    assert net["people_alone"] == reached and net["area_people"] == in_lep
    assert net["area_share"] == round(reached / in_lep, 4) == 0.2468
    assert net["area"] == "Test LEP"


# -------------------------------------------------------------------- checks
@pytest.fixture(scope="module")
def grid():
    """21 x 21 km of two-way streets, a junction every km; 1 km a minute."""
    nodes = {i * 21 + j: (X0 + 1000 * j, Y0 + 1000 * i) for i in range(21) for j in range(21)}
    segs = [(i * 21 + j, i * 21 + j + 1, True, True) for i in range(21) for j in range(20)]
    segs += [(i * 21 + j, (i + 1) * 21 + j, True, True) for i in range(20) for j in range(21)]
    return km_per_minute(raw_network(nodes, segs))


def g(x_km, y_km, off=0.0):
    return Point(X0 + 1000 * x_km + off, Y0 + 1000 * y_km)


def _check_world(monkeypatch, u_people=500.0, partner_college=False):
    """A site at (10, 10) km; the LEP is the square 5-15 km; 3 minutes reach every junction 3 blocks away."""
    lep = _layer("E37000042", box(X0 + 5000, Y0 + 5000, X0 + 15_000, Y0 + 15_000))
    oa = _layer("OA1", box(X0 + 9500, Y0 + 9500, X0 + 10_500, Y0 + 15_500))
    providers = gpd.GeoDataFrame({"provider_id": ["urn:1", "urn:2", "urn:3"],
                                  "name": ["Other College", "Far College", "Tech UTC"],
                                  "provider_type": ["fe_college", "fe_college", "utc"]},
                                 geometry=[g(11, 10), g(2, 2), g(10, 11)], crs=27700)
    calls = _world(monkeypatch, lep=lep, oa=oa, providers=providers)
    # R (0 min) decile 1 in the OA; R2 (2 min) decile 2; R3 (3 min, at the cutoff) decile 3 in the OA;
    # U in the LEP and the OA but 4 minutes away; X outside the LEP
    pop = population([("R", g(10, 10), 300.0, 1.0, 1), ("R2", g(12, 10), 150.0, 1.0, 2),
                      ("R3", g(10, 13), 50.0, 1.0, 3), ("U", g(10, 14), u_people, 1.0, 1),
                      ("X", g(2, 2), 10_000.0, 1.0, 1)])
    partners = [Partner("Other College", "fe_college")] if partner_college else []
    bid = make_bid("c", [("c-hub", "hub", g(10, 10))], lep_names=["Test"], partners=partners)
    bid.calls = calls
    return bid, pop


def test_checks_coverage_providers_and_opportunity_areas(grid, monkeypatch):
    _declared_only(monkeypatch)
    assert not grid.frontier[[10 * 21 + j for j in range(5, 16)]].any()  # the middle is not the network's edge
    bid, pop = _check_world(monkeypatch)
    c = check_bids([bid], grid, minutes=[2, 3], population=pop, data_dir="dd").set_index("check")
    assert set(bid.calls) == {("lep", "dd"), ("oa", "dd"), ("providers", "dd")}
    assert COVERAGE_PASS == 0.5
    # reached: R + R2 + R3 = 500 of the LEP's 1,000 (R, R2, R3, U): exactly half passes
    assert c.loc["lep_coverage", "status"] == "pass"
    assert c.loc["lep_coverage", "evidence"] == "500 of 1,000 people in Test LEP (50.0%) within 3 min"
    # the catchment holds a college that is not in the bid (and a UTC); Far College is out of reach
    assert c.loc["existing_providers", "status"] == "warn"
    assert c.loc["existing_providers", "evidence"] == ("1 fe_college, 1 utc within 3 min; FE colleges not in the "
                                                       "bid: Other College")
    # in the OA and reached: R + R3 = 350; deciles 1-2 reached: R + R2 = 450 (U is not reached, R3 is decile 3)
    assert c.loc["opportunity_areas", "evidence"] == ("350 people reached live in an Opportunity Area; "
                                                      "450 in IMD deciles 1-2")
    assert c.loc["sites_in_area", "status"] == "pass"


def test_checks_coverage_just_below_and_partner_college(grid, monkeypatch):
    bid, pop = _check_world(monkeypatch, u_people=501.0, partner_college=True)
    c = check_bids([bid], grid, minutes=3, population=pop).set_index("check")  # one band, given as a number
    assert c.loc["lep_coverage", "status"] == "warn"  # 500 / 1,001 < 50 %
    assert c.loc["lep_coverage", "evidence"] == "500 of 1,001 people in Test LEP (50.0%) within 3 min"
    assert c.loc["existing_providers", "status"] == "pass"  # the college in reach is a partner
    assert c.loc["existing_providers", "evidence"] == "1 fe_college, 1 utc within 3 min"
    # without minutes the largest default band (60) is used: everything in the LEP is reached
    c60 = check_bids([bid], grid, population=pop).set_index("check")
    # X (10,000 people, reached but outside the LEP) is no part of the LEP's share: never over 100 %
    assert c60.loc["lep_coverage", "evidence"].startswith("1,001 of 1,001 people in Test LEP (100.0%) within 60 min")
    assert list(check_bids([bid], grid, minutes=[3], population=pop)["bid_id"]) == ["c"] * 7


def test_checks_lower_bound_when_the_network_is_smaller_than_the_lep(grid, monkeypatch):
    bid, pop = _check_world(monkeypatch)
    big = _layer("E37000042", box(X0 - 5000, Y0 - 5000, X0 + 25_000, Y0 + 25_000))  # beyond the streets
    _world(monkeypatch, lep=big, oa=_layer("OA1", box(0, 0, 1, 1)),
           providers=gpd.GeoDataFrame({"provider_id": [], "name": [], "provider_type": []}, geometry=[], crs=27700))
    c = check_bids([bid], grid, minutes=[3], population=pop).set_index("check")
    assert c.loc["lep_coverage", "status"] == "warn" and "lower bound" in c.loc["lep_coverage", "evidence"]
    assert c.loc["existing_providers", "evidence"] == "no providers within 3 min"


def test_sites_in_area_tolerance(monkeypatch):
    lep = _layer("E37000042", box(X0, Y0, X0 + 10_000, Y0 + 10_000))
    _world(monkeypatch, lep=lep)
    inside = make_bid("in", [("h", "hub", Point(X0 + 5000, Y0 + 5000))])
    at = make_bid("at", [("h2", "hub", Point(X0 + 11_000, Y0 + 5000))])  # 1,000 m outside: allowed
    out = make_bid("out", [("h3", "hub", Point(X0 + 11_001, Y0 + 5000)), ("h4", "spoke", Point(X0, Y0))])
    c = check_bids([inside, at, out]).set_index(["bid_id", "check"])
    assert c.loc[("in", "sites_in_area"), "status"] == "pass"
    assert c.loc[("at", "sites_in_area"), "status"] == "pass"
    assert c.loc[("out", "sites_in_area"), "status"] == "fail"
    assert c.loc[("out", "sites_in_area"), "evidence"] == "outside Test: h3"


def test_rule_checks_pass_warn_fail(monkeypatch):
    _world(monkeypatch, lep=_layer("E37000042", box(X0 - 1, Y0 - 1, X0 + 1, Y0 + 1)),
           ca=_layer("E47000008", box(X0 - 1, Y0 - 1, X0 + 1, Y0 + 1)))
    site = [("h", "hub", Point(X0, Y0))]
    bids = [
        make_bid("fe-led", site, routes=("digital", "construction", "hair_beauty")),  # 2/3 STEM, level 4-5
        make_bid("half", site, routes=("digital", "hair_beauty"), lead_type="employer",
                 partners=[Partner("A College", "fe_college")]),  # 1/2 STEM: not "most"
        make_bid("none", site, routes=("hair_beauty",), lead_type="university", lep=("E37000001",)),
        make_bid("ca", site, routes=("digital",), lep=(), ca="E47000008", lead_type="employer",
                 partners=[Partner("Firm", "employer")]),
    ]
    bids[3].levels = [3]
    c = check_bids(bids).set_index(["bid_id", "check"])
    assert c.loc[("fe-led", "stem_levels"), "status"] == "pass"
    assert c.loc[("fe-led", "stem_levels"), "evidence"] == "67% of 3 route(s) STEM; levels 3, 4, 5"
    assert c.loc[("half", "stem_levels"), "status"] == "warn"
    assert c.loc[("none", "stem_levels"), "status"] == "fail"
    assert c.loc[("ca", "stem_levels"), "status"] == "warn"  # all STEM but no level 4-5
    assert c.loc[("ca", "stem_levels"), "evidence"].endswith(": no level 4-5 provision")
    assert c.loc[("fe-led", "fe_college_involved"), "status"] == "pass"
    assert c.loc[("half", "fe_college_involved"), "evidence"] == "FE college partner(s): A College"
    assert c.loc[("none", "fe_college_involved"), "status"] == "warn"
    assert c.loc[("ca", "fe_college_involved"), "status"] == "warn"
    assert c.loc[("fe-led", "other_bids_same_lep"), "status"] == "warn"
    # every site is at the same point, inside the one LEP of this world: all four lie in the same LEP (located),
    # whatever they declare (issue 11, finding 7)
    assert c.loc[("fe-led", "other_bids_same_lep"), "evidence"].startswith(
        "3 other bid(s) in the same LEP (half: both declared and located, none: located, ca: located)")
    assert c.loc[("none", "other_bids_same_lep"), "status"] == "warn"
    assert c.loc[("ca", "other_bids_same_lep"), "status"] == "warn"
    assert c.loc[("ca", "sites_in_area"), "status"] == "pass"
    assert set(c.reset_index()["check"]) == {"sites_in_area", "fe_college_involved", "stem_levels",
                                             "other_bids_same_lep"}


# --------------------------------------------- documented defaults = constants
def _doc(obj) -> str:
    return obj.__doc__ or ""


def _readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_documented_speeds_equal_the_constants():
    from iot_geo import speeds

    doc = _doc(speeds)
    # the drive peak table: "motorway, motorway_link       80 (50 mph)  90 (56 mph)"
    rows = re.findall(r"^([a-z_]+)(?:, [a-z_]+)*\s+(\d+) \((\d+) mph\)\s+(\d+) \((\d+) mph\)\s*$", doc, re.M)
    assert len(rows) >= 7
    for cls, urban, urban_mph, rural, rural_mph in rows:
        assert speeds.PEAK_KMH[cls] == (float(urban), float(rural)), cls
        # the mph in brackets is the km/h figure converted and rounded
        assert round(float(urban) / speeds.MPH) == int(urban_mph), cls
        assert round(float(rural) / speeds.MPH) == int(rural_mph), cls
    readme = _readme()
    park = re.search(r"adds (\d+(?:\.\d+)?) minutes to park and walk", readme)
    assert park and float(park.group(1)) == speeds.PARK_MINUTES
    cycle = re.search(r"Cycling (\d+(?:\.\d+)?) km/h", readme)
    walk = re.search(r"walking (\d+(?:\.\d+)?) km/h", readme)
    assert cycle and float(cycle.group(1)) == speeds.CYCLE_KMH
    assert walk and float(walk.group(1)) == speeds.WALK_KMH
    access = re.search(r"with a walk at (\d+(?:\.\d+)?) km/h from the point", readme)
    assert access and float(access.group(1)) == speeds.ACCESS_KMH
    # the profiles built from them
    assert speeds.Speeds.for_mode("drive").park_minutes == speeds.PARK_MINUTES
    assert speeds.Speeds.for_mode("walk").access_kmh == speeds.ACCESS_KMH


def test_documented_tolerances_equal_the_constants():
    import importlib

    catchment, grids, hub_spoke, locate, overlap, search = (
        importlib.import_module(f"iot_geo.{m}") for m in ("catchment", "grids", "hub_spoke", "locate", "overlap", "search"))

    readme = _readme()
    snap = re.search(r"a site more than (\d+(?:\.\d+)?) km from any road is an error", readme)
    assert snap and float(snap.group(1)) * 1000 == search.SITE_SNAP_MAX_M
    off = re.search(r"widened by a walk of\s+up to (\d+) m off the road", readme)
    assert off and float(off.group(1)) == grids.ACCESS_MAX_M
    grid = re.search(r"a grid \((\d+) m for driving, (\d+) m cycling, (\d+) m walking\)", readme)
    assert grid and tuple(float(v) for v in grid.groups()) == tuple(catchment.RESOLUTION_M[m]
                                                                    for m in ("drive", "cycle", "walk"))
    dup = re.search(r"shared people are at least (\d+) %\s+of either bid's", readme)
    assert dup and float(dup.group(1)) / 100 == overlap.DUPLICATE_SHARE
    assert "default\n      :data:`DUPLICATE_SHARE`" in _doc(overlap)
    # every public default is the documented constant, not a copy of its value
    import inspect

    assert inspect.signature(overlap.overlap).parameters["duplicate_share"].default is overlap.DUPLICATE_SHARE
    assert inspect.signature(hub_spoke.suggest_spokes).parameters["min_gap"].default is hub_spoke.MIN_GAP_MINUTES
    assert inspect.signature(locate.locate).parameters["tolerance_m"].default is locate.COAST_TOLERANCE_M
    assert inspect.signature(catchment.catchments).parameters["access_max_m"].default is grids.ACCESS_MAX_M
    assert locate.COAST_TOLERANCE_M == 1000.0


def test_cli_duplicate_share_is_the_library_constant(monkeypatch):
    """The CLI's --duplicate-share help quotes the library's figure, and the default passes it through."""
    import importlib

    from typer.testing import CliRunner

    from iot_geo import cli

    ov = importlib.import_module("iot_geo.overlap")

    help_text = CliRunner().invoke(cli.app, ["overlap", "--help"], terminal_width=200).output
    m = re.search(r"default\s+(\d+(?:\.\d+)?)", re.sub(r"\s+", " ", help_text))
    assert m and float(m.group(1)) == ov.DUPLICATE_SHARE
    seen = {}

    def fake_overlap(*, catchments, duplicate_share, with_geometry):
        seen["share"] = duplicate_share
        raise SystemExit(0)

    monkeypatch.setattr(ov, "DUPLICATE_SHARE", 0.4)
    monkeypatch.setattr(ov, "overlap", fake_overlap)
    monkeypatch.setattr(ov, "bid_catchments", lambda nets, b, minutes: type("BC", (), {"bands": [10]})())
    monkeypatch.setattr(cli, "load_networks", lambda network, mode: [])
    CliRunner().invoke(cli.app, ["overlap", str(REPO / "data/examples/rutland.yaml")])
    assert seen == {"share": 0.4}


def test_hand_built_grid_times_are_exact(grid):
    """The premise of the checks above: on the grid, minutes are blocks (Manhattan distance)."""
    from iot_geo.catchment import times_to_points

    pts = gpd.GeoSeries([g(10, 10), g(12, 10), g(10, 13), g(10, 15), g(13, 12, 50)], crs=27700)
    t = times_to_points(grid, pts, gpd.GeoDataFrame({"site_id": ["c"]}, geometry=[g(10, 10)], crs=27700),
                        max_minutes=10)
    assert list(t["minutes"][:4]) == [0.0, 2.0, 3.0, 5.0]
    assert t["minutes"].iloc[4] == pytest.approx(5.05, abs=1e-9)  # 50 m past the junction 5 blocks away


def test_data_dir_reaches_the_population_loader(road, monkeypatch):
    """Every analysis reads the population from the data directory it is given."""
    _declared_only(monkeypatch)
    calls = []

    def fake(*, data_dir=None):
        calls.append(data_dir)
        return UNION_POP

    monkeypatch.setattr("iot_geo.sources.population.load_population", fake)
    _world(monkeypatch, lep=_layer("E37000042", box(X0, Y0 - 500, X0 + 20_000, Y0 + 500)))
    bid = make_bid("hs", [("hub", "hub", km(10)), ("spoke", "spoke", km(12))], lep_names=["Test"])
    other = make_bid("o", [("o-hub", "hub", km(11))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = overlap(road, [bid, other], minutes=[1], data_dir="d1")
        h = hub_spoke(road, bid, minutes=[1], data_dir="d2").set_index("site_id")
        p = people_reached(road, bid.sites, minutes=[1], data_dir="d3")
    assert calls == ["d1", "d2", "d3"]
    # o at km 11 reaches km 10-12 (4 + 8 + 16 = 28); the bid reaches km 9-13 (62): 28 shared
    assert o["people_both"].tolist() == [28.0] and o["people_share_a"].tolist() == [round(28 / 62, 4)]
    assert h.loc["(network)", "people_alone"] == 62 and p["people"].tolist() == [62.0]


def test_bid_catchments_union_far_centroids_and_table(road):
    from iot_geo.overlap import OVERLAP_COLUMNS, bid_catchments, overlap_areas

    # a has sites at km 4 and km 10; b at km 12; a far centroid (Z) lies 5 km off the road, beyond every network
    pop = population([("K3", km(3), 1.0, 1.0, 1), ("K9", km(9), 2.0, 1.0, 1), ("K11", km(11), 4.0, 1.0, 1),
                      ("Z", km(11, 5000), 1000.0, 1.0, 1), ("K13", km(13), 8.0, 1.0, 1)])
    a = make_bid("a", [("a1", "hub", km(4)), ("a2", "spoke", km(10))])
    b = make_bid("b", [("b1", "hub", km(12))])
    bc = bid_catchments(road, [a, b], minutes=[1], population=pop)
    assert bc.mode == "drive" and bc.bands == [1.0] and bc.resolution == 100.0
    np.testing.assert_array_equal(bc.minutes <= 1, [[1, 1, 1, 0, 0], [0, 0, 1, 0, 1]])
    assert (bc.minutes[bc.minutes <= 1] == 1.0).all() and np.isinf(bc.minutes[:, 3]).all()  # Z: never reached
    np.testing.assert_array_equal(bc.people, [1, 2, 4, 1000, 8])
    t = bc.table
    assert t.crs.to_epsg() == 27700 and list(t.index) == [0, 1] and t.geometry.name == "geometry"
    assert list(t["group_id"]) == ["a", "b"] and list(t["site_id"]) == ["", ""] and list(t["people"]) == [7, 12]
    o = overlap(catchments=bc)
    assert list(o.columns) == OVERLAP_COLUMNS and not isinstance(o, gpd.GeoDataFrame)
    with pytest.raises(InvalidInputError, match=r"go in catchments=\.\.\., not in the network's place"):
        overlap(bc)  # catchments are named as such, never taken for a network
    # the second site of a (km 10) shares km 11 with b: a union of both sites, not the first alone
    row = o.iloc[0]
    assert row["people_both"] == 4 and row["people_share_a"] == round(4 / 7, 4) and row["people_share_b"] == round(4 / 12, 4)
    # shared land is counted on the grid: cells both reach, 100 m x 100 m each
    ids_a = bc.cells[0][0][bc.cells[0][1] <= 1]
    ids_b = bc.cells[1][0][bc.cells[1][1] <= 1]
    both = len(np.intersect1d(ids_a, ids_b))
    assert both > 0 and row["area_both_km2"] == round(both * 0.01, 4)
    assert row["area_share_a"] == round(both / len(ids_a), 4) and row["area_share_b"] == round(both / len(ids_b), 4)
    geo = overlap_areas(road, [a, b], minutes=[1], population=pop, duplicate_share=0.6)
    assert list(geo["people_both"]) == [4.0] and list(geo["duplicate"]) == [False] and geo.crs.to_epsg() == 27700
    with pytest.raises(TypeError, match="needs the bids"):
        overlap(road)


def test_overlap_of_land_without_people_and_of_a_bid_with_nobody(road):
    # a at km 10 and b at km 12 share land within 1 minute, but the only people live at km 9 (a's alone)
    pop = population([("K9", km(9), 5.0, 1.0, 1)])
    a = make_bid("a", [("a1", "hub", km(10))])
    b = make_bid("b", [("b1", "hub", km(12))])
    row = _overlap(road, [a, b], pop, minutes=[1]).iloc[0]
    assert row["people_both"] == 0 and row["people_share_a"] == 0.0 and row["people_share_b"] == 0.0
    assert row["area_both_km2"] > 0 and not row["duplicate"]
    assert row["reasons"] == ("both offer digital; same LEP (both declared and located: Test, Greater Lincolnshire): "
                              "consider a single co-ordinated bid (hub and spoke)")


def test_bids_on_networks_of_different_resolutions_are_refused(road):
    from iot_geo.overlap import bid_catchments

    nodes = {i: (X0 + 1000 * i, Y0 + 20_000) for i in range(5)}
    walk = km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(4)]), mode="walk")
    a = make_bid("a", [("a1", "hub", km(10))])
    b = make_bid("b", [("b1", "hub", Point(X0 + 2000, Y0 + 20_000))])
    with pytest.raises(Exception, match=r"different grid resolutions \(\[25\.0, 100\.0\] m\); load networks of one mode"):
        bid_catchments([road, walk], [a, b], minutes=[1], population=population([("K9", km(9), 5.0, 1.0, 1)]))


def test_large_shared_area_in_km2(grid):
    """Areas of 100 km2 and more keep four decimals of km2 (a cell is 0.01 km2)."""
    from iot_geo.overlap import bid_catchments

    pop = population([("C", g(10, 10), 10.0, 1.0, 1)])
    a = make_bid("a", [("a1", "hub", g(9, 10))])
    b = make_bid("b", [("b1", "hub", g(11, 10))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bc = bid_catchments(grid, [a, b], minutes=[12], population=pop)
        row = overlap(catchments=bc).iloc[0]
    ids = [c[0][c[1] <= 12] for c in bc.cells]
    both = len(np.intersect1d(*ids))
    assert both * 0.01 > 100 and row["area_both_km2"] == round(both * 0.01, 4)


def test_hub_times_follow_one_way_streets_and_lower_bound_flags(monkeypatch):
    # 0 -- 1 -- 2 two-way, 1 km each; 2 -> 3 one-way (1 km); 3 -> 0 one-way back along a 5 km loop road
    nodes = {0: (X0, Y0), 1: (X0 + 1000, Y0), 2: (X0 + 2000, Y0), 3: (X0 + 3000, Y0)}
    loop = [(X0 + 3000, Y0 + 1000), (X0, Y0 + 1000)]  # 1 + 3 + 1 km
    net = km_per_minute(raw_network(nodes, [(0, 1, True, True), (1, 2, True, True), (2, 3, True, False),
                                            (3, 0, True, False, loop)]))
    pop = population([("P0", Point(X0, Y0), 10.0, 6.0, 1), ("P3", Point(X0 + 3000, Y0), 30.0, 18.0, 2)])
    _world(monkeypatch, lep=_layer("E37000042", box(X0 - 100, Y0 - 100, X0 + 3100, Y0 + 1100)))
    bid = make_bid("ow", [("hub", "hub", Point(X0, Y0)), ("spoke", "spoke", Point(X0 + 3000, Y0))],
                   lep_names=["Test"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = hub_spoke(net, bid, minutes=[2], population=pop).set_index("site_id")
    # hub -> spoke: 0-1-2-3 = 3 minutes; spoke -> hub: only the loop, 5 minutes
    assert h.loc["spoke", "from_hub_minutes"] == 3.0 and h.loc["spoke", "to_hub_minutes"] == 5.0
    assert h.loc["hub", "to_hub_minutes"] == 0.0 and h.loc["hub", "from_hub_minutes"] == 0.0
    assert list(h["role"]) == ["hub", "spoke", "network"] and list(h["bid_id"]) == ["ow"] * 3
    assert list(h["name"]) == ["hub", "spoke", "ow"] and list(h["minutes"]) == [2, 2, 2]
    net_row = h.loc["(network)"]
    assert net_row["people_alone"] == 40 and net_row["area_people"] == 40 and net_row["area_share"] == 1.0
    assert net_row["area_share_is_lower_bound"] == bool(net_row["truncated"])  # the network covers the LEP
    assert net_row["share_only_here"] == 1.0 and net_row["people_only_here"] == net_row["people_alone"]
    assert np.isnan(net_row["to_hub_minutes"]) and np.isnan(net_row["from_hub_minutes"])
    assert pd.isna(h.loc["hub", "area_people"])  # only the network row carries the area
    # an LEP bigger than the loaded network: the share is a lower bound
    _world(monkeypatch, lep=_layer("E37000042", box(X0 - 5000, Y0 - 5000, X0 + 8000, Y0 + 5000)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        big = hub_spoke(net, bid, minutes=[2], population=pop).set_index("site_id").loc["(network)"]
    assert big["area_share_is_lower_bound"]


def test_suggest_spokes_filters_candidates_and_reports(road):
    from iot_geo.hub_spoke import suggest_spokes

    pop = population([(f"K{k}", km(k), 10.0 * (k + 1), 1.0, 1) for k in range(31)])
    hub = gpd.GeoDataFrame({"site_id": ["hub"]}, geometry=[km(5)], crs=27700)
    cands = gpd.GeoDataFrame({"site_id": ["hub", "next-door", "far-off", "c9", "c20", "c27"]},
                             geometry=[km(15), km(5, 40), km(12, 5000), km(9), km(20), km(27)], crs=27700)
    out = suggest_spokes(road, hub, cands, k=2, minutes=1, min_gap=0, population=pop)
    # the hub's own id, a site within 50 m of the hub and one 5 km from any road are not candidates
    assert out.attrs["candidates"] == 3
    # 1 minute: km 26-28 (270 + 280 + 290 = 840) and km 19-21 (200 + 210 + 220 = 630) beat km 8-10 (270)
    assert list(out["site_id"]) == ["c27", "c20"] and list(out["people_only_here"]) == [840, 630]
    assert list(out["people_alone"]) == [840.0, 630.0]
    assert out.attrs["hub_people"] == 50 + 60 + 70 and out.attrs["objective"] == 180 + 840 + 630
    assert out.attrs["minutes"] == 1.0 and out.attrs["greedy_objective"] == out.attrs["objective"]
    assert out.attrs["greedy_choice"] == ["c27", "c20"] and out.attrs["greedy_gap"] == 0
    for bad in (0, 2.5):
        with pytest.raises(Exception, match="choose at least one spoke"):
            suggest_spokes(road, hub, cands, k=bad, minutes=1, min_gap=0, population=pop)
    with pytest.raises(Exception, match="exactly one hub"):
        suggest_spokes(road, cands.iloc[3:5], cands, k=1, minutes=1, min_gap=0, population=pop)
    # spokes that overlap: each adds only what no other chosen site reaches
    near = gpd.GeoDataFrame({"site_id": ["c7", "c8"]}, geometry=[km(7), km(8)], crs=27700)
    both = suggest_spokes(road, hub, near, k=2, minutes=1, min_gap=0, population=pop).set_index("site_id")
    # hub km 4-6; c7 km 6-8; c8 km 7-9: c7 adds nothing of its own, c8 adds km 9 (100)
    assert both.loc["c7", "people_only_here"] == 0 and both.loc["c8", "people_only_here"] == 100
    assert both.loc["c7", "people_alone"] == 70 + 80 + 90


def test_exact_spoke_choice_when_nothing_is_left_to_cover():
    from iot_geo.covering import maximal_covering

    cover = np.array([[1, 0], [0, 1]], dtype=bool)
    chosen, obj, solver = maximal_covering(cover, np.array([3.0, 4.0]), np.array([True, True]), 1)
    assert chosen == [0] and obj == 7.0 and solver == "trivial"


def test_lep_share_counts_only_the_leps_people(road, monkeypatch):
    # the LEP holds km 0-10; the bid at km 10 reaches km 7-13 in 3 minutes: km 11-13 lie outside the LEP
    _world(monkeypatch, lep=_layer("E37000042", box(X0 - 500, Y0 - 500, X0 + 10_500, Y0 + 500)))
    pop = population([(f"K{k}", km(k), 10.0, 1.0, 1) for k in range(31)])
    bid = make_bid("b", [("hub", "hub", km(10))], lep_names=["Test"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = hub_spoke(road, bid, minutes=[3], population=pop).set_index("site_id").loc["(network)"]
    assert net["people_alone"] == 70 and net["area_people"] == 110  # km 0-10
    assert net["area_share"] == round(40 / 110, 4)  # km 7-10 of the LEP's 11 areas, not 70 / 110


def test_sites_in_area_reads_the_bids_vintage_and_every_area(monkeypatch):
    _declared_only(monkeypatch)
    calls = []
    layers = {"lep": _layer("E37000042", box(X0, Y0, X0 + 10_000, Y0 + 10_000)),
              "ca": gpd.GeoDataFrame({"code": ["E47000001", "E47000008"], "name": ["Other CA", "Test CA"]},
                                     geometry=[box(X0 + 50_000, Y0, X0 + 60_000, Y0 + 10_000),
                                               box(X0 + 20_000, Y0, X0 + 30_000, Y0 + 10_000)], crs=27700)}

    def load_areas(kind, vintage=None, *, data_dir=None):
        calls.append((kind, vintage, data_dir))
        return layers[kind]

    monkeypatch.setattr("iot_geo.sources.boundaries.load_areas", load_areas)
    # in the LEP and the CA (the CA's own polygon, not the other CA's)
    ok = make_bid("ok", [("a", "hub", Point(X0 + 5000, Y0 + 5000)), ("b", "spoke", Point(X0 + 25_000, Y0 + 5000))],
                  ca="E47000008", lep_names=["Test"])
    ok.vintage = {"lep": 2017, "ca": 2021}
    bad = make_bid("bad", [("c", "hub", Point(X0 + 55_000, Y0 + 5000)), ("d", "spoke", Point(X0 + 40_000, Y0))],
                   lep=(), ca="E47000008")
    c = check_bids([ok, bad], data_dir="dd").set_index(["bid_id", "check"])
    assert c.loc[("ok", "sites_in_area"), "evidence"] == "all 2 site(s) in Test / Test CA"
    assert c.loc[("bad", "sites_in_area"), "evidence"] == "outside Test CA: c, d"
    assert ("lep", 2017, "dd") in calls and ("ca", 2021, "dd") in calls and ("ca", None, "dd") in calls
    lvl = make_bid("lvl", [("e", "hub", Point(X0 + 5000, Y0 + 5000))], routes=("digital",))
    lvl.levels = [3, 4]
    none = make_bid("none", [("f", "hub", Point(X0 + 5000, Y0 + 5000))], routes=("digital",))
    none.levels = []
    c = check_bids([lvl, none]).set_index(["bid_id", "check"])
    assert c.loc[("lvl", "stem_levels"), "status"] == "pass"  # level 4 counts as higher level
    assert c.loc[("none", "stem_levels"), "evidence"] == ("100% of 1 route(s) STEM; levels none: "
                                                          "no level 4-5 provision")
    assert c.loc[("lvl", "fe_college_involved"), "evidence"] == "led by an FE college (Lead College)"
    emp = make_bid("emp", [("g", "hub", Point(X0 + 5000, Y0 + 5000))], lead_type="employer",
                   partners=[Partner("X College", "fe_college"), Partner("Y College", "fe_college")])
    uni = make_bid("uni", [("h", "hub", Point(X0 + 5000, Y0 + 5000))], lead_type="university")
    c = check_bids([emp, uni]).set_index(["bid_id", "check"])
    assert c.loc[("emp", "fe_college_involved"), "evidence"] == "FE college partner(s): X College, Y College"
    assert c.loc[("uni", "fe_college_involved"), "evidence"] == (
        "no FE college leads or partners (lead is a university); the competition asks for FE involvement")
    assert c.loc[("emp", "other_bids_same_lep"), "evidence"] == (
        "1 other bid(s) in the same LEP (uni: declared): consider one co-ordinated bid with hub and spoke delivery")
    assert c.loc[("uni", "other_bids_same_lep"), "evidence"].startswith("1 other bid(s) in the same LEP (emp: declared)")


def test_overlap_details_users_read(road):
    from iot_geo.overlap import OVERLAP_COLUMNS, overlap_areas

    # "a" reaches nobody; b reaches the one person at km 11, shared with c
    pop = population([("K11", km(11), 1.0, 1.0, 1)])
    a = make_bid("a", [("a1", "hub", km(8.5))], routes=("digital", "construction", "hair_beauty"))
    b = make_bid("b", [("b1", "hub", km(10))], routes=("construction", "digital"))
    c = make_bid("c", [("c1", "hub", km(12))], routes=("digital",), lep=("E37000001",))
    o = _overlap(road, [a, b, c], pop, minutes=[1.5]).set_index(["bid_a", "bid_b"])
    assert list(o["minutes"].unique()) == [1.5] and set(o["mode"]) == {"drive"}
    ab = o.loc[("a", "b")]
    assert ab["people_both"] == 0 and ab["people_share_a"] == 0.0 and ab["people_share_b"] == 0.0
    assert ab["shared_routes"] == ["construction", "digital"]
    assert ab["reasons"] == ("both offer construction, digital; same LEP (both declared and located: Test, "
                             "Greater Lincolnshire): consider a single co-ordinated bid (hub and spoke)")
    bc = o.loc[("b", "c")]
    assert bc["people_both"] == 1.0 and bc["reasons"].startswith("shares 100% of b's and 100% of c's people within 1.5 min")
    # nothing shared at all: an empty table that still has every column
    far = make_bid("far", [("f1", "hub", km(25))])
    empty = _overlap(road, [a, far], pop, minutes=[1])
    assert len(empty) == 0 and list(empty.columns) == OVERLAP_COLUMNS
    geo = overlap_areas(road, [a, far], minutes=[1], population=pop)
    assert len(geo) == 0 and list(geo.columns) == [*OVERLAP_COLUMNS, "geometry"]


def test_overlap_area_keeps_four_decimals_of_small_cells():
    """On foot the grid is 25 m: a cell is 0.000625 km2, rounded to four decimals of km2."""
    from iot_geo.overlap import bid_catchments

    nodes = {i: (X0 + 1000 * i, Y0) for i in range(8)}
    walk = km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(7)]), mode="walk")
    pop = population([("K3", km(3), 1.0, 1.0, 1)])
    a = make_bid("a", [("a1", "hub", km(2))])
    b = make_bid("b", [("b1", "hub", km(4))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bc = bid_catchments(walk, [a, b], minutes=[1.3], population=pop)
        row = overlap(catchments=bc).iloc[0]
    assert bc.resolution == 25.0
    both = len(np.intersect1d(*[cid[t <= 1.3] for cid, t in bc.cells]))
    assert row["area_both_km2"] == round(both * 0.000625, 4) and row["area_both_km2"] != round(both * 0.000625, 5)


def test_check_evidence_texts_and_edges(grid, monkeypatch):
    _declared_only(monkeypatch)
    bid, pop = _check_world(monkeypatch)
    # a second site at (10, 5) reaches V (decile unknown, 40 people) 1 block away: the union of both sites counts
    bid.sites = pd.concat([bid.sites, gpd.GeoDataFrame(
        {"bid_id": ["c"], "site_id": ["c-spoke"], "name": ["c-spoke"], "role": ["spoke"], "provider_id": [""]},
        geometry=[g(10, 5)], crs=27700)], ignore_index=True)
    bid.sites = gpd.GeoDataFrame(bid.sites, geometry="geometry", crs=27700)
    pop = pd.concat([pop, population([("V", g(10, 6), 40.0, 1.0, None)])], ignore_index=True)
    pop = gpd.GeoDataFrame(pop, geometry="geometry", crs=27700)
    seen = []

    def fake(*, data_dir=None):
        seen.append(data_dir)
        return pop

    monkeypatch.setattr("iot_geo.sources.population.load_population", fake)
    c = check_bids([bid], grid, minutes=[3], data_dir="dd").set_index("check")
    assert seen == ["dd"]
    assert c.loc["lep_coverage", "evidence"] == "540 of 1,040 people in Test LEP (51.9%) within 3 min"
    # V's decile is unknown: not counted among deciles 1-2
    assert c.loc["opportunity_areas", "evidence"].endswith("; 450 in IMD deciles 1-2")
    # a 12-minute catchment reaches the edge of the streets: a lower bound, whatever the share
    c12 = check_bids([bid], grid, minutes=[12], population=pop).set_index("check")
    assert c12.loc["lep_coverage", "status"] == "warn" and c12.loc["lep_coverage", "evidence"].endswith(
        "; the loaded network does not cover the whole area, so this is a lower bound")
    # an LEP where nobody lives: 0 %, never a pass
    _world(monkeypatch, lep=_layer("E37000042", box(X0 + 9000, Y0 + 9000, X0 + 9500, Y0 + 9500)),
           oa=_layer("OA1", box(0, 0, 1, 1)),
           providers=gpd.GeoDataFrame({"provider_id": [f"urn:{i}" for i in range(6)],
                                       "name": [f"College {i}" for i in range(6)], "provider_type": "fe_college"},
                                      geometry=[g(10, 10 + 0.1 * i) for i in range(6)], crs=27700))
    c0 = check_bids([bid], grid, minutes=[3], population=pop).set_index("check")
    assert c0.loc["lep_coverage", "evidence"] == "0 of 0 people in Test LEP (0.0%) within 3 min"
    assert c0.loc["lep_coverage", "status"] == "warn"
    assert c0.loc["existing_providers", "evidence"] == ("6 fe_college within 3 min; FE colleges not in the bid: "
                                                        "College 0, College 1, College 2, College 3, College 4")
    with pytest.raises(Exception, match="bid 'c': no loaded network covers all its sites"):
        far = make_bid("c", [("x", "hub", g(10, 60))])
        check_bids([far], grid, minutes=[3], population=pop)


def test_rule_check_texts(monkeypatch):
    _world(monkeypatch, lep=_layer("E37000042", box(X0 - 1, Y0 - 1, X0 + 1, Y0 + 1)))
    site = [("h", "hub", Point(X0, Y0))]
    bids = [make_bid("a", site, routes=("hair_beauty",)), make_bid("b", site, routes=("digital", "hair_beauty")),
            make_bid("c", site), make_bid("d", site, lep=("E37000001",))]
    c = check_bids(bids).set_index(["bid_id", "check"])
    assert c.loc[("a", "stem_levels"), "evidence"] == "0% of 1 route(s) STEM; levels 3, 4, 5: no STEM route"
    assert c.loc[("b", "stem_levels"), "evidence"] == "50% of 2 route(s) STEM; levels 3, 4, 5"
    # all four sites are at one point in Rutland: d declares another LEP but is located in the same one
    assert c.loc[("a", "other_bids_same_lep"), "evidence"].startswith(
        "3 other bid(s) in the same LEP (b: both declared and located, c: both declared and located, d: located): ")
    assert c.loc[("d", "other_bids_same_lep"), "evidence"].startswith(
        "3 other bid(s) in the same LEP (a: located, b: located, c: located)")
    assert list(check_bids([]).columns) == ["bid_id", "check", "status", "evidence"]


def test_population_tables_as_users_give_them(road):
    """Whole numbers with gaps (Int64), no 16-59 column, a decile below range: the same counts, no crash."""
    site = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[km(10)], crs=27700)
    ints = CENTROIDS.copy()
    ints["people"] = pd.array([None if np.isnan(v) else int(v) for v in CENTROIDS["people"]], dtype="Int64")
    ints["people_16_59"] = pd.array([None if np.isnan(v) else int(v) for v in CENTROIDS["people_16_59"]],
                                    dtype="Int64")
    c = catchments(road, site, minutes=[2, 3], population=ints, warn_truncated=False).set_index("minutes")
    for band in (2, 3):
        _check_band(c.loc[band], band)
    bare = CENTROIDS.drop(columns=["people_16_59", "imd_decile"])
    b = catchments(road, site, minutes=[3], population=bare, warn_truncated=False).iloc[0]
    assert b["people"] == EXPECTED[3]["people"] and b["people_16_59"] == 0.0 and b["lsoas"] == 7
    assert [b[col] for col in IMD] == [0.0] * 10
    odd = CENTROIDS.copy()
    odd["imd_decile"] = pd.array([-1, 10, 2, 5, 5, 3, 4, None, None], dtype="Int64")  # A: -1
    o = catchments(road, site, minutes=[3], population=odd, warn_truncated=False).iloc[0]
    assert [o[col] for col in IMD] == [0, 30, 0, 0, 54000, 0, 0, 0, 0, 200]  # A is in no decile column


def test_people_reached_is_one_union_whatever_the_groups():
    # a slow road (10 km/h: 6 minutes a km), one-way from km 0 towards km 30
    nodes = {i: (X0 + 1000 * i, Y0) for i in range(31)}
    from iot_geo.network import TravelNetwork
    from iot_geo.speeds import Speeds

    slow = TravelNetwork.from_raw(raw_network(nodes, [(i, i + 1, True, False) for i in range(30)]), mode="drive",
                                  speeds=Speeds("drive", constant_kmh=10.0, park_minutes=0.0, access_kmh=6.0))
    pop = population([(f"K{k}", km(k), 1.0, 1.0, 1) for k in range(31)])
    sites = gpd.GeoDataFrame({"site_id": ["s0", "s20"], "group_id": ["x", "y"]}, geometry=[km(0), km(20)],
                             crs=27700)
    # from the sites: s0 reaches km 0-15 in 90 minutes, s20 km 20-30; to the sites: s20 is reached from km 5-20
    frm = people_reached(slow, sites, minutes=[90], direction="from_site", population=pop).iloc[0]
    assert frm["people"] == 16 + 11 and frm["lsoas"] == 27
    to = people_reached(slow, sites, minutes=[90], population=pop).iloc[0]
    assert to["people"] == 1 + 16  # km 0 (s0 itself) and km 5-20


def test_large_catchment_area_in_km2(grid):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = catchments(grid, gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[g(10, 10)], crs=27700), minutes=[12],
                       population=population([("C", g(10, 10), 1.0, 1.0, 1)]))
    area = c.geometry.iloc[0].area / 1e6
    assert area > 100 and c["area_km2"].iloc[0] == round(area, 4)


def test_hub_spoke_share_is_exact_where_the_network_covers_the_lep(grid, monkeypatch):
    calls = _world(monkeypatch, lep=_layer("E37000042", box(X0 + 5000, Y0 + 5000, X0 + 15_000, Y0 + 15_000)))
    pop = population([("R", g(10, 10), 30.0, 1.0, 1), ("U", g(10, 14), 70.0, 1.0, 1)])
    bid = make_bid("h", [("hub", "hub", g(10, 10)), ("spoke", "spoke", g(12, 10))], lep_names=["Test"])
    h = hub_spoke(grid, bid, minutes=[2], population=pop, data_dir="dd").set_index("site_id").loc["(network)"]
    assert ("lep", "dd") in calls
    assert not h["truncated"] and not h["area_share_is_lower_bound"]  # streets all round, LEP inside them
    assert h["area_people"] == 100 and h["area_share"] == 0.3


def test_check_bids_takes_its_band_as_every_analysis_does(road):
    """The largest band is the checks' band; no band at all is an error (it silently became 60 before)."""
    pop = population([("S", km(13), 10.0, 1.0, 1)])
    a = make_bid("a", [("a-hub", "hub", km(2))])
    with pytest.raises(InvalidInputError, match="no minutes given"):
        check_bids([a], road, minutes=[], population=pop)
    c = check_bids([a], road, minutes=[5, 2], population=pop)
    assert "within 5 min" in " ".join(c["evidence"])
