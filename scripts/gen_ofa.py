#!/usr/bin/python3
"""Expand Once-for-All MobileNetV3 subnets into gnnperf graphs.

The network is OFA's MobileNetV3-Large supernet (mit-han-lab/once-for-all,
ofa/imagenet_classification/elastic_nn/networks/ofa_mbv3.py, OFAMobileNetV3
with width multiplier 1.0, ks_list [3,5,7], expand_ratio_list [3,4,6],
depth_list [2,3,4]), the network behind ../shared/data/help_ofa/:

    first conv   Conv3x3(3->16, stride 2, pad 1) + BN + h_swish
    first block  MBConv k3 e1 16->16, ReLU: dw Conv3x3 + BN + ReLU,
                 Conv1x1 + BN, residual add (identity shortcut)
    5 stages     widths [24, 40, 80, 112, 160], first-block strides
                 [2, 2, 2, 1, 2], activations [relu, relu, h_swish, h_swish,
                 h_swish], squeeze-excite in stages 2, 4, 5 (40, 112, 160);
                 4 blocks each at most, the first d[i] active
    head         Conv1x1(160->960) + BN + h_swish; global avgpool;
                 Conv1x1(960->1280, no BN) + h_swish; flatten; Linear(1280->1000)

An MBConv block (stage i, block j, entry k = 4 i + j of ks and e):

    Conv1x1(Cin -> mid) + BN + act         mid = make_divisible(Cin * e[k], 8)
    dw Conv(ks[k]x ks[k], stride, pad ks//2) + BN + act
    [SE: global avgpool -> Conv1x1(mid -> make_divisible(mid // 4, 8)) -> ReLU
         -> Conv1x1(-> mid) -> hardsigmoid -> mul with the dw output]
    Conv1x1(mid -> Cout) + BN
    + residual "add" when stride 1 and Cin == Cout (every block but the first
      of a stage, since every stage changes the width)

The stride of a stage's first block applies to its depthwise conv; the other
blocks have stride 1.  OFA's make_divisible(v, 8) is
max(8, int(v + 4) // 8 * 8), plus 8 when that falls below 0.9 v.

Reading of ofa_archs.jsonl: "ks" and "e" have 20 entries, 4 per stage in stage
order; entries past a stage's depth are present (random, like the supernet's
sampled configs) but unused.  "d" has 5 entries in {2, 3, 4}; "r" is the input
resolution (128..224 in steps of 4), the input being [batch, 3, r, r].

Every node carries meta {"stage": s, "block": j} (s = 0 for the first conv and
first block, 1..5 for the stages, 6 for the head) so labels can be grouped.
"""

import json

import archgen
import gpgraph

STAGE_WIDTHS = (24, 40, 80, 112, 160)
STAGE_STRIDES = (2, 2, 2, 1, 2)
STAGE_ACTS = ("relu", "relu", "hardswish", "hardswish", "hardswish")
STAGE_SE = (False, True, False, True, True)
MAX_DEPTH = 4
N_STAGES = len(STAGE_WIDTHS)
FIRST_CONV = 16
FINAL_EXPAND = 960
FEATURE_MIX = 1280
KS_CHOICES = (3, 5, 7)
E_CHOICES = (3, 4, 6)
D_CHOICES = (2, 3, 4)
SE_REDUCTION = 4
DIVISOR = 8


def make_divisible(v, divisor=DIVISOR, min_val=None):
    """OFA's make_divisible (from the TensorFlow MobileNet code)."""
    if min_val is None:
        min_val = divisor
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def check_arch(arch, where="OFA arch"):
    """Raises GraphError unless arch has ks/e (20 each), d (5) and r in range."""
    for key in ("ks", "e", "d", "r"):
        if key not in arch:
            raise gpgraph.GraphError("%s: missing key %r" % (where, key))
    ks, e, d, r = arch["ks"], arch["e"], arch["d"], arch["r"]
    n = N_STAGES * MAX_DEPTH
    if not isinstance(ks, list) or len(ks) != n or not all(k in KS_CHOICES for k in ks):
        raise gpgraph.GraphError("%s: ks must be %d values in %s, got %r" % (where, n, KS_CHOICES, ks))
    if not isinstance(e, list) or len(e) != n or not all(x in E_CHOICES for x in e):
        raise gpgraph.GraphError("%s: e must be %d values in %s, got %r" % (where, n, E_CHOICES, e))
    if not isinstance(d, list) or len(d) != N_STAGES or not all(x in D_CHOICES for x in d):
        raise gpgraph.GraphError("%s: d must be %d values in %s, got %r"
                                 % (where, N_STAGES, D_CHOICES, d))
    if not isinstance(r, int) or isinstance(r, bool) or not 32 <= r <= 1024:
        raise gpgraph.GraphError("%s: r must be an integer resolution in 32..1024, got %r" % (where, r))


def _conv_bn_act(b, x, c_out, k, s, act, bn=True, name="conv"):
    h = b.conv(x, c_out, k=k, s=s, p=k // 2, name=name)
    if bn:
        h = b.bn(h, name=name + "_bn")
    if act:
        h = b.act(h, act, name=name + "_" + act)
    return h


def _se(b, x):
    mid = b.channels(x)
    red = make_divisible(mid // SE_REDUCTION)
    with b.scope("se"):
        y = b.gap(x, name="pool")
        y = b.conv(y, red, k=1, s=1, p=0, name="reduce")
        y = b.act(y, "relu")
        y = b.conv(y, mid, k=1, s=1, p=0, name="expand")
        y = b.act(y, "hardsigmoid")
        return b.mul(x, y, name="scale")


def _mbconv(b, x, c_out, k, e, s, act, se):
    c_in = b.channels(x)
    h = x
    if e != 1:
        mid = make_divisible(round(c_in * e))
        h = _conv_bn_act(b, h, mid, 1, 1, act, name="expand")
    else:
        mid = c_in
    h = b.conv(h, mid, k=k, s=s, p=k // 2, groups=mid, name="dw")
    h = b.bn(h, name="dw_bn")
    h = b.act(h, act, name="dw_" + act)
    if se:
        h = _se(b, h)
    h = b.conv(h, c_out, k=1, s=1, p=0, name="project")
    h = b.bn(h, name="project_bn")
    if s == 1 and c_in == c_out:
        h = b.add(h, x, name="residual")
    return h


def build_ofa(arch, batch=1, num_classes=1000, name=None, meta=None):
    """GraphBuilder of the OFA MobileNetV3 subnet arch = {ks, e, d, r} (complete)."""
    check_arch(arch)
    ks, e, d, r = arch["ks"], arch["e"], arch["d"], arch["r"]
    m = {"source": "gen_ofa.py", "ks": ks, "e": e, "d": d, "r": r}
    m.update(meta or {})
    b = gpgraph.GraphBuilder(name or "ofa", meta=m)
    x = b.input([batch, 3, r, r])
    with b.scope("first", meta={"stage": 0, "block": 0}):
        h = _conv_bn_act(b, x, FIRST_CONV, 3, 2, "hardswish", name="conv")
    with b.scope("b0", meta={"stage": 0, "block": 1}):
        h = _mbconv(b, h, FIRST_CONV, 3, 1, 1, "relu", False)
    for si in range(N_STAGES):
        for j in range(d[si]):
            k = si * MAX_DEPTH + j
            s = STAGE_STRIDES[si] if j == 0 else 1
            with b.scope("s%db%d" % (si + 1, j), meta={"stage": si + 1, "block": j}):
                h = _mbconv(b, h, STAGE_WIDTHS[si], ks[k], e[k], s, STAGE_ACTS[si], STAGE_SE[si])
    with b.scope("head", meta={"stage": N_STAGES + 1, "block": 0}):
        h = _conv_bn_act(b, h, FINAL_EXPAND, 1, 1, "hardswish", name="final_expand")
        h = b.gap(h, name="pool")
        h = _conv_bn_act(b, h, FEATURE_MIX, 1, 1, "hardswish", bn=False, name="feature_mix")
        h = b.flatten(h)
        h = b.linear(h, num_classes, name="fc")
    b.output(h)
    return b


def read_archs(path):
    """Yields (arch_id, arch dict) from ofa_archs.jsonl, checking each line."""
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            where = "%s:%d" % (path, lineno)
            try:
                arch = json.loads(line)
            except json.JSONDecodeError as exc:
                raise gpgraph.GraphError("%s: invalid JSON: %s" % (where, exc)) from None
            aid = arch.get("arch_id") if isinstance(arch, dict) else None
            if not isinstance(aid, int) or isinstance(aid, bool) or aid < 0:
                raise gpgraph.GraphError("%s: missing or bad arch_id" % where)
            check_arch(arch, "%s (arch_id %d)" % (where, aid))
            yield aid, arch


def main(argv=None):
    return archgen.main(
        argv, "gen_ofa",
        "Write Once-for-All MobileNetV3 subnets as gnnperf graphs (JSON Lines), one graph named "
        "ofa_<arch_id> per subnet.",
        gpgraph.default_data_file("help_ofa", "ofa_archs.jsonl"), "ofa_archs.jsonl", 1000,
        read_archs, build_ofa, "ofa", "arch_id")


if __name__ == "__main__":
    archgen.run("gen_ofa", main)
