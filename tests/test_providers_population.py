import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from iot_geo import DataNotFoundError, InvalidInputError, load_population, load_providers, read_providers
from iot_geo.sources.providers import ks5_type, merge_duplicates, normalise_type, type_rule_counts


def test_provider_types_counted():
    p = load_providers()
    assert p.crs.to_epsg() == 27700
    assert list(p.columns[:5]) == ["provider_id", "name", "provider_type", "postcode", "source"]
    counts = p["provider_type"].value_counts().to_dict()
    assert counts == {"school_sixth_form": 2596, "fe_college": 231, "university": 165, "utc": 42,
                      "sixth_form_college": 34}
    assert p["provider_id"].is_unique
    assert p["provider_id"].str.match(r"^(urn|ukprn):\d+$").all()
    rules = type_rule_counts()
    college = rules[rules["source_type"] == "College"].set_index("provider_type")["n"]
    assert college.sum() == 265  # every "College" row is decided by the name rule


def test_known_colleges_typed_and_placed():
    p = load_providers(["fe_college", "sixth_form_college"]).set_index("name")
    assert p.loc["New College Stamford", "provider_type"] == "fe_college"
    assert p.loc["New College Stamford", "provider_id"] == "urn:130760"
    hills = p.loc["Hills Road Sixth Form College"]
    assert hills["provider_type"] == "sixth_form_college"
    # Hills Road, Cambridge CB2 8PE is at about E 546,500, N 256,300
    assert hills.geometry.distance(Point(546_500, 256_300)) < 600


def test_type_rules():
    assert ks5_type("College", "Long Road Sixth Form College") == "sixth_form_college"
    assert ks5_type("College", "Cambridge Regional College") == "fe_college"
    assert ks5_type("Academy", "UTC Swindon") == "utc"
    assert ks5_type("Academy", "Some Academy") == "school_sixth_form"
    assert normalise_type("Further Education") == "fe_college"
    with pytest.raises(InvalidInputError, match="unknown provider type"):
        normalise_type("zoo")


def test_merge_rule_same_name_and_postcode_only():
    a = gpd.GeoDataFrame({"provider_id": ["urn:1", "urn:2"], "name": ["The Example College", "LIPA Sixth Form College"],
                          "postcode": ["AB1 2CD", "L1 9HF"], "other_ids": ["", ""]},
                         geometry=[Point(0, 0), Point(1, 1)], crs=27700)
    b = gpd.GeoDataFrame({"provider_id": ["ukprn:9", "ukprn:8"],
                          "name": ["EXAMPLE COLLEGE", "The Liverpool Institute for Performing Arts"],
                          "postcode": ["ab12cd", "L1 9HF"], "other_ids": ["", ""]},
                         geometry=[Point(0, 0), Point(1, 1)], crs=27700)
    merged, n = merge_duplicates(a, b)
    assert n == 1 and len(merged) == 3
    assert merged.set_index("provider_id").loc["urn:1", "other_ids"] == "ukprn:9"


def test_read_providers_latlon_and_bng(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("name,latitude,longitude,type\nA,52.659,-0.4715,FE college\nB,52.2,0.13,university\n")
    gdf = read_providers(f)
    assert list(gdf["provider_type"]) == ["fe_college", "university"]
    assert gdf.crs.to_epsg() == 27700
    assert 502_000 < gdf.geometry.x.iloc[0] < 504_000
    g = tmp_path / "q.csv"
    g.write_text("id,name,easting,northing\nx1,Oakham,486000,308500\n")
    gdf2 = read_providers(g)
    assert gdf2["provider_id"].tolist() == ["x1"] and gdf2.geometry.x.iloc[0] == 486000


@pytest.mark.parametrize(
    "text,match",
    [
        ("name,foo\nA,1\n", "no coordinate columns"),
        ("name,lat,lon\nA,-0.47,52.65\n", "swapped"),
        ("name,lat,lon\nA,40.0,-3.0\n", "outside Great Britain"),
        ("name,lat,lon\nA,abc,-0.4\n", "row 1.*not a number"),
        ("name,easting,northing\nA,52.6,-0.4\n", "look like degrees"),
        ("title,lat,lon\nA,52.6,-0.4\n", "no 'name' column"),
        ("name,lat,lon\n", "no rows"),
    ],
)
def test_read_providers_bad_input(tmp_path, text, match):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(InvalidInputError, match=match):
        read_providers(f)


def test_read_providers_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError):
        read_providers(tmp_path / "nope.csv")


def test_population_totals():
    pop = load_population()
    assert pop.crs.to_epsg() == 27700
    assert len(pop) == 34_753
    england = pop[pop["lsoa_code"].str.startswith("E")]
    wales = pop[pop["lsoa_code"].str.startswith("W")]
    assert len(england) == 32_844 and len(wales) == 1_909
    assert england["people"].sum() == 54_728_204
    assert england["people_16_59"].sum() == 31_710_315
    assert wales["people"].isna().all()
    assert set(england["imd_decile"].unique()) == set(range(1, 11))
    # every decile holds a tenth of the LSOAs (the IMD is ranked by LSOA)
    assert np.allclose(england["imd_decile"].value_counts().to_numpy(), 3284.4, atol=1)
    bounds = pop.total_bounds
    assert bounds[0] > 80_000 and bounds[2] < 660_000
