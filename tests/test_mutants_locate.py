"""locate: known answers that pin what a user reads in each column (issue 18, mutation testing).

Points are chosen so each answer is known independently of the code: a district abolished in 2019
(Bournemouth), a point 300 m and one 0.5 m off the Sefton coast (in the sea, so only the coastal
fallback can place it), and inland points a few hundred metres outside a Combined Authority or an
Opportunity Area (which must not be pulled into it: the fallback is for the coast only).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from iot_geo import locate

COLUMNS = ["lad_code", "lad_name", "lep_codes", "lep_names", "ca_code", "ca_name", "region_code",
           "region_name", "oa_name", "in_england", "note", "lad_vintage", "lep_vintage", "ca_vintage"]

# In the Irish Sea off Formby (Sefton): 300 m and 0.5 m outside the 2021 district boundary, nowhere
# near any other district (the next is 4 km away).
SEFTON_300M = Point(326657.37, 407585.96)
SEFTON_HALF_M = Point(326936.33, 407476.98)
# Warrington (no Combined Authority), 340 m from Greater Manchester's boundary.
WARRINGTON_NEAR_GM = Point(367987, 388980)
# Rochdale, 490 m from the Oldham Opportunity Area.
ROCHDALE_NEAR_OLDHAM = Point(392230, 411199)


def _bng(*points, index=None):
    return gpd.GeoDataFrame(geometry=list(points), crs=27700, index=index)


def test_columns_index_and_vintages_as_documented():
    out = locate(pd.DataFrame({"lat": [50.72], "lon": [-1.88]}, index=[42]), vintage=2017)
    assert list(out.columns) == COLUMNS and list(out.index) == [42]
    row = out.loc[42]
    # "2017: LEP 2017, CA 2017, LAD 2017"; Bournemouth was merged into BCP (E06000058) in 2019
    assert (row["lad_vintage"], row["lep_vintage"], row["ca_vintage"]) == (2017, 2017, 2017)
    assert (row["lad_code"], row["lad_name"]) == ("E06000028", "Bournemouth")
    assert row["lep_codes"] == ["E37000009"] and row["lep_names"] == ["Dorset"]
    assert (row["region_code"], row["region_name"]) == ("E12000009", "South West")
    assert row["note"] == "" and row["in_england"]
    latest = locate(pd.DataFrame({"lat": [50.72], "lon": [-1.88]})).iloc[0]
    assert latest["lad_code"] == "E06000058"  # Bournemouth, Christchurch and Poole
    assert (latest["lad_vintage"], latest["lep_vintage"], latest["ca_vintage"]) == (2021, 2021, 2024)


def test_combined_authorities_of_each_vintage():
    """Newcastle: North East CA (2017), North of Tyne (2018-2023), the new North East CA (2024); York: none, then
    York and North Yorkshire (2024)."""
    pts = pd.DataFrame({"lat": [54.973, 53.959], "lon": [-1.613, -1.082]})
    for vintage, newcastle, york in ((2017, "E47000005", None), (2021, "E47000011", None),
                                     (None, "E47000014", "E47000012")):
        out = locate(pts, vintage=vintage)
        assert out.loc[0, "ca_code"] == newcastle
        assert (None if pd.isna(out.loc[1, "ca_code"]) else out.loc[1, "ca_code"]) == york


def test_no_points_still_has_every_column():
    out = locate(pd.DataFrame({"lat": [], "lon": []}))
    assert len(out) == 0 and list(out.columns) == COLUMNS


def test_two_leps_have_two_names_in_code_order():
    row = locate(pd.DataFrame({"lat": [53.959], "lon": [-1.082]}), vintage=2017).iloc[0]  # York
    assert row["lep_codes"] == ["E37000020", "E37000039"]
    assert row["lep_names"] == ["Leeds City Region", "York, North Yorkshire and East Riding"]


def test_combined_authority_code_and_the_opportunity_area_note():
    row = locate(pd.DataFrame({"lat": [53.541], "lon": [-2.117]})).iloc[0]  # Oldham town centre
    assert (row["ca_code"], row["ca_name"]) == ("E47000001", "Greater Manchester")
    assert (row["region_code"], row["region_name"]) == ("E12000002", "North West")
    assert row["lep_names"] == ["Greater Manchester"] and row["oa_name"] == "Oldham"
    # Oldham kept its code (E08000004) in 2021: the only note is where the OA was drawn
    assert row["note"] == "Opportunity Area drawn on 2017 districts; successor district(s) E08000004"


def test_scotland_gets_nothing_english_and_says_why():
    row = locate(pd.DataFrame({"lat": [55.95], "lon": [-3.19]})).iloc[0]  # Edinburgh
    assert row["lad_name"] == "City of Edinburgh" and not row["in_england"]
    assert row["lep_codes"] == [] and row["lep_names"] == []
    assert row["ca_code"] is None and row["region_code"] is None and row["region_name"] is None
    assert row["note"] == "in Scotland, not England: no LEP, CA or Opportunity Area applies"


def test_coastal_point_takes_the_nearest_district_lep_ca_and_region_with_notes():
    row = locate(_bng(SEFTON_300M)).iloc[0]
    assert (row["lad_code"], row["lad_name"]) == ("E08000014", "Sefton") and row["in_england"]
    assert row["lep_codes"] == ["E37000022"] and row["lep_names"] == ["Liverpool City Region"]
    assert (row["ca_code"], row["ca_name"]) == ("E47000004", "Liverpool City Region")
    assert (row["region_code"], row["region_name"]) == ("E12000002", "North West")
    assert row["note"] == ("outside the generalised, coast-clipped boundaries: nearest district within 1000 m; "
                           "LEP taken as the nearest within 1000 m")


def test_tolerance_bounds_the_coastal_fallback():
    off = locate(_bng(SEFTON_300M), tolerance_m=0).iloc[0]  # 0: no fallback at all
    assert off["lad_code"] is None and not off["in_england"]
    assert off["note"] == "outside every district (more than 0 m from Great Britain's boundaries)"
    assert locate(_bng(SEFTON_300M), tolerance_m=250).iloc[0]["lad_code"] is None
    assert locate(_bng(SEFTON_300M), tolerance_m=350).iloc[0]["lad_code"] == "E08000014"
    one = locate(_bng(SEFTON_HALF_M), tolerance_m=1).iloc[0]  # 0.5 m out, 1 m allowed
    assert one["lad_code"] == "E08000014" and "nearest district within 1 m" in one["note"]


def test_inland_points_are_not_pulled_into_a_nearby_ca_or_opportunity_area():
    out = locate(_bng(WARRINGTON_NEAR_GM, ROCHDALE_NEAR_OLDHAM, index=[7, 3]))
    assert list(out.index) == [7, 3]
    assert out.loc[7, "lad_name"] == "Warrington" and pd.isna(out.loc[7, "ca_code"])
    assert out.loc[7, "lep_names"] == ["Cheshire and Warrington"]
    assert out.loc[3, "lad_name"] == "Rochdale" and out.loc[3, "ca_name"] == "Greater Manchester"
    assert out.loc[3, "oa_name"] is None
    assert (out["note"] == "").all()


def test_ordinary_input_raises_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        locate(_bng(SEFTON_300M, WARRINGTON_NEAR_GM))


def test_explicit_data_dir_wins_over_the_environment(monkeypatch, tmp_path, data_dir):
    """Every layer is read from the data_dir given, not from $IOT_GEO_DATA."""
    monkeypatch.setenv("IOT_GEO_DATA", str(tmp_path))  # empty: reading from it would fail
    row = locate(pd.DataFrame({"lat": [53.541], "lon": [-2.117]}), data_dir=data_dir).iloc[0]
    assert row["lad_name"] == "Oldham" and row["oa_name"] == "Oldham" and row["ca_name"] == "Greater Manchester"
    assert row["lep_names"] == ["Greater Manchester"] and row["region_name"] == "North West"
