#!/usr/bin/python3
"""Profile PyTorch models on a CUDA GPU into gnnperf graphs and labels.

The GPU counterpart of profile_torch.py, for the same model families (it
uses the same builders, tracer and graph converter), in two passes:

  latency   build, trace, convert each network; time it on the GPU:
            whole-model latency (CUDA events around one synchronised run,
            median/p10/p90 over repeats) and per-node GPU time inside full
            runs (spin kernel + events around each node, see
            torchprof/cudatiming.py), plus a roofline utilization label.
            Writes graphs.jsonl, labels.csv, devices.csv, runlog.jsonl.
            Every --ref-every graphs (and before the first and after the
            last) it re-times a reference model (resnet18, batch 1, whole
            runs) and logs how far it drifted from its fastest measurement
            so far; runlog.jsonl keeps every measurement ("reference"
            records) and each graph's last reference before it (ref_ms).
  markers   run each network once with a marker kernel before every node and
            log the markers (graph, node) in launch order.  Meant to run
            under Nsight Compute; scripts/ncu_occupancy.py then turns the
            per-kernel achieved occupancy into per-node `occupancy` labels.

The device is one setting of the GPU (gpu_<model>); batch size is part of
each graph (its input shape), as graph names say (_b<batch>).

Example (on a GPU machine; see scripts/profile_gpu.sh for the whole job):
  scripts/profile_cuda.py latency --models all --count 50 --batch 1,32 --out-dir /tmp/gpu
"""

import argparse
import csv
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from torchprof import cli, specs as specmod  # noqa: E402

LABEL_COLS = ("graph", "node", "device", "target", "value", "unit")
DEVICE_COLS = ("device", "sms", "peak_gflops", "peak_tf32_gflops", "mem_bw_gbs", "l2_mb", "mem_gb")


def log(msg):
    sys.stderr.write("profile_cuda: %s\n" % msg)
    sys.stderr.flush()


def device_short_name(name):
    """'NVIDIA H100 80GB HBM3' -> 'h100'; 'NVIDIA A100-SXM4-80GB' -> 'a100'."""
    low = name.lower()
    m = re.search(r"\b([a-z]{1,3}\d{2,4}[a-z]?)\b", low.replace("-", " "))
    if m and m.group(1) not in ("nvidia",):
        return m.group(1)
    s = re.sub(r"[^a-z0-9]+", "_", low).strip("_")
    return s[:24] or "gpu"


def parse_ints(s, what):
    try:
        v = [int(t) for t in s.split(",") if t.strip()]
    except ValueError:
        raise SystemExit("profile_cuda: %s: expected comma-separated integers, got %r" % (what, s))
    if not v or min(v) < 1:
        raise SystemExit("profile_cuda: %s: expected positive integers, got %r" % (what, s))
    return v


def spec_list(args):
    fams = [f.strip() for f in args.models.split(",") if f.strip()]
    if fams == ["all"]:
        fams = list(specmod.ALL)
    bad = [f for f in fams if f not in specmod.FAMILIES]
    if bad or not fams:
        raise SystemExit("profile_cuda: --models: unknown %s (choose from %s, or all)"
                         % (", ".join(bad) or "(none)", ", ".join(specmod.FAMILIES)))
    batches = parse_ints(args.batch, "--batch")
    lists = []
    for f in fams:
        if f == "zoo":
            lists.append(specmod.zoo_specs(args.count, batches))
        else:
            lists.append(specmod.build_specs([f], args.count, batches, args.seed, 0))
    return specmod.interleave(lists)


def fmt(v):
    return "%.6g" % v


class Session:
    """Torch state shared by both passes."""

    def __init__(self, args):
        import numpy as np
        import torch
        from torchprof import cudatiming, families, labelcost, tograph
        import profile_torch
        self.np, self.torch = np, torch
        self.ct, self.families, self.labelcost, self.tograph = cudatiming, families, labelcost, tograph
        self.pt = profile_torch
        if args.cpu_test:
            dev = "cpu"
        else:
            if not torch.cuda.is_available():
                raise SystemExit("profile_cuda: torch %s sees no CUDA device (use --cpu-test to "
                                 "exercise the pipeline on a CPU)" % torch.__version__)
            dev = "cuda"
        torch.backends.cudnn.benchmark = False     # deterministic kernel choice: both passes see the same kernels
        self.be = cudatiming.Backend(dev)
        self.args = args
        self.ref_run = None          # the reference model's plain run and input, built on first use

    def build(self, spec):
        model, x = self.families.build(spec)
        model = model.to(self.be.device)
        x = x.to(self.be.device)
        gm, tracer, why = self.tograph.trace(model, x)
        conv = self.tograph.convert(gm, spec["name"], meta=self.meta(spec), tracer=tracer)
        return model, x, gm, conv, tracer, why

    def meta(self, spec):
        m = self.pt.graph_meta(spec, self.torch)
        m["source"] = "profile_cuda.py"
        m["cudnn_tf32"] = bool(self.torch.backends.cudnn.allow_tf32)
        m["matmul_tf32"] = bool(self.torch.backends.cuda.matmul.allow_tf32)
        return m

    def measure_ref(self):
        """Whole-run latency of the reference model (profile_torch.REF_SPEC):
        the same events and synchronisation as every graph's whole runs,
        but a fixed count of them (--ref-repeats, after at least 3 warm-up
        runs and --ref-warmup-seconds)."""
        spec = self.pt.REF_SPEC
        if self.ref_run is None:
            model, x = self.families.build(spec)
            model, x = model.to(self.be.device), x.to(self.be.device)
            gm, _, _ = self.tograph.trace(model, x)
            self.ref_run = (self.ct.NodeTimer(gm).plain, x)
        med, p10, p90 = self.ct.time_whole(self.ref_run[0], self.ref_run[1], self.be, repeats=self.args.ref_repeats,
                                         warmup_seconds=self.args.ref_warmup_seconds)
        return {"graph": spec["name"], "ms": med, "p10_ms": p10, "p90_ms": p90, "t": time.time()}

    def release(self):
        import gc
        gc.collect()
        if self.be.cuda:
            self.torch.cuda.empty_cache()


def run_latency(args):
    s = Session(args)
    torch = s.torch
    os.makedirs(args.out_dir, exist_ok=True)
    info = s.ct.device_info(s.be, quick=args.cpu_test)
    short = args.device_name or ("cpu_test" if args.cpu_test else "gpu_" + device_short_name(info["name"]))
    log("device %s (%s): %d SMs, fp32 %.1f TFLOP/s, tf32 %.1f TFLOP/s, copy %.0f GB/s, torch %s"
        % (short, info["name"], info["sms"] or 0, info["peak_gflops"] / 1e3, info["peak_tf32_gflops"] / 1e3,
           info["mem_bw_gbs"], torch.__version__))
    with open(os.path.join(args.out_dir, "devices.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(DEVICE_COLS)
        w.writerow([short] + ["" if info.get(c) is None else fmt(info[c]) for c in DEVICE_COLS[1:]])
    gf = open(os.path.join(args.out_dir, "graphs.jsonl"), "w", encoding="utf-8")
    lf = open(os.path.join(args.out_dir, "labels.csv"), "w", newline="", encoding="utf-8")
    rf = open(os.path.join(args.out_dir, "runlog.jsonl"), "w", encoding="utf-8")
    lw = csv.writer(lf, lineterminator="\n")
    lw.writerow(LABEL_COLS)
    rf.write(json.dumps(dict(type="device", device=short, torch=torch.__version__, **info)) + "\n")
    specs_list = spec_list(args)
    refs = []                       # (after how many graphs, ms) of each reference measurement

    def reference(after):
        """Measures, records and returns the reference; None (logged, the run
        goes on) when it fails."""
        try:
            r = s.measure_ref()
        except Exception as e:  # noqa: BLE001 -- reported like a graph's failure
            msg = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")
            log("reference %s after %d graphs: failed: %s" % (s.pt.REF_SPEC["name"], after, msg))
            rf.write(json.dumps({"type": "error", "graph": s.pt.REF_SPEC["name"], "reference": True,
                                 "after": after, "error": msg}) + "\n")
            rf.flush()
            s.release()
            return None
        fastest = min([ms for _, ms in refs] + [r["ms"]])
        refs.append((after, r["ms"]))
        r.update(type="reference", after=after, drift=r["ms"] / fastest - 1.0)
        rf.write(json.dumps(r) + "\n")
        rf.flush()
        if abs(r["drift"]) > s.pt.DRIFT_LIMIT:
            log("NOISE: reference %s measured %.3f ms after %d graphs, %+.1f%% from its fastest so far (%.3f ms): "
                "the graphs around it were timed on a slower device or host" % (r["graph"], r["ms"], after,
                                                                               100 * r["drift"], fastest))
        return r

    last_ref = reference(0) if args.ref_every > 0 else None
    ref_after = 0                   # graphs profiled when the reference was last measured (or tried)
    t0 = time.time()
    done = 0
    for k, spec in enumerate(specs_list):
        el = time.time() - t0
        if args.limit_seconds and el > args.limit_seconds:
            log("time limit: stopping after %d of %d graphs" % (done, len(specs_list)))
            break
        if args.ref_every > 0 and done > 0 and done % args.ref_every == 0 and ref_after != done:
            last_ref = reference(done) or last_ref
            ref_after = done
        try:
            res = profile_one(s, spec, info, short)
        except Exception as e:  # noqa: BLE001 -- reported, the run goes on
            msg = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")
            log("%s: failed: %s" % (spec["name"], msg))
            rf.write(json.dumps({"type": "error", "graph": spec["name"], "error": msg}) + "\n")
            rf.flush()
            s.release()
            continue
        doc, labels, stats = res
        gf.write(json.dumps(doc, separators=(",", ":")) + "\n")
        for node, target, value, unit in labels:
            lw.writerow((spec["name"], node, short, target, fmt(value), unit))
        if last_ref is not None:
            stats["ref_ms"] = last_ref["ms"]
        rf.write(json.dumps(dict(type="result", graph=spec["name"], device=short, **stats)) + "\n")
        gf.flush()
        lf.flush()
        rf.flush()
        done += 1
        el = time.time() - t0
        if done % 10 == 0 or k == len(specs_list) - 1:
            rate = el / done
            left = len(specs_list) - k - 1
            log("%d/%d graphs, %.0f s, last %s: %.3f ms (node sum %.3f ms); ETA %.0f s%s"
                % (k + 1, len(specs_list), el, spec["name"], stats["whole_ms"], stats["node_sum_ms"],
                   rate * left, " (limit %.0f s)" % args.limit_seconds if args.limit_seconds else ""))
        s.release()
    if args.ref_every > 0 and done > 0 and ref_after != done:
        reference(done)
    if refs:
        # Against the run's fastest: a slow start is only seen once a faster measurement follows.
        ms = [m for _, m in refs]
        slow = [a for a, m in refs if m / min(ms) - 1.0 > s.pt.DRIFT_LIMIT]
        log("reference %s: %d measurements, %.3f / %.3f / %.3f ms (min / median / max); %d more than %.0f%% "
            "slower than the fastest%s" % (s.pt.REF_SPEC["name"], len(ms), min(ms), float(s.np.median(ms)), max(ms),
                                          len(slow), 100 * s.pt.DRIFT_LIMIT,
                                          " (after graphs %s)" % ", ".join(map(str, slow)) if slow else ""))
    gf.close()
    lf.close()
    rf.close()
    log("%d graphs profiled in %.0f s into %s" % (done, time.time() - t0, args.out_dir))
    return 0


def profile_one(s, spec, info, short):
    np, torch, lc = s.np, s.torch, s.labelcost
    a = s.args
    t0 = time.time()
    model, x, gm, conv, tracer, why = s.build(spec)
    t1 = time.time()
    prof, timer = s.ct.profile_graph(gm, x, s.be, repeats=a.repeats, node_repeats=a.node_repeats,
                                     warmup=a.warmup, min_seconds=a.min_seconds)
    t2 = time.time()
    aliases = s.pt.alias_flags(timer, x, torch)
    index = {n: i for i, n in enumerate(timer.nodes)}
    med = np.median(prof.nodes, axis=0)            # ms
    whole = prof.whole
    w_med = float(np.median(whole))
    # cuDNN convolutions may use TF32 tensor cores (torch's default); matrix products may not
    tf32_conv = bool(torch.backends.cudnn.allow_tf32)

    def peak_for(jn):
        if tf32_conv and jn["op"] in ("conv2d", "dwconv2d"):
            return info["peak_tf32_gflops"]
        return info["peak_gflops"]
    labels, node_sum, total_flops, bound = lc.node_labels(
        conv, lambda fxn: float(med[index[fxn]]), 1.0, aliases, peak_for, info["mem_bw_gbs"])
    labels.append(("", "latency_p10_ms", float(np.percentile(whole, 10)), "ms"))
    labels.append(("", "latency_p90_ms", float(np.percentile(whole, 90)), "ms"))
    labels.append(("", "latency_ms", w_med, "ms"))
    stats = {
        "family": specmod.family_name(spec), "batch": spec.get("batch", 1), "tracer": tracer, "fallback_reason": why,
        "nodes": len(conv.doc["nodes"]), "fx_calls": int(sum(1 for st in timer.steps if st[0] in (2, 3))),
        "repeats": prof.repeats, "node_repeats": prof.node_repeats,
        "whole_ms": w_med, "p10_ms": float(np.percentile(whole, 10)), "p90_ms": float(np.percentile(whole, 90)),
        "spread": float((np.percentile(whole, 90) - np.percentile(whole, 10)) / w_med) if w_med > 0 else None,
        "node_sum_ms": node_sum, "ratio": node_sum / w_med if w_med > 0 else None,
        "host_call_ms": float(prof.host_ns.sum() / 1e6), "spin_short": prof.spin_short,
        "gflops": total_flops / 1e9, "util_bound": bound,
        "build_s": t1 - t0, "time_s": t2 - t1, "total_s": time.time() - t0,
    }
    doc = conv.doc
    del model, gm, conv, prof, timer, x
    return doc, labels, stats


def run_markers(args):
    """Marker pass (run it under ncu).  Marker log: one line per marker kernel
    in launch order: seq,graph,node (node empty: graph boundary; '-' for fx
    calls that are not graph nodes)."""
    s = Session(args)
    t0 = time.time()
    seq = [0]
    with open(args.marker_log, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("seq", "graph", "node"))
        done = 0
        specs = spec_list(args)
        if args.skip_graphs:
            log("markers: skipping the first %d of %d graphs" % (min(args.skip_graphs, len(specs)), len(specs)))
        for spec in specs[args.skip_graphs:]:
            if args.limit_seconds and time.time() - t0 > args.limit_seconds:
                log("time limit: stopping after %d graphs" % done)
                break
            # graph boundary first: the kernels of building and tracing the graph (shape
            # propagation runs it) land on the boundary and are ignored
            s.be.sync()
            w.writerow((seq[0], spec["name"], ""))
            seq[0] += 1
            s.be.spin(s.ct.MARKER_CYCLES)
            try:
                model, x, gm, conv, _, _ = s.build(spec)
            except Exception as e:  # noqa: BLE001
                log("%s: failed to build/trace: %s" % (spec["name"], e))
                continue
            jname = {fxn: jn["name"] for fxn, jn in conv.emitted if jn["op"] not in ("input", "output")}
            s.be.sync()
            nodes = []

            def on_marker(i):
                nodes.append(i)
            timer = s.ct.marker_run(gm, x, s.be, on_marker)
            for i in nodes:
                w.writerow((seq[0], spec["name"], jname.get(timer.nodes[i], "-")))
                seq[0] += 1
            f.flush()
            done += 1
            if done % 5 == 0:
                log("markers: %d graphs, %d markers, %.0f s" % (done, seq[0], time.time() - t0))
            del model, x, gm, conv, timer
            s.release()
        # closing boundary
        s.be.sync()
        w.writerow((seq[0], "", ""))
        s.be.spin(s.ct.MARKER_CYCLES)
        s.be.sync()
    log("markers: %d graphs, %d markers in %.0f s -> %s" % (done, seq[0] + 1, time.time() - t0, args.marker_log))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Profile PyTorch models on a CUDA GPU: gnnperf graphs, whole-model and per-node "
                    "latency labels (latency pass) and a marker log for per-node occupancy under "
                    "Nsight Compute (markers pass).",
        formatter_class=cli.HelpFormatter)
    ap.add_argument("pass_", metavar="PASS", choices=("latency", "markers"), help="latency or markers")
    ap.add_argument("--models", default="all", help="families, comma-separated: zoo, nb201, fbnet, rcnn, rcnnip, or all (the first four)")
    ap.add_argument("--count", type=int, default=50, help="graphs per family (zoo: the first N models)")
    ap.add_argument("--batch", default="1,32", help="batch sizes (each a separate graph)")
    ap.add_argument("--seed", type=int, default=1, help="seed of random archs and random CNNs")
    ap.add_argument("--repeats", type=int, default=30, help="whole-model timed runs (at least)")
    ap.add_argument("--min-seconds", type=float, default=0.2, help="keep timing whole runs this long")
    ap.add_argument("--node-repeats", type=int, default=10, help="node-timed runs per graph")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    ap.add_argument("--limit-seconds", type=float, default=0, help="stop starting graphs after this long")
    ap.add_argument("--ref-every", type=int, default=20,
                    help="latency pass: re-time the reference model (resnet18_b1) every N graphs, before the "
                         "first and after the last (0: never)")
    ap.add_argument("--ref-repeats", type=int, default=30, help="timed whole runs per reference measurement")
    ap.add_argument("--ref-warmup-seconds", type=float, default=0.5,
                    help="untimed runs of the reference for at least this long before each measurement")
    ap.add_argument("--skip-graphs", type=int, default=0,
                    help="markers pass: start after the first N graphs of the list (extends an earlier "
                         "occupancy pass that stopped there; its labels and this pass's are disjoint)")
    ap.add_argument("--out-dir", help="latency pass: output folder (created; files overwritten)")
    ap.add_argument("--marker-log", help="markers pass: the marker CSV to write")
    ap.add_argument("--device-name", default=None, help="device name (default gpu_<model>, e.g. gpu_h100)")
    ap.add_argument("--cpu-test", action="store_true",
                    help="run the pipeline on the CPU with host timestamps (tests; labels meaningless)")
    args = ap.parse_args(argv)
    if args.count < 0 or args.repeats < 1 or args.node_repeats < 1 or args.skip_graphs < 0 or args.ref_every < 0 \
            or args.ref_repeats < 1 or not 0 <= args.ref_warmup_seconds < 3600:
        ap.error("--count, --skip-graphs and --ref-every must be >= 0, --ref-warmup-seconds in [0, 3600), --repeats, --node-repeats and --ref-repeats >= 1")
    if args.skip_graphs and args.pass_ != "markers":
        ap.error("--skip-graphs belongs to the markers pass")
    import warnings
    warnings.filterwarnings("ignore")
    if args.pass_ == "latency":
        if not args.out_dir:
            ap.error("latency: --out-dir is required")
        return run_latency(args)
    if not args.marker_log:
        ap.error("markers: --marker-log is required")
    return run_markers(args)


if __name__ == "__main__":
    sys.exit(main())
