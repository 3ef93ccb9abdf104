"""Maps rendered in a real browser (headless Chromium), served from 127.0.0.1 with every asset inlined."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import warnings
from pathlib import Path

import pytest

from iot_geo import load_network
from iot_geo.bids import read_bids
from iot_geo.maps import make_map, save_map, save_picture
from iot_geo.overlap import bid_catchments, overlap_areas

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "data" / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EVIL = "<img src=x onerror=alert(1)>"
# the overlap zones' drawing: outline or filled, their fill opacity and dash pattern
OVERLAP_STYLE = """(() => {
  const ls = [];
  const key = Object.keys(window).find((k) => /^map_[0-9a-f]+$/.test(k));
  window[key].eachLayer((l) => { if (l.options && l.options.iotKind === 'overlap') ls.push(l); });
  return {state: document.documentElement.getAttribute('data-iot-overlap-style'),
          fill: ls.map((l) => l.options.fillOpacity), dash: ls.map((l) => l.options.dashArray)};
})()"""
# each overlap zone's tooltip, opened, read back as {alias: value}, repeated aliases as lists
OVERLAP_TIPS = """(() => {
  const out = [];
  const key = Object.keys(window).find((k) => /^map_[0-9a-f]+$/.test(k));
  window[key].eachLayer((l) => {
    if (!(l.options && l.options.iotKind === 'overlap')) return;
    const ll = l.getBounds().getCenter();
    l.fire('mouseover', {latlng: ll}, true);
    const tip = l.getTooltip() || Object.values(l._eventParents || {}).map((p) => p.getTooltip()).find((t) => t);
    const rec = {};
    tip.getElement().querySelectorAll('tr').forEach((tr) => {
      const k = tr.cells[0].textContent, v = tr.cells[1].textContent;
      if (k in rec) { rec[k] = [].concat(rec[k], v); } else { rec[k] = v; }
    });
    out.push(rec);
    l.fire('mouseout', {latlng: ll}, true);
  });
  return out;
})()"""


@pytest.fixture(scope="module")
def cambridge_map(data_dir, tmp_path_factory):
    bids = read_bids(EXAMPLES / "cambridge.yaml")
    bids.bids[1].name = EVIL  # a hostile name from a user's file
    bids.bids[1].sites.loc[:, "name"] = EVIL
    net = load_network(data_dir / "osm/cambridge-2020-drive.graphml.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bc = bid_catchments(net, bids, minutes=(5, 10, 15))
        ov = overlap_areas(catchments=bc)
    folder = tmp_path_factory.mktemp("maps")
    m = make_map(bids, catchments=bc.table, overlaps=ov, offline=True, tiles=None, title="Cambridge <b>example</b>")
    path = save_map(m, folder / "cambridge.html")
    return path, bids, bc, ov


def test_offline_page_is_self_contained(cambridge_map):
    path, *_ = cambridge_map
    page = path.read_text()
    assert "cdn.jsdelivr" not in page and "code.jquery" not in page and "cdnjs" not in page
    assert "L.Map" in page or "L.map" in page  # Leaflet itself is inlined
    assert "url(images/" not in page  # and its icons
    assert path.stat().st_size < 5_000_000
    assert EVIL not in page  # only ever written escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_save_map_refuses_bad_outputs(cambridge_map, tmp_path):
    from iot_geo import InvalidInputError

    path, bids, bc, ov = cambridge_map
    m = make_map(bids, catchments=bc.table, tiles=None)
    with pytest.raises(InvalidInputError, match="one of the inputs"):
        save_map(m, EXAMPLES / "cambridge.yaml", [EXAMPLES / "cambridge.yaml"])
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not (ro / "x").parent.stat().st_mode & 0o200:
            import os

            if os.geteuid() != 0:  # root ignores permissions
                with pytest.raises(InvalidInputError, match="cannot write"):
                    save_map(m, ro / "map.html")
    finally:
        ro.chmod(0o700)


def test_static_picture(cambridge_map, tmp_path):
    _, bids, bc, ov = cambridge_map
    png = save_picture(tmp_path / "overview.png", list(bids), catchments=bc.table, overlaps=ov, title="Cambridge")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_static_picture_legend_labels_and_whole_names(cambridge_map, data_dir):
    import matplotlib.pyplot as plt

    from iot_geo.maps import draw_picture

    _, bids, bc, ov = cambridge_map
    bids = list(bids)
    long_name = ("Hills Road Digital and Health Institute of Technology with the Cambridge Biomedical Campus "
                 "employers, Anglia Ruskin University and Addenbrooke's $5m training centre")
    original = bids[0].name
    bids[0].name = long_name
    try:
        fig = draw_picture(bids, catchments=bc.table, overlaps=ov, title="Cambridge " * 20, data_dir=data_dir)
    finally:
        bids[0].name = original
    try:
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.texts if t.get_text() not in ("N",) and not t.get_text().endswith(" km")]
        titles = [t.get_text() for t in fig.texts]
        fig.canvas.draw()
        legend_box = fig.legends[0].get_window_extent()
        map_box = ax.get_window_extent()
    finally:
        plt.close(fig)
    # a band legend: each band's shade, darker = shorter
    assert [x for x in legend if x.endswith("min") or "min (" in x] == ["5 min (darker = shorter)", "10 min", "15 min"]
    # every bid's whole name, wrapped (never cut), $ drawn as written
    unwrap = [" ".join(x.split()) for x in legend]
    assert long_name.replace("$", r"\$") in unwrap and "\u2026" not in "".join(legend)
    assert max(len(line) for x in legend for line in x.split("\n")) <= 44
    assert {b.name for b in bids[1:]} <= set(unwrap)
    assert legend[-1] == "overlap between bids" and "hub site" in legend and "spoke site" in legend
    # a label beside every site, with its name
    assert sorted(" ".join(x.split()) for x in labels) == sorted(n for b in bids for n in b.sites["name"])
    # the title wrapped, whole; the legend below the map, not over it
    assert " ".join(titles[0].split()) == ("Cambridge " * 20).strip() and titles[0].count("\n") >= 1
    assert legend_box.y1 <= map_box.y0


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_map_renders_in_chromium(cambridge_map):
    from playwright.sync_api import sync_playwright

    path, bids, bc, ov = cambridge_map
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(path.parent))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
    errors, outside, dialogs = [], [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            def route(r):
                if r.request.url.startswith("http://127.0.0.1"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(url)
            page.wait_for_timeout(1500)
            shapes = json.loads(page.evaluate("document.documentElement.getAttribute('data-iot-shapes')"))
            labels = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
            injected = page.evaluate("document.querySelectorAll('img[src=\"x\"]').length")
            legend = page.locator("#iot-legend").inner_text()
            providers = page.locator("#iot-legend .iot-provider").all_inner_texts()
            site_labels = page.locator(".iot-label").all_text_contents()
            expanded = page.locator(".leaflet-control-layers-expanded").count()
            style_before = page.evaluate(OVERLAP_STYLE)
            tips = page.evaluate(OVERLAP_TIPS)
            page.check("#iot-overlap-fill")  # the toggle: filled zones
            style_filled = page.evaluate(OVERLAP_STYLE)
            page.uncheck("#iot-overlap-fill")
            style_after = page.evaluate(OVERLAP_STYLE)
            shot = REPO / "maps" / "test-cambridge-screenshot.png"
            page.screenshot(path=str(shot))
            browser.close()
    finally:
        server.shutdown()
    assert errors == [] and outside == [] and dialogs == []
    expected_groups = {"LEP boundaries (2017)", "Opportunity Areas (2016-17)", "Overlaps between bids",
                       "Cambridge Regional Institute of Technology: catchments",
                       "Long Road STEM Partnership: sites", f"{EVIL}: catchments"}
    assert expected_groups <= set(labels)
    assert shapes["catchment"] == int((~bc.table.geometry.is_empty).sum()) == 9
    # one overlap zone per pair of bids, drawn at the largest band
    assert shapes["overlap"] == ov.loc[~ov.geometry.is_empty, ["bid_a", "bid_b"]].drop_duplicates().shape[0] == 3
    assert shapes["site"] == len(bids.sites)
    assert injected == 0 and EVIL in legend
    assert shot.stat().st_size > 30_000
    # overlaps are outlines over the bids' colours by default; the toggle fills them and back
    assert style_before == {"state": "outline", "fill": [0, 0, 0], "dash": ["4 4"] * 3}
    assert style_filled["state"] == "filled" and style_filled["fill"] == [0.35] * 3
    assert style_after == style_before
    # each overlap's tooltip: the pair, the shared routes and each bid's share of its own people and area
    names = {b.id: b.name for b in bids}
    big = ov[ov["minutes"] == 15]
    want = set()
    for r in big.itertuples():
        want.add((f"{names[r.bid_a]} / {names[r.bid_b]}", "15", f"{r.people_both:,}",
                  f"{names[r.bid_a]}: {r.people_share_a:.0%} of its people, {r.area_share_a:.0%} of its area",
                  f"{names[r.bid_b]}: {r.people_share_b:.0%} of its people, {r.area_share_b:.0%} of its area",
                  ", ".join(r.shared_routes) or "none"))
    got = {(t["bids"], t["minutes"], t["people in both"], t["share"][0], t["share"][1], t["shared routes"])
           for t in tips}
    assert got == want and len(tips) == 3
    assert all(t["shared routes"] != "none" for t in tips)  # every Cambridge pair offers a route in common
    # a permanent label beside every site, with its name as written
    assert sorted(site_labels) == sorted(bids.sites["name"])
    # the legend lists the provider types drawn, with their counts
    assert providers and {p.rsplit(" (", 1)[0] for p in providers} <= {
        "fe college", "sixth form college", "university", "school sixth form", "utc",
        "independent training provider", "other"}
    assert "sixth form college (2)" in providers
    assert expanded == 1  # a wide screen shows the layer list open


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_layer_list_collapsed_on_a_narrow_screen(cambridge_map):
    from playwright.sync_api import sync_playwright

    path, *_ = cambridge_map
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(path.parent))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 390, "height": 800})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort())
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/{path.name}")
            page.wait_for_timeout(800)
            controls = page.locator(".leaflet-control-layers").count()
            expanded = page.locator(".leaflet-control-layers-expanded").count()
            button = page.locator(".leaflet-control-layers-toggle").bounding_box()
            icon = page.evaluate("getComputedStyle(document.querySelector('.leaflet-control-layers-toggle'))"
                                 ".backgroundImage")
            page.locator(".leaflet-control-layers").hover()  # pointing at (or tapping) the button opens it
            opened = page.locator(".leaflet-control-layers-expanded").count()
            labels = page.locator(".leaflet-control-layers-overlays label").count()
            browser.close()
    finally:
        server.shutdown()
    assert controls == 1 and expanded == 0
    assert button and button["width"] >= 30 and icon.startswith('url("data:image/png;base64,')  # inlined offline
    assert opened == 1 and labels > 10


def test_bid_with_empty_catchment_is_drawn_with_a_note(data_dir, tmp_path):
    bids = read_bids(EXAMPLES / "rutland.yaml")
    net = load_network(data_dir / "osm/rutland-2022-07-20.osm.pbf")
    stamford = bids["stamford-iot"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bc = bid_catchments(net, [stamford], minutes=[1])  # too short to leave the hub: nothing reached
    assert bc.table.geometry.is_empty.all()
    m = make_map([stamford], catchments=bc.table, tiles=None)
    page = save_map(m, tmp_path / "empty.html").read_text()
    assert "no catchment drawn" in page and page.count('"iotKind": "site"') + page.count('"iotKind":"site"') == 3


def test_provider_type_from_a_user_is_escaped_in_layer_list_and_legend(cambridge_map):
    import geopandas as gpd
    import shapely

    from iot_geo import settings
    from iot_geo.maps import render_html

    _, bids, bc, _ = cambridge_map
    prov = gpd.GeoDataFrame({"name": ["A"], "provider_type": [EVIL], "provider_id": ["p1"], "postcode": [None]},
                            geometry=[shapely.Point(0.13, 52.21)], crs=settings.wgs84).to_crs(settings.crs)
    page = render_html(make_map(bids, catchments=bc.table, providers=prov, tiles=None))
    assert EVIL not in page
    # the layer list's name: escaped HTML, written as HTML-safe JSON (& as \u0026)
    assert '"Providers: \\u0026lt;img src=x onerror=alert(1)\\u0026gt; (1)"' in page
    assert '</span>&lt;img src=x onerror=alert(1)&gt; (1)</div>' in page  # the legend's row


def test_make_map_draws_area_layers_it_is_given_instead_of_loading_them(cambridge_map):
    import geopandas as gpd
    import shapely

    from iot_geo import settings
    from iot_geo.maps import render_html

    _, bids, _, _ = cambridge_map
    lep = gpd.GeoDataFrame({"code": ["E37999999"], "name": ["Made-up Fens LEP"], "kind": ["lep"], "vintage": [2017]},
                           geometry=[shapely.box(0.0, 52.0, 0.3, 52.4)], crs=settings.wgs84).to_crs(settings.crs)
    page = render_html(make_map(bids, areas={"lep": lep, "ca": 2017}, providers=False, tiles=None))
    assert "Made-up Fens LEP" in page and "Greater Cambridge" not in page  # the LEP layer given, not the real one
    assert "Cambridgeshire and Peterborough" in page  # the CA layer still loaded by vintage
