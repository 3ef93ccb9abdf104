"""Same LEP judged from where the sites are as well as from what the bids declare (issue 11, finding 7).

A straight road along northing 300,000 crosses from Harborough (Leicester and
Leicestershire LEP, E37000021, west of easting 482,500) into Rutland (Greater
Cambridge and Greater Peterborough LEP in 2017, E37000042). Four bids, one site
each, 2017 boundaries:

===== ======= ============ ==========
bid   easting located LEP  declared
===== ======= ============ ==========
a     488,000 E37000042    E37000042
b     489,000 E37000042    E37000021
c     479,000 E37000021    E37000042
d     487,000 E37000042    E37000042
===== ======= ============ ==========

so a-b and b-d are the same LEP by location only, a-c and c-d by declaration
only, a-d by both, and b-c by neither.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import km_per_minute, raw_network
from shapely.geometry import Point

from iot_geo import locate
from iot_geo.bids import Bid
from iot_geo.checks import check_bids
from iot_geo.overlap import located_leps, overlap

W0, N0 = 475_000.0, 300_000.0  # the road runs from W0 for 20 km east
GCGP, LL = "E37000042", "E37000021"
SITES = {"a": (488_000.0, GCGP), "b": (489_000.0, LL), "c": (479_000.0, GCGP), "d": (487_000.0, GCGP)}
EXPECTED = {("a", "b"): "located", ("a", "c"): "declared", ("a", "d"): "both", ("b", "c"): None,
            ("b", "d"): "located", ("c", "d"): "declared"}


@pytest.fixture(scope="module")
def road():
    nodes = {i: (W0 + 1000 * i, N0) for i in range(21)}
    return km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(20)]))


@pytest.fixture(scope="module")
def people():
    km = np.arange(21)
    return gpd.GeoDataFrame({"lsoa_code": [f"T{k:03d}" for k in km], "people": 100.0 + km,
                             "people_16_59": 60.0 + km, "imd_decile": pd.array((km % 10) + 1, dtype="Int64")},
                            geometry=[Point(W0 + 1000 * k, N0) for k in km], crs=27700)


def bid(bid_id: str) -> Bid:
    x, lep = SITES[bid_id]
    sites = gpd.GeoDataFrame([{"bid_id": bid_id, "site_id": f"{bid_id}-hub", "name": bid_id, "role": "hub",
                               "provider_id": "", "geometry": Point(x, N0)}], geometry="geometry", crs=27700)
    b = Bid(bid_id, bid_id, "Lead College", "fe_college", [], [lep], ["Declared LEP"], None, None,
            [f"route-{bid_id}"], [3, 4, 5], sites)
    b.vintage = {"lep": 2017, "ca": 2017}
    return b


def test_the_sites_lie_where_the_table_says():
    pts = gpd.GeoSeries([Point(x, N0) for x, _ in SITES.values()], crs=27700)
    got = locate(pts, vintage=2017)["lep_codes"].tolist()
    assert got == [[GCGP], [GCGP], [LL], [GCGP]]
    assert located_leps([bid(k) for k in SITES]) == {"a": {GCGP: "Greater Cambridge and Greater Peterborough"},
                                                     "b": {GCGP: "Greater Cambridge and Greater Peterborough"},
                                                     "c": {LL: "Leicester and Leicestershire"},
                                                     "d": {GCGP: "Greater Cambridge and Greater Peterborough"}}


def test_overlap_says_whether_the_same_lep_was_declared_located_or_both(road, people):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = overlap(road, [bid(k) for k in SITES], minutes=[10], population=people)
    assert len(o) == 6  # every pair's catchments meet within 10 km
    for r in o.itertuples():
        basis = EXPECTED[(r.bid_a, r.bid_b)]
        assert r.same_lep == (basis is not None), (r.bid_a, r.bid_b)
        if basis is None:
            assert "same LEP" not in r.reasons
            continue
        reason = next(x for x in r.reasons.split("; ") if x.startswith("same LEP"))
        assert "single co-ordinated bid" in reason
        if basis == "both":
            assert reason.startswith("same LEP (both declared and located: Greater Cambridge")
        elif basis == "located":
            assert reason.startswith("same LEP (located: Greater Cambridge and Greater Peterborough)")
        else:
            assert reason.startswith("same LEP (declared: Declared LEP)")


def test_checks_name_each_other_bid_and_the_basis():
    c = check_bids([bid(k) for k in SITES])
    ev = c[c["check"] == "other_bids_same_lep"].set_index("bid_id")
    assert ev.loc["a", "status"] == "warn"
    assert "3 other bid(s) in the same LEP (b: located, c: declared, d: both declared and located)" in ev.loc["a",
                                                                                                             "evidence"]
    assert "2 other bid(s) in the same LEP (a: located, d: located)" in ev.loc["b", "evidence"]
    assert "2 other bid(s) in the same LEP (a: declared, d: declared)" in ev.loc["c", "evidence"]
    assert "consider one co-ordinated bid" in ev.loc["c", "evidence"]
