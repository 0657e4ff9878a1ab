#!/usr/bin/python3
"""Label tables with a known ground truth, for testing that training learns.

Reads JSON Lines graphs and writes a label CSV and a device CSV in the
formats of docs/label-table.md. These labels are NOT measurements: they come
from a simple roofline-like law per op (work / peak + bytes / bandwidth +
a per-kind launch overhead) on two imaginary devices, so a model that learns
anything at all must beat a constant predictor on held-out graphs. Used only
by tests.

    synthetic_labels.py GRAPHS.jsonl LABELS.csv DEVICES.csv
"""
import json
import math
import sys

DEVICES = {  # name: (peak GFLOP/s, bandwidth GB/s, overhead us)
    "synth_fast": (200.0, 40.0, 2.0),
    "synth_slow": (20.0, 8.0, 10.0),
}
OVERHEAD_SCALE = {"conv2d": 1.5, "dwconv2d": 2.0, "linear": 1.2, "view": 0.2, "input": 0.0, "output": 0.0}


def elems(shape):
    return math.prod(shape) if shape else 1


def node_work(node, shapes):
    """(flops, bytes) of one node from its attributes."""
    out = elems(node["out_shape"])
    ins = [elems(s) for s in shapes]
    op = node["op"]
    a = node.get("attrs", {})
    if op in ("conv2d", "dwconv2d"):
        k = a.get("kernel", [1, 1])
        k = k if isinstance(k, list) else [k, k]
        cin = shapes[0][1] if shapes and len(shapes[0]) > 1 else 1
        flops = 2.0 * out * cin / a.get("groups", 1) * k[0] * k[1]
    elif op == "linear":
        flops = 2.0 * out * (shapes[0][-1] if shapes else 1)
    elif op in ("input", "output", "view"):
        return 0.0, 0.0
    else:
        flops = float(out)
    return flops, 4.0 * (out + sum(ins))


def main():
    graphs_path, labels_path, devices_path = sys.argv[1:4]
    with open(devices_path, "w") as f:
        f.write("device,peak_gflops,mem_bw_gbs\n")
        for name, (peak, bw, _) in DEVICES.items():
            f.write(f"{name},{peak},{bw}\n")
    with open(graphs_path) as gf, open(labels_path, "w") as out:
        out.write("graph,node,device,target,value,unit\n")
        for line in gf:
            g = json.loads(line)
            shape_of = {n["name"]: n["out_shape"] for n in g["nodes"]}
            for dev, (peak, bw, ovh) in DEVICES.items():
                total = 0.0
                for n in g["nodes"]:
                    shapes = n.get("in_shapes") or [shape_of[i] for i in n.get("inputs", [])]
                    flops, nbytes = node_work(n, shapes)
                    us = flops / (peak * 1e3) + nbytes / (bw * 1e3) + ovh * OVERHEAD_SCALE.get(n["op"], 1.0)
                    total += us
                    if us > 0:
                        out.write(f"{g['name']},{n['name']},{dev},latency_ms,{us / 1e3:.6g},ms\n")
                out.write(f"{g['name']},,{dev},latency_ms,{total / 1e3:.6g},ms\n")


if __name__ == "__main__":
    main()
