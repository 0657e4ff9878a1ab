#!/usr/bin/env bash
# Leave one training GPU out of NeuSight's kernel data and score its unseen
# kernels, once per prior: a check of a prior choice on GPUs that the
# paper's protocol (bench/eval_neusight.py) does not hold out.
#
#   bench/neusight_leave_one_out.sh WORK [OUT] [PRIORS] [SEEDS] [EPOCHS]
#
# WORK is a finished bench/eval_neusight.py --work folder (its neusight.h5,
# e2e_nodes.h5 and split.csv are reused, so the kernels each GPU is scored
# on are the paper split's unseen ones). For each of the five training GPUs
# (P100, V100, P4, T4, A100-40GB) and each prior (default "roofline
# roofline_sum"), gnntrain trains on the other four (the paper's three
# held-out GPUs are not used) with the left-out one as --holdout-device, seeds 1 2 3
# (default), 60 epochs; the seeds' predictions are averaged in log space
# and the left-out GPU's test kernels scored per op class (MAPE, mean ln
# error). EPOCHS (default 60) is for smoke runs. About 20 s per model on a 2-core machine (30 models: 10 minutes).
# Writes OUT/<gpu>_<prior>_<seed>.csv (the left-out GPU's rows) and
# OUT/summary.txt. Finished models are not retrained while OUT/stamp.txt
# (the epochs and checksums of the gnntrain binary, the dataset and the
# split) still matches; otherwise OUT's earlier results are discarded first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"
WORK="${1:?usage: bench/neusight_leave_one_out.sh WORK [OUT] [PRIORS] [SEEDS] [EPOCHS]}"
OUT="${2:-$WORK/leave_one_out}"
PRIORS="${3:-roofline roofline_sum}"
SEEDS="${4:-1 2 3}"
EPOCHS="${5:-60}"
for f in neusight.h5 split.csv; do
    [ -f "$WORK/$f" ] || { echo "neusight_leave_one_out: $WORK/$f is missing (run bench/eval_neusight.py --work $WORK first)" >&2; exit 1; }
done
# the transformer-node graphs, when the import had any: the split names them
DATA=("$WORK/neusight.h5")
[ -f "$WORK/e2e_nodes.h5" ] && DATA+=("$WORK/e2e_nodes.h5")
gp_build "$GP_ROOT/build"
mkdir -p "$OUT"
stamp="epochs $EPOCHS
$(md5sum "$GP_ROOT/build/gnntrain" | cut -d' ' -f1) gnntrain
$(cd "$WORK" && md5sum "${DATA[@]##*/}" split.csv)"
if [ "$(cat "$OUT/stamp.txt" 2>/dev/null)" != "$stamp" ]; then
    rm -f "$OUT"/*.csv "$OUT/summary.txt"
    printf '%s\n' "$stamp" >"$OUT/stamp.txt"
fi
TRAIN="Tesla_P100-PCIE-16GB Tesla_V100-PCIE-32GB Tesla_P4 Tesla_T4 NVIDIA_A100-PCIE-40GB"
for gpu in $TRAIN; do
    for prior in $PRIORS; do
        for seed in $SEEDS; do
            out="$OUT/${gpu}_${prior}_${seed}"
            [ -s "$out.csv" ] && continue
            args=()
            for d in $TRAIN; do args+=(--device "$d"); done
            gp_log "leave out $gpu, --prior $prior, seed $seed"
            "$GP_ROOT/build/gnntrain" "${DATA[@]}" -o "$out.h5" \
                --split-file "$WORK/split.csv" --node-target latency_ms --no-graph-targets --epochs "$EPOCHS" \
                --seed "$seed" --threads "$(nproc)" --prior "$prior" --prior-peak peak_fp32_gflops \
                --prior-bw mem_bw_gbs "${args[@]}" --holdout-device "$gpu" --predictions "$out.all.csv" -q
            awk -F, -v g="$gpu" 'NR == 1 || $4 == g' "$out.all.csv" >"$out.tmp"
            mv "$out.tmp" "$out.csv"
            rm -f "$out.all.csv" "$out.h5" "$out.h5.state.h5"
        done
    done
done
/usr/bin/python3 - "$OUT" "$TRAIN" "$PRIORS" "$SEEDS" <<'PY' | tee "$OUT/summary.txt"
import collections, csv, math, os, sys
out, gpus, priors, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
CLASS = {"bmm": "BMM", "linear": "FC", "ln": "LN", "softmax": "Softmax"}
classes = ["BMM", "FC", "EW", "Softmax", "LN"]
pooled = {p: collections.defaultdict(list) for p in priors}
print("Leave one training GPU out (NeuSight kernels; the other four trained; seeds %s averaged in log space)" % " ".join(seeds))
print("per-kernel MAPE % (rows, mean ln(predicted / measured)) on the left-out GPU's unseen kernels")
print("| GPU | prior | " + " | ".join(classes) + " | all |")
print("|---|---|" + "---|" * (len(classes) + 1))
for gpu in gpus:
    for p in priors:
        logs, meas = collections.defaultdict(list), {}
        for s in seeds:
            for r in csv.DictReader(open(os.path.join(out, f"{gpu}_{p}_{s}.csv"))):
                if r["graph"].startswith("nsk_") and r["measured"]:
                    logs[r["graph"]].append(math.log(float(r["predicted"])))
                    meas[r["graph"]] = float(r["measured"])
        err = collections.defaultdict(list)
        for g, v in logs.items():
            if len(v) == len(seeds):
                err[CLASS.get(g.split("_")[2], "EW")].append(sum(v) / len(v) - math.log(meas[g]))
        cells, every = [], []
        for c in classes:
            e = err.get(c, [])
            ape = [abs(math.exp(x) - 1) for x in e]
            pooled[p][c] += ape
            every += ape
            cells.append("%.1f (%d, %+.2f)" % (100 * sum(ape) / len(ape), len(ape), sum(e) / len(e)) if e else "-")
        print(f"| {gpu} | {p} | " + " | ".join(cells) + " | %.1f |" % (100 * sum(every) / max(len(every), 1)))
for p in priors:
    allv = [x for c in classes for x in pooled[p][c]]
    print(f"| pooled | {p} | " + " | ".join("%.1f" % (100 * sum(pooled[p][c]) / max(len(pooled[p][c]), 1)) for c in classes)
          + " | %.1f |" % (100 * sum(allv) / max(len(allv), 1)))
PY
