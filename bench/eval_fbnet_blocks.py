#!/usr/bin/python3
"""FBNet per-node protocol: latency and energy of blocks whose configuration was never trained on.

Issue: "FBNet per-node: latency and energy of blocks with configurations
unseen in training, per device, share within +-10%. Target: >= 95% within
+-10% on every device."

Data: HW-NAS-Bench's FBNet block table (../shared/data/help_fbnet/
hwnasbench_fbnet_block_lut.csv) as scripts/import_fbnet.py puts it on the
graph nodes: latency_ms on edgegpu, raspi4, pixel3, eyeriss, fpga and
energy_mj on edgegpu, eyeriss, fpga (8 device/target pairs). A block (26 per
network: stem, 22 layers, header, pool, FC) is several graph nodes but has one
table value; the importer puts it on ONE node, the block's first node that is
not a view (the 1x1 expansion conv of a ConvBlock, the conv of the stem,
header and of a shape-changing skip, the pool, the FC's linear), the "anchor",
which carries meta.block_key. The other nodes of the block have no label.
Identity skips (Cin == Cout, stride 1) have no node and no label.

Protocol:
 1. Import the archs --archs (default 0-1999) with scripts/import_fbnet.py
    into WORK/import (graphs.jsonl, labels.csv; reused when the same command
    made it).
 2. Configurations = the distinct block_key values of the anchor nodes
    (type, H, W, Cin, Cout, expansion, kernel, stride, groups). With --seed,
    a random --holdout-frac (0.2) of them is held out. The draw is from the
    searchable layers' configurations (ConvBlock and non-identity Skip); the
    stem, header, pool and FC are one configuration each, at the same place
    in every network, and each is the only configuration of its type, so
    holding one out would test an op type never labelled at all (a linear or
    pool node), not an unseen configuration; they stay in training unless
    --include-fixed puts them in the draw.
 3. WORK/labels.csv = the importer's per-node labels without every label of
    a node whose configuration is held out, on every device and target: they
    are never trained on nor validated on. No whole-network labels at all:
    on raspi4, pixel3, eyeriss and fpga the whole-network value is exactly
    the sum of its blocks, so a network label minus its seen blocks would
    give away the held-out blocks' sum; the 27 HELP settings say nothing
    about the block devices either. gnntrain also gets --no-graph-targets.
    Packed with build/gnndata pack into WORK/blocks.h5 (no device table:
    the importer's only descriptor, batch, is empty on these 5 devices).
 4. One build/gnntrain model on the node targets latency_ms and energy_mj of
    the 5 devices; random 10% of the networks (seed --seed) validate for
    early stopping (patience 15), the rest train; no test part (the test is
    step 5). --layers (default 7, gnntrain's default is 3): the node head
    reads only the anchor's own embedding, which sees --layers hops; from
    the expansion conv the depthwise conv (kernel, stride) is 3 hops away,
    4 behind a grouped block's channel shuffle, and the projection conv
    (Cout, groups) 6 or 7, so with 3 layers blocks that differ only in the
    kernel of a grouped block, or only in Cout (last layer of a stage vs the
    first of the next) look identical to the head. The script prints the
    hop count it finds in the graphs and warns when --layers is below it.
 5. build/gnnpredict --format csv on WORK/blocks.h5 (all imported networks);
    the anchor rows are kept in WORK/anchor_predictions.csv.
 6. Scores per device and target, on the held-out configurations' anchor
    nodes whose label is > 0 (fpga's table is 0 for every non-ConvBlock row,
    so held-out Skip configurations are not scored on fpga: a relative error
    of a 0 label is undefined; the counts are printed):
      - per configuration (the headline, compared with the target): each
        distinct held-out configuration counted once, its prediction the
        geometric mean of the predictions of all its nodes (the same block
        in different networks has the same label, but the GNN sees a
        different neighbourhood); share within +-10%, MAPE, Spearman rho.
      - per node: every held-out node occurrence counted (frequent
        configurations weigh more); same metrics.
      - gnnperf on the seen (training) configurations, per configuration,
        as an in-sample reference.
    Baselines, per device and target, fitted with numpy lstsq on the seen
    configurations (one row each, label > 0) and scored like the GNN per
    configuration: log(label) = a + b log(1 + FLOPs) + c log(1 + bytes),
    FLOPs and bytes (in + out + parameters) from the C cost model (the
    log_flops and log_bytes_* feature columns of the packed dataset), once
    for the block (sum over its nodes) and once for the anchor node alone.

 7. Block graphs (--block-ensemble N, default 5; 0 skips): a block's table
    value depends on the block alone, while the node head above sees the
    networks around it (its predictions of one configuration differ between
    networks, see the spread printed last). scripts/import_fbnet.py --blocks
    builds every row of the block table (the CIFAR layout's and the ImageNet
    layout's, 213 rows with computation) as a graph of its own with the
    row's values as graph labels. The held-out configurations' rows and
    labels equal to 0 are removed; 10 % of the remaining ConvBlock and Skip
    rows validate (the 9 stem, header, pool and FC rows always train). N
    gnntrain seeds (--block-epochs 600, batch 8, no weight decay, graph
    targets only) each predict every block graph; the held-out rows'
    predictions, averaged in log space over the seeds, are scored like the
    per-configuration row of step 6, and the target is checked on them.

 8. Baselines on the block table (with step 7): ridge, XGBoost and a
    Gaussian process (ARD RBF kernel plus noise, fitted by marginal
    likelihood) per device and target on log(label), trained on the same
    block-table rows as step 7 (its validation rows choose ridge's alpha and
    XGBoost's rounds, then join the fit); features: the block type, log H,
    log Cin, log Cout, expansion, kernel, stride, groups and the block
    graph's log FLOPs and log bytes from the C cost model. Scored like step
    7 on the held-out configurations.

Writes results.json in --work (all metrics, the held-out configurations with
label, prediction and spread of their node predictions) and prints the tables
with the issue's target beside them.

    bench/eval_fbnet_blocks.py [--work DIR] [--archs 0-1999] [--holdout-frac 0.2] [--seed 1]
                               [--epochs 60] [--layers 7] [--threads N] [--include-fixed]
                               [--block-ensemble 5] [--block-epochs 600]

Needs ../shared/data (or $GNNPERF_SHARED/data), a build (build/gnndata,
gnntrain, gnnpredict) and, for step 8, Debian's python3-sklearn and
python3-xgboost.
"""
import argparse
import csv
import importlib.util
import json
import os
import random
import re
import shlex
import subprocess
import sys
import warnings

import h5py
import numpy as np

from evalcommon import ROOT, featurizer_version, fit_ridge, fit_xgboost, spearman, tool_hash
from evalcommon import data_dir as _data_dir
from evalcommon import run as _run

PROG = "eval_fbnet_blocks"
PAIRS = [("edgegpu", "latency_ms"), ("edgegpu", "energy_mj"), ("raspi4", "latency_ms"), ("pixel3", "latency_ms"),
         ("eyeriss", "latency_ms"), ("eyeriss", "energy_mj"), ("fpga", "latency_ms"), ("fpga", "energy_mj")]
DEVICES = ["edgegpu", "raspi4", "pixel3", "eyeriss", "fpga"]
FIXED_TYPES = ("ConvNorm", "AvgP", "FC")     # stem and header are ConvNorm
TARGET = 95.0                                 # % within +-10%, every device
VAL_FRAC = 0.1


def data_dir():
    return _data_dir(PROG, "help_fbnet")


def tool(name):
    p = os.path.join(ROOT, "build", name)
    if not os.access(p, os.X_OK):
        sys.exit(f"{PROG}: {p} is missing: build the project first (cmake -S . -B build && cmake --build build)")
    return p


def run(cmd):
    return _run(PROG, cmd)


def parse_archs(spec):
    out = set()
    for part in spec.replace("..", "-").split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            sys.exit(f"{PROG}: --archs {spec!r}: expected N or N-M with N <= M, comma-separated")
        lo = int(m.group(1))
        out.update(range(lo, int(m.group(2) or lo) + 1))
    if not out or max(out) > 4999:
        sys.exit(f"{PROG}: --archs {spec!r}: FBNet arch ids are 0..4999")
    return sorted(out)


def metrics(pred, true):
    pred, true = np.asarray(pred, dtype=float), np.asarray(true, dtype=float)
    if len(true) == 0:
        return {"n": 0, "within10": float("nan"), "within5": float("nan"), "mape": float("nan"),
                "spearman": float("nan")}
    rel = np.abs(pred / true - 1.0)
    return {"n": int(len(true)), "within10": float(100 * np.mean(rel <= 0.10)),
            "within5": float(100 * np.mean(rel <= 0.05)), "mape": float(100 * np.mean(rel)),
            "spearman": spearman(pred, true)}


def stamped(path, stamp, what):
    """True when path exists and was made by the same stamp (so it is reused)."""
    sp = path + ".cmd.json"
    if os.path.exists(path) and os.path.exists(sp):
        try:
            if json.load(open(sp)) == stamp:
                print(f"reusing {what} {path}", file=sys.stderr)
                return True
        except ValueError:
            pass
    return False


def stamp_write(path, stamp):
    json.dump(stamp, open(path + ".cmd.json", "w"))


def write_split(path, names, part_of):
    """gnntrain's --split-file: one line 'graph,part' per name; returns path."""
    with open(path, "w") as f:
        f.write("graph,part\n")
        for g in names:
            f.write(f"{g},{part_of(g)}\n")
    return path


def block_type(key):
    return key.split("_", 1)[0]


def block_graph_method(a, d, held, gnndata, gnntrain, gnnpredict):
    """Step 7 of the docstring: one graph per block-table row (import_fbnet.py --blocks), graph-level labels,
    the held-out configurations' rows removed; an ensemble of --block-ensemble gnntrain
    seeds. Returns {(key, device, target): geometric-mean prediction} for every block graph."""
    imp = os.path.join(a.work, "block_import")
    gj, lab = os.path.join(imp, "graphs.jsonl"), os.path.join(imp, "labels.csv")
    cmd = ["/usr/bin/python3", os.path.join(ROOT, "scripts", "import_fbnet.py"), "--blocks", "--data", d,
           "--out-dir", imp]
    if not (stamped(gj, cmd, "block import") and os.path.exists(lab)):
        print("importing the block table as one graph per block", file=sys.stderr)
        run(cmd)
        stamp_write(gj, cmd)
    rows = list(csv.DictReader(open(lab, newline="")))
    keys = sorted({r["graph"] for r in rows})
    missing = sorted(k for k in held if k not in keys)
    if missing:
        sys.exit(f"{PROG}: held-out configurations without a block graph: {missing[:3]}")
    # label 0 (fpga's non-ConvBlock rows, identity-like skips): no relative error, not trained on
    tables = {"train": lambda r: r["graph"] not in held and float(r["value"]) > 0,
              "all": lambda r: float(r["value"]) > 0}
    ds = {}
    for part, keep in tables.items():
        lp, ds[part] = os.path.join(a.work, f"block_labels_{part}.csv"), os.path.join(a.work, f"blocks_{part}.h5")
        with open(lp + ".tmp", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["graph", "node", "device", "target", "value", "unit"])
            for r in rows:
                if keep(r):
                    w.writerow([r[c] for c in ("graph", "node", "device", "target", "value", "unit")])
        os.replace(lp + ".tmp", lp)
        stamp = {"import": cmd, "held": sorted(held), "part": part}
        if not stamped(ds[part], stamp, "block dataset"):
            run([gnndata, "pack", "-o", ds[part], "--labels", lp, "--note",
                 f"{PROG}: FBNet block graphs, labels: {part} (seed {a.seed})", gj])
            stamp_write(ds[part], stamp)
    train = [k for k in keys if k not in held]
    # validation from the searchable blocks only: the 9 stem, header, pool and FC rows are the
    # only ones of their types, and a validation set holding them stops training on noise
    drawable = [k for k in train if block_type(k) not in FIXED_TYPES]
    val = set(random.Random(a.seed + 104729).sample(drawable, max(1, int(round(VAL_FRAC * len(drawable))))))
    split = write_split(os.path.join(a.work, "block_split.csv"), keys,
                        lambda k: "test" if k in held else "val" if k in val else "train")
    print(f"block graphs: {len(train) - len(val)} train / {len(val)} validation / {len(held)} held out; "
          f"{a.block_ensemble} seeds", file=sys.stderr)
    logp = {}
    for i in range(a.block_ensemble):
        seed = a.seed + i
        model = os.path.join(a.work, f"block_model_s{seed}.h5")
        tcmd = [gnntrain, ds["train"], "-o", model, "--split-file", split, "--no-node-targets", "-q",
                "--epochs", str(a.block_epochs), "--patience", str(max(20, a.block_epochs // 6)),
                "--batch", "8", "--weight-decay", "0", "--seed", str(seed), "--threads", str(a.threads)]
        tcmd += shlex.split(a.block_gnn_args)
        stamp = {"cmd": tcmd, "held": sorted(held), "val": sorted(val), "featurizer": featurizer_version(),
                 "gnntrain": tool_hash(gnntrain)}
        if not stamped(model, stamp, "block model"):
            run(tcmd)
            stamp_write(model, stamp)
        # the shared model, or with --block-finetune a copy of it per device (gnntrain --init: that
        # device's rows only, early stopping on its validation rows, the shared model as epoch 0)
        members = [(model, None)]
        if a.block_finetune:
            members = []
            for dev in sorted({r["device"] for r in rows}):
                ft = os.path.join(a.work, f"block_model_s{seed}_ft_{dev}.h5")
                fcmd = [gnntrain, ds["train"], "-o", ft, "--init", model, "--split-file", split, "--device", dev,
                        "-q", "--epochs", str(a.block_finetune), "--patience", "20", "--lr", "5e-4",
                        "--warmup", "0", "--batch", "8", "--weight-decay", "0", "--seed", str(seed),
                        "--threads", str(a.threads)]
                fstamp = {"cmd": fcmd, "base": stamp}
                if not stamped(ft, fstamp, "fine-tuned block model"):
                    run(fcmd)
                    stamp_write(ft, fstamp)
                members.append((ft, dev))
        for mpath, dev in members:
            pcmd = [gnnpredict, mpath, ds["all"], "--format", "csv", "-q", "--threads", str(a.threads)]
            if dev:
                pcmd += ["--device", dev]
            p = subprocess.run(pcmd, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"{PROG}: {' '.join(pcmd)} failed (exit {p.returncode}):\n{p.stderr}")
            for r in csv.DictReader(p.stdout.splitlines()):
                if r["node"] == "":
                    logp.setdefault((r["graph"], r["device"], r["target"]), []).append(
                        float(np.log(max(float(r["predicted"]), 1e-30))))
    return {k: float(np.exp(np.mean(v))) for k, v in logp.items()}


def cost_columns(h5_path):
    """(graph names, node names, node offsets, FLOPs, bytes) per node of a packed dataset, from the C
    cost model's cached feature columns (log_flops, log_bytes_in/out/param are log10(1 + x))."""
    with h5py.File(h5_path, "r") as f:
        gnames = [x.decode() if isinstance(x, bytes) else x for x in f["graphs/names"][()]]
        nnames = [x.decode() if isinstance(x, bytes) else x for x in f["nodes/names"][()]]
        off = f["graphs/node_offsets"][()]
        cols = [c.decode() if isinstance(c, bytes) else c for c in f["nodes/features"].attrs["column_names"]]
        feat = f["nodes/features"][()]
    lin = lambda c: 10.0 ** feat[:, cols.index(c)].astype(np.float64) - 1.0     # noqa: E731
    return gnames, nnames, off, lin("log_flops"), lin("log_bytes_in") + lin("log_bytes_out") + lin("log_bytes_param")


def key_features(key):
    """A block-table key (e.g. ConvBlock_H112_W112_Cin16_Cout16_exp1_kernel3_stride1_group1) as
    (type, {field: value}); fields a type lacks are absent."""
    typ, _, rest = key.partition("_")
    vals = {m.group(1): float(m.group(2)) for m in re.finditer(r"([A-Za-z]+?)(\d+)(?:_|$)", rest)}
    return typ, vals


TABLE_BASELINES = ("ridge, block configuration", "XGBoost, block configuration",
                   "Gaussian process, block configuration")


def block_table_baselines(a):
    """Step 8 of the docstring: ridge, XGBoost and a Gaussian process on the block-table rows the
    block-graph model trains on (block_split.csv's train part; its val part tunes ridge's alpha and
    XGBoost's rounds, then joins the fit), per device and target on log(label). Features: the
    block type (one-hot), log H, log Cin, log Cout, expansion, kernel, stride, groups, and log(1 +
    FLOPs) and log(1 + bytes) of the whole block graph. Returns {method: {(key, device, target):
    prediction}}; methods whose Python module is missing are left out with a note."""
    have_sk = have_xgb = True
    try:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    except ImportError:
        have_sk = False
        print("note: skipping the ridge and Gaussian-process baselines: python module sklearn missing "
              "(apt-get install python3-sklearn)", file=sys.stderr)
    if importlib.util.find_spec("xgboost") is None:
        have_xgb = False
        print("note: skipping the XGBoost baseline: python module xgboost missing "
              "(apt-get install python3-xgboost)", file=sys.stderr)
    part = {r["graph"]: r["part"] for r in csv.DictReader(open(os.path.join(a.work, "block_split.csv")))}
    labels = {}
    for r in csv.DictReader(open(os.path.join(a.work, "block_labels_all.csv"), newline="")):
        labels[(r["graph"], r["device"], r["target"])] = float(r["value"])
    gnames, _, off, flops, nbytes = cost_columns(os.path.join(a.work, "blocks_all.h5"))
    types = sorted({key_features(k)[0] for k in gnames})
    X = []
    for gi, k in enumerate(gnames):
        typ, v = key_features(k)
        X.append([float(typ == t) for t in types] + [
            np.log(v.get("H", 1.0)), np.log(v.get("Cin", 1.0)), np.log(v.get("Cout", 1.0)), v.get("exp", 1.0),
            v.get("kernel", 1.0), v.get("stride", 1.0), v.get("group", 1.0),
            np.log1p(flops[off[gi]:off[gi + 1]].sum()), np.log1p(nbytes[off[gi]:off[gi + 1]].sum())])
    X = np.array(X)
    out = {m: {} for m in TABLE_BASELINES}
    test = np.array([i for i, k in enumerate(gnames) if part.get(k) == "test"])
    for dv, t in PAIRS:
        y = np.array([np.log(labels[(k, dv, t)]) if labels.get((k, dv, t), 0.0) > 0.0 else np.nan
                      for k in gnames])
        fit = np.array([i for i, k in enumerate(gnames) if part.get(k) == "train" and np.isfinite(y[i])])
        val = np.array([i for i, k in enumerate(gnames) if part.get(k) == "val" and np.isfinite(y[i])])
        train = np.concatenate([fit, val])
        mu, sd = X[train].mean(0), X[train].std(0)
        Z = (X - mu) / np.where(sd < 1e-6, 1.0, sd)      # a column constant in training is left at 0
        preds = {}
        if have_sk:
            preds["ridge, block configuration"] = fit_ridge(Z, y, fit, val, train, test, a.seed)[0]
            # ARD RBF plus noise; hyperparameters by marginal likelihood on the training rows
            gp = GaussianProcessRegressor(ConstantKernel(1.0) * RBF(np.ones(X.shape[1])) + WhiteKernel(1e-3),
                                          normalize_y=True, n_restarts_optimizer=2, random_state=a.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # length scales at their bounds: irrelevant features
                gp.fit(Z[train], y[train])
            preds["Gaussian process, block configuration"] = gp.predict(Z[test])
        if have_xgb:
            preds["XGBoost, block configuration"] = fit_xgboost(Z, y, fit, val, train, test, a.seed, a.threads)[0]
        for meth, p in preds.items():
            for i, v in zip(test, p):
                out[meth][(gnames[i], dv, t)] = float(np.exp(v))
    return {m: v for m, v in out.items() if v}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "fbnet_blocks"))
    ap.add_argument("--archs", default="0-1999", help="FBNet arch ids to use, e.g. 0-1999 or 0-299,4000-4099")
    ap.add_argument("--holdout-frac", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1, help="held-out configurations, validation networks, gnntrain")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--layers", type=int, default=7, help="gnntrain message-passing layers (see the docstring)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--include-fixed", action="store_true",
                    help="also draw the stem, header, pool and FC configurations for the holdout")
    ap.add_argument("--block-ensemble", type=int, default=5,
                    help="seeds of the block-graph model (step 7), predictions averaged in log space; 0 = skip")
    ap.add_argument("--block-epochs", type=int, default=600, help="gnntrain epochs of each block-graph model")
    ap.add_argument("--block-finetune", type=int, default=0,
                    help="fine-tune a copy of each block-graph model per device for up to this many epochs "
                         "(gnntrain --init; 0: no)")
    ap.add_argument("--block-gnn-args", default="", help="extra gnntrain options of the block-graph models, "
                    "e.g. '--pool additive'")
    a = ap.parse_args()
    if a.block_ensemble < 0 or a.block_epochs < 1:
        sys.exit(f"{PROG}: --block-ensemble must be >= 0 and --block-epochs >= 1")
    if not 0.0 < a.holdout_frac < 1.0:
        sys.exit(f"{PROG}: --holdout-frac must be in (0, 1)")
    archs = parse_archs(a.archs)
    d = data_dir()
    gnndata, gnntrain, gnnpredict = tool("gnndata"), tool("gnntrain"), tool("gnnpredict")
    os.makedirs(a.work, exist_ok=True)

    # --- 1. import ----------------------------------------------------------
    imp = os.path.join(a.work, "import")
    graphs_jsonl, imp_labels = os.path.join(imp, "graphs.jsonl"), os.path.join(imp, "labels.csv")
    cmd = ["/usr/bin/python3", os.path.join(ROOT, "scripts", "import_fbnet.py"), "--data", d,
           "--indices", a.archs, "--out-dir", imp]
    if not (stamped(graphs_jsonl, cmd, "import") and os.path.exists(imp_labels)):
        print(f"importing {len(archs)} FBNet archs", file=sys.stderr)
        run(cmd)
        stamp_write(graphs_jsonl, cmd)

    # --- graphs: anchors, blocks, hop distances -------------------------------
    anchors = []                 # (graph, node, key)
    block_nodes = {}             # (graph, anchor node) -> names of the block's nodes
    hops_needed = {}             # block type -> max hops from the anchor to its block's last node
    kernel_hops = 0              # max hops from a ConvBlock anchor to its depthwise conv
    proj_hops = 0                # ... and to its projection conv
    with open(graphs_jsonl) as f:
        for line in f:
            doc = json.loads(line)
            g = doc["name"]
            blocks = {}
            for nd in doc["nodes"]:
                b = (nd.get("meta") or {}).get("block")
                if b is not None:
                    blocks.setdefault(b, []).append(nd)
            for b, nds in blocks.items():
                anc = [nd for nd in nds if "block_key" in nd.get("meta", {})]
                if not anc:
                    continue      # identity skip: no anchor (it has view nodes only, or none)
                an, key = anc[0]["name"], anc[0]["meta"]["block_key"]
                anchors.append((g, an, key))
                block_nodes[(g, an)] = [nd["name"] for nd in nds]
                dist = {an: 0}    # shortest consumer-direction distance inside the block (JSON is topological)
                for nd in nds:
                    ins = [dist[i] + 1 for i in nd.get("inputs", []) if i in dist]
                    if nd["name"] != an and ins:
                        dist[nd["name"]] = min(ins)
                t = block_type(key)
                hops_needed[t] = max(hops_needed.get(t, 0), max(dist.values()))
                for nd in nds:
                    if nd["op"] == "dwconv2d" and nd["name"] in dist:
                        kernel_hops = max(kernel_hops, dist[nd["name"]])
                    if nd["op"] == "conv2d" and nd["name"].endswith(".project") and nd["name"] in dist:
                        proj_hops = max(proj_hops, dist[nd["name"]])
    graphs = sorted({g for g, _, _ in anchors}, key=lambda s: int(s.split("_")[1]))
    print(f"{len(graphs)} networks, {len(anchors)} labelled anchor nodes; hops from a block's anchor: "
          f"depthwise conv <= {kernel_hops}, projection conv <= {proj_hops}, last node of the block " +
          ", ".join(f"{t} {h}" for t, h in sorted(hops_needed.items())), file=sys.stderr)
    if a.layers < max(kernel_hops, proj_hops):
        print(f"{PROG}: warning: --layers {a.layers} does not reach every ConvBlock's projection conv from its "
              f"anchor ({proj_hops} hops): some configurations look alike to the node head", file=sys.stderr)

    # --- labels: truth per (graph, node, device, target) ----------------------
    truth = {}
    with open(imp_labels, newline="") as f:
        rd = csv.DictReader(f)
        for r in rd:
            if r["node"]:
                truth[(r["graph"], r["node"], r["device"], r["target"])] = float(r["value"])
    key_of = {(g, n): k for g, n, k in anchors}
    conf_truth = {}              # (key, device, target) -> value (one per configuration)
    for (g, n, dv, t), v in truth.items():
        k = key_of.get((g, n))
        if k is None:
            sys.exit(f"{PROG}: {imp_labels}: node label on {g}/{n}, which is not a block anchor: "
                     "the importer's mapping changed")
        old = conf_truth.setdefault((k, dv, t), v)
        if old != v:
            sys.exit(f"{PROG}: configuration {k} has two labels on {dv}/{t}: {old} and {v}")

    # --- 2. held-out configurations --------------------------------------------
    configs = sorted({k for _, _, k in anchors})
    pool = [k for k in configs if a.include_fixed or block_type(k) not in FIXED_TYPES]
    n_hold = max(1, int(round(a.holdout_frac * len(pool))))
    rng = random.Random(a.seed)
    held = set(rng.sample(pool, n_hold))
    seen = [k for k in configs if k not in held]
    occ = {}
    for g, n, k in anchors:
        occ.setdefault(k, []).append((g, n))
    by_type = {}
    for k in held:
        by_type[block_type(k)] = by_type.get(block_type(k), 0) + 1
    print(f"{len(configs)} configurations with a node ({len(pool)} in the draw), {len(held)} held out "
          f"({', '.join(f'{n} {t}' for t, n in sorted(by_type.items()))}; "
          f"{sum(len(occ[k]) for k in held)} nodes)", file=sys.stderr)

    # --- 3. label table without the held-out configurations, pack -------------
    labels = os.path.join(a.work, "labels.csv")
    n_rows = 0
    with open(labels + ".tmp", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["graph", "node", "device", "target", "value", "unit"])
        for (g, n, dv, t), v in truth.items():
            if key_of[(g, n)] in held:
                continue
            w.writerow([g, n, dv, t, repr(v), "ms" if t == "latency_ms" else "mJ"])
            n_rows += 1
    os.replace(labels + ".tmp", labels)
    ds = os.path.join(a.work, "blocks.h5")
    pack_stamp = {"import": cmd, "held": sorted(held)}
    if not stamped(ds, pack_stamp, "dataset"):
        print(f"packing {len(graphs)} graphs with {n_rows} node labels (held-out configurations removed)",
              file=sys.stderr)
        run([gnndata, "pack", "-o", ds, "--labels", labels, "--note",
             f"{PROG}: FBNet block labels without {len(held)} held-out configurations (seed {a.seed})",
             graphs_jsonl])
        stamp_write(ds, pack_stamp)

    # --- 4. train ----------------------------------------------------------------
    val = set(random.Random(a.seed + 7919).sample(graphs, max(1, int(round(VAL_FRAC * len(graphs))))))
    split = write_split(os.path.join(a.work, "split.csv"), graphs, lambda g: "val" if g in val else "train")
    model = os.path.join(a.work, "model.h5")
    tcmd = [gnntrain, ds, "-o", model, "--epochs", str(a.epochs), "--patience", "15", "--threads",
            str(a.threads), "-q", "--split-file", split, "--no-graph-targets", "--layers", str(a.layers),
            "--seed", str(a.seed), "--log", os.path.join(a.work, "train.jsonl")]
    for dv in DEVICES:
        tcmd += ["--device", dv]
    model_stamp = {"cmd": tcmd, "data": pack_stamp, "val": sorted(val), "featurizer": featurizer_version(),
                   "gnntrain": tool_hash(gnntrain)}
    if not stamped(model, model_stamp, "model"):
        print(f"training: {len(graphs) - len(val)} train / {len(val)} validation networks, {a.epochs} epochs, "
              f"{a.layers} layers", file=sys.stderr)
        run(tcmd)
        stamp_write(model, model_stamp)
    log = [json.loads(x) for x in open(os.path.join(a.work, "train.jsonl")) if x.strip()]
    best = [r for r in log if r.get("best")]

    # --- 5. predict ---------------------------------------------------------------
    pred = {}
    want = set(key_of)
    pcsv = os.path.join(a.work, "anchor_predictions.csv")
    pcmd = [gnnpredict, model, ds, "--format", "csv", "-q", "--threads", str(a.threads)]
    print("predicting", file=sys.stderr)
    with subprocess.Popen(pcmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p, \
            open(pcsv + ".tmp", "w") as out:
        header = p.stdout.readline()
        if header.strip() != "graph,node,op,device,target,predicted,measured":
            p.kill()
            sys.exit(f"{PROG}: gnnpredict --format csv: unexpected header {header.strip()!r}")
        out.write(header)
        for line in p.stdout:
            r = next(csv.reader([line])) if '"' in line else line.rstrip("\n").split(",")
            if (r[0], r[1]) in want:
                pred[(r[0], r[1], r[3], r[4])] = float(r[5])
                out.write(line)
        err = p.stderr.read()
    if p.returncode != 0:
        sys.exit(f"{PROG}: {' '.join(pcmd)} failed (exit {p.returncode}):\n{err}")
    os.replace(pcsv + ".tmp", pcsv)

    # --- baselines: FLOPs and bytes from the cost model ------------------------
    gnames, nnames, off, flops, nbytes = cost_columns(ds)
    row = {}
    for gi, g in enumerate(gnames):
        for j in range(off[gi], off[gi + 1]):
            row[(g, nnames[j])] = j
    cost = {}                    # key -> {"block": (flops, bytes), "node": (flops, bytes)}
    for (g, an), names in block_nodes.items():
        k = key_of[(g, an)]
        if k in cost:
            continue
        idx = [row[(g, n)] for n in names]
        cost[k] = {"block": (flops[idx].sum(), nbytes[idx].sum()), "node": (flops[row[(g, an)]], nbytes[row[(g, an)]])}

    def loglinear(level, dv, t, keys_fit, keys_eval):
        X = lambda ks: np.array([[1.0, np.log1p(cost[k][level][0]), np.log1p(cost[k][level][1])]  # noqa: E731
                                 for k in ks])
        y = np.log([conf_truth[(k, dv, t)] for k in keys_fit])
        coef = np.linalg.lstsq(X(keys_fit), y, rcond=None)[0]
        return dict(zip(keys_eval, np.exp(X(keys_eval) @ coef)))

    # --- 7. block graphs (scored with the rest in step 6) ------------------------------
    block_pred = block_graph_method(a, d, held, gnndata, gnntrain, gnnpredict) if a.block_ensemble else {}
    BG = f"gnnperf, block graphs ({a.block_ensemble}-seed ensemble)"
    # --- 8. baselines on the block table's configurations -------------------------------
    table_pred = block_table_baselines(a) if block_pred else {}

    # --- 6. score -------------------------------------------------------------------
    results = {"archs": a.archs, "n_graphs": len(graphs), "seed": a.seed, "holdout_frac": a.holdout_frac,
               "layers": a.layers, "epochs": a.epochs, "include_fixed": a.include_fixed,
               "block_ensemble": a.block_ensemble, "block_epochs": a.block_epochs,
               "best_epoch": best[-1]["epoch"] if best else None, "epochs_run": len(log),
               "configurations": len(configs), "held_out": sorted(held), "pairs": {}}
    rows = {}
    for dv, t in PAIRS:
        col = f"{dv} {t.split('_')[0]}"
        pos = lambda ks: [k for k in ks if conf_truth.get((k, dv, t), 0.0) > 0.0]   # noqa: E731
        hk, sk = pos(sorted(held)), pos(seen)
        zero = [k for k in held if (k, dv, t) in conf_truth and conf_truth[(k, dv, t)] == 0.0]
        per_conf, spread, node_p, node_y = {}, [], [], []
        for k in sorted(held) + seen:
            ps = [pred[(g, n, dv, t)] for g, n in occ[k] if (g, n, dv, t) in pred]
            if not ps or (k, dv, t) not in conf_truth:
                continue
            ps = np.maximum(np.array(ps), 1e-30)
            per_conf[k] = float(np.exp(np.mean(np.log(ps))))
            if k in held and conf_truth[(k, dv, t)] > 0:
                spread.append(float(np.max(ps) / np.min(ps)))
                node_p += list(ps)
                node_y += [conf_truth[(k, dv, t)]] * len(ps)
        yh = [conf_truth[(k, dv, t)] for k in hk]
        m = {
            "gnnperf, per configuration": metrics([per_conf[k] for k in hk], yh),
            "gnnperf, per node": metrics(node_p, node_y),
            "log-linear, block FLOPs + bytes": None,
            "log-linear, anchor-node FLOPs + bytes": None,
            "gnnperf, seen configurations (in-sample)": metrics([per_conf[k] for k in sk],
                                                                [conf_truth[(k, dv, t)] for k in sk]),
        }
        for meth, tp in table_pred.items():
            m[meth] = metrics([tp[(k, dv, t)] for k in hk], yh)
        if block_pred:
            m[BG] = metrics([block_pred[(k, dv, t)] for k in hk], yh)
            m[BG + ", seen (in-sample)"] = metrics([block_pred[(k, dv, t)] for k in sk],
                                                   [conf_truth[(k, dv, t)] for k in sk])
        for level, label in (("block", "log-linear, block FLOPs + bytes"),
                             ("node", "log-linear, anchor-node FLOPs + bytes")):
            bp = loglinear(level, dv, t, sk, hk)
            m[label] = metrics([bp[k] for k in hk], yh)
            m[label + ", per node"] = metrics([bp[k] for k in hk for _ in occ[k]],
                                              [conf_truth[(k, dv, t)] for k in hk for _ in occ[k]])
        results["pairs"][col] = {
            "device": dv, "target": t, "held_out_scored": len(hk), "held_out_zero_label": len(zero),
            "seen_scored": len(sk), "node_prediction_spread_median": float(np.median(spread)) if spread else None,
            "node_prediction_spread_max": float(np.max(spread)) if spread else None,
            "metrics": m,
            "held_out": {k: {"label": conf_truth[(k, dv, t)], "predicted": per_conf.get(k), "nodes": len(occ[k]),
                             "predicted_block_graph": block_pred.get((k, dv, t))}
                         for k in sorted(held) if (k, dv, t) in conf_truth},
        }
        rows[col] = m
    json.dump(results, open(os.path.join(a.work, "results.json"), "w"), indent=1)

    # --- tables -----------------------------------------------------------------------
    colsn = list(rows)
    P = results["pairs"]
    print(f"FBNet blocks with held-out configurations ({len(held)} of {len(pool)} drawn, seed {a.seed}), "
          f"{len(graphs)} networks ({a.archs}), gnnperf {a.layers} layers, best epoch "
          f"{results['best_epoch']} of {len(log)}")
    print("held-out configurations scored / with label 0 (not scored) / held-out nodes scored: " +
          ", ".join(f"{c} {P[c]['held_out_scored']}/{P[c]['held_out_zero_label']}/"
                    f"{rows[c]['gnnperf, per node']['n']}" for c in colsn))
    methods = ([BG] if block_pred else []) + list(table_pred) + [
        "gnnperf, per configuration", "gnnperf, per node", "log-linear, block FLOPs + bytes",
        "log-linear, anchor-node FLOPs + bytes", "gnnperf, seen configurations (in-sample)"] + (
        [BG + ", seen (in-sample)"] if block_pred else [])
    for title, field, fmt, target in (("share within +-10 % (%)", "within10", "{:.1f}", f">= {TARGET:.0f}"),
                                      ("MAPE (%)", "mape", "{:.1f}", None),
                                      ("Spearman rho", "spearman", "{:.3f}", None)):
        print()
        print(f"{title}, held-out configurations unless said")
        print("| method | " + " | ".join(colsn) + " |")
        print("|---" * (len(colsn) + 1) + "|")
        for meth in methods:
            print(f"| {meth} | " + " | ".join(fmt.format(rows[c][meth][field]) for c in colsn) + " |")
        if target:
            print("| target (issue) | " + " | ".join(target for _ in colsn) + " |")
    head = BG if block_pred else "gnnperf, per configuration"
    ok = all(rows[c][head]["within10"] >= TARGET for c in colsn)
    print()
    print(f"target >= {TARGET:.0f} % within +-10 % on every device and target ({head}): "
          f"{'met' if ok else 'not met'}")
    print("median / max ratio between the largest and smallest prediction of one held-out configuration across "
          "its nodes: " + ", ".join(f"{c} {P[c]['node_prediction_spread_median']:.3f}/"
                                    f"{P[c]['node_prediction_spread_max']:.3f}" for c in colsn
                                    if P[c]['node_prediction_spread_median'] is not None))


if __name__ == "__main__":
    main()
