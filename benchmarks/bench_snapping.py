"""Snapping: joining points to the road network, against a bare KD-tree and a bare search, in one run.

On the Rutland drive network (and a 10^5-node synthetic grid with ``--grid``):
  (a) cold ``times_to_points`` for 35,000 random points and one site (the snapping index built
      from scratch, no memo) against (b) scipy's ``dijkstra`` from the site's nearest node plus a
      ``cKDTree`` over the nodes, built and queried for the same points: ratio a/b (goal: within 3x);
  (c) ``snap`` alone for the 35,000 points, cold (index built) and warm;
  (d) a one-site ``travel_times`` against (e) the bare ``dijkstra`` it runs: ratio d/e (goal: within 3x).
Prints the best of ``--repeat``.

    python benchmarks/bench_snapping.py
    python benchmarks/bench_snapping.py --grid --repeat 5
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic
from timing import best

from iot_geo.catchment import times_to_points, travel_times
from iot_geo.network import TravelNetwork, load_network

ROOT = Path(__file__).resolve().parent.parent
warnings.simplefilter("ignore")


def cold(net: TravelNetwork) -> None:
    """Forget every snapping index and memo the network holds."""
    net.forget_snapping()


def run(name: str, net: TravelNetwork, repeat: int) -> None:
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = net.bounds
    n_pts = 35_000
    px = rng.uniform(x0, x1, n_pts)
    py = rng.uniform(y0, y1, n_pts)
    main = np.unique(np.concatenate([net.seg_a[net.snappable], net.seg_b[net.snappable]]))
    site_node = int(rng.choice(main))
    sites = pd.DataFrame({"site_id": ["s"], "easting": [net.node_x[site_node]], "northing": [net.node_y[site_node]]})
    import geopandas as gpd

    sites = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites.easting, sites.northing), crs="EPSG:27700")
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(px, py), crs="EPSG:27700")
    cutoff = 60.0
    t_ttp, _ = best(lambda: times_to_points(net, pts, sites, max_minutes=cutoff), repeat, before=lambda: cold(net))

    def bare():
        d = dijkstra(net.csr_rev, indices=site_node, limit=cutoff)
        tree = cKDTree(np.column_stack([net.node_x, net.node_y]))
        _, idx = tree.query(np.column_stack([px, py]))
        return d[idx]

    t_bare, _ = best(bare, repeat)
    t_snap_cold, _ = best(lambda: net.snap(px, py, max_distance=2000.0), repeat, before=lambda: cold(net))
    t_snap_warm, _ = best(lambda: net.snap(px, py, max_distance=2000.0), repeat)
    t_tt, _ = best(lambda: travel_times(net, sites, max_minutes=30.0), max(repeat, 5))
    t_dij, _ = best(lambda: dijkstra(net.csr_rev, indices=site_node, limit=30.0), max(repeat, 5))
    print(f"{name}: {net.n_nodes:,} nodes, {len(net.seg_a):,} segments; best of {repeat}")
    print(f"  cold times_to_points, 35,000 points  {t_ttp:8.4f} s   bare dijkstra + cKDTree {t_bare:8.4f} s   "
          f"ratio {t_ttp / t_bare:5.1f}x")
    print(f"  snap 35,000 points: cold {t_snap_cold:.4f} s ({t_snap_cold / n_pts * 1e6:.1f} us a point), "
          f"warm {t_snap_warm:.4f} s ({t_snap_warm / n_pts * 1e6:.1f} us a point)")
    print(f"  one-site travel_times                {t_tt * 1e3:8.2f} ms  bare dijkstra          {t_dij * 1e3:8.2f} ms  "
          f"ratio {t_tt / t_dij:5.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--grid", action="store_true", help="Also a 10^5-node synthetic grid.")
    args = ap.parse_args()
    data = Path(os.environ.get("IOT_GEO_DATA") or ROOT.parent / "shared" / "data")
    run("Rutland drive", load_network(data / "osm" / "rutland-2022-07-20.osm.pbf"), args.repeat)
    if args.grid:
        run("synthetic grid", synthetic.network(100_000), args.repeat)


if __name__ == "__main__":
    main()
