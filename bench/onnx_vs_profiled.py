#!/usr/bin/python3
"""Does a model predict an ONNX export as well as the graph the profiler traced?

The demo's held-out torchvision models (resnet18, mobilenet_v2,
squeezenet1_1; random weights, batch 1, 224x224) are exported to ONNX twice
and converted with scripts/onnx_to_graph.py:

  kept    torch.onnx.export(..., training=TrainingMode.PRESERVE,
          do_constant_folding=False): BatchNormalization stays a node, as in
          PyTorch eager, which is what the shipped CPU labels timed;
  folded  the default export (eval mode, constant folding): every
          BatchNormalization is folded into the convolution before it.

Each graph and the profiled one (datasets/cpu/heldout.h5, torch.fx) are
predicted by the same checkpoint on one device and scored against the
profiled labels: whole model, and per op for the ops >= 50 us that exist in
all three graphs (convolutions, the linear layer, pools), matched by their
order of execution within each op kind, since ONNX and torch.fx name nodes
differently.

    bench/onnx_vs_profiled.py [--model out/demo/model.h5] [--device cpu_amd_epyc_t1]

Needs Debian's python3-torch, -torchvision and -onnx, a build (build/) and
a checkpoint trained on the shipped CPU dataset (scripts/demo.sh writes one).
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("resnet18", "mobilenet_v2", "squeezenet1_1")
KINDS = ("conv2d", "dwconv2d", "linear", "maxpool2d", "avgpool2d", "global_avgpool")


def export(name, path, keep_bn):
    import torch
    import torchvision
    model = getattr(torchvision.models, name)().eval()
    x = torch.randn(1, 3, 224, 224)
    opts = {"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False} if keep_bn else {}
    torch.onnx.export(model, x, path, opset_version=13, **opts)


def predict(model, graph, device, out):
    subprocess.run([os.path.join(ROOT, "build", "gnnpredict"), model, graph, "--device", device, "--format", "csv",
                    "-o", out, "-q"], check=True)
    whole, ops = {}, {}
    with open(out, newline="") as f:
        for r in csv.DictReader(f):
            if r["target"] != "latency_ms":
                continue
            if not r["node"]:
                whole[r["graph"]] = (float(r["predicted"]), float(r["measured"]) if r["measured"] else None)
            elif r["op"] in KINDS:
                ops.setdefault(r["graph"], []).append((r["op"], float(r["predicted"]),
                                                       float(r["measured"]) if r["measured"] else None))
    return whole, ops


def by_kind(ops):
    seq = {}
    for kind, pred, meas in ops:
        seq.setdefault(kind, []).append((pred, meas))
    return seq


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "out", "demo", "model.h5"))
    ap.add_argument("--device", default="cpu_amd_epyc_t1")
    a = ap.parse_args()
    if not os.path.exists(a.model):
        sys.exit(f"onnx_vs_profiled: no checkpoint {a.model} (run scripts/demo.sh, or give --model)")
    with tempfile.TemporaryDirectory() as tmp:
        whole, ops = predict(a.model, os.path.join(ROOT, "datasets", "cpu", "heldout.h5"), a.device,
                             os.path.join(tmp, "profiled.csv"))
        rows = []
        for name in MODELS:
            graph = f"{name}_b1"
            measured = whole[graph][1]
            truth = by_kind(ops[graph])   # the profiled graph: predictions and labels
            preds = {"profiled": truth}
            wholes = {"profiled": whole[graph][0]}
            for variant, keep in (("kept", True), ("folded", False)):
                onnx_path = os.path.join(tmp, f"{name}_{variant}.onnx")
                json_path = os.path.join(tmp, f"{name}_{variant}.json")
                export(name, onnx_path, keep)
                subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "onnx_to_graph.py"), onnx_path,
                                "-o", json_path, "--name", graph], check=True, stderr=subprocess.DEVNULL)
                w, o = predict(a.model, json_path, a.device, os.path.join(tmp, f"{name}_{variant}.csv"))
                wholes[variant] = w[graph][0]
                preds[variant] = by_kind(o[graph])
            # ops >= 50 us present in all three graphs, matched by order within their kind
            counts = {v: 0 for v in preds}
            n = 0
            for kind, seq in truth.items():
                if any(len(preds[v].get(kind, [])) != len(seq) for v in preds):
                    print(f"onnx_vs_profiled: {graph}: {kind} counts differ between the graphs; left out",
                          file=sys.stderr)
                    continue
                for i, (_, meas) in enumerate(seq):
                    if meas is None or meas < 0.05:
                        continue
                    n += 1
                    for v in preds:
                        counts[v] += abs(preds[v][kind][i][0] / meas - 1) <= 0.2
            rows.append((graph, measured, wholes, counts, n))
    print(f"Per-op and whole-model latency on {a.device} from {os.path.relpath(a.model, ROOT)}: the profiled "
          "torch.fx graph against ONNX exports with BatchNormalization kept and folded")
    print("| model | measured ms | profiled graph | ONNX, BN kept | ONNX, BN folded | ops >= 50 us within 20 %: "
          "profiled / kept / folded |")
    print("|---|---|---|---|---|---|")
    for graph, measured, wholes, counts, n in rows:
        cells = " | ".join(f"{wholes[v]:.1f} ({100 * (wholes[v] / measured - 1):+.1f} %)"
                           for v in ("profiled", "kept", "folded"))
        print(f"| {graph} | {measured:.1f} | {cells} | {counts['profiled']} / {counts['kept']} / "
              f"{counts['folded']} of {n} |")


if __name__ == "__main__":
    main()
