#!/usr/bin/env bash
# Packs what scripts/profile_gpu.sh measured on a GPU machine into a gnnperf
# dataset: occupancy labels from ncu's CSV and the marker log
# (scripts/ncu_occupancy.py), joined with the latency pass's labels, packed
# by gnndata without the cached feature matrix.
#
#   scripts/pack_gpu_dataset.sh RUN_DIR_OR_TGZ OUTPUT.h5 [ncu_occupancy.py options...]
#
# RUN_DIR holds latency/{graphs.jsonl,labels.csv,devices.csv}, and, when the
# occupancy pass ran, ncu.csv and markers.csv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
src=${1:?usage: pack_gpu_dataset.sh RUN_DIR_OR_TGZ OUTPUT.h5 [ncu_occupancy.py options...]}
dest=${2:?usage: pack_gpu_dataset.sh RUN_DIR_OR_TGZ OUTPUT.h5 [ncu_occupancy.py options...]}
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -f "$src" ]; then
    tar xzf "$src" -C "$work"
    run=$(dirname "$(find "$work" -path '*/latency/graphs.jsonl' | head -n 1)")
    run=${run%/latency}
    [ -n "$run" ] && [ -d "$run/latency" ] || { gp_log "$src: no latency/graphs.jsonl inside"; exit 1; }
else
    run=$src
fi
for f in graphs.jsonl labels.csv devices.csv; do
    [ -s "$run/latency/$f" ] || { gp_log "$run/latency/$f: missing or empty"; exit 1; }
done
gp_build "$GP_ROOT/build"
device=$(sed -n 2p "$run/latency/devices.csv" | cut -d, -f1)
cp "$run/latency/labels.csv" "$work/labels.csv"
if [ -s "$run/ncu.csv" ] && [ -s "$run/markers.csv" ]; then
    /usr/bin/python3 "$GP_ROOT/scripts/ncu_occupancy.py" --ncu-csv "$run/ncu.csv" --markers "$run/markers.csv" \
        --device "$device" -o "$work/occupancy.csv" "$@"
    tail -n +2 "$work/occupancy.csv" >>"$work/labels.csv"
else
    gp_log "no ncu.csv/markers.csv in $run: packing without occupancy labels"
fi
"$GP_ROOT/build/gnndata" pack -o "$dest" --labels "$work/labels.csv" --devices "$run/latency/devices.csv" \
    --note "made by scripts/profile_gpu.sh on $device; packed by scripts/pack_gpu_dataset.sh $*" \
    --no-features "$run/latency/graphs.jsonl"
