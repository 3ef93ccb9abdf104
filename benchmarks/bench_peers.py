"""iot-geo against its peers, Valhalla (pyvalhalla) and OSRM (osrm-bindings), on the Rutland extract.

On the same OSM file, in one run:
  * build time: iot-geo's drive network (no cache) against ``osrm-extract`` + ``osrm-contract``
    (car profile, contraction hierarchies) and ``valhalla_build_tiles``;
  * matrix time: 500 origins x 10 destinations (network nodes drawn with a fixed seed), iot-geo
    ``times_to_points`` (cold: no snapping memo) against OSRM's ``Table`` and Valhalla's ``matrix``;
  * isochrone time: 10 centres x bands 10 and 20 minutes, iot-geo ``catchments`` (polygons and
    people) against Valhalla's ``isochrone`` (polygons);
  * agreement on free-flow times: Spearman's rank correlation and the median ratio iot-geo / peer
    over the 5,000 pairs both route, and the median ratio of isochrone areas.

iot-geo is timed with its free-flow profile twice: "driving only" (no parking, no time for the
access legs: what OSRM and Valhalla count), and "as delivered" (with ``--park-minutes`` and the
walk to and from the road). The goals (issue 16) are on the first against OSRM: median ratio
within 0.85-1.15 and Spearman at least 0.95.

Both peers publish wheels for Python 3.12 and later only, so the peers run in their own
environment, made on first use at ``~/.cache/iot-geo-peers/venv`` (``--peers-venv``) with a
Python 3.12 (``--python``; default: ``/root/.pyenv/versions/3.12.1/bin/python``, else
``python3.12`` or ``python3.13`` on the PATH). Where none is found the benchmark says so and
stops (exit 0). CI does not run it.

    python benchmarks/bench_peers.py
    python benchmarks/bench_peers.py --repeat 5 --python /usr/bin/python3.12
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.stats import spearmanr
from timing import best

from iot_geo import settings
from iot_geo.catchment import catchments, times_to_points
from iot_geo.network import load_network

ROOT = Path(__file__).resolve().parent.parent
warnings.simplefilter("ignore")


def find_python(explicit: str | None) -> str | None:
    cands = [explicit] if explicit else ["/root/.pyenv/versions/3.12.1/bin/python", shutil.which("python3.12"),
                                         shutil.which("python3.13")]
    for c in cands:
        if c and Path(c).exists():
            return c
    return None


def peers_env(venv: Path, python: str | None) -> Path | None:
    exe = venv / "bin" / "python"
    probe = [str(exe), "-c", "import valhalla, osrm"]
    if exe.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return exe
    if python is None:
        return None
    print(f"making the peers' environment at {venv} (pyvalhalla, osrm-bindings) ...", flush=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(exe), "-m", "pip", "install", "-q", "pyvalhalla", "osrm-bindings", "numpy"], check=True)
    return exe if subprocess.run(probe, capture_output=True).returncode == 0 else None


def agreement(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float, int]:
    ok = np.isfinite(ours) & np.isfinite(theirs) & (theirs > 0) & (ours > 0)
    rho = float(spearmanr(ours[ok], theirs[ok]).statistic) if ok.sum() > 2 else float("nan")
    return rho, float(np.median(ours[ok] / theirs[ok])) if ok.any() else float("nan"), int(ok.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", default=None, help="A Python 3.12+ for the peers' environment.")
    ap.add_argument("--peers-venv", type=Path, default=Path.home() / ".cache" / "iot-geo-peers" / "venv")
    ap.add_argument("--osm", type=Path, default=None, help="OSM file (default the shared Rutland extract).")
    args = ap.parse_args()
    data = Path(os.environ.get("IOT_GEO_DATA") or ROOT.parent / "shared" / "data")
    settings.data_dir = data
    osm = args.osm or data / "osm" / "rutland-2022-07-20.osm.pbf"
    exe = peers_env(args.peers_venv, find_python(args.python))
    if exe is None:
        print("skipped: no Python 3.12+ found for pyvalhalla and osrm-bindings (give one with --python)")
        return

    # iot-geo: build (no cache), free flow
    t_build, net = best(lambda: load_network(osm, free_flow=True, cache=False), 1)
    drive_only = dataclasses.replace(net, speeds=dataclasses.replace(net.speeds, park_minutes=0.0, access_kmh=1e9))
    rng = np.random.default_rng(0)
    cand = np.unique(np.concatenate([net.seg_a[net.snappable], net.seg_b[net.snappable]]))
    o_idx = rng.choice(cand, 500, replace=False)
    d_idx = rng.choice(np.setdiff1d(cand, o_idx), 10, replace=False)
    c_idx = d_idx[:10]
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

    def lonlat(idx):
        lon, lat = to_wgs.transform(net.node_x[idx], net.node_y[idx])
        return np.column_stack([lon, lat])

    origins, dests = lonlat(o_idx), lonlat(d_idx)
    pts = pd.DataFrame({"lon": origins[:, 0], "lat": origins[:, 1]})
    sites = pd.DataFrame({"site_id": [f"d{i}" for i in range(len(dests))], "lon": dests[:, 0], "lat": dests[:, 1]})
    ids = list(sites["site_id"])

    def matrix(n):
        n.forget_snapping()
        return times_to_points(n, pts, sites, max_minutes=240.0)[ids].to_numpy()

    t_matrix, ours = best(lambda: matrix(drive_only), args.repeat)
    delivered = matrix(net)
    bands = [10.0, 20.0]
    t_iso, iso = best(lambda: catchments(net, sites, minutes=bands, warn_truncated=False), args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        req = {"osm": str(osm), "work": tmp, "origins": origins.tolist(), "dests": dests.tolist(),
               "centres": dests.tolist(), "bands": bands, "repeat": args.repeat}
        (Path(tmp) / "req.json").write_text(json.dumps(req))
        subprocess.run([str(exe), str(Path(__file__).with_name("_peers_worker.py")), str(Path(tmp) / "req.json"),
                        str(Path(tmp) / "res.json")], check=True)
        res = json.loads((Path(tmp) / "res.json").read_text())

    print(f"peers on {osm.name}: {net.n_nodes:,} nodes; 500 x 10 matrix; {len(c_idx)} isochrone centres x "
          f"{len(bands)} bands; best of {args.repeat}")
    print(f"  {'':<22}{'build s':>10}{'matrix s':>10}{'isochr. s':>11}")
    print(f"  {'iot-geo':<22}{t_build:>10.3f}{t_matrix:>10.4f}{t_iso:>11.3f}")
    for name in ("osrm", "valhalla"):
        r = res.get(name, {})
        if "error" in r:
            print(f"  {name:<22} failed: {r['error']}")
            continue
        print(f"  {name:<22}{r['build_s']:>10.3f}{r['matrix_s']:>10.4f}{r.get('isochrone_s', float('nan')):>11.3f}")
    print("  ratios, peer time / iot-geo time (same run):")
    for name in ("osrm", "valhalla"):
        r = res.get(name, {})
        if "error" in r:
            continue
        line = f"    {name}: build {r['build_s'] / t_build:.1f}x, matrix {r['matrix_s'] / t_matrix:.1f}x"
        if "isochrone_s" in r:
            line += f", isochrones {r['isochrone_s'] / t_iso:.1f}x"
        print(line)
    print("  agreement of free-flow minutes (Spearman, median ratio iot-geo / peer, pairs):")
    for name in ("osrm", "valhalla"):
        r = res.get(name, {})
        if "error" in r:
            continue
        theirs = np.asarray(r["minutes"], dtype=float)
        for label, mine in (("driving only", ours), ("as delivered", delivered)):
            rho, ratio, n = agreement(mine.ravel(), theirs.ravel())
            print(f"    {name:<9} {label:<13} Spearman {rho:.3f}  median ratio {ratio:.3f}  ({n:,} pairs)")
    v = res.get("valhalla", {})
    if "isochrones" in v:
        to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
        ratios = []
        for i, fc in enumerate(v["isochrones"]):
            for feat in fc["features"]:
                band = float(feat["properties"]["contour"])
                geom = shapely.geometry.shape(feat["geometry"])
                area = shapely.transform(geom, lambda c: np.column_stack(to_bng.transform(c[:, 0], c[:, 1]))).area / 1e6
                mine = iso[(iso["site_id"] == ids[i]) & (iso["minutes"] == band)]["area_km2"]
                if len(mine) and area > 0:
                    ratios.append(float(mine.iloc[0]) / area)
        print(f"  isochrone areas, median ratio iot-geo / Valhalla over {len(ratios)} polygons: "
              f"{np.median(ratios):.3f}")


if __name__ == "__main__":
    main()
