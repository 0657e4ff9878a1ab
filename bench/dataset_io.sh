#!/usr/bin/env bash
# Benchmark: pack and load a dataset of COUNT graphs of NODES nodes
# (default 1,000 x 200), the sizes issue #2 sets targets for (pack < 10 s,
# load < 1 s). Graphs are random CNNs from scripts/gen_random_cnn.py; labels
# are random numbers on two made-up devices, there only so that label
# parsing and storage are part of the timing. Prints medians; no pass/fail.
#
#   bench/dataset_io.sh [COUNT] [NODES]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"
COUNT="${1:-1000}"
NODES="${2:-200}"
REPEATS=3
gp_ensure_packages
gp_build "$GP_ROOT/build" -DCMAKE_BUILD_TYPE=Release
WORK="$(mktemp -d /tmp/gp_bench_io.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

gp_log "generating $COUNT graphs of about $NODES nodes (not timed)"
/usr/bin/python3 "$GP_ROOT/scripts/gen_random_cnn.py" --count "$COUNT" --nodes "$NODES" --seed 1 -o "$WORK/graphs.jsonl"
/usr/bin/python3 - "$WORK/graphs.jsonl" "$WORK/labels.csv" <<'PY'
import json, random, sys
random.seed(0)
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    out.write("graph,node,device,target,value,unit\n")
    for line in f:
        g = json.loads(line)
        for dev in ("dev_a", "dev_b"):
            out.write(f"{g['name']},,{dev},latency_ms,{random.uniform(1, 50):.4f},ms\n")
            for n in g["nodes"]:
                out.write(f"{g['name']},{n['name']},{dev},latency_ms,{random.uniform(0.001, 2):.5f},ms\n")
PY
printf 'input: %s JSON Lines (%s MB), %s label rows\n' "$COUNT" \
    "$(du -m "$WORK/graphs.jsonl" | cut -f1)" "$(($(wc -l <"$WORK/labels.csv") - 1))"

times=()
for r in $(seq "$REPEATS"); do
    t0=$(date +%s.%N)
    "$GP_ROOT/build/gnndata" pack -o "$WORK/bench.h5" --labels "$WORK/labels.csv" "$WORK/graphs.jsonl" >/dev/null
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((REPEATS + 1) / 2))p")
printf 'pack         median %.3f s over %d runs (JSON + labels -> validated HDF5, %s MB)\n' "$median" "$REPEATS" \
    "$(du -m "$WORK/bench.h5" | cut -f1)"
"$GP_ROOT/build/bench_dataset_io" "$WORK/bench.h5" 5
