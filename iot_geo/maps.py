"""Interactive Folium maps of bids, catchments, overlaps, areas and providers; static pictures.

A user's text (bid, lead, partner, route, site and file names) never reaches
JavaScript as code nor HTML as markup: tooltips, popups and the sites' permanent
labels are bound by :class:`_Text`, :class:`_FieldsTooltip` and :class:`_Labels`,
which pass it as JSON and show it with ``textContent`` (``resources/map_text.js``); folium's own ``Popup``,
``Tooltip`` and ``GeoJsonTooltip`` build HTML in JavaScript template literals
and are not used. The legend is an autoescaped Jinja2 template
(``resources/map_legend.html``); layer names are HTML-escaped (Leaflet's layer
control shows them as HTML) and reach the page as JSON.
Every bid stays visible: each bid's catchment is outlined in its colour with its
own dash (:data:`CATCHMENT_DASHES`), the overlaps between bids are dashed outlines
(a "fill overlaps" control fills them) whose tooltip gives the shared routes and
each bid's share, and on screens under :data:`SMALL_SCREEN_PX` the layer list
starts collapsed.
Geometry is simplified to :data:`SIMPLIFY_M` metres in British National Grid
and coordinates are rounded to :data:`COORD_DECIMALS` decimal places (about
1 m) before they are written, and the map draws on a canvas
(``prefer_canvas``), so that 30 bids x 3 bands stay a few MB.

Offline pages: ``offline=True`` inlines Leaflet 1.9.3 and its marker-cluster
plugin from a local copy (``web/node_modules``, installed by the setup from the
npm registry; or the folder in ``$IOT_GEO_WEB``) instead of linking a CDN.
Background tiles still need the internet; the page says so.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import json
import math
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

from iot_geo import pages, settings
from iot_geo.bids import Bid, Bids
from iot_geo.catchment import RESOLUTION_M
from iot_geo.errors import DataNotFoundError, InvalidInputError
from iot_geo.evidence import evidence_popup_lines
from iot_geo.files import atomic, check_output, write_text
from iot_geo.provenance import html_block
from iot_geo.sources import boundaries
from iot_geo.sources import providers as provider_data

__all__ = [
    "PALETTE", "coverage_layer", "draw_picture", "esc", "make_map", "offline_repr_html", "render_html", "save_map",
    "save_picture", "web_assets_dir",
]


SIMPLIFY_M = 25.0
#: Overlap zones are drawn simplified to this many metres, without slivers under MIN_OVERLAP_KM2.
OVERLAP_SIMPLIFY_M = 100.0
MIN_OVERLAP_KM2 = 0.1
COORD_DECIMALS = 5
#: Catchment fill opacity; overlaps are dashed outlines (fill :data:`OVERLAP_FILL` when the map's toggle is on).
CATCHMENT_FILL = 0.3
#: Each bid's catchment outline has its own dash pattern, so where two bids' edges coincide both colours show.
CATCHMENT_DASHES: list[str | None] = [None, "10 6", "3 5", "14 4 3 4"]
OVERLAP_COLOUR = "#b10026"
#: The same in static pictures (matplotlib dash patterns).
PICTURE_DASHES: list[Any] = ["solid", (0, (6, 3)), (0, (2, 2.5)), (0, (8, 2, 2, 2))]
OVERLAP_FILL = 0.35
#: Screens at most this wide (CSS px) start with the layer list collapsed.
SMALL_SCREEN_PX = 700
PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f",
           "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#31a354", "#756bb1", "#e6550d"]
PROVIDER_COLOURS = {"fe_college": "#d62728", "sixth_form_college": "#ff7f0e", "university": "#1f77b4",
                    "utc": "#2ca02c", "school_sixth_form": "#7f7f7f", "independent_training_provider": "#9467bd",
                    "other": "#8c564b"}
ATTRIBUTION = ("Boundaries: ONS, OGL v3, contains OS data © Crown copyright and database right. "
               "Roads: © OpenStreetMap contributors (ODbL). Population: ONS/MHCLG, OGL v3. "
               "Providers: DfE and data.ac.uk, OGL v3.")
CDN = {
    "leaflet_js": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
    "leaflet_css": "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
    "markercluster_js": "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js",
    "markercluster_css": "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/MarkerCluster.css",
    "markercluster_default_css":
        "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3/dist/MarkerCluster.Default.css",
}
LOCAL = {
    "leaflet_js": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "markercluster_js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markercluster_css": "leaflet.markercluster/dist/MarkerCluster.css",
    "markercluster_default_css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
}


def esc(text: object) -> str:
    """HTML-escape a user's text (quotes too)."""
    return html.escape("" if text is None else str(text), quote=True)


def web_assets_dir() -> Path:
    """Folder holding ``leaflet/`` and ``leaflet.markercluster/`` (npm packages) for offline maps."""
    env = os.environ.get("IOT_GEO_WEB")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "web" / "node_modules"


def _shade(hex_colour: str, t: float) -> str:
    """Mix a colour with white: t=0 the colour, t=1 white."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * t):02x}" for c in rgb)


def _to_wgs(gdf: gpd.GeoDataFrame, simplify_m: float, decimals: int = COORD_DECIMALS) -> gpd.GeoDataFrame:
    out = gdf.copy()
    if simplify_m > 0:
        out["geometry"] = shapely.simplify(out.geometry.values, simplify_m, preserve_topology=True)
    out = out.to_crs(settings.wgs84)
    out["geometry"] = shapely.set_precision(out.geometry.values, 10.0 ** -decimals)
    return out


def _geojson(gdf: gpd.GeoDataFrame, props: list[str], decimals: int = COORD_DECIMALS) -> dict[str, Any]:
    feats = []
    for row in gdf.itertuples(index=False):
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                      "properties": {p: getattr(row, p) for p in props}})
    text = json.dumps({"type": "FeatureCollection", "features": feats}, default=str)
    # round coordinates that json wrote at full precision
    text = re.sub(rf"(-?\d+\.\d{{{decimals}}})\d+", r"\1", text)
    out: dict[str, Any] = json.loads(text)
    return out


class _Legend(MacroElement):
    _template = Template("""
        {% macro html(this, kwargs) %}
        <div id="iot-legend" style="position:fixed; bottom:24px; left:12px; z-index:9999; background:white;
             padding:8px 10px; border:1px solid #999; border-radius:4px; font:12px/1.4 sans-serif;
             max-width:320px; max-height:60vh; overflow:auto;">{{ this.body }}</div>
        {% endmacro %}
    """)

    def __init__(self, body: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Legend"
        self.body = body


class _Text(MacroElement):
    """A tooltip and a popup for its parent layer: lines of text passed as JSON, shown with ``textContent``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {% if this.tooltip %}
        {{ this._parent.get_name() }}.bindTooltip(function () { return iotGeo.lines({{ this.tooltip|tojson }}); },
            {"sticky": true});
        {% endif %}
        {% if this.popup %}
        {{ this._parent.get_name() }}.bindPopup(function () { return iotGeo.lines({{ this.popup|tojson }}); },
            {{ this.popup_options|tojson }});
        {% endif %}
        {% endmacro %}
    """)

    def __init__(self, tooltip: Sequence[object] = (), popup: Sequence[object] = (), max_width: int = 300) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Text"
        self.tooltip = [t for t in map(_txt, tooltip) if t]
        self.popup = [t for t in map(_txt, popup) if t]
        self.popup_options = {"maxWidth": max_width}


class _FieldsTooltip(MacroElement):
    """A tooltip for each feature of its parent GeoJson: a table of properties as text (``iotGeo.fields``)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip(iotGeo.fields({{ this.fields|tojson }}, {{ this.aliases|tojson }}),
            {"sticky": true});
        {% endmacro %}
    """)

    def __init__(self, fields: Sequence[str], aliases: Sequence[str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "FieldsTooltip"
        self.fields = list(fields)
        self.aliases = list(aliases)


class _Labels(MacroElement):
    """Permanent small labels beside points of its parent layer: text passed as JSON, shown with ``textContent``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        iotGeo.labels({{ this._parent.get_name() }}, {{ this.items|tojson }});
        {% endmacro %}
    """)

    def __init__(self, items: Sequence[tuple[float, float, str, bool]]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "Labels"
        self.items = [[lat, lon, _txt(text), bool(hub)] for lat, lon, text, hub in items]


class _OverlapToggle(MacroElement):
    """A control on its parent map that fills the overlap zones (``layer``) or draws them as outlines (the default)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        iotGeo.overlapToggle({{ this._parent.get_name() }}, {{ this.layer }}, {{ this.fill|tojson }});
        {% endmacro %}
    """)

    def __init__(self, layer: folium.GeoJson, fill: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "OverlapToggle"
        self.layer = layer.get_name()
        self.fill = fill


class _CollapseOnSmall(MacroElement):
    """Collapses the layer control (its parent's last LayerControl) on screens narrower than ``max_width`` px."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        iotGeo.collapseOnSmall({{ this._parent.get_name() }}, {{ this.control }}, {{ this.max_width|tojson }});
        {% endmacro %}
    """)

    def __init__(self, control: folium.LayerControl, max_width: int) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "CollapseOnSmall"
        self.control = control.get_name()
        self.max_width = max_width


def _txt(value: object) -> str:
    """A value as display text: nothing for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _geojson_layer(data: dict[str, Any], style: Any, fields: Sequence[str], aliases: Sequence[str]) -> folium.GeoJson:
    """A GeoJson layer whose features show ``fields`` (as text) in a tooltip."""
    layer = folium.GeoJson(data, style_function=style)
    _FieldsTooltip(fields, aliases).add_to(layer)
    return layer


class _ShapeCounter(MacroElement):
    """Writes how many shapes of each kind the page drew into ``<html data-iot-shapes>`` (checked by tests)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function() {
          var counts = {};
          {{ this._parent.get_name() }}.eachLayer(function(l) {
            var k = l.options && l.options.iotKind;
            if (k && (l instanceof L.Path || l instanceof L.CircleMarker)) { counts[k] = (counts[k] || 0) + 1; }
          });
          document.documentElement.setAttribute("data-iot-shapes", JSON.stringify(counts));
        })();
        {% endmacro %}
    """)


def _drop_small(geom: shapely.Geometry, min_area: float) -> shapely.Geometry:
    """Without parts or holes smaller than ``min_area`` (square metres), for drawing."""
    keep = []
    for part in shapely.get_parts(geom):
        if part.area < min_area or part.geom_type != "Polygon":
            continue
        holes = [h for h in part.interiors if shapely.Polygon(h).area >= min_area]
        keep.append(shapely.Polygon(part.exterior, holes))
    return shapely.union_all(keep) if keep else shapely.Polygon()


def _kind(marker: folium.CircleMarker, kind: str) -> folium.CircleMarker:
    """Tag a marker's Leaflet options with its kind (counted by the page's shape counter)."""
    marker.options["iotKind"] = kind
    return marker


def _style(kind: str, colour: str, fill: float, weight: float = 1.0, dash: str | None = None, *,
           stroke: str | None = None, fill_colour: str | None = None) -> Any:
    def style(_: Any) -> dict[str, Any]:
        d: dict[str, Any] = {"color": stroke or colour, "weight": weight, "fillColor": fill_colour or colour,
                             "fillOpacity": fill, "opacity": 0.9, "iotKind": kind}
        if dash:
            d["dashArray"] = dash
        return d
    return style


def _evidence_lines(evidence: pd.DataFrame | None, bid_id: str) -> list[str]:
    """The hub popup's evidence lines (text, set with textContent)."""
    if evidence is None:
        return []
    return evidence_popup_lines(evidence, bid_id)


#: The boundary layers drawn on a map: (kind, label, colour); LEP boundaries start shown.
_BOUNDARY_LAYERS = (("lep", "LEP", "#444444"), ("ca", "Combined authority", "#8c510a"))
_AREA_KINDS = tuple(kind for kind, _label, _colour in _BOUNDARY_LAYERS)


@dataclass
class _MapData:
    """What a map draws besides the bids: boundaries and providers near them, already loaded."""

    boundaries: dict[str, gpd.GeoDataFrame]
    opportunity_areas: gpd.GeoDataFrame | None
    providers: gpd.GeoDataFrame | None


def _near(gdf: gpd.GeoDataFrame, window: shapely.Geometry | None) -> gpd.GeoDataFrame:
    """The rows of ``gdf`` that meet ``window`` (all of them without a window)."""
    if window is None:
        return gdf
    return gdf[shapely.intersects(gdf.geometry.values, window)]


def _area_layer(kind: str, given: Any, data_dir: str | os.PathLike[str] | None,
                window: shapely.Geometry | None) -> gpd.GeoDataFrame | None:
    """One area layer near the bids: the layer given, or the one loaded for the vintage given (None when missing)."""
    if isinstance(given, gpd.GeoDataFrame):
        return _near(given.to_crs(settings.crs), window)
    try:
        return _near(boundaries.load_areas(kind, given, data_dir=data_dir), window)
    except DataNotFoundError:
        return None


def _load_map_data(areas: dict[str, Any], providers: gpd.GeoDataFrame | bool,
                   data_dir: str | os.PathLike[str] | None, window: shapely.Geometry | None) -> _MapData:
    """The boundaries, Opportunity Areas and providers within ``window``; a layer whose data is missing is left out."""
    layers = {kind: _area_layer(kind, areas.get(kind), data_dir, window) for kind in (*_AREA_KINDS, "oa")}
    outlines = {kind: layer for kind in _AREA_KINDS if (layer := layers[kind]) is not None}
    oa = layers["oa"]
    prov: gpd.GeoDataFrame | None = None
    if providers is True:
        with contextlib.suppress(DataNotFoundError):
            prov = _near(provider_data.load_providers(data_dir=data_dir), window)
    elif isinstance(providers, gpd.GeoDataFrame):
        prov = _near(providers, window)
    return _MapData(outlines, oa, prov)


def _default_simplify(catchments: gpd.GeoDataFrame | None) -> float:
    """Half the catchment grid's resolution for the modes drawn, never under :data:`SIMPLIFY_M`."""
    modes = set(catchments["mode"]) if catchments is not None and "mode" in catchments.columns else set()
    return max([SIMPLIFY_M] + [RESOLUTION_M.get(md, 50.0) / 2 for md in modes])


def _map_extent(bids: Sequence[Bid], catchments: gpd.GeoDataFrame | None) -> shapely.Geometry | None:
    """The union of every site and catchment (None when there is nothing to draw)."""
    parts = []
    sites = pd.concat([b.sites for b in bids], ignore_index=True) if bids else None
    if sites is not None and len(sites):
        parts.append(shapely.union_all(sites.geometry.values))
    if catchments is not None and len(catchments):
        parts.append(shapely.union_all(catchments.geometry.values))
    return shapely.union_all(parts) if parts else None


def _base_map(offline: bool, tiles: str | None) -> folium.Map:
    """An empty canvas map with iot-geo's text script and style, and the background tiles."""
    m = folium.Map(tiles=None, prefer_canvas=True, control_scale=True, zoom_start=10,
                   location=[52.5, -1.5])
    m.options["max_zoom"] = 19  # OpenStreetMap's deepest tiles; marker clusters need a maximum even without tiles
    m.default_js = [("leaflet", CDN["leaflet_js"])]
    m.default_css = [("leaflet_css", CDN["leaflet_css"])]
    m.get_root().header.add_child(folium.Element(  # type: ignore[attr-defined]
        f"<script>{pages.resource_text('map_text.js')}</script>\n<style>{pages.resource_text('map_text.css')}</style>"),
        name="iot_text")
    m._iot_offline = offline  # type: ignore[attr-defined]
    if offline:  # in Jupyter too: the same self-contained page, not folium's CDN-loading one
        m._repr_html_ = lambda **_: offline_repr_html(m)  # type: ignore[method-assign]
    if tiles:
        folium.TileLayer(tiles, name="Background (needs the internet)", control=True).add_to(m)
    return m


def _add_boundary_layer(m: folium.Map, layer: gpd.GeoDataFrame, kind: str, label: str, colour: str,
                        simplify_m: float) -> None:
    """One kind of boundary (LEP or combined authority) as dashed outlines named by their vintage."""
    if not len(layer):
        return
    v = int(layer["vintage"].iloc[0])
    fg = folium.FeatureGroup(name=f"{label} boundaries ({v})", show=kind == "lep")
    w = _to_wgs(layer[["code", "name", "geometry"]], max(simplify_m, 100.0))
    _geojson_layer(_geojson(w, ["code", "name"]), _style(kind, colour, 0.0, 2.0, "6 4"),
                   ["name", "code"], [label, "code"]).add_to(fg)
    fg.add_to(m)


def _add_opportunity_areas(m: folium.Map, oa: gpd.GeoDataFrame | None, simplify_m: float) -> None:
    """The Opportunity Areas, lightly filled."""
    if oa is None or not len(oa):
        return
    fg = folium.FeatureGroup(name="Opportunity Areas (2016-17)", show=True)
    w = _to_wgs(oa[["name", "lad_codes", "geometry"]], max(simplify_m, 100.0))
    _geojson_layer(_geojson(w, ["name", "lad_codes"]), _style("oa", "#b8860b", 0.15, 1.5),
                   ["name"], ["Opportunity Area"]).add_to(fg)
    fg.add_to(m)


def _marker_cluster(fg: folium.FeatureGroup) -> Any:
    """A marker cluster inside ``fg`` that loads its plugin from the CDN (inlined for offline maps)."""
    cluster = MarkerCluster(name=None, control=False)  # type: ignore[no-untyped-call]
    cluster.default_js = [("markercluster", CDN["markercluster_js"])]
    cluster.default_css = [("markercluster_css", CDN["markercluster_css"]),
                           ("markercluster_default_css", CDN["markercluster_default_css"])]
    cluster.add_to(fg)
    return cluster


def _add_provider_layers(m: folium.Map, prov: gpd.GeoDataFrame | None) -> list[dict[str, str]]:
    """One layer of providers per type (clustered past 50); returns the legend's provider rows."""
    rows: list[dict[str, str]] = []
    if prov is None or not len(prov):
        return rows
    for ptype, grp in prov.to_crs(settings.wgs84).groupby("provider_type"):
        kind = ptype.replace("_", " ")
        fg = folium.FeatureGroup(name=f"Providers: {esc(kind)} ({len(grp)})", show=ptype != "school_sixth_form")
        target: Any = _marker_cluster(fg) if len(grp) > 50 else fg
        colour = PROVIDER_COLOURS.get(ptype, "#555555")
        rows.append({"colour": colour, "name": f"{kind} ({len(grp)})"})
        for r in grp.itertuples():
            marker = _kind(folium.CircleMarker(
                [round(r.geometry.y, COORD_DECIMALS), round(r.geometry.x, COORD_DECIMALS)], radius=4,
                color=colour, fill=True, fill_opacity=0.9, weight=1), "provider")
            _Text([r.name], [r.name, kind, r.provider_id, r.postcode], max_width=260).add_to(marker)
            marker.add_to(target)
        fg.add_to(m)
    return rows


def _add_catchment_layer(m: folium.Map, bid: Bid, i: int, colour: str, catchments: gpd.GeoDataFrame,
                         bands: list[float], simplify_m: float) -> None:
    """The ``i``-th bid's catchments: largest band first and lightest, outlined in its colour and dash."""
    mine = catchments[catchments["group_id"] == bid.id]
    fg = folium.FeatureGroup(name=f"{esc(bid.name)}: catchments")
    for j, band in enumerate(sorted(mine["minutes"].unique(), reverse=True)):
        row = mine[mine["minutes"] == band]
        shade = 0.6 * j / max(len(bands) - 1, 1) if len(bands) > 1 else 0.0
        t = 0.6 - shade  # longest band lightest
        w = _to_wgs(row[["minutes", "area_km2", "people", "truncated", "geometry"]], simplify_m)
        w["bid"] = bid.name
        w["people"] = w["people"].map(lambda v: f"{v:,.0f}")
        w["note"] = np.where(w["truncated"], "reaches the network edge: a lower bound", "")
        gj = _geojson(w, ["bid", "minutes", "area_km2", "people", "note"])
        if not gj["features"]:
            continue
        _geojson_layer(gj, _style("catchment", _shade(colour, t), CATCHMENT_FILL, 2.0 if j == 0 else 1.0,
                                  CATCHMENT_DASHES[i % len(CATCHMENT_DASHES)], stroke=colour),
                       ["bid", "minutes", "people", "area_km2", "note"],
                       ["bid", "minutes", "people reached", "km²", ""]).add_to(fg)
    fg.add_to(m)


def _overlap_zones(overlaps: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One zone per pair of bids, at its largest band, without slivers under :data:`MIN_OVERLAP_KM2`.

    The slivers are left out of the drawing only, not out of the tables.
    """
    ov = overlaps[~overlaps.geometry.is_empty]
    ov = ov[ov["minutes"] == ov.groupby(["bid_a", "bid_b"])["minutes"].transform("max")].copy()
    ov["geometry"] = [_drop_small(g, MIN_OVERLAP_KM2 * 1e6) for g in ov.geometry.values]
    return ov[~ov.geometry.is_empty]


def _overlap_tooltips(ov: gpd.GeoDataFrame, names: dict[str, str], simplify_m: float) -> gpd.GeoDataFrame:
    """The zones in WGS84 with their tooltip text: the pair, people in both, each bid's share, shared routes."""
    cols = ["bid_a", "bid_b", "minutes", "people_both", "people_share_a", "people_share_b", "area_share_a",
            "area_share_b", "shared_routes", "duplicate", "geometry"]
    w = _to_wgs(ov[cols], max(simplify_m, OVERLAP_SIMPLIFY_M), decimals=COORD_DECIMALS - 1)
    w["pair"] = [f"{names.get(a, a)} / {names.get(b, b)}" for a, b in zip(w["bid_a"], w["bid_b"], strict=True)]
    for side in ("a", "b"):
        w[f"share_{side}"] = [
            f"{names.get(bid, bid)}: {p:.0%} of its people, {a:.0%} of its area" for bid, p, a in
            zip(w[f"bid_{side}"], w[f"people_share_{side}"], w[f"area_share_{side}"], strict=True)]
    w["routes"] = [", ".join(map(str, r)) if len(r) else "none" for r in w["shared_routes"]]
    w["people_both"] = w["people_both"].map(lambda v: f"{v:,.0f}")
    w["duplicate"] = np.where(w["duplicate"], "duplicate provision", "")
    return w


def _add_overlap_layer(m: folium.Map, overlaps: gpd.GeoDataFrame, bids: Sequence[Bid], simplify_m: float) -> None:
    """The overlaps between bids as dashed outlines, with the map's "fill overlaps" control."""
    fg = folium.FeatureGroup(name="Overlaps between bids")
    ov = _overlap_zones(overlaps)
    if len(ov):
        w = _overlap_tooltips(ov, {b.id: b.name for b in bids}, simplify_m)
        fields = ["pair", "minutes", "people_both", "share_a", "share_b", "routes", "duplicate"]
        layer = _geojson_layer(_geojson(w, fields, COORD_DECIMALS - 1),
                               _style("overlap", OVERLAP_COLOUR, 0.0, 1.5, "4 4", fill_colour="#e31a1c"), fields,
                               ["bids", "minutes", "people in both", "share", "share", "shared routes", ""])
        layer.add_to(fg)
        fg.add_to(m)
        _OverlapToggle(layer, OVERLAP_FILL).add_to(m)
    else:
        fg.add_to(m)


def _has_catchment(catchments: gpd.GeoDataFrame | None, bid: Bid) -> bool:
    """Whether a non-empty catchment of ``bid`` is drawn."""
    if catchments is None:
        return False
    mine = catchments["group_id"] == bid.id
    return bool(mine.any()) and not catchments.loc[mine].geometry.is_empty.all()


def _add_site_layer(m: folium.Map, bid: Bid, colour: str, drawn: bool, evidence: pd.DataFrame | None) -> None:
    """A bid's sites (the hub larger, ringed in black) with their popups and permanent labels."""
    fg = folium.FeatureGroup(name=f"{esc(bid.name)}: sites")
    partners = ", ".join(p.name for p in bid.partners)
    labels = []
    for r in bid.sites.to_crs(settings.wgs84).itertuples():
        hub = r.role == "hub"
        lat, lon = round(r.geometry.y, COORD_DECIMALS), round(r.geometry.x, COORD_DECIMALS)
        marker = _kind(folium.CircleMarker(
            [lat, lon], radius=9 if hub else 5,
            color="black" if hub else colour, weight=3 if hub else 1, fill=True, fill_color=colour,
            fill_opacity=1.0), "site")
        _Text([f"{r.name} ({r.role})"],
              [r.name, f"{r.role} of {bid.name}", f"lead {bid.lead}", f"partners: {partners}" if partners else "",
               f"routes: {', '.join(bid.routes)}", *(_evidence_lines(evidence, bid.id) if hub else [])],
              max_width=280).add_to(marker)
        marker.add_to(fg)
        labels.append((lat, lon, r.name, hub))
        if not drawn:
            folium.Marker([r.geometry.y, r.geometry.x], icon=folium.DivIcon(
                html='<div style="font:11px sans-serif;background:#fff8;white-space:nowrap">'
                     'no catchment drawn</div>')).add_to(fg)
    _Labels(labels).add_to(fg)
    fg.add_to(m)


def _add_legend_and_controls(m: folium.Map, legend: str) -> None:
    """The legend, the layer control (collapsed on small screens) and the page's shape counter."""
    _Legend(legend).add_to(m)
    control = folium.LayerControl(collapsed=False)
    control.add_to(m)
    _CollapseOnSmall(control, SMALL_SCREEN_PX).add_to(m)
    _ShapeCounter().add_to(m)  # type: ignore[no-untyped-call]


def _fit_bounds(m: folium.Map, extent: shapely.Geometry | None) -> None:
    """Zoom the map to ``extent`` (BNG) with a 500 m margin."""
    if extent is None:
        return
    minx, miny, maxx, maxy = gpd.GeoSeries([shapely.buffer(extent, 500)], crs=settings.crs).to_crs(
        settings.wgs84).total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])


def make_map(
    bids: Bids | Sequence[Bid],
    *,
    catchments: gpd.GeoDataFrame | None = None,
    overlaps: gpd.GeoDataFrame | None = None,
    areas: dict[str, int | gpd.GeoDataFrame | None] | None = None,
    providers: gpd.GeoDataFrame | bool = True,
    offline: bool = False,
    tiles: str | None = "OpenStreetMap",
    simplify_m: float | None = None,
    title: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    evidence: pd.DataFrame | None = None,
) -> folium.Map:
    """An interactive map of bids, their catchments and overlaps, areas and providers.

    Parameters
    ----------
    bids : Bids or list of Bid
    catchments : GeoDataFrame, optional
        Union catchments per bid and band (``group_id`` = bid id, ``minutes``),
        e.g. ``bid_catchments(...).table``.
    overlaps : GeoDataFrame, optional
        From :func:`iot_geo.overlap.overlap_areas`.
    areas : dict, optional
        Per area kind (``lep``, ``ca``, ``oa``), a vintage to load, e.g. ``{"lep": 2017, "ca": 2017}``
        (default the bids'), or a layer already loaded (a GeoDataFrame with ``code, name``), drawn as given.
    providers : GeoDataFrame or bool
        Providers to draw (default: those near the bids from the data directory).
    offline : bool
        Inline Leaflet from the local copy (see the module docstring).
    tiles : str or None
        Background tiles; ``None`` for none.
    simplify_m : float, optional
        Simplification tolerance in metres; default half the catchment grid's
        resolution (50 m for driving), never under :data:`SIMPLIFY_M`.
    title : str, optional
    data_dir : path, optional
    evidence : DataFrame, optional
        From :func:`iot_geo.evidence.area_evidence`: each bid's hub popup shows its key figures beside England.

    Returns
    -------
    folium.Map
        Call ``save(path)`` (or :func:`save_map`, which writes atomically and
        inlines the offline assets).

    Examples
    --------
    >>> import iot_geo as ig
    >>> m = ig.make_map(ig.read_bids("data/examples/cambridge.yaml"), providers=False)
    >>> type(m).__name__
    'Map'
    """
    bid_list = list(bids)
    simplify_m = _default_simplify(catchments) if simplify_m is None else simplify_m
    extent = _map_extent(bid_list, catchments)
    window = shapely.buffer(extent, 20_000) if extent is not None else None
    data = _load_map_data(areas or (bid_list[0].vintage if bid_list else {}), providers, data_dir, window)
    m = _base_map(offline, tiles)
    for kind, label, colour in _BOUNDARY_LAYERS:
        if kind in data.boundaries:
            _add_boundary_layer(m, data.boundaries[kind], kind, label, colour, simplify_m)
    _add_opportunity_areas(m, data.opportunity_areas, simplify_m)
    provider_rows = _add_provider_layers(m, data.providers)
    # bids' catchments, then the overlaps (outlines over the bids' colours, so every bid stays visible),
    # then the sites on top
    has_catchments = catchments is not None and len(catchments) > 0
    bands = sorted(catchments["minutes"].unique()) if catchments is not None and has_catchments else []
    colours = {bid.id: PALETTE[i % len(PALETTE)] for i, bid in enumerate(bid_list)}
    for i, bid in enumerate(bid_list):
        if catchments is not None and has_catchments:
            _add_catchment_layer(m, bid, i, colours[bid.id], catchments, bands, simplify_m)
    if overlaps is not None and len(overlaps):
        _add_overlap_layer(m, overlaps, bid_list, simplify_m)
    for bid in bid_list:
        _add_site_layer(m, bid, colours[bid.id], _has_catchment(catchments, bid), evidence)
    legend = pages.render(
        "map_legend.html", title=title or "iot-geo",
        bids=[{"colour": colours[b.id], "name": b.name, "id": b.id} for b in bid_list],
        bands=", ".join(f"{b:g}" for b in bands), overlaps=overlaps is not None, providers=provider_rows,
        attribution=ATTRIBUTION, offline=offline, overlap_colour=OVERLAP_COLOUR)
    _add_legend_and_controls(m, legend)
    _fit_bounds(m, extent)
    return m


_ADD = re.compile(r"geo_json_[0-9a-f]+_add\(")


def _compact_geojson(page: str) -> str:
    """Re-write the GeoJSON that folium embeds without spaces (about a tenth smaller), still HTML-safe."""
    decoder = json.JSONDecoder()
    out, pos = [], 0
    for match in _ADD.finditer(page):
        start = match.end()
        if start < pos:
            continue
        try:
            obj, end = decoder.raw_decode(page, start)
        except json.JSONDecodeError:
            continue
        text = json.dumps(obj, separators=(",", ":"), sort_keys=True)
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
        out.append(page[pos:start])
        out.append(text)
        pos = end
    out.append(page[pos:])
    return "".join(out)


_IMAGE_URL = re.compile(r"url\((images/[\w.-]+\.png)\)")


def _data_uri(folder: Path, match: re.Match[str]) -> str:
    """``url(data:...)`` of a PNG ``url(images/...)`` in a CSS file of ``folder`` (left as it was when missing)."""
    path = folder / match.group(1)
    if not path.is_file():
        return match.group(0)
    return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") + ")"


def render_html(m: folium.Map) -> str:
    """The map's page as text; offline maps get Leaflet inlined from the local copy."""
    page = _compact_geojson(m.get_root().render())
    if not getattr(m, "_iot_offline", False):
        return page
    root = web_assets_dir()
    for key, url in CDN.items():
        if url not in page:
            continue
        path = root / LOCAL[key]
        if not path.is_file():
            raise DataNotFoundError(
                f"offline map: {path} not found; install the web assets with `npm install --prefix web` "
                "(the README's setup does) or set $IOT_GEO_WEB")
        body = path.read_text(encoding="utf-8")
        if key == "leaflet_css":  # its icons (the collapsed layer button's among them) inlined too
            body = _IMAGE_URL.sub(functools.partial(_data_uri, path.parent), body)
        if key.endswith("_js"):
            inline = "<script>" + body.replace("</script", "<\\/script") + "</script>"
            page = page.replace(f'<script src="{url}"></script>', inline)
        else:
            page = page.replace(f'<link rel="stylesheet" href="{url}"/>', "<style>" + body + "</style>")
        if url in page:
            raise InvalidInputError(f"offline map: could not inline {url}")
    return page


def offline_repr_html(m: folium.Map, height: int = 520) -> str:
    """The offline page in an ``<iframe srcdoc>`` (how notebooks show an offline map without the internet)."""
    page = render_html(m)
    return (f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;height:{int(height)}px;border:none" '
            'sandbox="allow-scripts"></iframe>')


def save_map(m: folium.Map, path: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str] | None] = (),
             *, provenance: dict[str, Any] | None = None) -> Path:
    """Write the map atomically (temporary file, then rename); never over an input; with its provenance stamp."""
    check_output(path, inputs)
    page = render_html(m)
    if provenance is not None:
        page = page.replace("</body>", html_block(provenance) + "\n</body>", 1)
    return write_text(page, path, inputs)


#: A name longer than this (characters) is cut with an ellipsis in pictures; shorter ones are wrapped, never cut.
PICTURE_NAME_MAX = 300


def _wrapped(text: str, width: int) -> str:
    """A name for a picture: whole, wrapped at ``width`` characters (only past :data:`PICTURE_NAME_MAX` cut)."""
    text = " ".join(str(text).split())
    if len(text) > PICTURE_NAME_MAX:
        text = text[:PICTURE_NAME_MAX - 1] + "\u2026"
    return _plain(textwrap.fill(text, width, break_long_words=True, break_on_hyphens=True))


def _plain(text: str) -> str:
    """Text that matplotlib draws as written: a ``$`` never starts mathtext (which fails or draws formulas)."""
    return text.replace("$", r"\$")


def _mpl_paths(geoms: np.ndarray) -> list[Any]:
    """One matplotlib ``Path`` per (multi)polygon, holes included, for a single collection of patches."""
    from matplotlib.path import Path as MplPath  # deferred: matplotlib loads only when a picture is drawn

    out = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        polys = list(getattr(g, "geoms", [g]))
        verts, codes = [], []
        for poly in polys:
            if poly.geom_type != "Polygon" or poly.is_empty:
                continue
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)
                verts.append(xy)
                c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                codes.append(c)
        if verts:
            out.append(MplPath(np.concatenate(verts), np.concatenate(codes)))
    return out


def save_picture(
    path: str | os.PathLike[str],
    bids: Sequence[Bid],
    *,
    catchments: gpd.GeoDataFrame | None = None,
    overlaps: gpd.GeoDataFrame | None = None,
    title: str = "",
    data_dir: str | os.PathLike[str] | None = None,
    dpi: int = 110,
) -> Path:
    """A static PNG (matplotlib) with scale bar, north arrow, legend and attribution, for a bid document.

    The legend (below the map, never over it) lists each bid by its whole name
    (wrapped, not cut), each band's shade and the hatched overlaps; every site
    has a small label beside it. Each bid's outer edge is drawn over every area
    in its colour with its own dash, so a bid inside another stays visible.

    One figure, drawn once: every layer (LEP boundaries, each band of each bid's
    catchments, the overlaps, the sites) is one matplotlib collection added to
    the axes, with the extent set once, rather than a geopandas ``.plot`` per
    layer (each of which rescales and redraws).
    """
    out = check_output(path)
    fig = draw_picture(bids, catchments=catchments, overlaps=overlaps, title=title, data_dir=data_dir)  # selects Agg
    import matplotlib.pyplot as plt  # deferred: matplotlib loads only when a picture is drawn (after Agg)

    try:
        with atomic(out, what="the picture") as tmp:
            fig.savefig(tmp, dpi=dpi, format="png", pil_kwargs={"compress_level": 3})  # zlib 3: a third of level 6's time
    finally:
        plt.close(fig)
    return out


def _band_shade(all_bands: list[float], band: float) -> float:
    """How much a band's shade is mixed with white: the longest band lightest (0.6), the shortest the colour."""
    k = all_bands.index(band)
    return 0.6 * k / (len(all_bands) - 1) if len(all_bands) > 1 else 0.0


def _bid_and_band_entries(bids: Sequence[Bid], all_bands: list[float]) -> list[Any]:
    """The legend's first entries: each bid (its whole name, wrapped, its colour and dash), then each band."""
    from matplotlib.patches import Patch  # deferred: matplotlib loads only when a picture is drawn

    entries: list[Any] = [Patch(facecolor=_shade(PALETTE[i % len(PALETTE)], 0.5), edgecolor=PALETTE[i % len(PALETTE)],
                                linewidth=1.4, linestyle=PICTURE_DASHES[i % len(PICTURE_DASHES)],
                                label=_wrapped(bid.name, 44)) for i, bid in enumerate(bids)]
    entries += [Patch(facecolor=_shade("#555555", _band_shade(all_bands, band)), alpha=0.55, edgecolor="#555555",
                      label=f"{band:g} min" + (" (darker = shorter)" if k == 0 and len(all_bands) > 1 else ""))
                for k, band in enumerate(all_bands)]
    return entries


@dataclass
class _PictureLayout:
    """Heights (inches) of a picture's parts, top to bottom: title, map, legend, attribution."""

    title_text: str
    title_h: float
    map_h: float
    legend_h: float
    attr_h: float

    @property
    def height(self) -> float:
        return self.title_h + self.map_h + self.legend_h + self.attr_h

    @property
    def legend_top(self) -> float:
        """Where the legend starts, as a fraction of the figure's height (just below the map)."""
        return (self.attr_h + self.legend_h) / self.height


def _picture_layout(entries: list[Any], show_overlaps: bool, title: str) -> _PictureLayout:
    """Room for the wrapped title above the map and for two columns of legend (three entries to come) below."""
    lines = sum(str(e.get_label()).count("\n") + 1 for e in entries) + 3 + bool(show_overlaps)
    title_text = _wrapped(title, 90) if title else ""
    title_h = 0.2 + 0.22 * (title_text.count("\n") + 1) if title_text else 0.15
    return _PictureLayout(title_text, title_h, 7.0, 0.25 + 0.16 * math.ceil(lines / 2), 0.35)


def _picture_bounds(bids: Sequence[Bid], catchments: gpd.GeoDataFrame | None) -> tuple[float, float, float, float]:
    """The sites' and catchments' bounds with a 2 km margin (bounds only: no union, no buffer)."""
    parts = [b.sites.geometry.values for b in bids]
    if catchments is not None and len(catchments):
        parts.append(catchments.geometry.values)
    x0b, y0b, x1b, y1b = shapely.total_bounds(np.concatenate(parts)) if parts else (0.0, 0.0, 1.0, 1.0)
    return x0b - 2000, y0b - 2000, x1b + 2000, y1b + 2000


def _draw_lep_lines(ax: Any, bids: Sequence[Bid], bounds: tuple[float, float, float, float],
                    data_dir: str | os.PathLike[str] | None) -> bool:
    """The LEP boundaries near the map as dashed lines; False when no boundary data is found."""
    from matplotlib.collections import LineCollection  # deferred: matplotlib loads only when a picture is drawn

    minx, miny, maxx, maxy = bounds
    try:
        lep = boundaries.load_areas("lep", (bids[0].vintage or {}).get("lep") if bids else None, data_dir=data_dir)
    except DataNotFoundError:
        return False
    near = lep.geometry.values[shapely.intersects(lep.geometry.values, shapely.box(*bounds))]
    segments = shapely.get_parts(shapely.line_merge(shapely.boundary(shapely.clip_by_rect(
        near, minx - 1000, miny - 1000, maxx + 1000, maxy + 1000))))
    segs = [np.asarray(ln.coords) for ln in segments if not ln.is_empty]
    ax.add_collection(LineCollection(segs, colors="#444", linewidths=1, linestyles="--"), autolim=False)
    return True


def _draw_catchments(ax: Any, bids: Sequence[Bid], catchments: gpd.GeoDataFrame | None,
                     all_bands: list[float]) -> list[Any]:
    """Each band of each bid's catchments (shaded by band); returns each bid's outer edge, to draw on top later."""
    from matplotlib.collections import PathCollection  # deferred: matplotlib loads only when a picture is drawn

    edges: list[Any] = []
    if catchments is None:
        return edges
    for i, bid in enumerate(bids):
        colour = PALETTE[i % len(PALETTE)]
        mine = catchments[catchments["group_id"] == bid.id]
        for j, band in enumerate(sorted(mine["minutes"].unique(), reverse=True)):
            paths = _mpl_paths(mine.geometry.values[(mine["minutes"] == band).to_numpy()])
            ax.add_collection(PathCollection(paths, facecolors=_shade(colour, _band_shade(all_bands, band)),
                                             alpha=0.45, edgecolors=colour, linewidths=0.5), autolim=False)
            if j == 0:  # the outer edge, drawn over every area, in the bid's colour and its own dash
                dash = PICTURE_DASHES[i % len(PICTURE_DASHES)]
                edges.append(PathCollection(paths, facecolors="none", edgecolors=colour, linewidths=1.4,
                                            linestyles=[dash]))
    return edges


def _draw_overlaps(ax: Any, overlaps: gpd.GeoDataFrame) -> None:
    """The overlaps hatched over the bids' own colours (which stay visible beneath), one zone per pair."""
    from matplotlib.collections import PathCollection  # deferred: matplotlib loads only when a picture is drawn

    ov = overlaps[~overlaps.geometry.is_empty]
    if {"bid_a", "bid_b", "minutes"} <= set(ov.columns):  # one zone per pair, at its largest band
        ov = ov[ov["minutes"] == ov.groupby(["bid_a", "bid_b"])["minutes"].transform("max")]
    zones = PathCollection(_mpl_paths(ov.geometry.values), facecolors="none", edgecolors=OVERLAP_COLOUR,
                           hatch="///", linewidths=0.6, alpha=0.7)
    zones.set_hatch_linewidth(0.6)
    ax.add_collection(zones, autolim=False)


#: A group of sites drawn alike: their coordinates, colour, role and names.
_SiteGroup = tuple[np.ndarray, str, str, list[str]]


def _site_groups(bids: Sequence[Bid]) -> list[_SiteGroup]:
    """Each bid's hubs, then its spokes, with the bid's colour."""
    groups: list[_SiteGroup] = []
    for i, bid in enumerate(bids):
        for role in ("hub", "spoke"):
            mask = (bid.sites["role"] == role).to_numpy()
            if mask.any():
                groups.append((shapely.get_coordinates(bid.sites.geometry.values[mask]), PALETTE[i % len(PALETTE)],
                               role, [str(n) for n in bid.sites["name"].to_numpy()[mask]]))
    return groups


def _draw_sites(ax: Any, groups: list[_SiteGroup]) -> None:
    """The sites (hubs as stars) and their labels, on top of every area."""
    from matplotlib import patheffects  # deferred: matplotlib loads only when a picture is drawn

    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for xy, colour, role, names in groups:
        ax.scatter(xy[:, 0], xy[:, 1], c=colour, edgecolors="black", s=120 if role == "hub" else 40,
                   marker="*" if role == "hub" else "o", zorder=5)
        for (x, y), name in zip(xy, names, strict=True):
            ax.annotate(_wrapped(name, 28), (x, y), xytext=(7, 4), textcoords="offset points", fontsize=7,
                        fontweight="bold" if role == "hub" else "normal", zorder=6, path_effects=halo,
                        annotation_clip=True)


def _site_and_overlap_entries(groups: list[_SiteGroup], show_overlaps: bool) -> list[Any]:
    """The legend's last entries: spoke and hub sites, then the overlaps (last, so the others keep their places)."""
    from matplotlib.lines import Line2D  # deferred: matplotlib loads only when a picture is drawn
    from matplotlib.patches import Patch

    entries: list[Any] = []
    if any(role == "spoke" for *_, role, _n in groups):
        entries.append(Line2D([], [], marker="o", color="none", markerfacecolor="#888", markeredgecolor="black",
                              label="spoke site"))
    entries.append(Line2D([], [], marker="*", color="none", markerfacecolor="#888", markeredgecolor="black",
                          markersize=12, label="hub site"))
    if show_overlaps:
        entries.append(Patch(facecolor="none", edgecolor=OVERLAP_COLOUR, hatch="///", label="overlap between bids"))
    return entries


def _draw_scale_and_north(ax: Any, bounds: tuple[float, float, float, float]) -> None:
    """The map's extent, a scale bar of a round length near a fifth of the width, and a north arrow."""
    minx, miny, maxx, maxy = bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    width = maxx - minx  # the axes are in metres
    nice = [1, 2, 5, 10, 20, 50, 100]
    km = max(k for k in nice if k * 1000 <= width / 4) if width >= 4000 else 1
    x0, y0 = minx + width * 0.05, miny + (maxy - miny) * 0.05
    ax.plot([x0, x0 + km * 1000], [y0, y0], color="black", linewidth=3)
    ax.text(x0 + km * 500, y0 + (maxy - miny) * 0.015, f"{km} km", ha="center", fontsize=9)
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction", ha="center", fontsize=12,
                arrowprops={"arrowstyle": "-|>", "color": "black"})


def draw_picture(
    bids: Sequence[Bid],
    *,
    catchments: gpd.GeoDataFrame | None = None,
    overlaps: gpd.GeoDataFrame | None = None,
    title: str = "",
    data_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """The figure that :func:`save_picture` writes (a matplotlib ``Figure``; the caller closes it)."""
    import matplotlib  # deferred: matplotlib loads only when a picture is drawn, with Agg selected first

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    all_bands = sorted(catchments["minutes"].unique()) if catchments is not None and len(catchments) else []
    entries = _bid_and_band_entries(bids, all_bands)
    show_overlaps = bool(overlaps is not None and len(overlaps) and not overlaps.geometry.is_empty.all())
    layout = _picture_layout(entries, show_overlaps, title)
    fig = plt.figure(figsize=(8, layout.height))
    ax = fig.add_axes((0.02, layout.legend_top, 0.96, layout.map_h / layout.height))
    ax.set_autoscale_on(False)
    bounds = _picture_bounds(bids, catchments)
    if _draw_lep_lines(ax, bids, bounds, data_dir):
        entries.append(Patch(facecolor="none", edgecolor="#444", linestyle="--", label="LEP boundary"))
    edges = _draw_catchments(ax, bids, catchments, all_bands)
    if show_overlaps:
        assert overlaps is not None
        _draw_overlaps(ax, overlaps)
    for edge in edges:
        ax.add_collection(edge, autolim=False)
    groups = _site_groups(bids)
    _draw_sites(ax, groups)
    entries += _site_and_overlap_entries(groups, show_overlaps)
    _draw_scale_and_north(ax, bounds)
    # the legend below the map, never over it; the title above
    fig.legend(handles=entries, loc="upper left", bbox_to_anchor=(0.02, layout.legend_top - 0.004),
               ncol=2, fontsize=7.5, frameon=False, handlelength=1.8, columnspacing=1.5)
    if layout.title_text:
        fig.text(0.5, 1 - 0.12 / layout.height, layout.title_text, ha="center", va="top", fontsize=11)
    fig.text(0.01, 0.01, textwrap.fill(ATTRIBUTION, 190), fontsize=5.5, color="#555")  # wrapped once, by length
    return fig


def coverage_layer(cov: gpd.GeoDataFrame, *, name: str = "cold spots") -> Any:
    """A folium layer of :func:`iot_geo.batch.coverage`: each LSOA not covered as a shaded circle.

    A circle's area grows with the people in it; darker is more deprived (IMD decile).
    """
    layer = folium.FeatureGroup(name=name)
    cold = cov[~cov["covered"].astype(bool)].to_crs(settings.wgs84)
    shades = {d: f"#{int(40 + 20 * (d - 1)):02x}{int(30 + 10 * (d - 1)):02x}{int(120 + 12 * (d - 1)):02x}"
              for d in range(1, 11)}
    for r in cold.itertuples():
        people = float(r.people) if pd.notna(r.people) else 0.0
        decile = int(r.imd_decile) if pd.notna(getattr(r, "imd_decile", np.nan)) else 0
        mins = "not reached" if pd.isna(r.minutes) else f"{float(r.minutes):.0f} min"
        folium.CircleMarker(
            location=[r.geometry.y, r.geometry.x], radius=max(2.0, (people / 500.0) ** 0.5 * 3.0), stroke=False,
            fill=True, fill_color=shades.get(decile, "#888888"), fill_opacity=0.7,
            tooltip=f"{esc(getattr(r, 'lsoa_code', ''))}: {people:,.0f} people, {mins}, IMD decile {decile or '?'}",
        ).add_to(layer)
    return layer
