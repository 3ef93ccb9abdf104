#!/usr/bin/env bash
# Mutation testing of the core modules with mutmut 3 (the `test` extra installs it).
#
#   benchmarks/mutation.sh                 every core module, in priority order
#   benchmarks/mutation.sh overlap checks  just these
#   MUTANTS='iot_geo.catchment.x__people_in_reach*' benchmarks/mutation.sh catchment   only some functions
#   RERUN_SURVIVORS=1 benchmarks/mutation.sh overlap   the last run's survivors again, with the current tests
#   SAMPLE=300 benchmarks/mutation.sh catchment   a random sample of 300 mutants (seed $SAMPLE_SEED, default 18):
#       an unbiased estimate of the score for a module too big to run whole in the time at hand
#
# Slow (minutes to an hour a module on two cores), so not part of .ci/run. Each module runs in its
# own scratch copy (.mutation/MODULE) with only the fast tests that exercise it, so a mutant costs
# seconds. mutmut mutates function bodies (not module constants: those are pinned by the
# known-answer tests). Prints killed/survived per module and writes .mutation/MODULE/survivors.txt;
# `cd .mutation/MODULE && mutmut show NAME` shows a survivor's diff.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-$REPO/.venv/bin/python}
export IOT_GEO_DATA=${IOT_GEO_DATA:-$(cd .. && pwd)/shared/data}
CACHE=${IOT_GEO_CACHE:-$REPO/.pytest_cache/iot-geo-cache}
export HYPOTHESIS_PROFILE=mutation
# the scratch copies have no web/node_modules: maps and reports take the offline assets from here
export IOT_GEO_WEB=${IOT_GEO_WEB:-$REPO/web/node_modules}
WORK=${MUTATION_DIR:-$REPO/.mutation}
CHILDREN=${MUTATION_CHILDREN:-2}

# module -> the fast tests that exercise it (real-data tests only where they are quick); a -k applies to
# every file named before it
declare -A TESTS=(
  [overlap]="tests/test_known_answers.py tests/test_bid_analysis.py tests/test_mutants_overlap.py -k 'not cambridge'"
  [hub_spoke]="tests/test_known_answers.py tests/test_bid_analysis.py tests/test_mutants_hub_spoke.py tests/test_transit.py::test_transit_catchments_people_and_hub_spoke -k 'not cambridge'"
  [checks]="tests/test_known_answers.py tests/test_same_lep.py tests/test_mutants_checks.py"
  [outputs]="tests/test_outputs.py tests/test_midwrite_faults.py tests/test_mutants_outputs.py tests/test_mutants_outputs_more.py tests/test_write.py tests/test_safety_files.py tests/test_trust.py::test_full_disk_fails_cleanly_and_leaves_inputs tests/test_trust.py::test_unwritable_output_folder -k 'not concurrent and not every_command and not from_the_cli and not cli_report and not cli_outputs and not population_cache and not read_only_cache and not in_the_cache and not explore'"
  [provenance]="tests/test_provenance.py tests/test_midwrite_faults.py tests/test_mutants_provenance.py"
  [locate]="tests/test_locate.py tests/test_mutants_locate.py"
  # catchment: the hand-built tests only; the Rutland cross-checks (seconds each, run for every mutant of the core
  # functions) made a whole run take hours. Mutants only those checks would kill count as survivors here.
  [catchment]="tests/test_known_answers.py tests/test_catchment_inputs.py tests/test_mutants_catchment.py tests/test_catchment.py::test_site_mid_edge_and_one_way_both_directions tests/test_catchment.py::test_access_leg_and_cutoff tests/test_catchment.py::test_points_on_the_same_segment_go_direct tests/test_catchment.py::test_sample_segments_follow_geometry tests/test_catchment.py::test_unreachable_land_stays_outside tests/test_transit.py::test_transit_catchments_people_and_hub_spoke tests/test_repr_html.py"
  [transit]="tests/test_transit.py tests/test_mutants_transit.py -k 'not cli'"
  # the modules split out by issue 17: each with the hand-built tests that reach it and its own mutant tests
  [osm]="tests/test_network.py tests/test_mutants_osm.py -k 'not free_flow'"
  [search]="tests/test_known_answers.py tests/test_catchment_inputs.py tests/test_catchment.py::test_site_mid_edge_and_one_way_both_directions tests/test_catchment.py::test_access_leg_and_cutoff tests/test_catchment.py::test_points_on_the_same_segment_go_direct tests/test_catchment.py::test_sample_segments_follow_geometry tests/test_catchment.py::test_unreachable_land_stays_outside tests/test_snapping.py tests/test_mutants_search.py"
  [grids]="tests/test_known_answers.py tests/test_catchment.py::test_site_mid_edge_and_one_way_both_directions tests/test_catchment.py::test_access_leg_and_cutoff tests/test_catchment.py::test_points_on_the_same_segment_go_direct tests/test_catchment.py::test_sample_segments_follow_geometry tests/test_catchment.py::test_unreachable_land_stays_outside tests/test_mutants_grids.py"
  [people]="tests/test_known_answers.py tests/test_catchment_inputs.py tests/test_mutants_people.py"
  [files]="tests/test_outputs.py tests/test_midwrite_faults.py tests/test_mutants_outputs.py tests/test_mutants_files.py tests/test_safety_files.py -k 'not concurrent and not every_command and not from_the_cli and not cli_report and not cli_outputs and not population_cache and not read_only_cache and not in_the_cache and not explore'"
  [network]="tests/test_network.py tests/test_mutants_network.py tests/test_catchment.py::test_site_mid_edge_and_one_way_both_directions tests/test_catchment.py::test_access_leg_and_cutoff tests/test_catchment.py::test_points_on_the_same_segment_go_direct tests/test_catchment.py::test_sample_segments_follow_geometry tests/test_catchment.py::test_unreachable_land_stays_outside tests/test_snapping.py tests/test_repr_html.py -k 'not free_flow'"
)
ORDER=(overlap hub_spoke checks outputs files provenance locate people grids search catchment transit osm network)
MODULES=("$@")
[ ${#MODULES[@]} -eq 0 ] && MODULES=("${ORDER[@]}")

summary=()
for m in "${MODULES[@]}"; do
  [ -n "${TESTS[$m]:-}" ] || { echo "unknown module $m (one of ${ORDER[*]})" >&2; exit 2; }
  d=$WORK/$m
  mkdir -p "$d"
  rm -rf "$d/iot_geo" "$d/tests" "$d/data"
  cp -r iot_geo tests data README.md "$d/"
  find "$d" -name __pycache__ -prune -exec rm -rf {} +
  # the test selection as a TOML list (a test file not written yet is left out)
  sel=$(eval "set -- ${TESTS[$m]}"; "$PY" -c 'import json,os,sys
print(json.dumps([a for a in sys.argv[1:] if not a.startswith("tests/") or os.path.exists(a.split("::")[0])]))' "$@")
  "$PY" - "$d/pyproject.toml" "$m" "$sel" <<'EOF'
import re, sys
out, module, sel = sys.argv[1:]
text = open("pyproject.toml", encoding="utf-8").read()
text = re.sub(r"\n\[tool\.mutmut\][^\[]*", "\n", text)
text += f"""
[tool.mutmut]
source_paths = ["iot_geo"]
only_mutate = ["iot_geo/{module}.py"]
also_copy = ["data", "README.md"]
pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-W", "ignore"]
pytest_add_cli_args_test_selection = {sel}
timeout_multiplier = 5.0
"""
open(out, "w", encoding="utf-8").write(text)
EOF
  # the network builder must run under every mutant: no network cache to load a good network from (and none for a
  # mutant to poison); a cache folder that cannot be made makes iot-geo build in memory
  if [ "$m" = network ]; then export IOT_GEO_CACHE=/dev/null/iot-geo-cache; else export IOT_GEO_CACHE=$CACHE; fi
  echo "== $m: ${TESTS[$m]}"
  names=${MUTANTS:-}
  if [ -n "${RERUN_SURVIVORS:-}" ] && [ -s "$d/survivors.txt" ]; then
    names=$(cut -d: -f1 "$d/survivors.txt" | tr '\n' ' ')  # only last run's survivors, against today's tests
    rm -f "$d/mutants/mutmut-stats.json"  # tests changed: map tests to functions afresh
  fi
  if [ -n "${SAMPLE:-}" ] && [ -z "$names" ]; then
    # generate every mutant and map the tests (running none: the name matches no mutant), then draw the sample
    rm -rf "$d/mutants"
    (cd "$d" && "$PY" -m mutmut run --max-children "$CHILDREN" 'iot_geo.none.x_no_such_mutant' >"$d/run.log" 2>&1) || true
    (cd "$d" && "$PY" -m mutmut results --all true >"$d/all.txt" 2>&1) || true
    names=$("$PY" - "$d/all.txt" "$SAMPLE" "${SAMPLE_SEED:-18}" <<'EOF'
import random, re, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = sorted(m.group(1) for m in (re.match(r"\s*(iot_geo\.\S+):", line) for line in open(path, encoding="utf-8")) if m)
print(" ".join(random.Random(seed).sample(names, min(n, len(names)))))
EOF
)
    echo "sample of $(wc -w <<<"$names") of $(grep -c 'iot_geo\.' "$d/all.txt") mutants"
  fi
  (cd "$d" && "$PY" -m mutmut run --max-children "$CHILDREN" $names >"$d/run.log" 2>&1) || {
    echo "mutmut failed for $m: see $d/run.log" >&2; tail -20 "$d/run.log" >&2; continue; }
  (cd "$d" && "$PY" -m mutmut results --all true >"$d/results.txt" 2>&1 || true)
  line=$("$PY" - "$d/results.txt" "$m" <<'EOF'
import re, sys
from collections import Counter
path, module = sys.argv[1:]
status = Counter()
survivors = []
for line in open(path, encoding="utf-8"):
    m = re.match(r"\s*(iot_geo\.\S+): (.+)$", line)
    if m:
        status[m.group(2).strip()] += 1
        if m.group(2).strip() in ("survived", "no tests", "suspicious"):
            survivors.append(f"{m.group(1)}: {m.group(2).strip()}")
open(path.replace("results.txt", "survivors.txt"), "w").write("\n".join(survivors) + "\n")
killed = status["killed"] + status["timeout"] + status["caught by type check"]
total = sum(status.values()) - status["skipped"] - status["not checked"]  # not checked: outside a SAMPLE
score = killed / total if total else float("nan")
print(f"{module:11s} {killed:5d} killed of {total:5d} ({score:.1%}); " + ", ".join(f"{k} {v}" for k, v in sorted(status.items())))
EOF
)
  echo "$line"
  summary+=("$line")
done
echo
echo "mutation score per module (killed / all mutants, before judging survivors equivalent):"
printf '%s\n' "${summary[@]}"
