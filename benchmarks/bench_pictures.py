"""Pictures: the demo's static PNGs (the report's overview and one per bid), timed in one run.

For both demo examples (Cambridge and Rutland), the analysis is run once, then
every picture the report draws is saved with ``save_picture``; the baseline is
the floor of any picture, an empty 8x8-inch matplotlib figure saved at the same
dpi, the same number of times. Prints the best of ``--repeat`` and the ratio.

    python benchmarks/bench_pictures.py
    python benchmarks/bench_pictures.py --repeat 5

Goal (issue 16): the demo's pictures in under 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from iot_geo import settings
from iot_geo.bids import read_bids
from iot_geo.cli import DEMO
from iot_geo.maps import save_picture
from iot_geo.network import load_network
from iot_geo.report import analyse
from iot_geo.sources.boundaries import PROJECT_DATA

ROOT = Path(__file__).resolve().parent.parent
warnings.simplefilter("ignore")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = Path(os.environ.get("IOT_GEO_DATA") or ROOT.parent / "shared" / "data")
    settings.data_dir = data
    jobs = []
    for name, bid_file, net_file, bands in DEMO:
        bids = read_bids(PROJECT_DATA / "examples" / bid_file)
        a = analyse(bids, load_network(data / net_file), minutes=bands)
        catch = a.catchments.table
        jobs.append((f"{name}-overview", list(bids), catch, a.overlap))
        jobs.extend((f"{name}-{b.id}", [b], catch[catch["group_id"] == b.id], None) for b in bids)
    with tempfile.TemporaryDirectory() as tmp:
        def pictures() -> None:
            for stem, bids, catch, ov in jobs:
                save_picture(Path(tmp) / f"{stem}.png", bids, catchments=catch, overlaps=ov, title=stem)

        def empty() -> None:
            for stem, *_ in jobs:
                fig = plt.figure(figsize=(8, 8))
                fig.savefig(Path(tmp) / f"empty-{stem}.png", dpi=110)
                plt.close(fig)

        t_pic = t_empty = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            pictures()
            t_pic = min(t_pic, time.perf_counter() - t)
            t = time.perf_counter()
            empty()
            t_empty = min(t_empty, time.perf_counter() - t)
    print(f"demo pictures ({len(jobs)} PNGs), best of {args.repeat}")
    print(f"  save_picture, all pictures     {t_pic:7.3f} s")
    print(f"  empty figures (floor)          {t_empty:7.3f} s")
    print(f"  ratio to the floor             {t_pic / t_empty:7.1f}x")


if __name__ == "__main__":
    main()
