"""Catchment speed: iot-geo against the osmnx recipe and a bare scipy Dijkstra, in one run.

For each network, on the same graph, sites and bands:
  (a) iot-geo ``catchments``: travel times, honest polygons and people reached;
  (b) the osmnx recipe: per site and band a networkx ego graph by travel time
      and the convex hull of its nodes (no people);
  (c) scipy.sparse.csgraph.dijkstra from each site's nearest node, same cutoff.
Prints times (best of ``--repeat``) and the ratios b/a and a/c, then how iot-geo
grows with network size, and the peak memory of a 10^6-node build and catchment.

    python benchmarks/bench_catchment.py            # Rutland + 10^4, 10^5, 10^6 nodes
    python benchmarks/bench_catchment.py --quick    # Rutland + 10^4 only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic
from timing import best

from iot_geo.catchment import as_sites, catchments, travel_times
from iot_geo.network import load_network
from iot_geo.search import snap_sites

warnings.simplefilter("ignore")


def recipe(G, nodes, bands, xy):
    """The osmnx isochrone recipe: ego graph by time per band, convex hull of the nodes."""
    hulls = []
    for n in nodes:
        for b in bands:
            sub = nx.ego_graph(G, n, radius=b, distance="minutes")
            pts = xy[list(sub.nodes)]
            hulls.append(shapely.convex_hull(shapely.multipoints(pts)))
    return hulls


def compare(name, net, sites, bands, population, repeat):
    G = net.to_networkx()
    G_rev = G.reverse(copy=False)  # the recipe times travel to the site too
    snapped = snap_sites(net, as_sites(sites))
    near = np.where(snapped["snap_frac"] < 0.5, net.seg_a[snapped["snap_seg"]], net.seg_b[snapped["snap_seg"]])
    xy = np.column_stack([net.node_x, net.node_y])
    t_ours, result = best(lambda: catchments(net, sites, minutes=bands, population=population), repeat)
    t_recipe, _ = best(lambda: recipe(G_rev, [int(n) for n in near], bands, xy), max(1, repeat // 2))
    t_scipy, _ = best(lambda: dijkstra(net.csr_rev, indices=near, limit=max(bands)), repeat)
    t_times, _ = best(lambda: travel_times(net, sites, max_minutes=max(bands)), repeat)
    one = sites.iloc[[0]]
    t_one, _ = best(lambda: travel_times(net, one, max_minutes=max(bands)), repeat)
    t_one_scipy, _ = best(lambda: dijkstra(net.csr_rev, indices=int(near[0]), limit=max(bands)), repeat)
    row = {
        "network": name, "nodes": net.n_nodes, "edges": net.n_edges, "sites": len(sites), "bands": list(bands),
        "iot_geo_s": round(t_ours, 4), "osmnx_recipe_s": round(t_recipe, 4), "scipy_dijkstra_s": round(t_scipy, 4),
        "recipe_over_iot_geo": round(t_recipe / t_ours, 1),
        "times_only_s": round(t_times, 4), "one_site_times_s": round(t_one, 5),
        "one_site_scipy_s": round(t_one_scipy, 5), "one_site_times_over_scipy": round(t_one / t_one_scipy, 2),
        "people_reached_max": float(result["people"].max()),
    }
    print(json.dumps(row))
    return row


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _trim() -> None:
    """Hand memory freed by the build back to the OS (glibc keeps it), so RSS shows what is held."""
    import contextlib
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def million(n_nodes: int) -> dict:
    """Build a 10^6-node network and one 45-minute catchment; report time and peak memory (own process)."""
    rss0 = _rss_mb()
    t = time.perf_counter()
    net = synthetic.network(n_nodes)
    t_build = time.perf_counter() - t
    _trim()
    rss_built = _rss_mb()
    pop = synthetic.population(net)
    sites = synthetic.sites(net, 1)
    travel_times(net, sites, max_minutes=45)  # first call builds the reversed CSR and the snapping index
    t = time.perf_counter()
    tt = travel_times(net, sites, max_minutes=45)
    t_times = time.perf_counter() - t
    t = time.perf_counter()
    c = catchments(net, sites, minutes=(45,), population=pop)
    t_catch = time.perf_counter() - t
    _trim()
    rss_used = _rss_mb()
    snapped = snap_sites(net, as_sites(sites))
    near = int(net.seg_a[snapped["snap_seg"].iloc[0]])
    t = time.perf_counter()
    dijkstra(net.csr_rev, indices=near, limit=45)
    t_scipy = time.perf_counter() - t
    held = sum(getattr(net, k).nbytes for k in net.ARRAYS) + net.csr.data.nbytes * 2 + net.csr.indices.nbytes * 2
    return {
        "network": f"synthetic-{n_nodes}", "nodes": net.n_nodes, "edges": net.n_edges, "build_s": round(t_build, 2),
        "one_site_45min_times_s": round(t_times, 3), "scipy_dijkstra_s": round(t_scipy, 3),
        "one_site_45min_catchment_s": round(t_catch, 3), "reached_nodes": int(np.isfinite(tt.min).sum()),
        "area_km2": float(c["area_km2"].iloc[0]), "network_arrays_mb": round(held / 2**20, 1),
        "rss_before_build_mb": round(rss0, 1), "rss_after_build_mb": round(rss_built, 1),
        "rss_with_snapping_index_mb": round(rss_used, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--million-only", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.million_only:
        print(json.dumps(million(args.million_only)))
        return
    data = Path(os.environ.get("IOT_GEO_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    rows = []
    rut = load_network(data / "osm/rutland-2022-07-20.osm.pbf", mode="drive")
    rng = np.random.default_rng(3)
    keep = np.flatnonzero(rut.snappable & ~rut.frontier[rut.seg_a])
    pick = rng.choice(keep, 10, replace=False)
    import geopandas as gpd

    sites = gpd.GeoDataFrame({"site_id": [f"r{i}" for i in range(10)]},
                             geometry=shapely.points(rut.node_x[rut.seg_a[pick]], rut.node_y[rut.seg_a[pick]]),
                             crs=27700)
    from iot_geo import load_population

    rows.append(compare("rutland-2022 drive", rut, sites, (10, 15, 20), load_population(), args.repeat))
    sizes = [10_000] if args.quick else [10_000, 100_000]
    for n in sizes:
        net = synthetic.network(n)
        rows.append(compare(f"synthetic-{n}", net, synthetic.sites(net, 10), (10, 20, 30),
                            synthetic.population(net), args.repeat))
    if not args.quick:
        out = subprocess.run([sys.executable, __file__, "--million-only", "1000000"], capture_output=True, text=True,
                             check=True)
        print(out.stdout.strip())
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print()
    print(f"{'network':24} {'nodes':>9} {'iot-geo s':>10} {'recipe s':>9} {'scipy s':>8} {'recipe/iot':>10} "
          f"{'1 site/scipy':>12}")
    for r in rows:
        if "iot_geo_s" in r:
            print(f"{r['network']:24} {r['nodes']:>9,} {r['iot_geo_s']:>10.3f} {r['osmnx_recipe_s']:>9.3f} "
                  f"{r['scipy_dijkstra_s']:>8.4f} {r['recipe_over_iot_geo']:>10.1f} "
                  f"{r['one_site_times_over_scipy']:>12.2f}")
        else:
            print(f"{r['network']:24} {r['nodes']:>9,} one 45-min catchment {r['one_site_45min_catchment_s']:.2f} s, "
                  f"times {r['one_site_45min_times_s']:.2f} s (scipy {r['scipy_dijkstra_s']:.2f} s), "
                  f"build {r['build_s']:.1f} s, arrays {r['network_arrays_mb']} MB, RSS {r['rss_before_build_mb']} -> "
                  f"{r['rss_after_build_mb']} MB after the build, peak {r['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
