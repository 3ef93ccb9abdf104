import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from iot_geo import InvalidInputError, locate


def _pt(lat, lon):
    return pd.DataFrame({"lat": [lat], "lon": [lon]})


def test_rutland_point_both_vintages():
    now = locate(_pt(52.67, -0.73)).iloc[0]
    assert now["lad_code"] == "E06000017" and now["lad_name"] == "Rutland"
    assert now["lep_codes"] == ["E37000060"]  # Greater Lincolnshire (2021)
    then = locate(_pt(52.67, -0.73), vintage=2017).iloc[0]
    assert then["lep_codes"] == ["E37000042"]  # Greater Cambridge and Greater Peterborough
    assert then["lad_vintage"] == 2017 and then["in_england"]


def test_york_in_two_leps_in_2017():
    row = locate(_pt(53.959, -1.082), vintage=2017).iloc[0]
    assert row["lad_code"] == "E06000014"
    assert sorted(row["lep_codes"]) == ["E37000020", "E37000039"]


def test_opportunity_area_and_ca():
    row = locate(_pt(53.541, -2.117)).iloc[0]  # Oldham town centre
    assert row["oa_name"] == "Oldham"
    assert row["ca_name"] == "Greater Manchester"
    west = locate(_pt(51.18, -3.33), vintage=2021).iloc[0]  # Minehead area
    assert west["oa_name"] == "West Somerset"
    assert "E07000246" in west["note"]


def test_outside_england_and_coast():
    wales = locate(_pt(52.48, -3.2)).iloc[0]
    assert not wales["in_england"] and wales["lep_codes"] == [] and "Wales" in wales["note"]
    sea = locate(_pt(50.2, -2.5)).iloc[0]
    assert sea["lad_code"] is None and not sea["in_england"]


def test_geodataframe_input_in_bng():
    gdf = gpd.GeoDataFrame(geometry=[Point(486_000, 308_500)], crs=27700)  # Oakham
    assert locate(gdf).iloc[0]["lad_code"] == "E06000017"


def test_swapped_lat_lon_is_named():
    with pytest.raises(InvalidInputError, match="swapped"):
        locate(_pt(-0.73, 52.67))
