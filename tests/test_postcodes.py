"""Postcodes: normalising, an ONS-style lookup file in the data directory, postcodes.io on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from iot_geo import settings
from iot_geo.catchment import parse_site_arg
from iot_geo.errors import DownloadError, InvalidInputError
from iot_geo.postcodes import is_postcode, lookup_postcodes, normalise_postcode

KS5 = "providers/england_ks5final_2018-19_geocoded_waiky8.csv"


@pytest.fixture(scope="module")
def ks5(data_dir: Path) -> pd.DataFrame:
    """The KS5 file's coordinates are postcode centroids (see its PROVENANCE.md)."""
    df = pd.read_csv(data_dir / KS5, encoding="latin-1", usecols=["PCODE", "LATITUDE", "LONGITUDE"])
    return df.dropna().drop_duplicates("PCODE")


@pytest.fixture
def pc_data_dir(tmp_path: Path, data_dir: Path, ks5: pd.DataFrame) -> Path:
    """A data directory: the shared folders linked, plus postcodes/ with an NSPL-shaped file built from KS5."""
    root = tmp_path / "data"
    root.mkdir()
    for sub in data_dir.iterdir():
        (root / sub.name).symlink_to(sub)
    (root / "postcodes").mkdir()
    nspl = pd.DataFrame({"pcd": ks5["PCODE"].str.replace(" ", ""), "pcds": ks5["PCODE"], "lat": ks5["LATITUDE"],
                         "long": ks5["LONGITUDE"], "doterm": ""})
    nspl.loc[len(nspl)] = ["ZZ991ZZ", "ZZ99 1ZZ", 99.999999, 0.0, ""]  # ONS's "no grid reference"
    nspl.to_csv(root / "postcodes" / "NSPL_test.csv", index=False)
    return root


class _FakePostcodesIO(BaseHTTPRequestHandler):
    known: ClassVar[dict[str, tuple[float, float]]] = {}
    calls: ClassVar[list[list[str]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(body["postcodes"])
        result = [{"query": q, "result": ({"postcode": q, "latitude": self.known[q][0], "longitude": self.known[q][1]}
                                          if q in self.known else None)} for q in body["postcodes"]]
        payload = json.dumps({"status": 200, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch):
    _FakePostcodesIO.known = {"LE15 6RP": (52.672949, -0.738163), "PE9 1XQ": (52.6590, -0.4715)}
    _FakePostcodesIO.calls = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _FakePostcodesIO)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    monkeypatch.setattr(settings, "postcodes_url", url)
    yield url
    srv.shutdown()


@pytest.mark.parametrize(("text", "want"), [("le156rp", "LE15 6RP"), (" LE15  6RP ", "LE15 6RP"), ("sw1a1aa", "SW1A 1AA"),
                                            ("M1 1AE", "M1 1AE"), ("B33 8TH", "B33 8TH")])
def test_normalise(text: str, want: str) -> None:
    assert normalise_postcode(text) == want
    assert is_postcode(text)


@pytest.mark.parametrize("bad", ["", "LE15", "52.67,-0.73", "LE15 6R", "1E15 6RP", "LE15 6RPX", "LE15-6RP", "LE15 XX",
                                 "LE 15 6RP"])
def test_malformed_postcodes_are_errors(bad: str) -> None:
    assert not is_postcode(bad)
    with pytest.raises(InvalidInputError, match="not a UK postcode"):
        normalise_postcode(bad)


def test_local_file_gives_the_centroid(pc_data_dir: Path, ks5: pd.DataFrame) -> None:
    got = lookup_postcodes(["le15 6rp", "LE15 6DT"], data_dir=pc_data_dir, online=False)
    want = ks5.set_index("PCODE").loc[["LE15 6RP", "LE15 6DT"]]
    assert list(got["postcode"]) == ["LE15 6RP", "LE15 6DT"]
    assert got["lat"].tolist() == want["LATITUDE"].tolist()
    assert got["lon"].tolist() == want["LONGITUDE"].tolist()
    assert set(got["source"]) == {"onspd"}
    with pytest.raises(InvalidInputError, match=r"not found .*: ZZ99 1ZZ"):  # no grid reference: not placed
        lookup_postcodes(["ZZ99 1ZZ"], data_dir=pc_data_dir, online=False)


def test_online_fallback_batches_and_reports_unknown(fake_server: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    got = lookup_postcodes(["PE9 1XQ", "le15 6rp"], data_dir=empty)
    assert got[["lat", "lon"]].values.tolist() == [[52.6590, -0.4715], [52.672949, -0.738163]]
    assert set(got["source"]) == {"postcodes.io"}
    assert _FakePostcodesIO.calls == [["LE15 6RP", "PE9 1XQ"]]  # one request for both
    with pytest.raises(InvalidInputError, match=r"not found in the data directory's postcodes/ folder or postcodes\.io: "
                                                r"AB1 2CD"):
        lookup_postcodes(["AB1 2CD"], data_dir=empty)


def test_offline_without_a_file_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "postcodes_url", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(DownloadError, match=r"could not reach .*postcodes/ folder"):
        lookup_postcodes(["LE15 6RP"], data_dir=tmp_path)


def test_site_argument_takes_a_postcode(pc_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "data_dir", pc_data_dir)
    assert parse_site_arg("Oakham=LE15 6RP") == ("Oakham", 52.672949, -0.738163)
    with pytest.raises(InvalidInputError, match="needs a name"):
        parse_site_arg("=LE15 6RP")


def test_bid_file_postcode_field(pc_data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from iot_geo.bids import read_bids

    monkeypatch.setattr(settings, "data_dir", pc_data_dir)
    doc = {"bids": [{"id": "oakham", "name": "Oakham IoT", "lead": "Harington School", "lead_type": "fe_college",
                     "lep": "Greater Lincolnshire", "routes": ["engineering_manufacturing"], "levels": [4, 5],
                     "vintage": {"lep": 2017},
                     "sites": [{"id": "h", "name": "Harington", "role": "hub", "postcode": "LE15 6RP"},
                               {"id": "s", "name": "Both", "role": "spoke", "postcode": "LE15 6DT",
                                "lat": 52.669921, "lon": -0.727464}]}]}
    path = tmp_path / "bid.yaml"
    path.write_text(json.dumps(doc))
    bid = read_bids(path)["oakham"]
    hub = bid.sites.set_index("site_id").geometry["h"]
    from iot_geo.geo import to_bng

    x, y = to_bng([-0.738163], [52.672949])
    assert hub.x == pytest.approx(x[0], abs=0.01) and hub.y == pytest.approx(y[0], abs=0.01)
    doc["bids"][0]["sites"][1]["lat"] = 52.70  # 3.4 km from LE15 6DT's centroid
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidInputError, match="disagree by 3,"):
        read_bids(path)
    doc["bids"][0]["sites"][1] = {"id": "s", "name": "Typo", "role": "spoke", "postcode": "LE15 XX"}
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidInputError, match=r"sites\[1\] \(s\): postcode: 'LE15 XX' is not a UK postcode"):
        read_bids(path)


def test_cli_locate_postcode(pc_data_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "IOT_GEO_DATA": str(pc_data_dir)}
    run = subprocess.run([sys.executable, "-m", "iot_geo", "locate", "LE15 6RP", "--vintage", "2017", "-f", "json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    row = json.loads(run.stdout)[0]
    assert row["lad_code"] == "E06000017" and row["lep_codes"] == ["E37000042"]
    bad = subprocess.run([sys.executable, "-m", "iot_geo", "locate", "LE15", "6R"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert bad.returncode == 2 and "give LAT LON" in bad.stderr and "Traceback" not in bad.stderr
