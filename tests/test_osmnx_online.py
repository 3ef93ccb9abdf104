"""Networks through osmnx: a place or a bbox from a fake Overpass/Nominatim on 127.0.0.1, and graphs in memory.

The fake Overpass answers like the real one: the ways with a node inside the query polygon, whole, and their
nodes, as OSM JSON made from the shared Rutland drive extract (``rutland-2022-07-20-drive.osm.bz2``, osmnx's
drive ways of the same Geofabrik file). Tolerance: none. Built with iot-geo's own rules from the same data,
the downloaded network has exactly the pbf network's nodes and edges and the same times; against the live
Overpass the counts differ only by the edits made since the extract's date.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import geopandas as gpd
import numpy as np
import pytest
import shapely

import iot_geo as ig
from iot_geo.network import load_network

SITES = {"Oakham": (52.6707, -0.7270), "Uppingham": (52.5890, -0.7240), "Cottesmore": (52.7130, -0.6650)}
RUTLAND_POLY = [(-0.86, 52.51), (-0.38, 52.51), (-0.38, 52.78), (-0.86, 52.78), (-0.86, 52.51)]


def _osm_elements(path):
    import osmium

    nodes, ways = {}, []
    for obj in osmium.FileProcessor(str(path)):
        if isinstance(obj, osmium.osm.Node):
            nodes[obj.id] = (obj.location.lat, obj.location.lon)
        elif isinstance(obj, osmium.osm.Way):
            ways.append((obj.id, [n.ref for n in obj.nodes], {t.k: t.v for t in obj.tags}))
    return nodes, ways


class FakeOsm:
    def __init__(self, nodes, ways):
        self.nodes, self.ways, self.queries, self.searches = nodes, ways, [], []
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _json(self, obj):
                body = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/nominatim/search"):
                    srv.searches.append(self.path)
                    return self._json([{
                        "place_id": 1, "licence": "ODbL", "osm_type": "relation", "osm_id": 57398, "lat": "52.66",
                        "lon": "-0.63", "class": "boundary", "type": "administrative", "place_rank": 12,
                        "importance": 0.6, "addresstype": "county", "name": "Rutland",
                        "display_name": "Rutland, England, United Kingdom",
                        "boundingbox": ["52.51", "52.78", "-0.86", "-0.38"],
                        "geojson": {"type": "Polygon", "coordinates": [RUTLAND_POLY]}}])
                self.send_response(404)
                self.end_headers()

            def do_POST(self):
                data = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())["data"][0]
                srv.queries.append(data)
                self._json(srv.answer(data))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, query):
        coords = [float(v) for v in re.search(r"poly:'([^']+)'", query).group(1).split()]
        poly = shapely.Polygon(list(zip(coords[1::2], coords[0::2], strict=True)))  # lat lon pairs
        ids = np.fromiter(self.nodes, dtype=np.int64)
        ll = np.array([self.nodes[i] for i in ids])
        inside = dict(zip(ids.tolist(), shapely.contains_xy(poly, ll[:, 1], ll[:, 0]).tolist(), strict=True))
        out_ways = [w for w in self.ways if any(inside[n] for n in w[1])]
        used = sorted({n for w in out_ways for n in w[1]})
        elements = [{"type": "node", "id": n, "lat": self.nodes[n][0], "lon": self.nodes[n][1]} for n in used]
        elements += [{"type": "way", "id": i, "nodes": refs, "tags": tags} for i, refs, tags in out_ways]
        return {"version": 0.6, "osm3s": {"timestamp_osm_base": "2022-07-20T20:21:45Z"}, "elements": elements}


@pytest.fixture(scope="module")
def fake_osm(data_dir):
    import osmnx as ox

    # every highway (service roads too: the drive rules keep them), as Overpass would answer the drive query
    server = FakeOsm(*_osm_elements(data_dir / "osm" / "rutland-2022-07-20-highways.osm.bz2"))
    saved = {k: getattr(ox.settings, k) for k in ("overpass_url", "nominatim_url", "use_cache",
                                                  "overpass_rate_limit", "doh_url_template")}
    ox.settings.overpass_url = server.url + "/api"
    ox.settings.nominatim_url = server.url + "/nominatim"
    ox.settings.use_cache = False
    ox.settings.overpass_rate_limit = False
    ox.settings.doh_url_template = None
    yield server
    for k, v in saved.items():
        setattr(ox.settings, k, v)
    server.httpd.shutdown()


def test_place_through_osmnx_equals_the_pbf(fake_osm):
    online = load_network("Rutland, England")
    assert fake_osm.searches and "Rutland" in fake_osm.searches[-1]
    assert '"highway"~"^(' in fake_osm.queries[-1]  # the drive rules' classes are asked for, not osmnx's preset
    pbf = load_network("rutland-2022-07-20.osm.pbf")
    assert (online.n_nodes, online.n_edges) == (pbf.n_nodes, pbf.n_edges)
    np.testing.assert_array_equal(online.node_id, pbf.node_id)
    assert online.source["format"] == "overpass" and online.source["data_date"] == "2022-07-20T20:21:45Z"
    t_on = ig.travel_times(online, SITES, max_minutes=30).per_site
    t_pbf = ig.travel_times(pbf, SITES, max_minutes=30).per_site
    np.testing.assert_allclose(t_on, t_pbf, rtol=0, atol=1e-9)
    c_on = ig.catchments(online, SITES, minutes=(15,))
    c_pbf = ig.catchments(pbf, SITES, minutes=(15,))
    assert c_on["people"].tolist() == c_pbf["people"].tolist()


def test_bbox_through_osmnx(fake_osm):
    bbox = (-0.76, 52.64, -0.69, 52.70)  # west, south, east, north: round Oakham
    net = load_network(bbox)
    x, y = ig.geo.to_bng(np.array([bbox[0], bbox[2]]), np.array([bbox[1], bbox[3]]))
    pbf = load_network("rutland-2022-07-20.osm.pbf")
    inside = (pbf.node_x > x[0]) & (pbf.node_x < x[1]) & (pbf.node_y > y[0]) & (pbf.node_y < y[1])
    # every junction inside the box is there, and the ways that cross its edge come whole (Overpass semantics)
    assert set(pbf.node_id[inside]) <= set(net.node_id)
    assert inside.sum() < net.n_nodes < pbf.n_nodes
    centre = gpd.GeoDataFrame(geometry=[shapely.Point(x.mean(), y.mean())], crs=27700)
    t = ig.times_to_points(net, centre, {"Oakham": SITES["Oakham"]}, max_minutes=30)
    assert t["minutes"].iloc[0] > 0


def test_bad_bbox_is_refused():
    with pytest.raises(ig.InvalidInputError, match="west, south, east, north"):
        load_network((52.7, -0.8, 52.6, -0.7))


def test_osmnx_graph_in_memory(data_dir):
    import osmnx as ox

    with gzip.open(data_dir / "osm" / "cambridge-2020-drive.graphml.gz", "rt", encoding="utf-8") as fh:
        G = ox.load_graphml(graphml_str=fh.read())
    from_file = load_network("cambridge-2020-drive.graphml.gz")
    net = load_network(G)
    assert (net.n_nodes, net.n_edges) == (from_file.n_nodes, from_file.n_edges)
    site = {"CRC": (52.2277, 0.1333)}
    a = ig.catchments(G, site, minutes=(10,))
    b = ig.catchments(from_file, site, minutes=(10,))
    assert a["people"].tolist() == b["people"].tolist() and a["area_km2"].tolist() == b["area_km2"].tolist()
