#!/usr/bin/env bash
# The README's H100 table: gnntrain on the shipped GPU dataset
# (datasets/gpu/gpu_h100.h5, random 10 % test split drawn by the seed), one
# model per seed, test metrics per target and level with the per-seed values
# and their mean.
#
#   bench/eval_gpu_h100.sh [SEEDS] [GNNTRAIN_OPTIONS...]
#
# SEEDS: comma-separated (default 1,2,3).  GNNTRAIN_OPTIONS replace the
# default model settings (below; about 2 minutes per seed on 2 cores), e.g.
# `bench/eval_gpu_h100.sh 1,2,3 --epochs 60` for the smaller model the README
# compares with.  Models, metrics and the table go to $GP_OUT (default
# out/eval_gpu_h100).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
gp_help "$@"
seeds=${1:-1,2,3}
case $seeds in ''|*[!0-9,]*) gp_log "SEEDS: comma-separated whole numbers, got '$seeds'"; exit 2;; esac
shift || true
opts=("$@")
[ ${#opts[@]} -gt 0 ] || opts=(--epochs 100 --hidden 256 --head-hidden 128 --prior roofline_sum)
out=${GP_OUT:-$GP_ROOT/out/eval_gpu_h100}
data=$GP_ROOT/datasets/gpu/gpu_h100.h5
mkdir -p "$out"
gp_build "$GP_ROOT/build"
gp_log "gnntrain options: ${opts[*]}"
metrics=()
for s in ${seeds//,/ }; do
    gp_log "seed $s"
    "$GP_ROOT/build/gnntrain" "$data" --seed "$s" "${opts[@]}" -q -o "$out/seed$s.h5" \
        --metrics "$out/seed$s.json" >"$out/seed$s.log" 2>&1 ||
        { gp_log "seed $s: gnntrain failed (see $out/seed$s.log)"; exit 1; }
    metrics+=("$out/seed$s.json")
done
/usr/bin/python3 - "${opts[*]}" "${metrics[@]}" <<'EOF'
import json, sys
opts, paths = sys.argv[1], sys.argv[2:]
runs = [{(m["target"], m["level"]): m for m in json.load(open(p))["metrics"]} for p in paths]
print("H100 dataset, gnntrain %s, %d seeds (test split drawn by each seed)\n" % (opts, len(runs)))
print("| target | level | test n (first seed) | MAPE % per seed (mean) | Spearman per seed (mean) |")
print("|---|---|---|---|---|")
for key in sorted(runs[0]):
    ms = [r[key] for r in runs if key in r]
    mape = [m["mape"] for m in ms]
    rho = [m["spearman"] for m in ms]
    print("| %s | %s | %s | %s (%.1f) | %s (%.3f) |" % (
        key[0], key[1], format(ms[0]["n"], ","), " / ".join("%.1f" % v for v in mape), sum(mape) / len(mape),
        " / ".join("%.3f" % v for v in rho), sum(rho) / len(rho)))
EOF
