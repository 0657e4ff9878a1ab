#!/usr/bin/env bash
# Benchmark: training and inference throughput of the GNN in gnnperf against
# the same model and workload in PyTorch 1.13, for 1 and 2 threads, in one
# run (bench/bench_gnn.c and bench/bench_torch.py say what is measured).
# Builds Release, writes the synthetic workload once, runs each program per
# thread count (gnnperf and PyTorch alternate, so drifting machine load hits
# both), and prints a table of medians with the ratios, gnnperf's GFLOP/s
# against the single-core GEMM peak measured in the same run, peak RSS, and
# the 2-thread / 1-thread speedups. No pass/fail.
#
# The machines are shared: compare the ratios of one run, not absolute
# figures across runs; each program's log lines show the spread of its epochs.
#
#   bench/gnn_throughput.sh [--graphs N] [--epochs E] [--budget S]
#     --graphs  workload size (default 10000, the issue's; 2000 for a quick run)
#     --epochs  timed epochs per measurement, median reported (default 3)
#     --budget  stop timing further epochs of a measurement after S seconds
#               (default 60), so a loaded machine still finishes
# Full size takes about 5-6 minutes on an idle 2-core machine (estimated from
# its epoch times), 14 minutes measured while other jobs kept the load at
# 4-6: two threads then stall on each other. Build directory:
# $GP_BUILD_DIR, default build/; $GP_CMAKE_ARGS adds CMake arguments (e.g.
# -DGNNPERF_WERROR=OFF to measure while a warning elsewhere fails the build).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"

GRAPHS=10000
EPOCHS=3
BUDGET=60
while [ $# -gt 0 ]; do
    case "$1" in
    --graphs) GRAPHS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    *) echo "usage: $0 [--graphs N] [--epochs E] [--budget S]" >&2; exit 2 ;;
    esac
done
BUILD="${GP_BUILD_DIR:-$GP_ROOT/build}"

gp_ensure_packages python3-torch
# shellcheck disable=SC2086 # GP_CMAKE_ARGS is a list of arguments
gp_build "$BUILD" -DCMAKE_BUILD_TYPE=Release ${GP_CMAKE_ARGS:-}
WORK="$(mktemp -d /tmp/gp_bench_gnn.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

gp_log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench_gnn" --graphs "$GRAPHS" --write "$WORK/workload.bin"

for T in 1 2; do
    gp_log "gnnperf, $T thread(s); load $(cut -d' ' -f1-3 /proc/loadavg)"
    OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=1 "$BUILD/bench_gnn" --graphs "$GRAPHS" --threads "$T" \
        --epochs "$EPOCHS" --budget "$BUDGET" | tee "$WORK/gnnperf_$T.log"
    gp_log "PyTorch, $T thread(s); load $(cut -d' ' -f1-3 /proc/loadavg)"
    OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T MKL_NUM_THREADS=$T /usr/bin/python3 "$GP_ROOT/bench/bench_torch.py" \
        "$WORK/workload.bin" --threads "$T" --epochs "$EPOCHS" --budget "$BUDGET" | tee "$WORK/torch_$T.log"
done
gp_log "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# key=value fields of a log's RESULT line
field() { grep '^RESULT' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo
printf 'GNN throughput, %s graphs of 50-300 nodes, batch 64, median of up to %s epochs (graphs/s)\n' "$GRAPHS" \
    "$EPOCHS"
printf '%-7s | %13s %11s %6s | %13s %11s %6s | %-22s %-22s | %12s %10s\n' threads "gnnperf train" "torch train" ratio \
    "gnnperf infer" "torch infer" ratio "GFLOP/s train (%peak)" "GFLOP/s infer (%peak)" "RSS gnnperf" "RSS torch"
for T in 1 2; do
    g="$WORK/gnnperf_$T.log" t="$WORK/torch_$T.log"
    awk -v T="$T" -v gt="$(field "$g" train_gps)" -v tt="$(field "$t" train_gps)" \
        -v gi="$(field "$g" infer_gps)" -v ti="$(field "$t" infer_gps)" \
        -v gft="$(field "$g" train_gflops)" -v pt="$(field "$g" train_pct_peak)" \
        -v gfi="$(field "$g" infer_gflops)" -v pi="$(field "$g" infer_pct_peak)" \
        -v rg="$(field "$g" rss_mb)" -v rt="$(field "$t" rss_mb)" 'BEGIN {
        printf "%-7s | %13.0f %11.0f %5.2fx | %13.0f %11.0f %5.2fx | %6.1f (%3.0f%%)            %6.1f (%3.0f%%)            | %9s MB %7s MB\n",
            T, gt, tt, gt / tt, gi, ti, gi / ti, gft, pt, gfi, pi, rg, rt }'
done
printf 'epochs timed (train/infer): gnnperf %s and %s, torch %s and %s (1 and 2 threads)\n' \
    "$(field "$WORK/gnnperf_1.log" epochs)" "$(field "$WORK/gnnperf_2.log" epochs)" \
    "$(field "$WORK/torch_1.log" epochs)" "$(field "$WORK/torch_2.log" epochs)"
printf 'single-core GEMM peak measured: %s GFLOP/s (1 thread), %s (2-thread run); %%peak is against threads x peak\n' \
    "$(field "$WORK/gnnperf_1.log" peak_gflops)" "$(field "$WORK/gnnperf_2.log" peak_gflops)"
awk -v g1="$(field "$WORK/gnnperf_1.log" train_gps)" -v g2="$(field "$WORK/gnnperf_2.log" train_gps)" \
    -v t1="$(field "$WORK/torch_1.log" train_gps)" -v t2="$(field "$WORK/torch_2.log" train_gps)" \
    -v gi1="$(field "$WORK/gnnperf_1.log" infer_gps)" -v gi2="$(field "$WORK/gnnperf_2.log" infer_gps)" \
    -v ti1="$(field "$WORK/torch_1.log" infer_gps)" -v ti2="$(field "$WORK/torch_2.log" infer_gps)" 'BEGIN {
    printf "2-thread / 1-thread speedup: gnnperf train %.2fx, infer %.2fx; torch train %.2fx, infer %.2fx\n",
        g2 / g1, gi2 / gi1, t2 / t1, ti2 / ti1 }'
