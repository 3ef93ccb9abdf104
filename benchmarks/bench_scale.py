"""England scale: build, cache, reload and one 60-minute catchment on a tiled copy of the Rutland extract.

    python benchmarks/tile_osm.py /tmp/england.osm.pbf --nx 29 --ny 28     # ~1 GB, ~2.6e6 drive nodes
    python benchmarks/bench_scale.py /tmp/england.osm.pbf

Reports, in one run: the pbf size, OSM nodes (from the tiling's side file),
drive nodes and edges, build time and peak memory (a fresh process with an
empty cache), cache size, reload time and peak memory (a second process), and
the time of one 60-minute catchment with people for 1 site and for 10 sites.
Each step runs in its own process so that its peak resident memory
(``ru_maxrss``) is its own. Goals (2-core, 24 GB machine): build < 10 min,
peak < 8 GB, reload < 10 s, one 60-minute catchment with people < 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GOALS = {"build_s": 600.0, "build_peak_gb": 8.0, "reload_s": 10.0, "catchment_1_site_s": 5.0}

_BUILD = """
import json, resource, sys, time
t = time.perf_counter()
from iot_geo.network import load_network
net = load_network(sys.argv[1])
build = time.perf_counter() - t
print(json.dumps({"build_s": build, "drive_nodes": net.n_nodes, "drive_edges": net.n_edges,
                  "segments": int(len(net.seg_a)), "cached": bool(net.source.get("cached")),
                  "build_peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""

_USE = """
import json, resource, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from iot_geo.catchment import catchments
from iot_geo.network import load_network
from iot_geo.sources.population import load_population
minutes, n_sites = float(sys.argv[2]), int(sys.argv[3])
pop = load_population()
t = time.perf_counter()
net = load_network(sys.argv[1])
reload_s = time.perf_counter() - t
assert net.source.get("cached"), "not reloaded from the cache"
reload_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
# sites: junctions of the main strongly connected part spread over the whole network
t = time.perf_counter()
to_main, from_main = net.main_reach()
out_reach = time.perf_counter() - t
# where England's LSOA centroids are (a tiled network reaches far beyond England)
ok = np.flatnonzero(to_main & from_main & (net.node_x > 350_000) & (net.node_x < 550_000) & (net.node_y > 150_000)
                    & (net.node_y < 450_000))
rng = np.random.default_rng(0)
pick = ok[rng.choice(len(ok), n_sites, replace=False)]
import pandas as pd
sites = pd.DataFrame({"site_id": [f"s{i}" for i in range(n_sites)], "easting": net.node_x[pick],
                      "northing": net.node_y[pick]})
out = {"reload_s": reload_s, "reload_peak_gb": reload_peak, "one_way_reach_s": out_reach}
for label, k in (("catchment_1_site_s", 1), (f"catchment_{n_sites}_sites_s", n_sites)):
    runs = []
    for _ in range(2):
        t = time.perf_counter()
        table = catchments(net, sites.iloc[:k], minutes=(minutes,), population=pop)
        runs.append(time.perf_counter() - t)
    out[label] = min(runs)
    out[label[:-2] + "_first_s"] = runs[0]  # includes the one-off snapping index and coverage grid
    out[label[:-2] + "_people"] = float(table["people"].sum())
out["use_peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps(out))
"""


def _run(code: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        raise SystemExit(f"step failed:\n{r.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def measure(pbf: Path, *, cache_dir: Path | None = None, minutes: float = 60.0, n_sites: int = 10) -> dict[str, Any]:
    """Every figure of the benchmark for one pbf (a fresh cache folder unless one is given)."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = cache_dir or Path(tmp)
        env = {**os.environ, "IOT_GEO_CACHE": str(cache)}
        figs: dict[str, Any] = {"pbf_bytes": pbf.stat().st_size}
        side = pbf.with_name(pbf.name + ".tiles.json")
        if side.is_file():
            tiles = json.loads(side.read_text())
            figs["osm_nodes"] = tiles["nodes"]
            figs["tiles"] = tiles["tiles"]
        figs.update(_run(_BUILD, str(pbf), env=env))
        print(json.dumps(figs), file=sys.stderr, flush=True)
        entries = list((cache / "networks").glob("*.npz"))
        figs["cache_bytes"] = sum(e.stat().st_size for e in entries)
        figs.update(_run(_USE, str(pbf), str(minutes), str(n_sites), env=env))
    return figs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pbf", type=Path)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--cache", type=Path, default=None, help="Keep the cache here (default a temporary folder).")
    a = ap.parse_args()
    t = time.perf_counter()
    figs = measure(a.pbf, minutes=a.minutes, n_sites=a.sites, cache_dir=a.cache)
    for k, v in figs.items():
        goal = GOALS.get(k)
        mark = "" if goal is None else f" (goal < {goal:g}: {'met' if v < goal else 'MISSED'})"
        print(f"{k:28s} {v:>16,.2f}{mark}" if isinstance(v, float) else f"{k:28s} {v:>16,}{mark}")
    print(f"{'wall_s':28s} {time.perf_counter() - t:>16,.1f}")


if __name__ == "__main__":
    main()
