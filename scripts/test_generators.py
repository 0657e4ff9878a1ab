#!/usr/bin/python3
"""Self-test of the graph generators (plain unittest, standard library only).

Run: /usr/bin/python3 scripts/test_generators.py   (a few seconds)

Checks shape inference and its errors in gpgraph, that gpgraph's vocabulary
matches graph/ops.c, node counts and shapes of NAS-Bench-201 and FBNet
networks (zero ops, identity skips, FBNet skip blocks with a stride or
channel change, block tags), exact node counts and determinism of the random
CNNs, topological order and JSON validity of everything written.  Tests that
read the shared third-party data (found at $GNNPERF_SHARED or ../shared
relative to the repository root) are skipped with a message when it is absent.
"""

import collections
import csv
import io
import json
import os
import random
import re
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gpgraph  # noqa: E402
import gen_fbnet  # noqa: E402
import gen_nb201  # noqa: E402
import gen_random_cnn  # noqa: E402

DATA = gpgraph.shared_data_dir()
NO_DATA = "shared data not found (set GNNPERF_SHARED or provide ../shared/data)"

NB201_ARCH0 = ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
               "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
FBNET_ARCH0 = ("k5_e6 skip k3_e1_g2 skip k5_e1 skip skip skip k5_e6 k5_e1 k3_e1_g2 k5_e1 "
               "k5_e6 k3_e6 k3_e3 k5_e6 k3_e6 k3_e3 k5_e1 k3_e3 k5_e1 k5_e1_g2").split()
NB201_EDGE_COST = {"none": 1, "skip_connect": 0, "nor_conv_1x1": 3, "nor_conv_3x3": 3,
                   "avg_pool_3x3": 1}


def nb201_expected_nodes(ops):
    """27 fixed nodes + 15 cells x (3 adds + per-edge nodes)."""
    return 27 + 15 * (3 + sum(NB201_EDGE_COST[o] for o in ops))


def arch_str(ops):
    o = list(ops)
    return "|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|" % tuple(o)


def check_graph(test, doc):
    """Format rules plus the invariants the C reader relies on."""
    test.assertEqual(gpgraph.validate_graph(doc), len(doc["nodes"]))
    pos = {}
    for i, nd in enumerate(doc["nodes"]):
        for inp in nd.get("inputs", []):
            test.assertIn(inp, pos, "%s reads %s before it exists" % (nd["name"], inp))
            test.assertLess(pos[inp], i)
        pos[nd["name"]] = i
    # JSON round trip is lossless and compact output parses
    test.assertEqual(json.loads(json.dumps(doc, separators=(",", ":"))), doc)


def by_name(doc):
    return {nd["name"]: nd for nd in doc["nodes"]}


class TestBuilder(unittest.TestCase):
    def test_conv_shapes(self):
        b = gpgraph.GraphBuilder("t")
        x = b.input([2, 3, 224, 224])
        h = b.conv(x, 64, k=7, s=2, p=3)
        self.assertEqual(b.shape(h), [2, 64, 112, 112])
        h2 = b.conv(h, 64, k=3, s=1, p=2, d=2)
        self.assertEqual(b.shape(h2), [2, 64, 112, 112])
        h3 = b.conv(h, 128, k=(1, 7), s=(1, 2), p=(0, 3), groups=4)
        self.assertEqual(b.shape(h3), [2, 128, 112, 56])
        dw = b.conv(h, 64, k=3, s=2, groups=64)
        self.assertEqual(b.shape(dw), [2, 64, 56, 56])
        nodes = by_name({"nodes": b.nodes})
        self.assertEqual(nodes[h]["op"], "conv2d")
        self.assertEqual(nodes[h3]["attrs"]["groups"], 4)
        self.assertEqual(nodes[dw]["op"], "dwconv2d")
        self.assertEqual(nodes[h]["attrs"], {"kernel": [7, 7], "stride": [2, 2], "padding": [3, 3],
                                             "dilation": [1, 1], "groups": 1})
        # groups == in channels == 1 is a plain conv
        y = gpgraph.GraphBuilder("u")
        z = y.input([1, 1, 8, 8])
        self.assertEqual(y.nodes[-1]["op"], "input")
        y.conv(z, 1, k=3, groups=1)
        self.assertEqual(y.nodes[-1]["op"], "conv2d")

    def test_pool_norm_head_shapes(self):
        b = gpgraph.GraphBuilder("t")
        x = b.input([1, 8, 15, 15])
        self.assertEqual(b.shape(b.maxpool(x, 3, s=2, p=1)), [1, 8, 8, 8])
        self.assertEqual(b.shape(b.avgpool(x, 2)), [1, 8, 7, 7])
        g = b.gap(x)
        self.assertEqual(b.shape(g), [1, 8, 1, 1])
        f = b.flatten(g)
        self.assertEqual(b.shape(f), [1, 8])
        self.assertEqual(b.shape(b.view(x, [1, -1, 15])), [1, 120, 15])
        fc = b.linear(f, 5)
        self.assertEqual(b.shape(b.softmax(fc)), [1, 5])
        self.assertEqual(b.shape(b.ln(fc)), [1, 5])
        self.assertEqual(b.shape(b.bn(x)), [1, 8, 15, 15])
        self.assertEqual(b.shape(b.mul(x, g)), [1, 8, 15, 15])        # SE-style broadcast
        self.assertEqual(b.shape(b.concat([x, x, b.bn(x)])), [1, 24, 15, 15])
        z = b.zero(x)
        self.assertEqual(b.nodes[-1]["attrs"], {"fn": "zero"})
        self.assertEqual(b.shape(b.add(x, z)), [1, 8, 15, 15])
        out = b.output(fc)
        doc = b.to_json()
        check_graph(self, doc)
        self.assertEqual(doc["nodes"][-1]["name"], out)
        self.assertEqual(doc["nodes"][-1]["out_shape"], [1, 5])

    def test_impossible_shapes_raise(self):
        def fresh():
            b = gpgraph.GraphBuilder("bad")
            return b, b.input([1, 6, 4, 4])
        cases = [
            lambda b, x: b.conv(x, 8, k=3, groups=4),                 # 6 % 4
            lambda b, x: b.conv(x, 8, k=7, p=0),                      # no output left
            lambda b, x: b.conv(x, 0, k=1),
            lambda b, x: b.add(x, b.conv(x, 6, k=3, s=2)),            # shapes differ
            lambda b, x: b.mul(x, b.conv(x, 4, k=1)),                 # no broadcast
            lambda b, x: b.concat([x, b.maxpool(x, 2)]),              # spatial mismatch
            lambda b, x: b.concat([x]),
            lambda b, x: b.view(x, [1, 5, -1]),                        # 96 % 5
            lambda b, x: b.view(x, [1, 95]),
            lambda b, x: b.maxpool(x, 3, p=2),                        # pad > kernel / 2
            lambda b, x: b.avgpool(x, 5),
            lambda b, x: b.gap(b.flatten(x)),                         # not NCHW
            lambda b, x: b.act(x, "nonsense"),
            lambda b, x: b.elementwise("nonsense", x),
            lambda b, x: b.bn("missing"),
            lambda b, x: b.input([1, 3, 4, 4]),                       # second input
            lambda b, x: (b.output(x), b.bn(x)),                      # node after output
        ]
        for i, case in enumerate(cases):
            b, x = fresh()
            with self.assertRaises(gpgraph.GraphError, msg="case %d" % i):
                case(b, x)
        b = gpgraph.GraphBuilder("incomplete")
        b.input([1, 3, 4, 4])
        with self.assertRaises(gpgraph.GraphError):
            b.to_json()

    def test_names_scopes_truncate(self):
        b = gpgraph.GraphBuilder("t")
        x = b.input([1, 4, 8, 8])
        with b.scope("blk", meta={"block": 3}):
            a = b.bn(x)
            a2 = b.bn(a)
            with b.scope("inner"):
                c = b.act(a2, "relu")
        self.assertEqual((a, a2, c), ("blk.bn", "blk.bn_1", "blk.inner.relu"))
        self.assertEqual(b.nodes[-1]["meta"], {"block": 3})
        mark = len(b)
        b.bn(c)
        b.bn(c)
        b.truncate(mark)
        self.assertEqual(len(b), mark)
        self.assertEqual(b.bn(c), "bn")              # names freed again
        b.output("bn")
        self.assertNotIn("meta", b.nodes[-1])

    def test_validate_rejects(self):
        b = gpgraph.GraphBuilder("t")
        b.output(b.bn(b.input([1, 2, 3, 3])))
        good = json.loads(b.dumps())
        bad_docs = []
        d = json.loads(b.dumps()); d["nodes"][1]["flops"] = 1; bad_docs.append(d)
        d = json.loads(b.dumps()); d["nodes"][1]["inputs"] = ["out"]; bad_docs.append(d)
        d = json.loads(b.dumps()); d["nodes"][1]["op"] = "bn"; bad_docs.append(d)
        d = json.loads(b.dumps()); d["nodes"].reverse(); bad_docs.append(d)
        d = json.loads(b.dumps()); d["nodes"][1]["name"] = "x"; bad_docs.append(d)
        d = json.loads(b.dumps()); d["format"] = "onnx"; bad_docs.append(d)
        gpgraph.validate_graph(good)
        for d in bad_docs:
            with self.assertRaises(gpgraph.GraphError):
                gpgraph.validate_graph(d)

    def test_vocabulary_matches_ops_c(self):
        path = os.path.join(gpgraph.repo_root(), "graph", "ops.c")
        if not os.path.exists(path):
            self.skipTest("graph/ops.c not found")
        with open(path, encoding="utf-8") as f:
            src = f.read()
        for table, mine in (("KIND_NAMES", gpgraph.OPS), ("FN_NAMES", gpgraph.FNS),
                            ("DTYPE_NAMES", gpgraph.DTYPES)):
            m = re.search(r"%s\[[^\]]*\]\s*=\s*\{(.*?)\};" % table, src, re.S)
            self.assertIsNotNone(m, "%s not found in graph/ops.c" % table)
            self.assertEqual(tuple(re.findall(r'"([^"]*)"', m.group(1))), mine, table)

    def test_indices_and_jsonl(self):
        self.assertEqual(gpgraph.parse_indices("0-3,7, 9-9"), {0, 1, 2, 3, 7, 9})
        self.assertIsNone(gpgraph.parse_indices(None))
        for bad in ("3-1", "a", "1-b"):
            with self.assertRaises(gpgraph.GraphError):
                gpgraph.parse_indices(bad)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "g.jsonl")
            gs = list(gen_random_cnn.generate(3, 30, seed=5))
            self.assertEqual(gpgraph.write_jsonl(gs, p), 3)
            back = list(gpgraph.read_jsonl(p))
            self.assertEqual(back, [g.to_json() for g in gs])
            self.assertEqual(os.listdir(d), ["g.jsonl"])     # no temp file left behind
            with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as cm:
                gen_random_cnn.main(["--count", "0", "-o", os.path.join(d, "none.jsonl")])
            self.assertEqual(cm.exception.code, 2)
            self.assertFalse(os.path.exists(os.path.join(d, "none.jsonl")))


class TestNB201(unittest.TestCase):
    def test_arch0(self):
        doc = gen_nb201.build_nb201(NB201_ARCH0, name="nb201_0").to_json()
        check_graph(self, doc)
        ops = gen_nb201.parse_arch(NB201_ARCH0)
        self.assertEqual(len(doc["nodes"]), nb201_expected_nodes(ops))
        self.assertEqual(len(doc["nodes"]), 177)
        nodes = by_name(doc)
        self.assertEqual(doc["nodes"][0]["out_shape"], [1, 3, 32, 32])
        self.assertEqual(doc["nodes"][-1]["out_shape"], [1, 10])
        # stage outputs: cells 4, 10, 16 end the three stages
        self.assertEqual(nodes["c4.n3.add2"]["out_shape"], [1, 16, 32, 32])
        self.assertEqual(nodes["c10.n3.add2"]["out_shape"], [1, 32, 16, 16])
        self.assertEqual(nodes["c16.n3.add2"]["out_shape"], [1, 64, 8, 8])
        self.assertEqual(nodes["c5.add"]["out_shape"], [1, 32, 16, 16])
        self.assertEqual(nodes["c5.short.pool"]["attrs"]["kernel"], [2, 2])
        # skip_connect 1->2: node 2 adds node 1 (the pool) directly
        self.assertEqual(nodes["c0.n2.add1"]["inputs"], ["c0.e02.bn", "c0.e01.avgpool"])
        # node 3 = conv(0) + node1 + node2, as two binary adds
        self.assertEqual(nodes["c0.n3.add1"]["inputs"], ["c0.e03.bn", "c0.e01.avgpool"])
        self.assertEqual(nodes["c0.n3.add2"]["inputs"], ["c0.n3.add1", "c0.n2.add1"])
        self.assertEqual(sum(1 for n in doc["nodes"] if n["op"] == "add"), 15 * 3 + 2)

    def test_zero_and_skip(self):
        all_none = arch_str(["none"] * 6)
        doc = gen_nb201.build_nb201(all_none).to_json()
        check_graph(self, doc)
        zeros = [n for n in doc["nodes"] if n["op"] == "elementwise"]
        self.assertEqual(len(zeros), 15 * 6)
        self.assertTrue(all(n["attrs"] == {"fn": "zero"} for n in zeros))
        nodes = by_name(doc)
        # the zero ops' outputs are still summed
        self.assertEqual(nodes["c0.n3.add1"]["inputs"], ["c0.e03.zero", "c0.e13.zero"])
        self.assertEqual(len(doc["nodes"]), nb201_expected_nodes(["none"] * 6))

        all_skip = arch_str(["skip_connect"] * 6)
        doc = gen_nb201.build_nb201(all_skip).to_json()
        check_graph(self, doc)
        self.assertEqual(len(doc["nodes"]), 27 + 15 * 3)
        nodes = by_name(doc)
        self.assertEqual(nodes["c0.n2.add1"]["inputs"], ["stem.bn", "stem.bn"])
        self.assertEqual(nodes["c1.n2.add1"]["inputs"], ["c0.n3.add2", "c0.n3.add2"])

    def test_random_archs_batch_classes(self):
        rng = random.Random(7)
        for _ in range(40):
            ops = [rng.choice(gen_nb201.OPS) for _ in range(6)]
            doc = gen_nb201.build_nb201(arch_str(ops), batch=4, num_classes=100).to_json()
            check_graph(self, doc)
            self.assertEqual(len(doc["nodes"]), nb201_expected_nodes(ops))
            self.assertEqual(doc["nodes"][0]["out_shape"], [4, 3, 32, 32])
            self.assertEqual(doc["nodes"][-1]["out_shape"], [4, 100])

    def test_bad_arch(self):
        for bad in ("|nor_conv_3x3~0|+|none~0|", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|"):
            with self.assertRaises(gpgraph.GraphError):
                gen_nb201.parse_arch(bad)

    def test_cli_arch_str(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "o.jsonl")
            with redirect_stderr(io.StringIO()):
                gen_nb201.main(["--arch-str", NB201_ARCH0, "--batch", "2", "-o", p])
            docs = list(gpgraph.read_jsonl(p))
            self.assertEqual(len(docs), 1)
            self.assertEqual(docs[0]["nodes"][-1]["out_shape"], [2, 10])

    @unittest.skipUnless(DATA, NO_DATA)
    def test_archs_csv(self):
        path = os.path.join(DATA, "help_nb201", "nb201_archs.csv")
        cols = ["e1_0to1", "e2_0to2", "e3_1to2", "e4_0to3", "e5_1to3", "e6_2to3"]
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 15625)
        for r in rows:
            self.assertEqual(gen_nb201.parse_arch(r["arch_str"]), [r[c] for c in cols])
        self.assertEqual(rows[0]["arch_str"], NB201_ARCH0)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "o.jsonl")
            with redirect_stderr(io.StringIO()):
                gen_nb201.main(["--archs", path, "--indices", "0-19,15600-15624", "-o", p])
            docs = list(gpgraph.read_jsonl(p))
            # an empty selection is an error that writes nothing
            empty = os.path.join(d, "none.jsonl")
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(gen_nb201.main(["--archs", path, "--indices", "99999", "-o", empty]), 1)
            self.assertIn("no architecture matched --indices 99999", err.getvalue())
            self.assertFalse(os.path.exists(empty))
        self.assertEqual(len(docs), 45)
        self.assertEqual(docs[0]["name"], "nb201_0")
        self.assertEqual(docs[-1]["name"], "nb201_15624")
        for doc in docs:
            check_graph(self, doc)
            idx = int(doc["name"].split("_")[1])
            self.assertEqual(len(doc["nodes"]), nb201_expected_nodes([rows[idx][c] for c in cols]))


class TestFBNet(unittest.TestCase):
    STAGE_OUT = [(16, 32), (24, 32), (32, 16), (64, 8), (112, 8), (184, 4), (352, 4)]

    def test_arch0(self):
        b = gen_fbnet.build_fbnet(FBNET_ARCH0, name="fbnet_0")
        doc = b.to_json()
        check_graph(self, doc)
        self.assertEqual(len(doc["nodes"]), 169)
        self.assertEqual(doc["nodes"][-1]["out_shape"], [1, 100])
        nodes = by_name(doc)
        last = [0, 4, 8, 12, 16, 20, 21]        # last layer index of each stage
        blocks = collections.defaultdict(list)
        for nd in doc["nodes"][1:-1]:
            blocks[nd["meta"]["block"]].append(nd)
        for (c, hw), li in zip(self.STAGE_OUT, last):
            if blocks.get(li + 1):
                self.assertEqual(blocks[li + 1][-1]["out_shape"], [1, c, hw, hw], "layer %d" % li)
        self.assertEqual(nodes["header.conv"]["out_shape"], [1, 1504, 4, 4])
        self.assertEqual(nodes["pool"]["out_shape"], [1, 1504, 1, 1])
        # layer L1 is a skip with 16 -> 24 channels: conv1x1 + BN + ReLU, stride 1
        self.assertEqual([n["op"] for n in blocks[2]], ["conv2d", "batchnorm", "activation"])
        self.assertEqual(nodes["L1.conv"]["attrs"]["kernel"], [1, 1])
        # L5 is a skip with stride 2 and 24 -> 32: conv1x1 stride 2
        self.assertEqual(nodes["L5.conv"]["attrs"]["stride"], [2, 2])
        self.assertEqual(nodes["L5.conv"]["out_shape"], [1, 32, 16, 16])
        # L3, L6, L7 are identity skips: no nodes at all
        for li in (3, 6, 7):
            self.assertNotIn(li + 1, blocks)
        # grouped block: shuffle, residual
        self.assertEqual([n["op"] for n in blocks[3]],
                         ["conv2d", "batchnorm", "activation", "view", "dwconv2d", "batchnorm",
                          "activation", "conv2d", "batchnorm", "add"])
        self.assertEqual(nodes["L2.expand"]["attrs"]["groups"], 2)
        # stride-2 ConvBlock has no residual
        self.assertNotIn("L9.residual", nodes)
        self.assertEqual(nodes["L9.dw"]["attrs"]["stride"], [2, 2])
        self.assertEqual(nodes["L9.dw"]["attrs"]["padding"], [2, 2])
        self.assertEqual(sorted(blocks), [b_ for b_ in range(26) if b_ not in (4, 7, 8)])
        self.assertEqual(len(doc["meta"]["blocks"]), 26)
        self.assertEqual(doc["meta"]["blocks"][6], "Skip_H32_W32_Cin24_Cout32_stride2")
        self.assertEqual(doc["meta"]["blocks"][24], "AvgP_H4_W4_Cin1504_Cout1504_kernel4_stride1")

    def test_all_choices(self):
        for choice in gen_fbnet.PRIMITIVES:
            doc = gen_fbnet.build_fbnet([choice] * 22, batch=2).to_json()
            check_graph(self, doc)
            self.assertEqual(doc["nodes"][-1]["out_shape"], [2, 100])
            blk = [n["meta"]["block"] for n in doc["nodes"][1:-1]]
            self.assertEqual(blk, sorted(blk))       # blocks are contiguous, in order
        # all-skip: 7 shape-changing skips (stem 16 = first stage 16: identity)
        doc = gen_fbnet.build_fbnet(["skip"] * 22).to_json()
        self.assertEqual(len(doc["nodes"]), 1 + 3 + 6 * 3 + 3 + 3 + 1)
        with self.assertRaises(gpgraph.GraphError):
            gen_fbnet.build_fbnet(["k7_e9"] * 22)
        with self.assertRaises(gpgraph.GraphError):
            gen_fbnet.build_fbnet(["skip"] * 21)

    def test_block_alone_matches_network(self):
        """build_block gives the same ops, attributes and shapes as the block inside
        a network, for every block of networks with every choice."""
        for choice in gen_fbnet.PRIMITIVES:
            doc = gen_fbnet.build_fbnet([choice] * 22).to_json()
            per = {}
            for n in doc["nodes"][1:-1]:
                per.setdefault(n["meta"]["block"], []).append(n)
            for blk, key in enumerate(doc["meta"]["blocks"]):
                if blk not in per:
                    self.assertTrue(key.startswith("Skip_"))        # identity skip: no node
                    continue
                f = key.split("_")
                t = f[0]
                num = {m.group(1): int(m.group(2))
                       for m in (re.fullmatch(r"([A-Za-z]+)(\d+)", p) for p in f[1:])}
                first = per[blk][0]
                cin = (first.get("in_shapes") or [doc["nodes"][0]["out_shape"]])[0][1]
                hw = (first.get("in_shapes") or [[0, 0, 0, 0]])[0]
                alone = gen_fbnet.build_block(
                    t, num.get("H", hw[2] if len(hw) > 2 else 0), num.get("W", 0), num.get("Cin", cin),
                    num["Cout"], num.get("exp", 1), num.get("kernel", 1), num.get("stride", 1),
                    num.get("group", 1)).to_json()
                check_graph(self, alone)
                self.assertEqual(alone["meta"]["block_key"], key)
                sig = lambda ns: [(n["op"], n.get("attrs"), n["out_shape"]) for n in ns]   # noqa: E731
                self.assertEqual(sig(alone["nodes"][1:-1]), sig(per[blk]), key)
        with self.assertRaises(gpgraph.GraphError):
            gen_fbnet.build_block("Skip", 8, 8, 64, 64)           # identity: nothing to build
        with self.assertRaises(gpgraph.GraphError):
            gen_fbnet.build_block("Pool", 8, 8, 64, 64)

    @unittest.skipUnless(DATA, NO_DATA)
    def test_block_keys_match_data(self):
        d = os.path.join(DATA, "help_fbnet")
        with open(os.path.join(d, "hwnasbench_fbnet_block_lut.csv"), newline="") as f:
            lut = {r["block_key"] for r in csv.DictReader(f)}
        want = set(range(0, 5000, 25)) | {4999}
        keys = collections.defaultdict(dict)
        with open(os.path.join(d, "fbnet_nodes_cifar100.csv"), newline="") as f:
            for r in csv.DictReader(f):
                a = int(r["arch_id"])
                if a in want:
                    keys[a][int(r["node_idx"])] = r["block_key"]
        with tempfile.TemporaryDirectory() as t:
            p = os.path.join(t, "o.jsonl")
            spec = ",".join(str(a) for a in sorted(want))
            with redirect_stderr(io.StringIO()):
                gen_fbnet.main(["--archs", os.path.join(d, "fbnet_archs.csv"), "--indices", spec,
                                "-o", p])
            docs = list(gpgraph.read_jsonl(p))
        self.assertEqual(len(docs), len(want))
        for doc in docs:
            check_graph(self, doc)
            a = doc["meta"]["arch_id"]
            self.assertEqual(doc["name"], "fbnet_%d" % a)
            ref = [keys[a][i] for i in range(26)]
            self.assertEqual(doc["meta"]["blocks"], ref, doc["name"])
            self.assertTrue(set(ref) <= lut)
            tagged = {n["meta"]["block"] for n in doc["nodes"][1:-1]}
            for i, k in enumerate(ref):
                identity = k.startswith("Skip_") and re.search(r"Cin(\d+)_Cout\1_stride1$", k)
                self.assertEqual(i in tagged, not identity, "%s block %d %s" % (doc["name"], i, k))


class TestRandomCNN(unittest.TestCase):
    def test_exact_counts(self):
        for nodes in (8, 9, 20, 200):
            for g in gen_random_cnn.generate(40 if nodes == 200 else 20, nodes, seed=nodes):
                doc = g.to_json()
                check_graph(self, doc)
                self.assertEqual(len(doc["nodes"]), nodes, doc["name"])
        for g in gen_random_cnn.generate(3, 1500, seed=2):
            self.assertEqual(len(g.to_json()["nodes"]), 1500)

    def test_spread_and_variety(self):
        counts, ops, sizes, kernels = [], collections.Counter(), set(), set()
        for g in gen_random_cnn.generate(60, 150, seed=9, spread=0.2):
            doc = g.to_json()
            check_graph(self, doc)
            counts.append(len(doc["nodes"]))
            sizes.add(doc["nodes"][0]["out_shape"][2])
            for n in doc["nodes"]:
                ops[n["op"]] += 1
                if n["op"] in ("conv2d", "dwconv2d"):
                    kernels.add(n["attrs"]["kernel"][0])
        self.assertTrue(all(120 <= c <= 180 for c in counts))
        self.assertGreater(len(set(counts)), 10)
        self.assertTrue(all(32 <= s <= 224 for s in sizes))
        self.assertGreater(len(sizes), 5)
        self.assertEqual(kernels, {1, 3, 5, 7})
        for op in ("conv2d", "dwconv2d", "add", "concat", "maxpool2d", "mul", "global_avgpool"):
            self.assertGreater(ops[op], 0, op)

    def test_deterministic(self):
        a = [g.dumps() for g in gen_random_cnn.generate(5, 100, seed=3)]
        b = [g.dumps() for g in gen_random_cnn.generate(5, 100, seed=3)]
        c = [g.dumps() for g in gen_random_cnn.generate(2, 100, seed=3, start=3)]
        self.assertEqual(a, b)
        self.assertEqual(a[3:], c)                   # graph i does not depend on --count
        self.assertNotEqual(a, [g.dumps() for g in gen_random_cnn.generate(5, 100, seed=4)])
        self.assertEqual(json.loads(a[0])["name"], "rcnn_3_0")

    def test_cli(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "o.jsonl")
            with redirect_stderr(io.StringIO()):
                gen_random_cnn.main(["--count", "4", "--nodes", "50", "--seed", "1", "-o", p])
            docs = list(gpgraph.read_jsonl(p))
        self.assertEqual([x["name"] for x in docs], ["rcnn_1_%d" % i for i in range(4)])
        self.assertTrue(all(len(x["nodes"]) == 50 for x in docs))


if __name__ == "__main__":
    if not DATA:
        print("test_generators: %s; data tests are skipped" % NO_DATA, file=sys.stderr)
    unittest.main(verbosity=1)
