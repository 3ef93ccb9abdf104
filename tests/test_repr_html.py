"""Notebook HTML (``_repr_html_``) shows a user's text escaped: bid routes and lead type, network file names."""

from __future__ import annotations

import shutil
from pathlib import Path

from test_transit import write_feed

from iot_geo.bids import read_bids

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
EVIL = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def test_bid_html_escapes_routes_and_lead_type():
    bid = read_bids(EXAMPLES / "cambridge.yaml").bids[0]
    bid.routes = [EVIL, "digital"]
    bid.lead_type = EVIL + " type"
    out = bid._repr_html_()
    assert EVIL not in out
    assert f"routes {ESCAPED}, digital;" in out and f"({ESCAPED} type);" in out


def test_travel_network_html_escapes_the_file_name(data_dir, tmp_path):
    from iot_geo import load_network

    hostile = tmp_path / f"{EVIL}.graphml.gz"
    shutil.copy(data_dir / "osm/cambridge-2020-drive.graphml.gz", hostile)
    net = load_network(hostile)
    assert net.source["file"].startswith(EVIL)
    out = net._repr_html_()
    assert EVIL not in out and f"{ESCAPED}.graphml.gz" in out


def test_transit_network_html_escapes_the_file_name(tmp_path):
    from iot_geo.transit import load_transit

    feed = write_feed(tmp_path / EVIL, [("t1", "S1", [("A", 480), ("B", 500)])])
    net = load_transit(feed)
    assert net.source["file"] == EVIL
    out = net._repr_html_()
    assert EVIL not in out and f"<b>TransitNetwork</b> {ESCAPED}: 2 stops, 1 trips on 2024-01-02" in out
