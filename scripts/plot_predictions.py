#!/usr/bin/python3
"""Predicted against measured cost, as a PNG, from `gnnpredict --format csv`.

Left: every labelled op (per-node target), log-log, with the +-20% band.
Right: whole graphs (per-graph target) with the +-10% band, one colour per
device. Rows without a measurement are skipped.

    plot_predictions.py PREDICTIONS.csv OUT.png [--title TEXT] [--target latency_ms]
"""
import argparse
import csv
import math
import os
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("predictions")
    ap.add_argument("output")
    ap.add_argument("--title", default="gnnperf: predicted vs measured")
    ap.add_argument("--target", default="latency_ms")
    a = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes, graphs = {}, {}
    with open(a.predictions, newline="") as f:
        for r in csv.DictReader(f):
            if r["target"] != a.target or not r["measured"]:
                continue
            p, m = float(r["predicted"]), float(r["measured"])
            if p <= 0 or m <= 0:
                continue
            (nodes if r["node"] else graphs).setdefault(r["device"], []).append((m, p))
    if not nodes and not graphs:
        sys.exit(f"plot_predictions.py: {a.predictions}: no measured '{a.target}' rows to plot")

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, data, band, what in ((axes[0], nodes, 0.2, "ops"), (axes[1], graphs, 0.1, "whole graphs")):
        pts = [v for vals in data.values() for v in vals]
        if not pts:
            ax.set_title(f"{what}: no labels")
            ax.axis("off")
            continue
        lo = min(min(m, p) for m, p in pts) / 1.5
        hi = max(max(m, p) for m, p in pts) * 1.5
        xs = [lo, hi]
        ax.plot(xs, xs, color="black", lw=1)
        ax.fill_between(xs, [x * (1 - band) for x in xs], [x * (1 + band) for x in xs], color="grey", alpha=0.2,
                        label=f"+-{int(band * 100)}%")
        for dev, vals in sorted(data.items()):
            within = sum(abs(p / m - 1) <= band for m, p in vals) / len(vals)
            ax.scatter([m for m, _ in vals], [p for _, p in vals], s=8 if what == "ops" else 30, alpha=0.6,
                       label=f"{dev}: {100 * within:.0f}% within +-{int(band * 100)}% (n={len(vals)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel(f"measured {a.target}")
        ax.set_ylabel(f"predicted {a.target}")
        ax.set_title(what)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(a.title)
    fig.tight_layout()
    # Atomic: render to a temporary file beside the output, then rename.
    d = os.path.dirname(os.path.abspath(a.output))
    fd, tmp = tempfile.mkstemp(prefix=".plot.", suffix=".png", dir=d)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.chmod(tmp, 0o644)
        os.replace(tmp, a.output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


if __name__ == "__main__":
    main()
