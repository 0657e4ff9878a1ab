#!/usr/bin/python3
"""Add the in-place flag (attrs.inplace) to torchvision graphs converted before
the graph format had one.

Graphs of the `zoo` family (meta.family == "zoo", with meta.model, meta.res
and meta.batch, as profile_torch.py and profile_cuda.py write them) are built
again here with random weights, traced and converted with today's converter;
each node of the old graph gets `attrs.inplace: true` where the new
conversion of the same node (matched by name) has it.  Nothing else changes:
labels stay valid because the measured models were the same.  Other families
are copied as they are (their builders use no in-place ops).

Where today's trace differs from the old one (another PyTorch can trace a
model differently: shufflenet falls back to a lower-level trace in some
versions), a node is flagged when its meta.module names a submodule whose
`inplace` attribute is true (nn.ReLU(inplace=True) and the like), which
misses in-place function calls; the graph is reported as matched "by
module".  A zoo node whose meta.module names no submodule is an error, and
nothing is written.

    scripts/retrace_inplace.py run/graphs.jsonl              # rewrite in place (temp file + rename)
    scripts/retrace_inplace.py old.jsonl -o new.jsonl
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def zoo_spec(g, where):
    m = g.get("meta") or {}
    try:
        return {"family": "zoo", "model": str(m["model"]), "res": int(m["res"]),
                "batch": int(m["batch"]), "name": g["name"]}
    except (KeyError, TypeError, ValueError):
        raise SystemExit("retrace_inplace: %s: graph %r: zoo graph without meta.model/res/batch"
                         % (where, g.get("name")))


def flags_of(spec, torch, families, tograph):
    """(model, {node name: (op, inplace)} of today's conversion)."""
    model, x = families.build(spec)
    with torch.no_grad():
        gm, tracer, _ = tograph.trace(model, x)
        conv = tograph.convert(gm, spec["name"], tracer=tracer)
    return model, {n["name"]: (n["op"], bool((n.get("attrs") or {}).get("inplace")))
                   for n in conv.doc["nodes"]}


def module_flag(model, node, where, gname):
    path = (node.get("meta") or {}).get("module")
    if not path:
        return False
    try:
        mod = model.get_submodule(path)
    except AttributeError:
        raise SystemExit("retrace_inplace: %s: graph %r: node %r: meta.module %r names no submodule of "
                         "today's model; nothing written" % (where, gname, node["name"], path))
    return bool(getattr(mod, "inplace", False))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Add attrs.inplace to zoo graphs converted before the flag existed.")
    ap.add_argument("graphs", help="JSON Lines file of gnnperf graphs")
    ap.add_argument("-o", "--output", help="where to write (default: rewrite GRAPHS)")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    from torchprof import families, tograph
    try:
        with open(args.graphs, encoding="utf-8") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except OSError as e:
        raise SystemExit("retrace_inplace: %s: %s" % (args.graphs, e.strerror))
    out, n_graphs, n_nodes = [], 0, 0
    for k, line in enumerate(lines, 1):
        where = "%s:%d" % (args.graphs, k)
        try:
            g = json.loads(line)
        except ValueError as e:
            raise SystemExit("retrace_inplace: %s: not JSON: %s" % (where, e))
        if (g.get("meta") or {}).get("family") != "zoo":
            out.append(line)
            continue
        model, new = flags_of(zoo_spec(g, where), torch, families, tograph)
        old = {n["name"]: n["op"] for n in g["nodes"]}
        same = old == {name: op for name, (op, _) in new.items()}
        flagged = 0
        for n in g["nodes"]:
            if new[n["name"]][1] if same else module_flag(model, n, where, g["name"]):
                n.setdefault("attrs", {})["inplace"] = True
                flagged += 1
        n_graphs += 1
        n_nodes += flagged
        out.append(json.dumps(g, separators=(",", ":")))
        sys.stderr.write("retrace_inplace: %s: %d in-place nodes (%s)\n"
                         % (g["name"], flagged, "same trace" if same else "by module"))
    dest = args.output or args.graphs
    tmp = dest + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, dest)
    print("retrace_inplace: %d zoo graphs, %d in-place nodes flagged -> %s" % (n_graphs, n_nodes, dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
