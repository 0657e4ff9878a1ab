#!/usr/bin/env bash
# Benchmark: wall time of one gnnpredict call on one 200-node graph,
# checkpoint load included (issue #4 target: under 20 ms), median of RUNS
# calls after one warm-up, against the time of a trivial process start
# (/bin/true) measured in the same run. The checkpoint is a 2-epoch model
# of the default size trained here on synthetic labels (tests/synthetic_labels.py);
# its accuracy does not matter, its shape does.
#
#   bench/predict_latency.sh [RUNS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"
RUNS="${1:-30}"
case "$RUNS" in '' | *[!0-9]* | 0) echo "predict_latency.sh: RUNS must be a positive whole number, not '$RUNS'" >&2; exit 2 ;; esac
gp_ensure_packages
gp_build "$GP_ROOT/build" -DCMAKE_BUILD_TYPE=Release
WORK="$(mktemp -d /tmp/gp_bench_pred.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 "$GP_ROOT/scripts/gen_random_cnn.py" --count 64 --nodes 200 --seed 9 -o "$WORK/g.jsonl" >/dev/null
/usr/bin/python3 "$GP_ROOT/tests/synthetic_labels.py" "$WORK/g.jsonl" "$WORK/l.csv" "$WORK/d.csv"
"$GP_ROOT/build/gnndata" pack -o "$WORK/d.h5" --labels "$WORK/l.csv" --devices "$WORK/d.csv" "$WORK/g.jsonl" >/dev/null
"$GP_ROOT/build/gnntrain" "$WORK/d.h5" -o "$WORK/ck.h5" --epochs 2 -q --threads 1
head -1 "$WORK/g.jsonl" >"$WORK/one.json"

median_ms() { # median wall time in ms of RUNS runs of the command
    local times=()
    "$@" >/dev/null 2>&1
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        times+=("$(((t1 - t0) / 1000))")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }'
}
base=$(median_ms /bin/true)
helpt=$(median_ms "$GP_ROOT/build/gnnpredict" --help)
one=$(median_ms "$GP_ROOT/build/gnnpredict" "$WORK/ck.h5" "$WORK/one.json" -q --format json)
jit=$(median_ms "$GP_ROOT/build/gnnpredict" "$WORK/ck.h5" "$WORK/one.json" -q --format json --kernels jit)
echo "gnnpredict, one 200-node graph, 2 devices, checkpoint load included: median ${one} ms over $RUNS runs"
echo "  the same with the libxsmm JIT kernels forced (--kernels jit): median ${jit} ms"
echo "process start (/bin/true) in the same run: median ${base} ms; gnnpredict --help (loading its libraries): ${helpt} ms"
echo "phases of one call (GNNPERF_TIMING=1):"
GNNPERF_TIMING=1 "$GP_ROOT/build/gnnpredict" "$WORK/ck.h5" "$WORK/one.json" -q --format json 2>&1 >/dev/null |
    sed 's/^gnnpredict: timing: /  /'
