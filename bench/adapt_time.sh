#!/usr/bin/env bash
# Benchmark: wall time of one gnnadapt call per method (embedding, heads,
# stack, blend), median of RUNS calls, each as a ratio to the embedding
# method's time measured in the same run (dataset loading and the test
# predictions are in every call; what differs is the fitting). By default
# on the demo's transfer: the demo's model (out/demo/model.h5, made by
# scripts/demo.sh) adapted to the shipped dataset's 2-thread device from 10
# shots; or name another checkpoint, dataset and device.
#
#   bench/adapt_time.sh [RUNS [CHECKPOINT DATASET DEVICE]]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"
RUNS="${1:-3}"
CK="${2:-$GP_ROOT/out/demo/model.h5}"
DS="${3:-$GP_ROOT/datasets/cpu/cpu.h5}"
DEV="${4:-cpu_amd_epyc_t2}"
[ -f "$CK" ] || { echo "error: $CK is missing: run scripts/demo.sh first, or name a checkpoint" >&2; exit 1; }
gp_ensure_packages
gp_build "$GP_ROOT/build" -DCMAKE_BUILD_TYPE=Release
WORK="$(mktemp -d /tmp/gp_bench_adapt.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

median_s() { # median wall time in seconds of RUNS runs of the command
    local times=()
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)] / 1000}'
}

printf 'gnnadapt on %s, device %s, 10 shots, %s runs each, %d threads\n' "$(basename "$CK")" "$DEV" "$RUNS" "$(nproc)"
base=""
for m in embedding heads stack blend; do
    s=$(median_s "$GP_ROOT/build/gnnadapt" "$CK" "$DS" --device "$DEV" --shots 10 --method "$m" --anchor 0.1 \
        -o "$WORK/a.h5" -q)
    [ -n "$base" ] || base=$s
    printf '  %-10s %6.2f s  %5.2fx embedding\n' "$m" "$s" "$(awk -v a="$s" -v b="$base" 'BEGIN {print a / b}')"
done
