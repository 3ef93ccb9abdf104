"""Batch catchments on Dask: 1 and 2 worker processes on a 10^6-node network, in one run.

200 sites x 3 bands on a synthetic street grid (benchmarks/synthetic.py) with its synthetic population.
For each worker count a local Dask cluster (one thread per worker process) is started, every worker
opens the network file once and builds what it keeps beside it (the graph both ways, the segments'
boxes, the distances along the roads: timed as ``load_s``), then the batch runs (``batch_s``, best of
``--repeat``). Printed per run: wall time, speedup against one worker, wall and worker seconds per
catchment, and per worker the peak resident memory (VmHWM) against the worker's memory before the
network (``base``) and just after opening it (``with network``): the goal is peak - base <= 1.3 x
(with network - base), i.e. a worker needs the network plus at most 30 %.
A one-process run (``workers=0``, the reference) checks the results are equal.

    python benchmarks/bench_batch.py                    # 10^6 nodes, 200 sites, bands 10 15 20
    python benchmarks/bench_batch.py --nodes 100000 --sites 40 --repeat 1   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic

warnings.simplefilter("ignore")


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _base() -> dict[str, float]:
    import gc

    import iot_geo.batch  # (what every task imports)
    import iot_geo.catchment  # noqa: F401

    gc.collect()
    return {"rss_mb": _status_kb("VmRSS") / 1024}


def _open(ref) -> dict[str, float]:
    from iot_geo.batch import worker_network

    t0 = time.perf_counter()
    net = worker_network(ref)
    _ = net.csr, net.csr_rev  # the graphs a search needs, built once per worker
    net.snap(net.node_x[:1], net.node_y[:1])  # and the snapping index (kept whole below 400k segments)
    from iot_geo.search import segment_cumlen

    segment_cumlen(net)  # and the polygons' distances along the roads (kept on the network)
    hwm = _status_kb("VmHWM") / 1024  # the peak while loading (the checksum copies arrays one at a time)
    try:  # reset the peak, so that the batch's own peak is measured next (Linux 4.0+)
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return {"load_s": time.perf_counter() - t0, "rss_mb": _status_kb("VmRSS") / 1024, "load_hwm_mb": hwm}


def _peak() -> dict[str, float]:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"hwm_mb": _status_kb("VmHWM") / 1024, "rss_mb": _status_kb("VmRSS") / 1024,
            "cpu_s": ru.ru_utime + ru.ru_stime}


def run(net, sites, pop, bands, workers: int, repeat: int) -> tuple[dict, object]:
    from distributed import Client, LocalCluster

    from iot_geo.batch import batch, network_ref

    ref = network_ref(net)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit=0) as cluster, Client(cluster) as client:
        base = client.run(_base)
        opened = client.run(_open, ref)
        cpu0 = client.run(_peak)
        times = []
        result = None
        import resource

        for _ in range(repeat):
            c0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            result = batch(net, sites, minutes=bands, client=client, population=pop)
            times.append(time.perf_counter() - t0)
            c1 = resource.getrusage(resource.RUSAGE_SELF)
            main_cpu = c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime
        peak = client.run(_peak)
    per = []
    for addr in sorted(base):
        b, o, p = base[addr]["rss_mb"], opened[addr]["rss_mb"], peak[addr]["hwm_mb"]
        per.append({"base_mb": round(b), "with_network_mb": round(o), "peak_mb": round(p),
                    "network_mb": round(o - b), "peak_over_base_mb": round(p - b),
                    "peak_vs_network": round((p - b) / (o - b), 2) if o > b else None,
                    "load_s": round(opened[addr]["load_s"], 2), "load_peak_mb": round(opened[addr]["load_hwm_mb"]),
                    "batch_cpu_s": round(peak[addr]["cpu_s"] - cpu0[addr]["cpu_s"], 1)})
    n_cat = len(result)
    best = min(times)
    return {"workers": workers, "batch_s": round(best, 2), "load_avg": [round(v, 1) for v in os.getloadavg()],
            "setup_s": result.attrs["setup_seconds"], "tasks_s": result.attrs["seconds"],
            "main_cpu_s": round(main_cpu, 1), "all_s": [round(t, 2) for t in times],
            "catchments": n_cat, "wall_s_per_catchment": round(best / n_cat, 4),
            "worker_s_per_catchment": round(best * workers / n_cat, 4), "tasks": result.attrs["tasks"],
            "per_worker": per}, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--bands", type=float, nargs="+", default=[10, 15, 20])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import geopandas as gpd
    import numpy as np
    from pandas.testing import assert_frame_equal

    from iot_geo.batch import BATCH_SITES, batch

    t0 = time.perf_counter()
    net = synthetic.network(args.nodes)
    pop = synthetic.population(net)
    # sites spread over the middle half of the grid, each on a street (a node plus a few metres)
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = net.bounds
    mid = np.flatnonzero((np.abs(net.node_x - (minx + maxx) / 2) < (maxx - minx) / 4)
                         & (np.abs(net.node_y - (miny + maxy) / 2) < (maxy - miny) / 4))
    pick = rng.choice(mid, args.sites, replace=False)
    sites = gpd.GeoDataFrame({"site_id": [f"s{i:03d}" for i in range(args.sites)]},
                             geometry=gpd.points_from_xy(net.node_x[pick] + 5, net.node_y[pick] + 5), crs=27700)
    print(f"network: {net.n_nodes:,} nodes, {net.n_edges:,} edges, built in {time.perf_counter() - t0:.1f} s; "
          f"{len(pop):,} small areas; {args.sites} sites x {len(args.bands)} bands; {BATCH_SITES} sites per task; "
          f"{os.cpu_count()} cores (shared with other work)")
    rows = []
    results = {}
    for w in (1, 2):
        row, res = run(net, sites, pop, args.bands, w, args.repeat)
        rows.append(row)
        results[w] = res
        print(json.dumps(row))
    one = rows[0]["batch_s"]
    for r in rows:
        r["speedup"] = round(one / r["batch_s"], 2)
    t0 = time.perf_counter()
    ref = batch(net, sites.iloc[: min(20, args.sites)], minutes=args.bands, workers=0, population=pop)
    t_ref = time.perf_counter() - t0
    two = results[2]
    sub = two[two["site_id"].isin(ref["site_id"])].reset_index(drop=True)
    assert_frame_equal(ref.drop(columns="geometry"), sub.drop(columns="geometry"))
    assert sub.geometry.geom_equals_exact(ref.geometry, 0).all()
    assert_frame_equal(results[1].drop(columns="geometry"), two.drop(columns="geometry"))
    print(f"\none process (workers=0), first 20 sites: {t_ref:.1f} s ({t_ref / len(ref):.3f} s per catchment); "
          "equal to the 1- and 2-worker results")
    print(f"\n{'workers':>7} {'batch s':>8} {'speedup':>8} {'s/catchment':>12} {'worker s/c':>11} "
          f"{'peak MB':>8} {'network MB':>11} {'peak/network':>13}")
    for r in rows:
        for p in r["per_worker"]:
            print(f"{r['workers']:>7} {r['batch_s']:>8} {r['speedup']:>8} {r['wall_s_per_catchment']:>12} "
                  f"{r['worker_s_per_catchment']:>11} {p['peak_mb']:>8} {p['network_mb']:>11} "
                  f"{p['peak_vs_network']!s:>13}")
    if args.json:
        args.json.write_text(json.dumps({"nodes": net.n_nodes, "sites": args.sites, "bands": args.bands,
                                         "runs": rows, "reference_s": round(t_ref, 2)}, indent=1))


if __name__ == "__main__":
    main()
