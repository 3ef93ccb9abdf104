"""Validating large bid files: ``read_bids`` on generated files of 10,000 and 15,000 bids.

Each file is YAML (schema 1) with one to four sites a bid sampled inside the
bid's LEP, one hub in five given by provider_id (see ``tests/bid_files.py``).
Boundaries and providers are loaded once before timing, so the figures are
the validation itself. Minimum of ``--repeats`` runs, wall clock and CPU time
of the process (on a shared machine the CPU time is the steadier figure).

    python benchmarks/bench_bids.py [--bids 10000 15000] [--repeats 3] [--files DIR]

Run it against another checkout's package (``PYTHONPATH=OTHER python ...``) for
a before/after comparison on the same files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import bid_files

import iot_geo
from iot_geo.bids import read_bids
from iot_geo.sources.boundaries import load_areas
from iot_geo.sources.providers import load_providers

warnings.simplefilter("ignore")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bids", type=int, nargs="+", default=[10_000, 15_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--files", type=Path, default=None, help="Folder to keep the generated files in (reused).")
    args = ap.parse_args()
    folder = args.files or Path(tempfile.mkdtemp(prefix="iot-geo-bids-"))
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("lep", "ca", "lad", "region", "oa"):
        load_areas(kind)
    load_providers()
    print(f"iot_geo from {Path(iot_geo.__file__).parent}")
    for n in args.bids:
        path = folder / f"bids-{n}.yaml"
        if not path.is_file():
            bid_files.write_bids(path, n, seed=n)
        times, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            bids = read_bids(path)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        assert len(bids) == n
        print(f"{n:>6} bids ({path.stat().st_size / 1e6:.1f} MB, {sum(len(b.sites) for b in bids):,} sites): "
              f"wall min {min(times):.2f} s, CPU min {min(cpu):.2f} s of {len(times)} "
              f"(wall: {', '.join(f'{x:.2f}' for x in times)})", flush=True)


if __name__ == "__main__":
    main()
