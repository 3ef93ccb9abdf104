"""Map size and speed: 30 bids x 3 bands on Rutland, written offline and loaded in headless Chromium.

Prints the page size, the time to compute and to write it, and the page's load
time in Chromium (navigation start to the shape counter's mark), against the
goals of under 5 MB and under 2 s.

    python benchmarks/bench_map.py [--bids 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point

from iot_geo import load_network
from iot_geo.bids import ROUTES, Bid, Bids
from iot_geo.maps import make_map, save_map
from iot_geo.overlap import bid_catchments, overlap_areas

warnings.simplefilter("ignore")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bids", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = Path(os.environ.get("IOT_GEO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    net = load_network(data / "osm/rutland-2022-07-20.osm.pbf")
    rng = np.random.default_rng(11)
    ok = np.flatnonzero(net.snappable & ~net.frontier[net.seg_a])
    bids = []
    for i in range(args.bids):
        k = int(rng.integers(1, 4))
        segs = rng.choice(ok, k, replace=False)
        pts = [Point(net.node_x[net.seg_a[s]], net.node_y[net.seg_a[s]]) for s in segs]
        sites = gpd.GeoDataFrame({"bid_id": f"b{i:02d}", "site_id": [f"b{i:02d}-{j}" for j in range(k)],
                                  "name": [f"Site {j}" for j in range(k)], "role": ["hub"] + ["spoke"] * (k - 1),
                                  "provider_id": ""}, geometry=pts, crs=27700)
        bids.append(Bid(f"b{i:02d}", f"Synthetic bid {i}", "Lead", "fe_college", [], ["E37000042"], ["GCGP"], None,
                        None, list(rng.choice(list(ROUTES), 2, replace=False)), [3, 4], sites,
                        vintage={"lep": 2017, "ca": 2017}))
    bset = Bids(bids, {"lep": 2017, "ca": 2017}, "synthetic")
    t_compute = t_write = float("inf")
    out = Path(tempfile.mkdtemp()) / "map30.html"
    for _ in range(args.repeat):  # the best of --repeat runs of each step
        t0 = time.perf_counter()
        bc = bid_catchments(net, bset, minutes=(10, 15, 20))
        ov = overlap_areas(catchments=bc)
        t_compute = min(t_compute, time.perf_counter() - t0)
        t1 = time.perf_counter()
        m = make_map(bset, catchments=bc.table, overlaps=ov, offline=True, tiles=None)
        save_map(m, out)
        t_write = min(t_write, time.perf_counter() - t1)
    size = out.stat().st_size
    load_s = None
    chromium = shutil.which("chromium")
    if chromium:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.goto(out.as_uri(), wait_until="load")
            page.wait_for_function("document.documentElement.getAttribute('data-iot-shapes') !== null")
            load_s = page.evaluate("performance.now()") / 1000.0
            browser.close()
    res = {"bids": args.bids, "catchment_polygons": int(len(bc.table)), "overlap_polygons": int(len(ov)),
           "compute_s": round(t_compute, 2), "write_s": round(t_write, 2), "size_mb": round(size / 1e6, 2),
           "load_s": None if load_s is None else round(load_s, 2)}
    print(json.dumps(res))
    print(f"{args.bids} bids x 3 bands on Rutland: {res['catchment_polygons']} catchments, {res['overlap_polygons']} "
          f"overlap polygons; page {res['size_mb']} MB (goal < 5 MB), written in {res['write_s']} s, "
          f"loaded in Chromium in {res['load_s']} s (goal < 2 s)")
    sys.exit(0)


if __name__ == "__main__":
    main()
