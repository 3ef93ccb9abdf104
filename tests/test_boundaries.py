import pandas as pd
import pytest
import shapely

from iot_geo import InvalidInputError, load_areas
from iot_geo.sources.boundaries import VINTAGES, build_lad17_lep17, opportunity_area_table, resolve_vintage


@pytest.mark.parametrize("kind", sorted(VINTAGES))
def test_every_layer_is_bng_valid_and_standard(kind):
    for vintage in VINTAGES[kind]:
        gdf = load_areas(kind, vintage)
        assert gdf.crs.to_epsg() == 27700
        assert list(gdf.columns[:4]) == ["code", "name", "kind", "vintage"]
        assert gdf.geometry.name == "geometry"
        assert gdf.is_valid.all() and not gdf.is_empty.any()
        assert (gdf["kind"] == kind).all() and (gdf["vintage"] == vintage).all()
        assert gdf["code"].is_unique


def test_lep_counts_both_vintages(data_dir):
    assert len(load_areas("lep", 2021)) == 38
    lep17 = load_areas("lep", 2017)
    assert len(lep17) == 38
    # the same 38 codes as MHCLG's IoD 2019 LEP summaries, which use the 2017 LEPs
    iod = pd.read_excel(data_dir / "population/File_12_-_IoD2019_Local_Enterprise_Partnership__LEP__Summaries.xlsx",
                        sheet_name="IMD")
    assert set(lep17["code"]) == set(iod["Local Enterprise Partnership Code (2017)"])


def test_lep_2017_keeps_overlaps():
    lep17 = load_areas("lep", 2017).set_index("code")
    # York sat in Leeds City Region and in York, North Yorkshire and East Riding
    assert "E06000014" in lep17.loc["E37000020", "lad_codes"].split(";")
    assert "E06000014" in lep17.loc["E37000039", "lad_codes"].split(";")
    overlap = shapely.intersection(lep17.loc["E37000020", "geometry"], lep17.loc["E37000039", "geometry"])
    assert overlap.area > 100e6  # York is about 272 km2


def test_derived_lad_lep_table_equals_official_lsoa_lookups(data_dir):
    """Each district's LEPs, worked out here from ONS's two LSOA lookups with the csv module."""
    import csv
    from collections import Counter, defaultdict

    root = data_dir / "boundaries"
    with open(root / "lookup_lsoa11_ccg17_lad17_apr2017_en_v4.csv", encoding="utf-8-sig", newline="") as fh:
        lad_of = {r["LSOA11CD"]: r["LAD17CD"] for r in csv.DictReader(fh)}
    leps_of: dict[str, list[str]] = {}
    with open(root / "lookup_lsoa11_lep17_apr2017_en_v2.csv", encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            leps_of[r["LSOA11CD"]] = [c for c in (r["LEP17CD1"], r["LEP17CD2"]) if c]
    per_lad: dict[str, list[list[str]]] = defaultdict(list)
    for lsoa, lad in lad_of.items():
        per_lad[lad].append(leps_of[lsoa])
    ours = build_lad17_lep17().set_index("LAD17CD")
    assert set(ours.index) == set(per_lad) and len(ours) == 326
    relations = Counter()
    for lad, lists in per_lad.items():
        counts = Counter(c for leps in lists for c in leps)
        row = ours.loc[lad]
        assert {row["LEP17CD1"], row["LEP17CD2"]} - {""} == set(counts), lad
        assert counts[row["LEP17CD1"]] == max(counts.values()), lad  # the first LEP holds the most LSOAs
        assert row["N_LSOA"] == len(lists), lad
        if len(counts) == 1:
            relation = "single"
        elif all(len(leps) == 2 for leps in lists):
            relation = "overlap"  # every LSOA in both LEPs
        else:
            assert all(len(leps) == 1 for leps in lists), lad
            relation = "split"
        assert row["RELATION"] == relation, lad
        relations[relation] += 1
    # the shipped derived file is the same table
    ref = pd.read_csv(root / "lookup_lad17_lep17_en_derived.csv", dtype=str, keep_default_na=False).set_index("LAD17CD")
    for col in ("LEP17CD1", "LEP17CD2", "RELATION"):
        assert (ours[col] == ref.loc[ours.index, col]).all(), col
    assert relations["overlap"] > 0 and relations["split"] > 0 and relations["single"] > 250


def test_ca_vintages():
    assert len(load_areas("ca", 2017)) == 9
    assert len(load_areas("ca", 2021)) == 10
    assert len(load_areas("ca", 2024)) == 11
    ca17 = load_areas("ca", 2017)
    assert "Cambridgeshire and Peterborough" in set(ca17["name"])


def test_opportunity_areas_match_table():
    oa = load_areas("oa")
    table = opportunity_area_table()
    assert len(oa) == 12 == len(table)
    assert dict(zip(oa["name"], oa["lad_codes"], strict=True)) == dict(
        zip(table["oa_name"], table["lad17_codes"], strict=True)
    )
    west = oa.set_index("name").loc["West Somerset"]
    assert west["lad_codes"] == "E07000191"
    assert west["lad21_codes"] == "E07000246"  # Somerset West and Taunton, not redrawn
    lad17 = load_areas("lad", 2017).set_index("code")
    assert west["geometry"].area == pytest.approx(lad17.loc["E07000191", "geometry"].area)
    fenland = oa.set_index("name").loc["Fenland and East Cambridgeshire", "geometry"]
    assert fenland.area == pytest.approx(
        lad17.loc["E07000010", "geometry"].area + lad17.loc["E07000009", "geometry"].area, rel=1e-3)


def test_regions_cover_england():
    rgn = load_areas("region", 2021)
    assert len(rgn) == 9
    lads = load_areas("lad", 2021)
    england = lads[lads["code"].str.startswith("E")]
    assert rgn.area.sum() == pytest.approx(england.area.sum(), rel=1e-3)


def test_vintage_rules_and_errors():
    assert resolve_vintage("ca", 2023) == 2022
    assert resolve_vintage("lep", None) == 2021
    with pytest.raises(InvalidInputError, match="available: 2017, 2021"):
        load_areas("lep", 2010)
    with pytest.raises(InvalidInputError, match="use one of lep, ca, lad, oa, region"):
        load_areas("county")
