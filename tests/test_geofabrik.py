"""`iot-geo data fetch osm:REGION` against a local server with Geofabrik's layout, serving the shared Rutland pbf."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from iot_geo import ChecksumError, DownloadError, InvalidInputError
from iot_geo.network import find_network
from iot_geo.sources.geofabrik import fetch_osm

PBF_PATH = "/europe/united-kingdom/england/rutland-latest.osm.pbf"


class Server:
    """Serves index-v1.json, the pbf (with ranges) and its .md5; ``md5`` and ``die_after`` can be changed."""

    def __init__(self, pbf: bytes):
        self.pbf = pbf
        self.md5 = hashlib.md5(pbf).hexdigest()
        self.die_after: int | None = None
        self.requests: list[tuple[str, str | None]] = []
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.requests.append((self.path, self.headers.get("Range")))
                if self.path == "/index-v1.json":
                    return self._send(200, json.dumps(srv.index()).encode(), "application/json")
                if self.path == PBF_PATH + ".md5":
                    return self._send(200, f"{srv.md5}  rutland-latest.osm.pbf\n".encode(), "text/plain")
                if self.path != PBF_PATH:
                    return self._send(404, b"not found", "text/plain")
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                body = srv.pbf[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(srv.pbf) - 1}/{len(srv.pbf)}")
                self.end_headers()
                if srv.die_after is not None:
                    self.wfile.write(body[: srv.die_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def _send(self, code, body, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def index(self):
        def feat(i, name, parent, path):
            return {"type": "Feature", "geometry": None, "properties": {
                "id": i, "name": name, "parent": parent,
                "urls": {"pbf": f"https://download.geofabrik.de{path}"}}}

        return {"type": "FeatureCollection", "features": [
            feat("england", "England", "great-britain", "/europe/united-kingdom/england-latest.osm.pbf"),
            feat("rutland", "Rutland", "england", PBF_PATH),
            feat("leicestershire", "Leicestershire", "england",
                 "/europe/united-kingdom/england/leicestershire-latest.osm.pbf"),
            feat("greater-london", "Greater London", "england",
                 "/europe/united-kingdom/england/greater-london-latest.osm.pbf"),
        ]}


@pytest.fixture
def server(data_dir):
    s = Server((data_dir / "osm" / "rutland-2022-07-20.osm.pbf").read_bytes())
    yield s
    s.httpd.shutdown()


def test_fetch_region_success_and_provenance(server, tmp_path, data_dir):
    got = fetch_osm("osm:rutland", data_dir=tmp_path, base_url=server.url, show_progress=False)
    assert got == tmp_path / "osm" / "rutland-2022-07-20.osm.pbf"  # named by the extract's own date
    assert got.read_bytes() == server.pbf
    meta = json.loads((tmp_path / "osm" / "rutland-2022-07-20.osm.pbf.source.json").read_text())
    assert meta["md5"] == server.md5 and meta["replication_timestamp"] == "2022-07-20T20:21:45Z"
    assert meta["url"] == server.url + PBF_PATH and "OpenStreetMap" in meta["licence"]
    assert not list((tmp_path / "osm").glob(".*"))  # no part files left
    # a second fetch finds it intact and downloads nothing
    n = sum(p == PBF_PATH for p, _ in server.requests)
    assert fetch_osm("rutland", data_dir=tmp_path, base_url=server.url, show_progress=False) == got
    assert sum(p == PBF_PATH for p, _ in server.requests) == n
    # and it is a network by name in that data directory
    assert find_network("rutland-2022-07-20", data_dir=tmp_path) == got


def test_wrong_md5_is_refused(server, tmp_path):
    server.md5 = "0" * 32
    with pytest.raises(ChecksumError, match="does not match"):
        fetch_osm("rutland", data_dir=tmp_path, base_url=server.url, show_progress=False)
    assert list((tmp_path / "osm").iterdir()) == []  # nothing written, no part kept


def test_unknown_region_suggests_close_ids(server, tmp_path):
    with pytest.raises(InvalidInputError, match="did you mean rutland"):
        fetch_osm("rutlnd", data_dir=tmp_path, base_url=server.url, show_progress=False)
    with pytest.raises(InvalidInputError, match="leicestershire"):
        fetch_osm("leicester", data_dir=tmp_path, base_url=server.url, show_progress=False)


def test_server_dying_mid_file_then_resumed(server, tmp_path):
    server.die_after = 600_000
    with pytest.raises(DownloadError, match="run the same fetch again"):
        fetch_osm("rutland", data_dir=tmp_path, base_url=server.url, show_progress=False)
    osm = tmp_path / "osm"
    parts = list(osm.glob(".*.part"))
    assert len(parts) == 1
    kept = parts[0].stat().st_size
    assert 0 < kept <= 600_000 and parts[0].read_bytes() == server.pbf[:kept]
    assert not list(osm.glob("*.osm.pbf"))  # nothing under the real name
    server.die_after = None
    got = fetch_osm("rutland", data_dir=tmp_path, base_url=server.url, show_progress=False)
    assert got.read_bytes() == server.pbf
    assert (PBF_PATH, f"bytes={kept}-") in server.requests  # resumed, not downloaded again


def test_cli_fetch_osm(server, tmp_path):
    r = subprocess.run([sys.executable, "-m", "iot_geo", "data", "fetch", "osm:rutland", "--data-dir", str(tmp_path),
                        "--base-url", server.url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "rutland-2022-07-20.osm.pbf" in r.stderr
    assert Path(tmp_path / "osm" / "rutland-2022-07-20.osm.pbf").is_file()
    bad = subprocess.run([sys.executable, "-m", "iot_geo", "data", "fetch", "osm:rutlandshire", "--data-dir",
                          str(tmp_path), "--base-url", server.url], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "did you mean rutland" in bad.stderr
