#!/usr/bin/python3
"""make_torch_reference: the PyTorch reference for tests/test_reference.c.

Builds the GNN of gnn/model.c again in PyTorch 1.13, written from the model's
description (gnn/model.h, layers.h, loss.h, optim.h), not translated from its
C loops, and writes tests/data/reference/gnn_reference.h5 holding, for five
small configurations: the configuration, a hand-made batch, the initial
parameters (by the C model's names and shapes), the outputs, the loss, every
parameter gradient, and the parameters and loss after 5 AdamW steps on that
batch.

What it is not: a trainer or a benchmark. The computation is float32 like the
C model; the two sum in different orders (BLAS blocking, CSR order, OpenMP),
so tests/test_reference.c compares with tolerances, not bit for bit. Losses
are reduced in float64, as gnn/loss.c does.

usage: /usr/bin/python3 scripts/make_torch_reference.py [OUT.h5]
The output is committed (< 1 MB); rerun only when the model's definition
changes, and say why in the commit.
"""
import os
import sys

import h5py
import numpy as np
import torch

FORMAT = "gnnperf-torch-reference"
VERSION = 1

# Every configuration: one layer type each (all four covered), every pool,
# every loss, with and without norm, residual, descriptors and each head.
CONFIGS = {
    "a": dict(layer="directed", pool="attention", norm=1, residual=1, in_dim=6, hidden=16, n_layers=2,
              head_hidden=12, n_devices=3, device_dim=5, n_descriptors=3, n_node_targets=2, n_graph_targets=2,
              loss="mse_log", dev_ids=[2, 0], empty_graph=0, seed=11),
    "b": dict(layer="sage_mean", pool="max", norm=0, residual=0, in_dim=5, hidden=12, n_layers=2,
              head_hidden=10, n_devices=2, device_dim=4, n_descriptors=0, n_node_targets=1, n_graph_targets=1,
              loss="rel_sq", dev_ids=[1], empty_graph=1, seed=12),
    "c": dict(layer="gin", pool="mean", norm=1, residual=1, in_dim=7, hidden=16, n_layers=2,
              head_hidden=8, n_devices=3, device_dim=4, n_descriptors=2, n_node_targets=1, n_graph_targets=2,
              loss="huber_log", dev_ids=[0, 2], empty_graph=0, seed=13),
    "d": dict(layer="sage_sum", pool="sum", norm=1, residual=0, in_dim=4, hidden=8, n_layers=3,
              head_hidden=8, n_devices=1, device_dim=3, n_descriptors=0, n_node_targets=0, n_graph_targets=1,
              loss="mse_log", dev_ids=[0], empty_graph=1, seed=14),
    "e": dict(layer="directed", pool="additive", norm=1, residual=1, in_dim=5, hidden=12, n_layers=2,
              head_hidden=8, n_devices=3, device_dim=4, n_descriptors=2, n_node_targets=1, n_graph_targets=2,
              loss="mse_log", dev_ids=[1, 2], empty_graph=1, seed=15),
}
ADAM = dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, steps=5)
# Exactly representable in float32: the C side passes them as float.
NODE_WEIGHT, GRAPH_WEIGHT = 0.75, 1.25
REL_SQ_CLAMP = 20.0  # gnn/loss.c clamps sigma * (p - t) here


# ---------------------------------------------------------------- batch

def make_batch(rs, cfg):
    """Four DAG-like graphs (producers among earlier nodes), 40 nodes:
    graph 0 has an isolated node, graph 1 a node with 9 producers (one of
    them twice), graph 2 duplicate edges, graph 3 a chain with fan-out;
    optionally an empty graph between graphs 1 and 2."""
    sizes = [12, 10, 8, 10]
    edges = []  # (src, dst), batch-local ids
    base = 0
    for g, n in enumerate(sizes):
        local = []
        if g == 0:
            iso = 5
            for j in range(1, n):
                if j == iso:
                    continue
                cand = [i for i in range(j) if i != iso]
                if not cand:
                    continue
                k = min(len(cand), 1 + rs.randint(0, 2))
                for i in rs.choice(cand, size=k, replace=False):
                    local.append((int(i), j))
        elif g == 1:
            for j in range(1, n - 1):
                local.append((j - 1, j))
            local += [(i, n - 1) for i in range(n - 1)] + [(3, n - 1)]  # 9 producers, node 3 twice
        elif g == 2:
            local += [(0, 1), (0, 1), (1, 2), (0, 2), (2, 3), (2, 3), (2, 3), (3, 4), (1, 5), (5, 6), (4, 7),
                      (6, 7), (6, 7)]
        else:
            for j in range(1, n):
                local.append((j - 1, j))
            local += [(0, 4), (0, 7), (2, 9), (5, 9)]
        edges += [(s + base, d + base) for s, d in local]
        base += n
    N = base
    off = [0]
    for g, n in enumerate(sizes):
        off.append(off[-1] + n)
        if g == 1 and cfg["empty_graph"]:
            off.append(off[-1])
    # pred CSR: producers of each node, in edge order; succ CSR: consumers,
    # ascending with repeats adjacent (the C side's csr_reverse order).
    pred = [[] for _ in range(N)]
    succ = [[] for _ in range(N)]
    for s, d in edges:
        pred[d].append(s)
    for d in range(N):
        for s in pred[d]:
            succ[s].append(d)

    def csr(lists):
        ptr = np.zeros(N + 1, np.int64)
        ptr[1:] = np.cumsum([len(v) for v in lists])
        idx = np.array([x for v in lists for x in v], np.int64)
        return ptr, idx

    pred_ptr, pred_idx = csr(pred)
    succ_ptr, succ_idx = csr(succ)
    G = len(off) - 1
    D = len(cfg["dev_ids"])
    Tn, Tg = cfg["n_node_targets"], cfg["n_graph_targets"]
    b = dict(
        x=rs.normal(size=(N, cfg["in_dim"])).astype(np.float32),
        pred_ptr=pred_ptr, pred_idx=pred_idx, succ_ptr=succ_ptr, succ_idx=succ_idx,
        graph_off=np.array(off, np.int64),
        dev_ids=np.array(cfg["dev_ids"], np.int32),
        descriptors=rs.normal(size=(D, cfg["n_descriptors"])).astype(np.float32),
        # Spread 1.5 so Huber sees both branches; about one in six unmeasured.
        node_y=(1.5 * rs.normal(size=(N * D, Tn))).astype(np.float32),
        graph_y=(1.5 * rs.normal(size=(G * D, Tg))).astype(np.float32),
        node_sigma=rs.uniform(0.5, 1.5, size=Tn).astype(np.float32),
        graph_sigma=rs.uniform(0.5, 1.5, size=Tg).astype(np.float32),
    )
    b["node_y"][rs.uniform(size=b["node_y"].shape) < 1 / 6] = np.nan
    b["graph_y"][rs.uniform(size=b["graph_y"].shape) < 1 / 6] = np.nan
    if cfg["pool"] == "additive":
        # ln of each node's prior share for graph target 0; target 1 takes none
        lw = np.zeros((N * D, Tg), np.float32)
        lw[:, 0] = rs.normal(-2.0, 1.0, size=N * D)
        b["readout_lw"] = lw
    return b


# ---------------------------------------------------------------- parameters

def param_shapes(c):
    """(name, rows, cols) as gnn/model.c lays them out; matrices are
    (fan_in, fan_out) so that y = x @ W."""
    H, Hh, De = c["hidden"], c["head_hidden"], c["device_dim"]
    out = [("in.w", c["in_dim"], H), ("in.b", 1, H)]
    for l in range(c["n_layers"]):
        p = "layer%d." % l
        if c["layer"] == "gin":
            out += [(p + "w1", H, H), (p + "b1", 1, H), (p + "w2", H, H), (p + "b2", 1, H), (p + "eps", 1, 1)]
        else:
            out += [(p + "w_self", H, H), (p + "w_pred", H, H)]
            if c["layer"] == "directed":
                out.append((p + "w_succ", H, H))
            out.append((p + "b", 1, H))
        if c["norm"]:
            out += [(p + "norm.gamma", 1, H), (p + "norm.beta", 1, H)]
    out.append(("device.embedding", c["n_devices"], De))
    if c["n_descriptors"]:
        out += [("device.desc.w", c["n_descriptors"], De), ("device.desc.b", 1, De)]
    if c["n_node_targets"]:
        out += [("node_head.w1x", H, Hh), ("node_head.w1e", De, Hh), ("node_head.b1", 1, Hh),
                ("node_head.w2", Hh, c["n_node_targets"]), ("node_head.b2", 1, c["n_node_targets"])]
    if c["n_graph_targets"]:
        if c["pool"] == "attention":
            out += [("pool.att.w", 1, H), ("pool.att.b", 1, 1)]
        out += [("graph_head.w1x", H, Hh), ("graph_head.w1e", De, Hh), ("graph_head.b1", 1, Hh),
                ("graph_head.w2", Hh, c["n_graph_targets"]), ("graph_head.b2", 1, c["n_graph_targets"])]
    return out


def init_params(c):
    """Random from a fixed torch seed. Unlike the C model's initialisation,
    biases, eps, gains and the attention vector are non-zero too, so that
    every gradient path is exercised away from its special point."""
    gen = torch.Generator().manual_seed(c["seed"])
    params = {}
    for name, r, k in param_shapes(c):
        if name.endswith("gamma"):
            v = 1.0 + 0.1 * torch.randn(r, k, generator=gen)
        elif r > 1:  # matrices and the embedding table: Glorot uniform
            a = (6.0 / (r + k)) ** 0.5
            v = (2.0 * torch.rand(r, k, generator=gen) - 1.0) * a
        else:
            v = 0.1 * torch.randn(r, k, generator=gen)
        params[name] = v.float().requires_grad_(True)
    return params


# ---------------------------------------------------------------- model

def edges_of(ptr, idx):
    """(src, dst) of a CSR whose row i lists idx[ptr[i]:ptr[i+1]]: messages
    flow from the listed node to the row."""
    n = ptr.numel() - 1
    dst = torch.repeat_interleave(torch.arange(n), ptr[1:] - ptr[:-1])
    return idx, dst


def aggregate(h, src, dst, mean):
    out = torch.zeros_like(h).index_add_(0, dst, h[src])
    if mean:
        deg = torch.bincount(dst, minlength=h.shape[0]).clamp(min=1).to(h.dtype)
        out = out / deg[:, None]
    return out


def pool(h, off, kind, P):
    rows = []
    for g in range(off.numel() - 1):
        hg = h[off[g]:off[g + 1]]
        if hg.shape[0] == 0:  # an empty graph reads out zeros
            rows.append(torch.zeros(h.shape[1]))
        elif kind == "sum":
            rows.append(hg.sum(0))
        elif kind == "mean":
            rows.append(hg.mean(0))
        elif kind == "max":
            rows.append(hg.max(0).values)
        else:
            s = hg @ P["pool.att.w"][0] + P["pool.att.b"][0, 0]
            rows.append(torch.softmax(s, 0) @ hg)
    return torch.stack(rows)


def additive_readout(z, lw, sigma, off, D):
    """(1 / s) ln sum_i exp(s z_i + lw_i) per (graph, device, target): the
    graph's cost as the sum of its nodes' (gnn/layers.h); empty graphs 0."""
    N, T = z.shape[0] // D, z.shape[1]
    a = (sigma * z + lw).view(N, D, T)
    rows = []
    for g in range(off.numel() - 1):
        if off[g + 1] == off[g]:
            rows.append(torch.zeros(D, T))
        else:
            rows.append(torch.logsumexp(a[off[g]:off[g + 1]], 0) / sigma)
    return torch.stack(rows).reshape(-1, T)


def pair_head(x, e, P, prefix):
    """MLP on concat(x_r, e_d) for every (row, device), rows major."""
    R, D = x.shape[0], e.shape[0]
    xr = x.repeat_interleave(D, 0)       # (R*D, H): row r repeated for each device
    ed = e.repeat(R, 1)                  # (R*D, De): devices cycle fastest
    u = torch.relu(xr @ P[prefix + ".w1x"] + ed @ P[prefix + ".w1e"] + P[prefix + ".b1"])
    return u @ P[prefix + ".w2"] + P[prefix + ".b2"]


def forward(c, B, P):
    h = torch.relu(B["x"] @ P["in.w"] + P["in.b"])
    ps, pd = edges_of(B["pred_ptr"], B["pred_idx"])
    ss, sd = edges_of(B["succ_ptr"], B["succ_idx"])
    H = c["hidden"]
    for l in range(c["n_layers"]):
        p = "layer%d." % l
        if c["layer"] == "gin":
            u = (1.0 + P[p + "eps"][0, 0]) * h + aggregate(h, ps, pd, mean=False)
            m = torch.relu(u @ P[p + "w1"] + P[p + "b1"])
            a = torch.relu(m @ P[p + "w2"] + P[p + "b2"])
        else:
            mean = c["layer"] != "sage_sum"
            z = h @ P[p + "w_self"] + aggregate(h, ps, pd, mean) @ P[p + "w_pred"]
            if c["layer"] == "directed":
                z = z + aggregate(h, ss, sd, mean) @ P[p + "w_succ"]
            a = torch.relu(z + P[p + "b"])
        out = h + a if c["residual"] else a
        if c["norm"]:
            out = torch.nn.functional.layer_norm(out, (H,), P[p + "norm.gamma"][0], P[p + "norm.beta"][0], 1e-5)
        h = out
    e = P["device.embedding"][B["dev_ids"].long()]
    if c["n_descriptors"]:
        e = e + torch.relu(B["descriptors"] @ P["device.desc.w"] + P["device.desc.b"])
    node_out = pair_head(h, e, P, "node_head") if c["n_node_targets"] else None
    graph_out = None
    if c["n_graph_targets"] and c["pool"] == "additive":
        z = pair_head(h, e, P, "graph_head")
        graph_out = additive_readout(z, B["readout_lw"], B["graph_sigma"], B["graph_off"], e.shape[0])
    elif c["n_graph_targets"]:
        graph_out = pair_head(pool(h, B["graph_off"], c["pool"], P), e, P, "graph_head")
    return node_out, graph_out


def loss_term(pred, target, sigma, kind, weight):
    """weight * mean over measured (non-NaN) entries, reduced in float64."""
    mask = ~torch.isnan(target)
    n = int(mask.sum())
    if n == 0:
        return torch.zeros((), dtype=torch.float64)
    e = (pred.double() - target.double())[mask]
    s = sigma.double().expand_as(pred)[mask]
    if kind == "mse_log":
        l = e * e
    elif kind == "huber_log":
        l = torch.where(e.abs() <= 1.0, 0.5 * e * e, e.abs() - 0.5)
    else:
        # rel_sq: (exp(z) - 1)^2 with z = sigma e clamped at 20 in value only:
        # gnn/loss.c keeps the gradient of the clamped point (straight
        # through), so a wild prediction is still pulled back.
        z = s * e
        z = z - (z - REL_SQ_CLAMP).clamp(min=0.0).detach()
        q = torch.exp(z)
        l = (q - 1.0) ** 2
    return weight * l.sum() / n


def total_loss(c, B, P):
    node_out, graph_out = forward(c, B, P)
    L = torch.zeros((), dtype=torch.float64)
    if node_out is not None:
        L = L + loss_term(node_out, B["node_y"], B["node_sigma"], c["loss"], NODE_WEIGHT)
    if graph_out is not None:
        L = L + loss_term(graph_out, B["graph_y"], B["graph_sigma"], c["loss"], GRAPH_WEIGHT)
    return L, node_out, graph_out


def adamw_step(P, shapes, state, step):
    """AdamW as gnn/optim.h states it: bias-corrected moments, eps added to
    sqrt(v_hat), decoupled decay lr * wd * w on matrices only (rows > 1 and
    cols > 1), all in float32."""
    a = ADAM
    c1, c2 = 1.0 - a["beta1"] ** step, 1.0 - a["beta2"] ** step
    with torch.no_grad():
        for name, r, k in shapes:
            w, g = P[name], P[name].grad
            m, v = state[name]
            m.mul_(a["beta1"]).add_((1.0 - a["beta1"]) * g)
            v.mul_(a["beta2"]).add_((1.0 - a["beta2"]) * g * g)
            upd = a["lr"] * (m / c1) / (torch.sqrt(v / c2) + a["eps"])
            if r > 1 and k > 1:
                upd = upd + a["lr"] * a["weight_decay"] * w
            w.sub_(upd)


# ---------------------------------------------------------------- output

def run_config(f, key, c):
    torch.manual_seed(c["seed"])
    rs = np.random.RandomState(c["seed"])
    nb = make_batch(rs, c)
    B = {k: torch.from_numpy(v) for k, v in nb.items()}
    shapes = param_shapes(c)
    P = init_params(c)
    grp = f.create_group(key)
    for k, v in c.items():
        if k in ("dev_ids",):
            continue
        grp.attrs[k] = np.bytes_(v) if isinstance(v, str) else np.int64(v)
    grp.attrs["node_weight"] = np.float32(NODE_WEIGHT)
    grp.attrs["graph_weight"] = np.float32(GRAPH_WEIGHT)
    for k, v in ADAM.items():
        grp.attrs["adam_" + k] = np.float64(v)
    bg = grp.create_group("batch")
    for k, v in nb.items():
        bg.create_dataset(k, data=v)
    pg = grp.create_group("params")
    for name, r, k in shapes:
        pg.create_dataset(name, data=P[name].detach().numpy())

    L, node_out, graph_out = total_loss(c, B, P)
    L.backward()
    grp.create_dataset("loss", data=np.float64(L.item()))
    if node_out is not None:
        grp.create_dataset("node_out", data=node_out.detach().numpy())
    if graph_out is not None:
        grp.create_dataset("graph_out", data=graph_out.detach().numpy())
    gg = grp.create_group("grads")
    for name, r, k in shapes:
        gg.create_dataset(name, data=P[name].grad.numpy())

    state = {n: (torch.zeros(r, k), torch.zeros(r, k)) for n, r, k in shapes}
    step_losses = []
    for step in range(1, ADAM["steps"] + 1):
        for p in P.values():
            p.grad = None
        L, _, _ = total_loss(c, B, P)
        L.backward()
        step_losses.append(L.item())
        adamw_step(P, shapes, state, step)
    with torch.no_grad():
        L_after, _, _ = total_loss(c, B, P)
    ag = grp.create_group("after")
    ag.create_dataset("step_losses", data=np.array(step_losses, np.float64))
    ag.create_dataset("loss", data=np.float64(L_after.item()))
    apg = ag.create_group("params")
    for name, r, k in shapes:
        apg.create_dataset(name, data=P[name].detach().numpy())
    print("config %s: %s/%s, %d nodes, %d edges, %d graphs, loss %.6f -> %.6f after %d steps"
          % (key, c["layer"], c["pool"], nb["x"].shape[0], nb["pred_idx"].shape[0],
             nb["graph_off"].shape[0] - 1, step_losses[0], L_after.item(), ADAM["steps"]))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "reference", "gnn_reference.h5")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.set_num_threads(1)
    tmp = out + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = np.bytes_(FORMAT)
        f.attrs["version"] = np.int64(VERSION)
        f.attrs["torch_version"] = np.bytes_(torch.__version__)
        f.attrs["configs"] = np.bytes_(",".join(CONFIGS))
        for key, c in CONFIGS.items():
            run_config(f, key, c)
    os.replace(tmp, out)
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
