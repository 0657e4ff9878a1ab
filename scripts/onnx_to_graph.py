#!/usr/bin/python3
"""Convert an ONNX model file to a gnnperf graph (docs/graph-json.md).

    scripts/onnx_to_graph.py model.onnx -o model.json [--name NAME] [--dim batch=1]

Shapes come from onnx.shape_inference.infer_shapes; symbolic dimensions are
set with --dim NAME=VALUE (any left over is an error naming the tensor).

Mapping (the same conventions as profile_torch.py's torch.fx converter):

  * graph inputs that are not initializers -> "input" nodes; the graph
    outputs -> one "output" node reading all of them.
  * initializers and Constant nodes are parameters/constants, never nodes or
    inputs.  Conv, Gemm/MatMul with a constant weight, BatchNormalization,
    the normalisations and Gather on a constant table read theirs as
    parameters (graph/cost.c derives those from attributes); any other op
    reading a floating-point constant (Add of a bias, Mul by a scale) lists
    its shape in in_shapes after the graph inputs' shapes.  Integer
    constants (shapes, axes, indices) are arguments, not tensors.
  * Shape and everything computed only from shapes and constants (the
    Shape -> Gather -> Concat -> Reshape chains of dynamic reshapes) is not
    a node: it is shape arithmetic, not tensor work.
  * Identity is dropped and its consumers rewired to its producer.
  * A node with several outputs stands for output 0 when no other output is
    used (BatchNormalization, MaxPool with Indices, Dropout with mask);
    otherwise (Split) it keeps output 0's shape, lists all shapes in
    meta.outputs, and each used output k > 0 is a "view" node named
    <node>:<k> reading it (output 0 is the node itself).
  * Conv -> conv2d, or dwconv2d when group == input channels > 1 (Conv1d:
    kernel [1, k]); Gemm -> linear (matmul when B is not constant or A is
    transposed); MatMul -> linear with a constant right operand, else matmul
    (rank 2) or bmm; pools,
    norms, activations, element-wise ops, Concat, Softmax as in graph/ops.h;
    Reshape/Flatten/Transpose/Squeeze/Unsqueeze/Slice/Split/Expand/Cast/
    Dropout/Gather on activations -> view; anything else -> "other" with
    meta.op_type.
"""

import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

ELEM_DTYPE = {1: "float32", 10: "float16", 16: "bfloat16", 11: "float64", 3: "int8", 2: "uint8",
              6: "int32", 7: "int64", 9: "bool"}
FLOAT_TYPES = (1, 10, 16, 11)

ACT = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Gelu": "gelu", "Sigmoid": "sigmoid", "Tanh": "tanh",
       "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid", "Elu": "elu", "Selu": "elu", "Celu": "elu",
       "Softplus": "softplus", "Mish": "mish", "PRelu": "leaky_relu", "Softsign": "other"}
ELEMWISE = {"Sub": "sub", "Div": "div", "Pow": "pow", "Sqrt": "sqrt", "Exp": "exp", "Log": "log",
            "Neg": "neg", "Abs": "abs", "Max": "maximum", "Min": "minimum", "Clip": "clamp", "Where": "where",
            "Reciprocal": "div", "Erf": "other", "Sin": "other", "Cos": "other", "Floor": "other",
            "Ceil": "other", "Round": "other", "Sign": "other", "Not": "other", "Equal": "other",
            "Less": "other", "Greater": "other", "And": "other", "Or": "other"}
VIEW = ("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Slice", "Split", "Expand", "Cast",
        "Dropout", "Gather", "GatherElements", "Tile", "DepthToSpace", "SpaceToDepth")
NORMS = ("LayerNormalization", "GroupNormalization", "InstanceNormalization", "LpNormalization",
         "SimplifiedLayerNormalization")
PARAM_OPS = ("conv2d", "dwconv2d", "linear", "batchnorm", "layernorm", "embedding")


class ConvertError(ValueError):
    pass


def _attrs(node):
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _constant_array(attrs):
    """The value of a Constant node as a numpy array, whichever attribute
    holds it (value, value_float(s), value_int(s)); None for a sparse or
    string constant, which is never a tensor operand here."""
    import numpy as np
    from onnx import numpy_helper
    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in attrs:
            return np.array(attrs[key], dtype=dtype)
    return None


def _pair(v, default):
    if v is None:
        return list(default)
    v = [int(e) for e in v]
    if len(v) == 1:
        return [1, v[0]] if default == [1, 1] else [0, v[0]]
    return v[-2:]


def _shape_of(vi, dims, where):
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        raise ConvertError("%s: no shape known (run with a model whose shapes infer, or set --dim)" % where)
    out = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.dim_param and d.dim_param in dims:
            out.append(int(dims[d.dim_param]))
        else:
            raise ConvertError("%s: dimension %r is symbolic; give it a value with --dim %s=N"
                               % (where, d.dim_param or "?", d.dim_param or "NAME"))
    return out


def _infer(model):
    import onnx
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # noqa: BLE001 -- report and go on with what the file has
        sys.stderr.write("onnx_to_graph: warning: shape inference failed: %s\n" % e)
        return model


def _fold_constants(model, dims):
    """Evaluates the constant part of the graph (shape arithmetic, expanded
    constants) with numpy and stores the results as initializers, so that
    shape inference can resolve what it could not (torch exports compute
    expand/reshape targets from Shape with Equal/Where, which onnx's data
    propagation does not follow).  Returns (model, number of nodes folded)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper
    g = model.graph
    vinfo = {vi.name: vi for vi in list(g.input) + list(g.value_info) + list(g.output)}
    init = {t.name: t for t in g.initializer}
    inputs = {vi.name for vi in g.input if vi.name not in init}
    vals = {}

    def get(name):
        if name in vals:
            return vals[name]
        if name in init:
            vals[name] = numpy_helper.to_array(init[name])
            return vals[name]
        return None

    def static_shape(name):
        vi = vinfo.get(name)
        if vi is None:
            return None
        try:
            return _shape_of(vi, dims, name)
        except ConvertError:
            return None

    folded = []
    for nd in g.node:
        a = _attrs(nd)
        ins = list(nd.input)
        t = nd.op_type
        try:
            if t == "Constant":
                out = _constant_array(a)
                if out is None:
                    continue
            elif t == "Shape":
                shp = static_shape(ins[0])
                if shp is None:
                    continue
                out = np.array(shp, dtype=np.int64)[a.get("start", 0):a.get("end", None)]
            else:
                args = [get(i) if i else None for i in ins]
                if not ins or any(i and v is None for i, v in zip(ins, args)) or any(i in inputs for i in ins):
                    continue
                out = _np_op(t, a, args)
                if out is None:
                    continue
        except Exception:  # noqa: BLE001 -- anything odd: leave the node to shape inference
            continue
        vals[nd.output[0]] = np.asarray(out)
        folded.append(nd)
    if not folded:
        return model, 0
    keep = [nd for nd in g.node if nd not in folded]
    needed = {i for nd in keep for i in nd.input} | {o.name for o in g.output}
    new_init = [numpy_helper.from_array(vals[nd.output[0]], nd.output[0]) for nd in folded
                if nd.output[0] in needed and nd.output[0] not in init]
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    m.graph.initializer.extend(new_init)
    del m.graph.value_info[:]
    return m, len(folded)


def _np_op(t, a, x):
    """numpy evaluation of the small ops that build shapes; None when unsupported."""
    import numpy as np
    if t == "Identity":
        return x[0]
    if t == "Gather":
        return np.take(x[0], x[1], axis=a.get("axis", 0))
    if t == "Unsqueeze":
        axes = a.get("axes", list(x[1]) if len(x) > 1 and x[1] is not None else None)
        out = x[0]
        for ax in sorted(int(v) % (out.ndim + len(axes)) for v in axes):
            out = np.expand_dims(out, ax)
        return out
    if t == "Squeeze":
        axes = a.get("axes", list(x[1]) if len(x) > 1 and x[1] is not None else None)
        return np.squeeze(x[0], axis=tuple(int(v) for v in axes) if axes is not None else None)
    if t == "Concat":
        return np.concatenate([v for v in x if v is not None], axis=a.get("axis", 0))
    if t == "Cast":
        from onnx import helper
        return x[0].astype(helper.tensor_dtype_to_np_dtype(a["to"]))
    if t == "ConstantOfShape":
        from onnx import numpy_helper
        v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, dtype=np.float32)
        return np.full(tuple(int(d) for d in x[0]), v.reshape(-1)[0], dtype=v.dtype)
    if t in ("Add", "Sub", "Mul", "Div", "Equal", "Less", "Greater"):
        fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Equal": np.equal, "Less": np.less,
              "Greater": np.greater}.get(t)
        if t == "Div":
            return (x[0] // x[1]) if np.issubdtype(x[0].dtype, np.integer) else x[0] / x[1]
        return fn(x[0], x[1])
    if t == "Where":
        return np.where(x[0], x[1], x[2])
    if t == "Slice":
        data, starts, ends = x[0], x[1], x[2]
        axes = x[3] if len(x) > 3 and x[3] is not None else range(len(starts))
        steps = x[4] if len(x) > 4 and x[4] is not None else [1] * len(starts)
        sl = [slice(None)] * data.ndim
        for s0, e0, ax, st in zip(starts, ends, axes, steps):
            sl[int(ax)] = slice(int(s0), int(e0), int(st))
        return data[tuple(sl)]
    if t == "Reshape":
        shp = [int(d) for d in x[1]]
        shp = [x[0].shape[k] if d == 0 else d for k, d in enumerate(shp)]
        return x[0].reshape(shp)
    if t == "Expand":
        shp = tuple(int(d) for d in x[1])
        return x[0] * np.ones(shp, dtype=x[0].dtype)
    if t == "Range":
        return np.arange(x[0], x[1], x[2])
    return None


def convert(model, name, dims=None):
    """An onnx.ModelProto -> gnnperf-graph dict."""
    from onnx import numpy_helper
    dims = dict(dims or {})
    scalars = {}   # constant name -> float value, for one-element constants (Clip bounds)
    unmapped = {}  # ONNX op type -> nodes that became kind "other"
    if dims:
        # pin symbolic input dimensions first, so inference sees static shapes
        import onnx
        m = onnx.ModelProto()
        m.CopyFrom(model)
        for vi in m.graph.input:
            for d in vi.type.tensor_type.shape.dim:
                if d.dim_param and d.dim_param in dims:
                    v = int(dims[d.dim_param])
                    d.Clear()
                    d.dim_value = v
        model = m
    model = _infer(model)
    for _ in range(4):       # folding may uncover more static shapes
        model, n = _fold_constants(model, dims)
        if not n:
            break
        model = _infer(model)
    g = model.graph
    init = {t.name: t for t in g.initializer}
    vinfo = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        vinfo[vi.name] = vi

    # value name -> ("dep", producer json name) | ("const", shape, elem_type)
    val = {}
    for name_, t in init.items():
        val[name_] = ("const", list(t.dims), t.data_type)
        if _numel(t.dims) == 1:
            scalars[name_] = float(numpy_helper.to_array(t).reshape(-1)[0])
    nodes = []
    names = set()

    def uniq(base):
        base = re.sub(r"[\x00-\x1f\x7f]", "_", base or "node")[:200]
        nm, k = base, 1
        while nm in names:
            nm = "%s_%d" % (base, k)
            k += 1
        names.add(nm)
        return nm

    def shape(vname, where):
        if vname in vinfo:
            return _shape_of(vinfo[vname], dims, where)
        v = val.get(vname)
        if v and v[0] == "const":
            return v[1]
        raise ConvertError("%s: tensor %r has no inferred shape" % (where, vname))

    def elem(vname):
        if vname in vinfo:
            return vinfo[vname].type.tensor_type.elem_type
        v = val.get(vname)
        return v[2] if v and v[0] == "const" else 1

    for vi in g.input:
        if vi.name in init:
            continue
        nm = uniq(vi.name)
        jn = {"name": nm, "op": "input", "out_shape": _shape_of(vi, dims, "input %r" % vi.name)}
        dt = ELEM_DTYPE.get(vi.type.tensor_type.elem_type, "float32")
        if dt != "float32":
            jn["dtype"] = dt
        nodes.append(jn)
        val[vi.name] = ("dep", nm)

    # which outputs of each node are read (to fold single-output use)
    used = {}
    for nd in g.node:
        for i in nd.input:
            used[i] = used.get(i, 0) + 1
    for o in g.output:
        used[o.name] = used.get(o.name, 0) + 1

    for idx, nd in enumerate(g.node):
        where = "node %d (%s %r)" % (idx, nd.op_type, nd.name)
        a = _attrs(nd)
        ins = [i for i in nd.input if i]
        if nd.op_type == "Constant":
            arr = _constant_array(a)
            shp = list(arr.shape) if arr is not None else []
            # TensorProto codes: the value tensor's own, else FLOAT (1) or INT64 (7)
            dt = a["value"].data_type if "value" in a else 7 if arr is not None and arr.dtype.kind == "i" else 1
            for o in nd.output:
                val[o] = ("const", shp, dt)
                if arr is not None and arr.size == 1:
                    scalars[o] = float(arr.reshape(-1)[0])
            continue
        dep_ins = [i for i in ins if val.get(i, ("const",))[0] == "dep"]
        if nd.op_type == "Shape" or not dep_ins:
            # shape arithmetic / constant folding: not tensor work
            for o in nd.output:
                try:
                    shp = shape(o, where)
                except ConvertError:
                    shp = None      # unknown: never listed in in_shapes
                val[o] = ("const", shp, elem(o))
            continue
        if nd.op_type == "Identity":
            val[nd.output[0]] = val[ins[0]]
            continue
        op, fn, attrs = _map(nd, a, list(nd.input), val, shape, elem, where, scalars)
        const_ins = [i for i in ins if val.get(i, ("const",))[0] == "const" and
                     elem(i) in FLOAT_TYPES and val.get(i, ("const", None))[1] is not None]
        outs = [o for o in nd.output if o]
        out_shape = shape(outs[0], where)
        jn = {"name": uniq(nd.name or "%s_%d" % (nd.op_type, idx)), "op": op}
        jn["inputs"] = [val[i][1] for i in dep_ins]
        if op not in PARAM_OPS and const_ins:
            jn["in_shapes"] = [shape(i, where) for i in dep_ins] + [shape(i, where) for i in const_ins]
        jn["out_shape"] = out_shape
        dt = ELEM_DTYPE.get(elem(outs[0]), "float32")
        if dt != "float32":
            jn["dtype"] = dt
        if fn:
            attrs["fn"] = fn
        if attrs:
            jn["attrs"] = attrs
        meta = {"op_type": nd.op_type}
        if op == "other":
            unmapped[nd.op_type] = unmapped.get(nd.op_type, 0) + 1
        extra = [k for k, o in enumerate(outs) if k > 0 and used.get(o)]
        if extra:
            meta["outputs"] = [shape(o, where) for o in outs]
        jn["meta"] = meta
        nodes.append(jn)
        val[outs[0]] = ("dep", jn["name"])
        for k in extra:
            vn = {"name": uniq("%s:%d" % (jn["name"], k)), "op": "view", "inputs": [jn["name"]],
                  "out_shape": shape(outs[k], where), "meta": {"op_type": nd.op_type, "index": k}}
            nodes.append(vn)
            val[outs[k]] = ("dep", vn["name"])

    outs = [o.name for o in g.output if val.get(o.name, ("const",))[0] == "dep"]
    if not outs:
        raise ConvertError("no graph output depends on a graph input")
    jn = {"name": uniq("output"), "op": "output", "inputs": [val[o][1] for o in outs],
          "out_shape": shape(outs[0], "output %r" % outs[0])}
    if len(outs) > 1:
        jn["meta"] = {"outputs": [shape(o, "output") for o in outs]}
    nodes.append(jn)
    meta = {"source": "onnx_to_graph.py", "opset": max((o.version for o in model.opset_import
                                                        if o.domain in ("", "ai.onnx")), default=0)}
    if model.producer_name:
        meta["producer"] = model.producer_name
    if unmapped:
        # ops gnnperf has no kind for (or, like a 3-D conv, no cost model):
        # nodes of kind "other", which the cost model gives no FLOPs, only
        # the bytes of their shapes
        meta["other_ops"] = dict(sorted(unmapped.items()))
    return {"format": "gnnperf-graph", "version": 1, "name": name, "meta": meta, "nodes": nodes}


def _numel(dims):
    n = 1
    for d in dims:
        n *= int(d)
    return n



def _map(nd, a, raw_ins, val, shape, elem, where, scalars):
    """(op, fn, attrs) of one ONNX node (raw_ins keeps empty optional inputs)."""
    t = nd.op_type
    ins = [i for i in raw_ins if i]
    dep = [i for i in ins if val.get(i, ("const",))[0] == "dep"]
    x_shape = shape(dep[0], where) if dep else []

    def is_const(i):
        return val.get(i, ("const",))[0] == "const"

    if t == "Conv":
        w = shape(ins[1], where)
        k = a.get("kernel_shape") or w[2:]
        if len(k) > 2:
            # 3-D and higher: conv2d's cost counts two kernel dimensions, so
            # it would understate the work by the others
            return "other", None, {}
        one_d = len(k) == 1
        k = [1, k[0]] if one_d else list(k[-2:])
        s = a.get("strides") or [1] * (1 if one_d else 2)
        d = a.get("dilations") or [1] * (1 if one_d else 2)
        s = [1, s[-1]] if one_d else list(s[-2:])
        d = [1, d[-1]] if one_d else list(d[-2:])
        pads = a.get("pads")
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            p = []
            sp = x_shape[2:] if not one_d else [1, x_shape[2]]
            for ax in range(2):
                out = -(-sp[ax] // s[ax])
                total = max((out - 1) * s[ax] + (k[ax] - 1) * d[ax] + 1 - sp[ax], 0)
                p.append(total // 2)
        elif pads:
            half = len(pads) // 2
            begin = list(pads[:half])
            p = [0, begin[0]] if one_d else begin[-2:]
        else:
            p = [0, 0]
        groups = int(a.get("group", 1))
        cin = x_shape[1] if len(x_shape) > 1 else 0
        op = "dwconv2d" if groups == cin and cin > 1 else "conv2d"
        attrs = {"kernel": k, "stride": s, "padding": p, "dilation": d}
        if groups != 1:
            attrs["groups"] = groups
        return op, None, attrs
    if t == "ConvTranspose":
        return "other", None, {}
    # linear: activations x[..., K] times a constant weight, K read from x's last
    # dimension; a constant left operand (or Gemm's transA) is not that, and
    # stays a matmul listing both shapes (graph/cost.c finds K from them)
    if t == "Gemm":
        return ("linear" if is_const(ins[1]) and not a.get("transA", 0) else "matmul"), None, {}
    if t in ("MatMul", "MatMulInteger"):
        if is_const(ins[1]) and not is_const(ins[0]):
            return "linear", None, {}
        return ("matmul" if len(shape(nd.output[0], where)) <= 2 else "bmm"), None, {}
    if t in ("MaxPool", "AveragePool", "LpPool"):
        k = list(a.get("kernel_shape", [1, 1]))
        if len(k) > 2:
            return "other", None, {}     # as Conv: a 3-D window is not a 2-D pool
        one_d = len(k) == 1
        k = [1, k[0]] if one_d else k[-2:]
        s = list(a.get("strides") or ([1] * len(a.get("kernel_shape", [1, 1]))))
        s = [1, s[0]] if one_d else s[-2:]
        pads = a.get("pads")
        if pads:
            half = len(pads) // 2
            p = [0, pads[0]] if one_d else list(pads[:half])[-2:]
        else:
            p = [0, 0]
        attrs = {"kernel": k, "stride": s, "padding": p}
        dil = a.get("dilations")
        if dil and list(dil)[-2:] != [1, 1] and t == "MaxPool":
            attrs["dilation"] = [1, dil[0]] if one_d else list(dil)[-2:]
        return ("maxpool2d" if t != "AveragePool" else "avgpool2d"), None, attrs
    if t == "GlobalAveragePool":
        return "global_avgpool", None, {}
    if t == "GlobalMaxPool":
        hw = x_shape[2:4] if len(x_shape) >= 4 else [1, x_shape[-1]]
        return "maxpool2d", None, {"kernel": list(hw), "stride": list(hw), "padding": [0, 0]}
    if t == "ReduceMean":
        axes = a.get("axes")
        if axes is None and len(ins) > 1:
            axes = None      # opset 18 axes as an input: treat as a generic reduction
        r = len(x_shape)
        if axes is not None and r == 4 and sorted(v % r for v in axes) == [2, 3]:
            return "global_avgpool", None, {}
        return "other", None, {}
    if t == "BatchNormalization":
        return "batchnorm", None, {}
    if t in NORMS:
        return "layernorm", None, {}
    if t in ACT:
        return "activation", ACT[t], {}
    if t == "Clip":
        lo = a.get("min", scalars.get(raw_ins[1]) if len(raw_ins) > 1 and raw_ins[1] else None)
        hi = a.get("max", scalars.get(raw_ins[2]) if len(raw_ins) > 2 and raw_ins[2] else None)
        if lo == 0.0 and hi == 6.0:
            return "activation", "relu6", {}
        return "elementwise", "clamp", {}
    if t in ("Add", "Sum"):
        return "add", None, {}
    if t == "Mul":
        return "mul", None, {}
    if t in ELEMWISE:
        return "elementwise", ELEMWISE[t], {}
    if t == "Concat":
        return "concat", None, {}
    if t in ("Softmax", "LogSoftmax"):
        return "softmax", None, {}
    if t == "Gather" and is_const(ins[0]) and elem(ins[0]) in FLOAT_TYPES:
        return "embedding", None, {}
    if t in VIEW:
        return "view", None, {}
    return "other", None, {}


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert an ONNX model to a gnnperf graph (JSON).")
    ap.add_argument("model", help="the .onnx file")
    ap.add_argument("-o", "--output", required=True,
                    help="output file: a .jsonl name gets one JSON line, any other name an indented "
                         "document; '-' prints one line to stdout")
    ap.add_argument("--name", help="graph name (default: the file name without .onnx)")
    ap.add_argument("--dim", action="append", default=[], metavar="NAME=N",
                    help="value of a symbolic dimension, e.g. batch_size=1 (repeatable)")
    args = ap.parse_args(argv)
    dims = {}
    for d in args.dim:
        k, sep, v = d.partition("=")
        if not sep or not v.isdigit() or int(v) < 1:
            ap.error("--dim %r: expected NAME=N with N >= 1" % d)
        dims[k] = int(v)
    if args.output != "-":
        out_dir = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(out_dir):
            print("onnx_to_graph: %s: no such directory for the output" % args.output, file=sys.stderr)
            return 1
        if os.path.exists(args.output) and os.path.exists(args.model) and os.path.samefile(args.output, args.model):
            ap.error("-o %s is the input model; writing it would replace the model" % args.output)
    import onnx
    try:
        model = onnx.load(args.model)
    except Exception as e:  # noqa: BLE001
        print("onnx_to_graph: %s: cannot read: %s" % (args.model, e), file=sys.stderr)
        return 1
    name = args.name or os.path.splitext(os.path.basename(args.model))[0]
    try:
        doc = convert(model, name, dims)
    except ConvertError as e:
        print("onnx_to_graph: %s: %s" % (args.model, e), file=sys.stderr)
        return 1
    import gpgraph
    try:
        if args.output == "-":
            sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")
        elif args.output.endswith(".jsonl"):
            gpgraph.write_jsonl([doc], args.output)
        else:
            gpgraph.write_json(doc, args.output)
    except OSError as e:
        print("onnx_to_graph: %s: cannot write: %s" % (args.output, e.strerror or e), file=sys.stderr)
        return 1
    other = doc["meta"].get("other_ops")
    if other:
        print("onnx_to_graph: warning: %d node(s) became kind 'other' (no FLOPs in the cost model, "
              "only bytes): %s" % (sum(other.values()), ", ".join("%s x%d" % kv for kv in other.items())),
              file=sys.stderr)
    print("onnx_to_graph: %s: %d nodes -> %s" % (args.model, len(doc["nodes"]), args.output), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
