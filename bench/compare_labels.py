#!/usr/bin/python3
"""compare_labels: how far a second profiling run's labels lie from a packed
dataset's, graph by graph and node by node (same graph and node names).

A dataset's labels are only as good as they repeat: this is the ceiling any
predictor scored on them meets.  For each target and level present in both,
it prints the ratio second / dataset (median, p10, p90), the mean |ln ratio|,
and the share of labels within +-10 % (nodes: also only those whose dataset
label is at least --min-ms).

usage: bench/compare_labels.py DATASET.h5 LABELS.csv[.gz] [--device D] [--min-ms 0.05]
                               [--runlog RUNLOG.jsonl[.gz]]

LABELS is a label table (docs/label-table.md), for example a profiler run's
latency/labels.csv; rows without a measured label in the dataset (graph,
node or target absent there, or not measured) are counted and skipped.
The dataset is read by scripts/dataset_tables.py.

--runlog takes the second run's runlog.jsonl (profile_cuda.py latency, which
re-times a reference model every --ref-every graphs): does the reference's
drift explain how far the whole-graph latencies moved?  It prints the
reference measurements, the Spearman rho between ln(ref_ms / fastest
reference) and ln(second / dataset) over the graphs, and the spread (standard
deviation) of ln(second / dataset) before and after dividing each graph's
latency by its reference drift; once over all graphs, once without those
whose reference is the run's first measurement (a possible cold start).
"""
import argparse
import csv
import gzip
import io
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import dataset_tables  # noqa: E402  (the one reader of a dataset's labels)
from evalcommon import spearman  # noqa: E402  (bench/ is first on sys.path)


def read_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        text = f.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def stats(pairs):
    """pairs: (dataset value, second value), both > 0."""
    ref = np.array([p[0] for p in pairs])
    r = np.array([p[1] for p in pairs]) / ref
    return {"n": len(r), "median": float(np.median(r)), "p10": float(np.percentile(r, 10)),
            "p90": float(np.percentile(r, 90)), "mean_abs_ln": float(np.mean(np.abs(np.log(r)))),
            "within10": float(np.mean(np.abs(r - 1) <= 0.1))}


def reference_drift(runlog, whole_pairs):
    """Prints how the second run's reference drift relates to its whole-graph
    latencies' ratios.  whole_pairs: {graph: (dataset ms, second ms)}."""
    opener = gzip.open if runlog.endswith(".gz") else open
    try:
        with opener(runlog, "rt", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as e:
        print("compare_labels: %s: %s" % (runlog, e), file=sys.stderr)
        return 1
    recs = []
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            if k == len(lines) - 1:     # a run killed while writing its last record
                print("compare_labels: %s: last line cut short: skipped" % runlog, file=sys.stderr)
                continue
            print("compare_labels: %s: line %d: %s" % (runlog, k + 1, e), file=sys.stderr)
            return 1
    refs = [r for r in recs if r.get("type") == "reference" and r.get("ms", 0) > 0]
    if not refs:
        print("%s: no reference measurements (a run before the reference check, or --ref-every 0)" % runlog)
        return 1
    ms = np.array([r["ms"] for r in refs])
    fastest = ms.min()
    print("reference %s: %d measurements; ms after graphs %s" % (
        refs[0]["graph"], len(refs), ", ".join("%d: %.3f" % (r["after"], r["ms"]) for r in refs)))
    x, y, first = [], [], []
    seen_refs = 0
    for r in recs:
        if r.get("type") == "reference":
            seen_refs += 1
        elif r.get("type") == "result" and r.get("ref_ms") and r.get("graph") in whole_pairs:
            v, w = whole_pairs[r["graph"]]
            x.append(np.log(r["ref_ms"] / fastest))
            y.append(np.log(w / v))
            first.append(seen_refs <= 1)
    if len(x) < 3:
        print("fewer than 3 graphs with both a reference and a dataset label")
        return 1
    x, y, first = np.array(x), np.array(y), np.array(first)
    for name, keep in (("all graphs", np.ones(len(x), bool)), ("after the first reference", ~first)):
        if keep.sum() < 3:
            continue
        xs, ys = x[keep], y[keep]
        with np.errstate(invalid="ignore", divide="ignore"):    # constant ranks: rho is NaN
            rho = spearman(xs, ys)
        print("%s (%d): Spearman rho(ln ref drift, ln second/dataset) %.3f; sd of ln second/dataset %.3f, "
              "after dividing by the reference drift %.3f" % (name, len(xs), rho, ys.std(),
                                                             (ys - xs).std()))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("labels")
    ap.add_argument("--device", help="device in both (default: the dataset's only device)")
    ap.add_argument("--min-ms", type=float, default=0.05,
                    help="node rows also summarised over dataset labels >= this (default 0.05 ms)")
    ap.add_argument("--runlog", help="the second run's runlog.jsonl[.gz]: relate its reference drift to the "
                                     "whole-graph latency ratios")
    a = ap.parse_args(argv)
    try:
        rows, _, dev_rows = dataset_tables.read_tables(a.dataset)
    except dataset_tables.TableError as e:
        ap.exit(1, "compare_labels: %s\n" % e)
    devices = [r[0] for r in dev_rows]
    if a.device is None and len(devices) != 1:
        ap.error("the dataset has %d devices: name one with --device" % len(devices))
    dev = a.device or devices[0]
    if dev not in devices:
        ap.error("device %r not in %s (%s)" % (dev, a.dataset, ", ".join(devices)))
    # measured labels of the dataset, by (level, target, graph, node)
    ref = {("node" if n else "graph", t, g, n): float(v) for g, n, d, t, v, _ in rows if d == dev}
    pairs, missing = {}, 0
    whole = {}                      # graph: (dataset, second) whole-graph latency, for --runlog
    for r in read_rows(a.labels):
        if r["device"] != dev:
            continue
        level = "node" if r["node"] else "graph"
        v = ref.get((level, r["target"], r["graph"], r["node"]))
        if v is None:
            missing += 1
            continue
        w = float(r["value"])
        if v > 0 and w > 0:
            pairs.setdefault((level, r["target"]), []).append((v, w))
            if level == "graph" and r["target"] == "latency_ms":
                whole[r["graph"]] = (v, w)
    print("%s vs %s, device %s (%d rows without a measured dataset label skipped)" % (a.labels, a.dataset, dev, missing))
    print("%-6s %-14s %-10s %7s %7s %7s %7s %8s %8s" % ("level", "target", "subset", "n", "median",
                                                      "p10", "p90", "|ln| avg", "in +-10%"))
    for (level, t), p in sorted(pairs.items()):
        subsets = [("all", p)]
        if level == "node" and t == "latency_ms":
            subsets.append((">=%gms" % a.min_ms, [q for q in p if q[0] >= a.min_ms]))
        for name, q in subsets:
            if not q:
                continue
            s = stats(q)
            print("%-6s %-14s %-10s %7d %7.3f %7.3f %7.3f %8.3f %7.1f%%" % (
                level, t, name, s["n"], s["median"], s["p10"], s["p90"], s["mean_abs_ln"],
                100 * s["within10"]))
    if a.runlog:
        return reference_drift(a.runlog, whole)
    return 0


if __name__ == "__main__":
    sys.exit(main())
