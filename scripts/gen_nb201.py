#!/usr/bin/python3
"""Expand NAS-Bench-201 architecture strings into gnnperf graphs.

The network is NAS-Bench-201's reference TinyNetwork (xautodl), as described
in ../shared/data/README.md, for CIFAR (3x32x32 input):

    stem      Conv3x3(3->16) + BN
    stage 1   5 cells at 16 channels, 32x32
    reduce    ResNet basic block 16->32: ReLU-Conv3x3/s2-BN, ReLU-Conv3x3-BN,
              shortcut AvgPool2x2/s2 + Conv1x1 (no BN), then add
    stage 2   5 cells at 32 channels, 16x16
    reduce    32->64
    stage 3   5 cells at 64 channels, 8x8
    head      BN + ReLU, global average pool, flatten, Linear(64->classes)

A cell has 4 nodes; node 0 is the cell input and node j (1..3) is the sum
over i < j of op(i->j)(node i), edges listed in the arch string as
|op~0|+|op~0|op~1|+|op~0|op~1|op~2| (0->1, 0->2, 1->2, 0->3, 1->3, 2->3).
Edge ops become nodes as follows, mirroring what the reference code executes:

    none          elementwise fn "zero" (x.mul(0.)); its output is still
                  summed, because the reference network computes it
    skip_connect  identity: no node, the summand is the source node itself
    nor_conv_1x1  ReLU -> Conv1x1 -> BN
    nor_conv_3x3  ReLU -> Conv3x3 (pad 1) -> BN
    avg_pool_3x3  AvgPool3x3, stride 1, pad 1

The sum of k summands is k - 1 binary "add" nodes, in edge order, each
emitted right after the summand it adds (the reference's execution order).  Since
node 3 always has three summands, every cell ends in an add node.

Node count: 27 fixed nodes (input, stem 2, two reductions of 9, head 5,
output) + 15 cells x (3 adds + per-edge cost), with per-edge cost none 1,
skip 0, conv 3, pool 1: 72 (all skip) to 342 (all conv) nodes.
"""

import csv

import archgen
import gpgraph

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (src, dst) of the six cell edges in arch-string order
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def parse_arch(arch_str):
    """'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' -> six edge ops in EDGES order."""
    groups = arch_str.strip().split("+")
    if len(groups) != 3:
        raise gpgraph.GraphError("NAS-Bench-201 arch %r: expected 3 '+'-separated node groups, "
                                 "got %d" % (arch_str, len(groups)))
    ops = []
    for dst, grp in enumerate(groups, 1):
        items = [t for t in grp.split("|") if t]
        if len(items) != dst:
            raise gpgraph.GraphError("NAS-Bench-201 arch %r: node %d needs %d inputs, got %d"
                                     % (arch_str, dst, dst, len(items)))
        for src, item in enumerate(items):
            op, _, idx = item.partition("~")
            if op not in OPS:
                raise gpgraph.GraphError("NAS-Bench-201 arch %r: unknown op %r (expected one of %s)"
                                         % (arch_str, op, ", ".join(OPS)))
            if idx != str(src):
                raise gpgraph.GraphError("NAS-Bench-201 arch %r: edge %r of node %d should read "
                                         "node %d" % (arch_str, item, dst, src))
            ops.append(op)
    return ops


def _relu_conv_bn(b, x, c_out, k, s, p):
    h = b.act(x, "relu")
    h = b.conv(h, c_out, k=k, s=s, p=p)
    return b.bn(h)


def _cell(b, x, ops):
    """One searched cell; returns the name of its output (node 3)."""
    c = b.channels(x)
    nodes = [x]
    for dst in (1, 2, 3):
        acc = None
        for (src, d), op in zip(EDGES, ops):
            if d != dst:
                continue
            with b.scope("e%d%d" % (src, dst)):
                if op == "none":
                    t = b.zero(nodes[src])
                elif op == "skip_connect":
                    t = nodes[src]
                elif op == "nor_conv_1x1":
                    t = _relu_conv_bn(b, nodes[src], c, 1, 1, 0)
                elif op == "nor_conv_3x3":
                    t = _relu_conv_bn(b, nodes[src], c, 3, 1, 1)
                else:  # avg_pool_3x3
                    t = b.avgpool(nodes[src], 3, s=1, p=1)
            # accumulate as soon as a summand exists, like the reference's
            # sum(generator): the execution order is kept, not just the DAG
            acc = t if acc is None else b.add(acc, t, name="n%d.add%d" % (dst, src))
        nodes.append(acc)
    return nodes[3]


def _reduction(b, x, c_out):
    """ResNet basic block with stride 2 (NAS-Bench-201's ResNetBasicblock)."""
    with b.scope("a"):
        h = _relu_conv_bn(b, x, c_out, 3, 2, 1)
    with b.scope("b"):
        h = _relu_conv_bn(b, h, c_out, 3, 1, 1)
    with b.scope("short"):
        r = b.avgpool(x, 2, s=2, p=0, name="pool")
        r = b.conv(r, c_out, k=1, s=1, p=0)
    return b.add(r, h)


def build_nb201(arch_str, batch=1, num_classes=10, name=None, channels=16, cells_per_stage=5,
                resolution=32, meta=None):
    """GraphBuilder of the NAS-Bench-201 network for arch_str (complete)."""
    ops = parse_arch(arch_str)
    m = {"source": "gen_nb201.py", "arch": arch_str}
    m.update(meta or {})
    b = gpgraph.GraphBuilder(name or "nb201", meta=m)
    x = b.input([batch, 3, resolution, resolution])
    with b.scope("stem"):
        h = b.conv(x, channels, k=3, s=1, p=1)
        h = b.bn(h)
    c = channels
    idx = 0
    for stage in range(3):
        if stage:
            c *= 2
            with b.scope("c%d" % idx):
                h = _reduction(b, h, c)
            idx += 1
        for _ in range(cells_per_stage):
            with b.scope("c%d" % idx):
                h = _cell(b, h, ops)
            idx += 1
    with b.scope("head"):
        h = b.bn(h)
        h = b.act(h, "relu")
        h = b.gap(h)
        h = b.flatten(h)
        h = b.linear(h, num_classes, name="fc")
    b.output(h)
    return b


def read_archs(path):
    """Yields (arch_index, arch_str) from nb201_archs.csv."""
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        missing = {"arch_index", "arch_str"} - set(rd.fieldnames or ())
        if missing:
            raise gpgraph.GraphError("%s: missing columns %s" % (path, sorted(missing)))
        for row in rd:
            yield int(row["arch_index"]), row["arch_str"]


def main(argv=None):
    def arch_str_option(ap):
        ap.add_argument("--arch-str", help="expand this one arch string instead of --archs")

    def one_arch(args):
        if not args.arch_str:
            return None
        return iter([build_nb201(args.arch_str, args.batch, args.classes, name="nb201")])

    return archgen.main(
        argv, "gen_nb201",
        "Write NAS-Bench-201 networks as gnnperf graphs (JSON Lines), one graph named "
        "nb201_<arch_index> per architecture.",
        gpgraph.default_data_file("help_nb201", "nb201_archs.csv"), "nb201_archs.csv", 10,
        read_archs, build_nb201, "nb201", "arch_index", extra_args=arch_str_option, single=one_arch)


if __name__ == "__main__":
    archgen.run("gen_nb201", main)
