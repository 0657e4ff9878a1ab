"""FLOPs and bytes of one node, for the profiler's utilization LABEL only.

The model's features come from the C cost model (graph/cost.c); this module
exists because a utilization label (achieved FLOP/s over peak, or achieved
bytes/s over bandwidth) needs a work estimate next to the measured time.
FLOPs follow graph/cost.c's formulas so the two agree; bytes here are what
the op really moves: activation inputs + output + parameters (actual
parameter sizes when the profiler knows them), and zero for a view that
aliases its input (a view that copies, such as contiguous() after a
transpose, moves its input and output).

No torch import: specs.py uses it on generator graphs to cap their size.
"""

import math

FN_WORK = {  # FLOPs per output element, as fn_flops_per_elem in graph/cost.c
    "gelu": 4.0, "silu": 4.0, "sigmoid": 4.0, "tanh": 4.0, "elu": 4.0, "softplus": 4.0,
    "mish": 4.0, "exp": 4.0, "log": 4.0, "pow": 4.0,
    "hardswish": 2.0, "hardsigmoid": 2.0, "sqrt": 2.0, "rsqrt": 2.0, "div": 2.0,
    "zero": 0.0,
}

DTYPE_SIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1, "uint8": 1,
              "int32": 4, "int64": 8, "bool": 1}


def numel(shape):
    return int(math.prod(shape)) if shape else 1


def _dim(shape, d, default=1):
    return shape[d] if shape and -len(shape) <= d < len(shape) else default


def _matmul_fits(x, y, out):
    return (len(x) >= 2 and len(y) >= 2 and len(out) >= 2 and x[-1] == y[-2] and x[-2] == out[-2]
            and y[-1] == out[-1])


def matmul_reduction(in_shapes, out_shape):
    """K of a matmul, as graph/cost.c reads it: the first operand's last
    dimension, unless the listed shapes multiply to the output only the
    other way round (a constant left operand is listed second) or with the
    first one transposed."""
    if not in_shapes:
        return 1
    a = list(in_shapes[0])
    if len(in_shapes) > 1:
        b = list(in_shapes[1])
        if not _matmul_fits(a, b, out_shape):
            if _matmul_fits(b, a, out_shape):
                return b[-1]
            if len(a) == 2 and len(b) >= 2 and len(out_shape) >= 2 and a[0] == b[-2] and a[1] == out_shape[-2]:
                return a[0]
    return _dim(a, -1)


def flops(op, fn, attrs, in_shapes, out_shape):
    """FLOPs of a node (multiply-add = 2), graph/cost.c's formulas."""
    out = numel(out_shape)
    x = in_shapes[0] if in_shapes else None
    if op in ("conv2d", "dwconv2d"):
        cin = _dim(x, 1) if x else _dim(out_shape, 1)
        k = attrs.get("kernel", [1, 1])
        return 2.0 * out * (cin / attrs.get("groups", 1)) * k[0] * k[1]
    if op == "linear":
        return 2.0 * out * (_dim(x, -1) if x else 1)
    if op in ("matmul", "bmm"):
        return 2.0 * out * matmul_reduction(in_shapes, out_shape)
    if op in ("maxpool2d", "avgpool2d"):
        k = attrs.get("kernel", [1, 1])
        return float(out * k[0] * k[1])
    if op == "global_avgpool":
        return float(numel(x) if x else out)
    if op == "batchnorm":
        return 2.0 * out
    if op == "layernorm":
        return 8.0 * out
    if op in ("activation", "elementwise"):
        return out * FN_WORK.get(fn or "", 1.0)
    if op in ("add", "mul"):
        return float(out * max(1, len(in_shapes) - 1))
    if op == "softmax":
        return 5.0 * out
    return 0.0


def param_elems_estimate(op, attrs, in_shapes, out_shape):
    """Parameter count when the real one is unknown (graph/cost.c's estimate)."""
    x = in_shapes[0] if in_shapes else None
    if op in ("conv2d", "dwconv2d"):
        cin = _dim(x, 1) if x else _dim(out_shape, 1)
        cout = _dim(out_shape, 1)
        k = attrs.get("kernel", [1, 1])
        return cout * (cin // attrs.get("groups", 1)) * k[0] * k[1] + cout
    if op == "linear":
        k, n = (_dim(x, -1) if x else 1), _dim(out_shape, -1)
        return k * n + n
    if op == "batchnorm":
        return 2 * _dim(out_shape, 1)
    if op == "layernorm":
        return 2 * _dim(out_shape, -1)
    return 0


def bytes_moved(op, fn, in_shapes, out_shape, esz=4, param_elems=0, aliases=False):
    """Bytes an op reads and writes (activations, output, parameters)."""
    if op in ("input", "output"):
        return 0.0
    if op == "view" and aliases:
        return 0.0
    # a zero op (NAS-Bench-201's "none": x.mul(0.)) reads its input like any
    # element-wise op (a NaN input stays NaN); the C feature may differ, this
    # is what the label measures against
    ins = sum(numel(s) for s in in_shapes)
    return float((ins + numel(out_shape) + param_elems) * esz)


def graph_flops(doc):
    """Total FLOPs of a gnnperf-graph document (in_shapes from producers)."""
    shape = {}
    total = 0.0
    for n in doc["nodes"]:
        ins = n.get("in_shapes") or [shape[i] for i in n.get("inputs", [])]
        a = n.get("attrs", {})
        total += flops(n["op"], a.get("fn"), a, ins, n["out_shape"])
        shape[n["name"]] = n["out_shape"]
    return total


def utilization(fl, by, seconds, peak_gflops, bw_gbs):
    """(ratio, bound) or (None, None) when the node does no modelled work.

    Roofline: an op whose arithmetic intensity (FLOPs per byte) reaches the
    ridge point peak/bandwidth is compute-bound and scored by achieved
    FLOP/s over peak; below it, memory-bound and scored by achieved bytes/s
    over bandwidth.  Values above 1 happen (cache-resident data beats the
    DRAM bandwidth measured with a large copy; oneDNN convolutions can beat
    the torch.mm peak).
    """
    if seconds <= 0 or (fl <= 0 and by <= 0):
        return None, None
    ridge = peak_gflops / bw_gbs
    if fl > 0 and (by <= 0 or fl / by >= ridge):
        return fl / seconds / (peak_gflops * 1e9), "compute"
    return by / seconds / (bw_gbs * 1e9), "memory"


def node_labels(conv, node_time, per_ms, aliases, peak_for, bw_gbs):
    """Per-node labels of a converted graph (tograph.convert), shared by the
    CPU and GPU profilers.

    node_time(fx node) is the node's measured time in the caller's unit,
    per_ms of which make a millisecond (1e6 for ns, 1 for ms); aliases maps
    fx nodes to "output aliases an input"; peak_for(json node) gives the
    GFLOP/s peak that node is scored against.  Returns (labels as (node,
    target, value, unit), sum of node times in the caller's unit, total
    FLOPs, {"compute": n, "memory": n} utilization bounds).
    """
    labels, shapes = [], {}
    node_sum = 0.0
    total_flops = 0.0
    bound_counts = {"compute": 0, "memory": 0}
    for fxn, jn in conv.emitted:
        shapes[jn["name"]] = jn["out_shape"]
        if jn["op"] in ("input", "output"):
            continue
        t = node_time(fxn)
        node_sum += t
        labels.append((jn["name"], "latency_ms", t / per_ms, "ms"))
        attrs = jn.get("attrs", {})
        ins = jn.get("in_shapes") or [shapes[i] for i in jn.get("inputs", [])]
        act_ins = [shapes[i] for i in jn.get("inputs", [])]
        fl = flops(jn["op"], attrs.get("fn"), attrs, ins, jn["out_shape"])
        total_flops += fl
        esz = DTYPE_SIZE.get(jn.get("dtype", "float32"), 4)
        by = bytes_moved(jn["op"], attrs.get("fn"), act_ins, jn["out_shape"], esz,
                         conv.params.get(jn["name"], 0), aliases.get(fxn, False))
        u, bound = utilization(fl, by, t / (per_ms * 1e3), peak_for(jn), bw_gbs)
        if u is not None:
            labels.append((jn["name"], "utilization", u, "ratio"))
            bound_counts[bound] += 1
    return labels, node_sum, total_flops, bound_counts
