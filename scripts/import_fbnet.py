#!/usr/bin/python3
"""Import HELP's FBNet latency table and HW-NAS-Bench's FBNet block table.

    import_fbnet.py [--data DIR] [--indices 0-999] --out-dir DIR [--pack] [--gnndata PATH]
    import_fbnet.py --blocks [--data DIR] --out-dir DIR [--pack]

Reads ../shared/data/help_fbnet/ (see its README.md) and writes into --out-dir:

    graphs.jsonl   one graph per architecture, fbnet_<arch_id>, built by
                   gen_fbnet.build_fbnet (CIFAR-100, 32x32, batch 1); every
                   node carries meta.block = node_idx of fbnet_nodes_cifar100.csv
    labels.csv     graph level: latency_ms (ms) on the 27 HELP settings of
                   fbnet_latency_wide.csv;
                   node level: latency_ms (ms) on edgegpu, raspi4, pixel3,
                   eyeriss, fpga and energy_mj (mJ) on edgegpu, eyeriss,
                   fpga, from hwnasbench_fbnet_block_lut.csv by block_key
    devices.csv    the 27 settings plus edgegpu (Jetson TX2; block table
                   only); descriptor "batch" for the GPU settings (_1/_32/_64)

and, with --pack, fbnet.h5 through gnndata pack.

With --blocks, the block table alone, one small graph per row: graphs.jsonl
holds each block built on its own by gen_fbnet.build_block (input
[1, Cin, H, W], named by its block_key, both the CIFAR and the ImageNet
layouts' rows), labels.csv the row's values as graph-level labels on the 5
block devices, devices.csv those devices.  Identity skips (no computation)
are left out and counted.  A block's table value depends on the block alone,
not on the network around it; these graphs say so to a model.

How a block's label reaches the graph: a block is several nodes (a ConvBlock
is conv-BN-ReLU-[shuffle]-dwconv-BN-ReLU-conv-BN-[add]), the table has one
value per block.  The value goes to ONE node, the block's first node that is
not a view (the expansion conv of a ConvBlock, the conv of the stem, header
and shape-changing skips, the pool node, the FC's linear; the FC block's
flatten is a view); the block's other nodes carry no label for these
devices.  So the sum of a graph's node labels is the sum of its blocks'
table values, minus identity skip blocks, which have a (tiny) table value
but no node; the importer reports how much that leaves unassigned.

Energy: HW-NAS-Bench reports energy in millijoules (its columns are
*_energy_mJ); the target is energy_mj with unit "mJ".  raspi4 and pixel3
have no energy column.

Checks (a failure exits 1): expected columns; 5,000 distinct arch_ids in the
arch and latency files, 27 settings; 26 nodes per arch in
fbnet_nodes_cifar100.csv with node_idx 0..25 once each; every block_key in
the block table, once there; the block keys gen_fbnet computes equal the
CSV's for every imported arch; values finite and >= 0 (empty cells skipped
and counted); for raspi4, pixel3, eyeriss and fpga every network's
whole-graph value equals the sum of its 26 block values within a relative
1e-3 (the README says they are exactly those sums; max deviations printed).
"""

import argparse
import collections
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import gpgraph  # noqa: E402
import gen_fbnet  # noqa: E402
from import_nb201 import (DeviceTable, ImportFailure, GraphWriter, Labels, Progress, add_common_args, all_or_nothing,  # noqa: E402
                          batch_of_setting, log, pack, parse_value, read_csv, read_wide,
                          resolve_data_dir, run_main)

PROG = "import_fbnet"
N_ARCHS = 5000
N_SETTINGS = 27
N_NODES = 26            # stem, 22 layers, header, pool, FC
BLOCK_DEVICES = ("edgegpu", "raspi4", "pixel3", "eyeriss", "fpga")
SUM_DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga")
SUM_TOLERANCE = 1e-3    # relative


def read_lut(path):
    """{block_key: {(device, target): value}}, units {target: unit}, missing count."""
    header, rows = read_csv(path, ["block_key"])
    cols = {}
    units = {"latency_ms": "ms"}
    for c in header:
        m = re.fullmatch(r"(\w+?)_latency_ms", c)
        if m:
            cols[c] = (m.group(1), "latency_ms")
            continue
        m = re.fullmatch(r"(\w+?)_energy_(\w+)", c)
        if m:
            unit = m.group(2)
            if units.setdefault("energy_mj", unit) != unit:
                raise ImportFailure("%s: energy columns in different units (%s, %s)"
                                    % (path, units["energy_mj"], unit))
            cols[c] = (m.group(1), "energy_mj")
    if units.get("energy_mj") not in (None, "mJ"):
        raise ImportFailure("%s: energy unit %r, expected mJ (target energy_mj)"
                            % (path, units["energy_mj"]))
    devs = sorted({d for d, _ in cols.values()})
    if devs != sorted(BLOCK_DEVICES):
        raise ImportFailure("%s: block-table devices %s, expected %s" % (path, devs, list(BLOCK_DEVICES)))
    lut, missing = {}, collections.Counter()
    for i, r in enumerate(rows):
        key = r["block_key"]
        if key in lut:
            raise ImportFailure("%s:%d: duplicate block_key %s" % (path, i + 2, key))
        vals = {}
        for c, dt in cols.items():
            v = parse_value(r[c], "%s:%d column %s" % (path, i + 2, c))
            if v is None:
                missing[c] += 1
            else:
                vals[dt] = v
        lut[key] = vals
    return lut, units, missing, cols


def read_node_keys(path):
    """{arch_id: [26 block keys]}."""
    _, rows = read_csv(path, ["arch_id", "node_idx", "block_key"])
    keys = collections.defaultdict(dict)
    for i, r in enumerate(rows):
        try:
            a, n = int(r["arch_id"]), int(r["node_idx"])
        except ValueError:
            raise ImportFailure("%s:%d: bad arch_id/node_idx" % (path, i + 2)) from None
        if n in keys[a]:
            raise ImportFailure("%s:%d: arch %d node_idx %d given twice" % (path, i + 2, a, n))
        keys[a][n] = r["block_key"]
    if set(keys) != set(range(N_ARCHS)):
        raise ImportFailure("%s: arch_ids are not exactly 0..%d (%d found)" % (path, N_ARCHS - 1, len(keys)))
    out = {}
    for a, d in keys.items():
        if set(d) != set(range(N_NODES)):
            raise ImportFailure("%s: arch %d has node_idx %s, expected 0..%d"
                                % (path, a, sorted(d), N_NODES - 1))
        out[a] = [d[i] for i in range(N_NODES)]
    return out


def is_identity_skip(key):
    """Skip_..._CinC_CoutC_stride1: no computation, so no node in the graph."""
    return bool(re.fullmatch(r"Skip_H\d+_W\d+_Cin(\d+)_Cout\1_stride1", key))


def block_anchor_nodes(doc):
    """{block index: name of the node that carries the block's labels}."""
    anchor = {}
    for nd in doc["nodes"]:
        blk = (nd.get("meta") or {}).get("block")
        if blk is None or nd["op"] == "view":
            continue
        anchor.setdefault(blk, nd["name"])
    return anchor


def _main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, "fbnet")
    ap.add_argument("--indices", help="arch_id values to import, e.g. 0-999 (default all)")
    ap.add_argument("--blocks", action="store_true",
                    help="import the block table as one graph per block instead (graph-level labels)")
    args = ap.parse_args(argv)
    if args.blocks and args.indices:
        ap.error("--indices selects networks; --blocks imports every row of the block table")
    keep = gpgraph.parse_indices(args.indices)
    data = resolve_data_dir(args.data, "help_fbnet")
    src = os.path.join(data, "help_fbnet")
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.time()
    if args.blocks:
        return import_blocks(args, src, t0)

    apath = os.path.join(src, "fbnet_archs.csv")
    archs = {}
    for aid, choices in gen_fbnet.read_archs(apath):       # checks columns, op_idx_list
        if aid in archs:
            raise ImportFailure("%s: duplicate arch_id %d" % (apath, aid))
        for c in choices:
            gen_fbnet.parse_choice(c)                        # unknown block choice fails
        archs[aid] = choices
    if set(archs) != set(range(N_ARCHS)):
        raise ImportFailure("%s: arch_ids are not exactly 0..%d (%d found)"
                            % (apath, N_ARCHS - 1, len(archs)))

    lpath = os.path.join(src, "fbnet_latency_wide.csv")
    settings, lat, missing = read_wide(lpath, "arch_id", N_ARCHS, N_SETTINGS)
    for d in SUM_DEVICES:
        if d not in settings:
            raise ImportFailure("%s: no column %s" % (lpath, d))
    lut, units, lut_missing, lut_cols = read_lut(os.path.join(src, "hwnasbench_fbnet_block_lut.csv"))
    node_keys = read_node_keys(os.path.join(src, "fbnet_nodes_cifar100.csv"))
    unknown = sorted({k for ks in node_keys.values() for k in ks if k not in lut})
    if unknown:
        raise ImportFailure("fbnet_nodes_cifar100.csv: %d block keys not in the block table, e.g. %s"
                            % (len(unknown), unknown[:3]))
    log(PROG, "read %d archs, %d x %d latencies (%d empty cells), %d block-table rows (%d empty "
              "cells), %d x %d node keys in %.1f s"
        % (len(archs), len(lat), len(settings), sum(missing.values()), len(lut),
           sum(lut_missing.values()), len(node_keys), N_NODES, time.time() - t0))
    log(PROG, "block-table columns: %s; energy unit %s"
        % (", ".join("%s->%s/%s" % (c, d, t) for c, (d, t) in lut_cols.items()), units.get("energy_mj")))

    # --- whole-graph value == sum of blocks (all 5,000 archs) -------------
    dev_abs = {d: 0.0 for d in SUM_DEVICES}
    dev_rel = {d: 0.0 for d in SUM_DEVICES}
    worst = {}
    for a in range(N_ARCHS):
        for d in SUM_DEVICES:
            if d not in lat[a]:
                continue
            parts = [lut[k].get((d, "latency_ms")) for k in node_keys[a]]
            if any(p is None for p in parts):
                continue
            s = sum(parts)
            g = lat[a][d]
            ab = abs(s - g)
            rel = ab / max(abs(g), 1e-12)
            if ab > dev_abs[d]:
                dev_abs[d] = ab
            if rel > dev_rel[d]:
                dev_rel[d] = rel
                worst[d] = (a, g, s)
    for d in SUM_DEVICES:
        log(PROG, "block-sum check %-7s: max abs deviation %.3g ms, max rel %.3g%s"
            % (d, dev_abs[d], dev_rel[d], "" if d not in worst else
               " (arch %d: graph %.6g, blocks %.6g)" % worst[d]))
    bad = [d for d in SUM_DEVICES if dev_rel[d] > SUM_TOLERANCE]
    if bad:
        raise ImportFailure("whole-graph latency differs from the sum of its blocks by more than "
                            "%g relative on %s" % (SUM_TOLERANCE, ", ".join(bad)))

    # --- devices ---------------------------------------------------------
    devices = list(settings) + [d for d in BLOCK_DEVICES if d not in settings]

    # --- graphs and labels -----------------------------------------------
    sel = [a for a in range(N_ARCHS) if keep is None or a in keep]
    if not sel:
        raise ImportFailure("--indices %s selects no architecture" % args.indices)
    dw = DeviceTable(os.path.join(args.out_dir, "devices.csv"), devices, ["batch"],
                     {d: {"batch": batch_of_setting(d)} for d in devices})
    gw = GraphWriter(os.path.join(args.out_dir, "graphs.jsonl"))
    lw = Labels(os.path.join(args.out_dir, "labels.csv"))
    prog = Progress(PROG, "graphs", len(sel))
    unassigned = {d: [] for d in BLOCK_DEVICES}     # per network: identity-skip latency
    unassigned_frac = {d: [] for d in BLOCK_DEVICES}
    n_identity = 0
    zero_labels = collections.Counter()
    with all_or_nothing(gw, lw, dw):
        for i, a in enumerate(sel):
            name = "fbnet_%d" % a
            doc = gen_fbnet.build_fbnet(archs[a], name=name,
                                        meta={"arch_id": a, "dataset": "help_fbnet"}).to_json()
            if doc["meta"]["blocks"] != node_keys[a]:
                diff = [(j, x, y) for j, (x, y) in enumerate(zip(doc["meta"]["blocks"], node_keys[a]))
                        if x != y]
                raise ImportFailure("arch %d: gen_fbnet's block keys differ from "
                                    "fbnet_nodes_cifar100.csv at %s" % (a, diff[:3]))
            anchor = block_anchor_nodes(doc)
            for nd in doc["nodes"]:
                blk = (nd.get("meta") or {}).get("block")
                if blk is not None and anchor.get(blk) == nd["name"]:
                    nd["meta"]["block_key"] = node_keys[a][blk]
            gw.write(doc)
            for d in settings:
                v = lat[a].get(d)
                if v is not None:
                    lw.add(name, "", d, "latency_ms", v, "ms")
            lost = collections.Counter()
            total = collections.Counter()
            for blk, key in enumerate(node_keys[a]):
                vals = lut[key]
                node = anchor.get(blk)
                if node is None:
                    if not is_identity_skip(key):
                        raise ImportFailure("arch %d block %d (%s) has no node in the graph"
                                            % (a, blk, key))
                    n_identity += 1
                for (d, t), v in vals.items():
                    if t == "latency_ms":
                        total[d] += v
                    if node is None:
                        if t == "latency_ms":
                            lost[d] += v
                        continue
                    if v == 0.0:
                        zero_labels[(d, t, key.split("_")[0])] += 1
                    lw.add(name, node, d, t, v, units[t])
            for d in BLOCK_DEVICES:
                unassigned[d].append(lost[d])
                unassigned_frac[d].append(lost[d] / total[d] if total[d] > 0 else 0.0)
            prog.tick(i + 1)
    log(PROG, "wrote %d graphs (%d nodes), %d devices, labels: %s in %.1f s"
        % (gw.count, gw.nodes, len(devices), lw.summary(), time.time() - t0))
    log(PROG, "identity skip blocks (table value, no node): %d in %d networks; latency left "
              "unassigned per network:" % (n_identity, len(sel)))
    for d in BLOCK_DEVICES:
        u, fr = unassigned[d], unassigned_frac[d]
        log(PROG, "  %-7s mean %.4g ms, max %.4g ms (mean %.3g%%, max %.3g%% of the block sum)"
            % (d, sum(u) / len(u), max(u), 100 * sum(fr) / len(fr), 100 * max(fr)))
    if zero_labels:
        log(PROG, "node labels that are exactly 0 in the block table (kept): %s"
            % ", ".join("%s %s %s: %d" % (d, t, k, n) for (d, t, k), n in sorted(zero_labels.items())))
    if args.pack:
        pack(PROG, args, "HELP FBNet latency + HW-NAS-Bench FBNet block table (help_fbnet), "
                         "imported by scripts/import_fbnet.py")
    return 0


def import_blocks(args, src, t0):
    lpath = os.path.join(src, "hwnasbench_fbnet_block_lut.csv")
    lut, units, lut_missing, _ = read_lut(lpath)
    _, rows = read_csv(lpath, ["block_key", "block_type", "H", "W", "Cin", "Cout", "exp", "kernel", "stride",
                               "group"])

    def num(r, c, i, default):
        if r[c].strip() == "":
            return default
        try:
            return int(r[c])
        except ValueError:
            raise ImportFailure("%s:%d: column %s: %r is not an integer" % (lpath, i + 2, c, r[c]))
    devices = list(BLOCK_DEVICES)
    dw = DeviceTable(os.path.join(args.out_dir, "devices.csv"), devices, ["batch"],
                     {d: {"batch": None} for d in devices})
    gw = GraphWriter(os.path.join(args.out_dir, "graphs.jsonl"))
    lw = Labels(os.path.join(args.out_dir, "labels.csv"))
    kinds, identity = collections.Counter(), 0
    with all_or_nothing(gw, lw, dw):
        for i, r in enumerate(rows):
            t = r["block_type"]
            dims = dict(h=num(r, "H", i, 0), w=num(r, "W", i, 0), c_in=num(r, "Cin", i, 0),
                        c_out=num(r, "Cout", i, 0), exp=num(r, "exp", i, 1), kernel=num(r, "kernel", i, 1),
                        stride=num(r, "stride", i, 1), group=num(r, "group", i, 1))
            try:
                key = gen_fbnet.block_key(t, **dims)
            except gpgraph.GraphError as e:
                raise ImportFailure("%s:%d: %s" % (lpath, i + 2, e))
            if key != r["block_key"]:
                raise ImportFailure("%s:%d: block_key %s, but its columns make %s"
                                    % (lpath, i + 2, r["block_key"], key))
            if t == "Skip" and dims["c_in"] == dims["c_out"] and dims["stride"] == 1:
                identity += 1
                continue
            try:
                doc = gen_fbnet.build_block(t, name=key, meta={"dataset": "help_fbnet", "block_type": t},
                                            **dims).to_json()
            except gpgraph.GraphError as e:
                raise ImportFailure("%s:%d: %s" % (lpath, i + 2, e))
            gw.write(doc)
            kinds[t] += 1
            for (d, tg), v in sorted(lut[key].items()):
                lw.add(key, "", d, tg, v, units[tg])
        # every block the CIFAR networks use (fbnet_nodes_cifar100.csv) must have its graph here;
        # checked before the outputs are renamed into place
        node_keys = read_node_keys(os.path.join(src, "fbnet_nodes_cifar100.csv"))
        used = {k for ks in node_keys.values() for k in ks if not is_identity_skip(k)}
        built = {k for k in lut if not is_identity_skip(k)}
        if used - built:
            raise ImportFailure("fbnet_nodes_cifar100.csv uses %d blocks with no block graph, e.g. %s"
                                % (len(used - built), sorted(used - built)[:3]))
    log(PROG, "block graphs: %d (%s), %d identity skips left out; labels: %s; %d empty table cells; %.1f s"
        % (gw.count, ", ".join("%s %d" % kv for kv in sorted(kinds.items())), identity, lw.summary(),
           sum(lut_missing.values()), time.time() - t0))
    if args.pack:
        pack(PROG, args, "HW-NAS-Bench FBNet block table (help_fbnet), one graph per block, "
                         "imported by scripts/import_fbnet.py --blocks")
    return 0


def main(argv=None):
    return run_main(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
