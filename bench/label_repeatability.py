#!/usr/bin/python3
"""label_repeatability: how far apart two profiling runs of the same model
on this machine put its per-op and whole-model latency labels.

A predictor scored against one run's labels cannot be expected to agree
with them more often than a second run of the profiler does. This script
measures that ceiling for the issue's per-op target (ops of at least 50 us
within +-20 %) and whole-model target (+-10 %):

  1. profiles the chosen torchvision models RUNS times with
     scripts/profile_torch.py (fresh output folders, same settings as the
     shipped dataset: 1 thread, batch 1);
  2. for every pair of runs, and for every run against the labels in the
     shipped dataset files (datasets/cpu/heldout.h5 and cpu.h5), counts the
     ops whose latency in the first is >= 50 us and whose latency in the
     second lies within +-20 % of it, and compares whole-model latency;
  3. prints one table per comparison and writes results.json.

usage: bench/label_repeatability.py [--runs 3] [--models resnet18,...]
       [--work out/label_repeatability] [--dataset datasets/cpu/heldout.h5 ...]

Run it alone on the machine (another busy process shifts the labels it is
measuring). Minutes: about 0.5 per run for the default four models.
"""
import argparse
import csv
import itertools
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVICE_SUFFIX = "_t1"


def log(msg):
    print("label_repeatability: " + msg, file=sys.stderr, flush=True)


def read_run(folder):
    """{graph: {"whole": ms, "nodes": {node: ms}}} from a profile_torch run's
    labels.csv (1-thread device only)."""
    out = {}
    path = os.path.join(folder, "labels.csv")
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["target"] != "latency_ms" or not r["device"].endswith(DEVICE_SUFFIX):
                continue
            g = out.setdefault(r["graph"], {"whole": None, "nodes": {}})
            if r["node"]:
                g["nodes"][r["node"]] = float(r["value"])
            else:
                g["whole"] = float(r["value"])
    if not out:
        raise SystemExit("label_repeatability: %s has no 1-thread latency labels" % path)
    return out


def read_dataset(path, graphs):
    """The same layout from a gnnperf dataset file (docs/dataset-format.md),
    for the named graphs it holds; the 1-thread device's column."""
    out = {}
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f["graphs/names"][()]]
        off = f["graphs/node_offsets"][()]
        node_names = f["nodes/names"][()]
        devs = [n.decode() for n in f["devices/names"][()]]
        cols = [i for i, d in enumerate(devs) if d.endswith(DEVICE_SUFFIX)]
        if len(cols) != 1:
            raise SystemExit("label_repeatability: %s: expected one device ending in %s, found %s"
                             % (path, DEVICE_SUFFIX, devs))
        c = cols[0]
        node_lat = f["labels/node/latency_ms"][:, c]
        whole = f["labels/graph/latency_ms"][:, c]
        for k, name in enumerate(names):
            if name not in graphs:
                continue
            nodes = {}
            for v in range(off[k], off[k + 1]):
                if not np.isnan(node_lat[v]):
                    nodes[node_names[v].decode()] = float(node_lat[v])
            out[name] = {"whole": None if np.isnan(whole[k]) else float(whole[k]), "nodes": nodes}
    return out


def compare(a, b, min_ms, tol):
    """Per graph in both: ops >= min_ms in a, how many of them b puts
    within tol; whole-model ratio b / a."""
    rows = []
    for g in sorted(set(a) & set(b)):
        na, nb = a[g]["nodes"], b[g]["nodes"]
        big = [n for n, v in na.items() if v >= min_ms and n in nb]
        within = sum(1 for n in big if abs(nb[n] / na[n] - 1.0) <= tol)
        wa, wb = a[g]["whole"], b[g]["whole"]
        rows.append({"graph": g, "ops": len(big), "ops_within": within,
                     "whole_ratio": wb / wa if wa and wb else None})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="profiling runs (default 3)")
    ap.add_argument("--models", default="resnet18,mobilenet_v2,squeezenet1_1,resnet34",
                    help="torchvision models (profile_torch.py --zoo-models)")
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "label_repeatability"))
    ap.add_argument("--dataset", action="append",
                    help="dataset files holding these models' shipped labels (repeatable; default "
                         "datasets/cpu/heldout.h5 and datasets/cpu/cpu.h5)")
    ap.add_argument("--reuse", action="store_true", help="keep runs already in --work instead of re-profiling")
    ap.add_argument("--min-us", type=float, default=50.0, help="op threshold (default 50 us)")
    ap.add_argument("--op-tol", type=float, default=0.20, help="per-op agreement band (default 0.20)")
    ap.add_argument("--whole-tol", type=float, default=0.10, help="whole-model band (default 0.10)")
    a = ap.parse_args()
    if a.runs < 2:
        ap.error("--runs must be at least 2")
    datasets = a.dataset or [os.path.join(ROOT, "datasets", "cpu", "heldout.h5"),
                             os.path.join(ROOT, "datasets", "cpu", "cpu.h5")]
    os.makedirs(a.work, exist_ok=True)
    runs = []
    for k in range(a.runs):
        folder = os.path.join(a.work, "run%d" % (k + 1))
        if not (a.reuse and os.path.exists(os.path.join(folder, "labels.csv"))):
            if os.path.exists(folder):
                subprocess.run(["rm", "-rf", folder], check=True)
            t0 = time.time()
            log("profiling run %d of %d: %s" % (k + 1, a.runs, a.models))
            subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "profile_torch.py"),
                            "--models", "zoo", "--zoo-models", a.models, "--threads", "1",
                            "--out-dir", folder], check=True, stdout=subprocess.DEVNULL)
            log("run %d took %.0f s" % (k + 1, time.time() - t0))
        runs.append(read_run(folder))
    graphs = set(runs[0])
    shipped = {}
    for p in datasets:
        if not os.path.exists(p):
            raise SystemExit("label_repeatability: %s: no such dataset file" % p)
        shipped.update(read_dataset(p, graphs))
    missing = sorted(graphs - set(shipped))
    if missing:
        log("not in the shipped datasets (compared between runs only): %s" % ", ".join(missing))

    min_ms = a.min_us / 1000.0
    pairs = [("run %d" % (i + 1), "run %d" % (j + 1), runs[i], runs[j])
             for i, j in itertools.combinations(range(a.runs), 2)]
    pairs += [("shipped", "run %d" % (i + 1), shipped, runs[i]) for i in range(a.runs)]
    results = []
    print("Repeatability of this machine's labels: ops >= %g us (in the first) within +-%g %% in the second; "
          "whole-model latency, second / first" % (a.min_us, 100 * a.op_tol))
    print()
    models = sorted(graphs)
    print("| first | second | " + " | ".join(m.replace("_b1", "") for m in models) + " | all ops | whole within +-%g %% |"
          % (100 * a.whole_tol))
    print("|---|---|" + "---|" * len(models) + "---|---|")
    for na, nb, A, B in pairs:
        rows = {r["graph"]: r for r in compare(A, B, min_ms, a.op_tol)}
        cells = []
        for m in models:
            r = rows.get(m)
            cells.append("-" if r is None else "%d/%d, %.3f" % (r["ops_within"], r["ops"], r["whole_ratio"] or 0))
        ops = sum(r["ops"] for r in rows.values())
        within = sum(r["ops_within"] for r in rows.values())
        whole_ok = sum(1 for r in rows.values() if r["whole_ratio"] and abs(r["whole_ratio"] - 1) <= a.whole_tol)
        share = 100.0 * within / ops if ops else float("nan")
        print("| %s | %s | %s | %.0f %% (%d/%d) | %d of %d |" % (na, nb, " | ".join(cells), share, within, ops,
                                                                 whole_ok, len(rows)))
        results.append({"first": na, "second": nb, "graphs": list(rows.values()), "ops": ops,
                        "ops_within": within, "ops_within_pct": share, "whole_within": whole_ok,
                        "models": len(rows)})
    between = [r for r in results if r["first"].startswith("run")]
    vs_ship = [r for r in results if r["first"] == "shipped"]
    print()
    for name, group in (("between fresh runs", between), ("shipped labels vs fresh runs", vs_ship)):
        if group:
            v = [r["ops_within_pct"] for r in group]
            print("%s: ops within +-%g %%: mean %.0f %%, range %.0f-%.0f %% over %d pairs"
                  % (name, 100 * a.op_tol, sum(v) / len(v), min(v), max(v), len(v)))
    out = {"models": models, "runs": a.runs, "min_us": a.min_us, "op_tol": a.op_tol, "whole_tol": a.whole_tol,
           "comparisons": results}
    tmp = os.path.join(a.work, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, os.path.join(a.work, "results.json"))
    log("wrote %s" % os.path.join(a.work, "results.json"))


if __name__ == "__main__":
    main()
