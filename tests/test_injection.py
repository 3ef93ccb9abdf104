"""Hostile text from a user's file, in a real browser (headless Chromium): it never runs and is shown verbatim.

Every hostile string goes into every field a user writes (bid name, lead, partner, route label, site
name, provider name, file name and title) of one map and one report; each page is loaded once, every
tooltip and popup on it is opened, and the text is read back from the DOM.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
import yaml

from iot_geo import load_network, settings
from iot_geo.bids import read_bids
from iot_geo.maps import make_map, save_map

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")

LONG = ("${alert(7)}`+alert(8)+`<b>x</b>&amp;'\"" * 400)[:10_000]
PAYLOADS = [
    "${alert(1)}",
    "`+alert(6)+`",  # a backtick: ends a template literal
    "</script><script>alert(2)</script>",
    "<img src=x onerror=alert(3)>",
    "\"><svg onload=alert(4)>",
    "line\u2028separator\u2029and ${alert(5)}",
    "'single' \"double\" \\' \\\" &amp; &lt;",
    LONG,
]
# a file name cannot hold "/" (so no "</script>") nor 10,000 characters
FILE_STEM = "bids ${alert(1)} `+alert(6)+` <img src=x onerror=alert(3)> \"><svg onload=alert(4)> '\u2028 end"

# Collects what the page made: elements a payload would create, inline handlers, dialogs.
WATCH = """
window.__iotBad = [];
const check = (e) => {
  if (e.nodeType !== 1) return;
  for (const el of [e, ...e.querySelectorAll('*')]) {
    const tag = el.tagName.toLowerCase();
    for (const a of el.attributes) if (a.name.startsWith('on')) window.__iotBad.push(tag + ' ' + a.name);
    if (['iframe', 'object', 'embed', 'frame'].includes(tag)) window.__iotBad.push(tag);
    const src = el.getAttribute('src') || '';
    if (tag === 'img' && !el.classList.contains('leaflet-tile') && !/\\.png$/.test(src)) window.__iotBad.push('img ' + src);
    if (tag === 'script' && /^\\s*alert\\(/.test(el.textContent)) window.__iotBad.push('script ' + el.textContent);
  }
};
new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach(check)))
  .observe(document, {childList: true, subtree: true});
"""

# Opens every tooltip and popup of every shape on the map; returns their text nodes.
OPEN_ALL = """() => {
  const key = Object.keys(window).find((k) => /^map_[0-9a-f]+$/.test(k));
  const map = window[key];
  const texts = (el) => {
    const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), out = [];
    let n;
    while ((n = w.nextNode())) { const t = n.data.trim(); if (t) out.push(t); }
    return out;
  };
  const own = (l, what) => [l, ...Object.values(l._eventParents || {})].map((x) => x[what] && x[what]())
    .find((x) => x);  // a layer's own tooltip or popup, or its group's
  const leaves = [];
  map.eachLayer((l) => { if (l instanceof L.Path || l instanceof L.Marker) leaves.push(l); });
  const out = [];
  for (const l of leaves) {
    const ll = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
    const rec = {kind: l.options.iotKind || null, tooltip: null, popup: null};
    const tip = own(l, 'getTooltip'), pop = own(l, 'getPopup');
    l.fire('mouseover', {latlng: ll}, true);
    if (tip && tip.isOpen()) rec.tooltip = texts(tip.getElement());
    l.fire('mouseout', {latlng: ll}, true);
    l.fire('click', {latlng: ll}, true);
    if (pop && pop.isOpen()) rec.popup = texts(pop.getElement().querySelector('.leaflet-popup-content'));
    map.closePopup();
    out.push(rec);
  }
  const labels = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label span span'))
    .map((s) => s.textContent.replace(/^ /, ''));
  const legend = document.getElementById('iot-legend');
  const siteLabels = Array.from(document.querySelectorAll('.iot-label')).map((e) => e.textContent);
  return {layers: out, labels: labels, legend: legend ? texts(legend) : [], siteLabels: siteLabels};
}"""


def _hostile_file(folder: Path) -> Path:
    bids = []
    for i, p in enumerate(PAYLOADS):
        lat, lon = 52.19 + 0.008 * (i % 4), 0.11 + 0.012 * (i // 4)
        bids.append({
            "id": f"bid-{i}", "name": p, "lead": p, "lead_type": "fe_college",
            "partners": [{"name": p, "type": "employer"}, {"name": f"{p} 2", "type": "university"}],
            "lep": "E37000042", "routes": ["digital"], "levels": [3, 4],
            "sites": [{"id": f"hub-{i}", "name": p, "role": "hub", "lat": lat, "lon": lon},
                      {"id": f"spoke-{i}", "name": f"{p} spoke", "role": "spoke", "lat": lat + 0.003,
                       "lon": lon + 0.004}]})
    path = folder / f"{FILE_STEM}.yaml"
    path.write_text(yaml.safe_dump({"schema": 1, "vintage": {"lep": 2017, "ca": 2017}, "bids": bids},
                                   allow_unicode=True, width=1 << 20), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile(data_dir, tmp_path_factory):
    """A report and a map made from a bid file whose every user field is hostile."""
    from iot_geo.report import analyse, write_report

    folder = tmp_path_factory.mktemp("hostile")
    bids = read_bids(_hostile_file(folder))
    for b, p in zip(bids, PAYLOADS, strict=True):
        b.routes = [p, "digital"]  # route labels given through the API are user text too
    net = load_network(data_dir / "osm/cambridge-2020-drive.graphml.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = analyse(bids, net, minutes=[5])
    write_report(a, folder / "report")
    # providers handed in by a user: 8 drawn one by one, 51 in a marker cluster (more than 50 of a type)
    clustered = [f"{PAYLOADS[i % 7]} #{i}" for i in range(51)]
    prov = gpd.GeoDataFrame(
        {"name": PAYLOADS + clustered, "provider_type": ["fe_college"] * 8 + ["university"] * 51,
         "provider_id": PAYLOADS + [f"u{i}" for i in range(51)], "postcode": PAYLOADS + [None] * 51},
        geometry=[shapely.Point(0.13 + 0.002 * i, 52.21) for i in range(8)]
        + [shapely.Point(0.12 + 0.0002 * i, 52.215) for i in range(51)], crs=settings.wgs84,
    ).to_crs(settings.crs)
    m = make_map(bids, catchments=a.catchments.table, overlaps=a.overlap, providers=prov, offline=True, tiles=None,
                 title=PAYLOADS[-1] + FILE_STEM)
    save_map(m, folder / "map.html")
    return folder, a


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _load(folder: Path, name: str, evaluate: str) -> tuple[Any, list[str], list[str], list[str]]:
    """Serve ``folder`` on 127.0.0.1, load ``name`` once, run ``evaluate``; (result, dialogs, errors, bad)."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dialogs: list[str] = []
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort())
            page.add_init_script(WATCH)
            from urllib.parse import quote

            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{quote(name)}")
            page.wait_for_load_state("load")
            try:
                result = page.evaluate(evaluate)
            except Exception as exc:  # a page broken by a payload: report what it did first
                result = None
                errors.append(f"evaluate: {exc}")
            page.wait_for_timeout(300)
            bad = page.evaluate("window.__iotBad")
            browser.close()
    finally:
        server.shutdown()
    return result, dialogs, errors, bad


def _site_texts(bids) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    tips, pops = set(), set()
    for b in bids:
        for r in b.sites.itertuples():
            tips.add((f"{r.name} ({r.role})",))
            pops.add((r.name, f"{r.role} of {b.name}", f"lead {b.lead}",
                      "partners: " + ", ".join(p.name for p in b.partners), "routes: " + ", ".join(b.routes)))
    return tips, pops


def _check_map(got: dict[str, Any], a, *, providers: bool, title: str) -> None:
    layers = got["layers"]
    tips, pops = _site_texts(a.bids)
    sites = [x for x in layers if x["kind"] == "site"]
    assert len(sites) == len(a.bids.sites)
    assert {tuple(x["tooltip"]) for x in sites} == tips
    # a hub's popup may go on with its bid's area evidence (text lines after the routes)
    assert {tuple(x["popup"][:5]) for x in sites} == pops
    assert all(x["popup"][5].startswith("Evidence (") for x in sites if len(x["popup"]) > 5)
    names = {b.name for b in a.bids}
    catch = [x for x in layers if x["kind"] == "catchment"]
    assert len(catch) >= len(names)
    assert {x["tooltip"][x["tooltip"].index("bid") + 1] for x in catch} == names
    pairs = {f"{a.bids[x].name} / {a.bids[y].name}" for x, y in zip(a.overlap["bid_a"], a.overlap["bid_b"],
                                                                     strict=True)}
    ov = [x for x in layers if x["kind"] == "overlap"]
    assert ov and {x["tooltip"][x["tooltip"].index("bids") + 1] for x in ov} <= pairs
    if providers:
        prov = [x for x in layers if x["kind"] == "provider"]
        clustered = {f"{PAYLOADS[i % 7]} #{i}": f"u{i}" for i in range(51)}  # those shown unclustered, if any
        assert {(p,) for p in PAYLOADS} <= {tuple(x["tooltip"]) for x in prov} <= {
            (p,) for p in [*PAYLOADS, *clustered]}
        assert {(p, "fe college", p, p) for p in PAYLOADS} <= {tuple(x["popup"]) for x in prov} <= {
            (p, "fe college", p, p) for p in PAYLOADS} | {(n, "university", u) for n, u in clustered.items()}
    assert {f"{n}: catchments" for n in names} | {f"{n}: sites" for n in names} <= set(got["labels"])
    assert got["legend"][0] == title
    assert sorted(got["siteLabels"]) == sorted(r.name for b in a.bids for r in b.sites.itertuples())
    assert {f"{b.name} ({b.id})" for b in a.bids} <= set(got["legend"])


def test_map_shows_hostile_text_verbatim_and_runs_none_of_it(hostile):
    folder, a = hostile
    got, dialogs, errors, bad = _load(folder, "map.html", OPEN_ALL)
    assert dialogs == [] and bad == [] and errors == []
    _check_map(got, a, providers=True, title=PAYLOADS[-1] + FILE_STEM)


def test_report_map_shows_hostile_text_verbatim_and_runs_none_of_it(hostile):
    folder, a = hostile
    got, dialogs, errors, bad = _load(folder / "report", "map.html", OPEN_ALL)
    assert dialogs == [] and bad == [] and errors == []
    _check_map(got, a, providers=False, title=f"IoT bids: {FILE_STEM}")


READ_INDEX = """() => {
  const f = (name) => Array.from(document.querySelectorAll(`[data-field="${name}"]`)).map((e) => e.textContent);
  return {title: document.title, h1: document.querySelector('h1').textContent, file: f('file'), name: f('name'),
          lead: f('lead'), partner: f('partner'), route: f('route'), site: f('site'), map: f('map-link'),
          links: Array.from(document.querySelectorAll('a')).map((e) => e.getAttribute('href'))};
}"""


def test_report_index_shows_hostile_text_verbatim_and_runs_none_of_it(hostile):
    folder, a = hostile
    got, dialogs, errors, bad = _load(folder / "report", "index.html", READ_INDEX)
    assert dialogs == [] and bad == [] and errors == []
    title = f"IoT bids: {FILE_STEM}"
    assert got["title"] == title and got["h1"] == title
    assert got["file"] == [f"{FILE_STEM}.yaml"]
    assert got["name"] == PAYLOADS
    assert got["lead"] == PAYLOADS
    assert got["partner"] == [x for p in PAYLOADS for x in (p, f"{p} 2")]
    assert got["route"] == [x for p in PAYLOADS for x in (p, "digital")]
    assert got["site"] == [x for p in PAYLOADS for x in (p, f"{p} spoke")]
    assert got["links"] == ["map.html"]
