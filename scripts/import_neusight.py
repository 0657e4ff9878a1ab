#!/usr/bin/python3
"""Import NeuSight's GPU latency data (per-node transformer runs, per-kernel tables).

    import_neusight.py [--data DIR] [--part all|models|kernels] [--indices 0-9]
                       [--kernel-indices 0-999] --out-dir DIR [--pack] [--gnndata PATH]

Reads ../shared/data/neusight/ (see its README.md) and writes into --out-dir
graphs.jsonl, labels.csv, devices.csv and, with --pack, neusight.h5:

(a) models/node_labels_one_layer.csv: one graph per run (model x GPU x mode x
    sequence length x batch; 114 runs), named ns_<device>_<run>, from the
    torch.fx nodes and their edges (input_nodes), shapes and dtypes.  The fx
    nodes are converted the way scripts/torchprof/tograph.py converts traced
    models for the project's own CPU dataset:
      * placeholder -> input, output -> output;
      * non-tensor values (x.size(), getitem of sizes, shape arithmetic,
        getattr of dtypes, torch.finfo) are not nodes;
      * constants are not nodes: get_attr (parameters, buffers) and tensors
        that do not depend on a graph input (masks built from shapes with
        torch.ones/full/arange, position ids sliced from a buffer).  A node
        reading one lists its shape as an extra in_shapes entry, except
        linear, layernorm and embedding (their weights are parameters);
      * a tuple-returning op (split, torch.max with dim) is a node whose
        out_shape is its first element's; when a single getitem/getattr
        reads it, that read is folded into it, otherwise each getitem is a
        view node;
      * in-place writes (setitem, masked_fill_) are nodes, and later readers
        of the written tensor read the write (so the MoE experts of the
        Switch run hang off the dispatch setitem, as they execute);
      * ops map to graph/ops.h by the tables FUNCTIONS and MODULES below;
        an fx op or module name not in them fails the import.
    Labels, per node, from the run's GPU: inference runs (mode inf) give
    latency_ms; training runs give train_latency_ms (forward + backward +
    gradient accumulation, the CSV's latency_ms) and train_fw_latency_ms
    (forward only), so a forward graph is never labelled with backward time
    under latency_ms.  Input/output markers get no labels.  The latency of
    nodes that are not graph nodes (non-tensor, constants, folded reads) is
    summed in the graph's meta (hidden_latency_ms) and reported.
    Per graph: the data has no measured total for the one-layer graph, only
    the end-to-end latency of the whole model (num_layer layers) in
    models/e2e_labels.csv; it is stored under its own targets,
    full_model_latency_ms (inference) and full_model_train_latency_ms
    (training), never as latency_ms.
(b) kernels/{train,test}_*.csv: one single-node graph per row (a kernel
    measured alone, so the node has in_shapes and no inputs), named
    nsk_<file>_<row>, op from OPName (bmm, linear, layernorm, softmax, add,
    mul, elementwise div/pow, activation relu/gelu/tanh; the "u" variants
    addu/mulu/divu/powu take a Python scalar, so one input), shapes from
    NeuSight's profiler (neusight/Dataset/collect.py): bmm (B,M,N)@(B,N,K),
    linear (B,M,N)->(B,M,K) with bias, element-wise/ln/softmax (B,H).
    Labels: latency_ms on the row's GPU, on the node and on the graph (the
    same measurement).  Graph meta: split (train/test, the file prefix, as in
    the paper), kernel name, launch geometry.  test_vec.csv is exactly the
    rows of test_elem + test_ln + test_softmax again (checked) and is skipped.
(c) device_configs/*.json: devices.csv with mem_gb, mem_bw_gbs, sms,
    cores_per_sm, clock_mhz, peak_fp32_gflops, peak_fp32_matrix_gflops and
    l2_mb for every GPU that has labels.  Names are the config file names
    (NVIDIA_L4, Tesla_V100-PCIE-32GB), which the model CSVs use; the kernel
    CSVs' names ("NVIDIA L4") map by spaces -> underscores.  AMD configs give
    SingleFLOPsVEC (vector FP32, -> peak_fp32_gflops) and SingleFLOPsMM
    (matrix FP32, -> peak_fp32_matrix_gflops); NVIDIA configs give SingleFLOPs
    (-> peak_fp32_gflops) and no matrix figure (left empty).

Checks (a failure exits 1): expected columns; 114 node-label runs, 149 e2e
runs (114 with node labels, each matching a node-label run, same node
count, same latency sum); node names unique per run; every input node
defined earlier; input_shapes agree with the producers' output shapes;
latency_ms = fw + bw + acc per node and bw = acc = 0 in inference runs;
known fx ops/modules only; kernel files and row counts as pinned below;
OPName valid for its file; shapes positive integers; latencies finite and
>= 0 (empty cells skipped and counted); every labelled device has a config.
"""

import argparse
import ast
import collections
import glob
import json
import math
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import gpgraph  # noqa: E402
from import_nb201 import (DeviceTable, ImportFailure, GraphWriter, Labels, add_common_args, all_or_nothing, log, pack,  # noqa: E402
                          parse_value, read_csv, resolve_data_dir, run_main)

PROG = "import_neusight"
N_NODE_RUNS = 114
N_E2E_RUNS = 149

# kernel files -> (rows, OPName values allowed).  The README gives no row
# counts; these are the files of sitar-lab/NeuSight @ 6945927 as shipped in
# the shared folder (it has no train_bmm / train_linear: the training side
# holds element-wise, layernorm and softmax kernels only).
ELEM_OPS = ("add", "mul", "pow", "div", "addu", "mulu", "powu", "divu", "relu", "gelu", "tanh")
KERNEL_FILES = {
    "train_elem": (8250, ELEM_OPS),
    "train_ln": (1505, ("ln",)),
    "train_softmax": (1500, ("softmax",)),
    "test_bmm": (13461, ("bmm",)),
    "test_linear": (8254, ("linear",)),
    "test_elem": (4558, ELEM_OPS),
    "test_ln": (533, ("ln",)),
    "test_softmax": (533, ("softmax",)),
    "test_vec": (5624, ELEM_OPS + ("ln", "softmax")),
}
VEC_UNION = ("test_elem", "test_ln", "test_softmax")   # test_vec == these, concatenated

# OPName -> (op, fn, binary)
KERNEL_OPS = {
    "add": ("add", None, True), "mul": ("mul", None, True),
    "div": ("elementwise", "div", True), "pow": ("elementwise", "pow", True),
    "addu": ("add", None, False), "mulu": ("mul", None, False),
    "divu": ("elementwise", "div", False), "powu": ("elementwise", "pow", False),
    "relu": ("activation", "relu", False), "gelu": ("activation", "gelu", False),
    "tanh": ("activation", "tanh", False),
    "ln": ("layernorm", None, False), "softmax": ("softmax", None, False),
}

DTYPES = {"torch.float32": "float32", "torch.float16": "float16", "torch.bfloat16": "bfloat16",
          "torch.float64": "float64", "torch.int8": "int8", "torch.uint8": "uint8",
          "torch.int32": "int32", "torch.int64": "int64", "torch.bool": "bool"}

# normalised call_function / call_method name -> (op, fn); "mm", "cast",
# "minmax" are resolved per node (operands, dtypes)
FUNCTIONS = {
    "add": ("add", None), "iadd": ("add", None),
    "mul": ("mul", None), "imul": ("mul", None),
    "sub": ("elementwise", "sub"), "truediv": ("elementwise", "div"), "div": ("elementwise", "div"),
    "pow": ("elementwise", "pow"), "neg": ("elementwise", "neg"), "abs": ("elementwise", "abs"),
    "rsqrt": ("elementwise", "rsqrt"), "sqrt": ("elementwise", "sqrt"), "log": ("elementwise", "log"),
    "exp": ("elementwise", "exp"),
    "where": ("elementwise", "where"), "masked_fill": ("elementwise", "where"),
    "eq": ("elementwise", "other"), "ne": ("elementwise", "other"), "gt": ("elementwise", "other"),
    "lt": ("elementwise", "other"), "le": ("elementwise", "other"), "ge": ("elementwise", "other"),
    "tanh": ("activation", "tanh"), "gelu": ("activation", "gelu"), "relu": ("activation", "relu"),
    "sigmoid": ("activation", "sigmoid"), "silu": ("activation", "silu"),
    "softmax": ("softmax", None),
    "embedding": ("embedding", None),
    "layer_norm": ("layernorm", None),
    "linear": ("linear", None),
    "cat": ("concat", None),
    "matmul": ("mm", None), "bmm": ("mm", None), "addmm": ("mm", None), "baddbmm": ("mm", None),
    "max": ("minmax", "maximum"), "min": ("minmax", "minimum"),
    "to": ("cast", None), "type": ("cast", None), "type_as": ("cast", None), "float": ("cast", None),
    "long": ("cast", None), "bool": ("cast", None), "half": ("cast", None), "int": ("cast", None),
    "zeros_like": ("elementwise", "zero"),
    "mean": ("other", None), "sum": ("other", None), "logsumexp": ("other", None),
    "cumsum": ("other", None), "argmax": ("other", None), "count_nonzero": ("other", None),
    "one_hot": ("other", None), "setitem": ("other", None), "repeat": ("other", None),
    "arange": ("other", None), "full": ("other", None), "full_like": ("other", None),
    "ones": ("other", None), "zeros": ("other", None), "tensor": ("other", None),
}
for _v in ("view", "reshape", "permute", "transpose", "contiguous", "unsqueeze", "squeeze",
           "expand", "flatten", "getitem", "getattr", "split", "chunk", "clone", "dropout",
           "detach"):
    FUNCTIONS[_v] = ("view", None)

# ops returning a tuple of tensors (their CSV row has no dtype)
TUPLE_OPS = ("split", "chunk", "max", "min", "topk", "sort", "unbind")
# ops whose parameter reads are not extra in_shapes (as in tograph.PARAM_OPS)
PARAM_OPS = ("conv2d", "dwconv2d", "linear", "batchnorm", "layernorm", "embedding")

# last component of a call_module path -> op
MODULES = {}
for _m in ("word_embeddings", "position_embeddings", "token_type_embeddings", "wte", "wpe",
           "embed_tokens", "embed_positions", "relative_attention_bias", "shared"):
    MODULES[_m] = "embedding"
for _m in ("LayerNorm", "layer_norm", "ln_1", "ln_2", "ln_f", "final_layer_norm",
           "self_attn_layer_norm"):
    MODULES[_m] = "layernorm"
for _m in ("query", "key", "value", "dense", "q", "k", "v", "o", "q_proj", "k_proj", "v_proj",
           "out_proj", "fc1", "fc2", "wi", "wo", "lm_head", "classifier", "decoder",
           "seq_relationship", "c_fc", "c_proj", "c_attn"):
    MODULES[_m] = "linear"
for _m in ("dropout", "drop", "attn_dropout", "resid_dropout"):
    MODULES[_m] = "view"
for _m in ("act", "activation", "activation_fn", "intermediate_act_fn"):
    MODULES[_m] = "activation"
MODULES["softmax"] = "softmax"

# the activation of a model's "act"/"activation_fn" modules, from its config;
# BERT's pooler.activation is nn.Tanh whatever hidden_act says
ACT_FROM_CONFIG = {"gelu": "gelu", "gelu_new": "gelu", "relu": "relu", "tanh": "tanh",
                   "silu": "silu"}
MODEL_CONFIG_ALIAS = {"switch4": "switchxl4"}

CONFIG_KEYS = {"Device", "Dev_Mem", "Mem_Bw", "Num_Sm", "Core_Per_SM", "Freq", "L2Cache",
               "SingleFLOPs", "SingleFLOPsMM", "SingleFLOPsVEC"}
DEVICE_COLUMNS = ("mem_gb", "mem_bw_gbs", "sms", "cores_per_sm", "clock_mhz", "peak_fp32_gflops",
                  "peak_fp32_matrix_gflops", "l2_mb")


def norm_device(name):
    return name.strip().replace(" ", "_")


# ---------------------------------------------------------------- devices

def read_device_configs(folder):
    """{canonical name: {descriptor: value}}, canonical = file name stem."""
    out = {}
    notes = []
    files = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not files:
        raise ImportFailure("%s: no device configs" % folder)
    for p in files:
        stem = os.path.splitext(os.path.basename(p))[0]
        with open(p, encoding="utf-8") as f:
            try:
                cfg = json.load(f)
            except json.JSONDecodeError as e:
                raise ImportFailure("%s: invalid JSON: %s" % (p, e)) from None
        extra = set(cfg) - CONFIG_KEYS
        if extra:
            raise ImportFailure("%s: unknown keys %s" % (p, sorted(extra)))
        need = {"Device", "Dev_Mem", "Mem_Bw", "Num_Sm", "Core_Per_SM", "Freq", "L2Cache"}
        if not need <= set(cfg):
            raise ImportFailure("%s: missing keys %s" % (p, sorted(need - set(cfg))))
        if "SingleFLOPs" in cfg:
            peak, mm = cfg["SingleFLOPs"], None
        elif "SingleFLOPsVEC" in cfg and "SingleFLOPsMM" in cfg:
            peak, mm = cfg["SingleFLOPsVEC"], cfg["SingleFLOPsMM"]
        else:
            raise ImportFailure("%s: no SingleFLOPs (nor SingleFLOPsVEC + SingleFLOPsMM)" % p)
        vals = {"mem_gb": cfg["Dev_Mem"], "mem_bw_gbs": cfg["Mem_Bw"], "sms": cfg["Num_Sm"],
                "cores_per_sm": cfg["Core_Per_SM"], "clock_mhz": cfg["Freq"],
                "peak_fp32_gflops": peak, "peak_fp32_matrix_gflops": mm, "l2_mb": cfg["L2Cache"]}
        for k, v in vals.items():
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or not math.isfinite(v) or v <= 0):
                raise ImportFailure("%s: %s = %r is not a positive number" % (p, k, v))
        if norm_device(cfg["Device"]) != stem:
            notes.append("%s.json says Device %r" % (stem, cfg["Device"]))
        out[stem] = vals
    return out, notes


# ----------------------------------------------------------------- models

def parse_name_set(text, where):
    """'{a: None, b: None}' (an fx dict of nodes) -> ['a', 'b']."""
    s = text.strip()
    if not (s.startswith("{") and s.endswith("}")):
        raise ImportFailure("%s: expected {name: None, ...}, got %r" % (where, text[:80]))
    body = s[1:-1].strip()
    if not body:
        return []
    out = []
    for part in body.split(", "):
        n, sep, v = part.partition(": ")
        if not sep or v != "None" or not n:
            raise ImportFailure("%s: cannot parse %r" % (where, text[:80]))
        out.append(n)
    return out


def parse_literal(text, where):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ImportFailure("%s: cannot parse %r" % (where, text[:80])) from None


def fx_name(fx_op, target):
    """Normalised function/method name of a call_function/call_method row."""
    if fx_op == "call_method":
        name = target
    else:
        m = (re.match(r"<built-in (?:function|method) (\w+)", target)
             or re.match(r"<function (\w+)", target) or re.match(r"<class '([\w.]+)'>", target))
        if not m:
            raise ImportFailure("cannot read the function of target %r" % target)
        name = m.group(1).split(".")[-1]
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
    return name


def shape_of(v, where):
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list) or len(v) > gpgraph.MAX_RANK or \
            not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in v):
        raise ImportFailure("%s: bad shape %r" % (where, v))
    return v


class _N:
    """Per fx node bookkeeping."""

    def __init__(self, row, shape, dtype):
        self.row = row
        self.row_shape = shape      # output_shape as the CSV gives it
        self.shape = shape          # shape of the value (a tuple's: its element's)
        self.dtype = dtype          # our dtype name, None for non-tensors
        self.tensor = dtype is not None
        self.tuple = False
        self.dep = False            # depends on a graph input through tensors
        self.alias = None           # name of the graph node that holds the value
        self.node = None            # the emitted JSON node
        self.fold = False           # tuple whose single reader is folded into it


def model_act(model, cfg_dir, cache):
    """Activation fn of a model's act modules, from DLmodel_configs."""
    if model in cache:
        return cache[model]
    fname = MODEL_CONFIG_ALIAS.get(model, model)
    p = os.path.join(cfg_dir, fname + ".json")
    if not os.path.exists(p):
        raise ImportFailure("no model config %s for model %s (needed for its activation)" % (p, model))
    with open(p, encoding="utf-8") as f:
        cfg = json.load(f)
    act = cfg.get("activation_function") or cfg.get("hidden_act") or cfg.get("dense_act_fn")
    if act not in ACT_FROM_CONFIG:
        raise ImportFailure("%s: unknown activation %r" % (p, act))
    cache[model] = ACT_FROM_CONFIG[act]
    return cache[model]


def _classify_module(target, x, oshape, act_fn, where):
    last = target.split(".")[-1]
    if last not in MODULES:
        last = re.sub(r"_\d+$", "", last)          # softmax_0, softmax_1
    op = MODULES.get(last)
    if op is None:
        raise ImportFailure("%s: unknown module %r (last component %r): add it to MODULES"
                            % (where, target, last))
    fn = None
    if x is None:
        raise ImportFailure("%s: module %s reads no graph tensor" % (where, target))
    if op == "embedding":
        if x.dtype not in ("int64", "int32"):
            raise ImportFailure("%s: embedding module %s reads %s, not integers" % (where, target, x.dtype))
    elif op == "activation":
        fn = "tanh" if target.endswith("pooler.activation") else act_fn
        if fn is None:
            raise ImportFailure("%s: no activation known for module %s" % (where, target))
    if op in ("activation", "layernorm", "view", "softmax") and x.shape != oshape:
        raise ImportFailure("%s: %s module %s changes the shape %s -> %s"
                            % (where, op, target, x.shape, oshape))
    if op == "linear" and (len(x.shape) != len(oshape) or x.shape[:-1] != oshape[:-1]):
        raise ImportFailure("%s: module %s: %s -> %s is not a linear layer"
                            % (where, target, x.shape, oshape))
    return op, fn


def convert_run(device, run, rows, act_fn, stats):
    """Converts one run's fx rows: (graph name, nodes, {node: row}, hidden counts, hidden ms)."""
    gname = "ns_%s_%s" % (device, run)
    where0 = "run %s on %s" % (run, device)
    info = {}
    nodes, labels_of = [], {}
    hidden = collections.Counter()
    hidden_ms = 0.0
    users = {r["node"]: parse_name_set(r["users"], "%s node %s users" % (where0, r["node"]))
             for r in rows}
    fx_of = {r["node"]: r["fx_op"] for r in rows}

    for r in rows:
        nm = r["node"]
        where = "%s node %s" % (where0, nm)
        if nm in info:
            raise ImportFailure("%s: node name repeated" % where)
        ins = parse_name_set(r["input_nodes"], where + " input_nodes")
        for m in ins:
            if m not in info:
                raise ImportFailure("%s: reads %s, which is not an earlier node" % (where, m))
        ishapes = parse_literal(r["input_shapes"], where + " input_shapes")
        if not isinstance(ishapes, list) or len(ishapes) != len(ins):
            raise ImportFailure("%s: input_shapes %s for %d input nodes"
                                % (where, r["input_shapes"], len(ins)))
        for m, s in zip(ins, ishapes):
            if list(info[m].row_shape) != list(s):
                raise ImportFailure("%s: input %s has shape %s in input_shapes but %s as output"
                                    % (where, m, s, info[m].row_shape))
        oshape = shape_of(parse_literal(r["output_shape"], where + " output_shape"), where)
        dt = r["dtype"].strip()
        if dt and dt not in DTYPES:
            raise ImportFailure("%s: unknown dtype %r" % (where, dt))
        i = _N(r, oshape, DTYPES.get(dt))
        info[nm] = i
        fx_op = r["fx_op"]
        lat = r["_lat"]

        if fx_op == "placeholder":
            if not i.tensor:
                raise ImportFailure("%s: placeholder without dtype" % where)
            i.dep, i.alias = True, nm
            nd = {"name": nm, "op": "input", "out_shape": oshape}
            if i.dtype != "float32":
                nd["dtype"] = i.dtype
            nodes.append(nd)
            i.node = nd
            continue
        if fx_op == "get_attr":
            hidden["get_attr"] += 1
            hidden_ms += lat
            continue
        if fx_op == "output":
            dep_in = [m for m in ins if info[m].dep and (info[m].tensor or info[m].tuple)]
            if not dep_in:
                raise ImportFailure("%s: the output depends on no graph input" % where)
            nd = {"name": nm, "op": "output", "inputs": [info[m].alias for m in dep_in],
                  "out_shape": info[dep_in[0]].shape}
            if len(dep_in) > 1:
                nd["meta"] = {"outputs": [info[m].shape for m in dep_in]}
            nodes.append(nd)
            i.node, i.alias, i.dep = nd, nm, True
            continue
        if fx_op not in ("call_function", "call_method", "call_module"):
            raise ImportFailure("%s: unknown fx op %r" % (where, fx_op))

        if fx_op == "call_module":
            name = target = r["target"]
            inplace = False
        else:
            target = fx_name(fx_op, r["target"])
            inplace = target.endswith("_") and not target.startswith("_")
            name = target[:-1] if inplace else target
        tensor_in = [m for m in ins if info[m].tensor or info[m].tuple]
        i.tuple = (not i.tensor) and fx_op != "call_module" and name in TUPLE_OPS and bool(tensor_in)
        is_setitem = fx_op == "call_function" and name == "setitem"
        i.dep = any(info[m].dep for m in tensor_in)
        if not (i.tensor or i.tuple or is_setitem):
            hidden["non_tensor"] += 1
            hidden_ms += lat
            continue
        if not i.dep:
            hidden["constant"] += 1
            hidden_ms += lat
            continue
        src = info[tensor_in[0]]
        if name in ("getitem", "getattr") and fx_op == "call_function" and src.tuple:
            # an element of a tuple: fix the tuple node's shape from its first element read
            if src.node["out_shape"] is None:
                src.node["out_shape"] = oshape
                if i.dtype != "float32":
                    src.node["dtype"] = i.dtype
            src.node.setdefault("meta", {}).setdefault("outputs", []).append(oshape)
            if src.fold:
                i.alias = src.alias
                hidden["folded"] += 1
                hidden_ms += lat
                continue

        dep_in = [m for m in tensor_in if info[m].dep]
        const_in = [m for m in tensor_in if not info[m].dep]
        meta = {"fx": fx_op, "target": target}
        if fx_op == "call_module":
            op, fn = _classify_module(target, info[dep_in[0]] if dep_in else None, oshape, act_fn, where)
        else:
            if name not in FUNCTIONS:
                raise ImportFailure("%s: unknown fx %s %r: add it to FUNCTIONS"
                                    % (where, fx_op, r["target"]))
            op, fn = FUNCTIONS[name]
            if op == "mm":
                operands = ins[1:3] if name in ("addmm", "baddbmm") else ins[:2]
                if len(operands) != 2:
                    raise ImportFailure("%s: %s with %d operands" % (where, name, len(operands)))
                n_dep = sum(1 for m in operands if info[m].dep)
                op = ("matmul" if len(oshape) <= 2 else "bmm") if n_dep >= 2 else "linear"
            elif op == "minmax":
                op, fn = ("elementwise", fn) if len(tensor_in) >= 2 else ("other", None)
            elif op == "cast":
                src_dt = src.dtype
                op, fn = ("view", None) if src_dt == i.dtype else ("elementwise", "other")
                if src_dt != i.dtype:
                    meta["cast"] = "%s->%s" % (src_dt, i.dtype)
        out_shape, dtype = oshape, i.dtype
        if i.tuple:
            readers = users[nm]
            if not readers:
                raise ImportFailure("%s: tuple result that nothing reads" % where)
            i.fold = len(readers) == 1 and fx_of.get(readers[0]) == "call_function"
            out_shape, dtype = None, None        # set by the first element read
        if is_setitem:
            tgt = info[ins[0]]
            out_shape, dtype = tgt.shape, tgt.dtype
        nd = {"name": nm, "op": op}
        if dep_in:
            nd["inputs"] = [info[m].alias for m in dep_in]
        if const_in and op not in PARAM_OPS:
            nd["in_shapes"] = [info[m].shape for m in dep_in] + [info[m].shape for m in const_in]
        nd["out_shape"] = out_shape
        if dtype and dtype != "float32":
            nd["dtype"] = dtype
        if op in ("activation", "elementwise"):
            nd["attrs"] = {"fn": fn or "other"}
        nd["meta"] = meta
        nodes.append(nd)
        labels_of[nm] = r
        i.node, i.alias = nd, nm
        if is_setitem or inplace:
            # later readers of the written tensor read this node
            tgt = info[ins[0]]
            tgt.alias, tgt.dep = nm, True
            if is_setitem:
                i.shape = tgt.shape
        stats[op] += 1

    for nd in nodes:
        if nd["out_shape"] is None:
            raise ImportFailure("%s: tuple node %s: no element of it is read" % (where0, nd["name"]))
        outs = (nd.get("meta") or {}).get("outputs")
        if outs is not None and len(outs) == 1 and nd["op"] != "output":
            del nd["meta"]["outputs"]
    return gname, nodes, labels_of, hidden, hidden_ms


def import_models(src, keep, gw, lw, used_devices, report):
    mpath = os.path.join(src, "models", "node_labels_one_layer.csv")
    cols = ["device", "run", "node", "fx_op", "target", "input_nodes", "users", "input_shapes",
            "output_shape", "dtype", "latency_ms", "fw_latency_ms", "bw_latency_ms", "acc_latency_ms"]
    _, rows = read_csv(mpath, cols)
    runs = collections.OrderedDict()
    n_missing = 0
    max_sum_dev = 0.0
    for k, r in enumerate(rows):
        where = "%s:%d" % (mpath, k + 2)
        vals = {}
        for c in ("latency_ms", "fw_latency_ms", "bw_latency_ms", "acc_latency_ms"):
            vals[c] = parse_value(r[c], "%s column %s" % (where, c))
        if any(v is None for v in vals.values()):
            n_missing += 1
            r["_lat"] = vals["latency_ms"] or 0.0
            r["_vals"] = None
        else:
            dev = abs(vals["latency_ms"] - vals["fw_latency_ms"] - vals["bw_latency_ms"]
                      - vals["acc_latency_ms"])
            max_sum_dev = max(max_sum_dev, dev / max(vals["latency_ms"], 1e-9))
            r["_lat"] = vals["latency_ms"]
            r["_vals"] = vals
        runs.setdefault((r["device"], r["run"]), []).append(r)
    if len(runs) != N_NODE_RUNS:
        raise ImportFailure("%s: %d runs, the README says %d" % (mpath, len(runs), N_NODE_RUNS))
    if max_sum_dev > 1e-6:
        raise ImportFailure("%s: latency_ms differs from fw + bw + acc by up to %.3g relative"
                            % (mpath, max_sum_dev))
    report.append("node labels: %d rows, %d runs, %d rows with an empty latency cell; "
                  "max |latency - (fw+bw+acc)| / latency = %.2g" % (len(rows), len(runs), n_missing,
                                                                  max_sum_dev))

    epath = os.path.join(src, "models", "e2e_labels.csv")
    ecols = ["device", "run", "model", "mode", "seqlen", "batch", "option", "num_layer",
             "e2e_latency_ms", "fw_latency_ms", "bwall_latency_ms", "has_node_labels", "num_nodes",
             "sum_node_latency_ms"]
    _, erows = read_csv(epath, ecols)
    if len(erows) != N_E2E_RUNS:
        raise ImportFailure("%s: %d runs, the README says %d" % (epath, len(erows), N_E2E_RUNS))
    e2e = {}
    for k, r in enumerate(erows):
        key = (r["device"], r["run"])
        if key in e2e:
            raise ImportFailure("%s:%d: run %s on %s given twice" % (epath, k + 2, r["run"], r["device"]))
        e2e[key] = r
    with_nodes = {k for k, r in e2e.items() if r["has_node_labels"] == "True"}
    if with_nodes != set(runs):
        raise ImportFailure("%s: runs marked has_node_labels (%d) differ from the node-label runs (%d): "
                            "%s" % (epath, len(with_nodes), len(runs),
                                    sorted(with_nodes ^ set(runs))[:4]))
    max_dev = 0.0
    for key, rs in runs.items():
        e = e2e[key]
        if int(float(e["num_nodes"])) != len(rs):
            raise ImportFailure("%s: run %s on %s: num_nodes %s but %d node rows"
                                % (epath, key[1], key[0], e["num_nodes"], len(rs)))
        s = sum(r["_lat"] for r in rs)
        ref = float(e["sum_node_latency_ms"])
        max_dev = max(max_dev, abs(s - ref) / max(ref, 1e-9))
        if e["mode"] not in ("inf", "train"):
            raise ImportFailure("%s: run %s: unknown mode %r" % (epath, key[1], e["mode"]))
        if e["mode"] == "inf" and any(r["_vals"] and (r["_vals"]["bw_latency_ms"] or
                                                      r["_vals"]["acc_latency_ms"]) for r in rs):
            raise ImportFailure("run %s on %s is inference but has backward time" % key[::-1])
    if max_dev > 1e-6:
        raise ImportFailure("%s: sum_node_latency_ms differs from the node rows by %.3g relative"
                            % (epath, max_dev))
    report.append("e2e: %d runs, %d with node labels (all matched; node count and latency sum "
                  "agree, max rel dev %.2g); %d runs without node labels (options: %s) have no "
                  "graph and are skipped" % (len(erows), len(with_nodes), max_dev,
                                             len(erows) - len(with_nodes),
                                             dict(collections.Counter(e2e[k]["option"] or "-" for k in e2e
                                                                      if k not in with_nodes))))

    cfg_dir = os.path.join(src, "DLmodel_configs")
    act_cache = {}
    stats = collections.Counter()
    hidden_tot = collections.Counter()
    hidden_frac = []
    keys = list(runs)
    sel = [k for i, k in enumerate(keys) if keep is None or i in keep]
    n_graphs = 0
    for key in sel:
        device, run = key
        rs = runs[key]
        e = e2e[key]
        model, mode = e["model"], e["mode"]
        needs_act = any(r["fx_op"] == "call_module" and
                        MODULES.get(r["target"].split(".")[-1]) == "activation"
                        and not r["target"].endswith("pooler.activation") for r in rs)
        act_fn = model_act(model, cfg_dir, act_cache) if needs_act else None
        gname, nodes, labels_of, hidden, hidden_ms = convert_run(device, run, rs, act_fn, stats)
        total = sum(r["_lat"] for r in rs)
        hidden_tot.update(hidden)
        hidden_frac.append(hidden_ms / total if total > 0 else 0.0)
        meta = {"dataset": "neusight", "part": "models", "device": device, "run": run, "model": model,
                "mode": mode, "seqlen": int(e["seqlen"]), "batch": int(e["batch"]),
                "num_layer": int(float(e["num_layer"])),
                "node_latency_sum_ms": total, "hidden_latency_ms": hidden_ms,
                "hidden_nodes": dict(hidden)}
        gw.write({"format": gpgraph.FORMAT, "version": gpgraph.VERSION, "name": gname, "meta": meta,
                  "nodes": nodes})
        n_graphs += 1
        used_devices.add(device)
        for nm, r in labels_of.items():
            v = r["_vals"]
            if v is None:
                continue
            if mode == "inf":
                lw.add(gname, nm, device, "latency_ms", v["latency_ms"], "ms")
            else:
                lw.add(gname, nm, device, "train_latency_ms", v["latency_ms"], "ms")
                lw.add(gname, nm, device, "train_fw_latency_ms", v["fw_latency_ms"], "ms")
        ev = parse_value(e["e2e_latency_ms"], "%s run %s e2e_latency_ms" % (epath, run))
        if ev is not None:
            lw.add(gname, "", device, "full_model_latency_ms" if mode == "inf"
                   else "full_model_train_latency_ms", ev, "ms")
    if sel:
        report.append("models: %d graphs; emitted ops %s" % (n_graphs, dict(sorted(stats.items()))))
        report.append("models: fx nodes that are not graph nodes: %s; their latency is %.2f%% of a "
                      "run's node sum on average (max %.2f%%)"
                      % (dict(hidden_tot), 100 * sum(hidden_frac) / len(hidden_frac),
                         100 * max(hidden_frac)))
    return n_graphs


# ---------------------------------------------------------------- kernels

def _int_cell(r, c, where):
    try:
        v = int(r[c])
    except (ValueError, TypeError):
        raise ImportFailure("%s: column %s = %r is not an integer" % (where, c, r.get(c))) from None
    if v < 1:
        raise ImportFailure("%s: column %s = %d < 1" % (where, c, v))
    return v


def kernel_node(opname, r, where):
    """(op, fn, in_shapes, out_shape) of one kernel row."""
    if opname in ("bmm", "linear"):
        b, m, n, k = (_int_cell(r, c, where) for c in ("B", "M", "N", "K"))
        if opname == "bmm":
            return "bmm", None, [[b, m, n], [b, n, k]], [b, m, k]
        return "linear", None, [[b, m, n]], [b, m, k]
    if opname not in KERNEL_OPS:
        raise ImportFailure("%s: unknown OPName %r" % (where, opname))
    op, fn, binary = KERNEL_OPS[opname]
    b, h = _int_cell(r, "B", where), _int_cell(r, "H", where)
    ins = [[b, h], [b, h]] if binary else [[b, h]]
    return op, fn, ins, [b, h]


def _row_key(r):
    return tuple(sorted((k, v) for k, v in r.items() if k != "Kernels"))


def import_kernels(src, keep, gw, lw, used_devices, known_devices, report):
    folder = os.path.join(src, "kernels")
    found = sorted(os.path.splitext(os.path.basename(p))[0]
                   for p in glob.glob(os.path.join(folder, "*.csv")))
    if found != sorted(KERNEL_FILES):
        raise ImportFailure("%s: kernel files %s, expected %s" % (folder, found, sorted(KERNEL_FILES)))
    base_cols = ["OPName", "Latency", "Device", "Kernel Name", "Grid x", "Grid y", "Grid z",
                 "Block x", "Block y", "Block z", "Warps per SM", "Blocks per SM"]
    tables = {}
    for stem, (n_rows, ops) in KERNEL_FILES.items():
        path = os.path.join(folder, stem + ".csv")
        shape_cols = ["B", "M", "N", "K"] if stem.endswith(("bmm", "linear")) else ["B", "H"]
        _, rows = read_csv(path, base_cols + shape_cols)
        if len(rows) != n_rows:
            raise ImportFailure("%s: %d rows, expected %d" % (path, len(rows), n_rows))
        bad = collections.Counter(r["OPName"] for r in rows if r["OPName"] not in ops)
        if bad:
            raise ImportFailure("%s: OPName values %s not expected in this file" % (path, dict(bad)))
        tables[stem] = rows
    # test_vec is test_elem + test_ln + test_softmax again
    vec = collections.Counter(_row_key(r) for r in tables["test_vec"])
    union = collections.Counter(_row_key(r) for s in VEC_UNION for r in tables[s])
    if vec != union:
        raise ImportFailure("kernels/test_vec.csv is not exactly the rows of %s: it would need its "
                            "own mapping" % ", ".join(s + ".csv" for s in VEC_UNION))
    report.append("kernels: test_vec.csv (%d rows) = test_elem + test_ln + test_softmax row for "
                  "row; skipped as a duplicate" % len(tables["test_vec"]))

    n_graphs, n_missing = 0, 0
    dup_shapes = collections.Counter()
    per_dev = collections.Counter()
    unknown_dev = set()
    for stem in KERNEL_FILES:
        if stem == "test_vec":
            continue
        split = stem.split("_", 1)[0]
        seen_shape = set()
        for k, r in enumerate(tables[stem]):
            where = "kernels/%s.csv:%d" % (stem, k + 2)
            dev = norm_device(r["Device"])
            if not dev:
                raise ImportFailure("%s: empty Device" % where)
            if dev not in known_devices:
                unknown_dev.add(dev)
            op, fn, ins, out = kernel_node(r["OPName"], r, where)
            skey = (r["OPName"], dev, tuple(map(tuple, ins)), tuple(out))
            if skey in seen_shape:
                dup_shapes[stem] += 1
            seen_shape.add(skey)
            v = parse_value(r["Latency"], where + " column Latency")
            if keep is not None and k not in keep:
                continue
            if v is None:
                n_missing += 1
                continue
            gname = "nsk_%s_%05d" % (stem, k)
            node = {"name": "op", "op": op, "in_shapes": ins, "out_shape": out}
            if fn:
                node["attrs"] = {"fn": fn}
            kern = [x for x in r.get("Kernels", "").split(";") if x]
            meta = {"dataset": "neusight", "part": "kernels", "split": split, "file": stem + ".csv",
                    "row": k, "op_name": r["OPName"], "device": dev, "kernel": r["Kernel Name"],
                    "grid": [int(float(r["Grid " + a])) for a in "xyz"],
                    "block": [int(float(r["Block " + a])) for a in "xyz"],
                    "warps_per_sm": float(r["Warps per SM"]), "blocks_per_sm": float(r["Blocks per SM"])}
            if len(kern) > 1:
                meta["kernels"] = kern
            gw.write({"format": gpgraph.FORMAT, "version": gpgraph.VERSION, "name": gname,
                      "meta": meta, "nodes": [node]})
            lw.add(gname, "op", dev, "latency_ms", v, "ms")
            lw.add(gname, "", dev, "latency_ms", v, "ms")
            used_devices.add(dev)
            per_dev[(split, dev)] += 1
            n_graphs += 1
    if unknown_dev:
        raise ImportFailure("kernel devices without a device config: %s" % sorted(unknown_dev))
    report.append("kernels: %d graphs (%d rows with an empty Latency skipped); same op, GPU and "
                  "shape measured twice (both kept): %s"
                  % (n_graphs, n_missing, dict(dup_shapes) or "none"))
    report.append("kernels per split/GPU: %s" % ", ".join("%s %s %d" % (s, d, n)
                                                          for (s, d), n in sorted(per_dev.items())))
    return n_graphs


# ------------------------------------------------------------------- main

def _main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, "neusight")
    ap.add_argument("--part", choices=("all", "models", "kernels"), default="all",
                    help="which part to import (default all, into one dataset)")
    ap.add_argument("--indices", help="node-label runs to import, by 0-based order in "
                                      "node_labels_one_layer.csv (default all)")
    ap.add_argument("--kernel-indices", help="rows to import from each kernel file, 0-based "
                                             "(default all)")
    args = ap.parse_args(argv)
    keep = gpgraph.parse_indices(args.indices)
    kkeep = gpgraph.parse_indices(args.kernel_indices)
    data = resolve_data_dir(args.data, "neusight")
    src = os.path.join(data, "neusight")
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.time()

    configs, notes = read_device_configs(os.path.join(src, "device_configs"))
    report = ["device configs: %d (%s)%s" % (len(configs), ", ".join(sorted(configs)),
                                             "; " + "; ".join(notes) if notes else "")]
    gw = GraphWriter(os.path.join(args.out_dir, "graphs.jsonl"))
    lw = Labels(os.path.join(args.out_dir, "labels.csv"))
    used = set()
    with all_or_nothing(gw, lw):
        if args.part in ("all", "models"):
            import_models(src, keep, gw, lw, used, report)
            log(PROG, "models done in %.1f s" % (time.time() - t0))
        if args.part in ("all", "kernels"):
            import_kernels(src, kkeep, gw, lw, used, set(configs), report)
            log(PROG, "kernels done in %.1f s" % (time.time() - t0))
        missing = sorted(used - set(configs))
        if missing:
            raise ImportFailure("labelled devices without a device config: %s" % missing)
        if gw.count == 0:
            raise ImportFailure("nothing selected")
        devices = sorted(used)
        # the device table is known only now, after every check: into place just before graphs and labels
        DeviceTable(os.path.join(args.out_dir, "devices.csv"), devices, DEVICE_COLUMNS, configs).close()
    report.append("devices with labels: %d (%s); configs without labels: %s"
                  % (len(devices), ", ".join(devices), sorted(set(configs) - used) or "none"))
    for line in report:
        log(PROG, line)
    log(PROG, "wrote %d graphs (%d nodes), labels: %s in %.1f s"
        % (gw.count, gw.nodes, lw.summary(), time.time() - t0))
    if args.pack:
        pack(PROG, args, "NeuSight (sitar-lab/NeuSight @ 6945927) %s, imported by "
                         "scripts/import_neusight.py" % args.part)
    return 0


def main(argv=None):
    return run_main(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
