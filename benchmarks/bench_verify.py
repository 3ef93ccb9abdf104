"""Cost of checking dataset files against the catalogue's sha256 on read.

For each file, times ``dataset_path`` (which verifies the file) three ways:
cold (an empty checksum cache: the file is hashed), warm in a new process (the
cache file is read, nothing is hashed) and warm in the same process (memory
only), against ``dataset_path`` with the check switched off (the baseline).
Minimum of several repeats.

    python benchmarks/bench_verify.py [--data-dir DIR] [--repeats 7]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import best

from iot_geo import settings
from iot_geo.sources import catalogue

DATASETS = ("population2015", "lsoa_centroids", "imd2019")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    root = settings.get_data_dir(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        settings.cache_dir = Path(tmp)
        cache_file = Path(tmp) / catalogue.SHA_CACHE_FILE
        real_verify = catalogue.verify
        print(f"{'dataset':<16} {'size':>9} {'no check':>10} {'cold':>10} {'warm, new process':>18} "
              f"{'warm, same process':>19}")
        for name in DATASETS:
            path = root / catalogue.get_dataset(name).files[0].path
            size = path.stat().st_size

            def call(name: str = name) -> Path:
                return catalogue.dataset_path(name, data_dir=root)

            catalogue.verify = lambda ds, r: None  # type: ignore[assignment]
            base = best(call, args.repeats)[0]
            catalogue.verify = real_verify

            def forget_all() -> None:
                catalogue.SHA_MEMO.clear()
                cache_file.unlink(missing_ok=True)

            cold = best(call, args.repeats, forget_all)[0]
            call()
            warm_new = best(call, args.repeats, catalogue.SHA_MEMO.clear)[0]
            call()
            warm_same = best(call, args.repeats)[0]
            print(f"{name:<16} {size / 1e6:>7.2f}MB {base * 1e3:>8.3f}ms {cold * 1e3:>8.3f}ms "
                  f"{warm_new * 1e3:>16.3f}ms {warm_same * 1e3:>17.3f}ms")


if __name__ == "__main__":
    main()
