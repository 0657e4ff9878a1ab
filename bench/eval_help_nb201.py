#!/usr/bin/python3
"""HELP's NAS-Bench-201 few-shot protocol, run with gnnperf, beside the published table.

Protocol (../shared/data/README.md, help_nb201/nb201_splits_help.json):
source devices train the model on the meta-training pool (arch 0..899,
here 0..799 train and 800..899 validation), each device on its own middle
80% by latency, as HELP's loader keeps them; for each test device, 10 random
pool archs from the middle 80% by latency on that device (the reference
archs excluded) plus HELP's 10 reference archs adapt it (gnnadapt, each --method in turn), and Spearman rho
is measured on the query set (arch 900..1899, middle 80% on that device);
averaged over 10 random draws. Also at 5 and 20 samples, and the FLOPs
baseline (rank of total FLOPs, from the C cost model's feature column).

    bench/eval_help_nb201.py [--work DIR] [--draws 10] [--shots 5,10,20] [--epochs 40] [--method heads,stack,blend@10]

Needs ../shared/data (or $GNNPERF_SHARED/data) and a build (build/).
"""
import argparse
import csv
import json
import os
import sys

import h5py
import numpy as np

from evalcommon import (ROOT, add_fewshot_args, featurizer_version, fewshot_methods, fewshot_scores, middle80, shot_picks,
                        source_labels_middle80, spearman, tool_hash)
from evalcommon import data_dir as _data_dir
from evalcommon import run as _run

SOURCE = ["1080ti_1", "1080ti_32", "1080ti_256", "silver_4114", "silver_4210r", "samsung_a50", "pixel3",
          "essential_ph_1", "samsung_s7"]
TEST = ["titan_rtx_256", "gold_6226", "fpga", "pixel2", "raspi4", "eyeriss"]
PUBLISHED = {  # Spearman rho on the test devices, in TEST order, then the mean
    "HELP (10 samples)": [0.987, 0.989, 0.802, 0.890, 0.940, 0.985, 0.932],
    "FLOPs": [0.950, 0.826, 0.765, 0.846, 0.437, 0.900, 0.787],
    "BRP-NAS (900 samples)": [0.814, 0.796, 0.666, 0.847, 0.811, 0.801, 0.789],
}


PROG = "eval_help_nb201"


def data_dir():
    return _data_dir(PROG, "help_nb201")


def run(cmd, **kw):
    return _run(PROG, cmd, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_fewshot_args(ap, os.path.join(ROOT, "out", "help_nb201"))
    a = ap.parse_args()
    methods = fewshot_methods(PROG, a)
    shots_list = [int(s) for s in a.shots.split(",")]
    d = data_dir()
    os.makedirs(a.work, exist_ok=True)
    refs = json.load(open(os.path.join(d, "help_nb201", "nb201_splits_help.json")))["hardware_embedding_index"]
    idx = sorted(set(range(1900)) | set(refs))
    ds = os.path.join(a.work, "nb201.h5")
    if not os.path.exists(ds):
        print("importing archs 0..1899 and the reference archs", file=sys.stderr)
        run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "import_nb201.py"), "--data", d, "--out-dir", a.work,
             "--indices", ",".join(map(str, idx)), "--pack", "--gnndata", os.path.join(ROOT, "build", "gnndata")])
    lat = {}
    with open(os.path.join(d, "help_nb201", "nb201_latency_wide.csv")) as f:
        for r in csv.DictReader(f):
            i = int(r["arch_index"])
            if i in set(idx):
                lat[i] = {k: float(v) for k, v in r.items() if k != "arch_index"}
    with h5py.File(ds, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["graphs/names"][()]]
        pos = {n: k for k, n in enumerate(names)}
    name = lambda i: f"nb201_{i}"
    row = lambda i: pos[name(i)]

    # The source devices' labels on their own middle 80 % of the pool only, as HELP trains them.
    src_ds = os.path.join(a.work, "nb201_source.h5")
    source_labels_middle80(PROG, ds, src_ds, SOURCE,
                           {dev: [row(i) for i in middle80(range(900), {i: lat[i][dev] for i in lat})]
                            for dev in SOURCE})
    model = os.path.join(a.work, "source.h5")
    gnntrain = os.path.join(ROOT, "build", "gnntrain")
    cmd = [gnntrain, src_ds, "-o", model, "--epochs", str(a.epochs),
           "--patience", "15", "--threads", str(a.threads), "-q",
           "--train-range", f"{row(0)}-{row(799)}", "--val-range", f"{row(800)}-{row(899)}"]
    for dev in SOURCE:
        cmd += ["--device", dev]
    stamp_path = os.path.join(a.work, "source.cmd.json")
    stamp = {"cmd": cmd, "featurizer": featurizer_version(), "gnntrain": tool_hash(gnntrain),
             "labels": open(src_ds + ".stamp").read().strip()}
    if not (os.path.exists(model) and os.path.exists(stamp_path) and json.load(open(stamp_path)) == stamp):
        print(f"training on the {len(SOURCE)} source devices, each on its middle 80 % of pool 0..899", file=sys.stderr)
        run(cmd)
        json.dump(stamp, open(stamp_path, "w"))
    else:
        print(f"reusing {model} (same command, labels, featurizer and gnntrain build)", file=sys.stderr)

    # FLOPs from the C cost model: column log_flops of the cached features.
    with h5py.File(ds, "r") as f:
        cols = [c.decode() if isinstance(c, bytes) else c for c in f["nodes/features"].attrs["column_names"]]
        lf = f["nodes/features"][:, cols.index("log_flops")]
        off = f["graphs/node_offsets"][()]
    # rounded: archs with the same FLOPs must tie, not differ by the summation order's last bit
    flops = np.array([float(f"{x:.9g}") for x in np.add.reduceat(10.0 ** lf.astype(np.float64) - 1.0, off[:-1])])

    results = {}
    for dev in TEST:
        lat_d = {i: lat[i][dev] for i in lat}
        pool = middle80(range(900), lat_d)
        query = middle80(range(900, 1900), lat_d)
        results.setdefault("FLOPs (gnnperf cost model)", []).append(
            spearman([flops[row(i)] for i in query], [lat_d[i] for i in query]))
        picks = lambda draw, k, pool=pool, dev=dev: shot_picks(pool, refs, dev, draw, k)
        fewshot_scores(PROG, a, methods, shots_list, model, ds, dev, picks, query, name, results)

    print("HELP NAS-Bench-201 protocol, Spearman rho on the query set (middle 80%), mean of draws")
    print("| method | " + " | ".join(TEST) + " | mean |")
    print("|---" * (len(TEST) + 2) + "|")
    for label, vals in list(results.items()) + [(f"{k} (published)", v[:-1]) for k, v in PUBLISHED.items()]:
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {np.mean(vals):.3f} |")
    json.dump(results, open(os.path.join(a.work, "results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
