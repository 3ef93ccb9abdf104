"""Bid files: formats, validation and every problem reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iot_geo import InvalidInputError
from iot_geo.bids import ROUTES, STEM_ROUTES, read_bids, route_id

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"

GOOD = """
schema: 1
vintage: {lep: 2017, ca: 2017}
bids:
  - id: stamford-iot
    name: South Lincolnshire and Rutland IoT
    lead: New College Stamford
    lead_type: fe_college
    partners: [{name: Example Engineering Ltd, type: employer}]
    lep: Greater Cambridge and Greater Peterborough
    combined_authority: null
    routes: [engineering_manufacturing, "Digital"]
    levels: [3, 4, 5]
    sites:
      - {id: stamford-hub, name: New College Stamford, role: hub, lat: 52.6590, lon: -0.4715}
      - {id: oakham-spoke, name: Oakham, role: spoke, provider_id: "urn:141965"}
"""


def write(tmp_path, text, name="bids.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_yaml_resolves_names_and_providers(tmp_path):
    bids = read_bids(write(tmp_path, GOOD))
    assert len(bids) == 1 and bids.ids == ["stamford-iot"]
    bid = bids["stamford-iot"]
    assert bid.lep_codes == ["E37000042"] and bid.ca_code is None
    assert bid.routes == ["engineering_manufacturing", "digital"]
    assert bid.levels == [3, 4, 5]
    sites = bids.sites
    assert list(sites["site_id"]) == ["stamford-hub", "oakham-spoke"]
    assert sites.crs.to_epsg() == 27700
    assert sites.set_index("site_id").loc["oakham-spoke", "provider_id"] == "urn:141965"
    assert bid.vintage == {"lep": 2017, "ca": 2017}


def test_examples_load():
    cam = read_bids(EXAMPLES / "cambridge.yaml")
    assert cam.ids == ["cambridge-regional-iot", "hills-road-digital", "long-road-stem"]
    rut = read_bids(EXAMPLES / "rutland.yaml")
    assert len(rut["stamford-iot"].sites) == 3


def test_csv_and_geojson_carry_the_same_fields(tmp_path):
    yaml_bids = read_bids(write(tmp_path, GOOD))
    (tmp_path / "bids.csv").write_text(
        "id,name,lead,lead_type,partners,lep,combined_authority,routes,levels,lep_vintage,ca_vintage\n"
        "stamford-iot,South Lincolnshire and Rutland IoT,New College Stamford,fe_college,"
        "Example Engineering Ltd:employer,Greater Cambridge and Greater Peterborough,,"
        "engineering_manufacturing;Digital,3;4;5,2017,2017\n")
    (tmp_path / "sites.csv").write_text(
        "bid_id,id,name,role,lat,lon,provider_id\n"
        "stamford-iot,stamford-hub,New College Stamford,hub,52.6590,-0.4715,\n"
        "stamford-iot,oakham-spoke,Oakham,spoke,,,urn:141965\n")
    csv_bids = read_bids(tmp_path)
    gj = {"type": "FeatureCollection", "vintage": {"lep": 2017, "ca": 2017}, "bids": [{
        "id": "stamford-iot", "name": "South Lincolnshire and Rutland IoT", "lead": "New College Stamford",
        "lead_type": "fe_college", "partners": ["Example Engineering Ltd:employer"],
        "lep": "Greater Cambridge and Greater Peterborough", "routes": ["engineering_manufacturing", "Digital"],
        "levels": [3, 4, 5]}],
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.4715, 52.6590]},
             "properties": {"bid_id": "stamford-iot", "id": "stamford-hub", "name": "New College Stamford",
                            "role": "hub"}},
            {"type": "Feature", "geometry": None,
             "properties": {"bid_id": "stamford-iot", "id": "oakham-spoke", "name": "Oakham", "role": "spoke",
                            "provider_id": "urn:141965"}}]}
    (tmp_path / "sites.geojson").write_text(json.dumps(gj))
    gj_bids = read_bids(tmp_path / "sites.geojson")
    for other in (csv_bids, gj_bids):
        a, b = yaml_bids["stamford-iot"], other["stamford-iot"]
        assert (a.lep_codes, a.routes, a.levels, a.partners) == (b.lep_codes, b.routes, b.levels, b.partners)
        assert a.sites.geometry.distance(b.sites.geometry).max() < 0.01


BAD = """
schema: 1
bids:
  - id: one
    name: One
    lead: A College
    lead_type: fe_college
    lep: Greater Lincolnshre
    routes: [engineering_manufacturing, digitl]
    levels: [3, 6]
    sites:
      - {id: s1, name: S1, role: spoke, lat: 52.66, lon: -0.47}
  - id: one
    name: Duplicate
    lead: B
    lead_type: wizard
    lep: E37000060
    routes: [digital]
    sites:
      - {id: s1, name: dup site, role: hub, lat: 55.95, lon: -3.19}
  - id: three
    name: Three
    lead: C
    lead_type: fe_college
    lep: E37000060
    routes: [digital]
    sites:
      - {id: h3, name: H3, role: hub, lat: 52.6707, lon: -0.7270, easting: 400000, northing: 300000}
      - {id: s3, name: S3, role: spoke, provider_id: "urn:999999999"}
  - id: four
    name: Four
    lead: D
    lead_type: fe_college
    lep: E37000060
    routes: [digital]
    sites:
      - {id: h4, name: H4, role: hub, lat: 52.6707, lon: -0.7270}
"""


def test_every_problem_listed_with_bid_and_field(tmp_path):
    with pytest.raises(InvalidInputError) as exc:
        read_bids(write(tmp_path, BAD))
    msg = str(exc.value)
    expected = [
        "bid 'one': lep: unknown LEP 'Greater Lincolnshre'", "did you mean 'Greater Lincolnshire'",
        "routes: unknown route 'digitl'", "did you mean 'digital'",
        "levels: 6 is not one of 3, 4, 5",
        "exactly one hub (none given)",
        "id: duplicate bid id 'one'", "duplicate site id 's1'",
        "lead_type: unknown 'wizard'",
        "not in England",
        "disagree by", "provider_id 'urn:999999999' does not exist",
        "nothing was computed",
    ]
    for e in expected:
        assert e in msg, e
    assert "bid 'four'" not in msg


def test_skip_invalid_keeps_the_good_ones(tmp_path):
    bids = read_bids(write(tmp_path, BAD), skip_invalid=True)
    assert bids.ids == ["four"]
    assert len(bids.problems) >= 10 and all(str(tmp_path) in p for p in bids.problems)


@pytest.mark.parametrize(
    "text,match",
    [
        ("bids: [\n  - id: x\n    name: [unclosed\n", "malformed YAML at line"),
        ("", "empty"),
        ("just a string", "mapping with a 'bids' list"),
        ("schema: 2\nbids: []\n", "schema 2 is not supported"),
        ("bids: []\n", "no bids"),
        ("bids: [42]\n", "expected a mapping"),
    ],
)
def test_malformed_files(tmp_path, text, match):
    with pytest.raises(InvalidInputError, match=match):
        read_bids(write(tmp_path, text))


def test_wrong_encoding_and_missing(tmp_path):
    p = tmp_path / "latin.yaml"
    p.write_bytes("bids:\n  - name: Coll\xe8ge\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        read_bids(p)
    with pytest.raises(FileNotFoundError):
        read_bids(tmp_path / "nope.yaml")


def test_routes_vocabulary():
    assert route_id("Engineering & Manufacturing") == "engineering_manufacturing"
    assert route_id("health and science") == "health_science"
    assert route_id("digital") == "digital"
    assert route_id("astrology") is None
    assert len(ROUTES) == 15 and len(STEM_ROUTES) == 5
