"""The whole analysis of a bid file, and the report a bidder or an assessor can use.

:func:`analyse` computes, on the networks that cover the bids: each bid's
catchments by band with the people reached, hub-and-spoke figures, the
overlap table with its polygons, and the competition checks.
:func:`write_report` writes ``index.html`` (a summary per bid), the tables as
CSV and one XLSX workbook, a GeoPackage with every layer, a PNG per bid and an
overview, and the interactive map. The folder is written beside the target
and renamed into place at the end, so a failure leaves no half-written report.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from iot_geo import __version__
from iot_geo.bids import Bids
from iot_geo.catchment import AnyNetwork
from iot_geo.checks import check_bids
from iot_geo.errors import InvalidInputError
from iot_geo.hub_spoke import hub_spoke
from iot_geo.network import TravelNetwork
from iot_geo.overlap import BidCatchments, bid_catchments, overlap
from iot_geo.transit import TransitNetwork

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
    networks: list[AnyNetwork]
    minutes: list[float]
    catchments: BidCatchments
    overlap: gpd.GeoDataFrame
    hub_spoke: pd.DataFrame
    checks: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def people_table(self) -> pd.DataFrame:
        """People reached per bid and band."""
        t = self.catchments.table
        return pd.DataFrame(t.drop(columns="geometry")).rename(columns={"group_id": "bid_id"})[
            ["bid_id", "minutes", "people", "people_16_59", "people_unknown", "area_km2", "truncated", "lsoas"]]

    def _repr_html_(self) -> str:
        dup = int(self.overlap["duplicate"].sum()) if len(self.overlap) else 0
        return (f"<b>Analysis</b> of {len(self.bids)} bids, bands {self.minutes} min: "
                f"{len(self.overlap)} overlapping pair-bands ({dup} duplicate)"
                + self.people_table().to_html(index=False))


def analyse(
    bids: Bids,
    networks: AnyNetwork | Sequence[AnyNetwork],
    *,
    minutes: Sequence[float] = (30, 45, 60),
    population: gpd.GeoDataFrame | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Analysis:
    """Catchments, hub and spoke, overlap and checks for every bid (see the module docstring)."""
    nets = [networks] if isinstance(networks, TravelNetwork | TransitNetwork) else list(networks)
    step = progress or (lambda _s: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step("catchments")
        bc = bid_catchments(nets, bids, minutes=minutes, population=population, data_dir=data_dir)
        step("overlap")
        ov = overlap(bc, bids, with_geometry=True)
        step("hub and spoke")
        hs = pd.concat([hub_spoke(nets, b, minutes=minutes, population=population, data_dir=data_dir)
                        for b in bids], ignore_index=True)
        step("checks")
        ch = check_bids(bids, nets, minutes=minutes, population=population, data_dir=data_dir)
    msgs = list(dict.fromkeys(str(w.message) for w in caught))
    assert isinstance(ov, gpd.GeoDataFrame)
    return Analysis(bids, nets, list(bc.bands), bc, ov, hs, ch, msgs)


def _table_html(df: pd.DataFrame) -> str:
    from iot_geo.outputs import flatten_lists

    html_text: str = flatten_lists(df, ", ").to_html(index=False, escape=True, float_format=lambda v: f"{v:,.2f}",
                                                    border=0, classes="t")
    return html_text


_STATUS = {"pass": "#1a7f37", "warn": "#b35900", "fail": "#c62828"}


def _index_html(a: Analysis, pictures: dict[str, str], map_name: str | None, title: str) -> str:
    e = html.escape
    parts = [f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}}
table.t{{border-collapse:collapse;margin:8px 0 16px}} table.t td,table.t th{{padding:3px 8px;border-bottom:1px solid #ddd;
text-align:left}} .pass{{color:{_STATUS['pass']}}} .warn{{color:{_STATUS['warn']}}} .fail{{color:{_STATUS['fail']}}}
img{{max-width:100%;border:1px solid #ccc}} .small{{color:#666;font-size:12px}}</style></head><body>
<h1>{e(title)}</h1>
<p>{len(a.bids)} bid(s) from <code>{e(Path(a.bids.source).name)}</code>; travel bands {', '.join(f'{m:g}' for m in a.minutes)}
minutes by {e(', '.join(sorted({n.mode for n in a.networks})))} ({e(', '.join(n.source.get('file', '?') for n in a.networks))});
people counted by LSOA population-weighted centroid (ONS mid-2015).</p>"""]
    if map_name:
        parts.append(f'<p><a href="{e(map_name)}">Open the interactive map</a></p>')
    if "overview" in pictures:
        parts.append(f'<img src="{e(pictures["overview"])}" alt="overview of every bid">')
    for w in a.warnings:
        parts.append(f'<p class="warn small">Note: {e(w)}</p>')
    people = a.people_table()
    for bid in a.bids:
        parts.append(f"<h2>{e(bid.name)} <span class='small'>({e(bid.id)})</span></h2>")
        parts.append(f"<p>Lead {e(bid.lead)} ({e(bid.lead_type.replace('_', ' '))}); LEP {e(', '.join(bid.lep_names) or '-')}; "
                     f"CA {e(bid.ca_name or '-')}; routes {e(', '.join(bid.routes))}; levels "
                     f"{e(', '.join(map(str, bid.levels)))}.</p>")
        checks = a.checks[a.checks["bid_id"] == bid.id]
        rows = "".join(f"<tr><td>{e(str(c))}</td><td class='{st}'><b>{st}</b></td><td>{e(str(ev))}</td></tr>"
                       for c, st, ev in zip(checks["check"], checks["status"], checks["evidence"], strict=True))
        parts.append(f"<h3>Checks</h3><table class='t'><tr><th>check</th><th>status</th><th>evidence</th></tr>{rows}</table>")
        parts.append("<h3>People reached</h3>" + _table_html(people[people["bid_id"] == bid.id]))
        hs = a.hub_spoke[a.hub_spoke["bid_id"] == bid.id]
        parts.append("<h3>Hub and spoke</h3>" + _table_html(hs[["site_id", "role", "minutes", "people_alone",
                                                                 "people_only_here", "people_with_site", "to_hub_minutes",
                                                                 "truncated", "area_share"]]))
        if bid.id in pictures:
            parts.append(f'<img src="{e(pictures[bid.id])}" alt="map of {e(bid.name)}">')
    parts.append("<h2>Overlap between bids</h2>")
    if len(a.overlap):
        parts.append(_table_html(pd.DataFrame(a.overlap.drop(columns="geometry"))[
            ["bid_a", "bid_b", "minutes", "area_both_km2", "people_both", "people_share_a", "people_share_b",
             "shared_routes", "duplicate", "reasons"]]))
    else:
        parts.append("<p>No two bids' catchments meet.</p>")
    parts.append("<h2>Sources</h2><ul>" + "".join(f"<li class='small'>{e(t)}</li>" for t in ATTRIBUTIONS) + "</ul>")
    parts.append(f"<p class='small'>Made by iot-geo {e(__version__)}.</p></body></html>")
    return "\n".join(parts)


def write_report(
    a: Analysis,
    folder: str | os.PathLike[str],
    *,
    title: str | None = None,
    offline_map: bool = True,
    inputs: Sequence[str | os.PathLike[str] | None] = (),
    data_dir: str | os.PathLike[str] | None = None,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the report folder (see the module docstring); returns the paths written."""
    from iot_geo.maps import make_map, save_map, save_picture
    from iot_geo.outputs import check_output, flatten_lists, write_csv, write_gpkg

    target = Path(folder)
    for p in inputs:
        if p is not None and Path(p).exists() and target.resolve() in (Path(p).resolve(), *Path(p).resolve().parents):
            raise InvalidInputError(f"report folder {target} would overwrite the input {p}")
    check_output(target)  # the folder itself appears only when complete
    title = title or f"IoT bids: {Path(a.bids.source).stem}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp.chmod(0o755)
    try:
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
                     data_dir=data_dir)
        save_map(m, tmp / "map.html", provenance=provenance)
        tables = {"people": a.people_table(), "hub_spoke": a.hub_spoke, "overlap": pd.DataFrame(
            a.overlap.drop(columns="geometry")), "checks": a.checks, "bids": a.bids.table()}
        for name, df in tables.items():
            write_csv(df, tmp / f"{name}.csv", provenance=provenance)
        with pd.ExcelWriter(tmp / "tables.xlsx", engine="openpyxl") as xl:
            for name, df in tables.items():
                flatten_lists(df).to_excel(xl, sheet_name=name, index=False)
        write_gpkg({"sites": a.bids.sites, "catchments": catch.rename(columns={"group_id": "bid_id"}),
                    "overlap": a.overlap}, tmp / "layers.gpkg", provenance=provenance)
        page = _index_html(a, pictures, "map.html", title)
        if provenance is not None:
            from iot_geo.provenance import html_block

            page = page.replace("</body>", html_block(provenance) + "\n</body>", 1)
        (tmp / "index.html").write_text(page, encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {p.name: p for p in sorted(target.iterdir())}


__all__ = ["ATTRIBUTIONS", "Analysis", "analyse", "write_report"]
