#!/usr/bin/python3
"""Profile PyTorch models on this CPU into gnnperf graphs and labels.

For every network of the chosen families (torchvision zoo, NAS-Bench-201,
FBNet, random CNNs) at every batch size, and every thread count:

  1. build it with random weights (nothing is downloaded);
  2. trace it with torch.fx (symbolic_trace + ShapeProp; make_fx where
     symbolic tracing fails) and convert the trace to a gnnperf-graph;
  3. time it: whole-model latency (median, p10, p90 over repeats after
     warm-up) and per-node latency measured INSIDE full runs of the model
     (median per node over the same number of runs), plus a per-node
     utilization label (roofline: achieved FLOP/s over peak or achieved
     bytes/s over bandwidth, both measured at start-up).

Outputs in --out-dir (all append-only and flushed after every graph, so a
run can be stopped at any time and resumed by running the same command):

  graphs.jsonl  one gnnperf-graph per line (docs/graph-json.md)
  labels.csv    graph,node,device,target,value,unit (docs/label-table.md):
                per graph latency_ms, latency_p10_ms, latency_p90_ms; per
                node latency_ms and utilization (ratio)
  devices.csv   device,threads,cores,peak_gflops,mem_bw_gbs,l2_mb,l3_mb
  runlog.jsonl  one record per profiled (graph, device), reference
                re-measurement and failure: timings, node-sum/whole ratio,
                tracer used, seconds spent
  summary.json  aggregated from runlog.jsonl: per-family ratios and costs,
                models that needed the fallback tracer, noise (reference
                drift events), failures

Noise: the reference model (resnet18, batch 1) is re-timed every
--ref-every graphs. On a shared VM the machine goes through slow spells of
seconds to minutes (this project's: the reference at 1.2-1.6x its median);
--redo-suspect (on a later run over the same folder) forgets the labels of
every graph measured next to a reference more than --settle-limit slower
than the run's median reference, or on a shared core, and profiles them
again; repeat until it reports 0. --settle-tries makes the worker wait out a
slow spell before profiling on instead (slower when spells are frequent).

The device setting is the thread count: device names are
cpu_<cpu>_t<threads>.  Each thread count runs in its own worker process
whose thread variables (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, ...) are set
before torch is imported.  See datasets/cpu/README.md for the method and
its caveats.

Example:
  scripts/profile_torch.py --models zoo --count 3 --threads 1 --repeats 10 --out-dir /tmp/prof
"""

import argparse
import csv
import hashlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from torchprof import cli, envsetup, machine, specs as specmod  # noqa: E402

LABEL_COLS = ("graph", "node", "device", "target", "value", "unit")
DEVICE_COLS = ("device", "threads", "cores", "peak_gflops", "mem_bw_gbs", "l2_mb", "l3_mb")
REF_SPEC = {"family": "zoo", "model": "resnet18", "res": 224, "batch": 1, "name": "resnet18_b1"}
DRIFT_LIMIT = 0.10
CONTENDED = 0.9     # a graph timed with less CPU share than this shared its core


def log(msg):
    sys.stderr.write("profile_torch: %s\n" % msg)
    sys.stderr.flush()


def fmt(v):
    return "%.6g" % v


# ====================================================================== worker

class Worker:
    """Runs inside the per-thread-count process (torch imported there)."""

    def __init__(self, args):
        envsetup.set_threads_here(args.worker_threads)
        import numpy as np
        import torch
        from torchprof import families, labelcost, timing, tograph
        self.np, self.torch = np, torch
        self.families, self.labelcost, self.timing, self.tograph = families, labelcost, timing, tograph
        torch.set_num_threads(args.worker_threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        torch.set_flush_denormal(True)
        self.args = args
        self.threads = args.worker_threads
        self.device = args.worker_device
        self.malloc_tuned = envsetup.tune_malloc() if not args.no_malloc_tuning else False
        self.since_ref = 0
        self.best_ref_ms = args._best_ref    # a resumed run's fastest reference, or None
        self.ref_gm = None
        self.ref_x = None

    # ------------------------------------------------------------ descriptors

    def describe(self):
        t = self.timing
        quick = self.args.quick_device
        peak = t.measure_peak_gflops(sizes=(512,) if quick else (1024, 2048), repeats=3 if quick else 5)
        bw = t.measure_bandwidth_gbs(mbytes=64 if quick else 256, repeats=3 if quick else 5)
        l2, l3 = machine.cache_sizes_mb()
        d = {"type": "device", "device": self.device, "threads": self.threads, "cores": machine.cores(),
             "peak_gflops": round(peak, 2), "mem_bw_gbs": round(bw, 2), "l2_mb": l2, "l3_mb": l3,
             "timer_overhead_ns": t.timer_overhead_ns(), "identity_node_ns": t.identity_node_ns(),
             "malloc_tuned": self.malloc_tuned, "torch": self.torch.__version__,
             "cpu": machine.cpu_model()}
        self.peak, self.bw = peak, bw
        self.timer_ns = d["timer_overhead_ns"]
        if not self.args.no_ref:
            d["ref"] = self.settled_ref()
        return d

    def settled_ref(self):
        """The reference, re-measured after a pause while it is slower than
        the fastest reference of this worker by more than --settle-limit: a
        shared VM switches between speed states for seconds to minutes, and
        labels taken in a slow spell disagree with the rest of the data."""
        a = self.args
        ref = self.measure_ref()
        best = min(self.best_ref_ms or ref["ms"], ref["ms"])
        tries = 0
        while tries < a.settle_tries and ref["ms"] > best * (1.0 + a.settle_limit):
            time.sleep(a.settle_pause)
            ref = self.measure_ref()
            best = min(best, ref["ms"])
            tries += 1
        self.best_ref_ms = best
        ref["settle_tries"] = tries
        ref["settled"] = ref["ms"] <= best * (1.0 + a.settle_limit)
        return ref

    def measure_ref(self):
        if self.ref_gm is None:
            m, x = self.families.build(REF_SPEC)
            gm, _, _ = self.tograph.trace(m, x)
            self.ref_gm = self.timing.NodeTimer(gm).plain      # timed like every graph's whole run
            self.ref_x = x
        med, p10, p90 = self.timing.time_callable(self.ref_gm, self.ref_x, repeats=self.args.ref_repeats)
        self.since_ref = 0
        return {"graph": REF_SPEC["name"], "ms": med / 1e6, "p10_ms": p10 / 1e6, "p90_ms": p90 / 1e6,
                "t": time.time()}

    # ---------------------------------------------------------------- profile

    def profile(self, spec, need_graph):
        np, lc = self.np, self.labelcost
        a = self.args
        res = {"type": "result", "graph": spec["name"], "device": self.device}
        if not a.no_ref and a.ref_every > 0 and self.since_ref >= a.ref_every:
            res["ref"] = self.settled_ref()
        self.since_ref += 1
        t0 = time.time()
        model, x = self.families.build(spec)
        t1 = time.time()
        gm, tracer, why = self.tograph.trace(model, x)
        conv = self.tograph.convert(gm, spec["name"], meta=graph_meta(spec, self.torch), tracer=tracer)
        t2 = time.time()
        prof, timer = self.timing.profile_graph(gm, x, repeats=a.repeats, min_seconds=a.min_seconds,
                                                warmup=a.warmup)
        t3 = time.time()
        eager = None
        if spec["family"] == "zoo" and not a.no_eager:
            eager = self.timing.time_callable(model, x, repeats=max(3, a.repeats // 2))
        aliases = alias_flags(timer, x, self.torch)

        index = {n: i for i, n in enumerate(timer.nodes)}
        med = np.median(prof.nodes, axis=0) - self.timer_ns
        med = np.maximum(med, 0.0)
        is_call = np.array([s[0] in (self.timing.K_CALL, self.timing.K_METHOD) for s in timer.steps])
        med = np.where(is_call, med, 0.0)
        whole = prof.whole.astype(float)
        w_med = float(np.median(whole))
        w10, w90 = float(np.percentile(whole, 10)), float(np.percentile(whole, 90))
        q25, q75 = float(np.percentile(whole, 25)), float(np.percentile(whole, 75))

        labels, node_sum, total_flops, util_bound = lc.node_labels(
            conv, lambda fxn: float(med[index[fxn]]), 1e6, aliases, lambda jn: self.peak, self.bw)
        hidden_ns = float(sum(med[index[n]] for n in conv.hidden))
        per_run_sum = prof.nodes[:, is_call].sum(axis=1) - self.timer_ns * int(is_call.sum())
        interp = float(np.median(prof.interp))
        n_calls = int(is_call.sum())
        labels.append(("", "latency_p10_ms", w10 / 1e6, "ms"))
        labels.append(("", "latency_p90_ms", w90 / 1e6, "ms"))
        labels.append(("", "latency_ms", w_med / 1e6, "ms"))   # last: marks the block complete
        stats = {
            "family": specmod.family_name(spec), "threads": self.threads, "batch": spec.get("batch", 1),
            "tracer": tracer, "fallback_reason": why, "nodes": len(conv.doc["nodes"]),
            "fx_nodes": len(timer.nodes), "fx_calls": n_calls, "repeats": prof.repeats,
            "whole_ms": w_med / 1e6, "p10_ms": w10 / 1e6, "p90_ms": w90 / 1e6, "iqr_ms": (q75 - q25) / 1e6,
            "spread": (w90 - w10) / w_med if w_med > 0 else None,
            "node_sum_ms": node_sum / 1e6, "ratio": node_sum / w_med if w_med > 0 else None,
            "hidden_ms": hidden_ns / 1e6,
            "ratio_with_hidden": (node_sum + hidden_ns) / w_med if w_med > 0 else None,
            "median_run_sum_ms": float(np.median(per_run_sum)) / 1e6,
            "interp_wall_ms": interp / 1e6,
            "interp_overhead_us_per_node": (interp - float(np.median(prof.nodes[:, is_call].sum(axis=1))))
            / max(1, n_calls) / 1e3,
            "cpu_share": prof.cpu_share, "preemptions_per_run": prof.preemptions_per_run,
            "gflops": total_flops / 1e9, "util_bound": util_bound,
            "eager_ms": eager[0] / 1e6 if eager else None,
            "build_s": t1 - t0, "trace_s": t2 - t1, "time_s": t3 - t2, "total_s": time.time() - t0,
        }
        res["stats"] = stats
        res["labels"] = labels
        if need_graph:
            res["doc"] = conv.doc
        del model, gm, conv, prof, timer
        return res

    def serve(self, proto_out):
        def send(obj):
            proto_out.write(json.dumps(obj, separators=(",", ":")) + "\n")
            proto_out.flush()
        send(self.describe())
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cmd = json.loads(line)
            if cmd.get("cmd") == "quit":
                break
            spec = cmd["spec"]
            try:
                res = self.profile(spec, cmd.get("need_graph", True))
            except Exception as e:  # noqa: BLE001 -- reported, the run goes on
                import traceback
                traceback.print_exc(file=sys.stderr)
                res = {"type": "error", "graph": spec["name"], "device": self.device,
                       "error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")}
            import gc
            gc.collect()
            send(res)


def graph_meta(spec, torch):
    m = {"source": "profile_torch.py", "family": specmod.family_name(spec), "batch": spec.get("batch", 1)}
    for k in ("model", "res", "arch_index", "arch_id", "seed", "index", "nodes", "spread"):
        if k in spec:
            m[k] = spec[k]
    if spec["family"] == "nb201":
        m["arch"] = spec["arch"]
    elif spec["family"] == "fbnet":
        m["arch"] = "-".join(spec["choices"])
    m["torch"] = torch.__version__.split("+")[0]
    return m


def alias_flags(timer, x, torch):
    """fx node -> True when its (first) output shares storage with a tensor input.

    One extra untimed run; only view-like ops are checked.
    """
    from torch.fx.node import map_arg
    out = {}
    env = {}
    with torch.no_grad():
        for n, (kind, fn, a, kw, _) in zip(timer.nodes, timer.steps):
            look = lambda m: env[m]  # noqa: E731
            if kind == 0:
                env[n] = x
            elif kind == 1:
                env[n] = fn
            elif kind in (2, 3):
                args = map_arg(a, look)
                kwargs = map_arg(kw, look) if kw else {}
                v = fn(*args, **kwargs) if kind == 2 else getattr(args[0], fn)(*args[1:], **kwargs)
                env[n] = v
                first = v[0] if isinstance(v, (tuple, list)) and v else v
                if isinstance(first, torch.Tensor):
                    ptrs = set()
                    for m in n.all_input_nodes:
                        t = env.get(m)
                        t = t[0] if isinstance(t, (tuple, list)) and t else t
                        if isinstance(t, torch.Tensor):
                            try:
                                ptrs.add(t.storage().data_ptr())
                            except RuntimeError:
                                pass
                    try:
                        out[n] = first.storage().data_ptr() in ptrs
                    except RuntimeError:
                        out[n] = False
    return out


def worker_main(args):
    # The protocol owns the real stdout; everything else printed goes to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import warnings
    warnings.filterwarnings("ignore")
    Worker(args).serve(proto)
    return 0


# ====================================================================== parent

def repair_text_file(path):
    """Drops a torn last line (no trailing newline) left by a killed run."""
    if not os.path.exists(path):
        return
    with open(path, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            f.seek(cut)
            f.truncate()
            log("%s: dropped a torn last line (%d bytes)" % (path, len(data) - cut))


def node_digest(doc):
    """What identifies a graph's structure: its nodes' names and ops in order.
    A graph is stored once under its name and every later run's labels are
    attached to it, so a later run whose graph of that name differs (another
    --rcnn-nodes or --rcnn-spread gives the same rcnn names) must not."""
    return hashlib.sha256(json.dumps([(n["name"], n["op"]) for n in doc["nodes"]]).encode()).hexdigest()


def load_state(out_dir):
    """({graph name in graphs.jsonl: node_digest}, done (graph, device) pairs, failed pairs,
    fastest reference per device)."""
    gpath = os.path.join(out_dir, "graphs.jsonl")
    lpath = os.path.join(out_dir, "labels.csv")
    rpath = os.path.join(out_dir, "runlog.jsonl")
    for p in (gpath, lpath, rpath):
        repair_text_file(p)
    graphs = {}
    if os.path.exists(gpath):
        with open(gpath, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    doc = json.loads(line)
                    graphs[doc["name"]] = node_digest(doc)
    done = set()
    if os.path.exists(lpath):
        with open(lpath, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows:
            # killed before the header was written: start the table afresh
            os.unlink(lpath)
        elif tuple(rows[0]) != LABEL_COLS:
            raise SystemExit("profile_torch: %s: unexpected header %s" % (lpath, rows[0]))
        for r in rows[1:]:
            if len(r) == 6 and r[1] == "" and r[3] == "latency_ms":
                done.add((r[0], r[2]))
        keep = rows[:1] + [r for r in rows[1:] if len(r) == 6 and (r[0], r[2]) in done]
        if rows and len(keep) != len(rows):
            # rows of a (graph, device) block cut short: rewrite without them
            tmp = lpath + ".tmp"
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                csv.writer(f, lineterminator="\n").writerows(keep)
            os.replace(tmp, lpath)
            log("%s: dropped %d label rows of incomplete graphs" % (lpath, len(rows) - len(keep)))
    failed = set()
    baseline = {}
    if os.path.exists(rpath):
        with open(rpath, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r.get("type") == "error":
                    failed.add((r["graph"], r["device"]))
                elif r.get("type") == "ref":
                    baseline[r["device"]] = min(baseline.get(r["device"], r["ms"]), r["ms"])
    return graphs, done, failed, baseline


def suspect_pairs(rpath, limit):
    """(graph, device) pairs whose latest measurement is suspect: the
    reference measured just before or just after it (runlog order) was slower
    than the device's median reference by more than limit, or the worker
    shared its core. The median, not the fastest: the fastest keeps falling
    as a run goes on, and would end up flagging the machine's usual state."""
    recs = []
    with open(rpath, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                recs.append(json.loads(line))
    per_dev = {}
    for r in recs:
        if r.get("type") == "ref":
            per_dev.setdefault(r["device"], []).append(r["ms"])
    typical = {dev: sorted(v)[len(v) // 2] for dev, v in per_dev.items()}
    latest, prev_ref, flank = {}, {}, {}
    waiting = {}                                    # per device: graphs still without a reference after them
    for r in recs:
        if r.get("type") == "ref":
            prev_ref[r["device"]] = r["ms"]
            for key in waiting.pop(r["device"], []):
                flank[key] = (flank[key][0], r["ms"])
        elif r.get("type") == "graph":
            key = (r["graph"], r["device"])
            latest[key] = r
            flank[key] = (prev_ref.get(r["device"]), None)
            waiting.setdefault(r["device"], []).append(key)
    out = set()
    for key, r in latest.items():
        slow = typical.get(key[1], math.inf) * (1.0 + limit)
        before, after = flank[key]
        if any(x is not None and x > slow for x in (before, after)) or (r.get("cpu_share") or 1.0) < CONTENDED:
            out.add(key)
    return out


def drop_labels(lpath, pairs):
    """Rewrites labels.csv without the rows of these (graph, device) pairs,
    so that the next run profiles them again."""
    with open(lpath, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    # a row that is not whole (a torn line) goes too: load_state would drop
    # it and its block anyway, and it cannot be matched to a pair here
    keep = rows[:1] + [r for r in rows[1:] if len(r) == 6 and (r[0], r[2]) not in pairs]
    tmp = lpath + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(keep)
    os.replace(tmp, lpath)
    return len(rows) - len(keep)


class Parent:
    def __init__(self, args):
        self.args = args
        self.out = args.out_dir
        os.makedirs(self.out, exist_ok=True)
        self.gpath = os.path.join(self.out, "graphs.jsonl")
        self.lpath = os.path.join(self.out, "labels.csv")
        self.dpath = os.path.join(self.out, "devices.csv")
        self.rpath = os.path.join(self.out, "runlog.jsonl")
        self.spath = os.path.join(self.out, "summary.json")
        if args.redo_suspect and os.path.exists(self.rpath) and os.path.exists(self.lpath):
            repair_text_file(self.rpath)
            repair_text_file(self.lpath)
            pairs = suspect_pairs(self.rpath, args.settle_limit)
            n = drop_labels(self.lpath, pairs) if pairs else 0
            log("--redo-suspect: %d (graph, device) pairs measured next to a slow reference or on a shared core; "
                "dropped their %d label rows to profile them again" % (len(pairs), n))
        self.graphs, self.done, self.failed, self.baseline = load_state(self.out)
        self.workers = {}
        self.cpu = args.device_name or machine.cpu_short_name()
        new = not os.path.exists(self.lpath) or os.path.getsize(self.lpath) == 0
        self.lf = open(self.lpath, "a", newline="", encoding="utf-8")
        self.lw = csv.writer(self.lf, lineterminator="\n")
        if new:
            self.lw.writerow(LABEL_COLS)
            self.lf.flush()
        self.gf = open(self.gpath, "a", encoding="utf-8")
        self.rf = open(self.rpath, "a", encoding="utf-8")

    def device(self, t):
        return "cpu_%s_t%d" % (self.cpu, t)

    def runlog(self, rec):
        self.rf.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.rf.flush()

    # ---------------------------------------------------------------- workers

    def worker(self, t):
        w = self.workers.get(t)
        if w is not None and w.poll() is None:
            return w
        a = self.args
        cmd = [sys.executable, os.path.abspath(__file__), "--_worker", "--_threads", str(t),
               "--_device", self.device(t), "--repeats", str(a.repeats), "--warmup", str(a.warmup),
               "--min-seconds", str(a.min_seconds), "--ref-every", str(a.ref_every),
               "--ref-repeats", str(a.ref_repeats), "--settle-tries", str(a.settle_tries),
               "--settle-pause", str(a.settle_pause), "--settle-limit", str(a.settle_limit)]
        if self.device(t) in self.baseline:
            cmd += ["--_best-ref", repr(self.baseline[self.device(t)])]
        for flag in ("no_ref", "no_eager", "quick_device", "no_malloc_tuning"):
            if getattr(a, flag):
                cmd.append("--" + flag.replace("_", "-"))
        log("starting worker for %s (%d thread%s): measuring peak FLOP/s, bandwidth, reference"
            % (self.device(t), t, "" if t == 1 else "s"))
        w = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=envsetup.thread_env(t), bufsize=1)
        line = w.stdout.readline()
        if not line:
            raise SystemExit("profile_torch: worker for %s died during start-up (see messages above)"
                             % self.device(t))
        d = json.loads(line)
        self.workers[t] = w
        self.on_device(d)
        return w

    def on_device(self, d):
        dev = d["device"]
        rec = dict(d)
        rec["type"] = "device"
        rec["t"] = time.time()
        self.runlog(rec)
        log("%s: peak %.1f GFLOP/s (torch.mm), bandwidth %.1f GB/s (copy), timer %.0f ns, "
            "identity node %.2f us, malloc tuned: %s"
            % (dev, d["peak_gflops"], d["mem_bw_gbs"], d["timer_overhead_ns"], d["identity_node_ns"] / 1e3,
               d["malloc_tuned"]))
        self.update_devices(d)
        if d.get("ref"):
            self.on_ref(dev, d["ref"], "start-up")

    def update_devices(self, d):
        rows, header = [], list(DEVICE_COLS)
        if os.path.exists(self.dpath):
            with open(self.dpath, newline="", encoding="utf-8") as f:
                rd = csv.reader(f)
                got = list(rd)
            if got:
                header, rows = got[0], got[1:]
        if any(r and r[0] == d["device"] for r in rows):
            return      # keep the descriptors the existing labels were made with
        row = []
        for c in header:
            v = d.get(c)
            row.append("" if v is None else (str(v) if c == "device" else fmt(float(v))))
        rows.append(row)
        tmp = self.dpath + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            wr = csv.writer(f, lineterminator="\n")
            wr.writerow(header)
            wr.writerows(rows)
        os.replace(tmp, self.dpath)

    def on_ref(self, dev, ref, when):
        rec = {"type": "ref", "device": dev, "when": when}
        rec.update(ref)
        # Against the fastest reference of the run so far: the machine's slow
        # spells are the noise, its quiet state the truth.
        base = min(self.baseline.get(dev, ref["ms"]), ref["ms"])
        self.baseline[dev] = base
        drift = ref["ms"] / base - 1.0
        rec["baseline_ms"] = base
        rec["drift"] = drift
        if abs(drift) > DRIFT_LIMIT:
            rec["flag"] = "drift"
            log("NOISE: reference %s on %s measured %.2f ms, %+.1f%% from its baseline %.2f ms (%s); "
                "labels around this point are suspect%s" % (ref["graph"], dev, ref["ms"], 100 * drift, base, when,
                                                            " (after %d pauses)" % ref["settle_tries"]
                                                            if ref.get("settle_tries") else ""))
        elif ref.get("settle_tries"):
            log("noise: reference %s on %s settled at %.2f ms after %d pauses (%s)"
                % (ref["graph"], dev, ref["ms"], ref["settle_tries"], when))
        self.runlog(rec)

    def stop_workers(self):
        for w in self.workers.values():
            if w.poll() is None:
                try:
                    w.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                    w.stdin.flush()
                    w.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    w.kill()
        self.workers = {}

    # -------------------------------------------------------------------- run

    def run(self, specs_list, threads):
        a = self.args
        items = []
        skipped = 0
        for sp in specs_list:
            for t in threads:
                key = (sp["name"], self.device(t))
                if key in self.done or (key in self.failed and not a.retry_failed):
                    skipped += 1
                    continue
                items.append((sp, t))
        log("%d graphs x %d thread setting(s): %d to profile, %d already done or failed before"
            % (len(specs_list), len(threads), len(items), skipped))
        t_start = time.time()
        n_ok = n_err = 0
        for k, (sp, t) in enumerate(items):
            if a.limit_seconds and time.time() - t_start > a.limit_seconds:
                log("time limit of %d s reached: stopping with %d of %d left (rerun to resume)"
                    % (a.limit_seconds, len(items) - k, len(items)))
                break
            dev = self.device(t)
            t0 = time.time()
            res = self.request(t, sp)
            if res.get("ref"):
                self.on_ref(dev, res["ref"], "before %s" % sp["name"])
            stored = self.graphs.get(sp["name"])
            if res.get("type") == "result" and "doc" in res and stored and stored != node_digest(res["doc"]):
                res = {"type": "error", "graph": sp["name"],
                       "error": "graphs.jsonl already holds another graph named %s (made with other options, "
                                "e.g. --rcnn-nodes or --rcnn-spread): its labels would not fit; profile into "
                                "another --out-dir" % sp["name"]}
            if res.get("type") == "result":
                self.write_result(sp, res)
                n_ok += 1
                st = res["stats"]
                msg = ("%s %s: %.3f ms [p10 %.3f, p90 %.3f], nodes %d, sum/whole %.3f, cpu share %.2f, "
                       "%.1f preemptions/run, %s, %.1f s"
                       % (sp["name"], dev, st["whole_ms"], st["p10_ms"], st["p90_ms"], st["nodes"],
                          st["ratio"], st["cpu_share"], st["preemptions_per_run"], st["tracer"],
                          time.time() - t0))
                if (st["cpu_share"] or 1.0) < CONTENDED:
                    msg += " (CONTENDED: another process shared the core)"
            else:
                n_err += 1
                self.failed.add((sp["name"], dev))
                self.runlog({"type": "error", "graph": sp["name"], "device": dev, "error": res.get("error"),
                             "t": time.time()})
                msg = "%s %s: FAILED: %s" % (sp["name"], dev, res.get("error"))
            done = k + 1
            el = time.time() - t_start
            eta = el / done * (len(items) - done)
            log("[%d/%d] %s | elapsed %s, ETA %s" % (done, len(items), msg, hms(el), hms(eta)))
            if done % 25 == 0:
                self.write_summary()
        self.stop_workers()
        self.write_summary()
        log("done: %d profiled, %d failed; outputs in %s" % (n_ok, n_err, self.out))
        return 0 if n_err == 0 else 3

    def request(self, t, sp):
        """Profiles one spec in the worker for t threads.  A worker that dies
        (killed for memory, a crash in a native kernel) is restarted and the
        graph tried once more in the fresh worker; a second death records the
        graph as failed."""
        for attempt in (1, 2):
            w = self.worker(t)
            try:
                # the graph every time: a stored one of that name must be the same graph
                w.stdin.write(json.dumps({"cmd": "profile", "spec": sp, "need_graph": True}) + "\n")
                w.stdin.flush()
                line = w.stdout.readline()
            except OSError:
                line = ""
            if line:
                return json.loads(line)
            rc = w.wait()
            self.workers.pop(t, None)
            log("worker for %s exited (status %s) while profiling %s%s"
                % (self.device(t), rc, sp["name"], "; restarting it" if attempt == 1 else ""))
            if attempt == 2:
                return {"type": "error", "graph": sp["name"], "error": "worker died (status %s)" % rc}
        return {"type": "error", "graph": sp["name"], "error": "unreachable"}

    def write_result(self, sp, res):
        dev = res["device"]
        if "doc" in res and sp["name"] not in self.graphs:
            self.gf.write(json.dumps(res["doc"], separators=(",", ":")) + "\n")
            self.gf.flush()
            os.fsync(self.gf.fileno())
            self.graphs[sp["name"]] = node_digest(res["doc"])
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        for node, target, value, unit in res["labels"]:
            wr.writerow((sp["name"], node, dev, target, fmt(value), unit))
        self.lf.write(buf.getvalue())
        self.lf.flush()
        os.fsync(self.lf.fileno())
        self.done.add((sp["name"], dev))
        rec = {"type": "graph", "graph": sp["name"], "device": dev, "t": time.time()}
        rec.update(res["stats"])
        self.runlog(rec)

    def write_summary(self):
        s = summarize(self.rpath)
        tmp = self.spath + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(s, f, indent=1, sort_keys=False)
            f.write("\n")
        os.replace(tmp, self.spath)


def hms(s):
    s = int(s)
    return "%dh%02dm%02ds" % (s // 3600, s % 3600 // 60, s % 60) if s >= 3600 else "%dm%02ds" % (s // 60, s % 60)


def _q(v, p):
    v = sorted(v)
    if not v:
        return None
    k = (len(v) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summarize(rpath):
    """Aggregates runlog.jsonl (all runs) into the summary.json structure."""
    recs = []
    if os.path.exists(rpath):
        with open(rpath, encoding="utf-8") as f:
            recs = [json.loads(line) for line in f if line.strip()]
    graphs = {}
    for r in recs:
        if r.get("type") == "graph":
            graphs[(r["graph"], r["device"])] = r     # the latest wins
    devices = {}
    for r in recs:
        if r.get("type") == "device":
            devices.setdefault(r["device"], []).append(
                {k: r.get(k) for k in ("peak_gflops", "mem_bw_gbs", "timer_overhead_ns", "identity_node_ns",
                                       "malloc_tuned", "t")})
    fam = {}
    for (g, dev), r in graphs.items():
        key = "%s@%s" % (r["family"], dev)
        fam.setdefault(key, []).append(r)
    per_family = {}
    for key, rs in sorted(fam.items()):
        ratios = [r["ratio"] for r in rs if r.get("ratio") is not None]
        spreads = [r["spread"] for r in rs if r.get("spread") is not None]
        per_family[key] = {
            "graphs": len(rs),
            "seconds_per_graph": sum(r["total_s"] for r in rs) / len(rs),
            "whole_ms_median": _q([r["whole_ms"] for r in rs], 0.5),
            "nodes_median": _q([r["nodes"] for r in rs], 0.5),
            "ratio_median": _q(ratios, 0.5), "ratio_p10": _q(ratios, 0.1), "ratio_p90": _q(ratios, 0.9),
            "ratio_within_10pct": sum(1 for x in ratios if abs(x - 1) <= 0.10) / len(ratios) if ratios else None,
            "spread_median": _q(spreads, 0.5),
            "interp_overhead_us_per_node_median": _q([r["interp_overhead_us_per_node"] for r in rs], 0.5),
            "cpu_share_median": _q([r["cpu_share"] for r in rs if r.get("cpu_share") is not None], 0.5),
            "contended_graphs": sum(1 for r in rs if (r.get("cpu_share") or 1.0) < CONTENDED),
        }
        quiet = [r["ratio"] for r in rs if r.get("ratio") is not None and (r.get("cpu_share") or 0) >= CONTENDED]
        if quiet:
            per_family[key]["ratio_median_uncontended"] = _q(quiet, 0.5)
    fallback = sorted({r["graph"] + ": " + (r.get("fallback_reason") or "") for r in graphs.values()
                       if r.get("tracer") != "symbolic_trace"})
    refs = [r for r in recs if r.get("type") == "ref"]
    ref_by_dev = {}
    for r in refs:
        ref_by_dev.setdefault(r["device"], []).append(r["ms"])
    zoo = {"%s@%s" % (r["graph"], r["device"]): {
        "whole_ms": r["whole_ms"], "p10_ms": r["p10_ms"], "p90_ms": r["p90_ms"], "ratio": r["ratio"],
        "ratio_with_hidden": r.get("ratio_with_hidden"), "eager_ms": r.get("eager_ms"),
        "tracer": r["tracer"], "nodes": r["nodes"], "seconds": r["total_s"], "cpu_share": r.get("cpu_share"),
        "median_run_sum_ms": r.get("median_run_sum_ms")}
        for r in graphs.values() if r["family"] == "zoo"}
    return {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "profiled": len(graphs),
        "devices": devices,
        "per_family": per_family,
        "zoo": dict(sorted(zoo.items())),
        "fallback_tracer": fallback,
        "reference": {dev: {"measurements": len(v), "min_ms": min(v), "median_ms": _q(v, 0.5), "max_ms": max(v),
                            "max_over_min": max(v) / min(v)} for dev, v in ref_by_dev.items()},
        "drift_events": [r for r in refs if r.get("flag") == "drift"],
        "failures": [r for r in recs if r.get("type") == "error"],
    }


# ========================================================================= CLI

def parse_ints(s, what):
    try:
        v = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("%s: expected comma-separated integers, got %r" % (what, s)) from None
    if not v or min(v) < 1:
        raise argparse.ArgumentTypeError("%s: expected integers >= 1, got %r" % (what, s))
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Profile PyTorch models on this CPU: gnnperf graphs (JSON Lines), a label CSV "
                    "(whole-graph and per-node latency, per-node utilization) and a device CSV. "
                    "Resumable: rerun the same command to continue.",
        formatter_class=cli.HelpFormatter)
    ap.add_argument("--models", default="zoo",
                    help="families, comma-separated: zoo, nb201, fbnet, rcnn, rcnnip (random CNNs with in-place "
                         "activations and adds), or all (the first four)")
    ap.add_argument("--count", type=int, default=None,
                    help="graphs per family (zoo: the first N models; nb201/fbnet: arch indices "
                         "--start..; rcnn: random CNNs); default: all 21 zoo models, 100 of the others")
    ap.add_argument("--threads", default="1", help="thread counts = device settings, e.g. 1,2")
    ap.add_argument("--batch", default="1", help="batch sizes, e.g. 1,8 (each is a separate graph)")
    ap.add_argument("--repeats", type=int, default=20,
                    help="timed runs per graph (each a whole run and a node-timed run); more for "
                         "fast graphs, see --min-seconds")
    ap.add_argument("--min-seconds", type=float, default=0.5,
                    help="raise repeats (up to 4x) until the whole-model runs take this long")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    ap.add_argument("--out-dir", help="output folder (required; created; existing outputs are resumed)")
    ap.add_argument("--seed", type=int, default=1, help="seed of random archs and random CNNs")
    ap.add_argument("--start", type=int, default=0, help="first arch index / random CNN index")
    ap.add_argument("--limit-seconds", type=float, default=0,
                    help="stop starting new graphs after this many seconds (0: no limit)")
    ap.add_argument("--res", default=None,
                    help="zoo input resolutions, e.g. 224,160 (default: each model's own, 224 mostly)")
    ap.add_argument("--zoo-models", default=None,
                    help="comma-separated zoo models instead of the default list (%s)"
                    % ", ".join(specmod.ZOO_ORDER))
    ap.add_argument("--cifar-res", type=int, default=32, help="input resolution of nb201 and fbnet")
    ap.add_argument("--rcnn-nodes", type=int, default=80, help="mean node count of random CNNs")
    ap.add_argument("--rcnn-spread", type=float, default=0.75, help="random CNN node counts vary +-this fraction")
    ap.add_argument("--rcnn-max-gflops", type=float, default=5.0,
                    help="skip random CNNs above this many GFLOPs (0: no cap)")
    ap.add_argument("--ref-every", type=int, default=25,
                    help="re-measure the reference model (resnet18_b1) every N graphs per device")
    ap.add_argument("--ref-repeats", type=int, default=15, help="timed runs of each reference measurement")
    ap.add_argument("--settle-tries", type=int, default=0,
                    help="when the reference is slower than this worker's fastest by more than --settle-limit, "
                         "pause and re-measure it up to N times before profiling on (0: never wait)")
    ap.add_argument("--settle-pause", type=float, default=5.0, help="seconds of each such pause")
    ap.add_argument("--settle-limit", type=float, default=0.10,
                    help="slowdown of the reference, as a fraction of the fastest, that counts as a slow spell")
    ap.add_argument("--redo-suspect", action="store_true",
                    help="before resuming, forget the labels of graphs whose neighbouring reference measurement "
                         "was slower than the run's median reference by more than --settle-limit (or that shared "
                         "their core), so that they are profiled again")
    ap.add_argument("--no-ref", action="store_true", help="never measure the reference model")
    ap.add_argument("--no-eager", action="store_true",
                    help="skip timing the original (untraced) zoo module, reported as eager_ms")
    ap.add_argument("--device-name", default=None,
                    help="CPU part of device names (default from /proc/cpuinfo: %s)" % machine.cpu_short_name())
    ap.add_argument("--retry-failed", action="store_true", help="retry graphs that failed in earlier runs")
    ap.add_argument("--quick-device", action="store_true",
                    help="short peak/bandwidth measurements (tests only: less accurate descriptors)")
    ap.add_argument("--no-malloc-tuning", action="store_true",
                    help="leave glibc malloc at its defaults (see datasets/cpu/README.md)")
    ap.add_argument("--list", action="store_true", help="print the graph names that would be profiled and exit")
    ap.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_threads", dest="worker_threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--_device", dest="worker_device", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_best-ref", dest="_best_ref", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._worker:
        return worker_main(args)

    if not args.out_dir and not args.list:
        ap.error("--out-dir is required")
    try:
        threads = parse_ints(args.threads, "--threads")
        batches = parse_ints(args.batch, "--batch")
        zoo_res = parse_ints(args.res, "--res") if args.res else None
    except argparse.ArgumentTypeError as e:
        ap.error(str(e))
    fams = [f.strip() for f in args.models.split(",") if f.strip()]
    if fams == ["all"]:
        fams = list(specmod.ALL)
    bad = [f for f in fams if f not in specmod.FAMILIES]
    if bad or not fams:
        ap.error("--models: unknown %s (choose from %s, or all)" % (", ".join(bad) or "(none)",
                                                                   ", ".join(specmod.FAMILIES)))
    if args.repeats < 1 or args.warmup < 0:
        ap.error("--repeats must be >= 1 and --warmup >= 0")
    count = args.count
    if count is not None and count < 0:
        ap.error("--count must be >= 0")
    if count is None:
        count_zoo, count = None, 100
    else:
        count_zoo = count
    if args.device_name is not None and not args.device_name.replace("_", "").isalnum():
        ap.error("--device-name: letters, digits and _ only")

    lists = []
    for f in fams:
        if f == "zoo":
            models = None
            if args.zoo_models:
                models = [m.strip() for m in args.zoo_models.split(",") if m.strip()]
                unknown = [m for m in models if m not in specmod.ZOO_ORDER]
                if unknown:
                    ap.error("--zoo-models: unknown %s" % ", ".join(unknown))
            lists.append(specmod.zoo_specs(count_zoo, batches, zoo_res, models))
        else:
            lists.append(specmod.build_specs([f], count, batches, args.seed, args.start, zoo_res, args.cifar_res,
                                             args.rcnn_nodes, args.rcnn_spread, args.rcnn_max_gflops))
    specs_list = specmod.interleave(lists)
    if args.list:
        for sp in specs_list:
            print(sp["name"])
        return 0
    def _stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)      # also when started in the background
    parent = Parent(args)
    try:
        return parent.run(specs_list, threads)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("interrupted: outputs are consistent up to the last completed graph; rerun to resume")
        parent.stop_workers()
        parent.write_summary()
        return 130


if __name__ == "__main__":
    sys.exit(main())
