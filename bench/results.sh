#!/usr/bin/env bash
# Regenerates every accuracy table of the README's Results section in one
# run, on the shipped dataset and the public data in ../shared/data, and
# writes them to out/results/RESULTS.md (each script's full output beside it).
#
#   bench/results.sh [--quick]
#
# Steps (minutes measured on this project's 2-core machine, alone):
#   demo                 the shipped CPU dataset: test split, held-out models,
#                        transfer to the 2-thread device          (~1.5)
#   onnx_vs_profiled.py  the demo's model on ONNX exports of the held-out
#                        models, BatchNormalization kept and folded  (<0.2)
#   label_repeatability.py  three fresh profiling runs of the held-out
#                        models: how far this machine's labels reproduce (~1.5)
#   eval_gpu_h100.sh     the shipped H100 dataset: latency and occupancy,
#                        seeds 1-3                                 (~6)
#   eval_help_nb201.py   HELP's NAS-Bench-201 few-shot protocol, gnnadapt's
#                        heads and stack methods                  (~30)
#   eval_help_fbnet.py   HELP's FBNet few-shot protocol, both     (~25)
#   eval_indevice_nb201.py  720-graph in-device accuracy, 27 settings,
#                        with ridge and XGBoost baselines         (~18)
#   eval_fbnet_blocks.py FBNet blocks of unseen configurations
#   label_consistency.py how far the public labels contradict themselves:
#                        ceilings for the block and NAS-Bench-201 targets (<0.1)
#   eval_neusight.py     NeuSight kernels on unseen GPUs          (~4)
#   neusight_leave_one_out.sh  each training GPU left out in turn, both
#                        roofline priors                          (~10)
# --quick runs each protocol with fewer draws/epochs (a smoke run: its
# numbers are not the README's).
# The public-data steps need ../shared/data (or $GNNPERF_SHARED/data); they
# are skipped, with a message, when it is absent.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
OUT="$GP_ROOT/out/results"
mkdir -p "$OUT"
gp_ensure_packages python3-matplotlib python3-sklearn python3-xgboost
gp_build "$GP_ROOT/build" -DCMAKE_BUILD_TYPE=Release
SHARED="${GNNPERF_SHARED:-$GP_ROOT/../shared}"
REPORT="$OUT/RESULTS.md"
printf '# gnnperf results, %s\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)" >"$REPORT"
failed=0

step() { # name, command...
    local name=$1
    shift
    gp_log "$name: $*"
    local t0=$SECONDS
    if "$@" >"$OUT/$name.txt" 2>&1; then
        {
            printf '## %s (%d s)\n\n' "$name" $((SECONDS - t0))
            grep -E '^\||^  (target|latency_|utilization|occupancy)|^[A-Za-z].*(within|rho|MAPE)' "$OUT/$name.txt" | grep -v -E '^(epoch|gnntrain|eval_|import|==>)' || true
            printf '\n'
        } >>"$REPORT"
    else
        printf '## %s: FAILED (see %s)\n\n' "$name" "$OUT/$name.txt" >>"$REPORT"
        gp_log "$name failed: see $OUT/$name.txt"
        failed=1
        return 1
    fi
}

step demo "$GP_ROOT/scripts/demo.sh" "$OUT/demo"
gp_ensure_packages python3-torch python3-torchvision python3-onnx
[ -f "$OUT/demo/model.h5" ] && step onnx_vs_profiled "$GP_ROOT/bench/onnx_vs_profiled.py" --model "$OUT/demo/model.h5"
step label_repeatability "$GP_ROOT/bench/label_repeatability.py" --work "$OUT/label_repeatability"
if [ $QUICK = 1 ]; then
    GP_OUT="$OUT/gpu_h100" step gpu_h100 "$GP_ROOT/bench/eval_gpu_h100.sh" 1 --epochs 5 --hidden 256 --head-hidden 128 \
        --prior roofline_sum
else
    GP_OUT="$OUT/gpu_h100" step gpu_h100 "$GP_ROOT/bench/eval_gpu_h100.sh"
fi
if [ -d "$SHARED/data" ]; then
    step label_consistency "$GP_ROOT/bench/label_consistency.py"
    if [ $QUICK = 1 ]; then
        step help_nb201 "$GP_ROOT/bench/eval_help_nb201.py" --work "$OUT/help_nb201" --draws 2 --epochs 5
        step help_fbnet "$GP_ROOT/bench/eval_help_fbnet.py" --work "$OUT/help_fbnet" --draws 2 --epochs 5
        step indevice_nb201 "$GP_ROOT/bench/eval_indevice_nb201.py" --work "$OUT/indevice_nb201" --epochs 5
        step fbnet_blocks "$GP_ROOT/bench/eval_fbnet_blocks.py" --work "$OUT/fbnet_blocks" --epochs 5 \
            --block-ensemble 1 --block-epochs 5
        step neusight "$GP_ROOT/bench/eval_neusight.py" --work "$OUT/neusight" --epochs 5 &&
            step neusight_loo "$GP_ROOT/bench/neusight_leave_one_out.sh" "$OUT/neusight" "$OUT/neusight_loo_quick" \
            "roofline roofline_sum" 1 5
    else
        step help_nb201 "$GP_ROOT/bench/eval_help_nb201.py" --work "$OUT/help_nb201" --anchor 0.1
        step help_fbnet "$GP_ROOT/bench/eval_help_fbnet.py" --work "$OUT/help_fbnet"
        step indevice_nb201 "$GP_ROOT/bench/eval_indevice_nb201.py" --work "$OUT/indevice_nb201" --epochs 150 --ensemble 3 \
            --patience 30 --refit --finetune 30
        step fbnet_blocks "$GP_ROOT/bench/eval_fbnet_blocks.py" --work "$OUT/fbnet_blocks"
        # the leave-one-out step reuses the NeuSight step's import and split
        step neusight "$GP_ROOT/bench/eval_neusight.py" --work "$OUT/neusight" --ensemble 10 &&
            step neusight_loo "$GP_ROOT/bench/neusight_leave_one_out.sh" "$OUT/neusight" "$OUT/neusight_loo"
    fi
else
    gp_log "no $SHARED/data: the public-data protocols are skipped"
    printf 'Public-data protocols skipped: %s/data is absent.\n' "$SHARED" >>"$REPORT"
fi
gp_log "tables in $REPORT"
exit $failed
