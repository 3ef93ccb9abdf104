"""The evidence the IoT FAQ asks for, per bid area and catchment, with England alongside.

:func:`area_evidence` returns one long table (``area, band, measure, value,
england, unit, source, year``, then ``topic`` and ``note``) for a bid's declared
area (its LEP or combined authority), for a named area or a list of districts,
and, given a network, for each of a bid's catchment bands.

How the figures are made
------------------------
Areas as LSOAs
    Every area is a set of English LSOAs (2011): a 2017 LEP through the ONS
    LSOA-to-LEP lookup, a 2017 combined authority or a list of districts
    through their member districts, a later LEP or CA by LSOA
    population-weighted centroid in its boundary, and a catchment band by the
    LSOAs whose centroid is reached within the band (as in
    :mod:`iot_geo.catchment`). Welsh LSOAs in a catchment are left out.
District figures apportioned
    Figures published by district (population by age, APS, DfE) are
    apportioned to an area by each LSOA's share of its district's people
    (ONS mid-2015, IoD 2019 File 6): an area holding LSOAs with 30% of a
    district's people gets 30% of the district's figure
    (:func:`iot_geo.sources.evidence.district_fractions`). A whole district
    gets exactly its own figure. Shares (NVQ4+, industries, STEM) are
    computed from apportioned counts, so a catchment's share is its
    districts' shares weighted by the people it holds in each.
England
    From the source's own England row where it has one (mid-2019 estimates,
    DfE FE achievements, ``poc3.csv`` ``Totals``); otherwise the sum of the
    English districts (the APS file has none) or of all English LSOAs (IoD):
    the ``note`` column says which.
Forecast
    The 16-18 population of 2020-2026 ages the mid-2019 single-year cohorts:
    the people aged 16-18 in year Y are those aged 16-(Y-2019) to 18-(Y-2019)
    in mid-2019 (2026: aged 9-11). No migration and no mortality: a plain
    cohort roll-forward, which is what open data supports; ONS subnational
    projections would add both.
Social mobility
    The Social Mobility Commission's Social Mobility Index is not available
    as open data here. The IoD 2019 Education, Skills and Training domain
    (its Children and young people and Adult skills sub-domains, and the
    staying-on and entry-to-HE indicators) measures the same educational
    disadvantage by LSOA and stands in for it; people in the 12 Opportunity
    Areas are counted beside them.
"""

from __future__ import annotations

import functools
import html
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from iot_geo import settings
from iot_geo.bids import Bid, Bids
from iot_geo.catchment import catchment_detail, check_minutes, pick_network
from iot_geo.errors import InvalidInputError
from iot_geo.people import population_or_load
from iot_geo.sources import boundaries
from iot_geo.sources import evidence as src
from iot_geo.sources import population as population_data
from iot_geo.sources import providers as provider_data
from iot_geo.sources.boundaries import resolve_vintage
from iot_geo.sources.catalogue import dataset_path, reading

__all__ = [
    "SMI_NOTE",
    "EvidenceData",
    "area_evidence",
    "bid_catchment_evidence",
    "evidence_context",
    "evidence_html",
    "evidence_parts",
    "evidence_popup_lines",
    "evidence_table",
    "forecast_cohort",
    "format_figure",
    "load_evidence_data",
    "lsoa_evidence",
]


COLUMNS = ["area", "band", "measure", "value", "england", "unit", "source", "year", "topic", "note"]
#: The base year of the cohort forecast (the mid-2019 estimates) and the years forecast.
FORECAST_BASE = 2019
FORECAST_YEARS = tuple(range(2020, 2027))
#: APS years shown: the latest and 2017 (the competition's year).
APS_YEARS = (2021, 2017)
#: Industries shown (APS broad groups).
LABOUR_INDUSTRIES = ("Manufacturing", "Construction", "Energy and Water", "Transport and Communication")
#: Provider names listed in the ``note`` of a provider count before "and N more".
PROVIDER_NAMES_SHOWN = 12
SMI_NOTE = ("the Social Mobility Index is not open data here: IoD 2019 Education, Skills and Training "
            "measures stand in for it")

SRC_MYE = "ONS mid-year population estimates (MYE2, April 2020 districts)"
SRC_POP15 = "ONS mid-2015 LSOA estimates (IoD 2019 File 6)"
SRC_APS_Q = "ONS Annual Population Survey, highest qualification (Nomis)"
SRC_APS_I = "ONS Annual Population Survey, employment by industry (Nomis)"
SRC_SSA = "DfE FE and skills: education and training achievements by SSA"
SRC_POC3 = "DfE apprenticeship starts by SSA and district (poc3)"
SRC_IOD = "MHCLG English indices of deprivation 2019"
SRC_OA = "DfE Opportunity Areas (2016-17), iot-geo list"
SRC_PROV = "iot-geo provider list (DfE KS5 2018/19, data.ac.uk, FE register)"


# ------------------------------------------------------------------ pure helpers (tested on hand-made tables)
def forecast_cohort(ages: pd.Series, *, base_year: int = FORECAST_BASE, years: Iterable[int] = FORECAST_YEARS,
                    lo: int = 16, hi: int = 18) -> pd.Series:
    """Age single-year cohorts forward: the people aged ``lo``-``hi`` in each year, no migration or mortality.

    Parameters
    ----------
    ages : pandas.Series
        People by single year of age in ``base_year`` (index: age in years).
    base_year : int
    years : iterable of int
        Years to forecast (>= ``base_year``).
    lo, hi : int
        The age band, inclusive.

    Returns
    -------
    pandas.Series
        year -> people; NaN where a cohort needed is missing from ``ages``.
    """
    out = {}
    for y in years:
        shift = int(y) - base_year
        if shift < 0:
            raise InvalidInputError(f"forecast year {y} is before the base year {base_year}")
        need = range(lo - shift, hi - shift + 1)
        if any(a < 0 or a not in ages.index for a in need):
            out[int(y)] = float("nan")
        else:
            out[int(y)] = float(ages.loc[list(need)].sum())
    return pd.Series(out, name="people", dtype=float)


def _share(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole and np.isfinite(whole) and np.isfinite(part) else float("nan")


def _names_note(names: Sequence[str]) -> str:
    shown = list(names[:PROVIDER_NAMES_SHOWN])
    more = len(names) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


# ------------------------------------------------------------------ the data, prepared once per data directory
@dataclass
class EvidenceData:
    """The evidence tables of one data directory, prepared once (:func:`load_evidence_data`) for every area question."""

    lsoa: pd.DataFrame  # English LSOAs: lsoa_code, lad17_code, lad21_code, people, people_16_59, IoD columns, in_oa
    mye: pd.DataFrame  # code x age (0..90) people
    aps_q: dict[int, pd.DataFrame]  # year -> code x qualification (16-64), English districts
    aps_q_supp: dict[int, pd.DataFrame]  # same shape, True where suppressed
    aps_i: dict[int, pd.DataFrame]
    aps_i_supp: dict[int, pd.DataFrame]
    ssa: pd.DataFrame  # code x ssa (achievements)
    ssa_supp: pd.DataFrame
    poc3: pd.DataFrame  # code x ssa (starts, all ages)
    dist: dict[str, pd.Series]  # source -> each LSOA's district code in that source
    providers: pd.DataFrame  # provider_id, name, provider_type, x, y
    poc3_unmatched: tuple[str, ...] = ()  # poc3.csv names that match no district (left out)


def _wide(df: pd.DataFrame, col: str, value: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    w = df.pivot_table(index="code", columns=col, values=value, aggfunc="first", dropna=False)
    supp = w.isna()
    return w, supp


@functools.lru_cache(maxsize=2)
def load_evidence_data(root: str) -> EvidenceData:
    """Read and prepare the evidence files of the data directory ``root`` (an absolute path; cached per folder)."""
    iod = src.load_iod_education(data_dir=root)  # the evidence files first: a missing one fails fast
    mye_long = src.load_mid2019_population(data_dir=root)
    lsoa = src.lsoa_districts(data_dir=root)
    pop = pd.DataFrame(population_data.load_population(data_dir=root)[["lsoa_code", "people", "people_16_59"]])
    lsoa = lsoa.merge(pop, on="lsoa_code", how="left").merge(iod, on="lsoa_code", how="left")
    oa = boundaries.load_areas("oa", data_dir=root)
    oa_lads = {c for codes in oa["lad_codes"] for c in codes.split(";")}
    lsoa["in_oa"] = lsoa["lad17_code"].isin(oa_lads)

    mye = mye_long.pivot_table(index="code", columns="age", values="people", aggfunc="first")

    q = src.load_aps_qualifications(data_dir=root)
    q = q[(q["geographic_level"] == "lad") & (q["age_band"] == "16-64") & q["code"].notna()]
    ind = src.load_aps_industry(data_dir=root)
    ind = ind[(ind["geographic_level"] == "lad") & ind["code"].notna()]
    aps_q, aps_q_supp, aps_i, aps_i_supp = {}, {}, {}, {}
    for y in APS_YEARS:
        aps_q[y], aps_q_supp[y] = _wide(q[q["year"] == y], "qualification", "people")
        aps_i[y], aps_i_supp[y] = _wide(ind[ind["year"] == y], "industry", "people")

    ssa_long = src.load_fes_ssa(data_dir=root)
    ssa_long = ssa_long[ssa_long["code"].notna()]
    ssa, ssa_supp = _wide(ssa_long, "ssa", "achievements")

    p3 = src.load_apprenticeship_starts(data_dir=root)
    unmatched = tuple(p3.attrs.get("unmatched", ()))
    p3 = p3[(p3["age"] == "Totals") & p3["code"].notna()]
    poc3 = p3.pivot_table(index="code", columns="ssa", values="starts", aggfunc="sum")

    dist = {
        "mye": src.source_districts(lsoa, mye.index),
        "aps": src.source_districts(lsoa, aps_q[APS_YEARS[0]].index),
        "ssa": src.source_districts(lsoa, ssa.index),
        "poc3": src.source_districts(lsoa, poc3.index),
    }
    prov = provider_data.load_providers(data_dir=root)
    providers = pd.DataFrame({"provider_id": prov["provider_id"], "name": prov["name"],
                              "provider_type": prov["provider_type"],
                              "x": prov.geometry.x.to_numpy(), "y": prov.geometry.y.to_numpy()})
    return EvidenceData(lsoa, mye, aps_q, aps_q_supp, aps_i, aps_i_supp, ssa, ssa_supp, poc3, dist, providers, unmatched)


# ------------------------------------------------------------------ measures for one set of LSOAs
@dataclass
class _Band:
    area: str
    band: str
    selected: np.ndarray  # bool over EvidenceData.lsoa
    geometry: Any  # shapely geometry for providers, or None
    note: str = ""


def _english_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[[src.is_english_district(c) for c in table.index]]


#: ``add(topic, measure, value, england, unit, source, year, note="")``: one evidence row of the band at hand.
_Add = Callable[..., None]


def _learner_rows(add: _Add, d: EvidenceData, sel: np.ndarray, frac: dict[str, pd.Series], eng: dict[str, Any]) -> None:
    """People aged 16-18, 19-24 and 16-59, and the 16-18 forecast to each of :data:`FORECAST_YEARS`."""
    nd = int((frac["mye"] > 0).sum())
    how = f"apportioned from {nd} district(s) by LSOA share of people" if nd else "no English LSOA in this area"
    ages = src.apportion(d.mye, frac["mye"])
    assert isinstance(ages, pd.Series)
    add("learners", "People aged 16-18", float(ages.loc[16:18].sum()), eng["mye"].loc[16:18].sum(), "people",
        SRC_MYE, "mid-2019", how + "; England row of the source")
    add("learners", "People aged 19-24", float(ages.loc[19:24].sum()), eng["mye"].loc[19:24].sum(), "people",
        SRC_MYE, "mid-2019", how + "; England row of the source")
    p1659 = d.lsoa["people_16_59"].to_numpy(dtype=float, na_value=np.nan)
    add("learners", "People aged 16-59", float(np.nansum(p1659[sel])), eng["p1659"], "people", SRC_POP15,
        "mid-2015", "sum of LSOAs; England = all English LSOAs")
    fc, fe = forecast_cohort(ages), forecast_cohort(eng["mye"])
    for y in FORECAST_YEARS:
        add("learners", f"Forecast: people aged 16-18 in {y}", float(fc[y]), float(fe[y]), "people", SRC_MYE,
            f"mid-2019 aged to {y}", "cohorts aged forward from mid-2019; no migration or mortality")


def _suppressed(supp: pd.DataFrame, frac: pd.Series) -> int:
    """How many suppressed cells the districts used (a fraction above 0) hold."""
    touched = frac[frac > 0].index
    return int(supp.reindex(touched).fillna(False).to_numpy().sum())


def _skills_rows(add: _Add, d: EvidenceData, frac: dict[str, pd.Series], eng: dict[str, Any]) -> None:
    """Shares of the 16-64s by highest qualification, in each of :data:`APS_YEARS`."""
    labels = {"NVQ4": "16-64 with NVQ4 or above", "NVQ3": "16-64 with NVQ3 as highest",
              "None": "16-64 with no qualifications"}
    for y in APS_YEARS:
        counts = src.apportion(d.aps_q[y], frac["aps"])
        assert isinstance(counts, pd.Series)
        n_supp = _suppressed(d.aps_q_supp[y], frac["aps"])
        total = float(counts.reindex(list(src.QUALIFICATIONS)).sum())
        e_counts = eng[f"aps_q{y}"]
        e_total = float(e_counts.reindex(list(src.QUALIFICATIONS)).sum())
        note = (f"{n_supp} suppressed cell(s) in the districts used, left out (not zero)" if n_supp else "")
        for q, label in labels.items():
            add("skills", label, _share(float(counts.get(q, np.nan)), total), _share(float(e_counts[q]), e_total),
                "%", SRC_APS_Q, str(y), "; ".join(x for x in (note, "England = sum of English districts "
                                                                  "(no England row in the APS file)") if x))


def _labour_rows(add: _Add, d: EvidenceData, frac: dict[str, pd.Series], eng: dict[str, Any]) -> None:
    """Employment shares and location quotients of :data:`LABOUR_INDUSTRIES` (the latest APS year)."""
    y = APS_YEARS[0]
    emp = src.apportion(d.aps_i[y], frac["aps"])
    assert isinstance(emp, pd.Series)
    n_supp = _suppressed(d.aps_i_supp[y], frac["aps"])
    total = float(emp.reindex(list(src.INDUSTRIES)).sum())
    e_emp = eng[f"aps_i{y}"]
    e_total = float(e_emp.reindex(list(src.INDUSTRIES)).sum())
    base = "England = sum of English districts (no England row in the APS file)"
    note = "; ".join(x for x in (f"{n_supp} suppressed cell(s) left out (not zero)" if n_supp else "", base) if x)
    for ind in LABOUR_INDUSTRIES:
        share, e_share = _share(float(emp.get(ind, np.nan)), total), _share(float(e_emp[ind]), e_total)
        add("labour market", f"Employment share: {ind}", share, e_share, "%", SRC_APS_I, str(y), note)
        add("labour market", f"Location quotient: {ind}", share / e_share if e_share else float("nan"), 1.0,
            "ratio to England", SRC_APS_I, str(y), note)


def _provider_count_rows(add: _Add, d: EvidenceData, geometry: Any) -> None:
    """The providers inside the area by type, named (none without a geometry)."""
    if geometry is None or shapely.is_empty(geometry):
        return
    inside = shapely.contains_xy(geometry, d.providers["x"].to_numpy(), d.providers["y"].to_numpy())
    found = d.providers[inside].sort_values(["provider_type", "name"])
    for ptype, grp in found.groupby("provider_type", sort=True):
        add("provider landscape", f"Providers: {ptype}", float(len(grp)), float("nan"), "providers", SRC_PROV,
            "2018/19", _names_note(list(grp["name"])) + " (England: not summed)")
    if found.empty:
        add("provider landscape", "Providers: none found", 0.0, float("nan"), "providers", SRC_PROV, "2018/19")


def _stem_rows(add: _Add, d: EvidenceData, frac: dict[str, pd.Series], eng: dict[str, Any]) -> None:
    """The STEM share of FE achievements, STEM apprenticeship starts and their share of all starts."""
    ssa = src.apportion(d.ssa, frac["ssa"])
    assert isinstance(ssa, pd.Series)
    touched = frac["ssa"][frac["ssa"] > 0].index
    n_supp = int(d.ssa_supp.reindex(touched)[list(src.STEM_SSAS)].fillna(False).to_numpy().sum())
    add("provider landscape", "STEM share of FE education and training achievements",
        _share(float(ssa.reindex(list(src.STEM_SSAS)).sum()), float(ssa.get("Total", np.nan))), eng["ssa"], "%",
        SRC_SSA, "2021/22", "; ".join(x for x in (
            f"{n_supp} suppressed (~, fewer than 5) STEM cell(s) left out" if n_supp else "",
            "England row of the source") if x))
    starts = src.apportion(d.poc3, frac["poc3"])
    assert isinstance(starts, pd.Series)
    stem_starts = float(starts.reindex(list(src.STEM_SSAS)).sum())
    add("provider landscape", "STEM apprenticeship starts", stem_starts, eng["poc3_stem"], "starts", SRC_POC3,
        "2016/17", "districts matched by name" + (f" ({', '.join(d.poc3_unmatched)} matched none: left out)"
                                                  if d.poc3_unmatched else "") + "; England = the file's Totals rows")
    add("provider landscape", "STEM share of apprenticeship starts", _share(stem_starts, float(starts.get("Totals", np.nan))),
        eng["poc3_share"], "%", SRC_POC3, "2016/17", "")


def _social_mobility_rows(add: _Add, d: EvidenceData, sel: np.ndarray, eng: dict[str, Any]) -> None:
    """People in England's most deprived 20% (IoD education domains), the IoD indicators, Opportunity Areas."""
    pp0 = np.nan_to_num(d.lsoa["people"].to_numpy(dtype=float, na_value=np.nan))
    in_people = float(pp0[sel].sum())
    for col, label in (("education_decile", "Education, Skills and Training domain"),
                       ("cyp_decile", "Children and young people sub-domain"),
                       ("adult_skills_decile", "Adult skills sub-domain")):
        low = d.lsoa[col].to_numpy(dtype=float, na_value=np.nan) <= 2
        n = float(pp0[sel & low].sum())
        add("social mobility", f"People in England's most deprived 20%: {label}", n, eng[f"{col}_n"], "people",
            SRC_IOD, "2019", SMI_NOTE)
        add("social mobility", f"Share of people in England's most deprived 20%: {label}", _share(n, in_people),
            eng[f"{col}_share"], "%", SRC_IOD, "2019", "England = all English LSOAs")
    for col, label in (("staying_on", "Staying on in education post-16 indicator"),
                       ("entry_to_he", "Entry to higher education indicator")):
        v = d.lsoa[col].to_numpy(dtype=float, na_value=np.nan)
        ok = sel & np.isfinite(v) & (pp0 > 0)
        val = float(np.average(v[ok], weights=pp0[ok])) if ok.any() else float("nan")
        add("social mobility", f"{label} (population-weighted)", val, eng[col], "IoD proportion", SRC_IOD, "2019",
            "as the IoD defines it: the proportion NOT staying on / NOT entering HE (higher = more deprived)")
    oa = d.lsoa["in_oa"].to_numpy(dtype=bool)
    n_oa = float(pp0[sel & oa].sum())
    add("social mobility", "People in an Opportunity Area", n_oa, eng["oa_n"], "people", SRC_OA, "2016-17",
        "LSOAs of the Opportunity Area districts (2017), people mid-2015")
    add("social mobility", "Share of people in an Opportunity Area", _share(n_oa, in_people), eng["oa_share"], "%",
        SRC_OA, "2016-17", "")


def _rows(d: EvidenceData, b: _Band, eng: dict[str, Any]) -> list[dict[str, Any]]:
    """Every evidence row of one area or band, topic by topic, beside England's figure."""
    rows: list[dict[str, Any]] = []

    def add(topic: str, measure: str, value: float, england: float, unit: str, source: str, year: str,
            note: str = "") -> None:
        rows.append({"area": b.area, "band": b.band, "measure": measure, "value": value, "england": england,
                     "unit": unit, "source": source, "year": year, "topic": topic,
                     "note": "; ".join(x for x in (note, b.note) if x)})

    frac = {k: src.district_fractions(v, d.lsoa["people"], b.selected) for k, v in d.dist.items()}
    _learner_rows(add, d, b.selected, frac, eng)
    _skills_rows(add, d, frac, eng)
    _labour_rows(add, d, frac, eng)
    _provider_count_rows(add, d, b.geometry)
    _stem_rows(add, d, frac, eng)
    _social_mobility_rows(add, d, b.selected, eng)
    return rows


@functools.lru_cache(maxsize=2)
def _england(root: str) -> dict[str, Any]:
    d = load_evidence_data(root)
    eng: dict[str, Any] = {}
    eng["mye"] = d.mye.loc[src.ENGLAND]
    eng["p1659"] = float(np.nansum(d.lsoa["people_16_59"].to_numpy(dtype=float, na_value=np.nan)))
    for y in APS_YEARS:
        eng[f"aps_q{y}"] = _english_rows(d.aps_q[y]).sum(min_count=1)
        eng[f"aps_i{y}"] = _english_rows(d.aps_i[y]).sum(min_count=1)
    e_ssa = pd.Series(d.ssa.loc[src.ENGLAND])
    eng["ssa"] = _share(float(e_ssa.reindex(list(src.STEM_SSAS)).sum()), float(e_ssa["Total"]))
    e_p3 = pd.Series(d.poc3.loc[src.ENGLAND])
    eng["poc3_stem"] = float(e_p3.reindex(list(src.STEM_SSAS)).sum())
    eng["poc3_share"] = _share(eng["poc3_stem"], float(e_p3["Totals"]))
    pp0 = np.nan_to_num(d.lsoa["people"].to_numpy(dtype=float, na_value=np.nan))
    total = float(pp0.sum())
    for col in ("education_decile", "cyp_decile", "adult_skills_decile"):
        low = d.lsoa[col].to_numpy(dtype=float, na_value=np.nan) <= 2
        eng[f"{col}_n"] = float(pp0[low].sum())
        eng[f"{col}_share"] = _share(eng[f"{col}_n"], total)
    for col in ("staying_on", "entry_to_he"):
        v = d.lsoa[col].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(v) & (pp0 > 0)
        eng[col] = float(np.average(v[ok], weights=pp0[ok]))
    eng["oa_n"] = float(pp0[d.lsoa["in_oa"].to_numpy(dtype=bool)].sum())
    eng["oa_share"] = _share(eng["oa_n"], total)
    return eng


def evidence_context(data_dir: str | os.PathLike[str] | None) -> tuple[str, EvidenceData, dict[str, Any]]:
    """The data directory, its prepared tables and England's figures (each built once per directory)."""
    root = str(settings.get_data_dir(data_dir).resolve())
    return root, load_evidence_data(root), _england(root)


# ------------------------------------------------------------------ areas
def _lsoa_lep17(root: str) -> pd.DataFrame:
    path = dataset_path("lookup_lsoa11_lep2017", data_dir=root)
    with reading("lookup_lsoa11_lep2017", path):
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)


def _by_geometry(d: EvidenceData, geom: Any, root: str) -> np.ndarray:
    pop = population_data.load_population(data_dir=root).set_index("lsoa_code").reindex(d.lsoa["lsoa_code"])
    xs = pop.geometry.x.to_numpy()
    ys = pop.geometry.y.to_numpy()
    return np.asarray(shapely.contains_xy(geom, xs, ys), dtype=bool)


def _bid_area(bid: Bid, d: EvidenceData, root: str) -> list[_Band]:
    """The bid's declared area(s): its LEP(s) and, where it names one, its combined authority."""
    out = []
    if bid.lep_codes:
        year = resolve_vintage("lep", bid.vintage.get("lep"))
        layer = boundaries.load_areas("lep", year, data_dir=root)
        geom = shapely.union_all(layer.loc[layer["code"].isin(bid.lep_codes), "geometry"].values)
        label = f"LEP {' + '.join(bid.lep_names)} ({year})"
        if year == 2017:
            lk = _lsoa_lep17(root)
            codes = set(bid.lep_codes)
            lsoas = set(lk.loc[lk["LEP17CD1"].isin(codes) | lk["LEP17CD2"].isin(codes), "LSOA11CD"])
            sel = d.lsoa["lsoa_code"].isin(lsoas).to_numpy()
        else:
            sel = _by_geometry(d, geom, root)
        out.append(_Band(bid.id, label, sel, geom, ""))
    if bid.ca_code:
        year = resolve_vintage("ca", bid.vintage.get("ca"))
        layer = boundaries.load_areas("ca", year, data_dir=root)
        row = layer[layer["code"] == bid.ca_code]
        geom = shapely.union_all(row.geometry.values)
        if "lad_codes" in row.columns and len(row):
            lads = set(str(row["lad_codes"].iloc[0]).split(";"))
            sel = (d.lsoa["lad17_code"].isin(lads) | d.lsoa["lad21_code"].isin(lads)).to_numpy()
        else:
            sel = _by_geometry(d, geom, root)
        out.append(_Band(bid.id, f"CA {bid.ca_name} ({year})", sel, geom, ""))
    return out


def _districts_area(items: Sequence[str], d: EvidenceData, root: str) -> _Band:
    ref = pd.concat([
        d.lsoa[["lad17_code", "lad17_name"]].set_axis(["code", "name"], axis=1),
        d.lsoa[["lad21_code", "lad21_name"]].set_axis(["code", "name"], axis=1),
    ]).drop_duplicates()
    by_norm = {src.normalise_district_name(n): c for c, n in zip(ref["code"], ref["name"], strict=True)}
    codes, names, unknown = [], [], []
    for item in items:
        code = item if item in set(ref["code"]) else by_norm.get(src.normalise_district_name(item))
        if code is None:
            unknown.append(item)
        else:
            codes.append(code)
            names.append(ref.loc[ref["code"] == code, "name"].iloc[0])
    if unknown:
        raise InvalidInputError(
            f"area_evidence: {', '.join(map(repr, unknown))} is not an English district (2017 or 2021 code or "
            "name), LEP or combined authority; give a code such as E06000017 or a name such as 'Rutland'")
    sel = (d.lsoa["lad17_code"].isin(codes) | d.lsoa["lad21_code"].isin(codes)).to_numpy()
    geoms = []
    for year in (2017, 2021):
        lads = boundaries.load_areas("lad", year, data_dir=root)
        geoms.extend(lads.loc[lads["code"].isin(codes), "geometry"].values)
    geom = shapely.union_all(geoms) if geoms else None
    label = ", ".join(dict.fromkeys(names))
    return _Band(label, "districts: " + label, sel, geom, "")


def _named_area(text: str, d: EvidenceData, root: str) -> _Band:
    norm = src.normalise_district_name(text)
    lk = _lsoa_lep17(root)
    for col in ("1", "2"):
        hit = lk[(lk[f"LEP17CD{col}"] == text) | (lk[f"LEP17NM{col}"].map(src.normalise_district_name) == norm)]
        if len(hit):
            code = hit[f"LEP17CD{col}"].iloc[0]
            name = hit[f"LEP17NM{col}"].iloc[0]
            lsoas = set(lk.loc[(lk["LEP17CD1"] == code) | (lk["LEP17CD2"] == code), "LSOA11CD"])
            layer = boundaries.load_areas("lep", 2017, data_dir=root)
            geom = shapely.union_all(layer.loc[layer["code"] == code, "geometry"].values)
            return _Band(name, f"LEP {name} (2017)", d.lsoa["lsoa_code"].isin(lsoas).to_numpy(), geom, "")
    for kind, year in (("lep", 2021), ("ca", 2017), ("ca", None)):
        layer = boundaries.load_areas(kind, year, data_dir=root)
        hit = layer[(layer["code"] == text) | (layer["name"].map(src.normalise_district_name) == norm)]
        if len(hit):
            row = hit.iloc[0]
            geom = row.geometry
            if "lad_codes" in hit.columns and isinstance(row.get("lad_codes"), str) and row["vintage"] == 2017:
                lads = set(row["lad_codes"].split(";"))
                sel = (d.lsoa["lad17_code"].isin(lads) | d.lsoa["lad21_code"].isin(lads)).to_numpy()
            else:
                sel = _by_geometry(d, geom, root)
            return _Band(str(row["name"]), f"{kind.upper()} {row['name']} ({row['vintage']})", sel, geom, "")
    return _districts_area([text], d, root)


def _catchment_bands(bid: Bid, network: Any, bands: list[float], d: EvidenceData, root: str) -> list[_Band]:
    net = pick_network(network, bid.sites, label=f"bid {bid.id!r}")
    det = catchment_detail(net, bid.grouped_sites(), minutes=bands, union=True, data_dir=root)
    codes = det.population["lsoa_code"].to_numpy()
    out = []
    for band in bands:
        reached = set(codes[det.unit_minutes[0] <= band])
        row = det.table[det.table["minutes"] == (int(band) if float(band).is_integer() else band)].iloc[0]
        note = "catchment reaches the edge of the network: a lower bound" if bool(row["truncated"]) else ""
        out.append(_Band(bid.id, f"{band:g} min {net.mode}", d.lsoa["lsoa_code"].isin(reached).to_numpy(),
                         row.geometry, note))
    return out


def lsoa_evidence(
    lsoa_codes: Iterable[str],
    *,
    area: str = "",
    band: str = "",
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """The evidence rows of :func:`area_evidence` for an explicit set of LSOAs (providers left out).

    Parameters
    ----------
    lsoa_codes : iterable of str
        LSOA (2011) codes, for example those a catchment reaches; non-English codes are ignored.
    area, band : str
        Written into the ``area`` and ``band`` columns.
    data_dir : path, optional

    Returns
    -------
    pandas.DataFrame
        As :func:`area_evidence`.
    """
    _, d, eng = evidence_context(data_dir)
    sel = d.lsoa["lsoa_code"].isin(set(lsoa_codes)).to_numpy()
    return pd.DataFrame(_rows(d, _Band(area, band, sel, None), eng), columns=COLUMNS)


def area_evidence(
    area_or_bid: Bid | Bids | str | Sequence[str],
    *,
    network: Any = None,
    minutes: Sequence[float] | float | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Learners, skills, labour market, provider landscape and social mobility for an area, with England.

    Parameters
    ----------
    area_or_bid : Bid, Bids, str or list of str
        A bid (its declared LEP, else its combined authority), every bid of a
        file, an area code or name (a district, a 2017 or 2021 LEP, a combined
        authority), or a list of district codes or names.
    network : RoutingNetwork or list of them, optional
        With a bid: also each catchment band (LSOAs reached within it).
    minutes : float or sequence of float, optional
        Catchment bands in minutes (default 30, 45, 60); needs ``network``.
    data_dir : path, optional

    Returns
    -------
    pandas.DataFrame
        ``area, band, measure, value, england, unit, source, year, topic, note``:
        one row per figure. ``area`` is the bid id (or the area's name),
        ``band`` the declared area or a catchment band ("30 min drive");
        ``unit`` is ``people``, ``%``, ``ratio to England``, ``starts``,
        ``providers`` or ``IoD proportion``. See the module docstring for how
        figures are apportioned, what England is, and the forecast.

    Raises
    ------
    InvalidInputError
        An area that is not a known district, LEP or combined authority.
    DataNotFoundError
        An evidence file is missing from the data directory.

    Examples
    --------
    >>> import iot_geo as ig
    >>> ev = ig.area_evidence("Rutland")
    >>> int(ev.loc[ev["measure"] == "People aged 16-18", "value"].iloc[0])
    1591
    """
    root, d, eng = evidence_context(data_dir)
    bands = check_minutes(minutes if minutes is not None else (30, 45, 60))
    if isinstance(area_or_bid, Bids):
        items: list[Bid] = list(area_or_bid)
        parts: list[_Band] = []
    elif isinstance(area_or_bid, Bid):
        items = [area_or_bid]
        parts = []
    elif isinstance(area_or_bid, str):
        items, parts = [], [_named_area(area_or_bid, d, root)]
    else:
        items, parts = [], [_districts_area([str(x) for x in area_or_bid], d, root)]
    for bid in items:
        parts.extend(_bid_area(bid, d, root))
        if network is not None:
            parts.extend(_catchment_bands(bid, network, bands, d, root))
    rows = [r for b in parts for r in _rows(d, b, eng)]
    return pd.DataFrame(rows, columns=COLUMNS)


def evidence_table(evidence: pd.DataFrame) -> pd.DataFrame:
    """One area's evidence side by side: a row per measure, a column per band, England, and the source.

    Parameters
    ----------
    evidence : pandas.DataFrame
        Rows of :func:`area_evidence` for one ``area``.

    Returns
    -------
    pandas.DataFrame
        ``topic, measure, unit, <band>..., England, year, source``, a row per measure and year, in the
        order they first appear.
    """
    if evidence.empty:
        return pd.DataFrame(columns=["topic", "measure", "unit", "England", "year", "source"])
    keys = ["topic", "measure", "unit", "year"]
    order = evidence.drop_duplicates(keys)[[*keys, "england", "source"]].reset_index(drop=True)
    wide = evidence.pivot_table(index=keys, columns="band", values="value", aggfunc="first", dropna=False, sort=False)
    bands = list(dict.fromkeys(evidence["band"]))
    out = order.merge(wide[bands].reset_index(), on=keys, how="left")
    out = out.rename(columns={"england": "England"})
    return out[["topic", "measure", "unit", *bands, "England", "year", "source"]]


def bid_catchment_evidence(
    catchments: Any,
    *,
    population: Any = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """:func:`area_evidence` for every bid of an already computed :class:`iot_geo.overlap.BidCatchments`.

    The declared area of each bid, then each band of its union catchment (the
    LSOAs it reaches, and its polygon for the providers), without routing again.

    Parameters
    ----------
    catchments : iot_geo.overlap.BidCatchments
    population : GeoDataFrame, optional
        The population table the catchments were computed on (default the data directory's).
    data_dir : path, optional

    Returns
    -------
    pandas.DataFrame
        As :func:`area_evidence`.
    """
    root, d, eng = evidence_context(data_dir)
    codes = population_or_load(root, population).reset_index(drop=True)["lsoa_code"].to_numpy()
    table = catchments.table
    parts: list[_Band] = []
    for i, bid in enumerate(catchments.bids):
        parts.extend(_bid_area(bid, d, root))
        for band in catchments.bands:
            reached = set(codes[catchments.minutes[i] <= band])
            rows = table[(table["group_id"] == bid.id) & (table["minutes"].astype(float) == float(band))]
            geom = rows.geometry.iloc[0] if len(rows) else None
            note = ("catchment reaches the edge of the network: a lower bound"
                    if len(rows) and bool(rows["truncated"].iloc[0]) else "")
            parts.append(_Band(bid.id, f"{band:g} min {catchments.mode}",
                               d.lsoa["lsoa_code"].isin(reached).to_numpy(), geom, note))
    return pd.DataFrame([r for b in parts for r in _rows(d, b, eng)], columns=COLUMNS)


def format_figure(value: Any, unit: str) -> str:
    """An evidence figure as text by its unit: ``12.3%`` for ``%``, two decimals for ratios, else a whole number.

    ``n/a`` for a missing or non-finite value.
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    v = float(value)
    if unit == "%":
        return f"{v:.1f}%"
    if unit in ("ratio to England", "IoD proportion"):
        return f"{v:.2f}"
    return f"{v:,.0f}"


#: The few figures shown in a bid's map popup.
POPUP_MEASURES = (
    ("People aged 16-18", None),
    (f"Forecast: people aged 16-18 in {FORECAST_YEARS[-1]}", None),
    ("16-64 with NVQ4 or above", str(APS_YEARS[0])),
    ("Location quotient: Manufacturing", None),
    ("Share of people in England's most deprived 20%: Education, Skills and Training domain", None),
    ("Share of people in an Opportunity Area", None),
)


def evidence_popup_lines(evidence: pd.DataFrame, bid_id: str) -> list[str]:
    """A bid's key evidence as lines of text for a map popup (declared area, largest band, England).

    Plain text: the map sets it with ``textContent`` (see :mod:`iot_geo.maps`), so nothing here is HTML.
    Empty when ``evidence`` has no rows for the bid.
    """
    part = evidence[evidence["area"] == bid_id]
    if part.empty:
        return []
    bands = list(dict.fromkeys(part["band"]))
    cols = [bands[0], bands[-1]] if len(bands) > 1 else bands[:1]
    lines = ["Evidence (" + " / ".join([*map(str, cols), "England"]) + "):"]
    for measure, year in POPUP_MEASURES:
        sel = part[(part["measure"] == measure) & ((part["year"] == year) if year else True)]
        if sel.empty:
            continue
        by_band = sel.set_index("band")
        unit = str(sel["unit"].iloc[0])
        values = [format_figure(by_band.loc[c, "value"] if c in by_band.index else None, unit) for c in cols]
        lines.append(f"{measure} ({sel['year'].iloc[0]}): " + " / ".join([*values, format_figure(sel["england"].iloc[0], unit)]))
    return lines


#: How the evidence figures are made (shown under every evidence table).
EVIDENCE_METHOD = (
    "England is the source's England row where it has one, else the sum of English districts (APS) or of "
    "English LSOAs (IoD). Catchments apportion district figures by each LSOA's share of its district's "
    "people. The 16-18 forecast ages the mid-2019 cohorts with no migration or mortality; " + SMI_NOTE + ".")


def evidence_parts(evidence: pd.DataFrame, bid_id: str) -> tuple[pd.DataFrame, list[str], str] | None:
    """A bid's evidence as text for a page: the table, the numbered sources and the method note.

    The table is wide (values formatted, sources as ``[n]``). None when ``evidence`` has no rows for the bid.
    Nothing here is HTML: the page template escapes it.
    """
    part = evidence[evidence["area"] == bid_id]
    if part.empty:
        return None
    wide = evidence_table(part)
    sources = list(dict.fromkeys(wide["source"]))
    ref = {s: i for i, s in enumerate(sources, 1)}
    bands = [c for c in wide.columns if c not in ("topic", "measure", "unit", "England", "year", "source")]
    out = pd.DataFrame({"measure": wide["measure"].astype(str)})
    for col in [*bands, "England"]:
        out[str(col)] = [format_figure(v, str(u)) for v, u in zip(wide[col], wide["unit"], strict=True)]
    out["year"] = wide["year"].astype(str)
    out["source"] = [f"[{ref[s]}]" for s in wide["source"]]
    return out, [f"[{i}] {s}" for s, i in ref.items()], EVIDENCE_METHOD


def evidence_html(evidence: pd.DataFrame, bid_id: str) -> str:
    """A bid's evidence as an HTML section (a table per measure and band, England, year, numbered sources).

    Every text is HTML-escaped; empty when ``evidence`` has no rows for the bid.
    """
    parts = evidence_parts(evidence, bid_id)
    if parts is None:
        return ""
    wide, sources, method = parts
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in wide.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
                   for r in wide.itertuples(index=False, name=None))
    notes = "".join(f"<li>{html.escape(s)}</li>" for s in sources)
    return (f"<h3>Area evidence</h3><table class='t'><tr>{head}</tr>{rows}</table>"
            f"<ul class='small'>{notes}</ul><p class='small'>{html.escape(method)}</p>")
