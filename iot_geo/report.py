"""The whole analysis of a bid file, and the report a bidder or an assessor can use.

:func:`analyse` computes, on the networks that cover the bids: each bid's
catchments by band with the people reached, hub-and-spoke figures, the
overlap table with its polygons, and the competition checks.
:func:`write_report` writes ``index.html`` (a summary per bid), the tables as
CSV and one XLSX workbook, a GeoPackage with every layer, a PNG per bid and an
overview, and the interactive map. The folder is written beside the target
and renamed into place at the end, so a failure leaves no half-written report;
an existing folder is replaced only if it is an earlier iot-geo report and
``overwrite`` is given.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from iot_geo import files, outputs, pages, settings
from iot_geo.bids import Bids
from iot_geo.checks import check_bids
from iot_geo.errors import DataNotFoundError
from iot_geo.evidence import bid_catchment_evidence, evidence_parts
from iot_geo.hub_spoke import hub_spoke
from iot_geo.maps import make_map, save_map, save_picture
from iot_geo.overlap import BidCatchments, bid_catchments, overlap
from iot_geo.provenance import html_block
from iot_geo.routing import RoutingNetwork
from iot_geo.sources import providers as provider_source

__all__ = ["ATTRIBUTIONS", "Analysis", "analyse", "write_report"]


ATTRIBUTIONS = [
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. Contains OS data "
    "© Crown copyright and database right 2017-2023.",
    "Population and deprivation: ONS mid-2015 estimates and MHCLG English indices of deprivation 2019, OGL v3.",
    "Providers: Department for Education performance tables 2018/19 (OGL v3), geocoded by waiky8/eng-schools; "
    "data.ac.uk learning providers (OGL v3).",
    "Road networks: © OpenStreetMap contributors, ODbL 1.0.",
]


@dataclass
class Analysis:
    """Everything :func:`analyse` computed for one bid file."""

    bids: Bids
    networks: list[RoutingNetwork]
    minutes: list[float]
    catchments: BidCatchments
    overlap: gpd.GeoDataFrame
    hub_spoke: pd.DataFrame
    checks: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    evidence: pd.DataFrame | None = None  # iot_geo.evidence.bid_catchment_evidence

    def people_table(self) -> pd.DataFrame:
        """People reached per bid and band."""
        t = self.catchments.table
        return pd.DataFrame(t.drop(columns="geometry")).rename(columns={"group_id": "bid_id"})[
            ["bid_id", "minutes", "people", "people_16_59", "people_unknown", "area_km2", "truncated", "lsoas"]]

    def summary(self, bid_id: str, *, providers: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
        """A bid's paste-ready figures, one row per band.

        ``people``, ``people_16_59``, ``people_most_deprived_20pct`` (IMD deciles 1-2), ``lep_share`` (text:
        a share, marked "lower bound" where the network does not cover the LEP or the catchment is truncated,
        or why there is none) and ``providers`` (the FE and sixth-form colleges, UTCs and universities inside
        the band's catchment, by name and type).
        """
        prov = providers if providers is not None else provider_source.load_providers(
            ["fe_college", "sixth_form_college", "utc", "university"])
        t = self.catchments.table
        mine = t[t["group_id"] == bid_id]
        hs = self.hub_spoke[(self.hub_spoke["bid_id"] == bid_id) & (self.hub_spoke["role"] == "network")]
        share = dict(zip(hs["minutes"], zip(hs["area_share"], hs["area_share_is_lower_bound"], strict=True),
                         strict=True))
        rows = []
        for r in mine.itertuples():
            inside = prov[shapely.contains_xy(r.geometry, prov.geometry.x.to_numpy(), prov.geometry.y.to_numpy())]
            got = share.get(r.minutes)
            if got is None or pd.isna(got[0]):
                lep = "none: the bid names no LEP or combined authority with people in it"
            else:
                lep = f"{got[0]:.1%}" + (" (lower bound: the network or catchment stops short of the area)"
                                         if got[1] else "")
            rows.append({
                "minutes": r.minutes, "people": int(r.people), "people_16_59": int(r.people_16_59),
                "people_most_deprived_20pct": int(r.imd_1 + r.imd_2),
                "lep_share": lep,
                "providers": "; ".join(f"{n} ({t_.replace('_', ' ')})" for n, t_ in
                                       sorted(zip(inside["name"], inside["provider_type"], strict=True))) or "none",
            })
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        dup = int(self.overlap["duplicate"].sum()) if len(self.overlap) else 0
        return (f"<b>Analysis</b> of {len(self.bids)} bids, bands {self.minutes} min: "
                f"{len(self.overlap)} overlapping pair-bands ({dup} duplicate)"
                + self.people_table().to_html(index=False))


def analyse(
    bids: Bids,
    networks: RoutingNetwork | Sequence[RoutingNetwork],
    *,
    minutes: Sequence[float] = (30, 45, 60),
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Analysis:
    """Catchments, hub and spoke, overlap and checks for every bid (see the module docstring)."""
    nets = list(networks) if isinstance(networks, Sequence) else [networks]  # not isinstance(Protocol): see routing
    step = progress or (lambda _s: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step("catchments")
        bc = bid_catchments(nets, bids, minutes=minutes, population=population, data_dir=data_dir)
        step("overlap")
        ov = overlap(catchments=bc, with_geometry=True)
        step("hub and spoke")
        hs = pd.concat([hub_spoke(nets, b, minutes=minutes, population=population, data_dir=data_dir)
                        for b in bids], ignore_index=True)
        step("checks")
        ch = check_bids(bids, nets, minutes=minutes, population=population, data_dir=data_dir, overlap_table=ov)
        step("area evidence")
        try:
            ev: pd.DataFrame | None = bid_catchment_evidence(bc, population=population, data_dir=data_dir)
        except DataNotFoundError as exc:  # optional files: the report goes without the evidence section
            warnings.warn(f"area evidence left out: {exc}", stacklevel=2)
            ev = None
    msgs = list(dict.fromkeys(str(w.message) for w in caught))
    assert isinstance(ov, gpd.GeoDataFrame)
    return Analysis(bids, nets, list(bc.bands), bc, ov, hs, ch, msgs, evidence=ev)


def _cell(v: Any) -> str:
    """A table cell as text: floats to two places with thousands separators, nothing for a missing value."""
    if isinstance(v, float | np.floating):
        return "" if np.isnan(v) else f"{v:,.2f}"
    if v is None or v is pd.NA:
        return ""
    return str(v)


def _table(df: pd.DataFrame) -> dict[str, Any]:
    """Columns and rows of text for the template's ``table`` macro (lists joined with ", ")."""
    flat = outputs.flatten_lists(df, ", ")
    return {"columns": [str(c) for c in flat.columns],
            "rows": [[_cell(v) for v in row] for row in flat.itertuples(index=False, name=None)]}


def _evidence(ev: pd.DataFrame | None, bid_id: str) -> dict[str, Any] | None:
    """A bid's area evidence for the template: the table (values formatted), numbered sources, the method."""
    if ev is None:
        return None
    parts = evidence_parts(ev, bid_id)
    if parts is None:
        return None
    wide, sources, method = parts
    return {"table": _table(wide), "sources": sources, "method": method}


def _index_html(a: Analysis, pictures: dict[str, str], map_name: str | None, title: str) -> str:
    """The report's ``index.html``, from the autoescaped template ``resources/report_index.html``."""
    people = a.people_table()
    hs_cols = ["site_id", "role", "minutes", "people_alone", "people_only_here", "people_with_site", "to_hub_minutes",
               "truncated", "area_share"]
    bids = []
    for bid in a.bids:
        checks = a.checks[a.checks["bid_id"] == bid.id]
        bids.append({
            "id": bid.id, "name": bid.name, "lead": bid.lead, "lead_type": bid.lead_type.replace("_", " "),
            "partners": bid.partners, "leps": ", ".join(bid.lep_names), "ca": bid.ca_name,
            "routes": bid.routes, "levels": ", ".join(map(str, bid.levels)),
            "sites": [{"name": n, "role": r} for n, r in zip(bid.sites["name"], bid.sites["role"], strict=True)],
            "checks": [{"check": c, "status": st, "evidence": ev} for c, st, ev in
                       zip(checks["check"], checks["status"], checks["evidence"], strict=True)],
            "people": _table(people[people["bid_id"] == bid.id]),
            "hub_spoke": _table(a.hub_spoke.loc[a.hub_spoke["bid_id"] == bid.id, hs_cols]),
            "summary": _table(a.summary(bid.id)),
            "evidence": _evidence(a.evidence, bid.id),
            "picture": pictures.get(bid.id),
        })
    overlap_cols = ["bid_a", "bid_b", "minutes", "area_both_km2", "people_both", "people_share_a", "people_share_b",
                    "shared_routes", "duplicate", "reasons"]
    return str(pages.render(
        "report_index.html", title=title, source=Path(a.bids.source).name, bids=bids,
        bands=", ".join(f"{m:g}" for m in a.minutes), modes=", ".join(sorted({n.mode for n in a.networks})),
        network_files=", ".join(str(n.source.get("file", "?")) for n in a.networks), map_name=map_name,
        overview=pictures.get("overview"), warnings=a.warnings,
        overlap=_table(pd.DataFrame(a.overlap.drop(columns="geometry"))[overlap_cols]) if len(a.overlap) else None,
        attributions=ATTRIBUTIONS, version=settings.package_version()))


def write_report(
    a: Analysis,
    folder: str | os.PathLike[str],
    *,
    title: str | None = None,
    offline_map: bool = True,
    inputs: Sequence[str | os.PathLike[str] | None] = (),
    data_dir: str | os.PathLike[str] | None = None,
    provenance: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the report folder (see the module docstring); returns the paths written.

    ``folder`` must be new, or an earlier iot-geo report (holding nothing else) with ``overwrite``:
    iot-geo never replaces a folder it did not write (:func:`iot_geo.files.check_folder`).
    """
    target = Path(folder)
    title = title or (next(iter(a.bids)).name if len(a.bids) == 1 else f"IoT bids: {Path(a.bids.source).stem}")
    with files.atomic_folder(target, inputs, overwrite=overwrite, what="report") as tmp:
        pictures: dict[str, str] = {}
        catch = a.catchments.table
        save_picture(tmp / "overview.png", list(a.bids), catchments=catch, overlaps=a.overlap, title=title,
                     data_dir=data_dir)
        pictures["overview"] = "overview.png"
        for bid in a.bids:
            name = f"bid-{bid.id}.png"
            save_picture(tmp / name, [bid], catchments=catch[catch["group_id"] == bid.id], title=bid.name,
                         data_dir=data_dir)
            pictures[bid.id] = name
        m = make_map(a.bids, catchments=catch, overlaps=a.overlap, offline=offline_map, title=title,
                     data_dir=data_dir, evidence=a.evidence)
        save_map(m, tmp / "map.html", provenance=provenance)
        tables = {"people": a.people_table(), "hub_spoke": a.hub_spoke, "overlap": pd.DataFrame(
            a.overlap.drop(columns="geometry")), "checks": a.checks, "bids": a.bids.table()}
        if a.evidence is not None:
            tables["evidence"] = a.evidence
        for name, df in tables.items():
            outputs.write_csv(df, tmp / f"{name}.csv", provenance=provenance)
        outputs.write_xlsx(tables, tmp / "tables.xlsx")
        outputs.write_gpkg({"sites": a.bids.sites, "catchments": catch.rename(columns={"group_id": "bid_id"}),
                    "overlap": a.overlap}, tmp / "layers.gpkg", provenance=provenance)
        page = _index_html(a, pictures, "map.html", title)
        if provenance is not None:
            page = page.replace("</body>", html_block(provenance) + "\n</body>", 1)
        files.write_text(page, tmp / "index.html")
    return {p.name: p for p in sorted(target.iterdir()) if not p.name.startswith(".")}


