#!/usr/bin/python3
"""Self-test of the dataset importers and gen_ofa (plain unittest, standard library only).

Run: /usr/bin/python3 scripts/test_importers.py   (about 5 s)

Without the shared data: the OFA generator, the importer helpers (value
parsing, device names, the label writer, the wide-table reader on small
synthetic files), NeuSight's fx conversion on hand-written rows and the
failure paths.  With the shared data (found at $GNNPERF_SHARED or ../shared
relative to the repository root; tests skip with a message when it is
absent): each importer on a few graphs, its files, and, when a gnndata
binary is built, packing them.
"""

import contextlib
import csv
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gpgraph  # noqa: E402
import gen_ofa  # noqa: E402
import import_fbnet  # noqa: E402
import gen_fbnet  # noqa: E402
import import_nb201  # noqa: E402
import import_neusight  # noqa: E402
import import_ofa  # noqa: E402
from import_nb201 import ImportFailure  # noqa: E402

DATA = gpgraph.shared_data_dir()
NO_DATA = "shared data not found (set GNNPERF_SHARED or provide ../shared/data)"


def gnndata():
    try:
        return import_nb201.find_gnndata()
    except ImportFailure:
        return None


def quiet(fn, *a):
    """Runs fn(*a) with stderr captured; returns (result, stderr text)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        r = fn(*a)
    return r, err.getvalue()


def read_labels(d):
    with open(os.path.join(d, "labels.csv"), newline="") as f:
        return list(csv.DictReader(f))


def read_graphs(d):
    return list(gpgraph.read_jsonl(os.path.join(d, "graphs.jsonl")))


def topo_ok(test, doc):
    seen = set()
    for nd in doc["nodes"]:
        for i in nd.get("inputs", []):
            test.assertIn(i, seen, "%s: %s reads %s before it exists" % (doc["name"], nd["name"], i))
        test.assertNotIn(nd["name"], seen)
        seen.add(nd["name"])


ARCH = {"ks": [3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5],
        "e": [3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4, 6, 3, 4],
        "d": [2, 3, 4, 2, 3], "r": 224}


class TestGenOFA(unittest.TestCase):
    def test_make_divisible(self):
        self.assertEqual(gen_ofa.make_divisible(72), 72)
        self.assertEqual(gen_ofa.make_divisible(240 // 4), 64)
        self.assertEqual(gen_ofa.make_divisible(3), 8)
        self.assertEqual(gen_ofa.make_divisible(100), 104)
        self.assertEqual(gen_ofa.make_divisible(36), 40)

    def test_structure(self):
        doc = gen_ofa.build_ofa(ARCH, name="t").to_json()
        gpgraph.validate_graph(doc)
        nodes = {n["name"]: n for n in doc["nodes"]}
        self.assertEqual(nodes["first.conv"]["out_shape"], [1, 16, 112, 112])
        self.assertEqual(nodes["first.conv_hardswish"]["attrs"]["fn"], "hardswish")
        self.assertEqual(nodes["b0.dw"]["op"], "dwconv2d")
        self.assertNotIn("b0.expand", nodes)
        self.assertIn("b0.residual", nodes)
        # active blocks: the first d of each stage only
        for s, d in enumerate(ARCH["d"], 1):
            for j in range(4):
                self.assertEqual("s%db%d.dw" % (s, j) in nodes, j < d)
        # stage outputs
        last = {1: (24, 56), 2: (40, 28), 3: (80, 14), 4: (112, 14), 5: (160, 7)}
        for s, (c, hw) in last.items():
            self.assertEqual(nodes["s%db%d.project_bn" % (s, ARCH["d"][s - 1] - 1)]["out_shape"],
                             [1, c, hw, hw])
        # first block of a stage: no residual, stride on the dw conv
        for s in range(1, 6):
            self.assertNotIn("s%db0.residual" % s, nodes)
            self.assertIn("s%db1.residual" % s, nodes)
        self.assertEqual(nodes["s1b0.dw"]["attrs"]["stride"], [2, 2])
        self.assertEqual(nodes["s4b0.dw"]["attrs"]["stride"], [1, 1])
        # kernel/expand per entry: stage 2 block 1 is entry 5: k 7, e 6, Cin 40 -> mid 240
        self.assertEqual(nodes["s2b1.dw"]["attrs"]["kernel"], [7, 7])
        self.assertEqual(nodes["s2b1.expand"]["out_shape"][1], 240)
        # SE in stages 2, 4, 5 only; reduce = make_divisible(mid // 4)
        for s in range(1, 6):
            self.assertEqual("s%db0.se.scale" % s in nodes, s in (2, 4, 5))
        self.assertEqual(nodes["s2b1.se.reduce"]["out_shape"], [1, 64, 1, 1])
        self.assertEqual(nodes["s2b1.se.hardsigmoid"]["attrs"]["fn"], "hardsigmoid")
        self.assertEqual(nodes["s2b1.se.scale"]["op"], "mul")
        # activations: relu in stages 1-2, hardswish in 3-5
        self.assertEqual(nodes["s2b0.dw_relu"]["attrs"]["fn"], "relu")
        self.assertIn("s3b0.dw_hardswish", nodes)
        # head
        self.assertEqual(nodes["head.final_expand"]["out_shape"], [1, 960, 7, 7])
        self.assertEqual(nodes["head.feature_mix"]["out_shape"], [1, 1280, 1, 1])
        self.assertNotIn("head.feature_mix_bn", nodes)
        self.assertEqual(doc["nodes"][-1]["out_shape"], [1, 1000])
        self.assertEqual(nodes["s3b2.dw"]["meta"], {"stage": 3, "block": 2})

    def test_odd_resolution_and_batch(self):
        a = dict(ARCH, r=204)
        doc = gen_ofa.build_ofa(a, batch=2).to_json()
        self.assertEqual(doc["nodes"][0]["out_shape"], [2, 3, 204, 204])
        self.assertEqual(doc["nodes"][-1]["out_shape"], [2, 1000])

    def test_bad_archs(self):
        for bad in (dict(ARCH, ks=ARCH["ks"][:19]), dict(ARCH, e=[5] * 20), dict(ARCH, d=[1, 2, 3, 4, 4]),
                    dict(ARCH, r=3.5), {k: v for k, v in ARCH.items() if k != "r"}):
            with self.assertRaises(gpgraph.GraphError):
                gen_ofa.build_ofa(bad)

    def test_cli(self):
        with tempfile.TemporaryDirectory() as t:
            src = os.path.join(t, "a.jsonl")
            with open(src, "w") as f:
                for i in range(3):
                    f.write(json.dumps(dict(ARCH, arch_id=i)) + "\n")
            out = os.path.join(t, "o.jsonl")
            rc, _ = quiet(gen_ofa.main, ["--archs", src, "--indices", "1-2", "-o", out])
            self.assertEqual(rc, 0)
            docs = list(gpgraph.read_jsonl(out))
            self.assertEqual([d["name"] for d in docs], ["ofa_1", "ofa_2"])


class TestHelpers(unittest.TestCase):
    def test_parse_value(self):
        self.assertIsNone(import_nb201.parse_value("  ", "w"))
        self.assertEqual(import_nb201.parse_value("1.5", "w"), 1.5)
        for bad in ("nan", "NaN", "inf", "-1", "abc"):
            with self.assertRaises(ImportFailure):
                import_nb201.parse_value(bad, "w")

    def test_batch_of_setting(self):
        b = import_nb201.batch_of_setting
        self.assertEqual(b("titan_rtx_256"), 256)
        self.assertEqual(b("1080ti_1"), 1)
        self.assertEqual(b("v100_64"), 64)
        self.assertIsNone(b("essential_ph_1"))      # a phone, not batch 1
        self.assertIsNone(b("gold_6226"))
        self.assertIsNone(b("fpga"))
        with self.assertRaises(ImportFailure):
            b("mystery_8")

    def test_labels_writer(self):
        with tempfile.TemporaryDirectory() as t:
            p = os.path.join(t, "l.csv")
            lw = import_nb201.Labels(p)
            lw.add("g", "", "d", "latency_ms", 1.0, "ms")
            lw.add("g", "n", "d", "latency_ms", 0.5, "ms")
            with self.assertRaises(ImportFailure):
                lw.add("g", "", "d", "latency_ms", 2.0, "ms")      # duplicate
            with self.assertRaises(ImportFailure):
                lw.add("g", "", "d2", "latency_ms", float("nan"), "ms")
            with self.assertRaises(ImportFailure):
                lw.add("g", "", "d2", "latency_ms", 1.0, "s")      # unit changes
            lw.close()
            with open(p, newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), 2)
            self.assertEqual(rows[0]["node"], "")

    def _wide(self, t, text):
        p = os.path.join(t, "w.csv")
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_read_wide(self):
        with tempfile.TemporaryDirectory() as t:
            p = self._wide(t, "id,a,b\n0,1.0,2\n1,,3\n")
            devs, tab, miss = import_nb201.read_wide(p, "id", 2, 2)
            self.assertEqual(devs, ["a", "b"])
            self.assertEqual(tab[1], {"b": 3.0})
            self.assertEqual(miss, {"a": 1, "b": 0})
            for bad, n in (("id,a,b\n0,1,2\n0,1,2\n", 2),      # duplicate id
                           ("id,a,b\n0,1,nan\n1,1,1\n", 2),    # NaN
                           ("id,a,b\n0,1,2\n", 2),             # row count
                           ("id,a\n0,1\n1,1\n", 2),            # column count
                           ("x,a,b\n0,1,2\n1,1,1\n", 2),       # id column
                           ("id,a,b\n0,1,2\n2,1,1\n", 2)):     # ids not 0..n-1
                with self.assertRaises(ImportFailure, msg=bad):
                    import_nb201.read_wide(self._wide(t, bad), "id", n, 2)

    def test_missing_data_dir_fails(self):
        with tempfile.TemporaryDirectory() as t:
            rc, err = quiet(import_nb201.main, ["--data", t, "--out-dir", os.path.join(t, "o")])
            self.assertEqual(rc, 1)
            self.assertIn("no help_nb201/ folder", err)

    def test_wrong_counts_fail(self):
        with tempfile.TemporaryDirectory() as t:
            d = os.path.join(t, "help_nb201")
            os.makedirs(d)
            with open(os.path.join(d, "nb201_archs.csv"), "w") as f:
                f.write("arch_index,arch_str\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
            rc, err = quiet(import_nb201.main, ["--data", t, "--out-dir", os.path.join(t, "o")])
            self.assertEqual(rc, 1)
            self.assertIn("the README says 15625", err)
            with open(os.path.join(d, "nb201_archs.csv"), "w") as f:
                f.write("arch_index,arch\n0,x\n")
            rc, err = quiet(import_nb201.main, ["--data", t, "--out-dir", os.path.join(t, "o")])
            self.assertEqual(rc, 1)
            self.assertIn("missing columns", err)


def fx_row(node, fx_op, target, ins, users, in_shapes, out_shape, dtype="torch.float32", lat=0.01):
    return {"node": node, "fx_op": fx_op, "target": target,
            "input_nodes": "{" + ", ".join("%s: None" % i for i in ins) + "}",
            "users": "{" + ", ".join("%s: None" % u for u in users) + "}",
            "input_shapes": repr([list(s) for s in in_shapes]), "output_shape": repr(tuple(out_shape)),
            "dtype": dtype, "_lat": lat, "_vals": {"latency_ms": lat}}


class TestNeuSightConvert(unittest.TestCase):
    def rows(self):
        F = "<built-in function %s>"
        M = "<built-in method %s of type object at 0x7f00>"
        return [
            fx_row("x", "placeholder", "x", [], ["size", "lin", "max_1"], [], (2, 8), "torch.int64", 0.0),
            fx_row("size", "call_method", "size", ["x"], ["getitem"], [(2, 8)], (1,), ""),
            fx_row("getitem", "call_function", F % "getitem", ["size"], ["zeros"], [(1,)], (1,), ""),
            fx_row("w", "get_attr", "emb.weight", [], ["emb"], [], (10, 4), lat=0.0),
            fx_row("lin", "call_module", "model.wte", ["x"], ["split", "setitem"], [(2, 8)], (2, 8, 4)),
            fx_row("zeros", "call_function", M % "zeros", ["getitem"], ["setitem", "out_proj"], [(1,)],
                   (2, 8, 4)),
            fx_row("setitem", "call_function", F % "setitem", ["zeros", "lin"], [],
                   [(2, 8, 4), (2, 8, 4)], (1,), ""),
            fx_row("out_proj", "call_module", "model.out_proj", ["zeros"], ["split"], [(2, 8, 4)],
                   (2, 8, 6)),
            fx_row("split", "call_method", "split", ["out_proj"], ["getitem_1", "getitem_2"],
                   [(2, 8, 6)], (1,), ""),
            fx_row("getitem_1", "call_function", F % "getitem", ["split"], ["matmul"], [(1,)], (2, 8, 3)),
            fx_row("getitem_2", "call_function", F % "getitem", ["split"], ["matmul"], [(1,)], (2, 8, 3)),
            fx_row("matmul", "call_function", M % "matmul", ["getitem_1", "getitem_2"], ["max_1"],
                   [(2, 8, 3), (2, 8, 3)], (2, 8, 8)),
            fx_row("max_1", "call_function", M % "max", ["matmul"], ["getattr_1"], [(2, 8, 8)], (1,), ""),
            fx_row("getattr_1", "call_function", F % "getattr", ["max_1"], ["output"], [(1,)], (2, 8)),
            fx_row("output", "output", "output", ["getattr_1"], [], [(2, 8)], (2, 8), lat=0.0),
        ]

    def test_convert(self):
        stats = import_neusight.collections.Counter()
        name, nodes, labels, hidden, hidden_ms = import_neusight.convert_run("GPU", "m-inf-8-2",
                                                                             self.rows(), None, stats)
        self.assertEqual(name, "ns_GPU_m-inf-8-2")
        by = {n["name"]: n for n in nodes}
        # non-tensor, get_attr, constant (zeros from shape arithmetic) and the folded getattr are gone
        for gone in ("size", "getitem", "w", "zeros", "getattr_1"):
            self.assertNotIn(gone, by)
        self.assertEqual(dict(hidden), {"non_tensor": 2, "get_attr": 1, "constant": 1, "folded": 1})
        self.assertAlmostEqual(hidden_ms, 0.04)
        self.assertEqual(by["lin"]["op"], "embedding")
        # setitem writes lin into the constant zeros: a node; out_proj then reads it
        self.assertEqual(by["setitem"]["op"], "other")
        self.assertEqual(by["setitem"]["inputs"], ["lin"])
        self.assertEqual(by["setitem"]["in_shapes"], [[2, 8, 4], [2, 8, 4]])
        self.assertEqual(by["setitem"]["out_shape"], [2, 8, 4])
        self.assertEqual(by["out_proj"]["inputs"], ["setitem"])
        self.assertEqual(by["out_proj"]["op"], "linear")
        # split: a view with its first element's shape; each getitem a view
        self.assertEqual(by["split"]["op"], "view")
        self.assertEqual(by["split"]["out_shape"], [2, 8, 3])
        self.assertEqual(by["split"]["meta"]["outputs"], [[2, 8, 3], [2, 8, 3]])
        self.assertEqual(by["getitem_1"]["inputs"], ["split"])
        self.assertEqual(by["matmul"]["op"], "bmm")
        # torch.max(dim) read once through .values: folded, output reads max_1
        self.assertEqual(by["max_1"]["op"], "other")
        self.assertEqual(by["max_1"]["out_shape"], [2, 8])
        self.assertEqual(by["output"]["inputs"], ["max_1"])
        self.assertNotIn("getattr_1", labels)
        self.assertIn("max_1", labels)
        doc = {"format": "gnnperf-graph", "version": 1, "name": name, "nodes": nodes}
        topo_ok(self, doc)

    def test_unknown_op_fails(self):
        rows = self.rows()
        rows[11] = dict(rows[11], target="<built-in method frobnicate of type object at 0x1>")
        with self.assertRaises(ImportFailure) as cm:
            import_neusight.convert_run("GPU", "r", rows, None, import_neusight.collections.Counter())
        self.assertIn("frobnicate", str(cm.exception))
        rows = self.rows()
        rows[7] = dict(rows[7], target="model.mystery")
        with self.assertRaises(ImportFailure):
            import_neusight.convert_run("GPU", "r", rows, None, import_neusight.collections.Counter())

    def test_shape_mismatch_fails(self):
        rows = self.rows()
        rows[7] = dict(rows[7], input_shapes="[[2, 8, 5]]")
        with self.assertRaises(ImportFailure):
            import_neusight.convert_run("GPU", "r", rows, None, import_neusight.collections.Counter())

    def test_kernel_shapes(self):
        k = import_neusight.kernel_node
        self.assertEqual(k("bmm", {"B": "2", "M": "3", "N": "4", "K": "5"}, "w"),
                         ("bmm", None, [[2, 3, 4], [2, 4, 5]], [2, 3, 5]))
        self.assertEqual(k("linear", {"B": "1", "M": "3", "N": "4", "K": "5"}, "w"),
                         ("linear", None, [[1, 3, 4]], [1, 3, 5]))
        self.assertEqual(k("divu", {"B": "9", "H": "7"}, "w"), ("elementwise", "div", [[9, 7]], [9, 7]))
        self.assertEqual(k("add", {"B": "9", "H": "7"}, "w")[2], [[9, 7], [9, 7]])
        self.assertEqual(k("gelu", {"B": "9", "H": "7"}, "w")[:2], ("activation", "gelu"))
        with self.assertRaises(ImportFailure):
            k("conv", {"B": "1", "H": "1"}, "w")
        with self.assertRaises(ImportFailure):
            k("ln", {"B": "0", "H": "1"}, "w")


@unittest.skipUnless(DATA, NO_DATA)
class TestWithData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="test_importers_")
        cls.gnndata = gnndata()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_importer(self, mod, name, extra):
        out = os.path.join(self.tmp, name)
        args = ["--data", DATA, "--out-dir", out] + extra
        if self.gnndata:
            args += ["--pack", "--gnndata", self.gnndata]
        rc, err = quiet(mod.main, args)
        self.assertEqual(rc, 0, err)
        if self.gnndata:
            self.assertTrue(os.path.getsize(os.path.join(out, name + ".h5")) > 0)
        return out, err

    def test_nb201(self):
        out, _ = self.run_importer(import_nb201, "nb201", ["--indices", "0-2,15624"])
        docs = read_graphs(out)
        self.assertEqual([d["name"] for d in docs], ["nb201_0", "nb201_1", "nb201_2", "nb201_15624"])
        labels = read_labels(out)
        self.assertEqual(len(labels), 4 * 27)
        self.assertTrue(all(r["node"] == "" and r["unit"] == "ms" for r in labels))
        with open(os.path.join(out, "devices.csv"), newline="") as f:
            devs = {r["device"]: r["batch"] for r in csv.DictReader(f)}
        self.assertEqual(len(devs), 27)
        self.assertEqual(devs["titan_rtx_256"], "256")
        self.assertEqual(devs["essential_ph_1"], "")
        self.assertEqual(devs["raspi4"], "")
        # the label is the CSV value
        with open(os.path.join(DATA, "help_nb201", "nb201_latency_wide.csv"), newline="") as f:
            row0 = next(csv.DictReader(f))
        got = {r["device"]: float(r["value"]) for r in labels if r["graph"] == "nb201_0"}
        self.assertEqual(got["fpga"], float(row0["fpga"]))

    def test_fbnet(self):
        out, err = self.run_importer(import_fbnet, "fbnet", ["--indices", "0-3"])
        self.assertIn("block-sum check raspi4", err)
        docs = {d["name"]: d for d in read_graphs(out)}
        self.assertEqual(len(docs), 4)
        labels = read_labels(out)
        graph = [r for r in labels if not r["node"]]
        self.assertEqual(len(graph), 4 * 27)
        node = [r for r in labels if r["node"]]
        self.assertEqual({r["target"] for r in node}, {"latency_ms", "energy_mj"})
        self.assertEqual({r["unit"] for r in node if r["target"] == "energy_mj"}, {"mJ"})
        self.assertEqual({r["device"] for r in node},
                         {"edgegpu", "raspi4", "pixel3", "eyeriss", "fpga"})
        # one labelled node per non-identity block, its first non-view node
        d0 = docs["fbnet_0"]
        labelled = {r["node"] for r in node if r["graph"] == "fbnet_0"}
        self.assertIn("stem.conv", labelled)
        self.assertIn("L0.expand", labelled)
        self.assertIn("fc", labelled)
        self.assertNotIn("flatten", labelled)
        self.assertNotIn("L0.dw", labelled)
        blocks = {n["meta"]["block"] for n in d0["nodes"] if "meta" in n}
        self.assertEqual(len(labelled), len(blocks))
        # raspi4: node sum + identity skips = whole-graph label
        lut = {}
        with open(os.path.join(DATA, "help_fbnet", "hwnasbench_fbnet_block_lut.csv"), newline="") as f:
            for r in csv.DictReader(f):
                lut[r["block_key"]] = float(r["raspi4_latency_ms"])
        ident = sum(lut[k] for k in d0["meta"]["blocks"] if import_fbnet.is_identity_skip(k))
        s = sum(float(r["value"]) for r in node if r["graph"] == "fbnet_0" and r["device"] == "raspi4"
                and r["target"] == "latency_ms")
        g = [float(r["value"]) for r in graph if r["graph"] == "fbnet_0" and r["device"] == "raspi4"][0]
        self.assertAlmostEqual(s + ident, g, places=6)
        with open(os.path.join(out, "devices.csv"), newline="") as f:
            devs = {r["device"]: r["batch"] for r in csv.DictReader(f)}
        self.assertEqual(len(devs), 28)
        self.assertEqual(devs["titanxp_64"], "64")
        self.assertEqual(devs["edgegpu"], "")

    def test_fbnet_blocks(self):
        out, err = self.run_importer(import_fbnet, "fbnet", ["--blocks"])
        self.assertIn("12 identity skips left out", err)
        docs = {d["name"]: d for d in read_graphs(out)}
        self.assertEqual(len(docs), 213)
        with open(os.path.join(DATA, "help_fbnet", "hwnasbench_fbnet_block_lut.csv"), newline="") as f:
            lut = {r["block_key"]: r for r in csv.DictReader(f)}
        labels = read_labels(out)
        self.assertTrue(all(r["node"] == "" for r in labels))
        self.assertEqual(len(labels), 213 * 8)
        for r in labels:
            self.assertIn(r["graph"], lut)
            col = "%s_%s" % (r["device"], "latency_ms" if r["target"] == "latency_ms" else "energy_mJ")
            self.assertEqual(float(r["value"]), float(lut[r["graph"]][col]))
        for name, d in docs.items():
            self.assertEqual(d["meta"]["block_key"], name)
        # the block alone is the block inside a network: layer L1 (k3_e1_g2 on H32, 16->24)
        net = gen_fbnet.build_fbnet(["k3_e1"] + ["k3_e1_g2"] * 21).to_json()
        key = net["meta"]["blocks"][2]
        inside = [(n["op"], n["out_shape"]) for n in net["nodes"] if (n.get("meta") or {}).get("block") == 2]
        self.assertEqual([(n["op"], n["out_shape"]) for n in docs[key]["nodes"][1:-1]], inside)
        with self.assertRaises(SystemExit):
            quiet(import_fbnet.main, ["--data", DATA, "--out-dir", os.path.join(self.tmp, "x"), "--blocks",
                                      "--indices", "0-3"])

    def test_failed_import_leaves_nothing(self):
        """A check that fails after every row was read (here: a network uses a
        block the table lacks) leaves no output, devices.csv included, and an
        earlier import's files in that folder as they were."""
        data = os.path.join(self.tmp, "bad_data")
        shutil.copytree(os.path.join(DATA, "help_fbnet"), os.path.join(data, "help_fbnet"))
        nodes = os.path.join(data, "help_fbnet", "fbnet_nodes_cifar100.csv")
        with open(nodes) as f:
            text = f.read()
        with open(nodes, "w") as f:
            f.write(text.replace("kernel5", "kernel9", 1))
        out = os.path.join(self.tmp, "failed")
        os.makedirs(out)
        rc, err = quiet(import_fbnet.main, ["--data", data, "--out-dir", out, "--blocks"])
        self.assertEqual(rc, 1, err)
        self.assertIn("uses 1 blocks with no block graph", err)
        self.assertEqual(os.listdir(out), [])
        with open(os.path.join(out, "devices.csv"), "w") as f:
            f.write("device,batch\nold,1\n")
        rc, err = quiet(import_nb201.main, ["--data", DATA, "--out-dir", out, "--indices", "20000"])
        self.assertEqual(rc, 1, err)
        self.assertEqual(os.listdir(out), ["devices.csv"])
        with open(os.path.join(out, "devices.csv")) as f:
            self.assertEqual(f.read(), "device,batch\nold,1\n")

    def test_ofa(self):
        out, _ = self.run_importer(import_ofa, "ofa", ["--indices", "0-2"])
        docs = read_graphs(out)
        self.assertEqual(len(docs), 3)
        with open(os.path.join(DATA, "help_ofa", "ofa_archs.jsonl")) as f:
            a0 = json.loads(f.readline())
        self.assertEqual(docs[0]["nodes"][0]["out_shape"], [1, 3, a0["r"], a0["r"]])
        self.assertEqual(len(read_labels(out)), 3 * 12)
        with open(os.path.join(out, "devices.csv"), newline="") as f:
            devs = {r["device"]: r["batch"] for r in csv.DictReader(f)}
        self.assertEqual(devs["v100_64"], "64")
        self.assertEqual(len(devs), 12)

    def test_neusight_models(self):
        out, err = self.run_importer(import_neusight, "neusight", ["--part", "models", "--indices", "0-2"])
        self.assertIn("114 runs", err)
        docs = read_graphs(out)
        self.assertEqual(len(docs), 3)
        for d in docs:
            topo_ok(self, d)
            self.assertTrue(d["name"].startswith("ns_"))
        labels = read_labels(out)
        self.assertTrue(any(r["target"] == "full_model_latency_ms" and not r["node"] for r in labels))
        self.assertFalse(any(r["target"] == "latency_ms" and not r["node"] for r in labels))
        with open(os.path.join(out, "devices.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0]), ["device"] + list(import_neusight.DEVICE_COLUMNS))

    def test_neusight_kernels(self):
        out, err = self.run_importer(import_neusight, "neusight_k",
                                     ["--part", "kernels", "--kernel-indices", "0-1", "--name",
                                      "neusight_k"])
        self.assertIn("test_vec.csv", err)
        docs = read_graphs(out)
        self.assertEqual(len(docs), 2 * 8)           # 8 files, test_vec skipped
        for d in docs:
            self.assertEqual(len(d["nodes"]), 1)
            self.assertIn(d["meta"]["split"], ("train", "test"))
        labels = read_labels(out)
        self.assertEqual(len(labels), 2 * len(docs))      # node + graph latency_ms each
        with open(os.path.join(out, "devices.csv"), newline="") as f:
            devs = [r["device"] for r in csv.DictReader(f)]
        self.assertTrue(all(" " not in d for d in devs))


if __name__ == "__main__":
    unittest.main()
