"""gpgraph: build computation graphs in gnnperf's JSON graph format.

The generators (gen_nb201.py, gen_fbnet.py, gen_random_cnn.py) describe
networks as code against GraphBuilder; this module turns that into the
"gnnperf-graph" version 1 documents the C reader (graph/graph_json.c) loads:

    b = GraphBuilder("tiny", meta={"source": "example"})
    x = b.input([1, 3, 32, 32])
    h = b.conv(x, 16, k=3, s=1, p=1); h = b.bn(h); h = b.act(h, "relu")
    h = b.gap(h); h = b.flatten(h); h = b.linear(h, 10)
    b.output(h)
    doc = b.to_json()

Every method infers the output shape the way PyTorch would and returns the new
node's name, so a network reads like its forward().  Shapes are checked as the
graph is built and any impossible one raises GraphError naming the node: a
generator bug must fail where it happens, not later as a confusing latency
label in a dataset.  Scripts emit graphs only, never features or FLOPs: those
are the C featurizer's job.

The op, fn and dtype vocabularies below mirror graph/ops.c (the self-test
checks they agree).  Only the node keys the C reader knows are emitted,
because it rejects unknown keys.
"""

import contextlib
import json
import os
import sys

FORMAT = "gnnperf-graph"
VERSION = 1

# Mirrors of the name tables in graph/ops.c (same order, so same codes).
OPS = (
    "input", "output", "conv2d", "dwconv2d", "linear", "matmul", "bmm",
    "maxpool2d", "avgpool2d", "global_avgpool", "batchnorm", "layernorm",
    "activation", "add", "mul", "elementwise", "concat", "softmax",
    "embedding", "view", "other",
)
FNS = (
    "none", "relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh",
    "hardswish", "hardsigmoid", "elu", "softplus", "mish", "sub", "div", "pow",
    "sqrt", "rsqrt", "exp", "log", "neg", "abs", "maximum", "minimum", "clamp",
    "where", "zero", "other",
)
DTYPES = ("float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32",
          "int64", "bool")

NODE_KEYS = ("name", "op", "inputs", "in_shapes", "out_shape", "dtype", "attrs", "meta")
ATTR_KEYS = ("kernel", "stride", "padding", "dilation", "groups", "fn", "inplace")
MAX_RANK = 6  # GRAPH_MAX_RANK in graph/graph.h


class GraphError(ValueError):
    """An impossible graph: bad shape, unknown producer, wrong vocabulary."""


def _pair(v, what):
    """Normalises an int or (h, w) pair to a 2-list of ints."""
    if isinstance(v, int):
        return [v, v]
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(e, int) for e in v):
        return [v[0], v[1]]
    raise GraphError("%s must be an int or an (h, w) pair of ints, got %r" % (what, v))


def _broadcast(a, b):
    """Numpy-style broadcast of two shapes; None when they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and da != 1 and db != 1:
            return None
        out.append(max(da, db))
    return out[::-1]


class GraphBuilder:
    """Accumulates the nodes of one graph, in topological order.

    Node names are "<scope>.<name>"; a name already taken gets a numeric
    suffix, so helpers can be called repeatedly without naming every node.
    scope() also attaches free-form meta to every node created inside it
    (gen_fbnet.py uses it to tag nodes with their FBNet block).
    """

    def __init__(self, name, meta=None):
        if not name:
            raise GraphError("a graph needs a non-empty name")
        self.name = name
        self.meta = dict(meta or {})
        self.nodes = []
        self._shape = {}          # node name -> out_shape (list of ints)
        self._prefix = ""         # name prefix of the current scope, "a.b."
        self._meta = None         # meta of the current scope (merged), or None
        self._has_input = False
        self._has_output = False

    # ---------------------------------------------------------------- naming

    @contextlib.contextmanager
    def scope(self, prefix, meta=None):
        """Prefixes node names with prefix + "." and merges meta into theirs."""
        saved = (self._prefix, self._meta)
        if prefix:
            self._prefix = self._prefix + prefix + "."
        if meta:
            self._meta = dict(self._meta or {}, **meta)
        try:
            yield
        finally:
            self._prefix, self._meta = saved

    def _full_name(self, name):
        full = self._prefix + name
        if full not in self._shape:
            return full
        k = 1
        while "%s_%d" % (full, k) in self._shape:
            k += 1
        return "%s_%d" % (full, k)

    # -------------------------------------------------------------- plumbing

    def shape(self, node):
        """Output shape of an existing node (a fresh list)."""
        try:
            return list(self._shape[node])
        except KeyError:
            raise GraphError("graph %s: no node named %r (known: %d nodes)"
                             % (self.name, node, len(self.nodes))) from None

    def channels(self, node):
        """Dim 1 of an NCHW (or N, C) tensor."""
        return self.shape(node)[1]

    def __len__(self):
        return len(self.nodes)

    def truncate(self, n):
        """Drops every node after the first n (undoes a trial block).

        Generators that aim for an exact node count build a candidate block,
        and roll it back when it does not fit.
        """
        if not 0 <= n <= len(self.nodes):
            raise GraphError("graph %s: truncate(%d) with %d nodes" % (self.name, n, len(self.nodes)))
        for nd in self.nodes[n:]:
            del self._shape[nd["name"]]
            if nd["op"] == "input":
                self._has_input = False
            elif nd["op"] == "output":
                self._has_output = False
        del self.nodes[n:]

    def _add(self, op, name, inputs, out_shape, attrs=None, meta=None):
        if self._has_output:
            raise GraphError("graph %s: node %r added after the output node" % (self.name, name))
        for i in inputs:
            if i not in self._shape:
                raise GraphError("graph %s: node %r reads %r, which does not exist (yet)"
                                 % (self.name, name, i))
        full = self._full_name(name)
        out_shape = [int(d) for d in out_shape]
        if not 0 < len(out_shape) <= MAX_RANK:
            raise GraphError("graph %s: node %s (%s) has rank %d, expected 1..%d"
                             % (self.name, full, op, len(out_shape), MAX_RANK))
        if min(out_shape) < 1:
            raise GraphError("graph %s: node %s (%s) would have out_shape %s: a dimension < 1"
                             % (self.name, full, op, out_shape))
        node = {"name": full, "op": op}
        if inputs:
            node["inputs"] = list(inputs)
        if attrs:
            node["attrs"] = attrs
        node["out_shape"] = out_shape
        if meta:
            node["meta"] = dict(self._meta or {}, **meta)
        elif self._meta:
            node["meta"] = dict(self._meta)
        self.nodes.append(node)
        self._shape[full] = out_shape
        return full

    def _nchw(self, x, op):
        s = self.shape(x)
        if len(s) != 4:
            raise GraphError("graph %s: %s needs an NCHW input, %r has shape %s"
                             % (self.name, op, x, s))
        return s

    # ------------------------------------------------------------------- ops

    def input(self, shape, name="x", dtype="float32"):
        """The graph's single input tensor."""
        if self._has_input:
            raise GraphError("graph %s: a second input node %r; graphs have exactly one"
                             % (self.name, name))
        if dtype not in DTYPES:
            raise GraphError("graph %s: dtype %r not in %s" % (self.name, dtype, ", ".join(DTYPES)))
        self._has_input = True
        n = self._add("input", name, [], shape)
        self.nodes[-1]["dtype"] = dtype
        return n

    def output(self, x, name="out"):
        """Marks x as the graph output; must be the last node."""
        n = self._add("output", name, [x], self.shape(x))
        self._has_output = True
        return n

    def conv(self, x, out_ch, k=3, s=1, p=None, d=1, groups=1, name="conv"):
        """2-D convolution; op "dwconv2d" when groups == in channels > 1.

        p=None means "same" padding for stride 1: d * (k - 1) // 2.
        """
        n, c, h, w = self._nchw(x, "conv")
        kh, kw = _pair(k, "kernel")
        sh, sw = _pair(s, "stride")
        dh, dw = _pair(d, "dilation")
        if p is None:
            p = [dh * (kh - 1) // 2, dw * (kw - 1) // 2]
        ph, pw = _pair(p, "padding")
        if min(kh, kw, sh, sw, dh, dw, groups, out_ch) < 1 or min(ph, pw) < 0:
            raise GraphError("graph %s: conv on %r: kernel %s stride %s dilation %s groups %d "
                             "out_ch %d must be >= 1 and padding %s >= 0"
                             % (self.name, x, [kh, kw], [sh, sw], [dh, dw], groups, out_ch, [ph, pw]))
        if c % groups or out_ch % groups:
            raise GraphError("graph %s: conv on %r: in channels %d and out channels %d must be "
                             "divisible by groups %d" % (self.name, x, c, out_ch, groups))
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if oh < 1 or ow < 1:
            raise GraphError("graph %s: conv on %r (%dx%d) with kernel %s dilation %s padding %s "
                             "leaves no output" % (self.name, x, h, w, [kh, kw], [dh, dw], [ph, pw]))
        op = "dwconv2d" if groups == c and c > 1 else "conv2d"
        attrs = {"kernel": [kh, kw], "stride": [sh, sw], "padding": [ph, pw],
                 "dilation": [dh, dw], "groups": groups}
        return self._add(op, name, [x], [n, out_ch, oh, ow], attrs)

    def _pool(self, op, x, k, s, p, name):
        n, c, h, w = self._nchw(x, op)
        kh, kw = _pair(k, "kernel")
        sh, sw = _pair(k if s is None else s, "stride")
        ph, pw = _pair(p, "padding")
        if min(kh, kw, sh, sw) < 1 or min(ph, pw) < 0:
            raise GraphError("graph %s: %s on %r: kernel %s stride %s must be >= 1, padding %s >= 0"
                             % (self.name, op, x, [kh, kw], [sh, sw], [ph, pw]))
        if 2 * ph > kh or 2 * pw > kw:
            # PyTorch: "pad should be at most half of kernel size"
            raise GraphError("graph %s: %s on %r: padding %s exceeds half the kernel %s"
                             % (self.name, op, x, [ph, pw], [kh, kw]))
        oh = (h + 2 * ph - kh) // sh + 1
        ow = (w + 2 * pw - kw) // sw + 1
        if oh < 1 or ow < 1:
            raise GraphError("graph %s: %s on %r (%dx%d) with kernel %s padding %s leaves no output"
                             % (self.name, op, x, h, w, [kh, kw], [ph, pw]))
        attrs = {"kernel": [kh, kw], "stride": [sh, sw], "padding": [ph, pw]}
        return self._add(op, name, [x], [n, c, oh, ow], attrs)

    def maxpool(self, x, k, s=None, p=0, name="maxpool"):
        """Max pooling (stride defaults to the kernel, as in PyTorch)."""
        return self._pool("maxpool2d", x, k, s, p, name)

    def avgpool(self, x, k, s=None, p=0, name="avgpool"):
        """Average pooling (stride defaults to the kernel, as in PyTorch)."""
        return self._pool("avgpool2d", x, k, s, p, name)

    def gap(self, x, name="gap"):
        """Global average pooling: NCHW -> N, C, 1, 1 (AdaptiveAvgPool2d(1))."""
        n, c, _, _ = self._nchw(x, "global_avgpool")
        return self._add("global_avgpool", name, [x], [n, c, 1, 1])

    def bn(self, x, name="bn"):
        """Batch normalisation over dim 1 (inference: a per-channel affine)."""
        s = self.shape(x)
        if len(s) < 2:
            raise GraphError("graph %s: batchnorm needs rank >= 2, %r has %s" % (self.name, x, s))
        return self._add("batchnorm", name, [x], s)

    def ln(self, x, name="ln"):
        """Layer normalisation over the trailing dimension."""
        return self._add("layernorm", name, [x], self.shape(x))

    def act(self, x, fn="relu", name=None):
        """Unary non-linearity; fn is one of FNS (relu, relu6, silu, ...)."""
        if fn not in FNS or fn == "none":
            raise GraphError("graph %s: activation fn %r not in %s"
                             % (self.name, fn, ", ".join(FNS[1:])))
        return self._add("activation", name or fn, [x], self.shape(x), {"fn": fn})

    def _binary_shape(self, op, a, b):
        sa, sb = self.shape(a), self.shape(b)
        out = _broadcast(sa, sb)
        if out is None:
            raise GraphError("graph %s: %s of %r %s and %r %s: shapes do not broadcast"
                             % (self.name, op, a, sa, b, sb))
        return out

    def add(self, a, b, name="add"):
        """a + b; shapes must be equal (residuals never broadcast here)."""
        sa, sb = self.shape(a), self.shape(b)
        if sa != sb:
            raise GraphError("graph %s: add of %r %s and %r %s: shapes differ"
                             % (self.name, a, sa, b, sb))
        return self._add("add", name, [a, b], sa)

    def mul(self, a, b, name="mul"):
        """a * b with numpy broadcasting (e.g. squeeze-excitation gates)."""
        return self._add("mul", name, [a, b], self._binary_shape("mul", a, b))

    def elementwise(self, fn, *xs, name=None):
        """Other element-wise op (sub, div, zero, ...), broadcasting its inputs."""
        if fn not in FNS or fn == "none":
            raise GraphError("graph %s: elementwise fn %r not in %s"
                             % (self.name, fn, ", ".join(FNS[1:])))
        if not xs:
            raise GraphError("graph %s: elementwise %s needs at least one input" % (self.name, fn))
        out = self.shape(xs[0])
        for x in xs[1:]:
            nxt = _broadcast(out, self.shape(x))
            if nxt is None:
                raise GraphError("graph %s: elementwise %s: %r %s does not broadcast with %s"
                                 % (self.name, fn, x, self.shape(x), out))
            out = nxt
        return self._add("elementwise", name or fn, list(xs), out, {"fn": fn})

    def zero(self, x, name="zero"):
        """x * 0: NAS-Bench-201's "none" op, which still produces a tensor."""
        return self.elementwise("zero", x, name=name)

    def concat(self, xs, name="concat"):
        """Concatenation along the channel dimension (dim 1)."""
        if len(xs) < 2:
            raise GraphError("graph %s: concat needs >= 2 inputs, got %d" % (self.name, len(xs)))
        shapes = [self.shape(x) for x in xs]
        first = shapes[0]
        for x, s in zip(xs, shapes):
            if len(s) != len(first) or len(s) < 2 or s[:1] + s[2:] != first[:1] + first[2:]:
                raise GraphError("graph %s: concat: %r has shape %s, incompatible with %s "
                                 "outside dim 1" % (self.name, x, s, first))
        out = list(first)
        out[1] = sum(s[1] for s in shapes)
        return self._add("concat", name, list(xs), out)

    def linear(self, x, out_features, name="fc"):
        """x @ W^T + b over the last dimension."""
        s = self.shape(x)
        if out_features < 1:
            raise GraphError("graph %s: linear on %r: out_features %d < 1"
                             % (self.name, x, out_features))
        return self._add("linear", name, [x], s[:-1] + [out_features])

    def view(self, x, shape, name="view"):
        """Reshape; one dimension may be -1.  Element counts must agree."""
        src = self.shape(x)
        total = 1
        for d in src:
            total *= d
        shape = list(shape)
        if shape.count(-1) > 1:
            raise GraphError("graph %s: view of %r: more than one -1 in %s" % (self.name, x, shape))
        known = 1
        for d in shape:
            if d != -1:
                known *= d
        if -1 in shape:
            if known < 1 or total % known:
                raise GraphError("graph %s: view of %r %s as %s: sizes do not divide"
                                 % (self.name, x, src, shape))
            shape[shape.index(-1)] = total // known
        elif known != total:
            raise GraphError("graph %s: view of %r %s (%d elements) as %s (%d elements)"
                             % (self.name, x, src, total, shape, known))
        return self._add("view", name, [x], shape)

    def flatten(self, x, name="flatten"):
        """torch.flatten(x, 1): N, C, H, W -> N, C*H*W."""
        return self.view(x, [self.shape(x)[0], -1], name=name)

    def softmax(self, x, name="softmax"):
        """Softmax over the last dimension."""
        return self._add("softmax", name, [x], self.shape(x))

    # ---------------------------------------------------------------- output

    def to_json(self):
        """The graph as a JSON-ready dict; the graph must be complete."""
        if not self._has_input:
            raise GraphError("graph %s has no input node" % self.name)
        if not self._has_output:
            raise GraphError("graph %s has no output node" % self.name)
        doc = {"format": FORMAT, "version": VERSION, "name": self.name}
        if self.meta:
            doc["meta"] = self.meta
        doc["nodes"] = self.nodes
        return doc

    def dumps(self):
        """The graph as one compact JSON line (no trailing newline)."""
        return json.dumps(self.to_json(), separators=(",", ":"))


# ------------------------------------------------------------------ checking

def validate_graph(doc):
    """Checks a graph dict against the format rules the C reader enforces.

    Returns the number of nodes; raises GraphError with the first problem.
    Used by the self-test on generated output (so also on JSON read back).
    """
    name = doc.get("name") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise GraphError("graph %r: not a %s version %d document" % (name, FORMAT, VERSION))
    extra = set(doc) - {"format", "version", "name", "meta", "nodes"}
    if extra:
        raise GraphError("graph %r: unknown top-level keys %s" % (name, sorted(extra)))
    if not isinstance(name, str) or not name:
        raise GraphError("graph without a name")
    nodes = doc.get("nodes")
    if not isinstance(nodes, list) or len(nodes) < 2:
        raise GraphError("graph %s: needs a node list with an input and an output" % name)
    seen = {}
    for i, nd in enumerate(nodes):
        where = "graph %s node %d (%s)" % (name, i, nd.get("name") if isinstance(nd, dict) else "?")
        if not isinstance(nd, dict):
            raise GraphError(where + ": not an object")
        bad = set(nd) - set(NODE_KEYS)
        if bad:
            raise GraphError(where + ": unknown keys %s" % sorted(bad))
        nm = nd.get("name")
        if not isinstance(nm, str) or not nm:
            raise GraphError(where + ": missing name")
        if nm in seen:
            raise GraphError(where + ": duplicate name")
        op = nd.get("op")
        if op not in OPS:
            raise GraphError(where + ": op %r not in the vocabulary" % op)
        if nd.get("dtype", "float32") not in DTYPES:
            raise GraphError(where + ": dtype %r not in the vocabulary" % nd.get("dtype"))
        shp = nd.get("out_shape")
        if (not isinstance(shp, list) or len(shp) > MAX_RANK
                or not all(isinstance(d, int) and d >= 0 for d in shp)):
            raise GraphError(where + ": bad out_shape %r" % (shp,))
        for inp in nd.get("inputs", []):
            if inp not in seen:
                raise GraphError(where + ": input %r is not an earlier node" % inp)
        attrs = nd.get("attrs", {})
        bad = set(attrs) - set(ATTR_KEYS)
        if bad:
            raise GraphError(where + ": unknown attrs %s" % sorted(bad))
        if "inplace" in attrs and not isinstance(attrs["inplace"], bool):
            raise GraphError(where + ": attrs.inplace must be true or false, not %r" % (attrs["inplace"],))
        if "fn" in attrs and attrs["fn"] not in FNS:
            raise GraphError(where + ": fn %r not in the vocabulary" % attrs["fn"])
        if op in ("activation", "elementwise") and "fn" not in attrs:
            raise GraphError(where + ": %s without attrs.fn" % op)
        if (op == "input") != (i == 0):
            raise GraphError(where + ": the input node must be first and only first")
        if (op == "output") != (i == len(nodes) - 1):
            raise GraphError(where + ": the output node must be last and only last")
        if op not in ("input",) and not nd.get("inputs"):
            raise GraphError(where + ": %s node without inputs" % op)
        seen[nm] = shp
    return len(nodes)


# ------------------------------------------------------------------- helpers

def write_jsonl(graphs, path):
    """Writes graphs (GraphBuilders or dicts), one JSON document per line.

    path "-" is stdout.  Writes to path + ".tmp" and renames, so an
    interrupted run never leaves a truncated file that looks complete.
    Returns the number of graphs written.
    """
    count = 0
    if path == "-":
        out, tmp = sys.stdout, None
    else:
        tmp = path + ".tmp"
        out = open(tmp, "w", encoding="utf-8")
    try:
        for g in graphs:
            doc = g.to_json() if isinstance(g, GraphBuilder) else g
            out.write(json.dumps(doc, separators=(",", ":")))
            out.write("\n")
            count += 1
    except BaseException:
        if tmp:
            out.close()
            os.unlink(tmp)
        raise
    if tmp:
        out.close()
        os.replace(tmp, path)
    else:
        out.flush()
    return count


def write_json(graph, path):
    """Writes one graph as an indented JSON document (for reading by eye),
    through path + ".tmp" and a rename, as write_jsonl does."""
    doc = graph.to_json() if isinstance(graph, GraphBuilder) else graph
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)


def read_jsonl(path):
    """Yields the graph dicts of a JSON Lines file."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise GraphError("%s:%d: invalid JSON: %s" % (path, lineno, e)) from None


def parse_indices(spec):
    """"0-99,120,200-210" -> sorted set of ints; None or "" -> None (all)."""
    if not spec:
        return None
    out = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = part.split("-", 1)
                lo, hi = int(lo), int(hi)
                if hi < lo:
                    raise ValueError
                out.update(range(lo, hi + 1))
            else:
                out.add(int(part))
        except ValueError:
            raise GraphError("bad index range %r in %r: expected N or N-M with N <= M"
                             % (part, spec)) from None
    return out


def repo_root():
    """The gnnperf repository root (this file lives in scripts/)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_data_dir():
    """The shared third-party data folder, or None when it is absent.

    Looks at $GNNPERF_SHARED (the shared folder, or its data/ directly), then
    ../shared/data relative to the repository root.
    """
    cands = []
    env = os.environ.get("GNNPERF_SHARED")
    if env:
        cands += [os.path.join(env, "data"), env]
    cands.append(os.path.join(repo_root(), "..", "shared", "data"))
    for c in cands:
        if os.path.isdir(os.path.join(c, "help_nb201")) or os.path.isdir(os.path.join(c, "help_fbnet")):
            return os.path.normpath(c)
    return None


def default_data_file(*parts):
    """Path of a file under the shared data folder, or None when absent."""
    d = shared_data_dir()
    if d is None:
        return None
    p = os.path.join(d, *parts)
    return p if os.path.exists(p) else None
