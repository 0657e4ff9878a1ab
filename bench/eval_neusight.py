#!/usr/bin/python3
"""NeuSight's unseen-GPU protocol (H100, L4, A100-80GB held out), run with gnnperf, beside the paper's per-op table.

Protocol (issue text): "NeuSight: per-kernel absolute percentage error on
the GPUs held out in the paper (H100, L4, A100-80GB), trained on the others,
beside the paper's per-op table (summary/perop.csv), and end-to-end error
where graphs allow. Target: per-op error below the paper's
out-of-distribution figures (BMM 13.8%, FC 13.9%, elementwise 19.3%,
softmax 13.9%, layernorm 56.7%)."

Data: ../shared/data/neusight (README.md, section neusight), imported by
scripts/import_neusight.py (docs/importers.md): every kernel row is a
single-node graph nsk_<file>_<row> with latency_ms on its GPU; GPU
specifications are the device descriptors (mem_gb, mem_bw_gbs, sms,
cores_per_sm, clock_mhz, peak_fp32_gflops, peak_fp32_matrix_gflops, l2_mb).

Devices. Training GPUs (the README's and the paper's): Tesla P100, V100, P4,
T4 and A100-PCIE-40GB. Held out: NVIDIA_H100_80GB_HBM3, NVIDIA_L4,
NVIDIA_A100_80GB_PCIe, passed to gnntrain as --holdout-device: none of their
labels is ever trained or validated on, and the model reaches them only
through their descriptors (zero-shot, as NeuSight does). gnntrain's
--predictions (the test part, every evaluated device) is the only way the
built binaries give predictions for a held-out device (gnnpredict refuses
devices the model never saw), so every graph evaluated here is in the test
part of one gnntrain run; the script checks that the held-out GPUs appear in
that file.

Split (the paper's, reproduced as far as the shipped data allows):
  * train_elem, train_ln, train_softmax (training GPUs only) are the
    training set, as in the paper; test_elem, test_ln, test_softmax are
    never trained on.
  * The shared folder has no train_bmm / train_linear (NeuSight trained its
    BMM and FC predictors on random small shapes that are not shipped), so
    BMM and FC can only be learnt from test_bmm / test_linear rows of the
    training GPUs. --bmm-fc chooses how:
      disjoint (default): the (B,M,N,K) shapes are split in two halves by a
        fixed hash (crc32); the training GPUs' rows of half A are trained
        on, except kernels of the scored transformer runs (some runs' BMM
        and FC kernels have the exact shape of a kernel-table row, 142 rows;
        NeuSight trained its BMM and FC predictors on other, random shapes,
        so training on them would favour gnnperf on the per-op-class run
        tables); the held-out GPUs' BMM/FC errors count only rows whose
        shape was never trained on, on any GPU (half B, plus shapes measured
        only on held-out GPUs). No evaluated kernel was trained on anywhere.
      train-gpus: every test_bmm / test_linear row of the training GPUs is
        trained on; the held-out GPUs are scored on all their rows, most of
        whose shapes the model saw on other GPUs (easier than the paper).
    The paper's own choice (train on other shapes) is not possible.
  * Validation (early stopping): --val-frac of the training rows, random
    with --seed; never a held-out GPU.
  * Test part: every held-out GPU row, the training GPUs' test rows not
    trained on (reported as "training GPUs, unseen kernels"), and the
    single-node graphs of the transformer runs (below).
  H100 has no test_elem/test_ln/test_softmax rows in the data: its EW,
  softmax and LN kernel errors cannot be measured.

Model: one gnntrain model on the per-node target latency_ms (the kernel
graphs' node and graph labels are the same measurement), default
architecture, --epochs (default 60), patience 20. The held-out GPUs' device
embedding rows are never trained: gnntrain sets them to the training GPUs'
mean (before the tenth session they kept their random initial values), so
only the prior (the GPU's own peak and bandwidth) and the descriptor network
carry information to them.

Prior: --prior roofline_sum by default (twelfth session): each kernel's time
is learnt relative to FLOPs / peak FP32 + bytes / bandwidth of its GPU (plus
a 2 us floor). The max of the two (--prior roofline, the default before)
gave BMM 17.7 / FC 14.6 / EW 13.5 / softmax 13.2 / LN 41.6 on the OOD sums
with ten seeds; the sum 12.2 / 11.7 / 13.4 / 8.7 / 40.6 (README).

Per-kernel metric: absolute percentage error |pred - measured| / measured per
kernel row, mean (MAPE) per op class (BMM = bmm, FC = linear, EW = add, mul,
div, pow and their scalar "u" forms, relu, gelu, tanh; Softmax; LN) per
held-out GPU and over the three pooled.

The paper's per-op table is a different metric. summary/perop.csv is made by
NeuSight's scripts/asplos/table.py from summary/summary.csv: for every
NVIDIA whole-model run (no fusion/parallel option) and op class, the APE of
the latency summed over all the run's ops of that class (the one traced
layer replicated num_layer times; training runs fw + bw + grad-acc), then
the mean over runs, split by OOD = held-out GPU or model in {gpt3_xl,
gpt3_27, opt_13}. The script recomputes perop.csv from summary.csv and prints
the deviation. The like-for-like comparison is therefore the second table:
  * per-op-class sums over the transformer runs (models/
    node_labels_one_layer.csv), layer replication with NeuSight's markers
    (summarize.py's MODEL_LAYERS: first and last node of layer 0 in the
    CSV's row order); the per-class label sums are checked against
    summary.csv's label columns;
  * every labelled compute node (bmm, linear, add/mul/activation/
    elementwise, softmax, layernorm) becomes a single-node graph shaped as
    NeuSight's kernel tables shape it (bmm [B,M,N]x[B,N,K] with B the product
    of the leading dims, linear [B,M,N]->[B,M,K], vector ops [rows, last
    dim]; a broadcast or scalar second operand gives the one-input "u"
    form; sub -> add, neg -> mul, sqrt/rsqrt/exp/log/abs -> tanh, dtype
    float32) and is predicted in the same gnntrain run on the run's GPU;
  * forward latency only: the kernel tables hold forward kernels and the
    model has no backward. Inference runs are compared with NeuSight's
    e2e errors (= forward), training runs with its forward (fw) errors,
    both read per run from summary.csv for exactly the runs evaluated here.
    The published perop.csv (which includes backward time for training
    runs) is printed too. A100-80GB has training runs only.
End to end (models/e2e_labels.csv): whole-model forward latency = sum of the
predicted compute nodes, replicated. The other nodes (views/copies, masks
and `where`, embeddings, reductions: 1-22 % of the measured node time, 42 %
in the Switch run) have no kernel data and count 0, so this is a lower
bound; the table gives the share of the measured latency that the measured
compute nodes account for, and the mean APE of that measured sum (what a
perfect per-op predictor would score).

Baseline (same tables): per op class, least squares on log10 latency with
log10 FLOPs, log10 bytes (in + out + parameters; both from the C cost model,
the cached feature columns), log10 peak FP32 FLOP/s, log10 memory bandwidth
and the log10 roofline time max(FLOPs/peak, bytes/bandwidth), fit on the
same training rows (training GPUs only).

    bench/eval_neusight.py [--work DIR] [--epochs 60] [--threads N] [--dataset neusight.h5]
                           [--bmm-fc disjoint|train-gpus] [--seed 1] [--val-frac 0.1]
                           [--prior none|roofline|roofline_sum] [--no-descriptors] [--ensemble N]

Without --dataset, imports ../shared/data/neusight into --work (about 5 s).
The whole run takes about 15 s on one core of this project's 2-core machine
(single-node graphs train at about 95,000 graphs/s).
Prints the tables and writes DIR/results.json, DIR/predictions.csv (gnntrain),
DIR/split.csv. A finished model is reused when the run settings are the
same. Needs ../shared/data (or $GNNPERF_SHARED/data) and a build (build/).
"""
import argparse
import collections
import csv
import json
import math
import os
import random
import shlex
import subprocess
import sys
import time
import zlib

try:
    import h5py
    import numpy as np
except ImportError:
    sys.exit("eval_neusight: needs python3-numpy and python3-h5py (apt-get install python3-numpy python3-h5py)")

from evalcommon import featurizer_version, tool_hash  # noqa: E402  (bench/ is first on sys.path)

PROG = "eval_neusight"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_GPUS = ["Tesla_P100-PCIE-16GB", "Tesla_V100-PCIE-32GB", "Tesla_P4", "Tesla_T4", "NVIDIA_A100-PCIE-40GB"]
HELD_OUT = ["NVIDIA_H100_80GB_HBM3", "NVIDIA_L4", "NVIDIA_A100_80GB_PCIe"]
SHORT = {"NVIDIA_H100_80GB_HBM3": "H100", "NVIDIA_L4": "L4", "NVIDIA_A100_80GB_PCIe": "A100-80GB",
         "NVIDIA_A100-PCIE-40GB": "A100-40GB", "Tesla_V100-PCIE-32GB": "V100", "Tesla_P100-PCIE-16GB": "P100",
         "Tesla_T4": "T4", "Tesla_P4": "P4"}
CLASSES = ["BMM", "FC", "EW", "Softmax", "LN"]
# perop.csv header names of CLASSES, and summary.csv's op infixes (NeuSight's table.py)
PEROP_NAME = {"BMM": "BMM", "FC": "FC", "EW": "EW", "Softmax": "Softmax", "LN": "LN"}
SUMMARY_OP = {"BMM": "BMM", "FC": "Linear", "EW": "VEC", "Softmax": "VECsoftmax", "LN": "VECln"}
PREDICTORS = [("roofline", "Roofline"), ("habitat", "Habitat"), ("micro", "Li et al."), ("neusight", "NeuSight")]
OOD_MODELS = ("gpt3_27", "opt_13", "gpt3_xl")          # summarize.py's OOD_MODELS
KERNEL_FILES = ["train_elem", "train_ln", "train_softmax", "test_bmm", "test_linear", "test_elem", "test_ln",
                "test_softmax"]                        # test_vec = test_elem + test_ln + test_softmax (skipped)
ELEM_OPS = ("add", "mul", "pow", "div", "addu", "mulu", "powu", "divu", "relu", "gelu", "tanh")
# summarize.py's MODEL_LAYERS: first and last fx node of layer 0
LAYER_MARKERS = {"bert": ("bert_encoder_layer_0_attention_self_query", "bert_encoder_layer_0_output_layer_norm"),
                 "gpt": ("transformer_h_0_ln_1", "add_15"),
                 "opt": ("model_decoder_layers_0_self_attn_layer_norm", "view_11")}
EW_FNS = {"div", "pow", "sub", "neg", "sqrt", "rsqrt", "exp", "log", "abs"}   # elementwise fns NeuSight counts as VEC


def die(msg):
    sys.exit(f"{PROG}: error: {msg}")


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def data_dir():
    env = os.environ.get("GNNPERF_SHARED")
    cands = ([os.path.join(env, "data"), env] if env else []) + [os.path.join(ROOT, "..", "shared", "data")]
    for d in cands:
        if os.path.isdir(os.path.join(d, "neusight")):
            return os.path.normpath(d)
    die("no neusight/ folder in %s: the public data is needed (set GNNPERF_SHARED to the folder holding "
        "data/neusight)" % " or ".join(cands))


def run(cmd, stdout=None):
    """Runs cmd; its stderr (progress) passes through; fails loudly."""
    r = subprocess.run(cmd, stdout=stdout if stdout is not None else subprocess.PIPE, text=True)
    if r.returncode != 0:
        die("%s failed (exit %d)" % (" ".join(cmd), r.returncode))
    return r.stdout


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def dec(a):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in a]


def prod(xs):
    p = 1
    for x in xs:
        p *= int(x)
    return p


def mape(pred, meas):
    pred, meas = np.asarray(pred, float), np.asarray(meas, float)
    return float(np.mean(np.abs(pred - meas) / meas) * 100.0) if len(meas) else float("nan")


def fmt(v, n=None, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}" + (f" ({n})" if n is not None else "")


def md_table(title, header, rows):
    print(f"\n{title}")
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


# ------------------------------------------------------------------ dataset

class Dataset:
    """The arrays of a gnnperf dataset this script needs (docs/dataset-format.md)."""

    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.graphs = dec(f["graphs/names"][()])
            self.off = f["graphs/node_offsets"][()]
            self.node_names = dec(f["nodes/names"][()])
            self.kind = f["nodes/kind"][()]
            self.kind_voc = dec(f["nodes/kind"].attrs["vocabulary"])
            self.fn = f["nodes/fn"][()]
            self.fn_voc = dec(f["nodes/fn"].attrs["vocabulary"])
            self.in_off = f["nodes/in_shape_offsets"][()]
            self.in_ranks = f["nodes/in_ranks"][()]
            self.in_shapes = f["nodes/in_shapes"][()]
            self.out_rank = f["nodes/out_rank"][()]
            self.out_shape = f["nodes/out_shape"][()]
            cols = dec(f["nodes/features"].attrs["column_names"])
            want = ["log_flops", "log_bytes_in", "log_bytes_out", "log_bytes_param"]
            feats = f["nodes/features"][()]
            self.feat = {c: feats[:, cols.index(c)].astype(np.float64) for c in want}
            self.devices = dec(f["devices/names"][()]) if "devices/names" in f else []
            self.desc_names = dec(f["devices/descriptor_names"][()]) if "devices/descriptor_names" in f else []
            self.desc = f["devices/descriptors"][()] if "devices/descriptors" in f else None
            self.node_labels = {}
            if "labels/node" in f:
                for t in f["labels/node"]:
                    self.node_labels[t] = f["labels/node/" + t][()]
        self.index = {n: g for g, n in enumerate(self.graphs)}

    def node_shapes(self, v):
        ins = [tuple(int(x) for x in self.in_shapes[s][:self.in_ranks[s]]) for s in range(self.in_off[v], self.in_off[v + 1])]
        return ins, tuple(int(x) for x in self.out_shape[v][:self.out_rank[v]])

    def flops_bytes(self, v):
        """FLOPs and bytes (in + out + params) of node v, from the cached cost-model columns."""
        f = 10.0 ** self.feat["log_flops"][v] - 1.0
        b = sum(10.0 ** self.feat[c][v] - 1.0 for c in ("log_bytes_in", "log_bytes_out", "log_bytes_param"))
        return f, b


def device_specs(ds):
    """{device: (peak FLOP/s, bandwidth B/s)} from the descriptors."""
    need = ("peak_fp32_gflops", "mem_bw_gbs")
    for c in need:
        if c not in ds.desc_names:
            die(f"the dataset's devices have no '{c}' descriptor (descriptors: {ds.desc_names})")
    ip, ib = ds.desc_names.index(need[0]), ds.desc_names.index(need[1])
    return {d: (ds.desc[k, ip] * 1e9, ds.desc[k, ib] * 1e9) for k, d in enumerate(ds.devices)}


# ------------------------------------------------------------------ kernels

def kernel_class(opname):
    if opname == "bmm":
        return "BMM"
    if opname == "linear":
        return "FC"
    if opname == "ln":
        return "LN"
    if opname == "softmax":
        return "Softmax"
    if opname in ELEM_OPS:
        return "EW"
    die(f"unknown kernel OPName {opname!r}")


def read_kernels(src, ds):
    """One record per kernel row that is a graph of the dataset."""
    out, absent = [], 0
    for stem in KERNEL_FILES:
        path = os.path.join(src, "kernels", stem + ".csv")
        if not os.path.exists(path):
            die(f"{path} is missing")
        for k, r in enumerate(read_csv(path)):
            name = "nsk_%s_%05d" % (stem, k)
            if name not in ds.index:
                absent += 1
                continue
            op = r["OPName"]
            dims = ("B", "M", "N", "K") if stem.endswith(("bmm", "linear")) else ("B", "H")
            out.append({"name": name, "file": stem, "split": stem.split("_", 1)[0], "op": op,
                        "cls": kernel_class(op), "device": r["Device"].strip().replace(" ", "_"),
                        "shape": op + ":" + ",".join(r[c] for c in dims), "latency": float(r["Latency"])})
    if not out:
        die("the dataset holds no NeuSight kernel graphs (nsk_*): import with scripts/import_neusight.py "
            "--part all or --part kernels")
    return out, absent


# --------------------------------------------------------- transformer runs

def node_class(kind, fn):
    if kind in ("bmm", "matmul"):
        return "BMM"
    if kind == "linear":
        return "FC"
    if kind == "layernorm":
        return "LN"
    if kind == "softmax":
        return "Softmax"
    if kind in ("add", "mul", "activation") or (kind == "elementwise" and fn in EW_FNS):
        return "EW"
    return None


def run_kernel_shape(spec):
    """A run node's BMM or FC kernel keyed as the kernel tables key theirs
    (op:B,M,N,K, N the reduction), or None for other classes."""
    op, _, ins, out = spec
    if op not in ("bmm", "linear"):
        return None
    b, m, n = ins[0]
    return f"{op}:{b},{m},{n},{out[-1]}"


def kernel_spec(kind, fn, ins, out):
    """The node as NeuSight's kernel tables shape it: (op, fn, in_shapes, out_shape)."""
    if kind in ("bmm", "matmul"):
        a = ins[0]
        m, n, k = (a[-2] if len(a) >= 2 else 1), a[-1], out[-1]
        b = prod(out[:-2]) if len(out) > 2 else 1
        return "bmm", None, [[b, m, n], [b, n, k]], [b, m, k]
    if kind == "linear":
        a = ins[0]
        m, n, k = (a[-2] if len(a) >= 2 else 1), a[-1], out[-1]
        b = prod(a[:-2]) if len(a) > 2 else 1
        return "linear", None, [[b, m, n]], [b, m, k]
    h = out[-1] if out else 1
    rows = prod(out[:-1]) if len(out) > 1 else 1
    if kind in ("layernorm", "softmax"):
        return kind, None, [[rows, h]], [rows, h]
    n_full = sum(1 for s in ins if prod(s) == prod(out))
    binary = n_full >= 2
    if kind == "activation":
        op, f = "activation", (fn if fn in ("relu", "gelu", "tanh") else "tanh")
        binary = False
    elif kind == "add" or (kind == "elementwise" and fn == "sub"):
        op, f = "add", None
    elif kind == "mul" or (kind == "elementwise" and fn == "neg"):
        op, f = "mul", None
        binary = binary and fn != "neg"
    elif kind == "elementwise" and fn in ("div", "pow"):
        op, f = "elementwise", fn
    else:                                   # sqrt, rsqrt, exp, log, abs
        op, f, binary = "activation", "tanh", False
    return op, f, [[rows, h], [rows, h]] if binary else [[rows, h]], [rows, h]


def read_runs(src, ds, gpus):
    """The transformer runs on the kernel GPUs: per run, its compute nodes with class, label and multiplicity."""
    order = collections.defaultdict(list)
    for r in read_csv(os.path.join(src, "models", "node_labels_one_layer.csv")):
        order[(r["device"], r["run"])].append(r["node"])
    e2e = {(r["device"], r["run"]): r for r in read_csv(os.path.join(src, "models", "e2e_labels.csv"))}
    runs = []
    for (dev, run_name), rows in sorted(order.items()):
        g = ds.index.get(f"ns_{dev}_{run_name}")
        if g is None or dev not in gpus:
            continue
        info = e2e.get((dev, run_name))
        if info is None:
            die(f"models/e2e_labels.csv has no run {dev} {run_name}")
        model, mode = run_name.split("-")[0], run_name.split("-")[1]
        n_layer = int(float(info["num_layer"]))
        mult = {}
        if n_layer > 0:
            marks = [m for key, m in LAYER_MARKERS.items() if key in model]
            if not marks or marks[0][0] not in rows or marks[0][1] not in rows:
                die(f"run {dev} {run_name}: no layer markers for model {model!r}")
            a, b = rows.index(marks[0][0]), rows.index(marks[0][1]) + 1
            mult = {n: (n_layer if a <= i < b else 1) for i, n in enumerate(rows)}
        target = "latency_ms" if mode == "inf" else "train_fw_latency_ms"
        if target not in ds.node_labels:
            die(f"the dataset has no node target {target}")
        di = ds.devices.index(dev)
        nodes, other_ms = [], 0.0
        for v in range(ds.off[g], ds.off[g + 1]):
            y = ds.node_labels[target][v, di]
            if math.isnan(y):
                continue
            kind, fn = ds.kind_voc[ds.kind[v]], ds.fn_voc[ds.fn[v]]
            c = node_class(kind, fn)
            m = mult.get(ds.node_names[v], 1)
            if c is None:
                other_ms += m * y
                continue
            ins, out = ds.node_shapes(v)
            nodes.append({"v": v, "cls": c, "label": float(y), "mult": m, "spec": kernel_spec(kind, fn, ins, out)})
        meas = float(info["e2e_latency_ms"] if mode == "inf" else info["fw_latency_ms"])
        runs.append({"device": dev, "run": run_name, "model": model, "mode": mode, "n_layer": n_layer,
                     "nodes": nodes, "other_ms": other_ms, "measured_ms": meas})
    return runs


def write_e2e_graphs(runs, work, gnndata):
    """Distinct single-node graphs of the runs' compute nodes, packed into WORK/e2e_nodes.h5."""
    specs = {}
    for r in runs:
        for n in r["nodes"]:
            op, fn, ins, out = n["spec"]
            key = json.dumps([op, fn, ins, out])
            if key not in specs:
                specs[key] = "nse_%05d" % len(specs)
            n["graph"] = specs[key]
    jl = os.path.join(work, "e2e_nodes.jsonl")
    with open(jl + ".tmp", "w") as f:
        for key, name in specs.items():
            op, fn, ins, out = json.loads(key)
            node = {"name": "op", "op": op, "in_shapes": ins, "out_shape": out}
            if fn:
                node["attrs"] = {"fn": fn}
            f.write(json.dumps({"format": "gnnperf-graph", "version": 1, "name": name,
                                "meta": {"source": "eval_neusight: a transformer node as a NeuSight kernel"},
                                "nodes": [node]}) + "\n")
    os.replace(jl + ".tmp", jl)
    h5 = os.path.join(work, "e2e_nodes.h5")
    run([gnndata, "pack", "-o", h5, jl])
    return h5, sorted(specs.values())


# ----------------------------------------------------------------- baseline

def baseline_features(f, b, peak, bw):
    f, b = max(f, 1.0), max(b, 1.0)
    return [1.0, math.log10(f), math.log10(b), math.log10(peak), math.log10(bw), math.log10(max(f / peak, b / bw))]


def fit_baseline(rows):
    """{class: coefficients} of log10 latency on the roofline-style features."""
    coef = {}
    for c in CLASSES:
        X = np.array([r["x"] for r in rows if r["cls"] == c])
        y = np.array([math.log10(r["latency"]) for r in rows if r["cls"] == c])
        if len(y) > 6:                          # 6 coefficients
            coef[c] = np.linalg.lstsq(X, y, rcond=None)[0]
    return coef


def baseline_predict(coef, c, x):
    return 10.0 ** float(np.dot(coef[c], x)) if c in coef else float("nan")


# ------------------------------------------------------------------ paper

def read_perop(path):
    """summary/perop.csv -> {predictor: {(ID|OOD, class): value}} and the raw rows."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 3 or rows[1][1:6] != rows[1][6:11]:
        die(f"{path}: unexpected layout")
    heads = rows[1]
    out = {}
    for r in rows[2:]:
        if not r or not r[0]:
            continue
        vals = {}
        for j in range(1, 11):
            part = "ID" if j <= 5 else "OOD"
            cls = [c for c in CLASSES if PEROP_NAME[c] == heads[j]]
            if not cls:
                die(f"{path}: unknown column {heads[j]!r}")
            vals[(part, cls[0])] = float(r[j])
        out[r[0]] = vals
    return out, rows


def perop_from_summary(summary):
    """perop.csv as NeuSight's table.py computes it from summary.csv."""
    sel = [r for r in summary if r["option"] == "" and "AMD" not in r["device"] and r["neusight_all_e2e_latency"]]
    out = {}
    for key, label in PREDICTORS:
        vals = {}
        for part, ood in (("ID", "False"), ("OOD", "True")):
            for c in CLASSES:
                v = [float(r[f"{key}_{SUMMARY_OP[c]}_e2e_err"]) for r in sel
                     if r["OOD"] == ood and r[f"{key}_{SUMMARY_OP[c]}_e2e_err"] not in ("", "inf")]
                vals[(part, c)] = sum(v) / len(v) if v else float("nan")
        out[label] = vals
    return out


def summary_key(r):
    return (r["device"], "%s-%s-%s-%s" % (r["model_name"], r["mode"], r["seqlen"], r["batch"]))


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "neusight_eval"))
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--dataset", help="an existing import (scripts/import_neusight.py --part all --pack); "
                                      "default: import into --work")
    ap.add_argument("--bmm-fc", choices=("disjoint", "train-gpus"), default="disjoint",
                    help="BMM/FC training rows (there is no train_bmm/train_linear): see the docstring")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ensemble", type=int, default=1,
                    help="train this many models (seeds --seed, --seed + 1, ...) and average their predictions "
                         "in log space (geometric mean)")
    ap.add_argument("--prior", choices=("none", "roofline", "roofline_sum"), default="roofline_sum",
                    help="gnntrain --prior: learn each kernel's time relative to FLOPs / peak FP32 + "
                         "bytes / bandwidth of its GPU (roofline_sum, default) or the larger of the two "
                         "(roofline); descriptors peak_fp32_gflops, mem_bw_gbs")
    ap.add_argument("--no-descriptors", action="store_true",
                    help="gnntrain --no-descriptors: no descriptor network (held-out GPUs then differ "
                         "only through the prior)")
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument("--gnn-args", default="", help="extra gnntrain options, e.g. '--hidden 128 --head-hidden 128'")
    a = ap.parse_args()
    if a.ensemble < 1:
        ap.error("--ensemble must be at least 1")
    if a.epochs < 1 or not 0 < a.val_frac < 1:
        ap.error("--epochs must be >= 1 and --val-frac in (0, 1)")
    d = data_dir()
    src = os.path.join(d, "neusight")
    gnntrain, gnndata = os.path.join(ROOT, "build", "gnntrain"), os.path.join(ROOT, "build", "gnndata")
    for b in (gnntrain, gnndata):
        if not os.access(b, os.X_OK):
            die(f"{b} is not built (cmake -S . -B build && cmake --build build)")
    os.makedirs(a.work, exist_ok=True)
    t0 = time.time()

    # ---- data
    if a.dataset:
        ds_path = os.path.abspath(a.dataset)
        if not os.path.isfile(ds_path):
            die(f"--dataset {a.dataset}: no such file")
    else:
        ds_path = os.path.join(os.path.abspath(a.work), "neusight.h5")
        if not os.path.exists(ds_path):
            log(f"importing {src} into {a.work}")
            run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "import_neusight.py"), "--data", d,
                 "--out-dir", a.work, "--pack", "--gnndata", gnndata])
    ds = Dataset(ds_path)
    for dev in TRAIN_GPUS + HELD_OUT:
        if dev not in ds.devices:
            die(f"{ds_path}: device {dev} is missing (devices: {', '.join(ds.devices)})")
    specs = device_specs(ds)
    kernels, absent = read_kernels(src, ds)
    log(f"{len(kernels)} kernel graphs in {ds_path}" + (f" ({absent} kernel rows not in it)" if absent else ""))
    lab = ds.node_labels.get("latency_ms")
    bad = 0
    for k in kernels:
        v = ds.off[ds.index[k["name"]]]
        y = lab[v, ds.devices.index(k["device"])] if lab is not None else float("nan")
        bad += not (abs(y - k["latency"]) <= 1e-6 * k["latency"])
        k["v"] = v
        f, b = ds.flops_bytes(v)
        k["x"] = baseline_features(f, b, *specs[k["device"]])
    if bad:
        die(f"{bad} kernel labels in {ds_path} differ from the CSVs in {src}/kernels")

    runs = read_runs(src, ds, set(TRAIN_GPUS + HELD_OUT)) if any(n.startswith("ns_") for n in ds.graphs) else []
    # the BMM/FC kernels of the scored transformer runs, keyed as the kernel tables key them
    run_shapes = {s for r in runs for n in r["nodes"] for s in [run_kernel_shape(n["spec"])] if s}

    # ---- split
    train_devs = set(TRAIN_GPUS)
    pool = []
    n_run_shape = 0
    for k in kernels:
        if k["device"] in train_devs and (k["split"] == "train" or k["cls"] in ("BMM", "FC")):
            half_b = zlib.crc32(k["shape"].encode()) % 2
            if k["split"] == "test" and a.bmm_fc == "disjoint" and (half_b or k["shape"] in run_shapes):
                k["part"] = "id_test"           # half B, or a run's own kernel: never trained on
                n_run_shape += not half_b
            else:
                pool.append(k)
        elif k["device"] in train_devs:
            k["part"] = "id_test"
        elif k["device"] in HELD_OUT:
            k["part"] = "heldout"
        else:
            k["part"] = None                    # a GPU outside the protocol (none in the shipped data)
    if any(k["split"] == "train" and k["device"] not in train_devs for k in kernels):
        die("a train_* kernel row is on a GPU outside the training GPUs: the data is not the paper's split")
    rnd = random.Random(a.seed)
    for k in pool:
        k["part"] = "val" if rnd.random() < a.val_frac else "train"
    trained_shapes = {k["shape"] for k in pool}
    for k in kernels:
        k["shape_seen"] = k["shape"] in trained_shapes
        # the counted rows: EW/LN/Softmax all (the paper's split), BMM/FC per --bmm-fc
        k["counted"] = k.get("part") in ("heldout", "id_test") and (
            a.bmm_fc == "train-gpus" or k["cls"] not in ("BMM", "FC") or not k["shape_seen"])

    if n_run_shape:
        log(f"{n_run_shape} training-GPU BMM/FC rows of half A are kernels of the transformer runs: not trained on")
    if not runs:
        log("the dataset has no transformer runs (ns_*): no per-op-class and end-to-end tables "
            "(import with --part all)")
    datasets = [ds_path]
    e2e_graphs = []
    if runs:
        e2e_h5, e2e_graphs = write_e2e_graphs(runs, a.work, gnndata)
        datasets.append(e2e_h5)
        e2e_ds = Dataset(e2e_h5)
        for r in runs:
            for n in r["nodes"]:
                f, b = e2e_ds.flops_bytes(e2e_ds.off[e2e_ds.index[n["graph"]]])
                n["x"] = baseline_features(f, b, *specs[r["device"]])
    split_path = os.path.join(a.work, "split.csv")
    with open(split_path + ".tmp", "w") as f:
        f.write("graph,part\n")
        for k in kernels:
            p = k.get("part")
            if p:
                f.write("%s,%s\n" % (k["name"], "test" if p in ("heldout", "id_test") else p))
        for g in e2e_graphs:
            f.write(f"{g},test\n")
    os.replace(split_path + ".tmp", split_path)
    n_part = collections.Counter(k.get("part") for k in kernels)
    n_vec_seen = sum(1 for k in kernels if k.get("part") == "heldout" and k["cls"] not in ("BMM", "FC") and k["shape_seen"])
    if n_vec_seen:
        log(f"{n_vec_seen} held-out EW/LN/Softmax rows have a shape that a train_* file also has (kept, as in the paper)")
    log("split: %d train, %d val, %d held-out GPU test, %d training-GPU test kernels, %d transformer-node graphs"
        % (n_part["train"], n_part["val"], n_part["heldout"], n_part["id_test"], len(e2e_graphs)))

    # ---- gnntrain: one model per seed; an ensemble averages log predictions
    seeds = [a.seed + i for i in range(a.ensemble)]
    logsum = collections.defaultdict(float)
    for seed in seeds:
        wdir = a.work if len(seeds) == 1 else os.path.join(a.work, f"seed{seed}")
        os.makedirs(wdir, exist_ok=True)
        model = os.path.join(wdir, "model.h5")
        preds_path = os.path.join(wdir, "predictions.csv")
        cfg_path = os.path.join(wdir, "run_config.json")
        config = {"datasets": datasets, "dataset_mtime": os.path.getmtime(ds_path), "epochs": a.epochs,
                  "seed": seed, "bmm_fc": a.bmm_fc, "val_frac": a.val_frac, "n_e2e_graphs": len(e2e_graphs),
                  "prior": a.prior, "descriptors": not a.no_descriptors, "featurizer": featurizer_version(),
                  "gnn_args": a.gnn_args, "gnntrain": tool_hash(os.path.join(ROOT, "build", "gnntrain")),
                  "threads": a.threads}
        old = json.load(open(cfg_path)) if os.path.exists(cfg_path) else None
        if old == config and os.path.exists(preds_path) and os.path.exists(model):
            log(f"reusing {model} and {preds_path} (same settings)")
        else:
            if os.path.exists(cfg_path):
                os.remove(cfg_path)
            cmd = [gnntrain, *datasets, "-o", model, "--split-file", split_path, "--node-target", "latency_ms",
                   "--no-graph-targets", "--epochs", str(a.epochs), "--seed", str(seed), "--threads", str(a.threads),
                   "--log", os.path.join(wdir, "train_log.jsonl"),
                   "--metrics", os.path.join(wdir, "test_metrics.json"), "--predictions", preds_path]
            if a.prior != "none":
                cmd += ["--prior", a.prior, "--prior-peak", "peak_fp32_gflops", "--prior-bw", "mem_bw_gbs"]
            if a.no_descriptors:
                cmd.append("--no-descriptors")
            cmd += shlex.split(a.gnn_args)
            for dev in TRAIN_GPUS + HELD_OUT:
                cmd += ["--device", dev]
            for dev in HELD_OUT:
                cmd += ["--holdout-device", dev]
            log("training: " + " ".join(cmd))
            with open(os.path.join(wdir, "gnntrain_test_table.txt"), "w") as out:
                run(cmd, stdout=out)
            json.dump(config, open(cfg_path, "w"), indent=1)
        n_read = 0
        with open(preds_path, newline="") as f:
            for r in csv.DictReader(f):
                if r["node"] and r["target"] == "latency_ms":
                    logsum[(r["graph"], r["device"])] += math.log(max(float(r["predicted"]), 1e-30))
                    n_read += 1
        if n_read != len(logsum):
            die(f"{preds_path}: {n_read} predictions, the other seeds' files have {len(logsum)}")
    pred = {k: math.exp(v / len(seeds)) for k, v in logsum.items()}
    seen_devs = {dv for _, dv in pred}
    missing = [dv for dv in HELD_OUT if dv not in seen_devs]
    if missing:
        die(f"the predictions have none for the held-out {missing}")
    log(f"{len(pred)} predictions read; held-out GPUs present: {', '.join(SHORT[d] for d in HELD_OUT)}")

    # ---- baseline
    coef = fit_baseline([k for k in kernels if k.get("part") in ("train", "val")])
    results = {"protocol": {"train_gpus": TRAIN_GPUS, "held_out": HELD_OUT, "bmm_fc": a.bmm_fc, "epochs": a.epochs,
                            "seed": a.seed, "ensemble": a.ensemble, "prior": a.prior,
                            "descriptors": not a.no_descriptors, "dataset": ds_path, "split_counts": dict(n_part)},
               "baseline_coefficients": {c: [float(x) for x in v] for c, v in coef.items()}}
    for k in kernels:
        if k.get("part") in ("heldout", "id_test"):
            k["gnn"] = pred.get((k["name"], k["device"]), float("nan"))
            k["base"] = baseline_predict(coef, k["cls"], k["x"])
    if any(math.isnan(k["gnn"]) for k in kernels if k.get("part") in ("heldout", "id_test")):
        die("some test kernels have no prediction in " + preds_path)

    # ---- per-kernel tables
    def cell(sel, key):
        return fmt(mape([k[key] for k in sel], [k["latency"] for k in sel]), len(sel)) if sel else "-"

    cols = [(SHORT[dv], lambda k, dv=dv: k["part"] == "heldout" and k["device"] == dv) for dv in HELD_OUT]
    cols.append(("held-out, pooled", lambda k: k["part"] == "heldout"))
    cols.append(("training GPUs, unseen kernels", lambda k: k["part"] == "id_test"))
    per_kernel = {}
    rows = []
    for method, key in (("gnnperf", "gnn"), ("log-linear roofline baseline", "base")):
        for c in CLASSES + ["all"]:
            row = [method, c]
            for cname, test in cols:
                sel = [k for k in kernels if k["counted"] and test(k) and (c == "all" or k["cls"] == c)]
                row.append(cell(sel, key))
                if sel:
                    per_kernel.setdefault(method, {}).setdefault(cname, {})[c] = {
                        "mape": mape([k[key] for k in sel], [k["latency"] for k in sel]), "n": len(sel),
                        "median_ape": float(np.median([abs(k[key] - k["latency"]) / k["latency"] * 100 for k in sel]))}
            rows.append(row)
    print(f"NeuSight kernels, zero-shot on held-out GPUs; gnnperf trained {a.epochs} epochs on "
          f"{', '.join(SHORT[d] for d in TRAIN_GPUS)} (--bmm-fc {a.bmm_fc}, --prior {a.prior}"
          f"{', no descriptors' if a.no_descriptors else ''}"
          f"{f', ensemble of {a.ensemble} seeds from {a.seed}' if a.ensemble > 1 else f', seed {a.seed}'})")
    md_table("Per-kernel MAPE % (rows counted)", ["method", "op class"] + [c for c, _ in cols], rows)
    # BMM/FC by whether the shape was trained on (on a training GPU)
    rows = []
    for method, key in (("gnnperf", "gnn"), ("baseline", "base")):
        for c in ("BMM", "FC"):
            for seen in (True, False):
                sel = [k for k in kernels if k.get("part") == "heldout" and k["cls"] == c and k["shape_seen"] == seen]
                rows.append([method, c, "trained on a training GPU" if seen else "never trained on",
                             *[cell([k for k in sel if k["device"] == dv], key) for dv in HELD_OUT], cell(sel, key)])
                per_kernel.setdefault(method + " by shape", {})[f"{c} {'seen' if seen else 'unseen'}"] = (
                    mape([k[key] for k in sel], [k["latency"] for k in sel]) if sel else None)
    md_table("Held-out BMM/FC kernels by shape (all rows)", ["method", "op class", "shape"]
             + [SHORT[d] for d in HELD_OUT] + ["pooled"], rows)
    # Is the error a level (bias) or a shape (spread)? Mean and sd of ln(pred / measured).
    rows = []
    for c in CLASSES:
        row = [c]
        for dv in HELD_OUT:
            e = [math.log(k["gnn"] / k["latency"]) for k in kernels
                 if k["counted"] and k.get("part") == "heldout" and k["device"] == dv and k["cls"] == c]
            row.append(f"{np.mean(e):+.2f} / {np.std(e):.2f}" if e else "-")
            if e:
                per_kernel.setdefault("gnnperf ln error", {}).setdefault(SHORT[dv], {})[c] = {
                    "mean": float(np.mean(e)), "sd": float(np.std(e)), "n": len(e)}
        rows.append(row)
    md_table("gnnperf on held-out GPUs: mean / sd of ln(predicted / measured) per kernel",
             ["op class"] + [SHORT[d] for d in HELD_OUT], rows)
    # How close each GPU's large GEMMs come to the peak its descriptor gives:
    # the level a zero-shot model has to guess for a GPU it never saw.
    peak = {dv: p for dv, (p, _) in specs.items()}
    rows = []
    for dv in TRAIN_GPUS + HELD_OUT:
        row = [SHORT[dv] + (" (held out)" if dv in HELD_OUT else "")]
        for c in ("BMM", "FC"):
            sel = [k for k in kernels if k["device"] == dv and k["cls"] == c]
            if not sel:
                row.append("-")
                continue
            fl = np.array([2.0 * prod(k["shape"].split(":")[1].split(",")) for k in sel])
            big = fl > np.quantile(fl, 0.7)
            achieved = fl[big] / (np.array([k["latency"] for k in sel])[big] * 1e-3)
            row.append(f"{np.median(achieved) / 1e12:.1f} TFLOP/s = {np.median(achieved) / peak[dv] * 100:.0f} %")
        rows.append(row)
    md_table("Largest 30 % of BMM / FC kernels by FLOPs: median achieved FP32 rate and its share of the "
             "descriptor's peak (all rows, training and test)", ["GPU", "BMM", "FC"], rows)
    ew = {}
    for dv in HELD_OUT:
        for op in ELEM_OPS:
            sel = [k for k in kernels if k["counted"] and k["part"] == "heldout" and k["device"] == dv and k["op"] == op]
            if sel:
                ew.setdefault(SHORT[dv], {})[op] = {"gnnperf": mape([k["gnn"] for k in sel], [k["latency"] for k in sel]),
                                                    "baseline": mape([k["base"] for k in sel], [k["latency"] for k in sel]),
                                                    "n": len(sel)}
    results["per_kernel"] = per_kernel
    results["per_kernel_ew_by_op"] = ew

    # ---- the paper's numbers
    perop, perop_rows = read_perop(os.path.join(src, "summary", "perop.csv"))
    summary = read_csv(os.path.join(src, "summary", "summary.csv"))
    recomputed = perop_from_summary(summary)
    dev_max = max(abs(recomputed[p][key] - perop[p][key]) for p in perop for key in perop[p]
                  if not math.isnan(recomputed[p][key]))
    print("\nsummary/perop.csv (published; APE of per-class latency summed over whole-model runs, not per kernel):")
    for r in perop_rows:
        print("  " + ",".join(x if not x.replace(".", "", 1).isdigit() else f"{float(x):.1f}" for x in r))
    print(f"  (recomputed from summary/summary.csv the way NeuSight's table.py does: max deviation {dev_max:.2g})")
    rows = []
    for method in ("gnnperf", "log-linear roofline baseline"):
        res = per_kernel.get(method, {}).get("held-out, pooled", {})
        rows.append([f"{method} (per kernel, held-out GPUs)"] + [fmt(res.get(c, {}).get("mape")) for c in CLASSES])
    for p in perop:
        rows.append([f"{p} (published, OOD, per-op-class sums)"] + [fmt(perop[p][("OOD", c)]) for c in CLASSES])
    md_table("Held-out MAPE % beside perop.csv's out-of-distribution columns", ["method"] + CLASSES, rows)
    results["perop_published"] = {p: {f"{part} {c}": v for (part, c), v in vals.items()} for p, vals in perop.items()}
    results["perop_recomputed_max_deviation"] = dev_max
    target = {c: perop["NeuSight"][("OOD", c)] for c in CLASSES}
    res = per_kernel.get("gnnperf", {}).get("held-out, pooled", {})
    print("issue target (per kernel below NeuSight's OOD figure): " + ", ".join(
        f"{c} {fmt(res.get(c, {}).get('mape'))} vs {target[c]:.1f} {'met' if res.get(c, {}).get('mape', 1e9) < target[c] else 'not met'}"
        for c in CLASSES))

    # ---- per-op-class sums over transformer runs and end to end
    if runs:
        summ = {summary_key(r): r for r in summary if r["option"] == ""}
        label_dev = 0.0
        per_run = []
        for r in runs:
            s = summ.get((r["device"], r["run"]))
            mode_tag = "e2e" if r["mode"] == "inf" else "fw"
            rec = {"device": r["device"], "run": r["run"], "mode": r["mode"], "classes": {}}
            ood_model = r["model"] in OOD_MODELS
            rec["group"] = ("held-out GPU" if r["device"] in HELD_OUT else
                            "training GPU, OOD model" if ood_model else "training GPU, ID model")
            tot = {"label": 0.0, "gnn": 0.0, "base": 0.0}
            for c in CLASSES:
                sel = [n for n in r["nodes"] if n["cls"] == c]
                lab_s = sum(n["mult"] * n["label"] for n in sel)
                gnn_s = sum(n["mult"] * pred[(n["graph"], r["device"])] for n in sel)
                base_s = sum(n["mult"] * baseline_predict(coef, c, n["x"]) for n in sel)
                tot["label"] += lab_s
                tot["gnn"] += gnn_s
                tot["base"] += base_s
                cr = {"label_ms": lab_s, "gnnperf_ms": gnn_s, "baseline_ms": base_s}
                if lab_s > 0:
                    cr["gnnperf_ape"] = abs(gnn_s - lab_s) / lab_s * 100
                    cr["baseline_ape"] = abs(base_s - lab_s) / lab_s * 100
                if s is not None:
                    col = f"label_{SUMMARY_OP[c]}_{mode_tag}_latency"
                    if s.get(col):
                        label_dev = max(label_dev, abs(float(s[col]) - lab_s) / max(float(s[col]), 1e-9))
                    for key, name in PREDICTORS:
                        v = s.get(f"{key}_{SUMMARY_OP[c]}_{mode_tag}_err", "")
                        if v not in ("", "inf"):
                            cr[f"{name} (paper)_ape"] = float(v)
                rec["classes"][c] = cr
            meas = r["measured_ms"]
            rec["e2e"] = {"measured_ms": meas, "covered_label_share": tot["label"] / meas,
                          "gnnperf_ms": tot["gnn"], "baseline_ms": tot["base"],
                          "gnnperf_ape": abs(tot["gnn"] - meas) / meas * 100,
                          "baseline_ape": abs(tot["base"] - meas) / meas * 100,
                          "covered_label_ape": abs(tot["label"] - meas) / meas * 100}
            if s is not None and s.get(f"neusight_all_{mode_tag}_err"):
                rec["e2e"]["NeuSight (paper)_ape"] = float(s[f"neusight_all_{mode_tag}_err"])
            per_run.append(rec)
        results["per_run"] = per_run
        results["label_sum_max_rel_deviation_vs_summary"] = label_dev

        groups = [(SHORT[dv], lambda x, dv=dv: x["device"] == dv) for dv in HELD_OUT]
        groups.append(("held-out, pooled", lambda x: x["group"] == "held-out GPU"))
        groups.append(("paper's OOD set", lambda x: x["group"] != "training GPU, ID model"))
        groups.append(("paper's ID set", lambda x: x["group"] == "training GPU, ID model"))
        methods = [("gnnperf", "gnnperf_ape"), ("log-linear roofline baseline", "baseline_ape")] + \
                  [(f"{name} (paper, same runs)", f"{name} (paper)_ape") for _, name in PREDICTORS]
        agg = {}
        for gname, test in groups:
            sel = [x for x in per_run if test(x)]
            both = [x for x in sel if all("NeuSight (paper)_ape" in x["classes"][c] for c in ("BMM", "FC"))]
            for mname, key in methods:
                for c in CLASSES:
                    # only runs the paper scored too, so both columns average the same runs
                    v = [x["classes"][c][key] for x in both if key in x["classes"][c] and
                         "NeuSight (paper)_ape" in x["classes"][c]]
                    agg.setdefault(gname, {}).setdefault(mname, {})[c] = (sum(v) / len(v), len(v)) if v else None
            agg[gname]["runs"] = (len(sel), len(both))
        for gname, _ in groups:
            rows = []
            for mname, _ in methods:
                rows.append([mname] + [fmt(*agg[gname][mname][c]) if agg[gname][mname][c] else "-" for c in CLASSES])
            n_all, n_both = agg[gname]["runs"]
            md_table(f"Per-op-class MAPE % over whole-model runs, forward latency: {gname} "
                     f"({n_both} runs scored by the paper too, of {n_all}; cells: mean APE (runs))",
                     ["method"] + CLASSES, rows)
        ood = agg["paper's OOD set"]
        print("issue target, like for like (per-op-class sums, forward, paper's OOD set, same runs): " + ", ".join(
            f"{c} gnnperf {fmt(ood['gnnperf'][c][0] if ood['gnnperf'][c] else None)} vs NeuSight "
            f"{fmt(ood['NeuSight (paper, same runs)'][c][0] if ood['NeuSight (paper, same runs)'][c] else None)}"
            for c in CLASSES))
        results["per_op_class_sums"] = {g: {m: ({c: v[0] for c, v in d.items() if v} if isinstance(d, dict) else d)
                                            for m, d in vals.items()} for g, vals in agg.items()}
        print(f"\nlabel check: per-class label sums vs summary.csv's label columns, max relative deviation "
              f"{label_dev:.2g}")

        rows = []
        for x in per_run:
            if x["device"] not in HELD_OUT:
                continue
            e = x["e2e"]
            rows.append([SHORT[x["device"]], x["run"], f"{e['measured_ms']:.1f}",
                         f"{100 * e['covered_label_share']:.0f}%", f"{e['gnnperf_ms']:.1f}", fmt(e["gnnperf_ape"]),
                         f"{e['baseline_ms']:.1f}", fmt(e["baseline_ape"]), fmt(e.get("NeuSight (paper)_ape"))])
        md_table("End to end on the held-out GPUs (forward: inference e2e, training runs fw only); predicted = "
                 "compute nodes only", ["GPU", "run", "measured ms", "compute share", "gnnperf ms", "gnnperf APE %",
                                         "baseline ms", "baseline APE %", "NeuSight APE % (paper)"], rows)
        e2e_sum = {}
        for gname, test in groups[:4]:
            sel = [x["e2e"] for x in per_run if test(x)]
            e2e_sum[gname] = {k: float(np.mean([e[k] for e in sel])) for k in
                              ("gnnperf_ape", "baseline_ape", "covered_label_ape")} if sel else None
            if sel:
                ns = [e["NeuSight (paper)_ape"] for e in sel if "NeuSight (paper)_ape" in e]
                e2e_sum[gname]["NeuSight (paper)_ape"] = float(np.mean(ns)) if ns else None
                e2e_sum[gname]["runs"] = len(sel)
        results["e2e_mean"] = e2e_sum
        print("end-to-end mean APE %: " + "; ".join(
            f"{g}: gnnperf {fmt(v['gnnperf_ape'])}, baseline {fmt(v['baseline_ape'])}, compute nodes measured "
            f"{fmt(v['covered_label_ape'])}, NeuSight {fmt(v['NeuSight (paper)_ape'])} ({v['runs']} runs)"
            for g, v in e2e_sum.items() if v))
    results["seconds"] = time.time() - t0
    with open(os.path.join(a.work, "results.json.tmp"), "w") as f:
        json.dump(results, f, indent=1)
    os.replace(os.path.join(a.work, "results.json.tmp"), os.path.join(a.work, "results.json"))
    log(f"wrote {os.path.join(a.work, 'results.json')} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
