#!/usr/bin/env bash
# The main job, end to end, on the dataset this repository ships
# (datasets/cpu/, measured on this project's CPU machine by
# scripts/profile_torch.py):
#   1. install missing Debian packages and build;
#   2. train a model on every shipped graph except the held-out torchvision
#      models (datasets/cpu/heldout.h5);
#   3. predict the held-out models per op and whole, against their
#      measurements, with the metrics table;
#   4. write a predicted-vs-measured plot, the predictions as CSV and the
#      embeddings, and say where each output is.
# Outputs go to out/demo/ (or $1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT="${1:-$GP_ROOT/out/demo}"
DATA="$GP_ROOT/datasets/cpu"
gp_ensure_packages python3-matplotlib
gp_build "$GP_ROOT/build"
mkdir -p "$OUT"
BIN="$GP_ROOT/build"
threads=$(nproc)

gp_log "dataset shipped in datasets/cpu/"
"$BIN/gnndata" summary "$DATA/cpu.h5" | sed -n '1,6p'

gp_log "training on it (held-out models never seen; progress per epoch)"
"$BIN/gnntrain" "$DATA/cpu.h5" -o "$OUT/model.h5" --epochs 40 --patience 10 --batch 32 --threads "$threads" \
    --log "$OUT/train_log.jsonl" --metrics "$OUT/test_metrics.json"

gp_log "predicting the held-out models (never in training) against their measurements"
"$BIN/gnnpredict" "$OUT/model.h5" "$DATA/heldout.h5" --top 12 --threads "$threads" \
    --metrics "$OUT/heldout_metrics.json" | tee "$OUT/heldout_predictions.txt"
"$BIN/gnnpredict" "$OUT/model.h5" "$DATA/heldout.h5" --format csv -o "$OUT/heldout_predictions.csv" -q \
    --embeddings "$OUT/embeddings.h5"
/usr/bin/python3 "$GP_ROOT/scripts/plot_predictions.py" "$OUT/heldout_predictions.csv" "$OUT/heldout_plot.png" \
    --title "gnnperf on held-out torchvision models (this CPU)"

gp_log "outputs"
cat <<TXT
  model checkpoint         $OUT/model.h5
  training log (JSONL)     $OUT/train_log.jsonl
  test metrics (JSON)      $OUT/test_metrics.json
  held-out predictions     $OUT/heldout_predictions.txt (table), $OUT/heldout_predictions.csv
  held-out metrics (JSON)  $OUT/heldout_metrics.json
  plot                     $OUT/heldout_plot.png
  embeddings (HDF5)        $OUT/embeddings.h5
TXT
