#!/usr/bin/python3
"""Tests of the PyTorch profiler and the ONNX importer (fast: well under a minute).

    /usr/bin/python3 scripts/test_profiler.py [-v]

Needs python3-torch, python3-torchvision, python3-onnx; skips everything
(exit 0, with a message) when they are missing.  When a gnndata binary is
found (build*/gnndata or $GNNDATA) the end-to-end test also packs the
profiler's output with it.
"""

import collections
import csv
import glob
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False
HAVE_ONNX = importlib.util.find_spec("onnx") is not None

import gen_fbnet  # noqa: E402
import gen_nb201  # noqa: E402
import gpgraph  # noqa: E402

if HAVE_TORCH:
    torch.set_num_threads(1)
    from torchprof import families, labelcost, specs, timing, tograph  # noqa: E402
    import profile_torch  # noqa: E402


def op_counts(doc, skip=()):
    return collections.Counter(n["op"] for n in doc["nodes"] if n["op"] not in skip)


def conv_sigs(doc):
    return collections.Counter(
        (n["op"], tuple(n.get("attrs", {}).get("kernel", [1, 1])), tuple(n.get("attrs", {}).get("stride", [1, 1])),
         n.get("attrs", {}).get("groups", 1), tuple(n["out_shape"]))
        for n in doc["nodes"] if n["op"] in ("conv2d", "dwconv2d"))


def check_shapes(tc, doc):
    """Every in_shapes prefix matches the producers' out_shapes (the C reader's rule)."""
    shape = {}
    for n in doc["nodes"]:
        if "in_shapes" in n:
            tc.assertGreaterEqual(len(n["in_shapes"]), len(n.get("inputs", [])), n["name"])
            for i, s in zip(n.get("inputs", []), n["in_shapes"]):
                tc.assertEqual(shape[i], s, "%s reads %s" % (n["name"], i))
        shape[n["name"]] = n["out_shape"]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def steady_runlog(path, keep_ms=None):
    """Rewrites a test run's runlog as if the machine had been steady: every
    reference measurement (but one of keep_ms, planted by the test) set to
    their median, every graph uncontended. What --redo-suspect flags then
    depends on the records the test plants, not on how busy the machine
    running the tests was (the tests run in parallel with others)."""
    recs = [json.loads(line) for line in open(path) if line.strip()]
    refs = sorted(r["ms"] for r in recs if r.get("type") == "ref" and r["ms"] != keep_ms)
    for r in recs:
        if r.get("type") == "ref" and r["ms"] != keep_ms:
            r["ms"] = refs[len(refs) // 2]
        elif r.get("type") == "graph":
            r["cpu_share"] = 1.0
    with open(path, "w") as f:
        f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs))


def find_gnndata():
    env = os.environ.get("GNNDATA")
    if env and os.access(env, os.X_OK):
        return env
    for p in sorted(glob.glob(os.path.join(ROOT, "build*", "gnndata"))):
        if os.access(p, os.X_OK) and "asan" not in p:
            return p
    return None


if HAVE_TORCH:
    class Toy(nn.Module):
        """Covers the conversion rules: modules, functions, methods, a
        parameter read by an add, a chunk (tuple), shape arithmetic, x * x,
        a zero op, adaptive pools."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.act = nn.ReLU6()
            self.dw = nn.Conv2d(8, 8, 5, padding=2, groups=8)
            self.scale = nn.Parameter(torch.ones(8, 1, 1))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.pool2 = nn.AdaptiveAvgPool2d(2)
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            h = self.act(self.bn(self.conv(x)))
            h = self.dw(h) + self.scale          # add reading a parameter
            parts = h.chunk(2, dim=1)             # tuple, both halves used
            a, b = parts[0], parts[1]
            h = torch.cat([b, a * 0.0], dim=1)    # zero op
            h = F.hardtanh(h, 0.0, 6.0) * h       # relu6 (functional), then x * x-like mul
            h = F.max_pool2d(h, 3, 1, 1)
            q = self.pool2(h)                     # adaptive pool to 2x2: avgpool2d
            n = h.size(0)                         # shape arithmetic: not a node
            g = self.pool(h).view(n, -1)
            z = torch.zeros_like(self.fc.bias).expand(n, 4)   # constant, shaped by x: not a node
            return torch.softmax(self.fc(g), dim=-1) + q.mean() + z

    class Unpacks(nn.Module):
        """Fails symbolic tracing (iterates over x.shape): make_fx fallback."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            n, c, h, w = x.shape
            y = torch.relu(self.bn(self.conv(x)))
            return y.reshape(n, c * h * w)


@unittest.skipUnless(HAVE_TORCH, "python3-torch not installed")
class ConvertTest(unittest.TestCase):
    def convert(self, m, x, name="g"):
        gm, tracer, why = tograph.trace(m.eval(), x)
        conv = tograph.convert(gm, name, tracer=tracer)
        gpgraph.validate_graph(conv.doc)
        check_shapes(self, conv.doc)
        json.loads(json.dumps(conv.doc))
        return conv, tracer, why

    def test_toy_mapping(self):
        conv, tracer, why = self.convert(Toy(), torch.randn(2, 3, 16, 16))
        self.assertEqual(tracer, "symbolic_trace")
        self.assertIsNone(why)
        by = {n["name"]: n for n in conv.doc["nodes"]}
        ops = op_counts(conv.doc)
        self.assertEqual(by["conv"]["op"], "conv2d")
        self.assertEqual(by["conv"]["attrs"], {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1],
                                               "dilation": [1, 1]})
        self.assertEqual(by["dw"]["op"], "dwconv2d")
        self.assertEqual(by["dw"]["attrs"]["groups"], 8)
        self.assertEqual(by["act"]["attrs"]["fn"], "relu6")
        self.assertEqual(by["bn"]["op"], "batchnorm")
        # the parameter is an input from outside the graph, listed after the graph input
        add = by["add"]
        self.assertEqual(add["inputs"], ["dw"])
        self.assertEqual(add["in_shapes"], [[2, 8, 8, 8], [8, 1, 1]])
        # chunk: a tuple node with both elements used -> the node plus two view nodes
        self.assertEqual(by["chunk"]["meta"]["outputs"], [[2, 4, 8, 8], [2, 4, 8, 8]])
        getitems = [n for n in conv.doc["nodes"] if n.get("inputs") == ["chunk"]]
        self.assertEqual(len(getitems), 2)
        self.assertTrue(all(n["op"] == "view" for n in getitems))
        self.assertEqual(by["mul"]["attrs"]["fn"], "zero")
        self.assertEqual(by["hardtanh"]["op"], "activation")
        self.assertEqual(by["hardtanh"]["attrs"]["fn"], "relu6")
        self.assertEqual(by["mul_1"]["inputs"], ["hardtanh", "cat"])
        self.assertEqual(by["max_pool2d"]["attrs"], {"kernel": [3, 3], "stride": [1, 1], "padding": [1, 1]})
        self.assertEqual(by["pool"]["op"], "global_avgpool")
        self.assertEqual(by["pool2"]["op"], "avgpool2d")
        self.assertEqual(by["pool2"]["attrs"]["kernel"], [4, 4])
        self.assertEqual(by["fc"]["op"], "linear")
        self.assertEqual(by["softmax"]["op"], "softmax")
        # x.size(0) is shape arithmetic: hidden, never an input
        self.assertNotIn("size", by)
        self.assertIn("size", [n.name for n in conv.hidden])
        self.assertEqual(by["view"]["inputs"], ["pool"])
        self.assertNotIn("zeros_like", by)
        self.assertNotIn("expand", by)
        self.assertEqual(by["add_2"]["inputs"], ["add_1"])
        self.assertEqual(by["add_2"]["in_shapes"], [[2, 4], [2, 4]])
        self.assertEqual(by["mean"]["op"], "other")
        self.assertEqual(by["mean"]["out_shape"], [])
        self.assertEqual(ops["input"], 1)
        self.assertEqual(ops["output"], 1)
        self.assertEqual(conv.doc["nodes"][-1]["out_shape"], [2, 4])

    def test_inplace_flags(self):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.ReLU(inplace=True)
                self.b = nn.ReLU()
                self.c = nn.Hardswish(inplace=True)

            def forward(self, x):
                y = self.b(self.a(x))
                y = F.relu(y, inplace=True)
                y = self.c(y)
                z = y.mul(2.0)
                return z.add_(1.0)

        conv, tracer, why = self.convert(M(), torch.randn(1, 4, 8, 8))
        flags = {n["name"]: n.get("attrs", {}).get("inplace", False) for n in conv.doc["nodes"]}
        self.assertEqual(flags["a"], True)
        self.assertEqual(flags["b"], False)
        self.assertEqual(flags["relu"], True)
        self.assertEqual(flags["c"], True)
        self.assertEqual(flags["mul"], False)
        self.assertEqual(flags["add_"], True)

    def test_retrace_inplace(self):
        """retrace_inplace.py restores the flags of a zoo graph converted without them,
        by the same trace or (when the trace differs) by module, and writes nothing
        when a node names no module."""
        spec = {"family": "zoo", "model": "squeezenet1_1", "res": 64, "batch": 1, "name": "squeezenet1_1_r64_b1"}
        model, x = families.build(spec)
        gm, tracer, _ = tograph.trace(model, x)
        meta = {"family": "zoo", "model": "squeezenet1_1", "res": 64, "batch": 1}
        doc = tograph.convert(gm, spec["name"], meta=meta, tracer=tracer).doc
        want = {n["name"]: bool(n.get("attrs", {}).get("inplace")) for n in doc["nodes"]}
        self.assertEqual(sum(want.values()), 26)
        for n in doc["nodes"]:
            n.get("attrs", {}).pop("inplace", None)
        other = {"format": "gnnperf-graph", "version": 1, "name": "o", "meta": {"family": "rcnn"}, "nodes": []}
        renamed = json.loads(json.dumps(doc))
        renamed["name"] = "renamed"
        renamed["nodes"][3]["name"] += "_x"
        for k in range(4, len(renamed["nodes"])):
            ins = renamed["nodes"][k].get("inputs", [])
            renamed["nodes"][k]["inputs"] = [doc["nodes"][3]["name"] + "_x" if i == doc["nodes"][3]["name"] else i
                                             for i in ins]
        script = os.path.join(HERE, "retrace_inplace.py")
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "g.jsonl"), os.path.join(d, "out.jsonl")
            with open(src, "w") as f:
                for g in (doc, other, renamed):
                    f.write(json.dumps(g) + "\n")
            p = subprocess.run([sys.executable, script, src, "-o", dst], capture_output=True, text=True, timeout=240)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            self.assertIn("2 zoo graphs", p.stdout)
            self.assertIn("(by module)", p.stderr)
            got = list(gpgraph.read_jsonl(dst))
            self.assertEqual([g["name"] for g in got], [doc["name"], "o", "renamed"])
            self.assertEqual(got[1], other)
            self.assertEqual({n["name"]: bool(n.get("attrs", {}).get("inplace")) for n in got[0]["nodes"]}, want)
            # squeezenet's in-place ops are all nn.ReLU(inplace=True) modules: by module finds the same
            self.assertEqual(sum(bool(n.get("attrs", {}).get("inplace")) for n in got[2]["nodes"]), 26)
            # a node naming no submodule of the rebuilt model: error, nothing written
            renamed["nodes"][5].setdefault("meta", {})["module"] = "no.such.module"
            with open(src, "w") as f:
                f.write(json.dumps(renamed) + "\n")
            os.remove(dst)
            p = subprocess.run([sys.executable, script, src, "-o", dst], capture_output=True, text=True, timeout=240)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("no.such.module", p.stderr)
            self.assertFalse(os.path.exists(dst))

    def test_adaptive_pool_larger_output(self):
        # alexnet at 160x160: AdaptiveAvgPool2d((6, 6)) on a 4x4 map (windows of 1-2 inputs)
        m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d((6, 6)), nn.AdaptiveMaxPool2d((2, 3)))
        conv, _, _ = self.convert(m, torch.randn(1, 3, 4, 4))
        pools = [n for n in conv.doc["nodes"] if n["op"] in ("avgpool2d", "maxpool2d")]
        self.assertEqual(pools[0]["attrs"]["kernel"], [2, 2])
        self.assertEqual(pools[0]["attrs"]["stride"], [1, 1])
        self.assertEqual(pools[1]["attrs"]["kernel"], [3, 2])      # 6 -> 2 rows, 6 -> 3 columns
        self.assertEqual(pools[1]["attrs"]["stride"], [3, 2])

    def test_make_fx_fallback(self):
        conv, tracer, why = self.convert(Unpacks(), torch.randn(1, 4, 6, 6))
        self.assertEqual(tracer, "make_fx")
        self.assertIn("TraceError", why)
        ops = op_counts(conv.doc)
        self.assertEqual(ops["conv2d"], 1)
        self.assertEqual(ops["batchnorm"], 1)
        self.assertEqual(ops["activation"], 1)
        # batch norm's saved statistics are folded away: no view reads the BN node
        bn = [n for n in conv.doc["nodes"] if n["op"] == "batchnorm"][0]
        self.assertFalse([n for n in conv.doc["nodes"] if n["op"] == "view" and n.get("inputs") == [bn["name"]]])
        self.assertEqual(conv.doc["nodes"][-1]["out_shape"], [1, 144])
        self.assertEqual(conv.doc["meta"]["tracer"], "make_fx")

    def test_nb201_matches_generator(self):
        archs = ["|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|",
                 "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
                 "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"]
        for a in archs:
            ref = gen_nb201.build_nb201(a).to_json()
            m, x = families.build({"family": "nb201", "arch": a, "batch": 1})
            conv, tracer, _ = self.convert(m, x)
            self.assertEqual(tracer, "symbolic_trace")
            self.assertEqual(op_counts(conv.doc), op_counts(ref), a)
            self.assertEqual(conv_sigs(conv.doc), conv_sigs(ref), a)
            self.assertEqual(len(conv.doc["nodes"]), len(ref["nodes"]))

    def test_fbnet_matches_generator(self):
        choices = ["k3_e1", "k3_e1_g2", "k5_e6", "skip", "k5_e1_g2", "k3_e3", "skip", "k5_e3", "k3_e6",
                   "skip", "k5_e1", "k3_e1_g2", "k3_e3", "k5_e6", "skip", "k3_e1", "k5_e3", "k3_e6", "k5_e1_g2",
                   "skip", "k3_e3", "k5_e6"]
        ref = gen_fbnet.build_fbnet(choices).to_json()
        m, x = families.build({"family": "fbnet", "choices": choices, "batch": 1})
        conv, tracer, _ = self.convert(m, x)
        self.assertEqual(tracer, "symbolic_trace")
        # the channel shuffle is one view node in gen_fbnet, three here
        self.assertEqual(op_counts(conv.doc, skip=("view",)), op_counts(ref, skip=("view",)))
        self.assertEqual(conv_sigs(conv.doc), conv_sigs(ref))

    def test_rcnn_matches_generator(self):
        for i in range(3):
            sp = {"family": "rcnn", "seed": 7, "index": i, "nodes": 40, "spread": 0.0, "batch": 1}
            ref = families.rcnn_doc(sp)
            m, x = families.build(sp)
            conv, tracer, _ = self.convert(m, x)
            self.assertEqual(op_counts(conv.doc), op_counts(ref))
            self.assertEqual(conv_sigs(conv.doc), conv_sigs(ref))
            self.assertEqual(len(conv.doc["nodes"]), 40)


class CompareLabelsTest(unittest.TestCase):
    """bench/compare_labels.py --runlog: the reference drift against the graphs' ratios."""

    def test_reference_drift(self):
        import contextlib
        import io
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        import compare_labels
        self.assertAlmostEqual(compare_labels.spearman([1, 2, 3, 4], [10, 20, 40, 30]), 0.8)
        self.assertAlmostEqual(compare_labels.spearman([1, 1, 2, 3], [1, 2, 3, 4]), 0.9486833, places=6)
        # each graph slower by exactly its reference's drift: rho 1, no spread left after dividing
        refs = [(0, 1.0), (2, 1.5), (4, 1.2)]
        recs = [{"type": "device"}]
        pairs = {}
        for k in range(6):
            if k % 2 == 0:
                recs.append({"type": "reference", "graph": "ref", "ms": refs[k // 2][1], "after": k})
            drift = refs[k // 2][1]
            recs.append({"type": "result", "graph": "g%d" % k, "ref_ms": drift})
            pairs["g%d" % k] = (2.0 + k, (2.0 + k) * drift)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "runlog.jsonl")
            with open(path, "w") as f:
                f.write("\n".join(json.dumps(r) for r in recs) + "\n")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(compare_labels.reference_drift(path, pairs), 0)
            self.assertIn("3 measurements", out.getvalue())
            self.assertIn("rho(ln ref drift, ln second/dataset) 1.000", out.getvalue())
            self.assertIn("after dividing by the reference drift 0.000", out.getvalue())
            self.assertIn("all graphs (6)", out.getvalue())
            self.assertIn("after the first reference (4)", out.getvalue())
            # gzipped, its last record cut short (a killed run): read, the cut record skipped
            gz = path + ".gz"
            import gzip
            with gzip.open(gz, "wt") as f:
                f.write("\n".join(json.dumps(r) for r in recs) + "\n" + json.dumps(recs[-1])[:20])
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()) as err:
                self.assertEqual(compare_labels.reference_drift(gz, pairs), 0)
            self.assertIn("all graphs (6)", out.getvalue())
            self.assertIn("last line cut short", err.getvalue())
            # a broken record elsewhere, a missing file, a truncated gzip: errors, no traceback
            with open(path, "w") as f:
                f.write("\n".join([json.dumps(recs[0]), "{oops"] + [json.dumps(r) for r in recs[1:]]) + "\n")
            with open(gz, "rb") as f:
                data = f.read()
            with open(gz, "wb") as f:
                f.write(data[:len(data) // 2])
            for bad in (path, gz, os.path.join(d, "missing.jsonl")):
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
                    self.assertEqual(compare_labels.reference_drift(bad, pairs), 1, bad)
                self.assertIn(os.path.basename(bad), err.getvalue())
            with open(path, "w") as f:
                f.write(json.dumps({"type": "device"}) + "\n")
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(compare_labels.reference_drift(path, pairs), 1)


@unittest.skipUnless(HAVE_TORCH, "python3-torch not installed")
class TimingTest(unittest.TestCase):
    def test_node_timer_runs_the_model(self):
        m = Toy().eval()
        x = torch.randn(2, 3, 16, 16)
        gm, _, _ = tograph.trace(m, x)
        prof, timer = timing.profile_graph(gm, x, repeats=3, min_seconds=0, warmup=1)
        import numpy as np
        buf = np.zeros(len(timer.steps), dtype=np.int64)
        with torch.no_grad():
            out = timer.run(x, buf)
            ref = gm(x)
        self.assertTrue(torch.allclose(out, ref))
        self.assertEqual(prof.nodes.shape, (3, len(timer.nodes)))
        self.assertTrue((prof.nodes >= 0).all())
        self.assertTrue((prof.whole > 0).all())
        # tensors are freed after their last use, as the generated forward does
        with torch.no_grad():
            self.assertGreater(timing.timer_overhead_ns(200), 0)

    def test_time_whole_warms_up_for_its_seconds(self):
        import time
        from torchprof import cudatiming
        calls = []

        def run(x):
            calls.append(time.perf_counter())
            time.sleep(0.01)
        be = cudatiming.Backend("cpu")
        cudatiming.time_whole(run, None, be, repeats=2, warmup=3, warmup_seconds=0.1)
        # at least 0.1 s of 10 ms runs before the 2 timed ones (more than the 3 + 2 calls
        # without the seconds)
        self.assertGreater(len(calls), 5)
        self.assertGreaterEqual(calls[-2] - calls[0], 0.095)   # the clock starts just before calls[0]
        calls.clear()
        cudatiming.time_whole(run, None, be, repeats=2, warmup=3)
        self.assertEqual(len(calls), 5)

    def test_labelcost(self):
        fl = labelcost.flops("conv2d", None, {"kernel": [3, 3], "groups": 1}, [[1, 16, 8, 8]], [1, 32, 8, 8])
        self.assertEqual(fl, 2.0 * 32 * 64 * 16 * 9)
        self.assertEqual(labelcost.flops("dwconv2d", None, {"kernel": [3, 3], "groups": 16}, [[1, 16, 8, 8]],
                                         [1, 16, 8, 8]), 2.0 * 16 * 64 * 9)
        self.assertEqual(labelcost.bytes_moved("view", None, [[4, 4]], [16], aliases=True), 0.0)
        self.assertEqual(labelcost.bytes_moved("view", None, [[4, 4]], [16], aliases=False), 128.0)
        # a matmul's K as graph/cost.c reads it: W [64,64] @ x [64,2] listed x first
        self.assertEqual(labelcost.flops("matmul", None, {}, [[64, 2], [64, 64]], [64, 2]), 2.0 * 128 * 64)
        self.assertEqual(labelcost.flops("bmm", None, {}, [[2, 4, 3], [2, 3, 6]], [2, 4, 6]), 2.0 * 48 * 3)
        # a zero op (x.mul(0.)) reads its input as well as writing its output
        self.assertEqual(labelcost.bytes_moved("elementwise", "zero", [[4, 16]], [4, 16]), 512.0)
        u, b = labelcost.utilization(2e9, 1e6, 0.02, 100.0, 20.0)     # intensity 2000 > ridge 5
        self.assertEqual(b, "compute")
        self.assertAlmostEqual(u, 1.0)
        u, b = labelcost.utilization(1e6, 2e8, 0.02, 100.0, 20.0)     # intensity 0.005 < ridge 5
        self.assertEqual(b, "memory")
        self.assertAlmostEqual(u, 0.5)
        self.assertEqual(labelcost.utilization(0, 0, 1.0, 100.0, 20.0), (None, None))

    def test_specs(self):
        s = specs.build_specs(["zoo", "nb201", "rcnn"], 2, [1, 4], rcnn_nodes=30, rcnn_max_gflops=0)
        names = [x["name"] for x in s]
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(names[:3], ["resnet18_b1", "nb201_0_b1" if gpgraph.default_data_file(
            "help_nb201", "nb201_archs.csv") else "nb201_s1_0_b1", "rcnn_1_0_b1"])
        self.assertIn("resnet34_b4", names)
        self.assertEqual(len([n for n in names if n.startswith("rcnn")]), 4)
        # deterministic: same list again
        self.assertEqual(names, [x["name"] for x in specs.build_specs(["zoo", "nb201", "rcnn"], 2, [1, 4],
                                                                      rcnn_nodes=30, rcnn_max_gflops=0)])
        # the FLOP cap skips big random CNNs (deterministically)
        capped = specs.rcnn_specs(3, [1], nodes=30, max_gflops=0.05)
        self.assertTrue(all(labelcost.graph_flops(families.rcnn_doc(x)) <= 0.05e9 for x in capped))

    def test_rcnn_inplace(self):
        """rcnnip: the rcnn networks with in-place activations and adds where the input has no
        other reader; the same output, the converter flags them; "all" leaves the family out."""
        plain = specs.build_specs(["rcnn"], 4, [1], rcnn_nodes=40, rcnn_max_gflops=0)
        ip = specs.build_specs(["rcnnip"], 4, [1], rcnn_nodes=40, rcnn_max_gflops=0)
        self.assertEqual([x["name"].replace("rcnnip_", "rcnn_") for x in ip], [x["name"] for x in plain])
        self.assertTrue(all(x["inplace"] for x in ip))
        self.assertEqual({specs.family_name(x) for x in ip}, {"rcnnip"})
        self.assertEqual({specs.family_name(x) for x in plain}, {"rcnn"})
        self.assertNotIn("rcnnip", specs.ALL)
        flagged = 0
        for a, b in zip(plain, ip):
            ma, x = families.build(a)
            mb, _ = families.build(b)
            with torch.no_grad():
                self.assertTrue(torch.allclose(ma(x.clone()), mb(x.clone()), atol=1e-5), b["name"])
            gm, tracer, _ = tograph.trace(mb, x)
            doc = tograph.convert(gm, b["name"], tracer=tracer).doc
            gm0, tracer0, _ = tograph.trace(ma, x)
            doc0 = tograph.convert(gm0, a["name"], tracer=tracer0).doc
            self.assertEqual([(n["op"], n["out_shape"]) for n in doc["nodes"]],
                             [(n["op"], n["out_shape"]) for n in doc0["nodes"]])
            self.assertFalse(any(n.get("attrs", {}).get("inplace") for n in doc0["nodes"]))
            readers = collections.Counter(i for n in doc["nodes"] for i in n.get("inputs", []))
            for n in doc["nodes"]:
                if n.get("attrs", {}).get("inplace"):
                    flagged += 1
                    self.assertIn(n["op"], ("activation", "add"))
                    self.assertEqual(readers[n["inputs"][0]], 1, n["name"])
        self.assertGreater(flagged, 0)


@unittest.skipUnless(HAVE_TORCH, "python3-torch not installed")
class CliTest(unittest.TestCase):
    def run_cli(self, out, *extra):
        cmd = [sys.executable, os.path.join(HERE, "profile_torch.py"), "--models", "nb201,zoo", "--count", "1",
               "--threads", "1", "--repeats", "2", "--min-seconds", "0", "--warmup", "1", "--quick-device",
               "--ref-every", "1", "--ref-repeats", "2", "--res", "64", "--no-eager", "--out-dir", out] + list(extra)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return p.stderr

    def test_profile_my_machine(self):
        """The README's profile-your-machine command on a family without the
        demo's held-out torchvision models: it profiles, packs (no held-out
        file) and trains a model."""
        if not find_gnndata():
            self.skipTest("no built gnndata")
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "heldout.h5"), "w") as f:
                f.write("an earlier run's held-out file")     # stale: must not survive
            cmd = ["bash", os.path.join(HERE, "profile_my_machine.sh"), out, "--models", "nb201", "--count", "4",
                   "--threads", "1", "--repeats", "2", "--min-seconds", "0", "--warmup", "1", "--quick-device",
                   "--ref-every", "1", "--ref-repeats", "2", "--no-eager"]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, (p.stdout + p.stderr)[-3000:])
            self.assertIn("held-out models not profiled, so not held out", p.stderr)
            self.assertTrue(os.path.exists(os.path.join(out, "cpu.h5")))
            self.assertFalse(os.path.exists(os.path.join(out, "heldout.h5")))
            self.assertTrue(os.path.exists(os.path.join(out, "model.h5")))

    def test_end_to_end_and_resume(self):
        with tempfile.TemporaryDirectory() as out:
            err = self.run_cli(out)
            self.assertIn("ETA", err)
            graphs = list(gpgraph.read_jsonl(os.path.join(out, "graphs.jsonl")))
            names = [g["name"] for g in graphs]
            self.assertEqual(len(names), 2)
            self.assertIn("resnet18_r64_b1", names)
            for g in graphs:
                gpgraph.validate_graph(g)
                check_shapes(self, g)
            with open(os.path.join(out, "labels.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(list(rows[0].keys()), list(profile_torch.LABEL_COLS))
            dev = "cpu_%s_t1" % profile_torch.machine.cpu_short_name()
            nodes = {g["name"]: {n["name"] for n in g["nodes"]} for g in graphs}
            units = {}
            for r in rows:
                self.assertEqual(r["device"], dev)
                v = float(r["value"])
                self.assertTrue(v >= 0 and v == v and v != float("inf"))
                units.setdefault(r["target"], set()).add(r["unit"])
                if r["node"]:
                    self.assertIn(r["node"], nodes[r["graph"]])
            self.assertEqual(units["latency_ms"], {"ms"})
            self.assertEqual(units["utilization"], {"ratio"})
            for g in names:
                whole = [r for r in rows if r["graph"] == g and r["node"] == "" and r["target"] == "latency_ms"]
                self.assertEqual(len(whole), 1)
                per_node = [r for r in rows if r["graph"] == g and r["node"] and r["target"] == "latency_ms"]
                self.assertEqual(len(per_node), len(nodes[g]) - 2)      # not input / output
            with open(os.path.join(out, "devices.csv"), newline="") as f:
                drows = list(csv.DictReader(f))
            self.assertEqual([d["device"] for d in drows], [dev])
            self.assertGreater(float(drows[0]["peak_gflops"]), 1.0)
            self.assertGreater(float(drows[0]["mem_bw_gbs"]), 0.5)
            with open(os.path.join(out, "summary.json")) as f:
                summ = json.load(f)
            self.assertEqual(summ["profiled"], 2)
            self.assertTrue(any(k.startswith("nb201@") for k in summ["per_family"]))
            self.assertIn(dev, summ["reference"])
            self.assertGreaterEqual(summ["reference"][dev]["measurements"], 2)

            gnndata = find_gnndata()
            if gnndata:
                h5 = os.path.join(out, "x.h5")
                p = subprocess.run([gnndata, "pack", "-o", h5, "--labels", os.path.join(out, "labels.csv"),
                                    "--devices", os.path.join(out, "devices.csv"),
                                    os.path.join(out, "graphs.jsonl")], capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                p = subprocess.run([gnndata, "validate", h5], capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)

            # resume: nothing left to do, files unchanged
            before = read(os.path.join(out, "labels.csv"))
            err = self.run_cli(out)
            self.assertIn("0 to profile", err)
            self.assertEqual(read(os.path.join(out, "labels.csv")), before)

            # a torn last line and a cut-short block are repaired on resume
            with open(os.path.join(out, "labels.csv"), "a") as f:
                f.write("newgraph,n1,%s,latency_ms,1.0,ms\nnewgraph,n2,%s,lat" % (dev, dev))
            graphs_, done, failed, base = profile_torch.load_state(out)
            self.assertEqual(read(os.path.join(out, "labels.csv")), before)
            self.assertEqual(len(done), 2)
            self.assertIn(dev, base)

            # --redo-suspect: a slow reference right after a graph makes it
            # suspect; only that graph is profiled again, and then it is not
            runlog = os.path.join(out, "runlog.jsonl")
            steady_runlog(runlog)
            self.assertEqual(profile_torch.suspect_pairs(runlog, 0.15), set())
            last = [json.loads(line) for line in open(runlog) if '"type":"graph"' in line][-1]
            with open(runlog, "a") as f:
                f.write(json.dumps({"type": "ref", "device": dev, "when": "test", "graph": "resnet18_b1",
                                    "ms": 1e6, "t": 0.0}) + "\n")
            self.assertEqual(profile_torch.suspect_pairs(runlog, 0.15), {(last["graph"], dev)})
            err = self.run_cli(out, "--redo-suspect")
            self.assertIn("--redo-suspect: 1 (graph, device) pairs", err)
            self.assertIn("1 to profile", err)
            steady_runlog(runlog, keep_ms=1e6)
            self.assertEqual(profile_torch.suspect_pairs(runlog, 0.15), set())
            graphs_, done, failed, base = profile_torch.load_state(out)
            self.assertEqual(len(done), 2)

            # --redo-suspect with a suspect pair and a torn last line: the line is
            # repaired before the suspect rows are dropped (a short torn line
            # crashed it; a longer one, its "ms" unit cut to "m", was kept whole)
            with open(runlog, "a") as f:
                f.write(json.dumps({"type": "ref", "device": dev, "when": "test", "graph": "resnet18_b1",
                                    "ms": 1e9, "t": 0.0}) + "\n")
            for torn in ("resnet18_r64_b1,fe", "resnet18_r64_b1,,%s,latency_ms,7.5,m" % dev):
                self.assertTrue(profile_torch.suspect_pairs(runlog, 0.15))
                with open(os.path.join(out, "labels.csv"), "a") as f:
                    f.write(torn)
                self.run_cli(out, "--redo-suspect")
                with open(os.path.join(out, "labels.csv"), newline="") as f:
                    rows = list(csv.reader(f))
                self.assertTrue(all(len(r) == 6 for r in rows), [r for r in rows if len(r) != 6])
                self.assertFalse([r for r in rows if r[5] == "m"])
                with open(runlog, "a") as f:   # suspect again for the next case
                    f.write(json.dumps({"type": "ref", "device": dev, "when": "test", "graph": "resnet18_b1",
                                        "ms": 1e9, "t": 0.0}) + "\n")

    def test_resume_edge_cases(self):
        rcnn = ["--models", "rcnn", "--count", "1", "--rcnn-spread", "0"]
        with tempfile.TemporaryDirectory() as out:
            # a labels.csv left empty by a run killed before its header: a fresh table
            open(os.path.join(out, "labels.csv"), "w").close()
            self.run_cli(out, *rcnn, "--rcnn-nodes", "20")
            with open(os.path.join(out, "labels.csv"), newline="") as f:
                rows = list(csv.reader(f))
            self.assertEqual(tuple(rows[0]), profile_torch.LABEL_COLS)
            self.assertTrue(any(r[1] == "" and r[3] == "latency_ms" for r in rows[1:]))
            # the same graph name made with other options is refused, its labels not written
            before = read(os.path.join(out, "labels.csv"))
            cmd = [sys.executable, os.path.join(HERE, "profile_torch.py"), *rcnn, "--rcnn-nodes", "40",
                   "--threads", "2", "--repeats", "2", "--min-seconds", "0", "--warmup", "1", "--quick-device",
                   "--no-ref", "--no-eager", "--out-dir", out]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
            self.assertEqual(p.returncode, 3, p.stderr[-3000:])
            self.assertIn("already holds another graph named", p.stderr)
            self.assertEqual(read(os.path.join(out, "labels.csv")), before)


@unittest.skipUnless(HAVE_TORCH, "python3-torch not installed")
class CudaPipelineTest(unittest.TestCase):
    """profile_cuda.py and ncu_occupancy.py without a GPU: the latency pass
    with host timestamps (--cpu-test), the marker pass, and the occupancy
    labels from a synthetic ncu CSV laid out as ncu --csv --page raw writes it."""

    def test_latency_markers_occupancy(self):
        import ncu_occupancy
        with tempfile.TemporaryDirectory() as out:
            common = ["--cpu-test", "--models", "nb201,rcnn", "--count", "1", "--batch", "1,2"]
            p = subprocess.run([sys.executable, os.path.join(HERE, "profile_cuda.py"), "latency"] + common +
                               ["--repeats", "2", "--node-repeats", "2", "--min-seconds", "0", "--out-dir", out,
                                "--ref-every", "2", "--ref-repeats", "2"],
                               capture_output=True, text=True, timeout=240)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            # the reference: before the first graph, after every second, after the last; each
            # result names the reference measured last before it
            log = [json.loads(line) for line in read(os.path.join(out, "runlog.jsonl")).splitlines()]
            refs = [r for r in log if r["type"] == "reference"]
            self.assertEqual([r["after"] for r in refs], [0, 2, 4])
            self.assertTrue(all(r["graph"] == "resnet18_b1" and r["ms"] > 0 and r["drift"] >= 0 for r in refs))
            last = None
            for r in log:
                if r["type"] == "reference":
                    last = r["ms"]
                elif r["type"] == "result":
                    self.assertEqual(r["ref_ms"], last)
            self.assertIn("reference resnet18_b1: 3 measurements", p.stderr)
            p2 = subprocess.run([sys.executable, os.path.join(HERE, "profile_cuda.py"), "latency"] + common +
                                ["--ref-every", "-1", "--out-dir", out], capture_output=True, text=True)
            self.assertEqual(p2.returncode, 2)
            self.assertIn("--ref-every", p2.stderr)
            p3 = subprocess.run([sys.executable, os.path.join(HERE, "profile_cuda.py"), "latency"] + common +
                                ["--ref-warmup-seconds", "-1", "--out-dir", out], capture_output=True, text=True)
            self.assertEqual(p3.returncode, 2)
            self.assertIn("--ref-warmup-seconds", p3.stderr)
            # a reference that fails is logged and the graphs are profiled all the same
            import profile_cuda

            def boom(session):
                raise RuntimeError("no reference today")
            saved = profile_cuda.Session.measure_ref
            profile_cuda.Session.measure_ref = boom
            out2 = os.path.join(out, "noref")
            try:
                rc = profile_cuda.main(["latency"] + common + ["--repeats", "2", "--node-repeats", "2", "--min-seconds",
                                                               "0", "--ref-every", "2", "--out-dir", out2])
            finally:
                profile_cuda.Session.measure_ref = saved
            self.assertEqual(rc, 0)
            log2 = [json.loads(line) for line in read(os.path.join(out2, "runlog.jsonl")).splitlines()]
            self.assertEqual([r["after"] for r in log2 if r["type"] == "error"], [0, 2, 4])
            self.assertTrue(all(r.get("reference") for r in log2 if r["type"] == "error"))
            results = [r for r in log2 if r["type"] == "result"]
            self.assertEqual(len(results), 4)
            self.assertTrue(all("ref_ms" not in r for r in results))
            graphs = list(gpgraph.read_jsonl(os.path.join(out, "graphs.jsonl")))
            self.assertEqual(sorted(g["name"] for g in graphs),
                             ["nb201_0_b1", "nb201_0_b2", "rcnn_1_2_b1", "rcnn_1_2_b2"])
            for g in graphs:
                gpgraph.validate_graph(g)
                self.assertEqual(g["meta"]["source"], "profile_cuda.py")
            with open(os.path.join(out, "labels.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual({r["device"] for r in rows}, {"cpu_test"})
            for g in graphs:
                named = {n["name"] for n in g["nodes"] if n["op"] not in ("input", "output")}
                lat = {r["node"] for r in rows if r["graph"] == g["name"] and r["target"] == "latency_ms"}
                self.assertEqual(lat, named | {""})

            markers = os.path.join(out, "markers.csv")
            p = subprocess.run([sys.executable, os.path.join(HERE, "profile_cuda.py"), "markers"] + common +
                               ["--marker-log", markers], capture_output=True, text=True, timeout=240)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            mk = ncu_occupancy.read_markers(markers)
            self.assertEqual([m for m in mk if m[1] == ""][-1], ("", ""))
            self.assertEqual(sum(1 for m in mk if m[1] == ""), len(graphs) + 1)

            # --skip-graphs 2 (extending an earlier occupancy pass): the same markers for the
            # last two graphs of the list
            markers2 = os.path.join(out, "markers2.csv")
            p = subprocess.run([sys.executable, os.path.join(HERE, "profile_cuda.py"), "markers"] + common +
                               ["--skip-graphs", "2", "--marker-log", markers2],
                               capture_output=True, text=True, timeout=240)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            order = [g for g, n in mk if n == "" and g]
            self.assertEqual([m for m in ncu_occupancy.read_markers(markers2) if m[0] in order[2:] or m[0] == ""],
                             [m for m in mk if m[0] in order[2:] or m[0] == ""])
            self.assertEqual({g for g, n in ncu_occupancy.read_markers(markers2)} - {""}, set(order[2:]))
            p = subprocess.run([sys.executable, os.path.join(HERE, "profile_cuda.py"), "latency"] + common +
                               ["--skip-graphs", "2", "--out-dir", out], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
            self.assertIn("markers pass", p.stderr)

            # ncu's raw CSV: a header, a units row, then one row per kernel in launch order;
            # two kernels per node (durations 1 and 3 us, occupancy 20 % and 60 %), none for
            # '-' markers, one stray kernel at each graph boundary (input copies).  The run is
            # cut off inside the last graph: that graph must get no labels.
            cut_graph = mk[-2][0]
            lines = ['"ID","Process ID","Kernel Name","gpu__time_duration.sum",'
                     '"sm__warps_active.avg.pct_of_peak_sustained_active","sm__maximum_warps_per_active_cycle_pct"',
                     '"","","","usecond","%","%"']
            kid = 0

            def kernel(name, dur, occ):
                nonlocal kid
                lines.append('"%d","7","%s","%s","%s","100"' % (kid, name, dur, occ))
                kid += 1
            seen_cut = 0
            for g, n in mk:
                seen_cut += g == cut_graph
                if seen_cut > 3:
                    break
                kernel("void at::cuda::(anonymous namespace)::spin_kernel(long)", "0.5", "1")
                if n == "":
                    kernel("void at::native::vectorized_elementwise_kernel<4>(int)", "1,000", "90")
                elif n != "-":
                    kernel("sm90_xmma_fprop_implicit_gemm", "1", "20")
                    kernel("void cudnn::bn_fw_inf_1C11_kernel_NCHW(float)", "3", "60")
            ncu_csv = os.path.join(out, "ncu.csv")
            with open(ncu_csv, "w") as f:
                f.write("==PROF== Connected to process 7\n" + "\n".join(lines) + "\n")
            occ = os.path.join(out, "occ.csv")
            rc = ncu_occupancy.main(["--ncu-csv", ncu_csv, "--markers", markers, "--device", "cpu_test",
                                     "-o", occ])
            self.assertEqual(rc, 0)
            with open(occ, newline="") as f:
                orows = list(csv.DictReader(f))
            done_graphs = {r["graph"] for r in orows}
            self.assertEqual(done_graphs, {g["name"] for g in graphs} - {cut_graph})
            for r in orows:
                self.assertAlmostEqual(float(r["value"]), 0.5, places=6)   # (1*0.2 + 3*0.6) / 4
                self.assertEqual(r["target"], "occupancy")
            n_nodes = sum(1 for g, n in mk if g in done_graphs and n not in ("", "-"))
            self.assertEqual(sum(1 for r in orows if r["node"]), n_nodes)

            gnndata = find_gnndata()
            if gnndata:
                both = os.path.join(out, "all.csv")
                with open(both, "w") as f:
                    f.write(read(os.path.join(out, "labels.csv")))
                    f.write("".join(read(occ).splitlines(True)[1:]))
                h5 = os.path.join(out, "gpu.h5")
                p = subprocess.run([gnndata, "pack", "-o", h5, "--labels", both, "--devices",
                                    os.path.join(out, "devices.csv"), os.path.join(out, "graphs.jsonl")],
                                   capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.check_tables_round_trip(gnndata, h5, out)
                # compare_labels on a run against its own packed labels, the run log gzipped
                import contextlib
                import gzip
                import io
                sys.path.insert(0, os.path.join(ROOT, "bench"))
                import compare_labels
                with open(os.path.join(out, "runlog.jsonl"), "rb") as f, \
                        gzip.open(os.path.join(out, "runlog.jsonl.gz"), "wb") as g:
                    g.write(f.read())
                cmp_out = io.StringIO()
                with contextlib.redirect_stdout(cmp_out):
                    self.assertEqual(compare_labels.main([h5, os.path.join(out, "labels.csv"), "--runlog",
                                                          os.path.join(out, "runlog.jsonl.gz")]), 0)
                text = cmp_out.getvalue()
                self.assertRegex(text, r"graph +latency_ms +all +%d +1\.000 .* 100\.0%%" % len(graphs))
                self.assertIn("all graphs (%d)" % len(graphs), text)
                self.assertIn("sd of ln second/dataset 0.000", text)

            # ncu killed while writing: a last line without its newline is dropped wherever it
            # was cut (same labels); a complete last line is kept; a short row elsewhere is an error
            labels_before = read(occ)
            n_kernels = len(lines) - 2
            self.assertEqual(len(ncu_occupancy.read_ncu_csv(ncu_csv)), n_kernels)
            extra = '"%d","7","void at::native::vectorized_elementwise_kernel<4>(int)","2","55.5","100"' % kid
            for cut in (extra[:25], extra[:-6], extra[:-1], extra[:-2]):   # in a name, after a comma, in a number
                with open(ncu_csv, "w") as f:
                    f.write("==PROF== Connected to process 7\n" + "\n".join(lines) + "\n" + cut)
                self.assertEqual(len(ncu_occupancy.read_ncu_csv(ncu_csv)), n_kernels, cut)
                self.assertEqual(ncu_occupancy.main(["--ncu-csv", ncu_csv, "--markers", markers, "--device",
                                                     "cpu_test", "-o", occ]), 0)
                self.assertEqual(read(occ), labels_before)
            with open(ncu_csv, "w") as f:
                f.write("==PROF== Connected to process 7\n" + "\n".join(lines + [extra]) + "\n")
            self.assertEqual(len(ncu_occupancy.read_ncu_csv(ncu_csv)), n_kernels + 1)
            with open(ncu_csv, "w") as f:
                f.write("\n".join(lines[:5] + ['"3","7"'] + lines[6:]) + "\n")
            with self.assertRaisesRegex(ncu_occupancy.NcuError, "a row has 2 cells"):
                ncu_occupancy.read_ncu_csv(ncu_csv)
            with open(ncu_csv, "w") as f:
                f.write("==PROF== Connected to process 7\n" + "\n".join(lines) + "\n")

            # --drop-last-node leaves each graph's last node unlabelled
            rc = ncu_occupancy.main(["--ncu-csv", ncu_csv, "--markers", markers, "--device", "cpu_test",
                                     "-o", occ, "--drop-last-node"])
            self.assertEqual(rc, 0)
            with open(occ, newline="") as f:
                self.assertEqual(sum(1 for r in csv.DictReader(f) if r["node"]), n_nodes - len(done_graphs))

            # kernels before the first marker are start-up work: ignored; more markers than logged: error
            kernels = ncu_occupancy.read_ncu_csv(ncu_csv)
            per, seen, before = ncu_occupancy.assign([{"name": "other", "id": -1}] + kernels, mk)
            self.assertEqual(before, 1)
            with self.assertRaises(ncu_occupancy.NcuError):
                ncu_occupancy.assign(kernels, mk[:3])
            with open(ncu_csv, "w") as f:
                f.write("no header here\n")
            self.assertEqual(ncu_occupancy.main(["--ncu-csv", ncu_csv, "--markers", markers, "--device", "d",
                                                 "-o", occ]), 1)


    def check_tables_round_trip(self, gnndata, h5, work):
        """gnndata export + dataset_tables.py give back a dataset's inputs: packing them
        again stores every array bit for bit (what pack_gpu_dataset.sh's .h5 base relies on)."""
        import dataset_tables
        import h5py
        import numpy as np
        labels, devices = os.path.join(work, "rt_labels.csv"), os.path.join(work, "rt_devices.csv")
        graphs, again = os.path.join(work, "rt.jsonl"), os.path.join(work, "rt.h5")
        self.assertEqual(dataset_tables.main([h5, "--labels", labels, "--devices", devices]), 0)
        for cmd in ([gnndata, "export", h5, "-o", graphs],
                    [gnndata, "pack", "-o", again, "--labels", labels, "--devices", devices, graphs]):
            p = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        with h5py.File(h5, "r") as a, h5py.File(again, "r") as b:
            names = []
            a.visit(names.append)
            arrays = [n for n in names if isinstance(a[n], h5py.Dataset)]
            self.assertIn("labels/node/occupancy", arrays)
            for n in arrays:
                x, y = a[n][()], b[n][()]
                same = (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f"
                        else np.array_equal(x, y))
                self.assertTrue(same, n)
        # not a dataset: a clear error, and no table left behind
        bad = os.path.join(work, "bad.h5")
        with open(bad, "w") as f:
            f.write("not hdf5")
        out = os.path.join(work, "bad_labels.csv")
        self.assertEqual(dataset_tables.main([bad, "--labels", out]), 1)
        self.assertFalse(os.path.exists(out))
        with h5py.File(bad, "w") as f:
            f["graphs/names"] = np.array([b"g"])
        self.assertEqual(dataset_tables.main([bad, "--labels", out]), 1)
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(work) if f.startswith(".tables-")], [])


@unittest.skipUnless(HAVE_TORCH and HAVE_ONNX, "python3-torch or python3-onnx not installed")
class OnnxTest(unittest.TestCase):
    def test_torchvision_export(self):
        import torchvision
        import onnx_to_graph
        m = torchvision.models.resnet18(weights=None).eval()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "resnet18.onnx")
            torch.onnx.export(m, torch.randn(1, 3, 64, 64), path, opset_version=13)
            out = os.path.join(d, "resnet18.json")
            self.assertEqual(onnx_to_graph.main([path, "-o", out]), 0)
            with open(out) as f:
                doc = json.load(f)
        gpgraph.validate_graph(doc)
        check_shapes(self, doc)
        ops = op_counts(doc)
        self.assertEqual(doc["name"], "resnet18")
        self.assertEqual(ops["conv2d"], 20)          # batch norm folded into conv by the exporter
        self.assertEqual(ops["add"], 8)
        self.assertEqual(ops["linear"], 1)
        self.assertEqual(ops["global_avgpool"], 1)
        self.assertEqual(ops["input"], 1)
        self.assertEqual(doc["nodes"][-1]["out_shape"], [1, 1000])
        first = [n for n in doc["nodes"] if n["op"] == "conv2d"][0]
        self.assertEqual(first["attrs"]["kernel"], [7, 7])
        self.assertEqual(first["attrs"]["stride"], [2, 2])
        self.assertEqual(first["attrs"]["padding"], [3, 3])

    def test_constant_left_operand_is_not_linear(self):
        """linear reads its reduction length from the activation's last
        dimension; W @ x and Gemm with transA stay matmuls listing both
        shapes (graph/cost.c reads K from them), x @ W is linear."""
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper
        import onnx_to_graph
        w_left = numpy_helper.from_array(np.ones((5, 8), np.float32), "WL")
        w_right = numpy_helper.from_array(np.ones((2, 3), np.float32), "WR")
        b = numpy_helper.from_array(np.ones((8, 5), np.float32), "B")
        nodes = [helper.make_node("MatMul", ["WL", "x"], ["l"], name="left"),
                 helper.make_node("MatMul", ["x", "WR"], ["r"], name="right"),
                 helper.make_node("Gemm", ["x", "B"], ["t"], name="gemm_ta", transA=1)]
        graph = helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 2])],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("l", "r", "t")],
            initializer=[w_left, w_right, b])
        doc = onnx_to_graph.convert(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), "g")
        gpgraph.validate_graph(doc)
        by = {n["name"]: n for n in doc["nodes"]}
        self.assertEqual((by["left"]["op"], by["left"]["in_shapes"]), ("matmul", [[8, 2], [5, 8]]))
        self.assertEqual((by["gemm_ta"]["op"], by["gemm_ta"]["in_shapes"]), ("matmul", [[8, 2], [8, 5]]))
        self.assertEqual(by["right"]["op"], "linear")

    def test_identity_initializers_constants(self):
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper
        import onnx_to_graph
        w = numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "W")
        bias = numpy_helper.from_array(np.ones((4, 1, 1), np.float32), "B")
        lo = numpy_helper.from_array(np.array(0.0, np.float32), "lo")
        hi = numpy_helper.from_array(np.array(6.0, np.float32), "hi")
        shp = numpy_helper.from_array(np.array([1, -1], np.int64), "shp")
        nodes = [helper.make_node("Identity", ["x"], ["xi"], name="id"),
                 helper.make_node("Conv", ["xi", "W"], ["c"], name="dw", group=4, pads=[1, 1, 1, 1],
                                  kernel_shape=[3, 3]),
                 helper.make_node("Clip", ["c", "lo", "hi"], ["r"], name="clip"),
                 helper.make_node("Add", ["r", "B"], ["a"], name="addb"),
                 helper.make_node("Shape", ["a"], ["s"], name="shape"),
                 helper.make_node("Split", ["a"], ["p", "q"], name="split", axis=1),
                 helper.make_node("Mul", ["p", "q"], ["m"], name="mul"),
                 helper.make_node("Reshape", ["m", "shp"], ["y"], name="flat")]
        graph = helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 5, 5]),
                         helper.make_tensor_value_info("W", TensorProto.FLOAT, [4, 1, 3, 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[w, bias, lo, hi, shp])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        with self.assertRaises(onnx_to_graph.ConvertError):
            onnx_to_graph.convert(model, "g")                 # N is symbolic
        doc = onnx_to_graph.convert(model, "g", {"N": 1})
        gpgraph.validate_graph(doc)
        check_shapes(self, doc)
        by = {n["name"]: n for n in doc["nodes"]}
        self.assertEqual([n["name"] for n in doc["nodes"] if n["op"] == "input"], ["x"])   # W is an initializer
        self.assertNotIn("id", by)
        self.assertNotIn("shape", by)
        self.assertEqual(by["dw"]["op"], "dwconv2d")
        self.assertEqual(by["dw"]["inputs"], ["x"])
        self.assertNotIn("in_shapes", by["dw"])
        self.assertEqual(by["clip"]["op"], "activation")
        self.assertEqual(by["clip"]["attrs"]["fn"], "relu6")
        self.assertEqual(by["addb"]["in_shapes"], [[1, 4, 5, 5], [4, 1, 1]])
        self.assertEqual(by["split"]["meta"]["outputs"], [[1, 2, 5, 5], [1, 2, 5, 5]])
        self.assertEqual(by["mul"]["inputs"], ["split", "split:1"])
        self.assertEqual(by["flat"]["op"], "view")
        self.assertEqual(by["flat"]["out_shape"], [1, 50])
        self.assertEqual(doc["nodes"][-1]["op"], "output")

    def test_clip_bounds_from_constant_nodes(self):
        """Clip's bounds as Constant nodes in any of their attribute forms:
        value_float (what several exporters write) and a value tensor are both
        relu6; other bounds stay a clamp."""
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper
        import onnx_to_graph
        nodes = [helper.make_node("Constant", [], ["lo"], value_float=0.0),
                 helper.make_node("Constant", [], ["hi"], value=numpy_helper.from_array(np.array(6.0, np.float32))),
                 helper.make_node("Constant", [], ["hi4"], value_float=4.0),
                 helper.make_node("Clip", ["x", "lo", "hi"], ["r"], name="six"),
                 helper.make_node("Clip", ["r", "lo", "hi4"], ["y"], name="four")]
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        doc = onnx_to_graph.convert(model, "g")
        gpgraph.validate_graph(doc)
        by = {n["name"]: n for n in doc["nodes"]}
        self.assertEqual((by["six"]["op"], by["six"]["attrs"]["fn"]), ("activation", "relu6"))
        self.assertEqual(by["four"]["op"], "elementwise")

    def test_conv3d_and_cli_paths(self):
        """A 3-D convolution is kind "other" (conv2d's cost would drop a kernel
        dimension) and is listed in meta.other_ops; the CLI refuses -o naming
        the model and reports an output in a missing folder in one line."""
        import contextlib
        import io
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper
        import onnx
        import onnx_to_graph
        w = numpy_helper.from_array(np.ones((2, 1, 3, 3, 3), np.float32), "W")
        nodes = [helper.make_node("Conv", ["x", "W"], ["y"], name="c3", kernel_shape=[3, 3, 3])]
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 5, 5, 5])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[w])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        doc = onnx_to_graph.convert(model, "g")
        gpgraph.validate_graph(doc)
        by = {n["name"]: n for n in doc["nodes"]}
        self.assertEqual(by["c3"]["op"], "other")
        self.assertEqual(doc["meta"]["other_ops"], {"Conv": 1})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.onnx")
            onnx.save(model, path)
            before = open(path, "rb").read()
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as cm:
                onnx_to_graph.main([path, "-o", path])
            self.assertEqual(cm.exception.code, 2)
            self.assertIn("is the input model", err.getvalue())
            self.assertEqual(open(path, "rb").read(), before)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = onnx_to_graph.main([path, "-o", os.path.join(tmp, "nodir", "x.json")])
            self.assertEqual(rc, 1)
            self.assertIn("no such directory", err.getvalue())
            self.assertNotIn("Traceback", err.getvalue())
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                rc = onnx_to_graph.main([path, "-o", os.path.join(tmp, "x.json")])
            self.assertEqual(rc, 0)
            self.assertIn("1 node(s) became kind 'other'", err.getvalue())
            self.assertIn("Conv x1", err.getvalue())


if __name__ == "__main__":
    if not HAVE_TORCH:
        print("test_profiler: python3-torch not installed: skipping", file=sys.stderr)
    unittest.main()
