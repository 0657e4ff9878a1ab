"""The ordered list of graphs a profiling run covers (no torch import).

A spec is a small JSON-able dict naming one network at one batch size; the
worker builds it with torchprof.families.build.  The list depends only on
the command line (and the shared arch files), never on what is already
profiled, so a resumed run regenerates it and skips what is done.

Graph names:
    zoo    <model>_b<batch>            (<model>_r<res>_b<batch> off the model's default size)
    nb201  nb201_<arch_index>_b<batch> (nb201_s<seed>_<i>_b<batch> for random archs)
    fbnet  fbnet_<arch_id>_b<batch>    (fbnet_s<seed>_<i>_b<batch> for random archs)
    rcnn   rcnn_<seed>_<i>_b<batch>    (i = gen_random_cnn.py's graph index)
    rcnnip rcnnip_<seed>_<i>_b<batch>  (the same networks with in-place activations and
                                        adds wherever the input has no other reader)
and _r<res> before _b for nb201/fbnet off 32x32.  "all" means the first four
families (ALL): rcnnip is asked for by name, so the lists of earlier "all"
runs stay the same.
"""

import os
import random
import sys

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import gen_fbnet  # noqa: E402
import gen_nb201  # noqa: E402
import gen_random_cnn  # noqa: E402
import gpgraph  # noqa: E402

from . import labelcost  # noqa: E402

ALL = ("zoo", "nb201", "fbnet", "rcnn")
FAMILIES = ALL + ("rcnnip",)
ZOO_ORDER = ("resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_small",
             "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b1", "densenet121",
             "squeezenet1_0", "squeezenet1_1", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
             "regnet_x_400mf", "regnet_y_400mf", "convnext_tiny", "vit_b_16", "mnasnet0_5",
             "googlenet", "alexnet", "vgg11")
ZOO_RES = {"efficientnet_b1": 240, "vit_b_16": 112}   # default 224


def zoo_specs(count, batches, res_list=None, models=None):
    names = list(models or ZOO_ORDER)[:count] if count is not None else list(models or ZOO_ORDER)
    out = []
    for m in names:
        default = ZOO_RES.get(m, 224)
        for r in (res_list or [default]):
            for b in batches:
                tag = "" if r == default else "_r%d" % r
                out.append({"family": "zoo", "model": m, "res": r, "batch": b,
                            "name": "%s%s_b%d" % (m, tag, b)})
    return out


def _random_nb201_arch(rng):
    ops = [rng.choice(gen_nb201.OPS) for _ in gen_nb201.EDGES]
    k = iter(ops)
    groups = []
    for dst in (1, 2, 3):
        groups.append("|" + "|".join("%s~%d" % (next(k), src) for src in range(dst)) + "|")
    return "+".join(groups)


def nb201_specs(count, batches, seed=1, start=0, res=32, archs_file=None):
    path = archs_file or gpgraph.default_data_file("help_nb201", "nb201_archs.csv")
    rows = []
    if path and os.path.exists(path):
        for idx, s in gen_nb201.read_archs(path):
            if idx >= start:
                rows.append(("%d" % idx, s, idx))
            if len(rows) >= count:
                break
    else:
        rng = random.Random("nb201:%d" % seed)
        for i in range(start + count):
            s = _random_nb201_arch(rng)
            if i >= start:
                rows.append(("s%d_%d" % (seed, i), s, None))
    rtag = "" if res == 32 else "_r%d" % res
    out = []
    for tag, s, idx in rows:
        for b in batches:
            sp = {"family": "nb201", "arch": s, "batch": b, "res": res,
                  "name": "nb201_%s%s_b%d" % (tag, rtag, b)}
            if idx is not None:
                sp["arch_index"] = idx
            out.append(sp)
    return out


def fbnet_specs(count, batches, seed=1, start=0, res=32, archs_file=None):
    path = archs_file or gpgraph.default_data_file("help_fbnet", "fbnet_archs.csv")
    rows = []
    if path and os.path.exists(path):
        for aid, choices in gen_fbnet.read_archs(path):
            if aid >= start:
                rows.append(("%d" % aid, choices, aid))
            if len(rows) >= count:
                break
    else:
        rng = random.Random("fbnet:%d" % seed)
        for i in range(start + count):
            ch = [rng.choice(gen_fbnet.PRIMITIVES) for _ in range(gen_fbnet.N_BLOCKS)]
            if i >= start:
                rows.append(("s%d_%d" % (seed, i), ch, None))
    rtag = "" if res == 32 else "_r%d" % res
    out = []
    for tag, ch, aid in rows:
        for b in batches:
            sp = {"family": "fbnet", "choices": ch, "batch": b, "res": res,
                  "name": "fbnet_%s%s_b%d" % (tag, rtag, b)}
            if aid is not None:
                sp["arch_id"] = aid
            out.append(sp)
    return out


def family_name(spec):
    """The family a spec's graph is reported under: rcnnip for in-place random CNNs
    (their specs are built as rcnn with "inplace": true)."""
    return "rcnnip" if spec["family"] == "rcnn" and spec.get("inplace") else spec["family"]


def rcnn_specs(count, batches, seed=1, start=0, nodes=80, spread=0.75, max_gflops=5.0, inplace=False):
    """Random CNNs whose FLOPs at each batch size stay under max_gflops.

    Index i draws graph i of gen_random_cnn.py (seed, nodes, spread); an
    index whose graph is over the cap at any requested batch is skipped, so
    the kept set is deterministic.  Also at most 10 x count indices are tried.
    """
    out = []
    i = start
    kept = 0
    while kept < count and i < start + 10 * max(count, 1):
        ok = []
        for b in batches:
            doc = next(gen_random_cnn.generate(1, nodes, seed, b, spread, start=i)).to_json()
            if max_gflops and labelcost.graph_flops(doc) > max_gflops * 1e9:
                ok = None
                break
            sp = {"family": "rcnn", "seed": seed, "index": i, "nodes": nodes, "spread": spread,
                  "batch": b, "name": "rcnn%s_%d_%d_b%d" % ("ip" if inplace else "", seed, i, b)}
            if inplace:
                sp["inplace"] = True
            ok.append(sp)
        if ok:
            out.extend(ok)
            kept += 1
        i += 1
    return out


def build_specs(families, count, batches, seed=1, start=0, zoo_res=None, cifar_res=32,
                rcnn_nodes=80, rcnn_spread=0.75, rcnn_max_gflops=5.0):
    """Specs of all families, interleaved (see interleave)."""
    lists = []
    for f in families:
        if f == "zoo":
            lists.append(zoo_specs(count, batches, zoo_res))
        elif f == "nb201":
            lists.append(nb201_specs(count, batches, seed, start, cifar_res))
        elif f == "fbnet":
            lists.append(fbnet_specs(count, batches, seed, start, cifar_res))
        elif f in ("rcnn", "rcnnip"):
            lists.append(rcnn_specs(count, batches, seed, start, rcnn_nodes, rcnn_spread,
                                    rcnn_max_gflops, inplace=f == "rcnnip"))
        else:
            raise ValueError("unknown family %r (known: %s)" % (f, ", ".join(FAMILIES)))
    return interleave(lists)


def interleave(lists):
    """Round-robin merge (zoo, nb201, fbnet, rcnn, zoo, ...) so that a run cut
    short by a time limit still covers every family; duplicate names dropped."""
    out, seen = [], set()
    for k in range(max((len(x) for x in lists), default=0)):
        for x in lists:
            if k < len(x) and x[k]["name"] not in seen:
                seen.add(x[k]["name"])
                out.append(x[k])
    return out
