"""Overlap speed: 200 synthetic bids of 1-4 sites on a 10^5-node road grid.

Times (1) every bid's union catchments and (2) the overlap table, and compares
the overlap step with a brute force that intersects every pair of catchment
polygons (and counts shared people for every pair). Prints the ratio.

    python benchmarks/bench_overlap.py [--bids 200] [--nodes 100000] [--repeat 2]

Each step is the best of ``--repeat`` runs; every catchments run starts cold (no snapping index or memo).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Point

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic

from iot_geo.bids import ROUTES, Bid
from iot_geo.overlap import bid_catchments, overlap

warnings.simplefilter("ignore")


def make_bids(net, n, seed=5):
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = net.bounds
    routes = list(ROUTES)
    bids = []
    for i in range(n):
        k = int(rng.integers(1, 5))
        cx, cy = rng.uniform(minx + 2000, maxx - 2000), rng.uniform(miny + 2000, maxy - 2000)
        pts = [Point(cx + rng.normal(0, 3000), cy + rng.normal(0, 3000)) for _ in range(k)]
        pts = [Point(min(max(p.x, minx + 500), maxx - 500), min(max(p.y, miny + 500), maxy - 500)) for p in pts]
        sites = gpd.GeoDataFrame({"bid_id": f"bid-{i:03d}", "site_id": [f"bid-{i:03d}-{j}" for j in range(k)],
                                  "name": "site", "role": ["hub"] + ["spoke"] * (k - 1), "provider_id": ""},
                                 geometry=pts, crs=27700)
        lep = f"E370000{int(rng.integers(1, 6)):02d}"
        bids.append(Bid(f"bid-{i:03d}", f"Bid {i}", "Lead", "fe_college", [], [lep], [lep], None, None,
                        list(rng.choice(routes, 3, replace=False)), [3, 4, 5], sites))
    return bids


def brute_force(bc):
    """Every pair, every band: intersect the polygons and count shared people."""
    rows = 0
    tab = bc.table
    for band in bc.bands:
        sub = tab[tab["minutes"] == (int(band) if float(band).is_integer() else band)]
        geoms = list(sub.geometry)
        reach = bc.minutes <= band
        for i in range(len(geoms)):
            for j in range(i + 1, len(geoms)):
                inter = shapely.intersection(geoms[i], geoms[j])
                both = float(bc.people[reach[i] & reach[j]].sum())
                if inter.area > 0 or both > 0:
                    rows += 1
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bids", type=int, default=200)
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 20])
    ap.add_argument("--repeat", type=int, default=2, help="Best of this many runs of each step.")
    args = ap.parse_args()
    net = synthetic.network(args.nodes)
    pop = synthetic.population(net)
    bids = make_bids(net, args.bids)

    def cold():  # each catchments run starts without snapping indexes or memos, as a fresh process would
        net.forget_snapping()

    t_catch = t_overlap = t_brute = float("inf")
    for _ in range(args.repeat):
        cold()
        t0 = time.perf_counter()
        bc = bid_catchments(net, bids, minutes=args.minutes, population=pop)
        t_catch = min(t_catch, time.perf_counter() - t0)
        t1 = time.perf_counter()
        table = overlap(catchments=bc)
        t_overlap = min(t_overlap, time.perf_counter() - t1)
        t2 = time.perf_counter()
        brute_rows = brute_force(bc)
        t_brute = min(t_brute, time.perf_counter() - t2)
    out = {
        "nodes": net.n_nodes, "bids": len(bids), "sites": int(sum(len(b.sites) for b in bids)),
        "bands": args.minutes, "catchments_s": round(t_catch, 2), "overlap_s": round(t_overlap, 3),
        "total_s": round(t_catch + t_overlap, 2), "pairs_rows": len(table), "duplicates": int(table["duplicate"].sum()),
        "brute_force_s": round(t_brute, 2), "brute_rows": brute_rows,
        "brute_over_overlap": round(t_brute / t_overlap, 1),
    }
    print(json.dumps(out))
    print(f"{len(bids)} bids ({out['sites']} sites) on {net.n_nodes:,} nodes: catchments {t_catch:.1f} s, overlap "
          f"{t_overlap:.2f} s (total {t_catch + t_overlap:.1f} s); brute force over every pair {t_brute:.1f} s: "
          f"{t_brute / t_overlap:.1f}x slower; {len(table)} overlapping pair-bands, {out['duplicates']} duplicates")


if __name__ == "__main__":
    main()
