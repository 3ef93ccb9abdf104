"""Mutant-killing tests for iot_geo.catchment (issue 18): times to points, the truncation warning, picking a
network, LSOA times, on the straight test road (1 km a minute, 100 m a minute on foot), worked out by hand."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from helpers import X0, Y0, people_along_road, straight_road
from shapely.geometry import Point

from iot_geo import InvalidInputError
from iot_geo.catchment import (
    as_sites,
    catchments,
    lsoa_times,
    people_reached,
    pick_network,
    times_to_points,
    travel_times,
    warn_truncation,
)


def sites(**where: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": list(where)},
                            geometry=[Point(X0 + 1000 * k, Y0 + off) for k, off in where.values()], crs=27700)


def points(*where: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"n": range(len(where))}, geometry=[Point(X0 + 1000 * k, Y0 + off) for k, off in where],
                            crs=27700, index=[f"p{i}" for i in range(len(where))])


def test_times_to_points_by_hand():
    road = straight_road()
    pts = points((12, 0), (17, 0), (15, 100), (3, 0), (12, 900), (19, 100))
    t = times_to_points(road, pts, sites(a=(10, 0), b=(20, 0)), max_minutes=6.0)
    assert list(t.columns) == ["a", "b", "nearest_site", "minutes", "snap_m", "outside_network"]
    assert t.index.tolist() == list(pts.index)
    # km 12: a in 2, b in 8 (beyond 6: NaN); km 17: b in 3; km 15 100 m off: 5 + 1 from either (a tie: the first)
    assert t["a"].tolist()[:3] == pytest.approx([2.0, np.nan, 6.0], nan_ok=True)
    assert t["b"].tolist()[:3] == pytest.approx([np.nan, 3.0, 6.0], nan_ok=True)
    assert t["nearest_site"].tolist() == ["a", "b", "a", None, None, "b"]
    assert t["minutes"].tolist() == pytest.approx([2.0, 3.0, 6.0, np.nan, np.nan, 2.0], nan_ok=True)
    assert t["snap_m"].tolist() == pytest.approx([0.0, 0.0, 100.0, 0.0, 900.0, 100.0])
    # 900 m off the road is outside its coverage: never timed; km 3 is 7 minutes away
    assert t["outside_network"].tolist() == [False, False, False, False, True, False]
    assert np.isnan(t.loc["p3", "a"]) and np.isnan(t.loc["p4", "a"])
    near = times_to_points(road, pts, sites(a=(10, 0), b=(20, 0)), max_minutes=6.0, snap_max_m=80.0)
    assert np.isnan(near.loc["p5", "minutes"]) and np.isnan(near.loc["p2", "minutes"])
    assert near.loc["p0", "minutes"] == pytest.approx(2.0)
    fro = times_to_points(road, pts, sites(a=(10, 0), b=(20, 0)), max_minutes=6.0, direction="from_site")
    assert fro["minutes"].tolist() == pytest.approx(t["minutes"].tolist(), nan_ok=True)  # a two-way road


def test_times_to_points_reuses_a_search_and_its_cutoff():
    road = straight_road()
    s = as_sites(sites(a=(10, 0)))
    tt = travel_times(road, s, max_minutes=3.0, direction="from_site")
    t = times_to_points(road, points((12, 0), (14, 0)), s, max_minutes=60.0, times=tt)
    assert t["minutes"].tolist() == pytest.approx([2.0, np.nan], nan_ok=True)


def test_warn_truncation_names_five_and_counts_all():
    table = pd.DataFrame({"site_id": ["s1", "", "s3", "s4", "s5", "s6", "s7"],
                          "group_id": ["g1", "g2", "g3", "g4", "g5", "g6", "g7"],
                          "minutes": [30, 45, 30, 30, 30, 30, 30],
                          "truncated": [True, True, False, True, True, True, True]})
    with pytest.warns(UserWarning) as w:
        warn_truncation(table)
    assert str(w[0].message) == ("6 catchment(s) reach the edge of the loaded network (s1 30 min, g2 45 min, "
                                 "s4 30 min, s5 30 min, s6 30 min, ...): their figures are lower bounds")
    with pytest.warns(UserWarning) as w:
        warn_truncation(table.head(2))
    assert str(w[0].message) == ("2 catchment(s) reach the edge of the loaded network (s1 30 min, g2 45 min): "
                                 "their figures are lower bounds")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_truncation(table[~table["truncated"]])


def test_catchments_warn_about_truncation_unless_told_not_to():
    road = straight_road()
    pop = people_along_road()
    with pytest.warns(UserWarning, match="reach the edge of the loaded network"):
        t = catchments(road, sites(a=(29, 0)), minutes=(3,), population=pop)
    assert t["truncated"].tolist() == [True]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert catchments(road, sites(a=(29, 0)), minutes=(3,), population=pop,
                          warn_truncated=False)["truncated"].tolist() == [True]


def test_pick_network_first_that_covers_every_site():
    road = straight_road()
    far = straight_road()
    s = as_sites(sites(a=(10, 0), b=(12, 50)))
    assert pick_network(road, s, label="bid X") is road
    assert pick_network([road, far], s, label="bid X") is road
    off = as_sites(sites(a=(10, 0), b=(12, 5000)))
    with pytest.raises(InvalidInputError) as e:
        pick_network([road, far], off, label="bid X")
    assert str(e.value) == ("bid X: no loaded network covers all its sites (the nearest leaves a site 5,000 m from "
                            "any usable road); load a network that covers the bid's area")
    with pytest.raises(InvalidInputError) as e:
        pick_network([], s, label="bid X")
    assert str(e.value) == "no network given"


def test_lsoa_times_by_hand():
    road = straight_road()
    pop = people_along_road()
    t = lsoa_times(road, sites(a=(10, 0)), max_minutes=2.0, population=pop)
    assert list(t.columns) == ["lsoa_code", "people", "people_16_59", "imd_decile", "nearest_site", "minutes",
                               "snap_m"]
    assert t["lsoa_code"].tolist() == pop["lsoa_code"].tolist()
    reached = t.dropna(subset=["minutes"])
    assert reached["lsoa_code"].tolist() == ["T008", "T009", "T010", "T011", "T012"]
    assert reached["minutes"].tolist() == pytest.approx([2.0, 1.0, 0.0, 1.0, 2.0])
    assert (reached["nearest_site"] == "a").all() and t["nearest_site"].isna().sum() == 31 - 5


def test_exactly_five_truncated_catchments_are_all_named():
    table = pd.DataFrame({"site_id": [f"s{i}" for i in range(5)], "group_id": ["g"] * 5, "minutes": [30] * 5,
                          "truncated": [True] * 5})
    with pytest.warns(UserWarning) as w:
        warn_truncation(table)
    assert str(w[0].message) == ("5 catchment(s) reach the edge of the loaded network (s0 30 min, s1 30 min, s2 30 min, "
                                 "s3 30 min, s4 30 min): their figures are lower bounds")


def test_people_reached_counts_people_outside_the_network_apart():
    road = straight_road()
    pop = gpd.GeoDataFrame({"lsoa_code": ["on", "off"], "people": [100.0, 40.0], "people_16_59": [60.0, 20.0],
                            "imd_decile": pd.array([1, 2], dtype="Int64")},
                           geometry=[Point(X0 + 11_000, Y0), Point(X0 + 11_000, Y0 - 150)], crs=27700)
    x = np.array([X0 + 11_000.0])
    assert not road.covered(x, np.array([Y0 - 150.0]))[0] and road.covered(x, np.array([Y0]))[0]
    # the second centroid would be 1 + 1.5 minutes away through the road, but it lies outside the network
    got = people_reached(road, sites(a=(10, 0)), minutes=(5,), population=pop)
    assert got["people"].tolist() == [100] and got["people_outside_network"].tolist() == [40]
    assert got["outside_network_share"].tolist() == [round(40 / 140, 4)]


def test_site_argument_with_a_postcode():
    from iot_geo.catchment import parse_site_arg

    with pytest.raises(InvalidInputError) as e:
        parse_site_arg("=LE15 6RP")
    assert str(e.value) == "--site '=LE15 6RP': the site needs a name before '='"  # before any postcode lookup


def test_catchment_detail_names_each_unit():
    from iot_geo.catchment import catchment_detail

    road = straight_road()
    pop = people_along_road()
    s = sites(a=(10, 0), b=(20, 0))
    assert catchment_detail(road, s, minutes=(2,), population=pop).units == ["a", "b"]
    s["group_id"] = ["g1", "g1"]
    assert catchment_detail(road, s, minutes=(2,), union=True, population=pop).units == ["g1"]
