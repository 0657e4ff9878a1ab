#!/usr/bin/python3
"""How far the public labels contradict themselves: pairs of networks or blocks
where one certainly does more work than the other, measured faster anyway.

No model is involved; this reads the shared CSV files only (about 10 s). It
bounds what any predictor that gives more work at least as much time can
reach, which is what issue #5's FBNet-block and NAS-Bench-201 targets need
to be read against.

1. FBNet block table (hwnasbench_fbnet_block_lut.csv). Block A dominates
   block B when both are of the same type with the same expansion, kernel,
   stride, groups and residual (Cin == Cout at stride 1), and A's H, W, Cin
   and Cout are each >= B's (one of them larger): A then runs the same
   kernels on at least as much data in each of them. A pair contradicts the
   target when B's label exceeds (1.1 / 0.9) x A's: no prediction that gives
   A at least B's value is within 10 % of both. Per device and target it
   prints the contradicted pairs, the searchable CIFAR-layout blocks that are
   in one, and a ceiling for eval_fbnet_blocks.py's protocol: over --draws
   random holdouts of 20 % of the configurations it draws from (those with a
   node in its default networks, 0-1999: identity skips have none), 100 % minus the mean share of held-out blocks that have a
   contradicting partner left in training. A model that fits that partner
   within 10 % (the protocol trains on it) and respects dominance misses
   such a block.

2. NAS-Bench-201 (nb201_latency_wide.csv). Pairs of cells that differ on one
   edge only, where one has a heavier op: skip -> 3x3 conv and skip -> 1x1
   conv (an identity replaced by ReLU-Conv-BN: more kernels and more work on
   every device), and 1x1 conv -> 3x3 conv (the same kernels, 9x the
   multiply-adds; on batch-1 GPUs, which are launch-bound, the two take
   nearly the same time and the assumption that the 3x3 is never faster is
   weakest). Only pairs whose two latencies both lie in the range scored
   (the query set's middle 80 % on that device) count: rounding to whole
   milliseconds is a larger error in ln on faster archs, so pairs from the
   whole space would overstate the noise where it is scored. With noise in
   ln latency independent between runs and normal,
   the heavier network's measured ln ratio d = delta + e1 - e2 with delta >=
   0, so P(e1 - e2 < -t) >= P(d < -t) for every t > 0, which bounds the
   noise's standard deviation from below (the largest bound over t with at
   least 1 % of pairs beyond -t). With that noise sd s per run and the sd
   S of ln latency on HELP's query set (archs 900-1899, middle 80 %), no
   predictor's Pearson correlation with the labels on ln scale exceeds
   sqrt(1 - s^2 / S^2); for normal variables Spearman's rho is a little
   lower still, though noise with heavy tails (rare slow runs) spoils
   Pearson's r more than rank statistics. Printed per device and pair kind,
   and the mean over the 27 settings (issue #5's in-device target is a mean
   rho of 0.975).

    bench/label_consistency.py [--draws 2000] [--seed 1]

Needs ../shared/data (or $GNNPERF_SHARED/data).
"""
import argparse
import csv
import itertools
import os
import re
import sys
from statistics import NormalDist

import numpy as np

from evalcommon import data_dir

PROG = "label_consistency"
BLOCK_TARGETS = [("edgegpu", "latency_ms"), ("edgegpu", "energy_mJ"), ("raspi4", "latency_ms"),
                 ("pixel3", "latency_ms"), ("eyeriss", "latency_ms"), ("eyeriss", "energy_mJ"),
                 ("fpga", "latency_ms"), ("fpga", "energy_mJ")]
BOTH_WITHIN_10 = 1.1 / 0.9
SIZE_FIELDS = ("H", "W", "Cin", "Cout")
HOLDOUT_FRAC = 0.2          # eval_fbnet_blocks.py's default --holdout-frac
PROTOCOL_ARCHS = 2000       # and its default --archs 0-1999
NB201_PAIRS = [("skip_connect", "nor_conv_3x3"), ("skip_connect", "nor_conv_1x1"),
               ("nor_conv_1x1", "nor_conv_3x3")]
NB201_EDGES = ["e1_0to1", "e2_0to2", "e3_1to2", "e4_0to3", "e5_1to3", "e6_2to3"]


def parse_key(key):
    """A block key (ConvBlock_H32_W32_Cin16_Cout24_exp1_kernel3_stride1_group1) as (type, {field: int})."""
    typ, _, rest = key.partition("_")
    return typ, {m.group(1): int(m.group(2)) for m in re.finditer(r"([A-Za-z]+?)(\d+)(?:_|$)", rest)}


def dominates(a, b):
    """Block a does at least the work of block b in every kernel, and more in one (see the docstring)."""
    (ta, fa), (tb, fb) = a, b
    if ta != tb or set(fa) != set(fb):
        return False
    same = [k for k in fa if k not in SIZE_FIELDS]
    if any(fa[k] != fb[k] for k in same):
        return False
    residual = lambda f: f.get("Cin") == f.get("Cout") and f.get("stride", 1) == 1   # noqa: E731
    if residual(fa) != residual(fb):
        return False
    sizes = [k for k in SIZE_FIELDS if k in fa]
    return all(fa[k] >= fb[k] for k in sizes) and any(fa[k] > fb[k] for k in sizes)


def block_table(d, draws, seed):
    path = os.path.join(d, "help_fbnet", "hwnasbench_fbnet_block_lut.csv")
    rows = list(csv.DictReader(open(path, newline="")))
    # eval_fbnet_blocks.py's draw: configurations in its imported networks (default archs 0-1999) that
    # have a node, i.e. ConvBlocks and the Skips that change the shape (an identity Skip has none)
    pool_keys = {r["block_key"] for r in csv.DictReader(open(os.path.join(d, "help_fbnet", "fbnet_nodes_cifar100.csv")))
                 if int(r["arch_id"]) < PROTOCOL_ARCHS}
    keys = [r["block_key"] for r in rows]
    parsed = [parse_key(k) for k in keys]
    dom = [(a, b) for a, b in itertools.permutations(range(len(rows)), 2) if dominates(parsed[a], parsed[b])]
    identity = lambda f: f.get("Cin") == f.get("Cout") and f.get("stride", 1) == 1   # noqa: E731
    pool_all = [i for i, k in enumerate(keys) if k in pool_keys and (
        parsed[i][0] == "ConvBlock" or (parsed[i][0] == "Skip" and not identity(parsed[i][1])))]
    n_hold = max(1, int(round(HOLDOUT_FRAC * len(pool_all))))
    print(f"FBNet block table: {len(rows)} rows, {len(dom)} dominance pairs; the protocol draws {n_hold} "
          f"of {len(pool_all)} searchable CIFAR-layout configurations")
    print("| device | target | contradicted pairs | worst ratio | held-out pool in one | ceiling % (mean over draws) |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(seed)
    holds = [rng.choice(len(pool_all), n_hold, replace=False) for _ in range(draws)]
    out = {}
    for dev, tgt in BLOCK_TARGETS:
        col = f"{dev}_{tgt}"
        y = np.array([float(r[col]) for r in rows])
        partners = {}
        worst = 1.0
        n_pairs = 0
        for a, b in dom:
            if y[a] > 0 and y[b] > BOTH_WITHIN_10 * y[a]:
                n_pairs += 1
                worst = max(worst, y[b] / y[a])
                partners.setdefault(a, set()).add(b)
                partners.setdefault(b, set()).add(a)
        pool = [i for i in pool_all if y[i] > 0]      # a 0 label (fpga's Skip rows) is not scored
        in_pair = sum(1 for i in pool if i in partners)
        shares = []
        for h in holds:
            held = {pool_all[j] for j in h}
            scored = [i for i in held if y[i] > 0]
            miss = sum(1 for i in scored if partners.get(i, set()) - held)
            shares.append(100.0 * (1.0 - miss / len(scored)))
        out[(dev, tgt)] = float(np.mean(shares))
        print(f"| {dev} | {tgt} | {n_pairs} | {worst:.2f} | {in_pair} of {len(pool)} | {np.mean(shares):.1f} |")
    return out


def nb201(d):
    archs = list(csv.DictReader(open(os.path.join(d, "help_nb201", "nb201_archs.csv"), newline="")))
    lat_rows = list(csv.DictReader(open(os.path.join(d, "help_nb201", "nb201_latency_wide.csv"), newline="")))
    if [int(r["arch_index"]) for r in archs] != list(range(len(archs))) or \
            [int(r["arch_index"]) for r in lat_rows] != list(range(len(archs))):
        sys.exit(f"{PROG}: nb201_archs.csv and nb201_latency_wide.csv must list arch_index 0.. in order")
    devices = [c for c in lat_rows[0] if c != "arch_index"]
    lat = {dv: np.array([float(r[dv]) for r in lat_rows]) for dv in devices}
    ops = [tuple(r[e] for e in NB201_EDGES) for r in archs]
    index = {o: i for i, o in enumerate(ops)}
    query = np.arange(900, 1900)
    norm = NormalDist()
    print("\nNAS-Bench-201: lower bound on the per-run noise sd of ln latency, and the ceiling it puts on "
          "Pearson's r of ln latency on HELP's query set (middle 80 % of archs 900-1899)")
    head = " | ".join(f"{a.replace('nor_conv_', '').replace('skip_connect', 'skip')} -> "
                      f"{b.replace('nor_conv_', '')}: inverted %, noise sd, ceiling" for a, b in NB201_PAIRS)
    print(f"| device | sd of ln latency | {head} | lowest ceiling |")
    print("|---" * (3 + len(NB201_PAIRS)) + "|")
    ceilings = {}
    for dv in devices:
        y = lat[dv][query]
        keep = query[np.argsort(y, kind="stable")[len(y) // 10: len(y) - len(y) // 10]]
        sd = float(np.std(np.log(lat[dv][keep])))
        cells, low = [], 1.0
        for light, heavy in NB201_PAIRS:
            pairs = np.array([(index[o[:k] + (heavy,) + o[k + 1:]], i)
                              for i, o in enumerate(ops) for k in range(6) if o[k] == light])
            # only pairs inside the scored latency range: whole-millisecond
            # labels have a larger rounding error in ln on faster archs
            lo, hi = lat[dv][keep].min(), lat[dv][keep].max()
            both = np.all((lat[dv][pairs] >= lo) & (lat[dv][pairs] <= hi), axis=1)
            lr = np.log(lat[dv][pairs[both, 0]] / lat[dv][pairs[both, 1]])
            bound = 0.0
            for t in np.linspace(0.005, 0.5, 100):
                p = float(np.mean(lr < -t))
                if p < 0.01:
                    break
                bound = max(bound, t / -norm.inv_cdf(p))
            s = bound / np.sqrt(2.0)                  # the difference of two runs' noise has sd s * sqrt(2)
            ceil = float(np.sqrt(max(0.0, 1.0 - (s / sd) ** 2)))
            low = min(low, ceil)
            ceilings.setdefault((light, heavy), []).append(ceil)
            cells.append(f"{100 * np.mean(lr < 0):.1f}, {s:.3f}, {ceil:.3f}")
        ceilings.setdefault("lowest", []).append(low)
        print(f"| {dv} | {sd:.3f} | {' | '.join(cells)} | {low:.3f} |")
    means = " | ".join(f"{np.mean(ceilings[p]):.3f}" for p in NB201_PAIRS)
    print(f"| mean of the {len(devices)} settings | | {means} | {np.mean(ceilings['lowest']):.3f} |")
    return ceilings


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=2000, help="random holdouts for the block ceiling (default 2000)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.draws < 1:
        ap.error("--draws must be >= 1")
    d = data_dir(PROG, "help_fbnet", ["hwnasbench_fbnet_block_lut.csv", "fbnet_nodes_cifar100.csv"])
    data_dir(PROG, "help_nb201", ["nb201_archs.csv", "nb201_latency_wide.csv"])
    block_table(d, a.draws, a.seed)
    nb201(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
