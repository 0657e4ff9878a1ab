#!/usr/bin/env bash
# Profile-your-machine: measures a chosen set of models on this machine with
# scripts/profile_torch.py and trains a gnnperf model for it. Everything
# goes to out/my_machine/ (or $1); rerunning resumes the profiling.
#
#   scripts/profile_my_machine.sh [OUT_DIR] [profile_torch.py options...]
# default options: --models all --count 300 --threads 1,2 --repeats 10
# Run it with the machine otherwise idle: other work inflates the timings.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
gp_help "$@"
case "${1:-}" in -*) echo "profile_my_machine.sh: the first argument is the output folder, then profile_torch.py's options (profile_my_machine.sh --help)" >&2; exit 2;; esac
OUT="${1:-$GP_ROOT/out/my_machine}"
shift || true
OPTS=("$@")
[ ${#OPTS[@]} -gt 0 ] || OPTS=(--models all --count 300 --threads 1,2 --repeats 10 --min-seconds 0.1 --warmup 2)
mkdir -p "$OUT"
GP_DATASET_DIR="$OUT" GP_HELDOUT_OPTIONAL=1 "$GP_ROOT/scripts/make_cpu_dataset.sh" "$OUT/run" "${OPTS[@]}"
gp_log "training a model for this machine"
"$GP_ROOT/build/gnntrain" "$OUT/cpu.h5" -o "$OUT/model.h5" --prior roofline --epochs 80 --patience 15 \
    --threads "$(nproc)" \
    --log "$OUT/train_log.jsonl" --metrics "$OUT/test_metrics.json"
gp_log "done: model $OUT/model.h5; predict with build/gnnpredict $OUT/model.h5 your_model.json"
