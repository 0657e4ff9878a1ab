#!/usr/bin/python3
"""Import HELP's NAS-Bench-201 latency table as a gnnperf dataset.

    import_nb201.py [--data DIR] [--indices 0-999] --out-dir DIR [--pack] [--gnndata PATH]

Reads ../shared/data/help_nb201/ (see its README.md): nb201_archs.csv (15,625
architectures) and nb201_latency_wide.csv (15,625 rows x 27 device settings,
ms).  Writes into --out-dir:

    graphs.jsonl   one graph per architecture, nb201_<arch_index>, built by
                   gen_nb201.build_nb201 (CIFAR 32x32 input, batch 1, 10 classes)
    labels.csv     graph-level latency_ms (unit ms) for every (arch, setting)
    devices.csv    the 27 settings; descriptor "batch" for the GPU settings
                   (1080ti/2080ti/titanx/titanxp/titan_rtx at _1/_32/_256),
                   empty for CPUs, phones, eyeriss and fpga (no other
                   descriptor is in the data, so none is invented)

and, with --pack, nb201.h5 through the C packer (gnndata pack).

The graphs have batch-1 shapes for every setting: the batch of a GPU setting
is a property of the setting (its descriptor), as in HELP, not of the graph.

Checks (a failure exits 1 with a message): both files have the expected
columns, 15,625 distinct arch_index values 0..15624 in each and the same set,
27 device columns, every cell a finite number >= 0 (empty cells are skipped
and counted; "nan", "inf", negatives or text fail), the arch strings parse.

This file also holds the helpers the other importers (import_fbnet.py,
import_ofa.py, import_neusight.py) share: data-folder lookup, the checked
wide-table reader, the label and device writers and the packer call.
"""

import argparse
import contextlib
import json
import csv
import glob
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import gpgraph  # noqa: E402
import gen_nb201  # noqa: E402

N_ARCHS = 15625
N_SETTINGS = 27


# =====================================================================
# shared importer helpers
# =====================================================================

class ImportFailure(Exception):
    """The data is not what the importer expects; the message says how."""


def log(prog, msg):
    print("%s: %s" % (prog, msg), file=sys.stderr, flush=True)


def resolve_data_dir(arg, sub):
    """The shared data folder (containing sub/), from --data or the defaults.

    Defaults: $GNNPERF_SHARED/data (or $GNNPERF_SHARED itself), then
    ../shared/data relative to the repository root.
    """
    cands = []
    if arg:
        cands = [arg]
    else:
        env = os.environ.get("GNNPERF_SHARED")
        if env:
            cands += [os.path.join(env, "data"), env]
        cands.append(os.path.join(gpgraph.repo_root(), "..", "shared", "data"))
    for c in cands:
        if os.path.isdir(os.path.join(c, sub)):
            return os.path.normpath(c)
    raise ImportFailure("no %s/ folder found in %s (pass --data DIR or set GNNPERF_SHARED)"
                        % (sub, " or ".join(cands)))


def find_gnndata(arg=None):
    """Path of the C packer: --gnndata, else build/gnndata, else build-*/gnndata."""
    if arg:
        if not (os.path.isfile(arg) and os.access(arg, os.X_OK)):
            raise ImportFailure("--gnndata %s is not an executable file" % arg)
        return arg
    root = gpgraph.repo_root()
    cands = [os.path.join(root, "build", "gnndata")]
    cands += sorted(glob.glob(os.path.join(root, "build-*", "gnndata")))
    for c in cands:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise ImportFailure("gnndata not found in build/ or build-*/ (build it: cmake --build build "
                        "--target gnndata, or pass --gnndata PATH)")


def parse_value(text, where):
    """A label cell: None when empty (missing), else a finite float >= 0.

    Anything else (nan, inf, negative, text) raises ImportFailure.
    """
    t = text.strip()
    if t == "":
        return None
    try:
        v = float(t)
    except ValueError:
        raise ImportFailure("%s: %r is not a number" % (where, text)) from None
    if not math.isfinite(v):
        raise ImportFailure("%s: %r is not finite (a missing value must be an empty cell)"
                            % (where, text))
    if v < 0:
        raise ImportFailure("%s: negative value %r" % (where, text))
    return v


def read_csv(path, required):
    """(header, rows as dicts) of a CSV file, failing on missing columns."""
    with open(path, newline="", encoding="utf-8") as f:
        rd = csv.DictReader(f)
        header = list(rd.fieldnames or ())
        missing = [c for c in required if c not in header]
        if missing:
            raise ImportFailure("%s: missing columns %s (has %s)" % (path, missing, header))
        if len(set(header)) != len(header):
            raise ImportFailure("%s: repeated column names in %s" % (path, header))
        rows = list(rd)
    for i, r in enumerate(rows):
        if None in r or any(v is None for v in r.values()):
            raise ImportFailure("%s: line %d has %s cells than the header"
                                % (path, i + 2, "more" if None in r else "fewer"))
    return header, rows


def read_wide(path, id_col, n_rows, n_devices):
    """A wide latency table: id column, then one column per device setting.

    Returns (devices, {id: {device: value}}, missing) with empty cells left
    out and counted in missing {device: n}.  Checks the row and column
    counts, unique non-negative integer ids 0..n_rows-1, and every value.
    """
    header, rows = read_csv(path, [id_col])
    if header[0] != id_col:
        raise ImportFailure("%s: first column is %r, expected %r" % (path, header[0], id_col))
    devices = header[1:]
    if len(devices) != n_devices:
        raise ImportFailure("%s: %d device columns, the README says %d: %s"
                            % (path, len(devices), n_devices, devices))
    if len(rows) != n_rows:
        raise ImportFailure("%s: %d rows, the README says %d" % (path, len(rows), n_rows))
    table, missing = {}, {d: 0 for d in devices}
    for i, r in enumerate(rows):
        where = "%s:%d" % (path, i + 2)
        try:
            aid = int(r[id_col])
        except ValueError:
            raise ImportFailure("%s: %s %r is not an integer" % (where, id_col, r[id_col])) from None
        if aid in table:
            raise ImportFailure("%s: duplicate %s %d" % (where, id_col, aid))
        vals = {}
        for d in devices:
            v = parse_value(r[d], "%s column %s" % (where, d))
            if v is None:
                missing[d] += 1
            else:
                vals[d] = v
        table[aid] = vals
    if set(table) != set(range(n_rows)):
        raise ImportFailure("%s: %s values are not exactly 0..%d" % (path, id_col, n_rows - 1))
    return devices, table, missing


# HELP's device settings.  GPU settings are <gpu>_<batch>; the others are
# single devices whose names may end in a number that is not a batch
# (essential_ph_1 is the Essential PH-1 phone, gold_6226 a Xeon model).
GPU_PREFIXES = ("1080ti", "2080ti", "titanx", "titanxp", "titan_xp", "titan_rtx", "v100")
NON_GPU_DEVICES = ("essential_ph_1", "eyeriss", "fpga", "gold_6226", "gold_6240", "pixel2",
                   "pixel3", "raspi4", "samsung_a50", "samsung_s7", "silver_4114",
                   "silver_4210r", "edgegpu")


def batch_of_setting(device):
    """Batch size of a HELP GPU setting name, None for the other known devices.

    An unknown name fails: whether its trailing number is a batch size
    cannot be guessed.
    """
    m = re.fullmatch(r"(.+)_(\d+)", device)
    if m and m.group(1) in GPU_PREFIXES:
        return int(m.group(2))
    if device in NON_GPU_DEVICES:
        return None
    raise ImportFailure("unknown device setting %r: not <gpu>_<batch> for a GPU in %s, nor one of "
                        "%s" % (device, ", ".join(GPU_PREFIXES), ", ".join(NON_GPU_DEVICES)))


class Labels:
    """Writes a long-form label table (docs/label-table.md) with checks.

    Refuses a repeated (graph, node, device, target), a non-finite or
    negative value and a target whose unit changes; counts rows per target.
    """

    def __init__(self, path):
        self.path = path
        self.tmp = path + ".tmp"
        self.f = open(self.tmp, "w", newline="", encoding="utf-8")
        self.w = csv.writer(self.f, lineterminator="\n")
        self.w.writerow(["graph", "node", "device", "target", "value", "unit"])
        self.seen = set()
        self.units = {}
        self.count = {}
        self.devices = []
        self._devset = set()

    def add(self, graph, node, device, target, value, unit):
        key = (graph, node, device, target)
        if key in self.seen:
            raise ImportFailure("label given twice: graph %s node %r device %s target %s"
                                % (graph, node, device, target))
        self.seen.add(key)
        if not (isinstance(value, float) or isinstance(value, int)) or not math.isfinite(value) \
                or value < 0:
            raise ImportFailure("label %s/%r/%s/%s: bad value %r" % (graph, node, device, target, value))
        if self.units.setdefault(target, unit) != unit:
            raise ImportFailure("target %s has units %r and %r" % (target, self.units[target], unit))
        if device not in self._devset:
            self._devset.add(device)
            self.devices.append(device)
        level = "node" if node else "graph"
        self.count[(level, target)] = self.count.get((level, target), 0) + 1
        self.w.writerow([graph, node, device, target, repr(float(value)), unit])

    def close(self):
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        self.f.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)

    def summary(self):
        return ", ".join("%s %s: %d" % (lvl, t, n) for (lvl, t), n in sorted(self.count.items()))


class DeviceTable:
    """devices.csv: device, then columns; values {device: {column: number}}.

    A missing value is an empty cell (unknown). The rows are checked when it
    is made and written only by close() (a temporary file, then a rename), so
    that it joins the graphs and labels in all_or_nothing: a failed import
    leaves no new devices.csv beside an older import's graphs, and nothing
    to clean up (abort() has nothing to do).
    """

    def __init__(self, path, devices, columns, values):
        self.path = path
        self.rows = [["device"] + list(columns)]
        for d in devices:
            row = [d]
            for c in columns:
                v = values.get(d, {}).get(c)
                if v is None:
                    row.append("")
                else:
                    if not math.isfinite(float(v)):
                        raise ImportFailure("device %s descriptor %s: %r is not finite" % (d, c, v))
                    row.append(("%d" % v) if float(v).is_integer() else repr(float(v)))
            self.rows.append(row)

    def close(self):
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                csv.writer(f, lineterminator="\n").writerows(self.rows)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        os.replace(tmp, self.path)

    def abort(self):
        pass


class GraphWriter:
    """Streams graph documents to graphs.jsonl (atomic rename on close)."""

    def __init__(self, path):
        self.path = path
        self.tmp = path + ".tmp"
        self.f = open(self.tmp, "w", encoding="utf-8")
        self.count = 0
        self.nodes = 0
        self.names = set()

    def write(self, doc):
        if doc["name"] in self.names:
            raise ImportFailure("graph name %s produced twice" % doc["name"])
        self.names.add(doc["name"])
        self.f.write(json.dumps(doc, separators=(",", ":")))
        self.f.write("\n")
        self.count += 1
        self.nodes += len(doc["nodes"])

    def close(self):
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        self.f.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


@contextlib.contextmanager
def all_or_nothing(*writers):
    """Closes every writer (each renames its temporary file into place) when the
    block ends normally; aborts every one (removing what it wrote) when the block,
    or a close, raises, so a failed import leaves no half-written output."""
    try:
        yield writers
        for w in writers:
            w.close()
    except BaseException:
        for w in writers:
            w.abort()
        raise


def add_common_args(ap, default_name):
    ap.add_argument("--data", help="shared data folder holding help_*/ and neusight/ "
                                   "(default: $GNNPERF_SHARED/data, else ../shared/data next to "
                                   "the repository)")
    ap.add_argument("--out-dir", required=True, help="where graphs.jsonl, labels.csv, devices.csv go")
    ap.add_argument("--pack", action="store_true",
                    help="also pack DIR/%s.h5 with gnndata pack" % default_name)
    ap.add_argument("--gnndata", help="path of the gnndata packer "
                                      "(default: build/gnndata or build-*/gnndata)")
    ap.add_argument("--name", default=default_name, help="dataset file name without .h5 (default %s)"
                    % default_name)


def pack(prog, args, note):
    """Runs gnndata pack on out-dir's files; returns the .h5 path."""
    exe = find_gnndata(args.gnndata)
    out = os.path.join(args.out_dir, args.name + ".h5")
    cmd = [exe, "pack", "-o", out, "--labels", os.path.join(args.out_dir, "labels.csv"),
           "--devices", os.path.join(args.out_dir, "devices.csv"), "--note", note,
           os.path.join(args.out_dir, "graphs.jsonl")]
    log(prog, "packing: %s" % " ".join(cmd))
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    for line in r.stdout.splitlines():
        log(prog, "  " + line)
    if r.returncode != 0:
        raise ImportFailure("gnndata pack failed with exit status %d" % r.returncode)
    log(prog, "packed %s (%.1f MB) in %.1f s" % (out, os.path.getsize(out) / 1e6, time.time() - t0))
    return out


def run_main(prog, body, argv=None):
    """Calls body(argv) and turns expected failures into exit status 1."""
    try:
        return body(argv)
    except (ImportFailure, gpgraph.GraphError, OSError) as e:
        print("%s: error: %s" % (prog, e), file=sys.stderr)
        return 1


class Progress:
    """Rate-limited progress lines on stderr."""

    def __init__(self, prog, what, total, every_s=5.0):
        self.prog, self.what, self.total, self.every = prog, what, total, every_s
        self.t0 = self.last = time.time()

    def tick(self, done):
        now = time.time()
        if now - self.last >= self.every:
            self.last = now
            log(self.prog, "%s: %d/%d (%.0f s)" % (self.what, done, self.total, now - self.t0))


# =====================================================================
# NAS-Bench-201
# =====================================================================

PROG = "import_nb201"


def write_graphs_with_latency(prog, out_dir, sel, build, lat, devices, t0, device_table):
    """Writes graphs.jsonl and the per-graph latency_ms labels of `sel`, and
    puts device_table (a DeviceTable) into place with them.

    build(i) returns (graph name, JSON document); lat[i][device] is the
    latency in ms (missing cells skipped). Shared by the importers whose data
    is one whole-network latency per (architecture, device setting). On any
    failure the three files are removed, never left half-written.
    """
    gw = GraphWriter(os.path.join(out_dir, "graphs.jsonl"))
    lw = Labels(os.path.join(out_dir, "labels.csv"))
    progress = Progress(prog, "graphs", len(sel))
    with all_or_nothing(gw, lw, device_table):
        for k, i in enumerate(sel):
            name, doc = build(i)
            gw.write(doc)
            for d in devices:
                v = lat[i].get(d)
                if v is not None:
                    lw.add(name, "", d, "latency_ms", v, "ms")
            progress.tick(k + 1)
    log(prog, "wrote %d graphs (%d nodes), %d devices, labels: %s in %.1f s"
        % (gw.count, gw.nodes, len(devices), lw.summary(), time.time() - t0))


def _main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap, "nb201")
    ap.add_argument("--indices", help="arch_index values to import, e.g. 0-1899 (default all)")
    args = ap.parse_args(argv)
    keep = gpgraph.parse_indices(args.indices)
    data = resolve_data_dir(args.data, "help_nb201")
    src = os.path.join(data, "help_nb201")
    os.makedirs(args.out_dir, exist_ok=True)
    t0 = time.time()

    # archs
    apath = os.path.join(src, "nb201_archs.csv")
    _, arows = read_csv(apath, ["arch_index", "arch_str"])
    if len(arows) != N_ARCHS:
        raise ImportFailure("%s: %d architectures, the README says %d" % (apath, len(arows), N_ARCHS))
    archs = {}
    for i, r in enumerate(arows):
        try:
            aid = int(r["arch_index"])
        except ValueError:
            raise ImportFailure("%s:%d: bad arch_index %r" % (apath, i + 2, r["arch_index"])) from None
        if aid in archs:
            raise ImportFailure("%s:%d: duplicate arch_index %d" % (apath, i + 2, aid))
        gen_nb201.parse_arch(r["arch_str"])     # unknown ops fail here
        archs[aid] = r["arch_str"]
    if set(archs) != set(range(N_ARCHS)):
        raise ImportFailure("%s: arch_index values are not exactly 0..%d" % (apath, N_ARCHS - 1))

    # latency
    lpath = os.path.join(src, "nb201_latency_wide.csv")
    devices, lat, missing = read_wide(lpath, "arch_index", N_ARCHS, N_SETTINGS)
    n_missing = sum(missing.values())
    log(PROG, "read %d archs and %d x %d latencies (%d empty cells skipped%s) in %.1f s"
        % (len(archs), len(lat), len(devices), n_missing,
           "" if not n_missing else ": " + ", ".join("%s %d" % kv for kv in missing.items() if kv[1]),
           time.time() - t0))

    batch = {d: batch_of_setting(d) for d in devices}
    sel = [a for a in range(N_ARCHS) if keep is None or a in keep]
    if not sel:
        raise ImportFailure("--indices %s selects no architecture" % args.indices)
    def build(aid):
        name = "nb201_%d" % aid
        return name, gen_nb201.build_nb201(archs[aid], name=name,
                                           meta={"arch_index": aid, "dataset": "help_nb201"}).to_json()

    write_graphs_with_latency(PROG, args.out_dir, sel, build, lat, devices, t0,
                              DeviceTable(os.path.join(args.out_dir, "devices.csv"), devices, ["batch"],
                                          {d: {"batch": b} for d, b in batch.items()}))
    if args.pack:
        pack(PROG, args, "HELP NAS-Bench-201 latency (help_nb201), imported by scripts/import_nb201.py")
    return 0


def main(argv=None):
    return run_main(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
