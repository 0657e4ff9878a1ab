"""torch.fx tracing and conversion to the gnnperf-graph JSON format.

trace(model, x) tries torch.fx.symbolic_trace + ShapeProp; when symbolic
tracing fails (a forward that unpacks x.shape, data-dependent control flow)
it falls back to make_fx (torch.fx.experimental.proxy_tensor), which records
the aten ops that actually run.  make_fx traces with autograd enabled so
nn.MultiheadAttention takes its composite path (linear, bmm, softmax, ...)
rather than the fused _native_multi_head_attention kernel: the graph then
shows the real work, and the profiler times that graph, not the eager model.

convert(gm, name) maps the fx graph to JSON nodes:

  * placeholder -> "input", output -> "output" (inputs: every tensor leaf of
    the returned structure; out_shape: the first leaf's).
  * call_module / call_function / call_method producing a tensor and
    depending on a graph input -> one node, op from the vocabulary of
    graph/ops.h (see OPS below; anything unknown is "other" with meta.target).
  * Non-tensor nodes (x.size(), shape arithmetic) are dropped: they are not
    tensors, and non-tensor arguments are never inputs.
  * Constants: get_attr and any tensor node that does not depend on a graph
    input (parameter transposes, class tokens expanded, aten.empty) are not
    nodes.  When a node reads one, its shape is appended to the node's
    in_shapes as an input from outside the graph -- except for conv, linear,
    batchnorm, layernorm and embedding, whose weights the C cost model
    already derives from the attributes (listing them would count them
    twice).
  * Tuples: a node returning a tuple whose only used element is element 0
    (batch/layer norm with saved statistics, max pool with indices,
    attention returning (out, weights)) stands for that element: its
    getitem is folded into it.  Otherwise (split, chunk, unbind) the tuple
    node keeps the shape of its first element as out_shape, lists all
    element shapes in meta.outputs, and each getitem is a "view" node.

Every emitted node remembers its fx node, and every executed fx node that is
not emitted (constants, dropped non-tensor nodes, folded getitems) is
reported so the profiler can account for their time separately.
"""

import math
import operator

import torch
import torch.fx
import torch.nn as nn
from torch.fx.node import map_aggregate
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
          torch.float64: "float64", torch.int8: "int8", torch.uint8: "uint8",
          torch.int32: "int32", torch.int64: "int64", torch.bool: "bool"}

ACT_FNS = ("relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "hardswish",
           "hardsigmoid", "elu", "softplus", "mish")

# normalised function/method name -> (op, fn)
OPS = {}
for _f in ACT_FNS:
    OPS[_f] = ("activation", _f)
OPS.update({
    "selu": ("activation", "elu"), "celu": ("activation", "elu"), "prelu": ("activation", "leaky_relu"),
    "rrelu": ("activation", "leaky_relu"), "logsigmoid": ("activation", "other"),
    "hardshrink": ("activation", "other"), "softsign": ("activation", "other"),
    "sub": ("elementwise", "sub"), "rsub": ("elementwise", "sub"), "isub": ("elementwise", "sub"),
    "truediv": ("elementwise", "div"), "itruediv": ("elementwise", "div"), "div": ("elementwise", "div"),
    "floordiv": ("elementwise", "div"), "floor_divide": ("elementwise", "div"),
    "reciprocal": ("elementwise", "div"), "pow": ("elementwise", "pow"), "sqrt": ("elementwise", "sqrt"),
    "rsqrt": ("elementwise", "rsqrt"), "exp": ("elementwise", "exp"), "log": ("elementwise", "log"),
    "neg": ("elementwise", "neg"), "abs": ("elementwise", "abs"), "maximum": ("elementwise", "maximum"),
    "minimum": ("elementwise", "minimum"), "clamp": ("elementwise", "clamp"), "clip": ("elementwise", "clamp"),
    "clamp_min": ("elementwise", "clamp"), "clamp_max": ("elementwise", "clamp"),
    "hardtanh": ("elementwise", "clamp"), "where": ("elementwise", "where"),
    "erf": ("elementwise", "other"), "sin": ("elementwise", "other"), "cos": ("elementwise", "other"),
    "zeros_like": ("elementwise", "zero"), "zero": ("elementwise", "zero"),
    "add": ("add", None), "iadd": ("add", None), "radd": ("add", None),
    "mul": ("mul", None), "imul": ("mul", None), "rmul": ("mul", None),
    "cat": ("concat", None), "concat": ("concat", None), "concatenate": ("concat", None),
    "stack": ("concat", None),
    "softmax": ("softmax", None), "_softmax": ("softmax", None), "log_softmax": ("softmax", None),
    "_log_softmax": ("softmax", None),
    "embedding": ("embedding", None),
    "batch_norm": ("batchnorm", None), "native_batch_norm": ("batchnorm", None),
    "_native_batch_norm_legit_no_training": ("batchnorm", None),
    "_native_batch_norm_legit": ("batchnorm", None),
    "layer_norm": ("layernorm", None), "native_layer_norm": ("layernorm", None),
    "group_norm": ("layernorm", None), "native_group_norm": ("layernorm", None),
    "instance_norm": ("layernorm", None),
    "conv1d": ("conv", None), "conv2d": ("conv", None), "convolution": ("conv", None),
    "_convolution": ("conv", None),
    "linear": ("linear", None),
    "matmul": ("mm", None), "mm": ("mm", None), "addmm": ("mm", None), "bmm": ("mm", None),
    "baddbmm": ("mm", None),
    "max_pool1d": ("maxpool2d", None), "max_pool2d": ("maxpool2d", None),
    "max_pool2d_with_indices": ("maxpool2d", None), "adaptive_max_pool2d": ("maxpool2d", None),
    "avg_pool1d": ("avgpool2d", None), "avg_pool2d": ("avgpool2d", None),
    "adaptive_avg_pool2d": ("avgpool2d", None), "_adaptive_avg_pool2d": ("avgpool2d", None),
    "mean": ("mean", None),
})
VIEW_NAMES = ("view", "reshape", "_reshape_alias", "flatten", "unflatten", "permute", "transpose",
              "t", "contiguous", "squeeze", "unsqueeze", "expand", "expand_as", "getitem", "select",
              "slice", "narrow", "split", "split_with_sizes", "chunk", "unbind", "tensor_split",
              "dropout", "feature_dropout", "alpha_dropout", "dropout2d", "identity", "clone",
              "detach", "alias", "to", "type_as", "float", "view_as", "reshape_as", "movedim",
              "swapaxes", "as_strided", "_unsafe_view", "unsafe_view", "lift_fresh_copy",
              "_to_copy", "stochastic_depth")
for _f in VIEW_NAMES:
    OPS[_f] = ("view", None)

# ops whose weights graph/cost.c derives from attributes: constants they read
# are parameters, not outside inputs
PARAM_OPS = ("conv2d", "dwconv2d", "linear", "batchnorm", "layernorm", "embedding")


class TraceError(RuntimeError):
    pass


# ------------------------------------------------------------------ tracing

def _shape_prop(gm, x):
    with torch.no_grad():
        ShapeProp(gm).propagate(x)


def _dce_make_fx(gm):
    """Drops unused pure nodes make_fx records (saved BN statistics, detach of
    saved tensors, empty reserve buffers); in-place ops (name ending in '_')
    are kept even when unused."""
    changed = True
    while changed:
        changed = False
        for n in reversed(list(gm.graph.nodes)):
            if n.op in ("placeholder", "output") or n.users:
                continue
            if n.op == "call_function" and _fname(n).endswith("_") and not _fname(n).startswith("_"):
                continue
            gm.graph.erase_node(n)
            changed = True
    gm.graph.lint()
    gm.recompile()


def trace(model, x):
    """(GraphModule with tensor_meta on its nodes, tracer name, why symbolic failed or None)."""
    try:
        gm = torch.fx.symbolic_trace(model)
        _shape_prop(gm, x)
        return gm, "symbolic_trace", None
    except Exception as e:  # noqa: BLE001 -- any failure means: fall back
        why = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
    from torch.fx.experimental.proxy_tensor import make_fx
    try:
        with torch.enable_grad():
            gm = make_fx(model)(x)
        _dce_make_fx(gm)
        _shape_prop(gm, x)
    except Exception as e:  # noqa: BLE001
        raise TraceError("symbolic_trace failed (%s) and make_fx failed too: %s: %s"
                         % (why, type(e).__name__, e)) from e
    return gm, "make_fx", why


# ------------------------------------------------------------------ helpers

def _fname(n):
    """Normalised name of what a call_function/call_method node calls."""
    t = n.target
    if n.op == "call_method":
        name = t
    elif isinstance(t, torch._ops.OpOverload):
        name = t._schema.name.split("::")[-1]
    elif isinstance(t, torch._ops.OpOverloadPacket):
        name = str(t).split(".")[-1]
    else:
        name = getattr(t, "__name__", str(t))
    return name


def _is_inplace(n, mod):
    """Whether the call writes its result into its first input's buffer:
    a module built with inplace=True (nn.ReLU(inplace=True), torchvision's
    default), an inplace=True keyword, a trailing-underscore method or aten
    op (relu_, add_) or an augmented assignment (operator.iadd)."""
    if mod is not None:
        return getattr(mod, "inplace", False) is True
    if n.op not in ("call_function", "call_method"):
        return False
    if n.kwargs.get("inplace") is True:
        return True
    name = _fname(n)
    if name in ("iadd", "isub", "imul", "itruediv"):
        return True
    return name.endswith("_") and not name.startswith("_")


def _base(name):
    """relu_ -> relu, __add__ -> add, iadd stays (mapped itself)."""
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
    if name.endswith("_") and not name.startswith("_"):
        name = name[:-1]
    return name


def _target_str(n, modules):
    if n.op == "call_module":
        return type(modules[n.target]).__name__
    if n.op == "call_method":
        return "Tensor." + n.target
    t = n.target
    if isinstance(t, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        return str(t)
    mod = getattr(t, "__module__", None) or ""
    return (mod + "." if mod and mod not in ("_operator", "builtins") else "") + getattr(t, "__name__", str(t))


def _is_tm(v):
    return isinstance(v, TensorMetadata)


def _leaves(tm):
    """TensorMetadata leaves of a (nested) tensor_meta, in order."""
    out = []
    if tm is None:
        return out
    if _is_tm(tm):
        return [tm]
    if isinstance(tm, (list, tuple)):
        for v in tm:
            out.extend(_leaves(v))
    elif isinstance(tm, dict):
        for v in tm.values():
            out.extend(_leaves(v))
    return out


def _pair(v, default):
    if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
        v = default
    if isinstance(v, int):
        return [v, v]
    v = [int(e) for e in v]
    return v * 2 if len(v) == 1 else v[-2:]


def _arg(n, i, key, default=None):
    if len(n.args) > i:
        return n.args[i]
    return n.kwargs.get(key, default)


class _Info:
    __slots__ = ("tm", "leaves", "tensor", "tuple", "dep")


# ----------------------------------------------------------------- convert

class Converted:
    """Result of convert(): the JSON document and the bookkeeping the profiler needs.

    doc        the gnnperf-graph document
    emitted    list of (fx node, json node dict) in emission order
    hidden     fx nodes that execute but are not JSON nodes (constants, folded
               getitems, non-tensor shape arithmetic)
    """

    def __init__(self, doc, emitted, hidden, params):
        self.doc, self.emitted, self.hidden, self.params = doc, emitted, hidden, params


def convert(gm, name, meta=None, tracer=None):
    modules = dict(gm.named_modules())
    nodes = list(gm.graph.nodes)
    info = {}
    for n in nodes:
        i = _Info()
        i.tm = n.meta.get("tensor_meta")
        i.leaves = _leaves(i.tm)
        i.tensor = _is_tm(i.tm)
        i.tuple = (not i.tensor) and bool(i.leaves)
        if n.op == "placeholder":
            i.dep = True
        elif n.op == "get_attr":
            i.dep = False
        else:
            # depends on the graph input through a tensor argument; a tensor
            # made from shape arithmetic alone (torch.zeros(x.size(0), 4)) is
            # a constant as far as the graph is concerned
            i.dep = any(info[m].dep and info[m].leaves for m in n.all_input_nodes)
        info[n] = i

    # tuple nodes whose only used element is 0 stand for that element
    stands_for_0 = set()
    for n in nodes:
        i = info[n]
        if i.tuple and i.dep and n.op != "output":
            idx = set()
            other_use = False
            for u in n.users:
                if u.op == "call_function" and u.target is operator.getitem and u.args[0] is n:
                    idx.add(u.args[1])
                else:
                    other_use = True
            if idx <= {0} and not other_use:
                stands_for_0.add(n)

    alias = {}          # fx node -> json name it reads as
    emitted, hidden = [], []
    out_nodes = []
    jnames = set()
    params = {}         # json name -> parameter elements read (for the label cost)

    def jname(n):
        base = n.name
        k, nm = 1, base
        while nm in jnames:
            nm = "%s_%d" % (base, k)
            k += 1
        jnames.add(nm)
        return nm

    for n in nodes:
        i = info[n]
        if n.op == "placeholder":
            if not i.tensor:
                raise TraceError("graph %s: input %s is not a tensor" % (name, n.name))
            jn = {"name": jname(n), "op": "input", "out_shape": list(i.tm.shape),
                  "dtype": DTYPES.get(i.tm.dtype, "float32")}
            if jn["dtype"] == "float32":
                del jn["dtype"]
            alias[n] = jn["name"]
            emitted.append((n, jn))
            continue
        if n.op == "output":
            ins = []
            shapes = []
            for leaf in _flatten_nodes(n.args):
                if leaf in alias and info[leaf].dep:
                    ins.append(alias[leaf])
                    shapes.append(_shape_of(leaf, info))
            if not ins:
                raise TraceError("graph %s: the output depends on no graph input" % name)
            jn = {"name": jname(n), "op": "output", "inputs": ins, "out_shape": shapes[0]}
            if len(shapes) > 1:
                jn["meta"] = {"outputs": shapes}
            emitted.append((n, jn))
            out_nodes.append(n)
            continue
        if n.op == "get_attr" or not i.dep or not i.leaves:
            hidden.append(n)        # constants and non-tensor values
            continue
        if (n.op == "call_function" and n.target is operator.getitem and
                n.args[0] in stands_for_0):
            alias[n] = alias[n.args[0]]
            hidden.append(n)
            continue
        jn, nparam = _node(n, i, info, alias, modules, name)
        jn["name"] = jname(n)
        # canonical key order: name, op, inputs, in_shapes, out_shape, dtype, attrs, meta
        jn = {k: jn[k] for k in ("name", "op", "inputs", "in_shapes", "out_shape", "dtype", "attrs",
                                 "meta") if k in jn}
        alias[n] = jn["name"]
        params[jn["name"]] = nparam
        emitted.append((n, jn))

    doc = {"format": "gnnperf-graph", "version": 1, "name": name}
    m = dict(meta or {})
    if tracer:
        m["tracer"] = tracer
    if m:
        doc["meta"] = m
    doc["nodes"] = [jn for _, jn in emitted]
    return Converted(doc, emitted, hidden, params)


def _flatten_nodes(a):
    out = []
    map_aggregate(a, lambda v: out.append(v) if isinstance(v, torch.fx.Node) else None)
    return out


def _shape_of(n, info):
    i = info[n]
    return list(i.leaves[0].shape) if i.leaves else []


def _node(n, i, info, alias, modules, gname):
    """JSON fields (no name yet) of one emitted node, and its parameter element count."""
    mod = modules.get(n.target) if n.op == "call_module" else None
    out_shape = list(i.leaves[0].shape)
    dtype = DTYPES.get(i.leaves[0].dtype, "float32")
    op, fn = _classify(n, mod)

    # tensor arguments in argument order (x * x reads x twice)
    dep_in, const_in = [], []
    for a in _flatten_nodes((n.args, n.kwargs)):
        ia = info[a]
        if not ia.leaves:
            continue                        # non-tensor argument
        if ia.dep:
            dep_in.append(a)
        else:
            const_in.append(a)

    attrs = {}
    meta = {"target": _target_str(n, modules)}
    if n.op == "call_module":
        meta["module"] = n.target
    nparam = sum(p.numel() for p in mod.parameters()) if mod is not None else 0

    x_shape = _shape_of(dep_in[0], info) if dep_in else None

    if op == "conv":
        op, attrs = _conv_attrs(n, mod, info, x_shape)
    elif op == "mm":
        if _fname(n) in ("addmm", "baddbmm"):
            operands = [a for a in n.args[1:3] if isinstance(a, torch.fx.Node)]
        else:
            operands = [a for a in n.args[:2] if isinstance(a, torch.fx.Node)]
        n_dep = sum(1 for a in operands if info[a].dep)
        # linear reads K from its activation's last dimension: only when the
        # activation is the left operand (matmul(W, x) stays a matmul, whose
        # listed shapes graph/cost.c reads K from)
        if n_dep >= 2 or (operands and not info[operands[0]].dep):
            op = "matmul" if len(out_shape) <= 2 else "bmm"
        else:
            op = "linear"
    elif op in ("maxpool2d", "avgpool2d"):
        op, attrs = _pool_attrs(n, mod, op, x_shape, out_shape)
    elif op == "mean":
        dims = _arg(n, 1, "dim")
        if isinstance(dims, int):
            dims = [dims]
        r = len(x_shape or [])
        nd = sorted(d % r for d in dims) if (dims and r) else None
        if r == 4 and nd == [2, 3]:
            op = "global_avgpool"
        else:
            op, fn = "other", None
    elif op == "mul":
        scal = [a for a in n.args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        if scal and all(s == 0 for s in scal):
            op, fn = "elementwise", "zero"
    elif op == "elementwise" and fn == "clamp" and _fname(n) == "hardtanh":
        lo, hi = _arg(n, 1, "min_val", -1.0), _arg(n, 2, "max_val", 1.0)
        if lo == 0 and hi == 6:
            op, fn = "activation", "relu6"
    elif op == "view" and n.target is operator.getitem and info[n.args[0]].tuple:
        meta["index"] = n.args[1] if isinstance(n.args[1], int) else str(n.args[1])

    if op in ("activation", "elementwise"):
        attrs["fn"] = fn or "other"
    if op != "view" and _is_inplace(n, mod):
        attrs["inplace"] = True
    if op not in PARAM_OPS:
        # outside tensors read by the node (an added positional embedding, a
        # layer-scale gamma): shapes appended after the graph inputs' shapes
        for a in const_in:
            nparam += math.prod(info[a].leaves[0].shape) if info[a].leaves else 0
    jn = {"op": op}
    ins = [alias[a] for a in dep_in]
    if ins:
        jn["inputs"] = ins
    if op not in PARAM_OPS and const_in:
        jn["in_shapes"] = [_shape_of(a, info) for a in dep_in] + [_shape_of(a, info) for a in const_in]
    if op in PARAM_OPS and not mod:
        nparam = sum(math.prod(info[a].leaves[0].shape) for a in const_in if info[a].leaves)
    jn["out_shape"] = out_shape
    if dtype != "float32":
        jn["dtype"] = dtype
    if attrs:
        jn["attrs"] = attrs
    if i.tuple:
        meta["outputs"] = [list(t.shape) for t in i.leaves]
    jn["meta"] = meta
    return jn, nparam


def _classify(n, mod):
    if mod is not None:
        return _classify_module(mod)
    name = _fname(n)
    for cand in (name, _base(name)):
        if cand in OPS:
            return OPS[cand]
    return ("other", None)


def _classify_module(m):
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        return ("conv", None)
    if isinstance(m, nn.Linear):
        return ("linear", None)
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return ("batchnorm", None)
    if isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)):
        return ("layernorm", None)
    if isinstance(m, nn.ReLU6):
        return ("activation", "relu6")
    simple = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.GELU: "gelu", nn.SiLU: "silu",
              nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Hardswish: "hardswish",
              nn.Hardsigmoid: "hardsigmoid", nn.ELU: "elu", nn.SELU: "elu", nn.CELU: "elu",
              nn.Softplus: "softplus", nn.Mish: "mish", nn.PReLU: "leaky_relu"}
    for cls, fn in simple.items():
        if isinstance(m, cls):
            return ("activation", fn)
    if isinstance(m, nn.Hardtanh):
        return ("elementwise", "clamp")
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveMaxPool2d)):
        return ("maxpool2d", None)
    if isinstance(m, (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
        return ("avgpool2d", None)
    if isinstance(m, (nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.Identity, nn.Flatten, nn.Unflatten)):
        return ("view", None)
    if isinstance(m, (nn.Softmax, nn.LogSoftmax)):
        return ("softmax", None)
    if isinstance(m, nn.Embedding):
        return ("embedding", None)
    return ("other", None)


def _conv_attrs(n, mod, info, x_shape):
    if mod is not None:
        if isinstance(mod, nn.Conv1d):
            k, s, d = [1, mod.kernel_size[0]], [1, mod.stride[0]], [1, mod.dilation[0]]
            p = mod.padding if isinstance(mod.padding, str) else [0, mod.padding[0]]
        else:
            k, s, d = list(mod.kernel_size), list(mod.stride), list(mod.dilation)
            p = mod.padding
        groups = mod.groups
        transposed = False
    else:
        name = _fname(n)
        w = n.args[1] if len(n.args) > 1 else n.kwargs.get("weight")
        wshape = _shape_of(w, info) if isinstance(w, torch.fx.Node) else [1, 1, 1, 1]
        k = [1, wshape[-1]] if len(wshape) == 3 else list(wshape[-2:])
        if name in ("convolution", "_convolution"):
            s, p, d = n.args[3], n.args[4], n.args[5]
            transposed, groups = bool(n.args[6]), int(n.args[8])
        else:
            s = _arg(n, 3, "stride", 1)
            p = _arg(n, 4, "padding", 0)
            d = _arg(n, 5, "dilation", 1)
            groups = int(_arg(n, 6, "groups", 1))
            transposed = False
        one_d = len(wshape) == 3
        s, d = _pair(s, 1), _pair(d, 1)
        if one_d:
            s, d = [1, s[-1]], [1, d[-1]]
        if not isinstance(p, str):
            p = _pair(p, 0)
            if one_d:
                p = [0, p[-1]]
    s, d = _pair(s, 1), _pair(d, 1)
    if isinstance(p, str):  # 'same' / 'valid'
        p = [d[0] * (k[0] - 1) // 2, d[1] * (k[1] - 1) // 2] if p == "same" else [0, 0]
    p = _pair(p, 0)
    if transposed:
        return "other", {}
    cin = x_shape[1] if x_shape and len(x_shape) >= 2 else 0
    op = "dwconv2d" if groups == cin and cin > 1 else "conv2d"
    attrs = {"kernel": [int(v) for v in k], "stride": s, "padding": p, "dilation": d}
    if groups != 1:
        attrs["groups"] = int(groups)
    return op, attrs


def _pool_attrs(n, mod, op, x_shape, out_shape):
    name = _fname(n) if mod is None else type(mod).__name__
    adaptive = "adaptive" in name.lower()
    if adaptive:
        # adaptive pooling: to 1x1 (average) is global_avgpool; otherwise the
        # equivalent fixed window (stride in // out, kernel covering the rest)
        if x_shape is None or len(x_shape) < 3:
            return op, {}
        ih, iw = (x_shape[-2], x_shape[-1])
        oh, ow = (out_shape[-2], out_shape[-1])
        if op == "avgpool2d" and oh == 1 and ow == 1:
            return "global_avgpool", {}
        sh, sw = max(1, ih // oh), max(1, iw // ow)
        kh, kw = ih - (oh - 1) * sh, iw - (ow - 1) * sw
        # an output larger than the input (alexnet at 160x160: 4x4 -> 6x6)
        # has overlapping windows of 1-2 inputs: the widest window, stride 1
        if oh > ih:
            kh = max(-(-(i + 1) * ih // oh) - i * ih // oh for i in range(oh))
        if ow > iw:
            kw = max(-(-(i + 1) * iw // ow) - i * iw // ow for i in range(ow))
        return op, {"kernel": [kh, kw], "stride": [sh, sw], "padding": [0, 0]}
    if mod is not None:
        k, s, p = mod.kernel_size, mod.stride, mod.padding
        d = getattr(mod, "dilation", 1)
        one_d = isinstance(mod, (nn.MaxPool1d, nn.AvgPool1d))
    else:
        k = _arg(n, 1, "kernel_size")
        s = _arg(n, 2, "stride", None)
        p = _arg(n, 3, "padding", 0)
        d = _arg(n, 4, "dilation", 1) if op == "maxpool2d" else 1
        one_d = "1d" in name
    k = _pair(k, 1)
    s = _pair(s, k)
    p = _pair(p, 0)
    d = _pair(d, 1)
    if one_d:
        k, s, p, d = [1, k[-1]], [1, s[-1]], [0, p[-1]], [1, d[-1]]
    attrs = {"kernel": k, "stride": s, "padding": p}
    if d != [1, 1]:
        attrs["dilation"] = d
    return op, attrs
