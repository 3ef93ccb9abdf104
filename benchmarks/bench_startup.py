"""Start-up cost: how long the command line takes before and around the work it does.

Times, each the minimum of ``--repeat`` runs in fresh processes, in one run:
  (a) ``python -c pass``: the interpreter alone (the floor, and the baseline of the ratios);
  (b) ``python -c "import iot_geo"``;
  (c) ``iot-geo --help``;
  (d) a warm one-site ``iot-geo catchment`` on Rutland (the network already cached);
then lists which heavy libraries ``import iot_geo`` pulls in (``-X importtime``).

    python benchmarks/bench_startup.py            # 5 repeats
    python benchmarks/bench_startup.py --repeat 9

Goals (issue 16): ``--help`` under 0.4 s, the warm catchment under 0.8 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("geopandas", "folium", "matplotlib", "pandas", "scipy", "shapely", "osmnx", "networkx", "pyproj")


def data_dir() -> Path:
    env = os.environ.get("IOT_GEO_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def best(cmd: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return min(times)


def heavy_imports(env: dict[str, str]) -> list[str]:
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", "import iot_geo"], capture_output=True,
                         text=True, env=env, check=True)
    seen = {line.split("|")[-1].strip() for line in res.stderr.splitlines() if "|" in line}
    return [m for m in HEAVY if m in seen]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    exe = Path(sys.executable)
    cli = exe.parent / "iot-geo"
    data = data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IOT_GEO_CACHE": str(Path(tmp) / "cache"), "IOT_GEO_DATA": str(data)}
        net = data / "osm" / "rutland-2022-07-20.osm.pbf"
        catch = [str(cli), "catchment", "--network", str(net), "--site", "oakham=52.6700,-0.7270", "--minutes", "15",
                 "--format", "csv"]
        subprocess.run(catch, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # warm the cache
        rows = [
            ("python -c pass", best([str(exe), "-c", "pass"], args.repeat, env)),
            ("import iot_geo", best([str(exe), "-c", "import iot_geo"], args.repeat, env)),
            ("iot-geo --help", best([str(cli), "--help"], args.repeat, env)),
            ("warm one-site catchment (Rutland, 15 min)", best(catch, args.repeat, env)),
        ]
    base = rows[0][1]
    print(f"start-up, best of {args.repeat} (seconds; ratio to a bare interpreter)")
    for name, t in rows:
        print(f"  {name:<44} {t:7.3f} s  {t / base:6.1f}x")
    print("heavy libraries imported by `import iot_geo`:", ", ".join(heavy_imports(env)) or "none")


if __name__ == "__main__":
    main()
