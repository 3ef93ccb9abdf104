"""Area evidence: loaders against the files read directly, suppression, names, vintages, forecast, apportioning."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import iot_geo as ig
from iot_geo.checks import evidence_checks
from iot_geo.errors import InvalidInputError
from iot_geo.evidence import area_evidence, evidence_table, forecast_cohort, lsoa_evidence
from iot_geo.sources import evidence as src

RUTLAND = "E06000017"
CAMBRIDGE = "E07000008"
QUALS = ["None", "NVQ1", "NVQ2", "trade apprenticeships", "NVQ3", "NVQ4", "Other Qualifications"]


def _aps_rows(data_dir, name):
    with open(data_dir / "evidence" / name, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _num(cell):
    return float(cell) if cell not in src.SUPPRESSED else None


def _value(ev, measure, year=None):
    rows = ev[(ev["measure"] == measure) & ((ev["year"] == year) if year else True)]
    assert len(rows) == 1, (measure, year, len(rows))
    return rows.iloc[0]


@pytest.fixture(scope="module")
def mye_file(data_dir):
    # read straight from the workbook, not through the loader
    raw = pd.read_excel(data_dir / "evidence/ukmidyearestimates20192020ladcodes.xls", sheet_name="MYE2 - Persons",
                        header=None, engine="calamine")
    head = raw.index[raw[0] == "Code"][0]
    table = raw.iloc[head + 1:].copy()
    table.columns = [str(c).removesuffix(".0") for c in raw.iloc[head]]
    return table.set_index("Code")


@pytest.fixture(scope="module")
def rutland(data_dir):
    return area_evidence("Rutland", data_dir=data_dir)


# ------------------------------------------------------------------ suppression
def test_suppressed_cells_are_missing_and_counted():
    values, n = src.to_number(pd.Series(["c", "~", "x", "low", ":", "12", "1,200", "", None, "0"]))
    assert n == 5
    assert values.iloc[:5].isna().all() and values.iloc[7:9].isna().all()
    assert values.iloc[5] == 12 and values.iloc[6] == 1200 and values.iloc[9] == 0


def test_a_cell_that_is_neither_number_nor_marker_is_an_error():
    with pytest.raises(InvalidInputError, match=r"neither numbers nor suppression markers.*'n/a'"):
        src.to_number(pd.Series(["1", "n/a"]), where="test.csv")


def test_aps_suppression_count_and_rutland_cells_match_the_file(data_dir):
    rows = _aps_rows(data_dir, "D_skillsnvq_APS1721.csv")
    value_cols = [c for c in rows[0] if c[:2].isdigit()]
    expected = sum(r[c] in src.SUPPRESSED for r in rows if r["geographic_level"] in ("LADU", "LEP") for c in value_cols)
    q = src.load_aps_qualifications(data_dir=data_dir)
    assert q.attrs["suppressed"] == expected > 0
    raw = next(r for r in rows if r["area"] == "Rutland" and r["year"] == "2017")
    mine = q[(q["code"] == RUTLAND) & (q["year"] == 2017) & (q["age_band"] == "16-64")].set_index("qualification")
    assert mine.loc["NVQ4", "people"] == float(raw["16-64 NVQ4"]) == 8300
    assert raw["16-64 trade apprenticeships"] == "low"
    assert np.isnan(mine.loc["trade apprenticeships", "people"])  # missing, never zero


def test_ssa_tilde_is_missing_not_zero(data_dir):
    s = src.load_fes_ssa(data_dir=data_dir)
    with open(data_dir / "evidence/fes_ach_by_SSA_LAD_202122_permalink-c390bb3f.csv", encoding="utf-8-sig") as fh:
        raw = list(csv.DictReader(fh))
    assert s.attrs["suppressed"] == sum(r["e_and_t_aims_ach"] == "~" for r in raw)
    adur = s[(s["code"] == "E07000223") & (s["ssa"] == "Agriculture, Horticulture and Animal Care")]
    assert adur["achievements"].isna().all()


# ------------------------------------------------------------------ names and vintages
def test_district_name_matcher_rule():
    ref = pd.DataFrame({"code": ["A", "B", "C", "D", "E"],
                        "name": ["King's Lynn and West Norfolk", "Bristol, City of", "Newcastle-under-Lyme",
                                 "St. Helens", "Brighton & Hove"]})
    got = src.match_district_names(["Kings Lynn and West Norfolk", "Bristol City of", "Newcastle under Lyme",
                                    "St Helens", "brighton and hove", "Other"], ref)
    assert got["code"].tolist()[:5] == ["A", "B", "C", "D", "E"]
    assert pd.isna(got["code"].iloc[5])
    with pytest.raises(InvalidInputError, match="share a normal form"):
        src.match_district_names(["x"], pd.DataFrame({"code": ["A", "B"], "name": ["St Albans", "St. Albans"]}))


def test_poc3_names_all_match_2017_districts_except_other(data_dir):
    p = src.load_apprenticeship_starts(data_dir=data_dir)
    assert p.attrs["unmatched"] == ["Other"]
    with open(data_dir / "evidence/poc3.csv", encoding="utf-8") as fh:
        names = {r["la_name"] for r in csv.DictReader(fh)} - {"Other", "Totals"}
    matched = p[p["name"].isin(names)].drop_duplicates("name")
    assert len(matched) == len(names) == matched["code"].nunique()
    assert (p.loc[p["name"] == "Totals", "code"] == src.ENGLAND).all()
    # 2016/17 names: Shepway (renamed Folkestone and Hythe in 2018) keeps its 2017 code
    assert set(p.loc[p["name"] == "Shepway", "code"]) == {"E07000112"}


def test_aps_districts_match_2021_names(data_dir):
    q = src.load_aps_qualifications(data_dir=data_dir)
    lad = q[q["geographic_level"] == "lad"]
    assert lad["code"].notna().all() and lad.groupby("year")["code"].nunique().eq(309).all()
    assert set(lad.loc[lad["name"] == "Bournemouth, Christchurch and Poole", "code"]) == {"E06000058"}


def test_vintage_bridge_picks_the_code_a_source_has():
    lsoa = pd.DataFrame({"lad17_code": ["E07000150", "E07000004", "E06000017"],
                         "lad21_code": ["E06000061", "E06000060", "E06000017"]})
    # a 2020 table: Corby still there, Aylesbury Vale already in Buckinghamshire
    got = src.source_districts(lsoa, ["E07000150", "E06000060", "E06000017"])
    assert got.tolist() == ["E07000150", "E06000060", "E06000017"]
    got = src.source_districts(lsoa, ["E06000061"])
    assert got.iloc[0] == "E06000061" and got.iloc[1:].isna().all()


def test_every_english_lsoa_has_a_district_in_each_source(data_dir):
    from iot_geo.evidence import load_evidence_data

    d = load_evidence_data(str(data_dir.resolve()))
    assert len(d.lsoa) == 32844
    for name, dist in d.dist.items():
        assert dist.notna().all(), name


# ------------------------------------------------------------------ forecast and apportioning
def test_cohort_forecast_on_a_hand_made_table():
    ages = pd.Series(10.0 * np.arange(21), index=np.arange(21))  # age a has 10a people
    f = forecast_cohort(ages, base_year=2019, years=[2019, 2020, 2026], lo=16, hi=18)
    assert f[2019] == 160 + 170 + 180
    assert f[2020] == 150 + 160 + 170  # aged 15-17 in 2019
    assert f[2026] == 90 + 100 + 110  # aged 9-11 in 2019
    short = forecast_cohort(ages.drop(10), years=[2026])
    assert np.isnan(short[2026])
    with pytest.raises(InvalidInputError):
        forecast_cohort(ages, years=[2018])


def test_district_fractions_and_apportion_by_hand():
    district = pd.Series(["A", "A", "A", "B", None])
    people = pd.Series([100.0, 300.0, 600.0, 50.0, 10.0])
    frac = src.district_fractions(district, people, np.array([True, False, True, False, True]))
    assert frac.to_dict() == {"A": 0.7}
    values = pd.Series({"A": 1000.0, "B": 80.0})
    assert src.apportion(values, frac) == pytest.approx(700.0)
    rest = src.district_fractions(district, people, np.array([False, True, False, True, False]))
    assert rest["A"] + frac["A"] == pytest.approx(1.0) and rest["B"] == 1.0


def test_apportioned_parts_of_a_district_sum_to_the_district(data_dir, rutland):
    lsoas = src.lsoa_districts(data_dir=data_dir)
    codes = lsoas.loc[lsoas["lad17_code"] == RUTLAND, "lsoa_code"].tolist()
    a = lsoa_evidence(codes[::2], data_dir=data_dir)
    b = lsoa_evidence(codes[1::2], data_dir=data_dir)
    for m in ("People aged 16-18", "People aged 19-24", "Forecast: people aged 16-18 in 2026",
              "STEM apprenticeship starts"):
        whole = _value(rutland, m)["value"]
        assert _value(a, m)["value"] + _value(b, m)["value"] == pytest.approx(whole)
        assert 0 < _value(a, m)["value"] < whole
    assert "(Other matched none: left out)" in _value(rutland, "STEM apprenticeship starts")["note"]


# ------------------------------------------------------------------ figures against the files
def test_rutland_learners_match_the_workbook(mye_file, rutland):
    row = mye_file.loc[RUTLAND]
    assert _value(rutland, "People aged 16-18")["value"] == sum(float(row[str(a)]) for a in (16, 17, 18))
    assert _value(rutland, "People aged 19-24")["value"] == sum(float(row[str(a)]) for a in range(19, 25))
    assert _value(rutland, "Forecast: people aged 16-18 in 2026")["value"] == sum(
        float(row[str(a)]) for a in (9, 10, 11))
    eng = mye_file.loc[src.ENGLAND]
    assert _value(rutland, "People aged 16-18")["england"] == sum(float(eng[str(a)]) for a in (16, 17, 18))


def test_nvq4_share_and_england_sum_match_the_aps_file(data_dir, rutland):
    rows = [r for r in _aps_rows(data_dir, "D_skillsnvq_APS1721.csv") if r["year"] == "2017"
            and r["geographic_level"] == "LADU"]
    rut = next(r for r in rows if r["area"] == "Rutland")
    known = [_num(rut[f"16-64 {q}"]) for q in QUALS]
    share = 100 * 8300 / sum(v for v in known if v is not None)
    got = _value(rutland, "16-64 with NVQ4 or above", "2017")
    assert got["value"] == pytest.approx(share)
    # England: the APS file has no England row; the sum of its English districts
    tot = {q: sum(_num(r[f"16-64 {q}"]) or 0.0 for r in rows) for q in QUALS}
    assert got["england"] == pytest.approx(100 * tot["NVQ4"] / sum(tot.values()))
    assert "suppressed" in got["note"] and "sum of English districts" in got["note"]


def test_manufacturing_location_quotient_matches_the_file(data_dir, rutland):
    rows = [r for r in _aps_rows(data_dir, "D_empind_APS1721.csv") if r["year"] == "2021"
            and r["geographic_level"] == "LADU"]
    rut = next(r for r in rows if r["area"] == "Rutland")
    share = float(rut["Manufacturing"]) / sum(_num(rut[i]) or 0.0 for i in src.INDUSTRIES)
    eng = sum(_num(r["Manufacturing"]) or 0.0 for r in rows) / sum(_num(r[i]) or 0.0 for r in rows for i in src.INDUSTRIES)
    assert _value(rutland, "Location quotient: Manufacturing")["value"] == pytest.approx(share / eng)
    assert np.isnan(_value(rutland, "Employment share: Construction")["value"])  # suppressed in Rutland, not 0


def test_social_mobility_matches_the_iod(data_dir, rutland):
    import pyreadr

    dom = next(iter(pyreadr.read_r(str(data_dir / "evidence/imd2019_england_lsoa11.rda")).values()))
    pop = ig.load_population(data_dir=data_dir)[["lsoa_code", "people"]]
    j = dom.merge(pop, left_on="lsoa11_code", right_on="lsoa_code")
    low = j["Education_decile"] <= 2
    row = _value(rutland, "Share of people in England's most deprived 20%: Education, Skills and Training domain")
    assert row["england"] == pytest.approx(100 * j.loc[low, "people"].sum() / j["people"].sum())
    assert 19 < row["england"] < 21
    assert "Social Mobility Index" in _value(
        rutland, "People in England's most deprived 20%: Education, Skills and Training domain")["note"]


def test_cambridge_city_and_the_table_shape(data_dir):
    ev = area_evidence(["Cambridge"], data_dir=data_dir)
    assert list(ev.columns[:8]) == ["area", "band", "measure", "value", "england", "unit", "source", "year"]
    assert set(ev["topic"]) == {"learners", "skills", "labour market", "provider landscape", "social mobility"}
    provs = ev[ev["measure"] == "Providers: sixth_form_college"]
    assert provs["value"].iloc[0] == 2 and "Hills Road Sixth Form College" in provs["note"].iloc[0]
    # Cambridge Regional College stands just over the city boundary, in South Cambridgeshire
    assert "Providers: fe_college" not in set(ev["measure"])
    both = area_evidence(["Cambridge", "South Cambridgeshire"], data_dir=data_dir)
    assert "Cambridge Regional College" in both.loc[both["measure"] == "Providers: fe_college", "note"].iloc[0]
    wide = evidence_table(ev)
    assert len(wide) == len(ev) and "England" in wide.columns


def test_unknown_area_is_a_clear_error(data_dir):
    with pytest.raises(InvalidInputError, match="not an English district"):
        area_evidence("Atlantis", data_dir=data_dir)


def test_bid_area_is_its_2017_lep(data_dir):
    bids = ig.read_bids("data/examples/rutland.yaml", data_dir=data_dir)
    ev = area_evidence(bids["stamford-iot"], data_dir=data_dir)
    assert set(ev["band"]) == {"LEP Greater Cambridge and Greater Peterborough (2017)"}
    lsoas = src.lsoa_districts(data_dir=data_dir)
    lep = pd.read_csv(data_dir / "boundaries/lookup_lsoa11_lep17_apr2017_en_v2.csv", dtype=str, encoding="utf-8-sig")
    inside = lep.loc[(lep["LEP17CD1"] == "E37000042") | (lep["LEP17CD2"] == "E37000042"), "LSOA11CD"]
    direct = lsoa_evidence(inside, data_dir=data_dir)
    assert _value(ev, "People aged 16-18")["value"] == pytest.approx(_value(direct, "People aged 16-18")["value"])
    assert RUTLAND in set(lsoas.loc[lsoas["lsoa_code"].isin(inside), "lad17_code"])


# ------------------------------------------------------------------ checks
def test_social_mobility_reach_pass_and_warn(data_dir):
    bids = ig.read_bids("data/examples/rutland.yaml", data_dir=data_dir)
    bid = bids["stamford-iot"]
    iod = src.load_iod_education(data_dir=data_dir)
    deprived = iod.loc[iod["education_decile"] == 1, "lsoa_code"].head(50)
    rows = {r["check"]: r for r in evidence_checks(bid, deprived, 30, data_dir)}
    assert rows["social_mobility_reach"]["status"] == "pass"
    assert "(100.0%)" in rows["social_mobility_reach"]["evidence"]
    lsoas = src.lsoa_districts(data_dir=data_dir)
    rut = lsoas.loc[lsoas["lad17_code"] == RUTLAND, "lsoa_code"]
    rows = {r["check"]: r for r in evidence_checks(bid, rut, 30, data_dir)}
    assert rows["social_mobility_reach"]["status"] == "warn" and "(0.0%)" in rows["social_mobility_reach"]["evidence"]
    assert rows["learner_pipeline"]["status"] == "pass"
    assert "1,591 people aged 16-18" in rows["learner_pipeline"]["evidence"]
    assert "no migration or mortality" in rows["learner_pipeline"]["evidence"]
    empty = {r["check"]: r for r in evidence_checks(bid, pd.Series([], dtype=str), 30, data_dir)}
    assert empty["learner_pipeline"]["status"] == "warn"


@pytest.mark.slow
def test_catchment_bands_nest_and_checks_run(data_dir):
    bids = ig.read_bids("data/examples/cambridge.yaml", data_dir=data_dir)
    net = ig.load_network(data_dir / "osm/cambridge-2020-drive.graphml.gz")
    ev = area_evidence(bids["hills-road-digital"], network=net, minutes=[5, 10], data_dir=data_dir)
    assert list(dict.fromkeys(ev["band"]))[1:] == ["5 min drive", "10 min drive"]
    people = ev[ev["measure"] == "People aged 16-18"].set_index("band")["value"]
    assert 0 < people["5 min drive"] <= people["10 min drive"] < people.iloc[0]
    checks = ig.check_bids([bids["hills-road-digital"]], net, minutes=10, data_dir=data_dir)
    assert {"social_mobility_reach", "learner_pipeline"} <= set(checks["check"])


def test_cli_evidence_prints_the_table_with_sources():
    r = subprocess.run([sys.executable, "-m", "iot_geo", "evidence", "data/examples/rutland.yaml"],
                       capture_output=True, text=True, timeout=300, env=None)
    assert r.returncode == 0, r.stderr
    assert "People aged 16-18" in r.stdout.replace("\n", " ") or "People aged" in r.stdout
    assert "ONS mid-year population estimates" in r.stdout and "Social Mobility Index" in r.stdout
    bad = subprocess.run([sys.executable, "-m", "iot_geo", "evidence", "Atlantis"], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "not an English district" in bad.stderr


def test_popup_and_report_html_escape_every_text():
    from iot_geo.evidence import evidence_html, evidence_popup_lines

    ev = pd.DataFrame([{"area": "b1", "band": "<b>area</b>", "measure": "People aged 16-18", "value": 1234.0,
                        "england": 5678.0, "unit": "people", "source": "<script>alert(1)</script>", "year": "2019",
                        "topic": "learners", "note": ""}])
    pop = evidence_popup_lines(ev, "b1")  # text the map sets with textContent: kept verbatim
    page = evidence_html(ev, "b1")
    assert pop == ["Evidence (<b>area</b> / England):", "People aged 16-18 (2019): 1,234 / 5,678"]
    assert "<script>" not in page and "<b>area</b>" not in page and "&lt;b&gt;area&lt;/b&gt;" in page
    assert "&lt;script&gt;" in page
    assert evidence_popup_lines(ev, "other") == [] and evidence_html(ev, "other") == ""


@pytest.mark.slow
def test_report_carries_the_evidence_and_matches_area_evidence(tmp_path, data_dir):
    import warnings

    from iot_geo import report
    from iot_geo.evidence import bid_catchment_evidence
    from iot_geo.overlap import bid_catchments

    bids = ig.read_bids("data/examples/rutland.yaml", data_dir=data_dir)
    net = ig.load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = area_evidence(bids["oakham-engineering"], network=net, minutes=[10], data_dir=data_dir)
        via = bid_catchment_evidence(bid_catchments(net, [bids["oakham-engineering"]], minutes=[10]),
                                     data_dir=data_dir)
        pd.testing.assert_frame_equal(direct, via)
        a = report.analyse(bids, net, minutes=[10])
    report.write_report(a, tmp_path / "rep")
    page = (tmp_path / "rep" / "index.html").read_text()
    assert page.count("<h3>Area evidence</h3>") == 2 and "Social Mobility Index" in page
    ev = pd.read_csv(tmp_path / "rep" / "evidence.csv", comment="#")
    assert set(ev["band"]) >= {"10 min drive"} and set(ev["area"]) == {"stamford-iot", "oakham-engineering"}
    assert "evidence" in pd.ExcelFile(tmp_path / "rep" / "tables.xlsx", engine="openpyxl").sheet_names
    assert (tmp_path / "rep" / "map.html").read_text().count("\"Evidence (") == 2  # one hub popup a bid, as text


def test_a_bid_with_a_lep_and_a_ca_gets_both_areas(data_dir, mye_file):
    bids = ig.read_bids("data/examples/cambridge.yaml", data_dir=data_dir)
    ev = area_evidence(bids["cambridge-regional-iot"], data_dir=data_dir)
    assert list(dict.fromkeys(ev["band"])) == ["LEP Greater Cambridge and Greater Peterborough (2017)",
                                               "CA Cambridgeshire and Peterborough (2017)"]
    # the 2017 combined authority: Cambridge, East Cambs, Fenland, Huntingdonshire, South Cambs, Peterborough
    members = ["E07000008", "E07000009", "E07000010", "E07000011", "E07000012", "E06000031"]
    expected = sum(float(mye_file.loc[c, str(a)]) for c in members for a in (16, 17, 18))
    ca = ev[(ev["band"] == "CA Cambridgeshire and Peterborough (2017)") & (ev["measure"] == "People aged 16-18")]
    assert ca["value"].iloc[0] == pytest.approx(expected)


def test_checks_without_the_evidence_files_warn_and_say_what_is_missing(tmp_path, data_dir):
    import shutil

    from iot_geo.evidence import evidence_context

    # a data directory with everything but the evidence folder
    for sub in ("boundaries", "population", "providers"):
        (tmp_path / sub).symlink_to(data_dir / sub)
    shutil.rmtree(tmp_path / "evidence", ignore_errors=True)
    bids = ig.read_bids("data/examples/rutland.yaml", data_dir=data_dir)
    rows = evidence_checks(bids["stamford-iot"], pd.Series(["E01013653"]), 30, tmp_path)
    assert [r["status"] for r in rows] == ["warn", "warn"]
    assert "not checked" in rows[0]["evidence"] and "not found" in rows[0]["evidence"]
    with pytest.raises(ig.DataNotFoundError):
        evidence_context(tmp_path)
