"""The competition's rules as checks on each bid: pass, warn or fail, with the figure behind each.

Checks (``check`` column)
-------------------------
``sites_in_area``
    Every site lies in the bid's stated LEP(s) or combined authority
    (boundaries of the file's vintage). fail otherwise.
``fe_college_involved``
    An FE college leads or partners (the competition asks for evidence of FE
    involvement). warn otherwise.
``lep_coverage`` (needs a network)
    The share of the LEP's (or CA's) people that the bid's sites reach within
    the largest band (people reached outside the area do not count) ("a LEP area as a minimum"): pass at
    :data:`COVERAGE_PASS` or more, else warn; a warn that says so where the
    loaded network is too small to tell (a lower bound).
``existing_providers`` (needs a network)
    Providers inside the catchment by type: IoTs should build on existing
    provision. pass with the counts; warn when the catchment holds other FE
    colleges that are not partners.
``stem_levels``
    Most routes STEM and level 4 or 5 offered: pass; no STEM route: fail;
    otherwise warn.
``opportunity_areas`` (needs a network)
    People reached who live in an Opportunity Area and in IMD deciles 1-2
    (welcome, not required): pass, with the figures.
``other_bids_same_lep``
    Other bids in the same LEP, by what they declare or by where their sites
    are (LEP boundaries of the bid's vintage): warn, naming each bid and the
    basis (``declared``, ``located``, ``both declared and located``), and
    suggesting one co-ordinated bid.
``social_mobility_reach`` (needs a network)
    The share of the catchment's people living in England's most deprived
    20% of LSOAs on the IoD 2019 Education, Skills and Training domain (which
    stands in for the Social Mobility Index, not open data here): pass when
    at least England's own share (about 20%), else warn; with the figures.
``learner_pipeline`` (needs a network)
    The 16-18 population within the catchment (mid-2019, apportioned from
    districts) and its 2026 cohort forecast (no migration or mortality):
    pass, with the figures as evidence (warn if the catchment holds no
    English LSOA).
``duplicate_provision`` (needs a network and another bid)
    The other bids in the same file whose catchments share at least
    :data:`iot_geo.overlap.DUPLICATE_SHARE` of either bid's people within the
    largest band and that offer a route in common (see
    :func:`iot_geo.overlap`): warn, naming each with the reason; pass
    otherwise.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from iot_geo.bids import Bid, Bids
from iot_geo.catchment import CatchmentDetail, catchment_detail, check_minutes, pick_network
from iot_geo.errors import DataNotFoundError
from iot_geo.evidence import lsoa_evidence
from iot_geo.hub_spoke import area_population, network_covers
from iot_geo.overlap import DUPLICATE_SHARE, located_leps, overlap, same_lep_basis
from iot_geo.people import population_or_load
from iot_geo.routing import RoutingNetwork
from iot_geo.sources import boundaries
from iot_geo.sources import providers as provider_data
from iot_geo.sources.providers import normalise_name

__all__ = ["COVERAGE_PASS", "check_bids", "evidence_checks"]


COVERAGE_PASS = 0.5
STATUSES = ("pass", "warn", "fail")


def _row(bid: Bid, check: str, status: str, evidence: str) -> dict[str, str]:
    assert status in STATUSES
    return {"bid_id": bid.id, "check": check, "status": status, "evidence": evidence}


def _sites_in_area(bid: Bid, data_dir: str | os.PathLike[str] | None) -> dict[str, str]:
    parts = []
    if bid.lep_codes:
        lep = boundaries.load_areas("lep", bid.vintage.get("lep"), data_dir=data_dir)
        parts.append(shapely.union_all(lep.loc[lep["code"].isin(bid.lep_codes), "geometry"].values))
    if bid.ca_code:
        ca = boundaries.load_areas("ca", bid.vintage.get("ca"), data_dir=data_dir)
        parts.append(shapely.union_all(ca.loc[ca["code"] == bid.ca_code, "geometry"].values))
    area = shapely.union_all(parts)
    # generalised boundaries: allow the same 1 km tolerance as locate()
    dist = shapely.distance(area, bid.sites.geometry.values)
    outside = bid.sites.loc[dist > 1000.0, "site_id"].tolist()
    label = " / ".join(bid.lep_names + ([bid.ca_name] if bid.ca_name else []))
    if outside:
        return _row(bid, "sites_in_area", "fail", f"outside {label}: {', '.join(outside)}")
    return _row(bid, "sites_in_area", "pass", f"all {len(bid.sites)} site(s) in {label}")


def _fe_involved(bid: Bid) -> dict[str, str]:
    if bid.lead_type == "fe_college":
        return _row(bid, "fe_college_involved", "pass", f"led by an FE college ({bid.lead})")
    fe = [p.name for p in bid.partners if p.type == "fe_college"]
    if fe:
        return _row(bid, "fe_college_involved", "pass", f"FE college partner(s): {', '.join(fe)}")
    return _row(bid, "fe_college_involved", "warn",
                f"no FE college leads or partners (lead is a {bid.lead_type}); the competition asks for FE involvement")


def _stem_levels(bid: Bid) -> dict[str, str]:
    stem = bid.stem_share
    high = sorted(lv for lv in bid.levels if lv >= 4)
    evidence = f"{stem:.0%} of {len(bid.routes)} route(s) STEM; levels {', '.join(map(str, bid.levels)) or 'none'}"
    if stem == 0:
        return _row(bid, "stem_levels", "fail", evidence + ": no STEM route")
    if stem > 0.5 and high:
        return _row(bid, "stem_levels", "pass", evidence)
    return _row(bid, "stem_levels", "warn", evidence + ("" if high else ": no level 4-5 provision"))


def _same_lep(bid: Bid, all_bids: Sequence[Bid], located: dict[str, dict[str, str]]) -> dict[str, str]:
    others = []
    for b in all_bids:
        basis = same_lep_basis(bid, b, located) if b.id != bid.id else None
        if basis is not None:
            others.append(f"{b.id}: {basis[0]}")
    if others:
        return _row(bid, "other_bids_same_lep", "warn",
                    f"{len(others)} other bid(s) in the same LEP ({', '.join(others)}): consider one "
                    "co-ordinated bid with hub and spoke delivery")
    return _row(bid, "other_bids_same_lep", "pass", "no other bid in the same LEP")


def evidence_checks(bid: Bid, lsoa_codes: pd.Series, band: float,
                     data_dir: str | os.PathLike[str] | None) -> list[dict[str, str]]:
    """``social_mobility_reach`` and ``learner_pipeline`` from the evidence of the LSOAs a catchment reaches."""
    try:
        ev = lsoa_evidence(lsoa_codes, area=bid.id, band=f"{band:g} min", data_dir=data_dir)
    except DataNotFoundError as exc:  # the evidence files are optional: say what is missing, check the rest
        return [_row(bid, c, "warn", f"not checked: {exc}") for c in ("social_mobility_reach", "learner_pipeline")]
    value = dict(zip(ev["measure"], ev["value"].astype(float), strict=True))
    england = dict(zip(ev["measure"], ev["england"].astype(float), strict=True))
    domain = "England's most deprived 20%: Education, Skills and Training domain"
    val, eng = value[f"Share of people in {domain}"], england[f"Share of people in {domain}"]
    text = (f"{value[f'People in {domain}']:,.0f} people ({val:.1f}%) within {band:g} min live in England's most "
            f"deprived 20% on the IoD 2019 Education, Skills and Training domain; England {eng:.1f}% "
            "(the IoD stands in for the Social Mobility Index, which is not open data here)")
    ok = np.isfinite(val) and val >= eng
    rows = [_row(bid, "social_mobility_reach", "pass" if ok else "warn",
                 text if ok else text + ": below England, so the catchment reaches fewer people where social "
                                        "mobility is low than the average")]
    now, later = value["People aged 16-18"], value["Forecast: people aged 16-18 in 2026"]
    change = f"{(later - now) / now:+.1%}" if now else "n/a"
    text = (f"{now:,.0f} people aged 16-18 within {band:g} min (mid-2019, apportioned from districts by LSOA "
            f"people); {later:,.0f} in 2026 ({change}) by ageing the mid-2019 cohorts, no migration or mortality")
    rows.append(_row(bid, "learner_pipeline", "pass" if now > 0 else "warn",
                     text if now > 0 else f"no English LSOA within {band:g} min: no learner figures"))
    return rows


def _duplicates(bids: Sequence[Bid], network: RoutingNetwork | Sequence[RoutingNetwork], band: float,
                pop: gpd.GeoDataFrame, data_dir: str | os.PathLike[str] | None,
                known: pd.DataFrame | None = None) -> pd.DataFrame:
    """The overlap rows (largest band) of pairs that duplicate provision; ``known``: overlap rows already made."""
    if known is not None and (known["minutes"] == band).any():
        table = known[known["minutes"] == band]
    else:
        with warnings.catch_warnings():  # truncation is reported by the coverage check
            warnings.simplefilter("ignore")
            table = overlap(network, bids, minutes=[band], population=pop, data_dir=data_dir)
    return table[table["duplicate"]]


def _duplicate_provision(bid: Bid, dups: pd.DataFrame, band: float) -> dict[str, str]:
    mine = dups[(dups["bid_a"] == bid.id) | (dups["bid_b"] == bid.id)]
    if not len(mine):
        return _row(bid, "duplicate_provision", "pass",
                    f"no other bid shares {DUPLICATE_SHARE:.0%} of either's people within {band:g} min with a "
                    "route in common")
    parts = []
    for r in mine.to_dict("records"):
        first = r["bid_a"] == bid.id
        other = str(r["bid_b"] if first else r["bid_a"])
        own, theirs = (r["people_share_a"], r["people_share_b"])[:: 1 if first else -1]
        parts.append(f"{other} ({own:.0%} of this bid's people and {theirs:.0%} of {other}'s shared within "
                     f"{band:g} min; both offer {', '.join(map(str, r['shared_routes']))})")
    return _row(bid, "duplicate_provision", "warn", f"duplicates provision with {len(parts)} other bid(s): "
                + "; ".join(parts) + f" (threshold {DUPLICATE_SHARE:.0%} of either bid's people and a shared route)")


@dataclass
class _Context:
    """What every check reads besides the bid: the file's bids, the band, and the data loaded once."""

    bids: list[Bid]
    network: RoutingNetwork | Sequence[RoutingNetwork] | None
    band: float
    data_dir: str | os.PathLike[str] | None
    located: dict[str, dict[str, str]]
    pop: gpd.GeoDataFrame | None = None
    providers: gpd.GeoDataFrame | None = None
    oa: gpd.GeoDataFrame | None = None
    dups: pd.DataFrame | None = None


@dataclass
class _Reach:
    """One bid's catchment within the band: its detail, the network it used, and which people it reaches."""

    net: RoutingNetwork
    det: CatchmentDetail
    reached: np.ndarray
    people: np.ndarray

    @property
    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        """The population points' coordinates."""
        return self.det.population.geometry.x.to_numpy(), self.det.population.geometry.y.to_numpy()


def _reach(bid: Bid, ctx: _Context) -> _Reach:
    """The bid's union catchment within the band, on the network that covers its sites."""
    assert ctx.network is not None
    net = pick_network(ctx.network, bid.sites, label=f"bid {bid.id!r}")
    det = catchment_detail(net, bid.grouped_sites(), minutes=[float(ctx.band)], union=True, population=ctx.pop)
    reached = det.unit_minutes[0] <= float(ctx.band)
    people = np.nan_to_num(det.population["people"].to_numpy(dtype=float, na_value=np.nan))
    return _Reach(net, det, reached, people)


def _lep_coverage(bid: Bid, ctx: _Context, r: _Reach) -> list[dict[str, str]]:
    """The share of the LEP's (or CA's) own people reached; a lower bound where the network stops short."""
    assert ctx.pop is not None
    band = ctx.band
    area_people, area_geom, label = area_population(bid, ctx.pop, data_dir=ctx.data_dir)
    # the LEP's own people reached (people reached beyond it are not a share of it)
    in_area = shapely.contains_xy(area_geom, *r.xy)
    reach_people = float(r.people[r.reached & in_area].sum())
    share = reach_people / area_people if area_people else 0.0
    truncated = bool(r.det.table["truncated"].any())
    ev = f"{reach_people:,.0f} of {area_people:,.0f} people in {label} ({share:.1%}) within {band:g} min"
    if not network_covers(r.net, area_geom) or truncated:
        return [_row(bid, "lep_coverage", "warn",
                     ev + "; the loaded network does not cover the whole area, so this is a lower bound")]
    return [_row(bid, "lep_coverage", "pass" if share >= COVERAGE_PASS else "warn", ev)]


def _existing_providers(bid: Bid, ctx: _Context, r: _Reach) -> list[dict[str, str]]:
    """Providers inside the catchment by type; a warning naming FE colleges that are not in the bid."""
    providers = ctx.providers
    assert providers is not None
    poly = r.det.table.geometry.iloc[0]
    inside = providers[shapely.contains_xy(poly, providers.geometry.x.to_numpy(), providers.geometry.y.to_numpy())]
    counts = inside["provider_type"].value_counts()
    partner_names = {normalise_name(p.name) for p in bid.partners} | {normalise_name(bid.lead)}
    site_pids = set(bid.sites["provider_id"])
    other_fe = inside[(inside["provider_type"] == "fe_college")
                      & ~inside["name"].map(normalise_name).isin(partner_names)
                      & ~inside["provider_id"].isin(site_pids)]
    ev = ", ".join(f"{n} {t}" for t, n in counts.items()) or "no providers"
    if len(other_fe):
        return [_row(bid, "existing_providers", "warn",
                     f"{ev} within {ctx.band:g} min; FE colleges not in the bid: " + ", ".join(other_fe["name"].head(5)))]
    return [_row(bid, "existing_providers", "pass", f"{ev} within {ctx.band:g} min")]


def _opportunity_areas(bid: Bid, ctx: _Context, r: _Reach) -> list[dict[str, str]]:
    """People reached who live in an Opportunity Area, and in IMD deciles 1-2."""
    assert ctx.oa is not None
    in_oa = shapely.contains_xy(shapely.union_all(ctx.oa.geometry.values), *r.xy)
    deciles = r.det.population["imd_decile"].to_numpy(dtype=float, na_value=0)
    low = (deciles >= 1) & (deciles <= 2)
    return [_row(bid, "opportunity_areas", "pass",
                 f"{r.people[r.reached & in_oa].sum():,.0f} people reached live in an Opportunity Area; "
                 f"{r.people[r.reached & low].sum():,.0f} in IMD deciles 1-2")]


def _reach_evidence(bid: Bid, ctx: _Context, r: _Reach) -> list[dict[str, str]]:
    """``social_mobility_reach`` and ``learner_pipeline`` of the LSOAs reached."""
    return evidence_checks(bid, r.det.population.loc[r.reached, "lsoa_code"], ctx.band, ctx.data_dir)


#: The checks on every bid, in the table's order: those that need no network, those on its catchment
#: (with a network only), then those that compare it with the file's other bids.
_FIRST_RULES: tuple[Callable[[Bid, _Context], list[dict[str, str]]], ...] = (
    lambda bid, ctx: [_sites_in_area(bid, ctx.data_dir)],
    lambda bid, ctx: [_fe_involved(bid)],
    lambda bid, ctx: [_stem_levels(bid)],
)
_REACH_RULES: tuple[Callable[[Bid, _Context, _Reach], list[dict[str, str]]], ...] = (
    _lep_coverage, _existing_providers, _opportunity_areas, _reach_evidence)
_LAST_RULES: tuple[Callable[[Bid, _Context], list[dict[str, str]]], ...] = (
    lambda bid, ctx: [_same_lep(bid, ctx.bids, ctx.located)],
    lambda bid, ctx: [] if ctx.dups is None else [_duplicate_provision(bid, ctx.dups, ctx.band)],
)


def _context(bid_list: list[Bid], network: RoutingNetwork | Sequence[RoutingNetwork] | None, band: float,
             population: gpd.GeoDataFrame | None, data_dir: str | os.PathLike[str] | None,
             overlap_table: pd.DataFrame | None) -> _Context:
    """The data the checks share, loaded once.

    With a network: the people, providers and Opportunity Areas, and the provision the bids duplicate.
    """
    has_net = network is not None
    pop = population_or_load(data_dir, population) if has_net else None
    ctx = _Context(bid_list, network, band, data_dir, {}, pop,
                   provider_data.load_providers(data_dir=data_dir) if has_net else None,
                   boundaries.load_areas("oa", data_dir=data_dir) if has_net else None)
    ctx.located = located_leps(bid_list, data_dir=data_dir)
    if network is not None and len(bid_list) > 1:
        ctx.dups = _duplicates(bid_list, network, band, pop, data_dir, overlap_table)
    return ctx


def _check_one(bid: Bid, ctx: _Context) -> list[dict[str, str]]:
    """Every check on one bid, in the table's order."""
    rows = [row for rule in _FIRST_RULES for row in rule(bid, ctx)]
    if ctx.network is not None:
        reach = _reach(bid, ctx)
        rows += [row for rule in _REACH_RULES for row in rule(bid, ctx, reach)]
    return rows + [row for rule in _LAST_RULES for row in rule(bid, ctx)]


def check_bids(
    bids: Bids | Sequence[Bid],
    network: RoutingNetwork | Sequence[RoutingNetwork] | None = None,
    *,
    minutes: Sequence[float] | float | None = None,
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    overlap_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Check each bid against the competition's rules.

    Parameters
    ----------
    bids : Bids or list of Bid
    network : RoutingNetwork or list of them, optional
        Needed for the catchment checks (coverage, providers, Opportunity Areas);
        without it those checks are left out.
    minutes : sequence of float, optional
        Bands; the largest is used (default 30, 45, 60).
    population : GeoDataFrame, optional
    data_dir : path, optional
    overlap_table : DataFrame, optional
        :func:`iot_geo.overlap` of the same bids and network, already made (a report has it): the
        ``duplicate_provision`` check reads its largest band instead of computing it again.

    Returns
    -------
    pandas.DataFrame
        ``bid_id, check, status, evidence``: one row per bid and check. A failed
        check is a finding about the bid, not an error.

    Examples
    --------
    >>> import iot_geo as ig
    >>> c = ig.check_bids(ig.read_bids("data/examples/rutland.yaml"))
    >>> c.query("bid_id == 'stamford-iot'")["check"].tolist()
    ['sites_in_area', 'fe_college_involved', 'stem_levels', 'other_bids_same_lep']
    """
    bid_list = list(bids)
    band = check_minutes(60.0 if minutes is None else minutes)[-1]  # the largest band; [] is an error, not 60
    ctx = _context(bid_list, network, band, population, data_dir, overlap_table)
    rows = [row for bid in bid_list for row in _check_one(bid, ctx)]
    return pd.DataFrame(rows, columns=["bid_id", "check", "status", "evidence"])
