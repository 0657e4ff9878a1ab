#!/usr/bin/python3
"""Fixed blend shares of gnnadapt's heads and stack on HELP's few-shot draws.

What gnnadapt --method blend chooses by cross-validation, measured from the
outside: for every draw of a HELP protocol, gnnadapt adapts the source model
with --method heads and with --method stack, gnnpredict predicts the query
set with both, and the script scores the geometric blends
w * ln(heads) + (1 - w) * ln(stack) for w in {0, 0.25, 0.5, 0.75, 1}
(Spearman rho, mean of the draws, per device). w = 0 is the stack, 1 the
heads; the best w per device, known in hindsight, bounds what choosing a
share can gain.

    bench/eval_blend_shares.py nb201|fbnet [--shots 10] [--draws 10] [--anchor A] [--work DIR]

Needs the protocol's source model and dataset: run bench/eval_help_nb201.py
--anchor 0.1 --threads 1 (out/help_nb201) or bench/eval_help_fbnet.py
(out/help_fbnet) first. The draws are the protocols' own. gnnadapt runs
with --seed 0 (the protocols use the draw number; only the heads' step
order differs).
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evalcommon import ROOT, middle80, shot_picks, spearman  # noqa: E402

SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("protocol", choices=("nb201", "fbnet"))
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--anchor", type=float, default=None, help="heads --anchor (default: 0.1 for nb201, 0 for fbnet)")
    ap.add_argument("--work", default=None)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    if a.protocol == "nb201":
        import eval_help_nb201 as E
        src = os.path.join(ROOT, "out", "help_nb201")
        model, ds = os.path.join(src, "source.h5"), os.path.join(src, "nb201.h5")
        pool_r, query_r, name = range(0, 900), range(900, 1900), (lambda i: f"nb201_{i}")
        split, idcol = ("help_nb201", "nb201_splits_help.json"), "arch_index"
        lat_file = ("help_nb201", "nb201_latency_wide.csv")
        anchor = 0.1 if a.anchor is None else a.anchor
    else:
        import eval_help_fbnet as E
        src = os.path.join(ROOT, "out", "help_fbnet")
        model, ds = os.path.join(src, "source.h5"), os.path.join(src, "fbnet.h5")
        pool_r, query_r, name = E.POOL, E.QUERY, E.name
        split, idcol = ("help_fbnet", "fbnet_splits_help.json"), "arch_id"
        lat_file = ("help_fbnet", "fbnet_latency_wide.csv")
        anchor = 0.0 if a.anchor is None else a.anchor
    for f in (model, ds):
        if not os.path.exists(f):
            sys.exit(f"eval_blend_shares: {f} is missing: run bench/eval_help_{a.protocol}.py first")
    d = E.data_dir()
    work = a.work or os.path.join(src, "blend_shares")
    os.makedirs(work, exist_ok=True)
    refs = json.load(open(os.path.join(d, *split)))["hardware_embedding_index"]
    lat = {int(r[idcol]): {dv: float(r[dv]) for dv in E.TEST} for r in csv.DictReader(open(os.path.join(d, *lat_file)))}
    build = os.path.join(ROOT, "build")

    def adapt_predict(method, dev, shots, tag, extra=()):
        ck, out = os.path.join(work, tag + ".h5"), os.path.join(work, tag + ".csv")
        subprocess.run([os.path.join(build, "gnnadapt"), model, ds, "--device", dev, "-o", ck, "--shot-graphs",
                        ",".join(shots), "-q", "--threads", str(a.threads), "--seed", "0", "--method", method, *extra],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([os.path.join(build, "gnnpredict"), ck, ds, "--device", dev, "--format", "csv", "-o", out, "-q",
                        "--threads", str(a.threads)], check=True)
        return {r["graph"]: math.log(float(r["predicted"])) for r in csv.DictReader(open(out))
                if not r["node"] and r["target"] == "latency_ms"}

    rho = {}
    for dev in E.TEST:
        lat_d = {i: lat[i][dev] for i in lat}
        # the protocols' own draws (eval_help_nb201.py / eval_help_fbnet.py)
        pool = middle80(pool_r, lat_d)
        query = middle80(query_r, lat_d)
        y = [lat_d[i] for i in query]
        for draw in range(a.draws):
            shots = [name(i) for i in shot_picks(pool, refs, dev, draw, a.shots)]
            ph = adapt_predict("heads", dev, shots, "heads", ("--anchor", str(anchor)))
            ps = adapt_predict("stack", dev, shots, "stack")
            for w in SHARES:
                r = spearman([w * ph[name(i)] + (1 - w) * ps[name(i)] for i in query], y)
                rho.setdefault((dev, w), []).append(r)
            print(f"{dev} draw {draw}: " + " ".join(f"{w}: {rho[(dev, w)][-1]:.3f}" for w in SHARES),
                  file=sys.stderr, flush=True)
    print(f"HELP {a.protocol} protocol, {a.shots} samples + 10 reference, mean Spearman rho of {a.draws} draws, "
          "blend w * ln(heads) + (1 - w) * ln(stack)")
    print("| heads share w | " + " | ".join(E.TEST) + " | mean |")
    print("|---" * (len(E.TEST) + 2) + "|")
    for w in SHARES:
        v = [float(np.mean(rho[(dev, w)])) for dev in E.TEST]
        print(f"| {w} | " + " | ".join(f"{x:.3f}" for x in v) + f" | {np.mean(v):.3f} |")
    best = [max(float(np.mean(rho[(dev, w)])) for w in SHARES) for dev in E.TEST]
    print("| best per device (hindsight) | " + " | ".join(f"{x:.3f}" for x in best) + f" | {np.mean(best):.3f} |")


if __name__ == "__main__":
    main()
