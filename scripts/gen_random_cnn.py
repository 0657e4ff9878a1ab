#!/usr/bin/python3
"""Seeded random CNN graphs with a chosen node count.

These graphs exercise the pipeline (JSON reading, featurizing, packing,
training and inference) at a controlled size: the dataset benchmark packs
1,000 graphs of 200 nodes.  They are plausible CNNs rather than noise, so
featurizer code paths see real shapes: a stem (conv + BN + activation), then
a random sequence of blocks

    conv      conv k x k (k in 1/3/5/7, sometimes grouped or dilated) + BN + act
    basic     ResNet basic block, projection shortcut when the shape changes
    bottle    ResNet bottleneck block
    mbconv    inverted residual: 1x1 expand, depthwise k x k, optional
              squeeze-excitation (gap, 1x1, act, 1x1, sigmoid, mul), 1x1 project
    incept    2-4 parallel branches (convs of different kernels, max pool)
              joined by a channel concat
    dense     conv + BN + act concatenated onto its input (DenseNet growth)
    pool      max or average pooling
    filler    single activation / depthwise conv / BN nodes

with a few stride-2 downsamplings (where the width grows) spread over the
depth, and a head: global average pool, flatten, linear (+ softmax sometimes).
Input sizes are 32..224 (sometimes not square).

Exact node counts: each block is built on trial and rolled back when it would
overshoot the budget left after the head; once the budget is small, 1-node
fillers close the gap, so every graph has exactly the requested count (or a
count drawn from --spread around it).  Graph i of seed s uses its own RNG,
seeded with "s:i", so a graph does not depend on --count.
"""

import argparse
import math
import random
import sys
import time

import gpgraph

KERNELS = (1, 3, 5, 7)
ACTS = ("relu", "relu", "relu", "relu6", "silu", "hardswish", "gelu", "leaky_relu")
SIZES = (32, 48, 56, 64, 96, 112, 128, 160, 192, 224)
MAX_CHANNELS = 1024
MIN_NODES = 8   # input + stem (3) + gap, flatten, linear, output


def _round8(c):
    return max(8, min(MAX_CHANNELS, int(round(c / 8.0)) * 8))


class _Net:
    """State of one random network while it is being built."""

    def __init__(self, rng, b, act):
        self.rng, self.b, self.act = rng, b, act

    def cba(self, x, c, k=3, s=1, groups=1, d=1, act=True, name="conv"):
        """conv + BN (+ activation), "same" padding."""
        b = self.b
        h = b.conv(x, c, k=k, s=s, p=d * (k - 1) // 2, d=d, groups=groups, name=name)
        h = b.bn(h)
        return b.act(h, self.act) if act else h

    def shortcut(self, x, c, s):
        if self.b.channels(x) == c and s == 1:
            return x
        with self.b.scope("short"):
            return self.cba(x, c, k=1, s=s, act=False)

    # ----------------------------------------------------------------- blocks

    def conv(self, x, c, s):
        rng, c_in = self.rng, self.b.channels(x)
        k = rng.choice(KERNELS)
        groups = 1
        if rng.random() < 0.15:
            g = rng.choice((2, 4, 8))
            if c_in % g == 0 and c % g == 0:
                groups = g
        d = 2 if (k == 3 and s == 1 and rng.random() < 0.1) else 1
        return self.cba(x, c, k=k, s=s, groups=groups, d=d)

    def basic(self, x, c, s):
        k = self.rng.choice((3, 3, 5))
        h = self.cba(x, c, k=k, s=s, name="conv1")
        h = self.cba(h, c, k=k, act=False, name="conv2")
        h = self.b.add(h, self.shortcut(x, c, s))
        return self.b.act(h, self.act)

    def bottle(self, x, c, s):
        mid = _round8(c / 4)
        h = self.cba(x, mid, k=1, name="reduce")
        h = self.cba(h, mid, k=self.rng.choice((3, 3, 5)), s=s, name="conv")
        h = self.cba(h, c, k=1, act=False, name="expand")
        h = self.b.add(h, self.shortcut(x, c, s))
        return self.b.act(h, self.act)

    def mbconv(self, x, c, s):
        rng, b = self.rng, self.b
        c_in = b.channels(x)
        mid = _round8(c_in * rng.choice((1, 3, 4, 6)))
        k = rng.choice((3, 5, 7))
        h = x
        if mid != c_in:
            h = self.cba(h, mid, k=1, name="expand")
        h = self.cba(h, mid, k=k, s=s, groups=mid, name="dw")
        if rng.random() < 0.4:
            with b.scope("se"):
                g = b.gap(h)
                g = b.conv(g, max(8, mid // 4), k=1, p=0, name="reduce")
                g = b.act(g, "relu")
                g = b.conv(g, mid, k=1, p=0, name="expand")
                g = b.act(g, rng.choice(("sigmoid", "hardsigmoid")))
                h = b.mul(h, g)
        h = self.cba(h, c, k=1, act=False, name="project")
        if c_in == c and s == 1:
            h = b.add(h, x, name="residual")
        return h

    def incept(self, x, c, s):
        rng, b = self.rng, self.b
        n = rng.randint(2, 4)
        widths = [_round8(c / n) for _ in range(n)]
        outs = []
        for i, w in enumerate(widths):
            with b.scope("br%d" % i):
                kind = rng.random()
                if kind < 0.2:
                    h = b.maxpool(x, 3, s=s, p=1, name="pool")
                    outs.append(self.cba(h, w, k=1))
                elif kind < 0.4:
                    h = self.cba(x, _round8(w / 2), k=1, name="reduce")
                    outs.append(self.cba(h, w, k=rng.choice((3, 5)), s=s))
                else:
                    outs.append(self.cba(x, w, k=rng.choice(KERNELS), s=s))
        return b.concat(outs)

    def dense(self, x, c, s):
        b = self.b
        if s != 1 or b.channels(x) >= MAX_CHANNELS - 64:
            return self.conv(x, c, s)
        growth = self.rng.choice((8, 16, 32))
        h = self.cba(x, growth, k=self.rng.choice((1, 3)))
        return b.concat([x, h])

    def pool(self, x, c, s):
        b = self.b
        if s == 2:
            if self.rng.random() < 0.5:
                return b.maxpool(x, 3, s=2, p=1)
            return b.avgpool(x, 2, s=2, p=0)
        return b.maxpool(x, 3, s=1, p=1)

    def filler(self, x, c, s):
        """A single node that keeps the shape (used to hit the exact count)."""
        b, r = self.b, self.rng.random()
        if r < 0.4:
            return b.act(x, self.rng.choice(ACTS))
        if r < 0.7:
            ch = b.channels(x)
            return b.conv(x, ch, k=self.rng.choice((3, 5)), groups=ch, name="dw")
        if r < 0.85:
            return b.bn(x)
        return b.maxpool(x, 3, s=1, p=1)


BLOCKS = (("conv", 0.25), ("basic", 0.15), ("bottle", 0.10), ("mbconv", 0.20),
          ("incept", 0.10), ("dense", 0.08), ("pool", 0.04), ("filler", 0.08))


def build_random_cnn(rng, nodes, name, batch=1):
    """GraphBuilder of a random CNN with exactly `nodes` nodes."""
    if nodes < MIN_NODES:
        raise gpgraph.GraphError("a random CNN needs at least %d nodes, asked for %d"
                                 % (MIN_NODES, nodes))
    side = rng.choice(SIZES) if rng.random() < 0.6 else rng.randint(32, 224)
    hw = [side, side]
    if rng.random() < 0.2:
        hw[1] = rng.randint(32, 224)
    act = rng.choice(ACTS)
    b = gpgraph.GraphBuilder(name, meta={"source": "gen_random_cnn.py"})
    net = _Net(rng, b, act)
    x = b.input([batch, 3, hw[0], hw[1]])

    softmax = rng.random() < 0.2
    head = 4 + (1 if softmax else 0)     # gap, flatten, linear, [softmax], output
    if nodes - 1 - 3 - head < 0:
        softmax, head = False, 4
    width = rng.choice((8, 16, 24, 32, 48, 64))
    with b.scope("stem"):
        s0 = 2 if min(hw) >= 96 and rng.random() < 0.8 else 1
        h = net.cba(x, width, k=rng.choice((3, 5, 7)), s=s0)

    body = nodes - len(b) - head
    # Downsamplings: as many as keep the smaller side >= 2, at least one when
    # possible, spread evenly (with jitter) over the body's node budget.
    max_down = max(0, int(math.log2(min(b.shape(h)[2:]))) - 1)
    n_down = rng.randint(min(1, max_down), max_down) if max_down else 0
    n_down = min(n_down, body // 6)
    marks = sorted(body * (j + 1) / (n_down + 1) * rng.uniform(0.85, 1.15) for j in range(n_down))
    grow = rng.choice((1.5, 2.0))

    names = [n for n, _ in BLOCKS]
    weights = [w for _, w in BLOCKS]
    k = fails = 0
    while True:
        left = nodes - head - len(b)
        if left == 0:
            break
        s, w_next = 1, width
        if marks and body - left >= marks[0] and min(b.shape(h)[2:]) >= 2:
            s, w_next = 2, _round8(width * grow)
        if left == 1 or fails >= 3:
            kind = "pool" if s == 2 else "filler"     # one node: always fits
        else:
            kind = rng.choices(names, weights)[0]
        mark = len(b)
        with b.scope("b%d" % k):
            out = getattr(net, kind)(h, w_next, s)
        if len(b) - mark > left:
            b.truncate(mark)        # too big for what is left: draw again
            fails += 1
            continue
        fails = 0
        h, k = out, k + 1
        if s == 2:
            marks.pop(0)
            width = w_next

    with b.scope("head"):
        h = b.gap(h)
        h = b.flatten(h)
        h = b.linear(h, rng.choice((10, 100, 1000)), name="fc")
        if softmax:
            h = b.softmax(h)
    b.output(h)
    if len(b) != nodes:
        raise gpgraph.GraphError("graph %s: built %d nodes, asked for %d" % (name, len(b), nodes))
    return b


def generate(count, nodes, seed, batch=1, spread=0.0, start=0):
    """Yields GraphBuilders rcnn_<seed>_<i>, i = start .. start+count-1."""
    for i in range(start, start + count):
        rng = random.Random("%d:%d" % (seed, i))
        n = nodes
        if spread:
            lo = max(MIN_NODES, int(round(nodes * (1 - spread))))
            n = rng.randint(lo, max(lo, int(round(nodes * (1 + spread)))))
        yield build_random_cnn(rng, n, "rcnn_%d_%d" % (seed, i), batch=batch)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write seeded random CNNs as gnnperf graphs (JSON Lines), named "
                    "rcnn_<seed>_<i>, each with exactly --nodes nodes (or a count drawn "
                    "from --spread around it).")
    ap.add_argument("--count", type=int, default=1000, help="number of graphs (default 1000)")
    ap.add_argument("--nodes", type=int, default=200, help="nodes per graph (default 200)")
    ap.add_argument("--spread", type=float, default=0.0,
                    help="draw each graph's node count uniformly within +-spread*nodes "
                         "(default 0: exactly --nodes)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--start", type=int, default=0, help="index of the first graph (default 0)")
    ap.add_argument("--batch", type=int, default=1, help="batch size of the input (default 1)")
    ap.add_argument("-o", "--output", required=True, help="output .jsonl file ('-' for stdout)")
    args = ap.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.start < 0:
        ap.error("--count and --batch must be >= 1 and --start >= 0")
    if args.nodes < MIN_NODES:
        ap.error("--nodes must be >= %d (input, stem, head and output)" % MIN_NODES)
    if not 0 <= args.spread < 1:
        ap.error("--spread must be in [0, 1)")
    t0 = time.time()
    n = gpgraph.write_jsonl(generate(args.count, args.nodes, args.seed, args.batch, args.spread,
                                     args.start), args.output)
    print("gen_random_cnn: wrote %d graphs to %s in %.1f s" % (n, args.output, time.time() - t0),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (gpgraph.GraphError, OSError) as e:
        print("gen_random_cnn: error: %s" % e, file=sys.stderr)
        sys.exit(1)
