"""check_bids: the evidence checks, duplicate provision for a pair, and the lone bid (issue 18, mutation testing).

A straight road 1 km a minute with one small area per km; three of them carry real LSOA codes so the
evidence checks read the real IoD and population files: E01013653 lies in England's most deprived 20% on
the Education, Skills and Training domain, E01013660 does not. The figures the checks print are taken from
:func:`iot_geo.evidence.lsoa_evidence` of the LSOAs the test knows each bid reaches; the test pins which
LSOAs those are, the pass/warn rule and the arithmetic (share against England, the 2026 change).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, km_per_minute, raw_network
from shapely.geometry import Point

from iot_geo.bids import Bid
from iot_geo.checks import check_bids
from iot_geo.evidence import lsoa_evidence
from iot_geo.overlap import overlap

DEPRIVED, NOT_DEPRIVED = "E01013653", "E01013660"
DOMAIN = "England's most deprived 20%: Education, Skills and Training domain"


@pytest.fixture(scope="module")
def road():
    nodes = {i: (X0 + 1000 * i, Y0) for i in range(31)}
    return km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(30)]))


@pytest.fixture(scope="module")
def people():
    km = np.arange(31)
    codes = [f"T{k:03d}" for k in km]  # not English LSOA codes: the evidence ignores them
    codes[5], codes[20] = DEPRIVED, NOT_DEPRIVED
    return gpd.GeoDataFrame({"lsoa_code": codes, "people": 100.0 * (km + 1), "people_16_59": 60.0 * (km + 1),
                             "imd_decile": pd.array((km % 10) + 1, dtype="Int64")},
                            geometry=[Point(X0 + 1000 * k, Y0) for k in km], crs=27700)


def make_bid(bid_id, km, routes=("digital",), lep=("E37000042",)):
    sites = gpd.GeoDataFrame([{"bid_id": bid_id, "site_id": f"{bid_id}-hub", "name": bid_id, "role": "hub",
                               "provider_id": "", "geometry": Point(X0 + 1000 * km, Y0)}], geometry="geometry",
                             crs=27700)
    return Bid(bid_id, bid_id, "Lead College", "fe_college", [], list(lep), ["Test LEP"] * len(lep), None, None,
               list(routes), [3, 4, 5], sites)


def _checks(road, bids, people, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_bids(bids, road, population=people, **kw)


def _figures(codes, data_dir):
    ev = lsoa_evidence(codes, data_dir=data_dir)
    return dict(zip(ev["measure"], ev["value"].astype(float), strict=True)), \
        dict(zip(ev["measure"], ev["england"].astype(float), strict=True))


def test_evidence_checks_pass_warn_and_no_learners(road, people, monkeypatch, tmp_path, data_dir):
    # every file is read from data_dir, none from $IOT_GEO_DATA
    monkeypatch.setenv("IOT_GEO_DATA", str(tmp_path))
    bids = [make_bid("dep", 5), make_bid("rich", 20, lep=("E37000001",)), make_bid("none", 28, lep=("E37000002",))]
    # one bid at a time (several bids that share nothing: the test below)
    c = pd.concat([_checks(road, [b], people, minutes=[0.5], data_dir=data_dir) for b in bids]
                  ).set_index(["bid_id", "check"])
    # within 0.5 min each bid reaches only the area at its own km
    val, eng = _figures([DEPRIVED], data_dir)
    share, england = val[f"Share of people in {DOMAIN}"], eng[f"Share of people in {DOMAIN}"]
    assert share == 100.0 and 15 < england < 25  # the deprived LSOA against England's own (about 20%)
    row = c.loc[("dep", "social_mobility_reach")]
    assert row["status"] == "pass"
    assert row["evidence"] == (f"{val[f'People in {DOMAIN}']:,.0f} people (100.0%) within 0.5 min live in England's "
                               f"most deprived 20% on the IoD 2019 Education, Skills and Training domain; England "
                               f"{england:.1f}% (the IoD stands in for the Social Mobility Index, which is not open "
                               "data here)")
    now, later = val["People aged 16-18"], val["Forecast: people aged 16-18 in 2026"]
    row = c.loc[("dep", "learner_pipeline")]
    assert row["status"] == "pass" and now > 0
    assert row["evidence"] == (f"{now:,.0f} people aged 16-18 within 0.5 min (mid-2019, apportioned from districts "
                               f"by LSOA people); {later:,.0f} in 2026 ({(later - now) / now:+.1%}) by ageing the "
                               "mid-2019 cohorts, no migration or mortality")
    val, _ = _figures([NOT_DEPRIVED], data_dir)
    assert val[f"Share of people in {DOMAIN}"] == 0.0
    row = c.loc[("rich", "social_mobility_reach")]
    assert row["status"] == "warn" and row["evidence"].startswith("0 people (0.0%) within 0.5 min")
    assert row["evidence"].endswith(": below England, so the catchment reaches fewer people where social "
                                    "mobility is low than the average")
    assert c.loc[("rich", "learner_pipeline"), "status"] == "pass"
    assert f"{val['People aged 16-18']:,.0f} people aged 16-18 within 0.5 min" in c.loc[("rich", "learner_pipeline"),
                                                                                         "evidence"]
    # no English LSOA: no learners and no share
    assert c.loc[("none", "learner_pipeline")].tolist() == ["warn", "no English LSOA within 0.5 min: no learner figures"]
    assert c.loc[("none", "social_mobility_reach"), "status"] == "warn"
    assert c.loc[("dep", "other_bids_same_lep")].tolist() == ["pass", "no other bid in the same LEP"]


def test_bids_that_share_nothing_pass_duplicate_provision(road, people):
    c = _checks(road, [make_bid("a", 5), make_bid("b", 20)], people, minutes=[0.5])
    dup = c[c["check"] == "duplicate_provision"]
    assert dup["status"].tolist() == ["pass", "pass"]
    assert dup["evidence"].iloc[0] == ("no other bid shares 25% of either's people within 0.5 min with a route in "
                                       "common")


def test_duplicate_provision_names_each_other_bid_and_passes_the_rest(road, people, monkeypatch, tmp_path, data_dir):
    monkeypatch.setenv("IOT_GEO_DATA", str(tmp_path))  # overlap's LEP lookups read data_dir too
    routes = ("digital", "engineering")
    a, b = make_bid("a", 10, routes=routes), make_bid("b", 11, routes=routes)
    a2 = make_bid("a2", 10, routes=("digital",))  # same place as a: duplicates both a and b
    far = make_bid("far", 25)
    c = _checks(road, [a, b, a2, far], people, minutes=[1, 2], data_dir=data_dir)
    dup = c[c["check"] == "duplicate_provision"].set_index("bid_id")
    assert dup["status"].to_dict() == {"a": "warn", "b": "warn", "a2": "warn", "far": "pass"}
    # a reaches km 8..12 (people 900..1300: 5,500); b km 9..13 (6,000); both km 9..12 (4,600)
    assert dup.loc["a", "evidence"] == (  # pairs in the order of the overlap table (by bid id)
        "duplicates provision with 2 other bid(s): a2 (100% of this bid's people and 100% of a2's shared within 2 min; "
        "both offer digital); b (84% of this bid's people and 77% of b's shared within 2 min; both offer digital, "
        "engineering) (threshold 25% of either bid's people and a shared route)")
    assert dup.loc["far", "evidence"] == ("no other bid shares 25% of either's people within 2 min with a route in "
                                          "common")
    # the same verdict from an overlap table made beforehand
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = overlap(road, [a, b, a2, far], minutes=[1, 2], population=people, data_dir=data_dir)
    again = _checks(road, [a, b, a2, far], people, minutes=[1, 2], overlap_table=table, data_dir=data_dir)
    pd.testing.assert_frame_equal(again, c)
    alone = _checks(road, [a], people, minutes=[2], data_dir=data_dir)
    assert "duplicate_provision" not in set(alone["check"])  # no other bid: nothing to compare


def test_missing_evidence_files_leave_two_warnings_saying_so(road, people, tmp_path, data_dir):
    for sub in ("boundaries", "population", "providers"):  # everything but the evidence folder
        (tmp_path / sub).symlink_to(data_dir / sub)
    c = _checks(road, [make_bid("dep", 5)], people, minutes=[0.5], data_dir=tmp_path).set_index("check")
    for check in ("social_mobility_reach", "learner_pipeline"):
        assert c.loc[check, "bid_id"] == "dep" and c.loc[check, "status"] == "warn"
        assert c.loc[check, "evidence"].startswith("not checked: ") and "not found" in c.loc[check, "evidence"]
