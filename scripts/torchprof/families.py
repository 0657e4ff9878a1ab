"""The models the profiler measures, built as torch modules with random weights.

    zoo    torchvision classifiers (weights=None: random init, nothing downloaded)
    nb201  NAS-Bench-201 TinyNetwork (CIFAR), as in ../shared/data/README.md
    fbnet  HW-NAS-Bench FBNet (CIFAR-100), as in ../shared/data/README.md
    rcnn   gen_random_cnn.py's seeded random CNNs, turned into fx GraphModules

build(spec) -> (module in eval mode, example input).  A spec is the small
dict made by torchprof.specs; the same spec always builds the same network
(weights are seeded too, though latency does not depend on their values).

NAS-Bench-201 and FBNet mirror scripts/gen_nb201.py and scripts/gen_fbnet.py
op for op, so their traced graphs have the same ops as the generators'
graphs (test_profiler.py checks it); the differences are noted where they
occur (FBNet's channel shuffle is three view nodes here, one in gen_fbnet).
"""

import operator
import os
import sys

import torch
import torch.fx
import torch.nn as nn

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import gen_fbnet  # noqa: E402  (scripts/, no torch)
import gen_nb201  # noqa: E402
import gen_random_cnn  # noqa: E402

# --------------------------------------------------------------------- zoo

# name -> (constructor keyword arguments, default input resolution)
ZOO = {
    "resnet18": ({}, 224),
    "resnet34": ({}, 224),
    "resnet50": ({}, 224),
    "mobilenet_v2": ({}, 224),
    "mobilenet_v3_small": ({}, 224),
    "mobilenet_v3_large": ({}, 224),
    "efficientnet_b0": ({}, 224),
    "efficientnet_b1": ({}, 240),
    "densenet121": ({}, 224),
    "squeezenet1_0": ({}, 224),
    "squeezenet1_1": ({}, 224),
    "shufflenet_v2_x0_5": ({}, 224),
    "shufflenet_v2_x1_0": ({}, 224),
    "regnet_x_400mf": ({}, 224),
    "regnet_y_400mf": ({}, 224),
    "convnext_tiny": ({}, 224),
    "vit_b_16": ({}, 112),          # image_size is set to the resolution
    "mnasnet0_5": ({}, 224),
    "googlenet": ({"aux_logits": False, "init_weights": False}, 224),
    "alexnet": ({}, 224),
    "vgg11": ({}, 224),
}


def build_zoo(model, res, batch):
    import torchvision
    if model not in ZOO:
        raise ValueError("unknown zoo model %r (known: %s)" % (model, ", ".join(ZOO)))
    kw, _ = ZOO[model]
    kw = dict(kw)
    if model.startswith("vit_"):
        kw["image_size"] = res
    m = getattr(torchvision.models, model)(weights=None, **kw)
    return m, torch.randn(batch, 3, res, res)


# ------------------------------------------------------------ NAS-Bench-201

class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, k, s, p):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False),
                                nn.Conv2d(c_in, c_out, k, s, p, bias=False),
                                nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    """NAS-Bench-201 "none": x.mul(0.), executed and summed like any edge."""

    def forward(self, x):
        return x.mul(0.0)


class NB201Cell(nn.Module):
    def __init__(self, c, ops):
        super().__init__()
        self.ops = list(ops)
        edges = []
        for op in self.ops:
            if op == "none":
                edges.append(Zero())
            elif op == "skip_connect":
                edges.append(nn.Identity())
            elif op == "nor_conv_1x1":
                edges.append(ReLUConvBN(c, c, 1, 1, 0))
            elif op == "nor_conv_3x3":
                edges.append(ReLUConvBN(c, c, 3, 1, 1))
            else:
                edges.append(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))
        self.edges = nn.ModuleList(edges)

    def forward(self, x):
        nodes = [x]
        for dst in (1, 2, 3):
            acc = None
            for e, (src, d) in enumerate(gen_nb201.EDGES):
                if d != dst:
                    continue
                t = nodes[src] if self.ops[e] == "skip_connect" else self.edges[e](nodes[src])
                # k summands -> k - 1 adds, in edge order (gen_nb201.py's
                # convention; the reference's sum() also adds a leading 0)
                acc = t if acc is None else acc + t
            nodes.append(acc)
        return nodes[3]


class NB201Reduction(nn.Module):
    """ResNetBasicblock(stride 2) of NAS-Bench-201."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False))

    def forward(self, x):
        h = self.conv_b(self.conv_a(x))
        return self.downsample(x) + h


class NB201Net(nn.Module):
    def __init__(self, arch_str, num_classes=10, channels=16, cells_per_stage=5):
        super().__init__()
        ops = gen_nb201.parse_arch(arch_str)
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        cells, c = [], channels
        for stage in range(3):
            if stage:
                cells.append(NB201Reduction(c, c * 2))
                c *= 2
            for _ in range(cells_per_stage):
                cells.append(NB201Cell(c, ops))
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        h = self.lastact(self.cells(self.stem(x)))
        h = self.global_pooling(h)
        return self.classifier(h.view(h.size(0), -1))


# -------------------------------------------------------------------- FBNet

class ConvNorm(nn.Sequential):
    def __init__(self, c_in, c_out, k, s, p):
        super().__init__(nn.Conv2d(c_in, c_out, k, s, p, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=False))


class FBNetBlock(nn.Module):
    def __init__(self, c_in, c_out, k, e, g, s):
        super().__init__()
        mid = c_in * e
        self.g, self.mid = g, mid
        self.residual = c_in == c_out and s == 1
        self.conv1 = nn.Conv2d(c_in, mid, 1, 1, 0, groups=g, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.relu1 = nn.ReLU(inplace=False)
        self.dw = nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.relu2 = nn.ReLU(inplace=False)
        self.conv3 = nn.Conv2d(mid, c_out, 1, 1, 0, groups=g, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        if self.g > 1:
            # channel shuffle: the reference's view/permute/contiguous/view,
            # written without reading x.size() so symbolic tracing works
            y = y.unflatten(1, (self.g, self.mid // self.g)).transpose(1, 2).flatten(1, 2)
        y = self.relu2(self.bn2(self.dw(y)))
        y = self.bn3(self.conv3(y))
        return y + x if self.residual else y


class FBNetNet(nn.Module):
    def __init__(self, choices, num_classes=100):
        super().__init__()
        if len(choices) != gen_fbnet.N_BLOCKS:
            raise ValueError("FBNet needs %d block choices, got %d" % (gen_fbnet.N_BLOCKS, len(choices)))
        self.stem = ConvNorm(3, gen_fbnet.STEM_CHANNELS, 3, 1, 1)
        blocks = []
        for (c_in, c_out, s), ch in zip(gen_fbnet.layer_plan(), choices):
            p = gen_fbnet.parse_choice(ch)
            if p is None:
                blocks.append(nn.Identity() if (c_in == c_out and s == 1)
                              else ConvNorm(c_in, c_out, 1, s, 0))
            else:
                blocks.append(FBNetBlock(c_in, c_out, p[0], p[1], p[2], s))
        self.blocks = nn.Sequential(*blocks)
        self.header = ConvNorm(gen_fbnet.CHANNELS[-1], gen_fbnet.HEADER_CHANNELS, 1, 1, 0)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(gen_fbnet.HEADER_CHANNELS, num_classes)

    def forward(self, x):
        h = self.header(self.blocks(self.stem(x)))
        return self.fc(torch.flatten(self.pool(h), 1))


# -------------------------------------------------------------- random CNN

_ACTS = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU,
    "silu": nn.SiLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid, "elu": nn.ELU, "softplus": nn.Softplus, "mish": nn.Mish,
}


# activations whose torch module takes inplace=True
_INPLACE_ACTS = ("relu", "relu6", "leaky_relu", "silu", "hardswish", "hardsigmoid", "elu", "mish")


def module_from_graph(doc, inplace=False):
    """A torch.fx GraphModule that computes a gnnperf-graph document.

    Covers the ops gen_random_cnn.py emits (and the rest of GraphBuilder's):
    conv2d/dwconv2d (bias only when no batchnorm follows), batchnorm,
    activation, add, mul, elementwise zero/sub/div, concat (dim 1), max/avg
    pool, global_avgpool, view (flatten when the target is rank 2, else
    reshape), linear, softmax (last dim).  Node names are kept (fx turns '.'
    into '_').

    inplace=True writes activations (those in _INPLACE_ACTS, as
    nn.ReLU(inplace=True) and the like) and adds (operator.iadd, as
    torchvision's `out += identity`) in place wherever their first input is
    an op's output (not a view) that nothing else reads, the way hand-written
    models do.
    """
    nodes = doc["nodes"]
    shape = {n["name"]: n["out_shape"] for n in nodes}
    users = {}
    for n in nodes:
        for i in n.get("inputs", []):
            users.setdefault(i, []).append(n["op"])
    op_of = {n["name"]: n["op"] for n in nodes}

    def sole_reader(n):
        # a view shares its input's storage, so writing through it could reach other readers
        ins = n.get("inputs", [])
        return inplace and ins and op_of[ins[0]] not in ("input", "view") \
            and len(users.get(ins[0], [])) == 1 and ins.count(ins[0]) == 1
    root = nn.Module()
    g = torch.fx.Graph()
    val = {}
    for idx, n in enumerate(nodes):
        op, name, ins = n["op"], n["name"], n.get("inputs", [])
        a = n.get("attrs", {})
        args = [val[i] for i in ins]
        mname = "m%d" % idx
        fxname = name.replace(".", "_").replace("-", "_")

        def call_mod(mod):
            root.add_module(mname, mod)
            return g.create_node("call_module", mname, tuple(args), name=fxname)

        if op == "input":
            val[name] = g.placeholder(fxname)
        elif op == "output":
            g.output(args[0])
        elif op in ("conv2d", "dwconv2d"):
            cin, cout = shape[ins[0]][1], n["out_shape"][1]
            bias = users.get(name) != ["batchnorm"]
            val[name] = call_mod(nn.Conv2d(cin, cout, a.get("kernel", 1), a.get("stride", 1),
                                           a.get("padding", 0), a.get("dilation", 1),
                                           a.get("groups", 1), bias=bias))
        elif op == "batchnorm":
            val[name] = call_mod(nn.BatchNorm2d(n["out_shape"][1]))
        elif op == "activation":
            if sole_reader(n) and a["fn"] in _INPLACE_ACTS:
                val[name] = call_mod(_ACTS[a["fn"]](inplace=True))
            else:
                val[name] = call_mod(_ACTS[a["fn"]]())
        elif op in ("maxpool2d", "avgpool2d"):
            cls = nn.MaxPool2d if op == "maxpool2d" else nn.AvgPool2d
            val[name] = call_mod(cls(a.get("kernel", 1), a.get("stride", 1), a.get("padding", 0)))
        elif op == "global_avgpool":
            val[name] = call_mod(nn.AdaptiveAvgPool2d(1))
        elif op == "linear":
            val[name] = call_mod(nn.Linear(shape[ins[0]][-1], n["out_shape"][-1]))
        elif op == "softmax":
            val[name] = call_mod(nn.Softmax(dim=-1))
        elif op == "add":
            fn = operator.iadd if sole_reader(n) and shape[ins[0]] == n["out_shape"] else operator.add
            val[name] = g.create_node("call_function", fn, tuple(args), name=fxname)
        elif op == "mul":
            val[name] = g.create_node("call_function", operator.mul, tuple(args), name=fxname)
        elif op == "elementwise" and a.get("fn") == "zero":
            val[name] = g.create_node("call_method", "mul", (args[0], 0.0), name=fxname)
        elif op == "elementwise" and a.get("fn") in ("sub", "div"):
            fn = operator.sub if a["fn"] == "sub" else operator.truediv
            val[name] = g.create_node("call_function", fn, tuple(args), name=fxname)
        elif op == "concat":
            val[name] = g.create_node("call_function", torch.cat, (list(args),), {"dim": 1}, name=fxname)
        elif op == "view":
            tgt = n["out_shape"]
            if len(tgt) == 2 and tgt[0] == shape[ins[0]][0]:
                val[name] = g.create_node("call_function", torch.flatten, (args[0], 1), name=fxname)
            else:
                val[name] = g.create_node("call_method", "reshape", (args[0], tuple(tgt)), name=fxname)
        else:
            raise ValueError("graph %s: node %s: op %r (fn %r) has no torch equivalent here"
                             % (doc.get("name"), name, op, a.get("fn")))
    g.lint()
    return torch.fx.GraphModule(root, g, class_name="RandomCNN")


# ------------------------------------------------------------------- build

def build(spec):
    """(eval-mode module, example input) for a spec dict (see torchprof.specs)."""
    fam = spec["family"]
    torch.manual_seed(spec.get("weight_seed", 0))
    b = int(spec.get("batch", 1))
    if fam == "zoo":
        m, x = build_zoo(spec["model"], int(spec["res"]), b)
    elif fam == "nb201":
        m = NB201Net(spec["arch"], num_classes=int(spec.get("classes", 10)))
        r = int(spec.get("res", 32))
        x = torch.randn(b, 3, r, r)
    elif fam == "fbnet":
        m = FBNetNet(spec["choices"], num_classes=int(spec.get("classes", 100)))
        r = int(spec.get("res", 32))
        x = torch.randn(b, 3, r, r)
    elif fam == "rcnn":
        doc = rcnn_doc(spec)
        m = module_from_graph(doc, inplace=bool(spec.get("inplace")))
        x = torch.randn(*doc["nodes"][0]["out_shape"])
    else:
        raise ValueError("unknown family %r" % fam)
    return m.eval(), x


def rcnn_doc(spec):
    """The gen_random_cnn.py graph of an rcnn spec (same RNG stream as the generator)."""
    gens = gen_random_cnn.generate(1, int(spec["nodes"]), int(spec["seed"]), int(spec.get("batch", 1)),
                                   float(spec.get("spread", 0.0)), start=int(spec["index"]))
    return next(gens).to_json()
