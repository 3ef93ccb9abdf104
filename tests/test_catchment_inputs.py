"""Catchment inputs and small outputs: sites, bands, rows, warnings and the choice of network."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
from helpers import X0, Y0, km_per_minute, raw_network
from shapely.geometry import Point

from iot_geo import InvalidInputError
from iot_geo.catchment import (
    MAX_MINUTES,
    as_sites,
    catchments,
    check_minutes,
    parse_site_arg,
    pick_network,
    warn_truncation,
)


@pytest.fixture(scope="module")
def road():
    nodes = {i: (X0 + 1000 * i, Y0) for i in range(11)}
    return km_per_minute(raw_network(nodes, [(i, i + 1, True, True) for i in range(10)]))


def test_as_sites_from_every_shape():
    d = as_sites({"Oakham": (52.67, -0.727), "Uppingham": [52.589, -0.7232]})
    assert list(d["site_id"]) == ["Oakham", "Uppingham"] and list(d["name"]) == ["Oakham", "Uppingham"]
    assert list(d["group_id"]) == ["all", "all"] and d.crs.to_epsg() == 27700
    assert list(d.columns) == ["site_id", "name", "group_id", "geometry"]
    t = as_sites([("a", 52.67, -0.727), ("b", 52.589, -0.7232)])
    assert list(t["site_id"]) == ["a", "b"]
    assert t.geometry.iloc[0].distance(d.geometry.iloc[0]) < 1e-6
    df = as_sites(pd.DataFrame({"id": [7, 8], "name": ["Seven", "Eight"], "bid_id": ["x", "y"],
                                "lat": [52.67, 52.589], "lon": [-0.727, -0.7232]}))
    assert list(df["site_id"]) == ["7", "8"] and list(df["name"]) == ["Seven", "Eight"]
    assert list(df["group_id"]) == ["x", "y"]
    named = as_sites(pd.DataFrame({"name": ["N"], "group_id": ["g"], "lat": [52.67], "lon": [-0.727]}))
    assert list(named["site_id"]) == ["N"] and list(named["group_id"]) == ["g"]
    anon = as_sites(gpd.GeoDataFrame(geometry=[Point(X0, Y0), Point(X0 + 1, Y0)], crs=27700))
    assert list(anon["site_id"]) == ["site-1", "site-2"] and list(anon["name"]) == ["site-1", "site-2"]
    ll = as_sites(gpd.GeoDataFrame({"site_id": ["p"]}, geometry=[Point(-0.727, 52.67)], crs=4326))
    assert ll.crs.to_epsg() == 27700 and ll.geometry.iloc[0].distance(d.geometry.iloc[0]) < 1e-6


def test_as_sites_refuses_bad_input():
    with pytest.raises(InvalidInputError, match=r"sites: site 'x': expected \(lat, lon\), got 5"):
        as_sites({"x": 5})
    with pytest.raises(InvalidInputError, match=r"hub: site 'x': expected \(lat, lon\)"):
        as_sites({"x": (1, 2, 3)}, where="hub")
    with pytest.raises(InvalidInputError, match=r"sites: expected \(name, lat, lon\) triples"):
        as_sites([("a", 52.6)])
    with pytest.raises(InvalidInputError, match=r"sites: expected a .*DataFrame, a dict or a list, got int"):
        as_sites(5)
    with pytest.raises(InvalidInputError, match="sites: no sites given"):
        as_sites({})
    with pytest.raises(InvalidInputError, match="duplicate site id 'a'; give every site its own name"):
        as_sites([("a", 52.6, -0.7), ("a", 52.61, -0.7)])


def test_parse_site_arg():
    assert parse_site_arg("Oakham=52.67,-0.73") == ("Oakham", 52.67, -0.73)
    assert parse_site_arg(" A = B =52.5,-1") == ("A = B", 52.5, -1.0)  # the last '=' separates
    for bad in ("Oakham", "Oakham=52.67", "Oakham=a,b", "Oakham=1,2,3"):
        with pytest.raises(InvalidInputError, match=r"expected NAME=LAT,LON or NAME=POSTCODE, for example 'Oakham=52.67,-0.73'"):
            parse_site_arg(bad)
    with pytest.raises(InvalidInputError, match="the site needs a name before '='"):
        parse_site_arg(" =52.6,-0.7")
    with pytest.raises(InvalidInputError, match="--site"):
        parse_site_arg("Paris=48.85,2.35")


def test_check_minutes():
    assert check_minutes([45, 15, 30, 15]) == [15.0, 30.0, 45.0]
    assert check_minutes(20) == [20.0] and check_minutes(7.5) == [7.5]
    assert check_minutes([MAX_MINUTES]) == [240.0]
    with pytest.raises(InvalidInputError, match="no minutes given"):
        check_minutes([])
    with pytest.raises(InvalidInputError, match="minutes 'x' is not a number"):
        check_minutes(["x"])
    with pytest.raises(InvalidInputError, match="a band must be more than 0 minutes"):
        check_minutes([0])
    with pytest.raises(InvalidInputError, match="bands over 240 minutes are not travel-to-learn times"):
        check_minutes([240.5])
    with pytest.raises(InvalidInputError, match="more than 0"):
        check_minutes([float("inf")])


def test_rows_keep_fractional_bands_and_column_order(road):
    empty = gpd.GeoDataFrame({"lsoa_code": [], "people": [], "people_16_59": []}, geometry=[], crs=27700)
    c = catchments(road, gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[Point(X0 + 5000, Y0)], crs=27700),
                   minutes=[1.5, 2], population=empty, warn_truncated=False)
    assert list(c["minutes"]) == [1.5, 2]
    whole = catchments(road, gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[Point(X0 + 5000, Y0)], crs=27700),
                       minutes=[2.0], population=empty, warn_truncated=False)
    assert whole["minutes"].dtype.kind == "i"  # whole bands are written as whole minutes
    assert list(c.columns[:10]) == ["site_id", "group_id", "mode", "direction", "minutes", "area_km2", "people",
                                    "people_16_59", "people_unknown", "truncated"]
    assert list(c.columns[10:]) == ["people_outside_network", "outside_network_share", "lsoas",
                                    *[f"imd_{d}" for d in range(1, 11)], "geometry"]
    assert list(c["mode"]) == ["drive"] * 2 and list(c["direction"]) == ["to_site"] * 2
    assert list(c["group_id"]) == ["all"] * 2 and list(c["people"]) == [0.0, 0.0]
    # the area: x km along the road leaves (t - x) minutes to walk off it at 100 m a minute, on both sides and
    # in both directions: 4 * 0.1 km * t^2 / 2 = 0.45 km2 for 1.5 minutes and 0.8 km2 for 2 (to a 100 m grid)
    assert c["area_km2"].iloc[0] == pytest.approx(0.45, abs=0.03)
    assert c["area_km2"].iloc[1] == pytest.approx(0.8, abs=0.04)
    assert c["area_km2"].iloc[0] == round(c.geometry.iloc[0].area / 1e6, 4)
    with pytest.raises(InvalidInputError, match=r"resolution -5\.0 must be positive metres"):
        catchments(road, {"s": (52.6, -0.7)}, minutes=[1], population=empty, resolution=-5)


def test_truncation_warning_names_the_first_five():
    table = pd.DataFrame({"site_id": ["a", "b", "", "d", "e", "f"], "group_id": ["g"] * 6,
                          "minutes": [10, 20, 30, 40, 50, 60], "truncated": [True] * 6})
    with pytest.warns(UserWarning, match=r"^6 catchment\(s\) reach the edge of the loaded network \(a 10 min, b 20 min, "
                                         r"g 30 min, d 40 min, e 50 min, \.\.\.\): their figures are lower bounds$"):
        warn_truncation(table)
    with pytest.warns(UserWarning, match=r"^1 catchment\(s\) reach the edge of the loaded network \(b 20 min\): "):
        warn_truncation(table.assign(truncated=[False, True, False, False, False, False]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_truncation(table.assign(truncated=False))  # nothing cut: no warning


def test_pick_network_takes_the_first_that_covers_every_site(road):
    far = km_per_minute(raw_network({0: (X0, Y0 + 50_000), 1: (X0 + 1000, Y0 + 50_000)}, [(0, 1, True, True)]))
    sites = gpd.GeoDataFrame({"site_id": ["a"]}, geometry=[Point(X0 + 2000, Y0 + 900)], crs=27700)
    assert pick_network([far, road], sites, label="bid 'x'") is road
    assert pick_network(road, sites, label="bid 'x'") is road
    with pytest.raises(InvalidInputError, match="no network given"):
        pick_network([], sites, label="x")
    off = gpd.GeoDataFrame({"site_id": ["a"]}, geometry=[Point(X0 + 2000, Y0 + 3000)], crs=27700)
    with pytest.raises(InvalidInputError, match=r"bid 'x': no loaded network covers all its sites \(the nearest "
                                                 r"leaves a site 3,000 m from any usable road\); load a network"):
        pick_network([far, road], off, label="bid 'x'")
