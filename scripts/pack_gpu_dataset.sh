#!/usr/bin/env bash
# Packs what scripts/profile_gpu.sh measured on a GPU machine into a gnnperf
# dataset: occupancy labels from ncu's CSV and the marker log
# (scripts/ncu_occupancy.py), joined with the latency pass's labels, packed
# by gnndata without the cached feature matrix.
#
#   scripts/pack_gpu_dataset.sh RUN_DIR_OR_TGZ OUTPUT.h5 [--more-occupancy RUN2_DIR_OR_TGZ]...
#                               [ncu_occupancy.py options for RUN...]
#
# RUN_DIR holds latency/{graphs.jsonl,labels.csv,devices.csv}, and, when the
# occupancy pass ran, ncu.csv and markers.csv.  In place of RUN_DIR, an
# already packed dataset (a .h5 file, for example the shipped
# datasets/gpu/gpu_h100.h5) is the base: its graphs, labels and devices are
# read back (gnndata export, scripts/dataset_tables.py) and packed again with
# the --more-occupancy runs' labels, so a later lease extends a dataset whose
# first run's files are gone.  Each --more-occupancy run is
# an occupancy-only run (profile_gpu.sh with LATENCY_SECONDS 0 and OCC_SKIP)
# on the same device: its ncu.csv and markers.csv add labels for graphs that
# RUN_DIR's latency pass has; a graph labelled by two runs is an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
gp_help "$@"
usage="usage: pack_gpu_dataset.sh RUN_DIR_OR_TGZ OUTPUT.h5 [--more-occupancy RUN_DIR_OR_TGZ]... [ncu_occupancy.py options...]"
src=${1:?$usage}
dest=${2:?$usage}
shift 2
more=()
occ_opts=()
while [ $# -gt 0 ]; do
    case $1 in
        --more-occupancy) [ $# -ge 2 ] || { gp_log "$usage"; exit 2; }; more+=("$2"); shift 2;;
        *) occ_opts+=("$1"); shift;;
    esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# unpack DIR_OR_TGZ into $work/NAME if it is a file; prints the folder holding FILE
run_dir() {
    local src=$1 name=$2 file=$3 d
    if [ -f "$src" ]; then
        mkdir -p "$work/$name"
        tar xzf "$src" -C "$work/$name"
        d=$(find "$work/$name" -path "*/$file" | head -n 1)
        [ -n "$d" ] || { gp_log "$src: no $file inside" >&2; return 1; }
        d=$(dirname "$d")
        echo "${d%/latency}"
    else
        echo "$src"
    fi
}
base=
if [[ $src == *.h5 ]]; then
    [ -f "$src" ] || { gp_log "$src: no such dataset"; exit 1; }
    base=$(basename "$src")
    gp_build "$GP_ROOT/build"
    run=$work/base
    mkdir -p "$run/latency"
    "$GP_ROOT/build/gnndata" export "$src" -o "$run/latency/graphs.jsonl"
    /usr/bin/python3 "$GP_ROOT/scripts/dataset_tables.py" "$src" --labels "$run/latency/labels.csv" \
        --devices "$run/latency/devices.csv"
else
    run=$(run_dir "$src" main latency/graphs.jsonl)
fi
for f in graphs.jsonl labels.csv devices.csv; do
    [ -s "$run/latency/$f" ] || { gp_log "$run/latency/$f: missing or empty"; exit 1; }
done
gp_build "$GP_ROOT/build"
device=$(sed -n 2p "$run/latency/devices.csv" | cut -d, -f1)
cp "$run/latency/labels.csv" "$work/labels.csv"
if [ -s "$run/ncu.csv" ] && [ -s "$run/markers.csv" ]; then
    /usr/bin/python3 "$GP_ROOT/scripts/ncu_occupancy.py" --ncu-csv "$run/ncu.csv" --markers "$run/markers.csv" \
        --device "$device" -o "$work/occupancy.csv" ${occ_opts[@]+"${occ_opts[@]}"}
    tail -n +2 "$work/occupancy.csv" >>"$work/labels.csv"
elif [ -z "$base" ]; then
    gp_log "no ncu.csv/markers.csv in $run: packing without occupancy labels"
fi
i=0
for m in ${more[@]+"${more[@]}"}; do
    i=$((i + 1))
    mrun=$(run_dir "$m" "more$i" markers.csv)
    for f in ncu.csv markers.csv; do
        [ -s "$mrun/$f" ] || { gp_log "$m: $f missing or empty"; exit 1; }
    done
    /usr/bin/python3 "$GP_ROOT/scripts/ncu_occupancy.py" --ncu-csv "$mrun/ncu.csv" --markers "$mrun/markers.csv" \
        --device "$device" -o "$work/occupancy$i.csv"
    both=$(awk -F, 'NR == FNR { if ($4 == "occupancy") seen[$1] = 1; next }
                    FNR > 1 && ($1 in seen) && !($1 in told) { told[$1] = 1; print $1 }' \
               "$work/labels.csv" "$work/occupancy$i.csv" | head -n 5 | tr '\n' ' ')
    [ -z "$both" ] || { gp_log "$m: occupancy of graphs an earlier run already labelled: $both(wrong OCC_SKIP?)"; exit 1; }
    tail -n +2 "$work/occupancy$i.csv" >>"$work/labels.csv"
done
"$GP_ROOT/build/gnndata" pack -o "$dest" --labels "$work/labels.csv" --devices "$run/latency/devices.csv" \
    --note "made by scripts/profile_gpu.sh on $device; packed by scripts/pack_gpu_dataset.sh${base:+ from $base}${occ_opts[*]+ ${occ_opts[*]}} (${#more[@]} more occupancy runs)" \
    --no-features "$run/latency/graphs.jsonl"
