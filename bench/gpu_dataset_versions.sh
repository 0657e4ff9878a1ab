#!/usr/bin/env bash
# Does a dataset with more labels train a better model?  Trains gnntrain on two
# versions of one dataset (same graphs, in the same order, so a seed draws the
# same split in both) and scores both models on the NEWER version's labels of
# the same test graphs, seed by seed: a gain then comes from the training
# labels alone, not from a different test set.
#
#   bench/gpu_dataset_versions.sh [OLD.h5|GIT_REV] [NEW.h5] [SEEDS] [EPOCHS]
#
# Defaults: OLD = datasets/gpu/gpu_h100.h5 as of commit 1c56e69 (occupancy on
# 194 graphs; 897ea2b has it on 99), NEW = the working tree's datasets/gpu/gpu_h100.h5, seeds 1-6,
# 60 epochs (about 10-15 s per model on 2 cores).  Prints one row per seed and
# target; results.json in $GP_OUT (default out/gpu_dataset_versions).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"
old=${1:-1c56e69}
new=${2:-$GP_ROOT/datasets/gpu/gpu_h100.h5}
seeds=${3:-1,2,3,4,5,6}
epochs=${4:-60}
out=${GP_OUT:-$GP_ROOT/out/gpu_dataset_versions}
mkdir -p "$out"
gp_build "$GP_ROOT/build"
bin=$GP_ROOT/build
if [ ! -f "$old" ]; then
    git -C "$GP_ROOT" show "$old:datasets/gpu/gpu_h100.h5" >"$out/old.h5" ||
        { gp_log "$old: neither a file nor a commit holding datasets/gpu/gpu_h100.h5"; exit 1; }
    old=$out/old.h5
fi
[ -f "$new" ] || { gp_log "$new: no such dataset"; exit 1; }
/usr/bin/python3 "$GP_ROOT/scripts/dataset_tables.py" "$new" --labels "$out/new_labels.csv" --devices "$out/devices.csv"
for s in ${seeds//,/ }; do
    for v in old new; do
        ds=$old; [ $v = new ] && ds=$new
        gp_log "seed $s: training on the $v dataset"
        "$bin/gnntrain" "$ds" --epochs "$epochs" --seed "$s" -o "$out/$v$s.h5" \
            --predictions "$out/$v$s.pred.csv" >"$out/$v$s.log" 2>&1
    done
    # the test graphs of this seed (the same in both: checked), as a dataset with the new labels
    cut -d, -f1 "$out/new$s.pred.csv" | tail -n +2 | sort -u >"$out/test$s.txt"
    cut -d, -f1 "$out/old$s.pred.csv" | tail -n +2 | sort -u | cmp -s - "$out/test$s.txt" ||
        { gp_log "seed $s: the two datasets drew different test graphs (not versions of one dataset?)"; exit 1; }
    graphs=()
    while read -r g; do graphs+=(--graph "$g"); done <"$out/test$s.txt"
    "$bin/gnndata" export "$new" -o "$out/test$s.jsonl" "${graphs[@]}" >/dev/null 2>&1
    awk -F, 'NR == FNR { t[$1] = 1; next } FNR == 1 || ($1 in t)' "$out/test$s.txt" "$out/new_labels.csv" \
        >"$out/test$s.labels.csv"
    "$bin/gnndata" pack -o "$out/test$s.h5" --labels "$out/test$s.labels.csv" --devices "$out/devices.csv" \
        --no-features "$out/test$s.jsonl" >/dev/null 2>&1
    for v in old new; do
        "$bin/gnnpredict" "$out/$v$s.h5" "$out/test$s.h5" --metrics "$out/$v$s.metrics.json" -q -o /dev/null
    done
done
/usr/bin/python3 - "$out" "$seeds" <<'EOF'
import json, os, sys
out, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
res = {}
for v in ("old", "new"):
    for s in seeds:
        with open(os.path.join(out, "%s%d.metrics.json" % (v, s))) as f:
            for m in json.load(f):
                res.setdefault((m["target"], m["level"]), {}).setdefault(v, []).append(m)
print("%-16s %-6s %-5s %-44s %s" % ("target", "level", "data", "MAPE % per seed (mean)", "Spearman per seed (mean)"))
table = []
for (t, level), d in sorted(res.items()):
    for v in ("old", "new"):
        ms = d[v]
        mape = [m["mape"] for m in ms]
        rho = [m["spearman"] for m in ms]
        print("%-16s %-6s %-5s %-44s %s" % (t, level, v,
              " ".join("%.1f" % x for x in mape) + "  (%.1f)" % (sum(mape) / len(mape)),
              " ".join("%.3f" % x for x in rho) + "  (%.3f)" % (sum(rho) / len(rho))))
        table.append({"target": t, "level": level, "data": v, "n": [m["n"] for m in ms],
                      "mape": mape, "spearman": rho})
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump({"seeds": seeds, "rows": table}, f, indent=1)
EOF
