"""Mutant-killing known answers for iot_geo.people (issue 18): people counted per band, worked out by hand."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from iot_geo.people import PopArrays, people_in_reach, population_near, population_or_load, whole_count


def test_population_or_load_keeps_a_table_given_and_loads_from_data_dir(data_dir, monkeypatch):
    given = gpd.GeoDataFrame({"people": [1.0]}, geometry=gpd.points_from_xy([0], [0]), crs=27700)
    assert population_or_load(None, given) is given
    monkeypatch.setenv("IOT_GEO_DATA", "/nonexistent/iot-geo-data")  # the data_dir passed must be the one read
    pop = population_or_load(data_dir, None)
    assert len(pop) > 30000 and {"lsoa_code", "people"} <= set(pop.columns)


def test_population_near_is_the_network_box_widened_by_reach_inclusive():
    net = SimpleNamespace(bounds=(1000.0, 2000.0, 3000.0, 5000.0), reach_m=100.0)
    # inside on each edge (exactly at the widened box), then just outside each edge
    xs = [900, 3100, 2000, 2000, 899, 3101, 2000, 2000, 2000]
    ys = [3000, 3000, 1900, 5100, 3000, 3000, 1899, 5101, 3000]
    pop = gpd.GeoDataFrame({"i": range(9)}, geometry=gpd.points_from_xy(xs, ys), crs=27700)
    assert population_near(net, pop)["i"].tolist() == [0, 1, 2, 3, 8]


def test_pop_arrays_fill_unknowns_with_zero_and_clip_deciles():
    pop = gpd.GeoDataFrame({"people": pd.array([10.0, np.nan, 5.0, 7.0], dtype="float64"),
                            "people_16_59": pd.array([6.0, np.nan, 3.0, np.nan], dtype="float64"),
                            "imd_decile": pd.array([3, pd.NA, 12, -2], dtype="Int64")},
                           geometry=gpd.points_from_xy([0, 1, 2, 3], [0, 0, 0, 0]))
    a = PopArrays.of(pop)
    assert a.people.tolist() == [10.0, 0.0, 5.0, 7.0]
    assert a.people_16_59.tolist() == [6.0, 0.0, 3.0, 0.0]
    assert a.known.tolist() == [True, False, True, True]
    assert a.decile.tolist() == [3, 0, 10, 0]
    assert a.decile.dtype == np.int64
    bare = PopArrays.of(gpd.GeoDataFrame({"people": [4.0, 2.0]}, geometry=gpd.points_from_xy([0, 1], [0, 0])))
    assert bare.people_16_59.tolist() == [0.0, 0.0] and bare.decile.tolist() == [0, 0]
    assert bare.known.tolist() == [True, True]
    # people as nullable integers (a table a user built): still numbers, unknown where missing
    ints = gpd.GeoDataFrame({"people": pd.array([10, pd.NA], dtype="Int64"),
                             "people_16_59": pd.array([pd.NA, 4], dtype="Int64")}, geometry=gpd.points_from_xy([0, 1], [0, 0]))
    a = PopArrays.of(ints)
    assert a.people.tolist() == [10.0, 0.0] and a.known.tolist() == [True, False]
    assert a.people_16_59.tolist() == [0.0, 4.0] and a.people_16_59.dtype == np.float64


def test_people_in_reach_by_hand():
    # five centroids: 100 (decile 1, 2 min), 200 (decile 2, 5 min: exactly the band), 400 (decile 2, 6 min),
    # unknown people (Wales, 1 min), 50.4 (decile 10, 0 min)
    pop = gpd.GeoDataFrame({"people": [100.0, 200.0, 400.0, np.nan, 50.4],
                            "people_16_59": [60.0, 120.0, 240.0, np.nan, 30.4],
                            "imd_decile": pd.array([1, 2, 2, pd.NA, 10], dtype="Int64")},
                           geometry=gpd.points_from_xy(range(5), [0] * 5))
    a = PopArrays.of(pop)
    minutes = np.array([2.0, 5.0, 6.0, 1.0, 0.0])
    row = people_in_reach(a, minutes, 5)
    assert row["people"] == 350  # 100 + 200 + 50.4, rounded
    assert row["people_16_59"] == 210  # 60 + 120 + 30.4 = 210.4
    assert row["people_unknown"] == 1
    assert row["lsoas"] == 4
    assert row["people_outside_network"] == 0 and row["outside_network_share"] == 0.0
    assert [row[f"imd_{d}"] for d in range(1, 11)] == [100, 200, 0, 0, 0, 0, 0, 0, 0, 50]
    assert all(type(row[k]) is int for k in ("people", "people_16_59", "people_unknown", "lsoas", "imd_1"))
    # the 400 people would be reached in 4 minutes through a road fragment outside the network: apart, not reached
    outside = np.array([np.inf, np.inf, 4.0, np.inf, np.inf])
    row = people_in_reach(a, minutes, 5, outside)
    assert row["people"] == 350 and row["people_outside_network"] == 400
    assert row["outside_network_share"] == round(400 / 750.4, 4) == 0.5330
    assert people_in_reach(a, minutes, 5, np.array([np.inf, np.inf, 5.5, np.inf, np.inf]))["people_outside_network"] == 0
    # nobody reached, nobody outside: share 0, no division by zero
    none = people_in_reach(a, np.full(5, np.inf), 30, np.full(5, np.inf))
    assert none["people"] == 0 and none["outside_network_share"] == 0.0 and none["lsoas"] == 0
    # only people outside: share 1
    assert people_in_reach(a, np.full(5, np.inf), 30, outside)["outside_network_share"] == 1.0


@pytest.mark.parametrize(("value", "count"), [(1234.5001, 1235), (2.6, 3), (2.4, 2), (0.5, 0), (1.5, 2), (7.0, 7)])
def test_whole_count_rounds_to_nearest(value, count):
    assert whole_count(value) == count and type(whole_count(value)) is int
