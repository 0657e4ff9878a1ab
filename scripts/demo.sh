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
#      embeddings;
#   5. transfer: the model is trained on the 1-thread device only; adapt it
#      to the 2-thread device from 10 measured graphs (gnnadapt --method blend:
#      adapted heads per op; whole models from the heads, a stack or a
#      cross-validated mix of the two), report its
#      accuracy on that device's other graphs, and predict the held-out
#      models there too; then say where each output is.
# Outputs go to out/demo/ (or $1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
gp_help "$@"
case "${1:-}" in -*) echo "demo.sh: the only argument is the output folder, not '$1' (demo.sh --help)" >&2; exit 2;; esac
OUT="${1:-$GP_ROOT/out/demo}"
DATA="$GP_ROOT/datasets/cpu"
gp_ensure_packages python3-matplotlib
gp_build "$GP_ROOT/build"
mkdir -p "$OUT"
BIN="$GP_ROOT/build"
threads=$(nproc)

gp_log "dataset shipped in datasets/cpu/"
"$BIN/gnndata" summary "$DATA/cpu.h5" | sed -n '1,6p'

# the shipped devices: cpu_<cpu>_t1 (1 thread) and cpu_<cpu>_t2 (2 threads)
read -r DEV1 DEV2 < <("$BIN/gnndata" summary "$DATA/cpu.h5" | awk '/^devices:/ {on = 1; next}
    on && NF == 0 {exit} on && $1 ~ /_t1$/ {a = $1} on && $1 ~ /_t2$/ {b = $1} END {print a, b}')
[ -n "$DEV1" ] && [ -n "$DEV2" ] || { echo "demo: datasets/cpu/cpu.h5 lacks the _t1/_t2 devices" >&2; exit 1; }

gp_log "training on $DEV1 (held-out models never seen, $DEV2 kept for the transfer step; progress per epoch)"
"$BIN/gnntrain" "$DATA/cpu.h5" -o "$OUT/model.h5" --holdout-device "$DEV2" --prior roofline --pool additive --graph-repeats "$DATA/train_repeats.csv" \
    --epochs 80 --patience 15 --batch 32 \
    --threads "$threads" --log "$OUT/train_log.jsonl" --metrics "$OUT/test_metrics.json"

gp_log "predicting the held-out models (never in training) against their measurements"
"$BIN/gnnpredict" "$OUT/model.h5" "$DATA/heldout.h5" --top 12 --threads "$threads" \
    --metrics "$OUT/heldout_metrics.json" | tee "$OUT/heldout_predictions.txt"
"$BIN/gnnpredict" "$OUT/model.h5" "$DATA/heldout.h5" --format csv -o "$OUT/heldout_predictions.csv" -q \
    --embeddings "$OUT/embeddings.h5"
/usr/bin/python3 "$GP_ROOT/scripts/plot_predictions.py" "$OUT/heldout_predictions.csv" "$OUT/heldout_plot.png" \
    --title "gnnperf on held-out torchvision models (this CPU)"
gp_log "held-out models: whole-model and per-op accuracy ($DEV1)"
/usr/bin/python3 "$GP_ROOT/scripts/heldout_report.py" "$OUT/heldout_predictions.csv" --json "$OUT/heldout_report.json"

gp_log "transfer to $DEV2 from 10 measured graphs (gnnadapt; the model never trained on $DEV2)"
"$BIN/gnnadapt" "$OUT/model.h5" "$DATA/cpu.h5" --device "$DEV2" --shots 10 --method blend --anchor 0.1 -o "$OUT/adapted.h5" \
    --threads "$threads" --metrics "$OUT/adapt_metrics.json"
"$BIN/gnnpredict" "$OUT/adapted.h5" "$DATA/heldout.h5" --device "$DEV2" --format csv -q \
    -o "$OUT/heldout_predictions_t2.csv"
/usr/bin/python3 "$GP_ROOT/scripts/heldout_report.py" "$OUT/heldout_predictions_t2.csv"

gp_log "outputs"
cat <<TXT
  model checkpoint         $OUT/model.h5
  training log (JSONL)     $OUT/train_log.jsonl
  test metrics (JSON)      $OUT/test_metrics.json
  held-out predictions     $OUT/heldout_predictions.txt (table), $OUT/heldout_predictions.csv
  held-out metrics (JSON)  $OUT/heldout_metrics.json, $OUT/heldout_report.json
  adapted model            $OUT/adapted.h5 (checkpoint for $DEV2), $OUT/adapt_metrics.json,
                           $OUT/heldout_predictions_t2.csv
  plot                     $OUT/heldout_plot.png
  embeddings (HDF5)        $OUT/embeddings.h5
TXT
