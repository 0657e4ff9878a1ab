#!/usr/bin/python3
"""Write a packed dataset's labels and devices back out as the CSV tables
gnndata pack reads (docs/label-table.md).

With `gnndata export DATASET.h5 -o graphs.jsonl` this turns a dataset back
into the three inputs it was packed from, so that labels measured later
(another profiling run's occupancy, say) can be added and the whole packed
again without the original run's files:

    scripts/dataset_tables.py DATASET.h5 --labels labels.csv --devices devices.csv

Every measured value (not NaN) becomes one row; float32 values are written
with 9 significant digits, so packing the tables again stores the same
numbers bit for bit.  Each output is written to a temporary file and renamed,
so a failure leaves no half-written table.
"""

import argparse
import csv
import os
import sys
import tempfile

import numpy as np


class TableError(Exception):
    pass


def _strings(ds):
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in ds[()]]


def _need(f, path, where):
    if path not in f:
        raise TableError("%s: %s missing (not a gnnperf dataset?)" % (where, path))
    return f[path]


def read_tables(path):
    """(label rows, device header, device rows) of the dataset at path."""
    import h5py
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise TableError("%s: cannot open as HDF5: %s" % (path, e))
    with f:
        graphs = _strings(_need(f, "graphs/names", path))
        offsets = _need(f, "graphs/node_offsets", path)[()]
        nodes = _strings(_need(f, "nodes/names", path))
        devices = _strings(_need(f, "devices/names", path))
        if len(offsets) != len(graphs) + 1 or offsets[-1] != len(nodes):
            raise TableError("%s: graphs/node_offsets does not match %d graphs and %d nodes"
                             % (path, len(graphs), len(nodes)))
        desc_names = _strings(f["devices/descriptor_names"]) if "devices/descriptor_names" in f else []
        desc = f["devices/descriptors"][()] if desc_names else np.zeros((len(devices), 0))
        node_graph = np.repeat(np.arange(len(graphs)), np.diff(offsets))
        rows = []
        for level in ("node", "graph"):
            grp = f.get("labels/" + level)
            if grp is None:
                continue
            for target in grp:
                ds = grp[target]
                unit = ds.attrs.get("unit", "")
                unit = unit.decode("utf-8") if isinstance(unit, bytes) else str(unit)
                vals = ds[()]
                want = (len(nodes) if level == "node" else len(graphs), len(devices))
                if vals.shape != want:
                    raise TableError("%s: labels/%s/%s has shape %s, expected %s"
                                     % (path, level, target, vals.shape, want))
                for r, d in zip(*np.nonzero(np.isfinite(vals))):
                    if level == "node":
                        g, n = graphs[node_graph[r]], nodes[r]
                    else:
                        g, n = graphs[r], ""
                    rows.append((g, n, devices[d], target, "%.9g" % vals[r, d], unit))
    dev_rows = [[name] + ["" if not np.isfinite(v) else repr(float(v)) for v in desc[i]]
                for i, name in enumerate(devices)]
    return rows, ["device"] + desc_names, dev_rows


def _write_csv(path, header, rows):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tables-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="") as out:
            w = csv.writer(out, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", help="a packed dataset (docs/dataset-format.md)")
    ap.add_argument("--labels", help="write the label table here")
    ap.add_argument("--devices", help="write the device table here")
    args = ap.parse_args(argv)
    if not args.labels and not args.devices:
        ap.error("nothing to do: give --labels and/or --devices")
    try:
        rows, dev_header, dev_rows = read_tables(args.dataset)
        if args.labels:
            _write_csv(args.labels, ["graph", "node", "device", "target", "value", "unit"], rows)
        if args.devices:
            _write_csv(args.devices, dev_header, dev_rows)
    except (TableError, OSError) as e:
        print("dataset_tables: %s" % e, file=sys.stderr)
        return 1
    print("dataset_tables: %s: %d label rows, %d devices" % (args.dataset, len(rows), len(dev_rows)),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
