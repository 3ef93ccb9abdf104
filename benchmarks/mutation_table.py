"""The per-module mutation table for benchmarks/MUTATION.md, from the last `benchmarks/mutation.sh` runs.

    .venv/bin/python benchmarks/mutation_table.py            the Markdown table
    .venv/bin/python benchmarks/mutation_table.py --open     also every survivor not judged equivalent

Reads ``.mutation/MODULE/results.txt`` and the judged-equivalent mutants in
``benchmarks/mutation_equivalent.txt`` (``NAME<TAB>reason`` lines; mutant numbers hold for the code they were
judged on). A sampled run (``SAMPLE=N``) counts only its sample ("not checked" mutants are left out).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ORDER = ["network", "osm", "catchment", "search", "grids", "people", "overlap", "hub_spoke", "checks", "locate", "outputs",
         "files", "provenance", "transit"]
KILLED = {"killed", "timeout", "caught by type check"}
LEFT_OUT = {"skipped", "not checked"}


def equivalents() -> dict[str, str]:
    path = REPO / "benchmarks" / "mutation_equivalent.txt"
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition("\t")
            out[name.strip()] = reason.strip()
    return out


def main() -> None:
    eq = equivalents()
    print("| module | mutants | killed | survived | judged equivalent | score (raw) | score (non-equivalent) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    still_open = []
    for module in ORDER:
        path = REPO / ".mutation" / module / "results.txt"
        if not path.is_file():
            print(f"| {module} | not run | | | | | |")
            continue
        status: Counter[str] = Counter()
        survivors = []
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\s*(iot_geo\.\S+): (.+)$", line)
            if m and m.group(2).strip() not in LEFT_OUT:
                status[m.group(2).strip()] += 1
                if m.group(2).strip() not in KILLED:
                    survivors.append(m.group(1))
        total = sum(status.values())
        killed = sum(status[k] for k in KILLED)
        judged = [s for s in survivors if s in eq]
        still_open += [s for s in survivors if s not in eq]
        sampled = " (sample)" if "not checked" in path.read_text(encoding="utf-8") else ""
        basis = total - len(judged)
        print(f"| {module}{sampled} | {total} | {killed} | {len(survivors)} | {len(judged)} | "
              f"{killed / total:.1%} | {killed / basis:.1%} |")
    if "--open" in sys.argv:
        print("\nsurvivors not judged equivalent:")
        print("\n".join(still_open))


if __name__ == "__main__":
    main()
