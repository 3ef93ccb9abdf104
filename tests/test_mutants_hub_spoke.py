"""hub_spoke and suggest_spokes: hand-built answers for what the mutation run found unpinned (issue 18).

A straight two-way road at 1 km a minute; small areas sit on it, so every time is a distance in km.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, km_per_minute, raw_network
from shapely.geometry import Point

from iot_geo import InvalidInputError, load_areas
from iot_geo.bids import Bid
from iot_geo.hub_spoke import hub_spoke, suggest_spokes
from iot_geo.search import SITE_SNAP_MAX_M
from iot_geo.sources.providers import load_providers


def at(km, off=0.0):
    return Point(X0 + 1000 * km, Y0 + off)


@pytest.fixture(scope="module")
def road():
    nodes = {i: (X0 + 1000 * i, Y0) for i in range(31)}
    return km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(30)]))


def areas(people_at):
    """Small areas on the road: {km: people}."""
    kms = sorted(people_at)
    return gpd.GeoDataFrame({"lsoa_code": [f"T{k}" for k in kms], "people": [float(people_at[k]) for k in kms],
                             "people_16_59": [people_at[k] - 1.0 for k in kms],
                             "imd_decile": pd.array([5] * len(kms), dtype="Int64")},
                            geometry=[at(k) for k in kms], crs=27700)


def bid(sites, lep=(), lep_names=(), ca=None, ca_name=None, vintage=None):
    rows = [{"bid_id": "b", "site_id": sid, "name": sid.title(), "role": role, "provider_id": "", "geometry": at(km)}
            for sid, role, km in sites]
    return Bid("b", "The Bid", "Lead College", "fe_college", [], list(lep), list(lep_names), ca, ca_name,
               ["digital"], [4], gpd.GeoDataFrame(rows, geometry="geometry", crs=27700), vintage=vintage or {})


def _hs(road, b, pop, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hub_spoke(road, b, population=pop, **kw)


def test_spoke_listed_first_hub_times_rounding_and_shares(road):
    # spoke at km 2, hub at km 5.2345 (listed second); areas at km 1..7 with 1, 2, 4, ... people
    pop = areas({k: 2 ** (k - 1) for k in range(1, 8)})
    b = bid([("spoke", "spoke", 2), ("hub", "hub", 5.2345)], lep=["E37000001"], lep_names=["Nowhere"])
    t = _hs(road, b, pop, minutes=[1.5, 2]).set_index(["minutes", "site_id"])
    assert t.index.get_level_values("minutes").tolist() == [1.5] * 3 + [2] * 3
    # within 1.5 min: spoke reaches km 1, 2, 3 (1 + 2 + 4 = 7); hub km 4, 5, 6 (8 + 16 + 32 = 56)
    s, h, n = t.loc[(1.5, "spoke")], t.loc[(1.5, "hub")], t.loc[(1.5, "(network)")]
    assert (s["people_alone"], s["people_only_here"], h["people_alone"]) == (7, 7, 56)
    assert s["people_with_site"] == 63 and h["people_with_site"] == 56  # with the hub, not with the first site
    assert s["share_only_here"] == round(7 / 63, 4) == 0.1111
    assert s["to_hub_minutes"] == s["from_hub_minutes"] == 3.23  # 3.2345 km, rounded to 2 places
    assert h["to_hub_minutes"] == 0.0 and np.isnan(n["to_hub_minutes"]) and np.isnan(n["from_hub_minutes"])
    # within 2 min both reach km 3 and 4 (4 + 8): neither counts them as its own
    s2, h2 = t.loc[(2, "spoke")], t.loc[(2, "hub")]
    assert (s2["people_alone"], s2["people_only_here"]) == (1 + 2 + 4 + 8, 1 + 2 + 4)
    assert (h2["people_alone"], h2["people_only_here"]) == (8 + 16 + 32 + 64, 16 + 32 + 64)
    assert t.loc[(2, "(network)"), "people_alone"] == 127 and t.loc[(2, "(network)"), "people_16_59_alone"] == 127 - 7
    assert s2["people_16_59_alone"] == 15 - 4  # one fewer 16-59 than people in each of its four areas
    assert h["role"] == "hub" and n["role"] == "network" and n["name"] == "The Bid"
    assert list(t.reset_index().columns) == [  # as documented in hub_spoke's Returns
        "minutes", "site_id", "bid_id", "name", "role", "people_alone", "people_16_59_alone", "people_only_here",
        "share_only_here", "people_with_site", "to_hub_minutes", "from_hub_minutes", "truncated", "area_people",
        "area_share", "area_share_is_lower_bound", "area"]


def test_whole_bands_are_labelled_as_integers(road):
    pop = areas({1: 10, 2: 20})
    t = _hs(road, bid([("hub", "hub", 1)], lep=["E37000001"], lep_names=["Nowhere"]), pop, minutes=[1, 2])
    assert t["minutes"].tolist() == [1, 1, 2, 2] and all(isinstance(v, int) for v in t["minutes"])
    one = t[t["role"] == "hub"]
    assert one["people_only_here"].tolist() == one["people_alone"].tolist() == [30, 30]  # a lone site: all its own


def test_area_people_share_and_lower_bound_for_a_2017_lep_pair(road, data_dir):
    """Two 2017 LEPs (one gone by 2021): the area is their union on the 2017 boundaries."""
    leps = load_areas("lep", 2017)
    gcgp = leps.loc[leps["code"] == "E37000042", "geometry"].iloc[0]  # Greater Cambridge and Greater Peterborough
    inside = gcgp.representative_point()
    # areas on the road, plus 1,000 people far away inside GCGP, off the network
    pop = pd.concat([areas({10: 10, 11: 20}), gpd.GeoDataFrame(
        {"lsoa_code": ["G1"], "people": [1000.0], "people_16_59": [1.0], "imd_decile": pd.array([5], dtype="Int64")},
        geometry=[inside], crs=27700)], ignore_index=True)
    on_road_in_area = sum(p for k, p in ((10, 10), (11, 20)) if gcgp.contains(at(k)))
    b = bid([("hub", "hub", 10)], lep=["E37000042", "E37000001"], lep_names=["GCGP", "Black Country"],
            vintage={"lep": 2017})
    net_row = _hs(road, b, pop, minutes=[5]).iloc[-1]
    assert net_row["area"] == "GCGP + Black Country LEP"
    assert net_row["area_people"] == 1000 + on_road_in_area
    assert str(_hs(road, b, pop, minutes=[5])["area_people"].dtype) == "Int64"
    assert net_row["area_share"] == round(on_road_in_area / (1000 + on_road_in_area), 4)
    # a 30 km road covers neither LEP: the share is only a lower bound
    assert net_row["area_share_is_lower_bound"]


def test_a_combined_authority_bid_counts_the_ca_s_people(road):
    cas = load_areas("ca", 2017)
    gm = cas.loc[cas["code"] == "E47000001", "geometry"].iloc[0]  # Greater Manchester
    pop = pd.concat([areas({1: 10}), gpd.GeoDataFrame(
        {"lsoa_code": ["M1", "M2"], "people": [300.0, 5.0], "people_16_59": [1.0, 1.0],
         "imd_decile": pd.array([5, 5], dtype="Int64")},
        geometry=[gm.representative_point(), Point(X0 - 90_000, Y0)], crs=27700)], ignore_index=True)
    b = bid([("hub", "hub", 1)], ca="E47000001", ca_name="Greater Manchester", vintage={"ca": 2017})
    net_row = _hs(road, b, pop, minutes=[5]).iloc[-1]
    assert net_row["area"] == "Greater Manchester CA" and net_row["area_people"] == 300
    assert net_row["area_share"] == 0.0


def bng(**pts):
    return gpd.GeoDataFrame({"site_id": list(pts)}, geometry=[at(*v) if isinstance(v, tuple) else at(v)
                                                              for v in pts.values()], crs=27700)


def _suggest(road, pop, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return suggest_spokes(road, bng(hub=20), population=pop, **kw)


@pytest.fixture(scope="module")
def myopic():
    """Areas of one person at km 1..6 and ten people at the hub (km 20).

    Within 1.6 min, S0 (km 3.5) reaches km 2-5 (4 people), S1 (km 2) km 1-3 and S2 (km 5) km 4-6 (3 each):
    greedy takes S0 and then one of S1/S2 (5 people), the best pair is S1 + S2 (6).
    """
    return areas({1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 20: 10})


def test_suggest_spokes_beats_greedy_and_reports_it(road, myopic):
    out = _suggest(road, myopic, candidates=bng(S0=3.5, S1=2, S2=5), k=2, minutes=1.6, min_gap=0)
    assert out["site_id"].tolist() == ["S1", "S2"]  # equal people_only_here: by site_id
    assert out["people_only_here"].tolist() == [3, 3] and out["people_alone"].tolist() == [3, 3]
    assert str(out["people_only_here"].dtype) == str(out["people_alone"].dtype) == "int64"
    assert out.crs.to_epsg() == 27700 and "index" not in out.columns
    a = out.attrs
    assert (a["objective"], a["hub_people"], a["greedy_objective"]) == (16, 10, 15)
    assert a["greedy_gap"] == round(1 / 16, 6) and a["greedy_choice"][0] == "S0"
    assert (a["candidates"], a["excluded_near_hub"], a["min_gap"], a["minutes"]) == (3, 0, 0.0, 1.6)
    assert "HiGHS" in a["solver"]


def test_candidates_near_the_hub_too_close_together_or_off_the_network(road, myopic):
    cands = bng(S0=3.5, S1=2, S2=5, S1b=2.3, H=19.5, AT=(20, 30.0), FAR=(10, SITE_SNAP_MAX_M + 500))
    out = _suggest(road, myopic, candidates=cands, k=2, minutes=1.6, min_gap=1.0)
    a = out.attrs
    # H is 0.5 min from the hub (excluded); AT 30 m from it and FAR off the network are no candidates at all
    assert (a["candidates"], a["excluded_near_hub"]) == (4, 1)
    # S1b is 0.3 min from S1: never both; the best pair is still S1 + S2
    assert sorted(out["site_id"]) == ["S1", "S2"] and a["objective"] == 16
    with pytest.raises(InvalidInputError) as e:
        _suggest(road, myopic, candidates=cands, k=5, minutes=1.6, min_gap=1.0)
    assert str(e.value) == ("k=5 but the pool holds 4 candidate site(s) on the network (1 more lie within 1 min of "
                            "the hub): lower k, add --candidates or lower the gap")
    with pytest.raises(InvalidInputError) as e:
        _suggest(road, myopic, candidates=bng(S1=2), k=2, minutes=1.6, min_gap=1.0)
    assert str(e.value) == "k=2 but the pool holds 1 candidate site(s) on the network: lower k, add --candidates or lower the gap"
    # the only candidate within the gap of the hub; no candidate on the network at all
    with pytest.raises(InvalidInputError) as e:
        _suggest(road, myopic, candidates=bng(H=19.5), k=1, minutes=1.6, min_gap=1.0)
    assert str(e.value) == ("k=1 but the pool holds 0 candidate site(s) on the network (1 more lie within 1 min of "
                            "the hub): lower k, add --candidates or lower the gap")
    with pytest.raises(InvalidInputError) as e:
        _suggest(road, myopic, candidates=bng(FAR=(10, SITE_SNAP_MAX_M + 500)), k=1, minutes=1.6, min_gap=1.0)
    assert str(e.value) == "k=1 but the pool holds 0 candidate site(s) on the network: lower k, add --candidates or lower the gap"
    # errors in the input name the argument they are about
    with pytest.raises(InvalidInputError, match=r"^hub: expected a"):
        suggest_spokes(road, 42, candidates=bng(S1=2), k=1, minutes=1.6, population=myopic)
    with pytest.raises(InvalidInputError, match=r"^candidates: expected a"):
        suggest_spokes(road, bng(hub=20), candidates=42, k=1, minutes=1.6, population=myopic)
    with pytest.raises(InvalidInputError, match="min_gap=-1"):
        _suggest(road, myopic, candidates=bng(S1=2), k=1, minutes=1.6, min_gap=-1)


def test_providers_on_the_network_join_the_candidates(data_dir):
    # a road 30 km long along northing 309,000 past Oakham: Harington School (an FE college) is 107 m from it
    x0, y0 = 470_000.0, 309_000.0
    net = km_per_minute(raw_network({i: (x0 + 1000 * i, y0) for i in range(31)},
                                    [(i, i + 1, True, True) for i in range(30)]))
    kinds = ["fe_college", "sixth_form_college", "utc", "university"]
    prov = load_providers(kinds, data_dir=data_dir)
    hub = Point(x0 + 20_000, y0)
    road_line = Point(x0, y0).union(Point(x0 + 30_000, y0)).convex_hull
    near = prov[(prov.geometry.distance(road_line) <= SITE_SNAP_MAX_M) & (prov.geometry.distance(hub) > 50.0)]
    assert "Harington School" in set(near["name"])
    pop = gpd.GeoDataFrame({"lsoa_code": ["A", "B"], "people": [5.0, 7.0], "people_16_59": [1.0, 1.0],
                            "imd_decile": pd.array([5, 5], dtype="Int64")},
                           geometry=[Point(x0 + 2000, y0), hub], crs=27700)
    cands = gpd.GeoDataFrame({"site_id": ["S1", "S2"]}, geometry=[Point(x0 + 2000, y0), Point(x0 + 5000, y0)],
                             crs=27700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hub_gdf = gpd.GeoDataFrame({"site_id": ["hub"]}, geometry=[hub], crs=27700)
        both = suggest_spokes(net, hub_gdf, cands, k=1, minutes=1, min_gap=0, with_providers=True, population=pop)
        own = suggest_spokes(net, hub_gdf, cands, k=1, minutes=1, min_gap=0, population=pop)
        default = suggest_spokes(net, hub_gdf, k=1, minutes=1, min_gap=0, population=pop)
    assert both.attrs["candidates"] == 2 + near["provider_id"].nunique()
    assert own.attrs["candidates"] == 2  # candidates given: no providers unless asked
    assert default.attrs["candidates"] == near["provider_id"].nunique()  # none given: the providers
    assert both["site_id"].tolist() == own["site_id"].tolist() == ["S1"] and both["people_alone"].tolist() == [5]
