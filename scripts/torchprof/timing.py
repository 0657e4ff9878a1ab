"""Timing: whole-model latency, per-node latency inside full runs, device peaks.

A traced GraphModule is compiled (NodeTimer) into two straight-line Python
functions with the same calls in graph order -- the modules, functions and
methods of the fx nodes, bound as globals, intermediate tensors in locals
deleted after their last use:

    plain(x)      v1 = m1(x); v2 = f2(v1, 1); del v1; ...; return v9
    timed(x, T)   t0 = pc(); v1 = m1(x); t1 = pc(); T[1] = t1 - t0; ...

plain() is the whole-model run; timed() the node-timed run, where the only
additions are the two perf_counter_ns() reads around each call and one list
store, so a node is timed inside a complete, realistic run of the model and
the node times add up to the plain run's time.  (torch.fx's own generated
forward resolves each submodule by attribute lookups through the module
tree on every call, microseconds per node in deep models that belong to no
node; the eager model additionally pays the container modules' calls: the
profiler reports the eager time beside, as eager_ms.)

Each node is timed inside complete runs of the model, never alone on warm
inputs: alone, memory-bound ops find their inputs in cache and read 3-10x
faster than they do in a real run (/work/shared/TOOLCHAIN.md).
"""

import gc
import math
import resource
import time

import numpy as np
import torch
import torch.fx

_PC = time.perf_counter_ns

K_PLACEHOLDER, K_CONST, K_CALL, K_METHOD, K_OUTPUT = range(5)


class NodeTimer:
    """Straight-line compiled runs of a GraphModule (see the module docstring).

    nodes      the fx nodes, in graph order
    steps      per node (kind, callable or constant or method name, args, kwargs, freed indices)
    plain(x)   the model output
    run(x, times) fills times[i] (ns, len(nodes)) with the time of node i's
               call (0 for placeholder, get_attr, output) and returns the output
    source     the generated code of the timed function (for debugging)
    """

    def __init__(self, gm):
        self.gm = gm
        self.nodes = list(gm.graph.nodes)
        index = {n: i for i, n in enumerate(self.nodes)}
        self._index = index
        last_use = {}
        for i, n in enumerate(self.nodes):
            for m in n.all_input_nodes:
                last_use[m] = i
        free = [[] for _ in self.nodes]
        for m, i in last_use.items():
            if m.op != "get_attr":
                free[i].append(index[m])
        self.steps = []
        for i, n in enumerate(self.nodes):
            if n.op == "placeholder":
                step = (K_PLACEHOLDER, None, None, None)
            elif n.op == "get_attr":
                val = gm
                for part in n.target.split("."):
                    val = getattr(val, part)
                step = (K_CONST, val, None, None)
            elif n.op == "call_module":
                step = (K_CALL, gm.get_submodule(n.target), n.args, n.kwargs)
            elif n.op == "call_function":
                step = (K_CALL, n.target, n.args, n.kwargs)
            elif n.op == "call_method":
                step = (K_METHOD, n.target, n.args, n.kwargs)
            elif n.op == "output":
                step = (K_OUTPUT, None, n.args[0], None)
            else:
                raise ValueError("unknown fx op %r" % n.op)
            self.steps.append((step[0], step[1], step[2], step[3], tuple(sorted(free[i]))))
        self.plain = self._compile(timed=False)
        self._timed = self._compile(timed=True)
        self._n = len(self.nodes)

    # ------------------------------------------------------------- codegen

    def _compile(self, timed):
        if not timed:
            return self.compile_wrapped()
        fn, src = self.compile_wrapped(
            pre=lambda i: ["t0 = pc()"], post=lambda i: ["t1 = pc()", "T[%d] = t1 - t0" % i],
            extra_args="T", extra_globals={"pc": _PC}, want_source=True)
        self.source = src
        return fn

    def compile_wrapped(self, pre=None, post=None, extra_args="", extra_globals=None, want_source=False):
        """A straight-line run(x[, extra_args]) of the graph's calls in order,
        with the lines pre(i) before and post(i) after the call of node i
        (call_module/call_function/call_method nodes only).  The CPU timer
        wraps calls in perf_counter reads; the CUDA timer (cudatiming.py) in
        spin kernels and events; the occupancy pass in marker kernels."""
        g = dict(extra_globals or {})
        consts = []

        def const(v):
            name = "k%d" % len(consts)
            consts.append(v)
            g[name] = v
            return name

        def expr(a):
            if isinstance(a, torch.fx.Node):
                i = self._index[a]
                return ("c%d" % i) if self.steps[i][0] == K_CONST else ("v%d" % i)
            if isinstance(a, bool) or a is None or isinstance(a, (int, str)):
                return repr(a)
            if isinstance(a, float):
                return repr(a) if math.isfinite(a) else const(a)
            if isinstance(a, tuple) and not hasattr(a, "_fields"):
                return "(" + "".join(expr(v) + ", " for v in a) + ")"
            if isinstance(a, list):
                return "[" + ", ".join(expr(v) for v in a) + "]"
            if isinstance(a, dict) and all(isinstance(k, str) for k in a):
                return "{" + ", ".join("%r: %s" % (k, expr(v)) for k, v in a.items()) + "}"
            if isinstance(a, slice):
                return "slice(%s, %s, %s)" % (expr(a.start), expr(a.stop), expr(a.step))
            return const(a)

        def call_args(args, kwargs):
            parts = [expr(v) for v in args]
            parts += ["%s=%s" % (k, expr(v)) for k, v in (kwargs or {}).items()]
            return ", ".join(parts)

        lines = ["def run(x%s):" % ((", " + extra_args) if extra_args else "")]
        ret = "None"
        for i, (kind, fn, a, kw, free) in enumerate(self.steps):
            if kind == K_PLACEHOLDER:
                lines.append("    v%d = x" % i)
            elif kind == K_CONST:
                g["c%d" % i] = fn
            elif kind in (K_CALL, K_METHOD):
                if kind == K_CALL:
                    g["f%d" % i] = fn
                    call = "f%d(%s)" % (i, call_args(a, kw))
                else:
                    call = "%s.%s(%s)" % (expr(a[0]), fn, call_args(a[1:], kw))
                lines += ["    " + ln for ln in (pre(i) if pre else [])]
                lines.append("    v%d = %s" % (i, call))
                lines += ["    " + ln for ln in (post(i) if post else [])]
            else:
                ret = expr(a)
            dels = ["v%d" % j for j in free if self.steps[j][0] != K_CONST]
            if dels and kind != K_OUTPUT:
                lines.append("    del " + ", ".join(dels))
        lines.append("    return " + ret)
        src = "\n".join(lines) + "\n"
        code = compile(src, "<nodetimer>", "exec")
        exec(code, g)
        return (g["run"], src) if want_source else g["run"]

    def run(self, x, times):
        t = [0] * self._n
        out = self._timed(x, t)
        times[:] = t
        return out


def timer_overhead_ns(n=20000):
    """Median cost of two back-to-back perf_counter_ns() reads (subtracted from node times)."""
    pc = _PC
    d = np.empty(n, dtype=np.int64)
    for i in range(n):
        t0 = pc()
        t1 = pc()
        d[i] = t1 - t0
    return float(np.median(d))


def identity_node_ns(n=5000):
    """Median time of an nn.Identity module call in the timed window: the
    Python floor every module node pays (reported, not subtracted: the
    whole-model run pays it too)."""
    m = torch.nn.Identity()
    x = torch.zeros(1)
    pc = _PC
    d = np.empty(n, dtype=np.int64)
    for i in range(n):
        t0 = pc()
        m(x)
        t1 = pc()
        d[i] = t1 - t0
    return float(np.median(d))


class Profile:
    """Per-graph timing results (all times in ns unless named _ms)."""

    def __init__(self):
        self.whole = None        # ns per whole run, array [R]
        self.nodes = None        # ns, array [R, n_fx_nodes]
        self.interp = None       # ns, interpreter wall time per run, array [R]
        self.repeats = 0
        self.cpu_share = None    # process CPU time / (wall time x threads) while timing
        self.preemptions_per_run = None   # involuntary context switches per run


def profile_graph(gm, x, repeats=20, min_seconds=0.5, max_repeats=None, warmup=3):
    """Times gm: whole runs (NodeTimer.plain) interleaved with node-timed runs
    (NodeTimer.run), so both see the same machine conditions.

    repeats: at least this many of each; more (up to max_repeats, default
    4x repeats) when a run is so short that repeats runs take < min_seconds.
    """
    timer = NodeTimer(gm)
    n = len(timer.steps)
    buf = np.zeros(n, dtype=np.int64)
    pc = _PC
    with torch.no_grad():
        plain = timer.plain
        t0 = pc()
        for _ in range(warmup):
            plain(x)
        per = (pc() - t0) / max(1, warmup) / 1e9
        for _ in range(max(1, warmup - 1)):
            timer.run(x, buf)
        if max_repeats is None:
            max_repeats = 4 * repeats
        r = repeats
        if per > 0 and per * repeats < min_seconds:
            r = min(max_repeats, max(repeats, int(min_seconds / per) + 1))
        whole = np.empty(r, dtype=np.int64)
        interp = np.empty(r, dtype=np.int64)
        nodes = np.empty((r, n), dtype=np.int64)
        gc.collect()
        was = gc.isenabled()
        gc.disable()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, wall0 = time.process_time_ns(), pc()
        try:
            for k in range(r):
                t0 = pc()
                plain(x)
                t1 = pc()
                whole[k] = t1 - t0
                t0 = pc()
                timer.run(x, nodes[k])
                t1 = pc()
                interp[k] = t1 - t0
        finally:
            cpu1, wall1 = time.process_time_ns(), pc()
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            if was:
                gc.enable()
    p = Profile()
    p.whole, p.nodes, p.interp, p.repeats = whole, nodes, interp, r
    p.cpu_share = (cpu1 - cpu0) / max(1, wall1 - wall0) / max(1, torch.get_num_threads())
    p.preemptions_per_run = (ru1.ru_nivcsw - ru0.ru_nivcsw) / (2.0 * r)
    return p, timer


def time_callable(f, x, repeats=10, warmup=2):
    """Median, p10 and p90 (ns) of f(x) under no_grad."""
    pc = _PC
    with torch.no_grad():
        for _ in range(warmup):
            f(x)
        d = np.empty(repeats, dtype=np.int64)
        gc.collect()
        was = gc.isenabled()
        gc.disable()
        try:
            for k in range(repeats):
                t0 = pc()
                f(x)
                d[k] = pc() - t0
        finally:
            if was:
                gc.enable()
    return float(np.median(d)), float(np.percentile(d, 10)), float(np.percentile(d, 90))


# ------------------------------------------------------------------ device

def measure_peak_gflops(sizes=(1024, 2048), repeats=5):
    """Best median GFLOP/s of a square float32 torch.mm (OpenBLAS here)."""
    best = 0.0
    pc = _PC
    for n in sizes:
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        c = torch.empty(n, n)
        torch.mm(a, b, out=c)
        d = []
        for _ in range(repeats):
            t0 = pc()
            torch.mm(a, b, out=c)
            d.append(pc() - t0)
        best = max(best, 2.0 * n ** 3 / float(np.median(d)))
    return best


def measure_bandwidth_gbs(mbytes=256, repeats=5):
    """Median GB/s of a large tensor copy (bytes read + bytes written)."""
    n = mbytes * 1024 * 1024 // 4
    src = torch.ones(n)
    dst = torch.empty(n)
    dst.copy_(src)
    pc = _PC
    d = []
    for _ in range(repeats):
        t0 = pc()
        dst.copy_(src)
        d.append(pc() - t0)
    return 2.0 * n * 4 / float(np.median(d))
