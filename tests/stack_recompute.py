"""A checkpoint's /stack prediction recomputed from its documented format
(docs/checkpoint-format.md) and a dataset's nodes, for test_train_cli.sh.

stacked_ln(checkpoint, dataset, source_csv) -> {graph name: ln of the stack's
prediction of graph target 0}, with source_csv holding gnnpredict's CSV of
the stack's single source device; graph_metrics (check_adapted: printed and
checked) and graph_predictions read gnnadapt's metrics JSON and
gnnpredict's CSV at the graph level."""
import csv
import json
import math

import h5py
import numpy as np


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


def graph_metrics(path):
    """The first graph-level row of a --metrics JSON file."""
    return [r for r in json.load(open(path)) if r["level"] == "graph"][0]


def check_adapted(path, method, n):
    """graph_metrics of an adaptation's --metrics file, printed; n graphs scored, rho > 0.8."""
    g = graph_metrics(path)
    print(f"adapted ({method}) synth_slow from 20 shots: rho {g['spearman']:.3f}, MAPE {g['mape']:.1f}% on {g['n']} graphs")
    assert g["n"] == n and g["spearman"] > 0.8, g
    return g


def graph_predictions(path):
    """{graph name: predicted value} of a gnnpredict --format csv file's graph rows."""
    return {r["graph"]: float(r["predicted"]) for r in csv.DictReader(open(path)) if not r["node"]}


def stacked_ln(checkpoint, dataset, source_csv):
    st = h5py.File(checkpoint)["stack"]
    classes = list(zip(map(_s, st["class_kind"][()]), map(_s, st["class_fn"][()]), st["class_kernel"][()]))
    coef = st["coef"][()]
    assert coef.shape == (1, 4 + len(classes)) and np.isfinite(coef).all() and classes, (coef.shape, classes)
    d = h5py.File(dataset)
    names = [_s(n) for n in d["graphs/names"][()]]
    off = d["graphs/node_offsets"][()]
    kv = [_s(v) for v in d["nodes/kind"].attrs["vocabulary"]]
    fv = [_s(v) for v in d["nodes/fn"].attrs["vocabulary"]]
    node_cls = list(zip([kv[k] for k in d["nodes/kind"][()]], [fv[k] for k in d["nodes/fn"][()]],
                        d["nodes/kernel"][()][:, 0]))
    # FLOPs and bytes of the C cost model, from the cached features (log10(1 + x), float32)
    feat = d["nodes/features"]
    col = [_s(c) for c in feat.attrs["column_names"]]
    raw = lambda c: 10.0 ** feat[:, col.index(c)].astype(np.float64) - 1.0  # noqa: E731
    flops = raw("log_flops")
    nbytes = raw("log_bytes_in") + raw("log_bytes_out") + raw("log_bytes_param")
    src = graph_predictions(source_csv)
    out = {}
    for gi, name in enumerate(names):
        a, b = off[gi], off[gi + 1]
        cnt = [sum(1 for c in node_cls[a:b] if c == k) for k in classes]
        x = [math.log(src[name]), math.log1p(flops[a:b].sum()), math.log1p(nbytes[a:b].sum())] + cnt
        out[name] = coef[0, 0] + sum(c * v for c, v in zip(coef[0, 1:], x))
    return out
