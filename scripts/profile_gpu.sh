#!/bin/bash
# Profile the model families on this machine's NVIDIA GPU: latency labels,
# then per-node achieved occupancy under Nsight Compute.  Made for a short
# lease of a GPU machine: both passes stop themselves after a time budget and
# everything lands in OUT_DIR (and OUT_DIR.tgz).  Pack the result here with
# scripts/pack_gpu_dataset.sh.
#
#   scripts/profile_gpu.sh OUT_DIR [LATENCY_SECONDS [OCCUPANCY_SECONDS [COUNT [OCC_SKIP]]]]
#
# Each budget is checked between graphs of its pass, from the pass's start
# (the latency pass: after its first reference measurement); the
# occupancy pass is killed OCCUPANCY_SECONDS + 90 s after ncu starts.  Plan
# for LATENCY_SECONDS + OCCUPANCY_SECONDS plus about two minutes in all
# (start-up, the references, ncu's start and its log), and write OUT_DIR
# where a timed-out call still leaves it (a 60 + 420 s run needed more than
# 590 s).
#
# LATENCY_SECONDS 0 skips the latency pass; OCC_SKIP > 0 starts the occupancy
# pass after that many graphs of the list, to extend an earlier run's
# occupancy labels (pack both with pack_gpu_dataset.sh --more-occupancy).
#
# Needs python3 with torch (CUDA) and torchvision; ncu on PATH or under
# /opt/nvidia/nsight-compute (the occupancy pass is skipped without it).
# GP_CPU_TEST=1 runs the pipeline on the CPU (tests of this script only).
set -u
# (self-contained: it runs on a GPU machine without the rest of scripts/)
case "${1:-}" in
-h | --help) sed -n '2,/^set -u/{/^#/{s/^# \{0,1\}//;s/^#$//;p}}' "$0"; exit 0 ;;
-*) echo "profile_gpu: OUT_DIR first, not '$1' (profile_gpu.sh --help)" >&2; exit 2 ;;
esac
out=${1:?usage: profile_gpu.sh OUT_DIR [LATENCY_SECONDS [OCCUPANCY_SECONDS [COUNT [OCC_SKIP]]]]}
lat_s=${2:-240}
occ_s=${3:-170}
count=${4:-200}
occ_skip=${5:-0}
for v in "$lat_s" "$occ_s" "$count" "$occ_skip"; do
    case $v in ''|*[!0-9]*) echo "profile_gpu: expected whole numbers of seconds / graphs, got '$v'" >&2; exit 2;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
py=${GP_PYTHON:-python3}
cpu=()
[ "${GP_CPU_TEST:-0}" = 1 ] && cpu=(--cpu-test)
mkdir -p "$out"
log="$out/log.txt"
say() { echo "profile_gpu: $*" | tee -a "$log" >&2; }

say "start $(date -u +%FT%TZ); latency budget ${lat_s}s, occupancy budget ${occ_s}s, up to $count graphs per family, occupancy from graph $occ_skip"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
        --format=csv >"$out/gpu_before.csv" 2>&1
fi
"$py" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__,
"cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version() if torch.cuda.is_available() else None)' \
    2>&1 | tee -a "$log"

# ---- pass 1: latency
if [ "$lat_s" -gt 0 ]; then
    PYTHONUNBUFFERED=1 "$py" "$here/profile_cuda.py" latency "${cpu[@]}" --models all --count "$count" \
        --batch 1,32 --limit-seconds "$lat_s" --out-dir "$out/latency" 2>&1 | tee -a "$log"
    rc1=${PIPESTATUS[0]}
    say "latency pass exit $rc1: $(($(wc -l <"$out/latency/graphs.jsonl" 2>/dev/null || echo 0))) graphs"
else
    say "latency pass skipped (budget 0)"
fi

# ---- pass 2: occupancy under Nsight Compute
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -n 1)
if [ -n "$ncu" ] && [ ${#cpu[@]} = 0 ]; then
    say "ncu: $ncu ($("$ncu" --version 2>&1 | tail -n 1))"
    metrics=gpu__time_duration.sum,sm__warps_active.avg.pct_of_peak_sustained_active,sm__maximum_warps_per_active_cycle_pct,launch__registers_per_thread,launch__grid_size,launch__block_size
    PYTHONUNBUFFERED=1 timeout -k 10 $((occ_s + 90)) "$ncu" --csv --page raw --clock-control none \
        --cache-control none --target-processes all --metrics "$metrics" --log-file "$out/ncu.csv" \
        "$py" "$here/profile_cuda.py" markers --models all --count "$count" --batch 1,32 \
        --skip-graphs "$occ_skip" --limit-seconds "$occ_s" --marker-log "$out/markers.csv" >>"$log" 2>&1
    say "occupancy pass exit $?: $(grep -c spin_kernel "$out/ncu.csv" 2>/dev/null) markers in ncu.csv"
elif [ ${#cpu[@]} = 1 ]; then
    PYTHONUNBUFFERED=1 "$py" "$here/profile_cuda.py" markers "${cpu[@]}" --models all --count "$count" \
        --batch 1,32 --skip-graphs "$occ_skip" --limit-seconds "$occ_s" --marker-log "$out/markers.csv" >>"$log" 2>&1
    say "cpu test: marker pass exit $? (no ncu)"
else
    say "no ncu found: occupancy pass skipped"
fi
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
        --format=csv >"$out/gpu_after.csv" 2>&1
fi
tar czf "$out.tgz" -C "$(dirname "$out")" "$(basename "$out")"
say "done $(date -u +%FT%TZ): $out.tgz ($(du -h "$out.tgz" | cut -f1))"
