#!/usr/bin/env bash
# Regenerates the shipped CPU dataset (datasets/cpu/cpu.h5 and heldout.h5)
# by profiling on this machine: profile_torch.py, then a split that keeps
# the held-out torchvision models out of the training file, then gnndata.
# Run it on a quiet machine (see datasets/cpu/README.md); it resumes when
# rerun with the same arguments.
#
#   scripts/make_cpu_dataset.sh [RUN_DIR] [profile_torch.py options...]
#   scripts/make_cpu_dataset.sh RUN_DIR --pack-only   (split and pack what RUN_DIR holds)
# The packed files go to $GP_DATASET_DIR (default datasets/cpu).
# GP_HELDOUT_OPTIONAL=1 (profile_my_machine.sh): held-out models that were
# not profiled are only warned about, and heldout.h5 is written only when
# some were.
# default options: --models all --count 400 --threads 1 --repeats 8
#                  --min-seconds 0.1 --warmup 2
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
gp_help "$@"
case "${1:-}" in -*) echo "make_cpu_dataset.sh: the first argument is the run folder, then profile_torch.py's options (make_cpu_dataset.sh --help)" >&2; exit 2;; esac
RUN="${1:-$GP_ROOT/out/cpu_run}"
shift || true
OPTS=("$@")
PACK_ONLY=0
if [ "${OPTS[0]:-}" = --pack-only ]; then PACK_ONLY=1; OPTS=("${OPTS[@]:1}"); fi
[ ${#OPTS[@]} -gt 0 ] || OPTS=(--models all --count 400 --threads 1 --repeats 8 --min-seconds 0.1 --warmup 2)
HELDOUT="resnet18_b1,mobilenet_v2_b1,squeezenet1_1_b1"
DEST="${GP_DATASET_DIR:-$GP_ROOT/datasets/cpu}"
mkdir -p "$DEST"
gp_ensure_packages python3-torch python3-torchvision
gp_build "$GP_ROOT/build"
profile() { # profile_torch.py exits 3 when some graphs failed: they are left out, the rest goes on
    local rc=0
    /usr/bin/python3 "$GP_ROOT/scripts/profile_torch.py" "$@" --out-dir "$RUN" || rc=$?
    if [ $rc -eq 3 ]; then
        gp_log "some graphs could not be profiled (their errors are in $RUN/runlog.jsonl); going on without them"
    elif [ $rc -ne 0 ]; then
        exit $rc
    fi
}
if [ "$PACK_ONLY" = 0 ]; then
    gp_log "profiling into $RUN: ${OPTS[*]}"
    profile "${OPTS[@]}"
    # Graphs measured next to a slow reference (a slow spell of the machine)
    # are profiled once more; see datasets/cpu/README.md.
    gp_log "profiling again what was measured in a slow spell (--redo-suspect)"
    profile "${OPTS[@]}" --redo-suspect
fi
gp_log "splitting off the held-out models: $HELDOUT"
/usr/bin/python3 - "$RUN" "$HELDOUT" "${GP_HELDOUT_OPTIONAL:-0}" <<'PY'
import csv, json, sys
import os
run, held, optional = sys.argv[1], set(sys.argv[2].split(",")), sys.argv[3] == "1"
names = set()
zoo = []
# every file is written under a temporary name and renamed at the end: an
# interrupted split leaves the previous files, never cut-short ones
with open(f"{run}/graphs.jsonl") as f, open(f"{run}/train.jsonl.tmp", "w") as tr, \
        open(f"{run}/heldout.jsonl.tmp", "w") as ho:
    for line in f:
        g = json.loads(line)
        name = g["name"]
        names.add(name)
        (ho if name in held else tr).write(line)
        if name not in held and (g.get("meta") or {}).get("family") == "zoo":
            zoo.append(name)
# The torchvision models are a few dozen graphs beside thousands of generated
# ones; training sees each of them ZOO_REPEATS times per epoch
# (gnntrain --graph-repeats; see datasets/cpu/README.md).
ZOO_REPEATS = 5
with open(f"{run}/train_repeats.csv.tmp", "w") as f:
    f.write("graph,repeats\n")
    for name in zoo:
        f.write(f"{name},{ZOO_REPEATS}\n")
missing = held - names
if missing and optional:
    print(f"make_cpu_dataset: held-out models not profiled, so not held out: {', '.join(sorted(missing))}",
          file=sys.stderr)
    held -= missing
elif missing:
    for name in ("train.jsonl", "heldout.jsonl", "train_repeats.csv"):
        os.unlink(f"{run}/{name}.tmp")
    sys.exit(f"make_cpu_dataset: held-out models not profiled: {', '.join(sorted(missing))}")
with open(f"{run}/labels.csv", newline="") as f, open(f"{run}/train_labels.csv.tmp", "w", newline="") as tr, \
        open(f"{run}/heldout_labels.csv.tmp", "w", newline="") as ho:
    rows = csv.reader(f)
    header = next(rows)
    wt, wh = csv.writer(tr), csv.writer(ho)
    wt.writerow(header)
    wh.writerow(header)
    for r in rows:
        (wh if r[0] in held else wt).writerow(r)
for name in ("train.jsonl", "heldout.jsonl", "train_repeats.csv", "train_labels.csv", "heldout_labels.csv"):
    os.replace(f"{run}/{name}.tmp", f"{run}/{name}")
PY
NOTE="profiled on $(hostname) by scripts/make_cpu_dataset.sh (runs listed in datasets/cpu/README.md); packed $(date -u +%Y-%m-%dT%H:%MZ)"
"$GP_ROOT/build/gnndata" pack -o "$DEST/cpu.h5" --labels "$RUN/train_labels.csv" \
    --devices "$RUN/devices.csv" --note "$NOTE" --no-features "$RUN/train.jsonl"
if [ -s "$RUN/heldout.jsonl" ]; then
    "$GP_ROOT/build/gnndata" pack -o "$DEST/heldout.h5" --labels "$RUN/heldout_labels.csv" \
        --devices "$RUN/devices.csv" --note "$NOTE (held-out models)" --no-features "$RUN/heldout.jsonl"
else
    rm -f "$DEST/heldout.h5" # an earlier run's, which would not match this cpu.h5
fi
for f in summary.json train_repeats.csv; do
    cp "$RUN/$f" "$DEST/$f.tmp" && mv "$DEST/$f.tmp" "$DEST/$f"
done
ls -la "$DEST"
