"""Runs inside the peers' Python 3.12 environment (see bench_peers.py): builds and queries Valhalla and OSRM.

    python _peers_worker.py REQUEST.json RESULT.json

The request names the OSM file, a work folder, origins and destinations (lon, lat), isochrone
centres and bands, and the number of repeats; the result holds build, matrix and isochrone
times (best of the repeats), the duration matrices in minutes (NaN where no route) and the
isochrone polygons as GeoJSON. Standard library, numpy and the two engines only.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

from timing import best


def run_osrm(req: dict, work: Path) -> dict:
    import osrm

    pkg = Path(osrm.__file__).parent
    profile = pkg / "share" / "profiles" / "car.lua"
    work.mkdir(parents=True, exist_ok=True)
    pbf = work / "extract.osm.pbf"
    shutil.copy(req["osm"], pbf)
    base = work / "extract.osrm"

    def build():
        subprocess.run([str(pkg / "bin" / "osrm-extract"), "-p", str(profile), str(pbf)], check=True,
                       capture_output=True, cwd=work)
        subprocess.run([str(pkg / "bin" / "osrm-contract"), str(base)], check=True, capture_output=True, cwd=work)

    t_build, _ = best(build, 1)
    engine = osrm.OSRM(storage_config=str(base), algorithm="CH", use_shared_memory=False, max_locations_distance_table=10_000,
                       default_radius="unlimited")
    coords = [tuple(c) for c in req["origins"]] + [tuple(c) for c in req["dests"]]
    n = len(req["origins"])

    def table():
        params = osrm.TableParameters(coordinates=coords, sources=list(range(n)),
                                      destinations=list(range(n, len(coords))), annotations=["duration"])
        return engine.Table(params)

    t_matrix, res = best(table, req["repeat"])
    rows = [[(d / 60.0 if d is not None else math.nan) for d in row] for row in res["durations"]]
    return {"build_s": t_build, "matrix_s": t_matrix, "minutes": rows,
            "snap_m": [w["distance"] for w in res["sources"]]}


def run_valhalla(req: dict, work: Path) -> dict:
    import valhalla

    work.mkdir(parents=True, exist_ok=True)
    tiles = work / "tiles"
    tiles.mkdir(parents=True, exist_ok=True)
    config = valhalla.get_config(tile_extract="", tile_dir=str(tiles))
    config["mjolnir"]["admin"] = str(work / "admins.sqlite")
    config["mjolnir"]["timezone"] = str(work / "tz.sqlite")
    config["service_limits"]["auto"].update(max_matrix_distance=1e7, max_matrix_location_pairs=100_000)
    cfg_path = work / "valhalla.json"
    cfg_path.write_text(json.dumps(config))
    exe = Path(valhalla.__file__).parent / "bin" / "valhalla_build_tiles"

    def build():
        shutil.rmtree(tiles, ignore_errors=True)
        tiles.mkdir()
        subprocess.run([str(exe), "-c", str(cfg_path), req["osm"]], check=True, capture_output=True, cwd=work)

    t_build, _ = best(build, 1)
    actor = valhalla.Actor(str(cfg_path))
    src = [{"lon": c[0], "lat": c[1]} for c in req["origins"]]
    dst = [{"lon": c[0], "lat": c[1]} for c in req["dests"]]

    def matrix():
        return actor.matrix({"sources": src, "targets": dst, "costing": "auto"})

    t_matrix, res = best(matrix, req["repeat"])
    table = res["sources_to_targets"]
    if isinstance(table, dict):  # newer Valhalla: columnar {"durations": [[...]], ...}
        rows = [[(d / 60.0 if d is not None else math.nan) for d in row] for row in table["durations"]]
    else:
        rows = [[(c["time"] / 60.0 if c.get("time") is not None else math.nan) for c in row] for row in table]

    def isochrones():
        out = []
        for c in req["centres"]:
            out.append(actor.isochrone({"locations": [{"lon": c[0], "lat": c[1]}], "costing": "auto",
                                        "contours": [{"time": m} for m in req["bands"]], "polygons": True,
                                        "reverse": True}))
        return out

    t_iso, isos = best(isochrones, req["repeat"])
    return {"build_s": t_build, "matrix_s": t_matrix, "isochrone_s": t_iso, "minutes": rows, "isochrones": isos}


def main() -> None:
    req = json.loads(Path(sys.argv[1]).read_text())
    work = Path(req["work"])
    out = {}
    for name, fn in (("osrm", run_osrm), ("valhalla", run_valhalla)):
        try:
            out[name] = fn(req, work / name)
        except Exception as exc:  # report, keep the other engine's figures
            out[name] = {"error": f"{exc.__class__.__name__}: {exc}"}
    Path(sys.argv[2]).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
