#!/usr/bin/python3
"""Few-shot transfer the simple way: a ridge regression head on graph embeddings.

The other route next to gnnadapt: export graph embeddings with
`gnnpredict MODEL.h5 DATA.h5 --embeddings emb.h5`, then fit
ln(latency) = w . embedding + b on K measured graphs of the new device and
report accuracy on that device's other labelled graphs, with the metrics
gnnperf uses (MAPE, RMSE of log, Spearman rho, Kendall tau, share within
5% and 10%).

    ridge_head.py EMB.h5 DATA.h5 --device NAME [--target latency_ms] [--shots 10] [--seed 1] [--alpha 1.0]

Labels come from DATA.h5 (the gnnperf dataset the embeddings were made
from); graphs are matched by name.
"""
import argparse
import sys

import h5py
import numpy as np


def load_labels(path, device, target):
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["graphs/names"][()]]
        devices = [n.decode() if isinstance(n, bytes) else n for n in f["devices/names"][()]]
        if device not in devices:
            sys.exit(f"ridge_head.py: {path}: no device '{device}' (known: {', '.join(devices)})")
        key = f"labels/graph/{target}"
        if key not in f:
            sys.exit(f"ridge_head.py: {path}: no per-graph target '{target}'")
        y = f[key][:, devices.index(device)]
    return dict(zip(names, y))


def rank(v):
    order = np.argsort(v, kind="mergesort")
    r = np.empty(len(v))
    r[order] = np.arange(len(v))
    # average ranks over ties
    vals, inv = np.unique(v, return_inverse=True)
    sums = np.bincount(inv, weights=r)
    counts = np.bincount(inv)
    return (sums / counts)[inv]


def kendall_tau_b(a, b):
    n = len(a)
    conc = disc = ties_a = ties_b = 0
    for i in range(n):
        da = np.sign(a[i + 1:] - a[i])
        db = np.sign(b[i + 1:] - b[i])
        prod = da * db
        conc += np.sum(prod > 0)
        disc += np.sum(prod < 0)
        ties_a += np.sum((da == 0) & (db != 0))
        ties_b += np.sum((db == 0) & (da != 0))
    den = np.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))
    return (conc - disc) / den if den else float("nan")


def metrics(pred, y):
    r = pred / y - 1
    return {
        "n": len(y),
        "mape": 100 * np.mean(np.abs(r)),
        "rmse_log": float(np.sqrt(np.mean((np.log(pred) - np.log(y)) ** 2))),
        "spearman": float(np.corrcoef(rank(pred), rank(y))[0, 1]),
        "kendall": float(kendall_tau_b(pred, y)),
        "within5": 100 * np.mean(np.abs(r) <= 0.05),
        "within10": 100 * np.mean(np.abs(r) <= 0.10),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("embeddings")
    ap.add_argument("dataset")
    ap.add_argument("--device", required=True)
    ap.add_argument("--target", default="latency_ms")
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--alpha", type=float, default=1.0, help="ridge penalty on the standardised embeddings")
    a = ap.parse_args()

    with h5py.File(a.embeddings, "r") as f:
        if f.attrs.get("format") != "gnnperf-embeddings":
            sys.exit(f"ridge_head.py: {a.embeddings}: not a gnnperf-embeddings file")
        names = [n.decode() if isinstance(n, bytes) else n for n in f["graphs/names"][()]]
        X = f["graphs/embeddings"][()].astype(np.float64)
    labels = load_labels(a.dataset, a.device, a.target)
    keep = [i for i, n in enumerate(names) if n in labels and np.isfinite(labels[n]) and labels[n] > 0]
    if len(keep) <= a.shots:
        sys.exit(f"ridge_head.py: only {len(keep)} labelled graphs for '{a.device}'; need more than --shots {a.shots}")
    X = X[keep]
    y = np.array([labels[names[i]] for i in keep], dtype=np.float64)
    rng = np.random.default_rng(a.seed)
    perm = rng.permutation(len(y))
    tr, te = perm[: a.shots], perm[a.shots:]
    mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-8
    Z = (X - mu) / sd
    t = np.log(y)
    A = np.c_[Z[tr], np.ones(len(tr))]
    reg = a.alpha * np.eye(A.shape[1])
    reg[-1, -1] = 0.0  # never shrink the intercept
    w = np.linalg.solve(A.T @ A + reg, A.T @ t[tr])
    pred = np.exp(np.c_[Z[te], np.ones(len(te))] @ w)
    m = metrics(pred, y[te])
    print(f"ridge head on graph embeddings, {a.device}: {a.shots} shots, {m['n']} test graphs")
    print("  MAPE {mape:.2f}%  RMSElog {rmse_log:.4f}  rho {spearman:.4f}  tau {kendall:.4f}  "
          "<=5% {within5:.1f}%  <=10% {within10:.1f}%".format(**m))


if __name__ == "__main__":
    main()
