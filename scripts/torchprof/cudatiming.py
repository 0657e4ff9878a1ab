"""GPU timing: whole-model latency and per-node GPU time inside full runs.

Whole model: after a synchronize, CUDA events around one complete run of
the straight-line model (timing.NodeTimer.plain); median over repeats.  At
batch 1 most models are launch-bound on a large GPU, so this includes the
host's launch overhead, as a user's latency does.

Per node: the same straight-line run with, before each call, a spin kernel
(torch.cuda._sleep) and an event, and an event after it.  The spin keeps the
GPU busy while the host enqueues the node's kernels, so the two events
bracket the node's kernels back to back: the label is the node's GPU time
inside a full run of the model (caches as the model leaves them), without
the host's launch gaps.  The spin of each node is sized from that node's
host-side call time measured in a warm-up run (3x, at least SPIN_MIN_US);
nodes whose host call outlasted their spin are counted (spin_short) so a
reader sees whether a launch gap leaked into a label.

Reference: time_whole() times any model's whole runs the same way; the
latency pass re-measures a fixed reference model with it every few graphs,
so that a host or GPU whose speed drifts during a run is seen.

Occupancy: marker_run() executes the model once with a tiny spin kernel
before each node; under Nsight Compute every kernel between two markers
belongs to the node of the first (scripts/ncu_occupancy.py).

Without CUDA (tests here), HostEvent stands in for the events and the spins
are no-ops, so the whole pipeline runs on a CPU with host timestamps.
"""

import time

import numpy as np
import torch

from .timing import K_CALL, K_METHOD, NodeTimer

SPIN_MIN_US = 20.0
SPIN_MAX_US = 2000.0
MARKER_CYCLES = 1000        # the marker spin: about half a microsecond


class HostEvent:
    """torch.cuda.Event's timing interface on the host clock (CPU runs)."""

    def __init__(self):
        self.t = 0

    def record(self):
        self.t = time.perf_counter_ns()

    def synchronize(self):
        pass

    def elapsed_time(self, end):
        return (end.t - self.t) / 1e6


class Backend:
    def __init__(self, device):
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"

    def event(self):
        return torch.cuda.Event(enable_timing=True) if self.cuda else HostEvent()

    def spin(self, cycles):
        if self.cuda:
            torch.cuda._sleep(int(cycles))

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def spin_fn(self):
        return (lambda c: torch.cuda._sleep(int(c))) if self.cuda else (lambda c: None)


def cycles_per_us(be):
    """Spin-kernel cycles per microsecond (the SM clock as _sleep sees it)."""
    if not be.cuda:
        return 1000.0
    n = 2_000_000
    be.spin(n)
    be.sync()
    e0, e1 = be.event(), be.event()
    d = []
    for _ in range(5):
        e0.record()
        be.spin(n)
        e1.record()
        e1.synchronize()
        d.append(e0.elapsed_time(e1) * 1000.0)
    return n / float(np.median(d))


def _median_time_ms(be, f, repeats=5):
    f()
    be.sync()
    e0, e1 = be.event(), be.event()
    d = []
    for _ in range(repeats):
        be.sync()
        e0.record()
        f()
        e1.record()
        e1.synchronize()
        d.append(e0.elapsed_time(e1))
    return float(np.median(d))


def device_info(be, quick=False):
    """Descriptors of the device: measured fp32 and TF32 matrix-product peaks,
    copy bandwidth, and what the driver reports (SMs, L2, memory)."""
    n = 1024 if quick else 8192
    dev = be.device
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    c = torch.empty(n, n, device=dev)
    info = {}
    if be.cuda:
        old = torch.backends.cuda.matmul.allow_tf32
        try:
            torch.backends.cuda.matmul.allow_tf32 = False
            ms = _median_time_ms(be, lambda: torch.mm(a, b, out=c))
            info["peak_gflops"] = 2.0 * n ** 3 / ms / 1e6
            torch.backends.cuda.matmul.allow_tf32 = True
            ms = _median_time_ms(be, lambda: torch.mm(a, b, out=c))
            info["peak_tf32_gflops"] = 2.0 * n ** 3 / ms / 1e6
        finally:
            torch.backends.cuda.matmul.allow_tf32 = old
        p = torch.cuda.get_device_properties(dev)
        info["name"] = p.name
        info["sms"] = p.multi_processor_count
        info["mem_gb"] = p.total_memory / 2 ** 30
        l2 = getattr(p, "L2_cache_size", None) or getattr(p, "l2_cache_size", None)
        info["l2_mb"] = l2 / 2 ** 20 if l2 else None
        info["cc"] = "%d.%d" % (p.major, p.minor)
    else:
        ms = _median_time_ms(be, lambda: torch.mm(a, b, out=c))
        info["peak_gflops"] = info["peak_tf32_gflops"] = 2.0 * n ** 3 / ms / 1e6
        info.update(name="cpu (test run)", sms=None, mem_gb=None, l2_mb=None, cc=None)
    del a, b, c
    m = (32 if quick else 1024) * 2 ** 20 // 4
    src = torch.ones(m, device=dev)
    dst = torch.empty(m, device=dev)
    ms = _median_time_ms(be, lambda: dst.copy_(src))
    info["mem_bw_gbs"] = 2.0 * m * 4 / ms / 1e6
    del src, dst
    info["cycles_per_us"] = cycles_per_us(be)
    return info


class CudaProfile:
    """Per-graph results (milliseconds)."""

    def __init__(self):
        self.whole = None         # [R] whole-run times
        self.nodes = None         # [K, n] GPU time of each fx node per node-timed run (0: not a call)
        self.host_ns = None       # [n] host time of each call in the warm-up run
        self.spin_us = None       # [n] spin before each call
        self.spin_short = 0       # calls whose host time in a timed run outlasted their spin
        self.repeats = 0
        self.node_repeats = 0


def whole_runs(run, x, be, repeats, min_seconds=0.0, max_repeats=None):
    """Times of whole runs of run(x) in ms, each between a synchronize and its
    end event: at least repeats of them, more until min_seconds have passed,
    at most max_repeats (default repeats). The caller warms up and disables
    autograd."""
    max_repeats = max_repeats or repeats
    e0, e1 = be.event(), be.event()
    whole = []
    t_start = time.perf_counter()
    while True:
        be.sync()
        e0.record()
        run(x)
        e1.record()
        e1.synchronize()
        whole.append(e0.elapsed_time(e1))
        k = len(whole)
        if k >= max_repeats or (k >= repeats and time.perf_counter() - t_start >= min_seconds):
            return whole


def profile_graph(gm, x, be, repeats=30, node_repeats=10, warmup=3, min_seconds=0.2, max_repeats=200):
    timer = NodeTimer(gm)
    n = len(timer.steps)
    calls = [i for i, s in enumerate(timer.steps) if s[0] in (K_CALL, K_METHOD)]
    cpu_times = np.zeros(n, dtype=np.int64)
    with torch.no_grad():
        for _ in range(max(1, warmup)):
            timer.plain(x)
        be.sync()
        # host time of each call (the run is launch-only on a GPU: no sync inside)
        for _ in range(2):
            timer.run(x, cpu_times)
            be.sync()
        cyc = cycles_per_us(be) if be.cuda else 1000.0
        spin_us = np.clip(3.0 * cpu_times / 1e3, SPIN_MIN_US, SPIN_MAX_US)
        spin = (spin_us * cyc).astype(np.int64)
        ev = [be.event() for _ in range(2 * n)]
        host = [0] * n
        pc = time.perf_counter_ns
        timed = timer.compile_wrapped(
            pre=lambda i: ["sl(%d)" % spin[i], "E[%d].record()" % (2 * i), "h0 = pc()"],
            post=lambda i: ["H[%d] = pc() - h0" % i, "E[%d].record()" % (2 * i + 1)],
            extra_args="E, H", extra_globals={"sl": be.spin_fn(), "pc": pc})

        whole = whole_runs(timer.plain, x, be, repeats, min_seconds, max_repeats)
        # node-timed runs
        nodes = np.zeros((node_repeats, n))
        short = 0
        for k in range(node_repeats):
            be.sync()
            timed(x, ev, host)
            be.sync()
            for i in calls:
                nodes[k, i] = ev[2 * i].elapsed_time(ev[2 * i + 1])
                if be.cuda and host[i] / 1e3 > spin_us[i]:
                    short += 1
    p = CudaProfile()
    p.whole = np.array(whole)
    p.nodes = nodes
    p.host_ns = cpu_times
    p.spin_us = spin_us
    p.spin_short = short / max(1, node_repeats)
    p.repeats = len(whole)
    p.node_repeats = node_repeats
    return p, timer


def time_whole(run, x, be, repeats=30, warmup=3, warmup_seconds=0.0):
    """Median, p10 and p90 (ms) of exactly repeats whole runs of run(x) (a
    NodeTimer's plain run) after untimed ones (at least warmup of them, more
    until warmup_seconds have passed), each timed as profile_graph times a
    graph's whole runs.  A model timed alone may need the warm-up time that a
    graph's whole runs get from the node timing before them: on an H100 the
    first reference of a lease, after 3 warm-up runs, came out 2.1 times the
    run's fastest."""
    with torch.no_grad():
        t0 = time.perf_counter()
        k = 0
        while k < warmup or time.perf_counter() - t0 < warmup_seconds:
            run(x)
            k += 1
        be.sync()
        d = whole_runs(run, x, be, max(1, repeats))
    return float(np.median(d)), float(np.percentile(d, 10)), float(np.percentile(d, 90))


def marker_run(gm, x, be, on_marker):
    """One run of gm with a marker spin kernel before each call; on_marker(i)
    is called (host side) for every marker, in launch order, with the fx node
    index it precedes."""
    timer = NodeTimer(gm)
    calls = [i for i, s in enumerate(timer.steps) if s[0] in (K_CALL, K_METHOD)]
    for i in calls:
        on_marker(i)
    run = timer.compile_wrapped(pre=lambda i: ["sl(%d)" % MARKER_CYCLES],
                                extra_globals={"sl": be.spin_fn()})
    with torch.no_grad():
        run(x)
    be.sync()
    return timer
