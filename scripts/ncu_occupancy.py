#!/usr/bin/python3
"""Per-node achieved-occupancy labels from Nsight Compute and a marker log.

profile_cuda.py's markers pass runs each network once with a marker kernel
(torch.cuda._sleep's spin_kernel) launched before every node and writes the
markers in launch order (seq,graph,node).  Run under

    ncu --csv --page raw --clock-control none \\
        --metrics gpu__time_duration.sum,sm__warps_active.avg.pct_of_peak_sustained_active,\\
sm__maximum_warps_per_active_cycle_pct \\
        python3 scripts/profile_cuda.py markers ... > ncu.csv

the k-th spin kernel in ncu's output is the k-th marker, and every other
kernel between it and the next marker ran for that marker's node.  A node's
label `occupancy` is the duration-weighted mean achieved occupancy of its
kernels (sm__warps_active.avg.pct_of_peak_sustained_active / 100: the
average share of the SM's warp slots that held an active warp while the
SM was busy); the graph's label is the same mean over all of its nodes'
kernels.  Nodes that launch no kernel (views) get no label.

Output: a label CSV (docs/label-table.md) with the `occupancy` rows, to be
packed together with the latency pass's labels.csv.

    scripts/ncu_occupancy.py --ncu-csv ncu.csv --markers markers.csv --device gpu_h100 -o occ.csv
"""

import argparse
import csv
import io
import json
import os
import re
import sys

DUR = "gpu__time_duration.sum"
OCC = "sm__warps_active.avg.pct_of_peak_sustained_active"
THEO = "sm__maximum_warps_per_active_cycle_pct"
MARKER = re.compile(r"\bspin_kernel\b")


class NcuError(Exception):
    pass


def _num(s, what, where):
    t = s.strip().replace(",", "")
    try:
        v = float(t)
    except ValueError:
        raise NcuError("%s: %s is not a number: %r" % (where, what, s))
    if v != v or v < 0:
        raise NcuError("%s: %s is %r" % (where, what, s))
    return v


def read_ncu_csv(path):
    """Kernels in launch order: list of dicts name, dur_ns, occ (0..1), theo (0..1)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        # ncu killed while writing (a lease's time ran out): a last line
        # without its newline may be cut anywhere, even inside its last cell;
        # graphs whose closing marker is lost get no labels anyway
        sys.stderr.write("ncu_occupancy: %s: last line has no newline (cut short?): dropped\n" % path)
        lines.pop()
    start = next((i for i, ln in enumerate(lines) if ln.startswith('"ID"')), None)
    if start is None:
        raise NcuError("%s: no CSV header (a line starting with \"ID\"): is this ncu --csv --page raw output?"
                       % path)
    rows = list(csv.reader(io.StringIO("\n".join(ln for ln in lines[start:] if ln.startswith('"')))))
    head = rows[0]
    col = {h: i for i, h in enumerate(head)}
    for need in ("ID", "Kernel Name", DUR, OCC):
        if need not in col:
            raise NcuError("%s: column %r missing (have: %s)" % (path, need, ", ".join(head)))
    unit = {}
    kernels = []
    for r in rows[1:]:
        if len(r) != len(head):
            raise NcuError("%s: a row has %d cells, the header %d" % (path, len(r), len(head)))
        if not r[col["ID"]].strip():
            unit = {h: r[i] for i, h in enumerate(head)}      # the units row
            continue
        where = "%s: kernel ID %s" % (path, r[col["ID"]])
        dur = _num(r[col[DUR]], DUR, where)
        u = unit.get(DUR, "nsecond").strip().lower()
        scale = {"nsecond": 1, "ns": 1, "usecond": 1e3, "us": 1e3, "msecond": 1e6, "ms": 1e6,
                 "second": 1e9, "s": 1e9}.get(u)
        if scale is None:
            raise NcuError("%s: unknown unit %r of %s" % (path, u, DUR))
        occ = _num(r[col[OCC]], OCC, where) / 100.0
        theo = _num(r[col[THEO]], THEO, where) / 100.0 if THEO in col else None
        kernels.append({"id": int(_num(r[col["ID"]], "ID", where)), "name": r[col["Kernel Name"]],
                        "dur_ns": dur * scale, "occ": occ, "theo": theo})
    kernels.sort(key=lambda k: k["id"])
    return kernels


def read_markers(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["seq", "graph", "node"]:
        raise NcuError("%s: expected header seq,graph,node" % path)
    out = []
    for k, r in enumerate(rows[1:]):
        if len(r) != 3 or int(r[0]) != k:
            raise NcuError("%s: line %d: expected seq %d,graph,node" % (path, k + 2, k))
        out.append((r[1], r[2]))
    return out


def assign(kernels, markers):
    """({(graph, node): [kernels]} for markers that name a node, number of
    markers seen, kernels before the first marker).  Kernels before the
    first marker (start-up work) belong to no node and are only counted."""
    per = {}
    k_marker = -1
    before = 0
    for kern in kernels:
        if MARKER.search(kern["name"]):
            k_marker += 1
            if k_marker >= len(markers):
                raise NcuError("ncu saw more marker kernels (%d) than the marker log has (%d)"
                               % (k_marker + 1, len(markers)))
            continue
        if k_marker < 0:
            before += 1
            continue
        g, n = markers[k_marker]
        if g and n and n != "-":
            per.setdefault((g, n), []).append(kern)
    return per, k_marker + 1, before


def weighted(ks, key):
    d = sum(k["dur_ns"] for k in ks)
    if d <= 0:
        return None
    return sum(k["dur_ns"] * k[key] for k in ks) / d


def main(argv=None):
    ap = argparse.ArgumentParser(description="Per-node achieved-occupancy labels from ncu --csv --page raw "
                                             "output and profile_cuda.py's marker log.")
    ap.add_argument("--ncu-csv", required=True, help="ncu --csv --page raw output")
    ap.add_argument("--markers", required=True, help="marker log of profile_cuda.py markers")
    ap.add_argument("--device", required=True, help="device name for the label rows (e.g. gpu_h100)")
    ap.add_argument("-o", "--output", required=True, help="label CSV to write")
    ap.add_argument("--summary", help="also write a JSON summary here")
    ap.add_argument("--drop-last-node", action="store_true",
                    help="give the last node of each graph no label: for marker logs written before "
                         "profile_cuda.py launched each graph's boundary marker ahead of building the next "
                         "graph, where that graph's tracing kernels follow the last node's marker")
    args = ap.parse_args(argv)
    try:
        kernels = read_ncu_csv(args.ncu_csv)
        markers = read_markers(args.markers)
        per, seen, before = assign(kernels, markers)
    except (OSError, NcuError, ValueError) as e:
        sys.stderr.write("ncu_occupancy: %s\n" % e)
        return 1
    # a graph counts only if ncu saw its closing marker (the next graph's first, or the final one)
    complete = set()
    for i in range(1, min(seen, len(markers))):
        if markers[i][1] == "" and markers[i - 1][0]:
            complete.add(markers[i - 1][0])
    last = {}
    for g, n in markers:
        if g and n and n != "-":
            last[g] = n
    rows, per_graph = [], {}
    for (g, n), ks in per.items():
        if g not in complete or (args.drop_last_node and last.get(g) == n):
            continue
        per_graph.setdefault(g, []).extend(ks)
        occ = weighted(ks, "occ")
        if occ is not None:
            rows.append((g, n, args.device, "occupancy", "%.6g" % occ, "ratio"))
    for g, ks in per_graph.items():
        occ = weighted(ks, "occ")
        if occ is not None:
            rows.append((g, "", args.device, "occupancy", "%.6g" % occ, "ratio"))
    tmp = args.output + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("graph", "node", "device", "target", "value", "unit"))
        w.writerows(sorted(rows))
    os.replace(tmp, args.output)
    real = [k for k in kernels if not MARKER.search(k["name"])]
    summary = {"kernels": len(real), "kernels_before_first_marker": before, "markers_seen": seen, "markers_logged": len(markers),
               "graphs": len(complete), "node_labels": sum(1 for r in rows if r[1]),
               "mean_occupancy": weighted(real, "occ"),
               "mean_theoretical": weighted(real, "theo") if real and real[0]["theo"] is not None else None}
    sys.stderr.write("ncu_occupancy: %d kernels of %d graphs -> %d node labels (duration-weighted achieved "
                     "occupancy %.3f) -> %s\n" % (summary["kernels"], summary["graphs"], summary["node_labels"],
                                                  summary["mean_occupancy"] or 0.0, args.output))
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
