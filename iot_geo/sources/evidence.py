"""Area evidence tables: learners, skills, labour market, FE provision and deprivation sub-domains.

Each loader reads one catalogued file (see ``evidence/PROVENANCE.md`` in the
data directory) and returns a tidy table keyed by official codes.

Suppressed cells
    The APS and DfE files mark suppressed or unreliable cells with ``c``,
    ``~``, ``x``, ``low`` or ``:`` (:data:`SUPPRESSED`). They are read as
    missing (NaN), never as zero, and counted: every loader puts the count in
    ``table.attrs["suppressed"]``.

Districts named without codes
    The APS tables and DfE's ``poc3.csv`` name districts but give no code. A
    name is matched to a code by :func:`match_district_names`: both sides are
    normalised by :func:`normalise_district_name` (accents dropped, lower case,
    ``&`` read as ``and``, apostrophes and full stops removed, every other run
    of non-alphanumerics a single space), and a name matches the one reference
    district with the same normal form. The reference is the vintage the file
    uses (APS: 2021 districts; ``poc3.csv``: 2017 districts). Names that match
    nothing are kept with a missing code and listed in
    ``table.attrs["unmatched"]``.

District vintages
    The files use 2017 (``poc3.csv``), April 2020 (mid-2019 estimates) and 2021
    (APS, DfE 2021/22) district codes. Between 2017 and 2021 English districts
    only merged, so each LSOA (2011) gets its 2017 district from the ONS
    LSOA-to-LAD (2017) lookup and its 2021 district from the ONS LAD (2011) to
    LAD (2021) lookup (:func:`lsoa_districts`). For a source keyed by some set
    of codes, an LSOA belongs to its 2017 district where the source has that
    code, otherwise to its 2021 district (:func:`source_districts`): this
    reads an April 2020 table (which has Buckinghamshire merged but the
    Northamptonshire districts not yet) correctly without a 2020 lookup.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd

from iot_geo import settings
from iot_geo.errors import InvalidInputError
from iot_geo.sources.catalogue import dataset_path, reading

__all__ = [
    "ENGLAND", "INDUSTRIES", "QUALIFICATIONS", "STEM_SSAS", "SUPPRESSED", "apportion", "district_fractions",
    "is_english_district", "load_apprenticeship_starts", "load_aps_industry", "load_aps_qualifications",
    "load_fes_ssa", "load_iod_education", "load_mid2019_population", "lsoa_districts", "match_district_names",
    "normalise_district_name", "source_districts", "to_number",
]


#: Cell markers that mean "suppressed or unreliable": read as missing, never zero.
SUPPRESSED = frozenset({"c", "~", "x", "low", ":"})
#: The code of England.
ENGLAND = "E92000001"
#: Sector subject areas (tier 1) counted as STEM in the provider landscape (issue 14's list).
STEM_SSAS = (
    "Engineering and Manufacturing Technologies",
    "Construction, Planning and the Built Environment",
    "Information and Communication Technology",
    "Health, Public Services and Care",
    "Science and Mathematics",
)
#: APS highest-qualification categories for ages 16-64 (together, everyone aged 16-64).
QUALIFICATIONS = ("None", "NVQ1", "NVQ2", "trade apprenticeships", "NVQ3", "NVQ4", "Other Qualifications")
#: APS broad industry groups (together, everyone in employment).
INDUSTRIES = (
    "Agriculture and Fishing", "Energy and Water", "Manufacturing", "Construction",
    "Distribution, Hotel and Restaurants", "Transport and Communication", "Banking, Finance and Insurance",
    "Public Administration, Education and Health", "Other Services",
)


def _root(data_dir: str | os.PathLike[str] | None) -> str:
    return str(settings.get_data_dir(data_dir).resolve())


def is_english_district(code: object) -> bool:
    """Whether a code is an English lower-tier district (E06, E07, E08, E09)."""
    return isinstance(code, str) and code[:3] in ("E06", "E07", "E08", "E09")


def to_number(values: pd.Series, *, where: str = "") -> tuple[pd.Series, int]:
    """Read a column of counts: suppression markers become NaN (never zero), and are counted.

    Parameters
    ----------
    values : pandas.Series
        The column as read (text or numbers; thousands separators allowed).
    where : str
        Named in the error for a cell that is neither a number, blank nor a marker.

    Returns
    -------
    (pandas.Series of float, int)
        The numbers, and how many cells carried a suppression marker.
    """
    text = values.astype("string").str.strip()
    marked = text.isin(SUPPRESSED).fillna(False).to_numpy(dtype=bool)
    cleaned = text.str.replace(",", "", regex=False).mask(marked)
    num = pd.to_numeric(cleaned, errors="coerce")
    bad = num.isna().to_numpy(dtype=bool) & ~marked & text.notna().to_numpy(dtype=bool) & (text != "").to_numpy(
        dtype=bool, na_value=False)
    if bad.any():
        first = text[bad].iloc[0]
        raise InvalidInputError(
            f"{where}: {int(bad.sum())} cell(s) are neither numbers nor suppression markers "
            f"({', '.join(sorted(SUPPRESSED))}), first {first!r}; check the file with `iot-geo data check`"
        )
    return pd.Series(num.to_numpy(dtype=float, na_value=np.nan), index=values.index, name=values.name), int(marked.sum())


def normalise_district_name(name: str) -> str:
    """The normal form two district names must share to match (see the module docstring)."""
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    s = s.lower().replace("&", " and ")
    s = re.sub(r"['’`.]", "", s)
    return re.sub(r"[^a-z0-9]+", " ", s).strip()


def match_district_names(names: Iterable[str], reference: pd.DataFrame) -> pd.DataFrame:
    """Match district names to codes by their normal form.

    Parameters
    ----------
    names : iterable of str
        Names as a file gives them.
    reference : pandas.DataFrame
        ``code, name`` of the districts of the vintage the file uses.

    Returns
    -------
    pandas.DataFrame
        ``name, code, reference_name``, one row per distinct name; ``code`` is
        missing (``<NA>``) where no reference district has the same normal form.

    Raises
    ------
    InvalidInputError
        If two reference districts share a normal form (the rule would be ambiguous).
    """
    ref = reference[["code", "name"]].drop_duplicates()
    norm = ref["name"].map(normalise_district_name)
    dup = norm[norm.duplicated(keep=False)]
    if len(dup):
        raise InvalidInputError(f"district names {sorted(ref.loc[dup.index, 'name'])} share a normal form; "
                                "the name matcher cannot tell them apart")
    lookup = dict(zip(norm, zip(ref["code"], ref["name"], strict=True), strict=True))
    rows = []
    for n in dict.fromkeys(names):
        hit = lookup.get(normalise_district_name(n))
        rows.append({"name": n, "code": hit[0] if hit else pd.NA, "reference_name": hit[1] if hit else pd.NA})
    return pd.DataFrame(rows, columns=["name", "code", "reference_name"]).astype("string")


# ------------------------------------------------------------------ district bridge
@functools.lru_cache(maxsize=2)
def _lsoa_districts(root: str) -> pd.DataFrame:
    p17 = dataset_path("lookup_lsoa11_lad2017", data_dir=root)
    p21 = dataset_path("lookup_lad11_lad21", data_dir=root)
    with reading("lookup_lsoa11_lad2017", p17):
        l17 = pd.read_csv(p17, dtype=str, encoding="utf-8-sig", usecols=["LSOA11CD", "LAD17CD", "LAD17NM"])
    with reading("lookup_lad11_lad21", p21):
        l21 = pd.read_csv(p21, dtype=str, encoding="utf-8-sig", usecols=["LAD11CD", "LAD21CD", "LAD21NM"])
    succ = dict(zip(l21["LAD11CD"], l21["LAD21CD"], strict=True))
    names21 = dict(zip(l21["LAD21CD"], l21["LAD21NM"], strict=False))
    lad21 = l17["LAD17CD"].map(lambda c: succ.get(c, c))
    unknown = sorted(set(lad21) - set(names21))
    if unknown:
        raise InvalidInputError(f"LAD 2017 code(s) {unknown} have no 2021 successor in lookup_lad11_lad21")
    out = pd.DataFrame({
        "lsoa_code": l17["LSOA11CD"], "lad17_code": l17["LAD17CD"], "lad17_name": l17["LAD17NM"],
        "lad21_code": lad21, "lad21_name": lad21.map(names21),
    })
    return out.sort_values("lsoa_code").reset_index(drop=True)


def lsoa_districts(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every English LSOA (2011) with its 2017 and 2021 district.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code, lad17_code, lad17_name, lad21_code, lad21_name`` (32,844 rows).
    """
    return _lsoa_districts(_root(data_dir)).copy()


def source_districts(lsoa: pd.DataFrame, codes: Iterable[str]) -> pd.Series:
    """Each LSOA's district in a source keyed by ``codes``: its 2017 code if the source has it, else its 2021 code.

    Returns
    -------
    pandas.Series
        Aligned with ``lsoa``; missing where the source has neither code.
    """
    have = set(codes)
    out = lsoa["lad17_code"].where(lsoa["lad17_code"].isin(have), lsoa["lad21_code"])
    return out.where(out.isin(have)).astype("string")


def district_fractions(district: pd.Series, weight: pd.Series, selected: np.ndarray) -> pd.Series:
    """The share of each district's weight (people) that the selected LSOAs hold.

    Parameters
    ----------
    district : pandas.Series
        Each LSOA's district code (missing where unknown).
    weight : pandas.Series
        Each LSOA's people (the apportioning weight), aligned with ``district``.
    selected : numpy.ndarray of bool
        Which LSOAs are in the area.

    Returns
    -------
    pandas.Series
        district code -> fraction in [0, 1], for districts with any selected LSOA.
    """
    d = np.asarray(district.astype(object).where(district.notna(), None), dtype=object)
    w = np.nan_to_num(weight.to_numpy(dtype=float, na_value=np.nan))
    ok = pd.notna(d)
    total = pd.Series(w[ok]).groupby(d[ok]).sum()
    sel = ok & np.asarray(selected, dtype=bool)
    inside = pd.Series(w[sel]).groupby(d[sel]).sum()
    frac = inside / total.reindex(inside.index)
    return frac.fillna(0.0).clip(0.0, 1.0)


def apportion(values: pd.DataFrame | pd.Series, fractions: pd.Series) -> pd.Series | float:
    """Sum district values weighted by the area's fraction of each district (missing values skipped).

    ``values`` is indexed by district code (a Series gives a float, a DataFrame a
    Series per column). A district in ``fractions`` that ``values`` lacks adds nothing.
    """
    v = values.reindex(fractions.index)
    if isinstance(v, pd.DataFrame):
        return v.mul(fractions, axis=0).sum(min_count=1)
    return float(v.mul(fractions).sum(min_count=1))


# ------------------------------------------------------------------ loaders
def _fresh(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a cached table that the caller may change, with its ``attrs`` (counts, unmatched names)."""
    out = table.copy()
    out.attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in table.attrs.items()}
    return out


def _read_csv(name: str, root: str) -> pd.DataFrame:
    path = dataset_path(name, data_dir=root)
    with reading(name, path):
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)


@functools.lru_cache(maxsize=2)
def _lad_names(root: str, vintage: int) -> pd.DataFrame:
    lk = _lsoa_districts(root)
    col = "lad17" if vintage == 2017 else "lad21"
    return (lk[[f"{col}_code", f"{col}_name"]].drop_duplicates().set_axis(["code", "name"], axis=1)
            .reset_index(drop=True))


@functools.lru_cache(maxsize=2)
def _load_mye(root: str) -> pd.DataFrame:
    path = dataset_path("mye2019_lad", data_dir=root)
    with reading("mye2019_lad", path):
        raw = pd.read_excel(path, sheet_name="MYE2 - Persons", header=4, engine="calamine")
        raw = raw[raw["Code"].notna() & raw["Geography1"].notna()]
        ages = [c for c in raw.columns if isinstance(c, int | float) or c == "90+"]
        if len(ages) != 91:
            raise ValueError(f"expected ages 0 to 90+, found {len(ages)} age columns")
        long = raw.melt(id_vars=["Code", "Name", "Geography1"], value_vars=ages, var_name="age", value_name="people")
    long["age"] = long["age"].map(lambda a: 90 if a == "90+" else int(a))
    people, supp = to_number(long["people"], where=str(path))
    out = pd.DataFrame({"code": long["Code"].astype(str), "name": long["Name"].astype(str),
                        "geography": long["Geography1"].astype(str), "age": long["age"].astype(int),
                        "people": people})
    out = out.sort_values(["code", "age"]).reset_index(drop=True)
    out.attrs["suppressed"] = supp
    return out


def load_mid2019_population(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """ONS mid-2019 population by single year of age (0 to 89, and 90 meaning 90 and over).

    Returns
    -------
    pandas.DataFrame
        ``code, name, geography, age, people``: UK, countries, regions, counties
        and districts on April 2020 codes; England is ``E92000001``.
    """
    return _fresh(_load_mye(_root(data_dir)))


def _aps(name: str, root: str, value_cols: list[str]) -> pd.DataFrame:
    raw = _read_csv(name, root)
    path = dataset_path(name, data_dir=root)
    raw = raw[raw["geographic_level"].isin(["LADU", "LEP"])].copy()  # LSIP rows have no code here; the ONS caveat goes
    lad = match_district_names(raw.loc[raw["geographic_level"] == "LADU", "area"], _lad_names(root, 2021))
    lep_ref = _read_csv("lep2020_codes", root).rename(columns={"ERCD": "code", "ERNM": "name"})
    lep = match_district_names(raw.loc[raw["geographic_level"] == "LEP", "area"], lep_ref)
    code = pd.Series(pd.NA, index=raw.index, dtype="string")
    is_lad = (raw["geographic_level"] == "LADU").to_numpy()
    code[is_lad] = raw.loc[is_lad, "area"].map(dict(zip(lad["name"], lad["code"], strict=True))).to_numpy()
    code[~is_lad] = raw.loc[~is_lad, "area"].map(dict(zip(lep["name"], lep["code"], strict=True))).to_numpy()
    long = raw.assign(code=code).melt(id_vars=["code", "area", "geographic_level", "year"], value_vars=value_cols,
                                      var_name="column", value_name="raw")
    value, supp = to_number(long["raw"], where=str(path))
    out = long.drop(columns="raw").rename(columns={"area": "name"}).assign(value=value)
    out["year"] = out["year"].astype(int)
    out["geographic_level"] = out["geographic_level"].map({"LADU": "lad", "LEP": "lep"})
    out.attrs["suppressed"] = supp
    out.attrs["unmatched"] = sorted(set(lad.loc[lad["code"].isna(), "name"]) | set(lep.loc[lep["code"].isna(), "name"]))
    return out


@functools.lru_cache(maxsize=2)
def _load_aps_q(root: str) -> pd.DataFrame:
    raw_cols = [c for c in _read_csv("aps_qualifications", root).columns if c[:5].replace("-", "").isdigit()]
    out = _aps("aps_qualifications", root, raw_cols)
    split = out["column"].str.split(" ", n=1, expand=True)
    attrs = dict(out.attrs)
    out = out.assign(age_band=split[0], qualification=split[1]).drop(columns="column")
    out = out[["code", "name", "geographic_level", "year", "age_band", "qualification", "value"]].rename(
        columns={"value": "people"})
    out.attrs.update(attrs)
    return out


def load_aps_qualifications(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """ONS Annual Population Survey: people by highest qualification and age, 2017-2021.

    Returns
    -------
    pandas.DataFrame
        ``code, name, geographic_level (lad|lep), year, age_band, qualification, people``.
        Districts on 2021 codes (matched by name), LEPs on 2020 codes; LSIP
        rows are left out. ``people`` is NaN where suppressed;
        ``attrs["suppressed"]`` counts those cells, ``attrs["unmatched"]``
        lists names with no code. The file has no England row.
    """
    return _fresh(_load_aps_q(_root(data_dir)))


@functools.lru_cache(maxsize=2)
def _load_aps_i(root: str) -> pd.DataFrame:
    out = _aps("aps_industry", root, list(INDUSTRIES))
    attrs = dict(out.attrs)
    out = out.rename(columns={"column": "industry", "value": "people"})
    out.attrs.update(attrs)
    return out


def load_aps_industry(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """ONS Annual Population Survey: people in employment by broad industry group, 2017-2021.

    Returns
    -------
    pandas.DataFrame
        ``code, name, geographic_level (lad|lep), year, industry, people``; as
        :func:`load_aps_qualifications` for codes and suppression. The row whose
        ``area`` is a pasted ONS caveat is dropped.
    """
    return _fresh(_load_aps_i(_root(data_dir)))


def _period(tp: str) -> str:
    return f"{tp[:4]}/{tp[4:]}" if len(tp) == 6 and tp.isdigit() else tp


def _dfe(name: str, root: str, keep: list[str], value: str) -> pd.DataFrame:
    raw = _read_csv(name, root)
    path = dataset_path(name, data_dir=root)
    num, supp = to_number(raw[value], where=str(path))
    level = raw["geographic_level"].map({"localAuthorityDistrict": "lad", "Local authority district": "lad",
                                         "region": "region", "country": "country"}).fillna(raw["geographic_level"])
    code = raw["location_code"].where(raw["location_code"].str.match(r"^[EWSNK]\d{8}$"))
    out = pd.DataFrame({"code": code.astype("string"), "name": raw["location"], "geographic_level": level,
                        "year": raw["time_period"].map(_period)})
    for k, new in zip(keep, [k.replace("ssa_t1_desc", "ssa").replace("level_or_type", "type") for k in keep],
                      strict=True):
        out[new] = raw[k]
    out["achievements"] = num
    out.attrs["suppressed"] = supp
    out.attrs["unmatched"] = sorted(set(raw.loc[code.isna(), "location"]))
    return out


@functools.lru_cache(maxsize=2)
def _load_fes_ssa(root: str) -> pd.DataFrame:
    return _dfe("fes_ssa_lad", root, ["ssa_t1_desc"], "e_and_t_aims_ach")


def load_fes_ssa(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """DfE education and training aims achieved by sector subject area (tier 1), 2021/22.

    Returns
    -------
    pandas.DataFrame
        ``code, name, geographic_level (lad|region|country), year, ssa, achievements``
        (all levels, ethnicities and genders together; ``ssa == "Total"`` is
        every area). ``~`` (fewer than 5) is NaN and counted. The row for
        "Outside of England and unknown" has no code.
    """
    return _fresh(_load_fes_ssa(_root(data_dir)))


@functools.lru_cache(maxsize=2)
def _load_poc3(root: str) -> pd.DataFrame:
    raw = _read_csv("apprenticeships_poc3", root)
    path = dataset_path("apprenticeships_poc3", data_dir=root)
    starts, s1 = to_number(raw["Starts"], where=str(path))
    ach, s2 = to_number(raw["Achievements"], where=str(path))
    names = raw["la_name"]
    matched = match_district_names(names[names != "Totals"], _lad_names(root, 2017))
    code = names.map(dict(zip(matched["name"], matched["code"], strict=True))).astype("string")
    code[names == "Totals"] = ENGLAND  # the file's all-district total: England
    out = pd.DataFrame({"code": code, "name": names, "year": raw["year"].map(_period), "ssa": raw["SSA"],
                        "age": raw["Age"], "starts": starts, "achievements": ach})
    out.attrs["suppressed"] = s1 + s2
    out.attrs["unmatched"] = sorted(set(matched.loc[matched["code"].isna(), "name"]))
    return out


def load_apprenticeship_starts(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """DfE apprenticeship starts and achievements by sector subject area, age and district, 2016/17.

    The file names districts without codes: they are matched to 2017 district
    codes by :func:`match_district_names`; its ``Totals`` rows are England
    (``E92000001``), and names that match no district (``Other``) keep a
    missing code and are listed in ``attrs["unmatched"]``.

    Returns
    -------
    pandas.DataFrame
        ``code, name, year, ssa, age, starts, achievements``.
    """
    return _fresh(_load_poc3(_root(data_dir)))


def _read_rda(name: str, root: str) -> pd.DataFrame:
    import pyreadr  # deferred: the R-data reader loads only when that file is read

    path = dataset_path(name, data_dir=root)
    with reading(name, path):
        frames = pyreadr.read_r(str(path))
        if len(frames) != 1:
            raise ValueError(f"expected one data frame, found {len(frames)}")
        frame: pd.DataFrame = next(iter(frames.values()))
        return frame


@functools.lru_cache(maxsize=2)
def _load_iod(root: str) -> pd.DataFrame:
    dom = _read_rda("iod2019_domains_rda", root)[["lsoa11_code", "Education_decile", "Education_rank"]]
    sub = _read_rda("iod2019_subdomains_rda", root)[
        ["lsoa11_code", "Children_and_young_people_decile", "Adult_skills_decile"]]
    ind = _read_rda("iod2019_indicators_rda", root)[
        ["lsoa11_code", "staying_on_in_education_post_16_indicator", "entry_to_higher_education_indicator",
         "adult_skills_and_english_language_proficiency_indicator"]]
    out = dom.merge(sub, on="lsoa11_code", how="outer", validate="1:1").merge(
        ind, on="lsoa11_code", how="outer", validate="1:1")
    out.columns = ["lsoa_code", "education_decile", "education_rank", "cyp_decile", "adult_skills_decile",
                   "staying_on", "entry_to_he", "adult_skills_indicator"]
    for c in ("education_decile", "education_rank", "cyp_decile", "adult_skills_decile"):
        out[c] = out[c].astype("Int64")
    out["lsoa_code"] = out["lsoa_code"].astype(str)
    return out.sort_values("lsoa_code").reset_index(drop=True)


def load_iod_education(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """IoD 2019 Education, Skills and Training measures by LSOA (2011).

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code, education_decile, education_rank, cyp_decile,
        adult_skills_decile, staying_on, entry_to_he, adult_skills_indicator``.
        Deciles: 1 = most deprived 10% of LSOAs in England. ``staying_on`` and
        ``entry_to_he`` are the IoD indicators as published: the IoD defines them
        as the proportion of young people *not* staying on in education after
        16, and a measure of young people under 21 *not* entering higher
        education (higher = more deprived).
    """
    return _load_iod(_root(data_dir)).copy()
