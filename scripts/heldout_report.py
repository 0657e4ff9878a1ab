#!/usr/bin/python3
"""Issue #6's accuracy figures for held-out models, from `gnnpredict --format csv`.

Per (model, device) with measurements:
  whole      predicted whole-model latency against measured, error %
  node sum   the sum of the predicted per-node latencies, error % against
             the measured whole-model latency (a second estimate)
  labels     sum of the measured per-node labels over the measured whole
             (how well the node labels add up: ~1 on a quiet machine)
  ops>=50us  share of ops measured at >= 50 us predicted within +-20 %
and a closing line per target: whole models within +-10 %, and per-node
within +-20 % for ops >= 50 us.

    heldout_report.py PREDICTIONS.csv [--target latency_ms] [--json OUT.json]
"""
import argparse
import collections
import csv
import json
import os
import sys

MIN_OP_MS = 0.05


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("predictions")
    ap.add_argument("--target", default="latency_ms")
    ap.add_argument("--json", help="also write the figures as JSON here")
    a = ap.parse_args()
    whole = {}
    nodes = collections.defaultdict(list)
    try:
        with open(a.predictions, newline="") as f:
            for r in csv.DictReader(f):
                if r["target"] != a.target:
                    continue
                key = (r["graph"], r["device"])
                p = float(r["predicted"])
                m = float(r["measured"]) if r["measured"] else None
                if r["node"]:
                    nodes[key].append((p, m))
                else:
                    whole[key] = (p, m)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"heldout_report.py: {a.predictions}: {e}")
    rows = []
    for key in sorted(whole):
        p, m = whole[key]
        if m is None or m <= 0:
            continue
        ns = nodes.get(key, [])
        psum = sum(x for x, _ in ns)
        msum = sum(y for _, y in ns if y is not None)
        big = [(x, y) for x, y in ns if y is not None and y >= MIN_OP_MS]
        ok = sum(1 for x, y in big if abs(x - y) <= 0.2 * y)
        rows.append({"graph": key[0], "device": key[1], "measured_ms": m, "predicted_ms": p,
                     "error_pct": 100.0 * (p - m) / m, "node_sum_pred_ms": psum,
                     "node_sum_error_pct": 100.0 * (psum - m) / m if ns else None,
                     "labels_sum_over_whole": msum / m if ns else None,
                     "ops_ge_50us": len(big), "ops_within_20pct": ok})
    if not rows:
        sys.exit(f"heldout_report.py: {a.predictions}: no measured whole-graph '{a.target}' rows")
    print("%-22s %-18s %10s %10s %8s %10s %8s %8s %12s" % ("model", "device", "measured", "predicted", "error",
                                                           "node sum", "error", "labels", "ops>=50us"))
    for r in rows:
        print("%-22s %-18s %8.2fms %8.2fms %+7.1f%% %8.2fms %s %8s %5d: %3.0f%%" % (
            r["graph"], r["device"], r["measured_ms"], r["predicted_ms"], r["error_pct"], r["node_sum_pred_ms"],
            "%+7.1f%%" % r["node_sum_error_pct"] if r["node_sum_error_pct"] is not None else "       -",
            "%.3f" % r["labels_sum_over_whole"] if r["labels_sum_over_whole"] is not None else "-",
            r["ops_ge_50us"], 100.0 * r["ops_within_20pct"] / max(1, r["ops_ge_50us"])))
    n_ok = sum(1 for r in rows if abs(r["error_pct"]) <= 10)
    big = sum(r["ops_ge_50us"] for r in rows)
    big_ok = sum(r["ops_within_20pct"] for r in rows)
    lab = [r for r in rows if r["labels_sum_over_whole"] is not None]
    lab_ok = sum(1 for r in lab if abs(r["labels_sum_over_whole"] - 1) <= 0.10)
    print("whole models within +-10%%: %d of %d (target: all)" % (n_ok, len(rows)))
    print("ops >= 50 us within +-20%%: %d of %d = %.0f%% (target: all)" % (big_ok, big, 100.0 * big_ok / max(1, big)))
    print("node labels summing to within 10%% of the measured whole: %d of %d" % (lab_ok, len(lab)))
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump({"rows": rows, "whole_within_10": n_ok, "models": len(rows), "ops_ge_50us": big,
                       "ops_within_20": big_ok, "labels_sum_within_10": lab_ok}, f, indent=1)
        os.replace(a.json + ".tmp", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
