#!/usr/bin/python3
"""Expand FBNet (CIFAR-100) architectures into gnnperf graphs.

The network is HW-NAS-Bench's FBNet_Infer for CIFAR (hw_nas_bench_api/
fbnet_models/model_infer.py, the model behind the HELP FBNet labels and the
HW-NAS-Bench per-block table in ../shared/data/help_fbnet/):

    stem    ConvNorm: Conv3x3(3->16, stride 1, pad 1) + BN + ReLU
    body    22 searched blocks, stages of [1,4,4,4,4,4,1] layers with output
            channels [16,24,32,64,112,184,352]; the first layer of a stage
            has stride [1,1,2,2,1,2,1] and the stage's channel change
    header  ConvNorm: Conv1x1(352->1504) + BN + ReLU
    pool    global average pool; flatten; Linear(1504->100)

Blocks (choices k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6,
skip; kernel k, expansion e, groups g):

    ConvBlock  Conv1x1(Cin -> Cin*e, groups g) + BN + ReLU
               [channel shuffle when g > 1: one "view" node, the
                view/permute/contiguous/view copy the reference runs]
               depthwise Convkxk(stride, pad k//2) + BN + ReLU
               Conv1x1(Cin*e -> Cout, groups g) + BN
               + residual "add" when Cin == Cout and stride == 1
    skip       identity (no node at all) when Cin == Cout and stride == 1;
               otherwise Conv1x1(Cin -> Cout, stride) + BN + ReLU.

How skip blocks with a stride or channel change were read: the per-block
table hwnasbench_fbnet_block_lut.csv has 24 Skip rows, one per
(H, W, Cin, Cout, stride) that occurs in the CIFAR and ImageNet layouts, e.g.
Skip_H32_W32_Cin16_Cout24_stride1 and Skip_H32_W32_Cin24_Cout32_stride2
besides Skip_H32_W32_Cin24_Cout24_stride1.  The same-shape rows measure 0.0 ms
on edgegpu, eyeriss and fpga (tiny but non-zero on raspi4 and pixel3, which
timed an identity module), while every shape-changing row costs about 0.44 ms
on edgegpu and has non-zero eyeriss energy: a real computation.  That matches
HW-NAS-Bench's Skip module, which builds Conv1x1(stride) + BN + ReLU exactly
when stride == 2 or Cin != Cout, so that is what is emitted here.  (fpga
reports 0.0 for those rows too, so that device's table simply ignores them.)
fbnet_nodes_cifar100.csv names every skip block with such a Skip key, so the
two files agree; the self-test checks our keys against it.

Every node carries meta {"block": i}, i being the node_idx of
fbnet_nodes_cifar100.csv (0 stem, 1..22 the searched layers L0..L21, 23 header,
24 pool, 25 flatten + FC), so per-block labels can be mapped onto nodes.  The
input and output markers belong to no block and carry no meta.  Identity skip
blocks have no nodes, so their (tiny) labels have nowhere to go; the graph
meta lists all 26 block keys ("blocks") so a label mapper can see them.
"""

import csv

import archgen
import gpgraph

# HW-NAS-Bench's PRIMITIVES, in the order op_idx_list indexes them.
PRIMITIVES = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
NUM_LAYERS = (1, 4, 4, 4, 4, 4, 1)
CHANNELS = (16, 24, 32, 64, 112, 184, 352)
STRIDES_CIFAR = (1, 1, 2, 2, 1, 2, 1)
STEM_CHANNELS = 16
HEADER_CHANNELS = 1504
N_BLOCKS = sum(NUM_LAYERS)  # 22


def parse_choice(choice):
    """'k5_e1_g2' -> (kernel 5, expansion 1, groups 2); 'skip' -> None."""
    if choice == "skip":
        return None
    if choice not in PRIMITIVES:
        raise gpgraph.GraphError("FBNet block %r not one of %s" % (choice, ", ".join(PRIMITIVES)))
    parts = choice.split("_")
    k, e = int(parts[0][1:]), int(parts[1][1:])
    g = int(parts[2][1:]) if len(parts) > 2 else 1
    return k, e, g


def layer_plan(strides=STRIDES_CIFAR):
    """(c_in, c_out, stride) of the 22 searched layers."""
    plan = []
    c_prev = STEM_CHANNELS
    for n, c, s in zip(NUM_LAYERS, CHANNELS, strides):
        for i in range(n):
            plan.append((c_prev, c, s if i == 0 else 1))
            c_prev = c
    return plan


def _conv_norm(b, x, c_out, k, s, p):
    """HW-NAS-Bench ConvNorm: conv -> BN -> ReLU."""
    h = b.conv(x, c_out, k=k, s=s, p=p)
    h = b.bn(h)
    return b.act(h, "relu")


def _conv_block(b, x, c_out, k, e, g, s):
    c_in, (h, w) = b.channels(x), b.shape(x)[2:]
    mid = c_in * e
    y = b.conv(x, mid, k=1, s=1, p=0, groups=g, name="expand")
    y = b.bn(y, name="bn1")
    y = b.act(y, "relu", name="relu1")
    if g > 1:
        y = b.view(y, b.shape(y), name="shuffle")
    y = b.conv(y, mid, k=k, s=s, p=k // 2, groups=mid, name="dw")
    y = b.bn(y, name="bn2")
    y = b.act(y, "relu", name="relu2")
    y = b.conv(y, c_out, k=1, s=1, p=0, groups=g, name="project")
    y = b.bn(y, name="bn3")
    if c_in == c_out and s == 1:
        y = b.add(y, x, name="residual")
    key = "ConvBlock_H%d_W%d_Cin%d_Cout%d_exp%d_kernel%d_stride%d_group%d" % (
        h, w, c_in, c_out, e, k, s, g)
    return y, key


def _skip_block(b, x, c_out, s):
    c_in, (h, w) = b.channels(x), b.shape(x)[2:]
    key = "Skip_H%d_W%d_Cin%d_Cout%d_stride%d" % (h, w, c_in, c_out, s)
    if c_in == c_out and s == 1:
        return x, key
    return _conv_norm(b, x, c_out, 1, s, 0), key


def build_fbnet(choices, batch=1, num_classes=100, name=None, resolution=32, meta=None):
    """GraphBuilder of the FBNet network for 22 block choices (complete)."""
    choices = list(choices)
    if len(choices) != N_BLOCKS:
        raise gpgraph.GraphError("FBNet needs %d block choices, got %d" % (N_BLOCKS, len(choices)))
    parsed = [parse_choice(c) for c in choices]
    m = {"source": "gen_fbnet.py", "arch": "-".join(choices)}
    m.update(meta or {})
    b = gpgraph.GraphBuilder(name or "fbnet", meta=m)
    keys = []
    x = b.input([batch, 3, resolution, resolution])

    with b.scope("stem", meta={"block": 0}):
        h = _conv_norm(b, x, STEM_CHANNELS, 3, 1, 1)
    keys.append("ConvNorm_H%d_W%d_Cin3_Cout%d_kernel3_stride1_group1"
                % (resolution, resolution, STEM_CHANNELS))

    for i, ((_, c_out, s), p) in enumerate(zip(layer_plan(), parsed)):
        with b.scope("L%d" % i, meta={"block": i + 1}):
            if p is None:
                h, key = _skip_block(b, h, c_out, s)
            else:
                h, key = _conv_block(b, h, c_out, p[0], p[1], p[2], s)
        keys.append(key)

    hh, ww = b.shape(h)[2:]
    with b.scope("header", meta={"block": N_BLOCKS + 1}):
        h = _conv_norm(b, h, HEADER_CHANNELS, 1, 1, 0)
    keys.append("ConvNorm_H%d_W%d_Cin%d_Cout%d_kernel1_stride1_group1"
                % (hh, ww, CHANNELS[-1], HEADER_CHANNELS))
    with b.scope("", meta={"block": N_BLOCKS + 2}):
        h = b.gap(h, name="pool")
    keys.append("AvgP_H%d_W%d_Cin%d_Cout%d_kernel%d_stride1"
                % (hh, ww, HEADER_CHANNELS, HEADER_CHANNELS, hh))
    with b.scope("", meta={"block": N_BLOCKS + 3}):
        h = b.flatten(h)
        h = b.linear(h, num_classes, name="fc")
    keys.append("FC_Cin%d_Cout%d" % (HEADER_CHANNELS, num_classes))
    b.output(h)
    b.meta["blocks"] = keys
    return b


def block_key(block_type, h, w, c_in, c_out, exp=1, kernel=1, stride=1, group=1):
    """The block table's key of one block (hwnasbench_fbnet_block_lut.csv)."""
    if block_type == "ConvBlock":
        return "ConvBlock_H%d_W%d_Cin%d_Cout%d_exp%d_kernel%d_stride%d_group%d" % (
            h, w, c_in, c_out, exp, kernel, stride, group)
    if block_type == "Skip":
        return "Skip_H%d_W%d_Cin%d_Cout%d_stride%d" % (h, w, c_in, c_out, stride)
    if block_type == "ConvNorm":
        return "ConvNorm_H%d_W%d_Cin%d_Cout%d_kernel%d_stride%d_group%d" % (h, w, c_in, c_out, kernel, stride, group)
    if block_type == "AvgP":
        return "AvgP_H%d_W%d_Cin%d_Cout%d_kernel%d_stride1" % (h, w, c_in, c_out, kernel)
    if block_type == "FC":
        return "FC_Cin%d_Cout%d" % (c_in, c_out)
    raise gpgraph.GraphError("unknown FBNet block type %r" % block_type)


def build_block(block_type, h, w, c_in, c_out, exp=1, kernel=1, stride=1, group=1, batch=1, name=None,
                meta=None):
    """GraphBuilder of ONE block alone (input of shape [batch, Cin, H, W], or
    [batch, Cin, 1, 1] for FC), built by the same code as the block inside a
    network; the graph's meta.block_key is the block table's key.  An
    identity skip (no computation, no node) is an error."""
    key = block_key(block_type, h or 0, w or 0, c_in, c_out, exp, kernel, stride, group)
    m = {"source": "gen_fbnet.py", "block_key": key}
    m.update(meta or {})
    b = gpgraph.GraphBuilder(name or key, meta=m)
    if block_type == "FC":
        x = b.input([batch, c_in, 1, 1])
        y = b.linear(b.flatten(x), c_out, name="fc")
    else:
        x = b.input([batch, c_in, h, w])
        if block_type == "ConvBlock":
            y, k2 = _conv_block(b, x, c_out, kernel, exp, group, stride)
            assert k2 == key, (k2, key)
        elif block_type == "Skip":
            if c_in == c_out and stride == 1:
                raise gpgraph.GraphError("%s is an identity skip: no computation to build" % key)
            y, k2 = _skip_block(b, x, c_out, stride)
            assert k2 == key, (k2, key)
        elif block_type == "ConvNorm":
            if group != 1:
                raise gpgraph.GraphError("%s: grouped ConvNorm is not part of FBNet" % key)
            y = _conv_norm(b, x, c_out, kernel, stride, kernel // 2)
        else:   # AvgP: the network's global pool (kernel = H)
            if kernel != h or c_in != c_out:
                raise gpgraph.GraphError("%s: only the global pool (kernel = H, Cin = Cout) is part of FBNet" % key)
            y = b.gap(x, name="pool")
    b.output(y)
    return b


def read_archs(path):
    """Yields (arch_id, [22 choices]) from fbnet_archs.csv.

    Cross-checks the L0..L21 names against op_idx_list when present, so a
    column shift in the file cannot silently build the wrong network.
    """
    cols = ["L%d" % i for i in range(N_BLOCKS)]
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        missing = set(["arch_id"] + cols) - set(rd.fieldnames or ())
        if missing:
            raise gpgraph.GraphError("%s: missing columns %s" % (path, sorted(missing)))
        for row in rd:
            choices = [row[c] for c in cols]
            idx = row.get("op_idx_list")
            if idx:
                names = [PRIMITIVES[int(v)] for v in idx.split("-")]
                if names != choices:
                    raise gpgraph.GraphError("%s: arch %s: L0..L21 %s disagree with op_idx_list %s"
                                             % (path, row["arch_id"], choices, idx))
            yield int(row["arch_id"]), choices


def main(argv=None):
    return archgen.main(
        argv, "gen_fbnet",
        "Write FBNet CIFAR-100 networks as gnnperf graphs (JSON Lines), one graph named "
        "fbnet_<arch_id> per architecture; nodes carry meta.block = the node_idx of "
        "fbnet_nodes_cifar100.csv.",
        gpgraph.default_data_file("help_fbnet", "fbnet_archs.csv"), "fbnet_archs.csv", 100,
        read_archs, build_fbnet, "fbnet", "arch_id")


if __name__ == "__main__":
    archgen.run("gen_fbnet", main)
