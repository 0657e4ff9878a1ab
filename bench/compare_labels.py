#!/usr/bin/python3
"""compare_labels: how far a second profiling run's labels lie from a packed
dataset's, graph by graph and node by node (same graph and node names).

A dataset's labels are only as good as they repeat: this is the ceiling any
predictor scored on them meets.  For each target and level present in both,
it prints the ratio second / dataset (median, p10, p90), the mean |ln ratio|,
and the share of labels within +-10 % (nodes: also only those whose dataset
label is at least --min-ms).

usage: bench/compare_labels.py DATASET.h5 LABELS.csv[.gz] [--device D] [--min-ms 0.05]

LABELS is a label table (docs/label-table.md), for example a profiler run's
latency/labels.csv; rows of graphs or nodes the dataset lacks are counted
and skipped.
"""
import argparse
import csv
import gzip
import io
import sys

import h5py
import numpy as np


def _strings(ds):
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in ds[()]]


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("labels")
    ap.add_argument("--device", help="device in both (default: the dataset's only device)")
    ap.add_argument("--min-ms", type=float, default=0.05,
                    help="node rows also summarised over dataset labels >= this (default 0.05 ms)")
    a = ap.parse_args(argv)
    with h5py.File(a.dataset, "r") as f:
        graphs = _strings(f["graphs/names"])
        offsets = f["graphs/node_offsets"][()]
        nodes = _strings(f["nodes/names"])
        devices = _strings(f["devices/names"])
        if a.device is None and len(devices) != 1:
            ap.error("the dataset has %d devices: name one with --device" % len(devices))
        dev = a.device or devices[0]
        if dev not in devices:
            ap.error("device %r not in %s (%s)" % (dev, a.dataset, ", ".join(devices)))
        d = devices.index(dev)
        labels = {}
        for level in ("node", "graph"):
            for t in f.get("labels/" + level, {}):
                labels[(level, t)] = f["labels/%s/%s" % (level, t)][:, d]
    gi = {g: i for i, g in enumerate(graphs)}
    node_index = {}
    pairs, missing = {}, 0
    for r in read_rows(a.labels):
        if r["device"] != dev:
            continue
        level = "node" if r["node"] else "graph"
        ref = labels.get((level, r["target"]))
        g = gi.get(r["graph"])
        if ref is None or g is None:
            missing += 1
            continue
        if level == "node":
            if g not in node_index:
                node_index[g] = {nodes[j]: j for j in range(offsets[g], offsets[g + 1])}
            row = node_index[g].get(r["node"])
            if row is None:
                missing += 1
                continue
        else:
            row = g
        v, w = float(ref[row]), float(r["value"])
        if np.isfinite(v) and v > 0 and w > 0:
            pairs.setdefault((level, r["target"]), []).append((v, w))
    print("%s vs %s, device %s (%d rows without a match skipped)" % (a.labels, a.dataset, dev, missing))
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
