#!/usr/bin/python3
"""bench_torch: the model and workload of bench/bench_gnn.c in PyTorch 1.13,
for the throughput comparison in bench/gnn_throughput.sh. Not a test.

Reads the workload bench_gnn --write dumped (same graphs, features, targets
and batch composition: 64 consecutive graphs in file order), builds the same
model (3 directed message-passing layers with residual and layer norm, hidden
64, attention pooling, node and graph heads with head hidden 64 and a 16-wide
device vector, MSE on both targets, Adam lr 1e-3) with index_add-based
message passing, the usual way without torch-geometric. Batches (edge index,
degrees, graph ids) are built once before timing, as on the C side.

Reports medians over --epochs timed epochs after a warm-up (fewer once
--budget seconds of timed epochs have passed; at least one): training
(forward + loss + backward + Adam) and inference (forward, no_grad) graphs/s,
GFLOP/s by the same analytic GEMM count as bench_gnn, and peak RSS. The last
line is machine-readable (RESULT key=value ...).

usage: OMP_NUM_THREADS=T /usr/bin/python3 bench/bench_torch.py FILE [--threads T] [--epochs E] [--budget S]
(set OMP_NUM_THREADS before Python starts: torch reads it at import)
"""
import argparse
import resource
import statistics
import sys
import time
import warnings

import numpy as np
import torch

F_IN, HIDDEN, LAYERS, HEAD_HIDDEN, DEVICE_DIM, BATCH_GRAPHS = 32, 64, 3, 64, 16, 64
WARMUP_BATCHES = 8


def read_workload(path):
    with open(path, "rb") as f:
        if f.read(8) != b"GPBENCH1":
            sys.exit("bench_torch: %s is not a bench_gnn --write file" % path)
        G, N, E, F = (int(v) for v in np.fromfile(f, np.int64, 4))
        if F != F_IN:
            sys.exit("bench_torch: %s has %d features, expected %d" % (path, F, F_IN))
        w = dict(G=G, N=N, E=E)
        w["node_off"] = np.fromfile(f, np.int64, G + 1)
        w["pred_ptr"] = np.fromfile(f, np.int64, N + 1)
        w["pred_idx"] = np.fromfile(f, np.int64, E)
        w["x"] = np.fromfile(f, np.float32, N * F).reshape(N, F)
        w["node_y"] = np.fromfile(f, np.float32, N)
        w["graph_y"] = np.fromfile(f, np.float32, G)
        if w["graph_y"].shape[0] != G:
            sys.exit("bench_torch: %s is truncated" % path)
    return w


def make_batches(w):
    x = torch.from_numpy(w["x"])
    node_y = torch.from_numpy(w["node_y"])[:, None]
    graph_y = torch.from_numpy(w["graph_y"])[:, None]
    off, ptr, idx = w["node_off"], w["pred_ptr"], w["pred_idx"]
    batches = []
    for g0 in range(0, w["G"], BATCH_GRAPHS):
        g1 = min(g0 + BATCH_GRAPHS, w["G"])
        v0, v1 = off[g0], off[g1]
        n = v1 - v0
        lp = ptr[v0:v1 + 1] - ptr[v0]
        src = torch.from_numpy(idx[ptr[v0]:ptr[v1]] - v0)          # producer
        dst = torch.repeat_interleave(torch.arange(n), torch.from_numpy(np.diff(lp)))  # consumer
        deg_in = torch.bincount(dst, minlength=n).clamp(min=1).float()
        deg_out = torch.bincount(src, minlength=n).clamp(min=1).float()
        sizes = torch.from_numpy(np.diff(off[g0:g1 + 1]))
        batches.append(dict(
            x=x[v0:v1], src=src, dst=dst, inv_in=(1.0 / deg_in)[:, None], inv_out=(1.0 / deg_out)[:, None],
            graph=torch.repeat_interleave(torch.arange(g1 - g0), sizes), G=g1 - g0, N=int(n),
            node_y=node_y[v0:v1], graph_y=graph_y[g0:g1]))
    return batches


def glorot(r, c):
    a = (6.0 / (r + c)) ** 0.5
    return torch.nn.Parameter((2.0 * torch.rand(r, c) - 1.0) * a)


def zeros(*shape):
    return torch.nn.Parameter(torch.zeros(*shape))


class GNN(torch.nn.Module):
    """The C model's default configuration (gnn/model.h), one device."""

    def __init__(self):
        super().__init__()
        H, Hh, De = HIDDEN, HEAD_HIDDEN, DEVICE_DIM
        self.w_in, self.b_in = glorot(F_IN, H), zeros(H)
        self.ws = torch.nn.ParameterList([glorot(H, H) for _ in range(LAYERS)])
        self.wp = torch.nn.ParameterList([glorot(H, H) for _ in range(LAYERS)])
        self.wc = torch.nn.ParameterList([glorot(H, H) for _ in range(LAYERS)])
        self.b = torch.nn.ParameterList([zeros(H) for _ in range(LAYERS)])
        self.norms = torch.nn.ModuleList([torch.nn.LayerNorm(H, eps=1e-5) for _ in range(LAYERS)])
        self.emb = glorot(1, De)
        self.att_w, self.att_b = zeros(H), zeros(1)
        self.nh = torch.nn.ParameterList([glorot(H, Hh), glorot(De, Hh), zeros(Hh), glorot(Hh, 1), zeros(1)])
        self.gh = torch.nn.ParameterList([glorot(H, Hh), glorot(De, Hh), zeros(Hh), glorot(Hh, 1), zeros(1)])

    @staticmethod
    def head(x, e, p):
        # One device: the pair MLP on concat(x_r, e) is x W1x + (e W1e + b1).
        u = torch.relu(x @ p[0] + (e @ p[1] + p[2]))
        return u @ p[3] + p[4]

    def forward(self, B):
        h = torch.relu(B["x"] @ self.w_in + self.b_in)
        src, dst = B["src"], B["dst"]
        for l in range(LAYERS):
            agg_p = torch.zeros_like(h).index_add_(0, dst, h[src]) * B["inv_in"]
            agg_s = torch.zeros_like(h).index_add_(0, src, h[dst]) * B["inv_out"]
            a = torch.relu(h @ self.ws[l] + agg_p @ self.wp[l] + agg_s @ self.wc[l] + self.b[l])
            h = self.norms[l](h + a)
        e = self.emb
        node_out = self.head(h, e, self.nh)
        # Attention pooling: softmax of h.w + b within each graph.
        g, G = B["graph"], B["G"]
        s = h @ self.att_w + self.att_b
        smax = torch.full((G,), -float("inf")).scatter_reduce(0, g, s.detach(), "amax", include_self=True)
        ex = torch.exp(s - smax[g])
        z = torch.zeros(G).index_add_(0, g, ex)
        alpha = ex / z[g]
        pooled = torch.zeros(G, h.shape[1]).index_add_(0, g, alpha[:, None] * h)
        graph_out = self.head(pooled, e, self.gh)
        return node_out, graph_out


def gemm_flops_forward(N, G):
    """The same analytic count as bench_gnn.c."""
    H, Hh, De, D = HIDDEN, HEAD_HIDDEN, DEVICE_DIM, 1
    f = 2.0 * N * F_IN * H + LAYERS * 3 * 2.0 * N * H * H
    f += 2.0 * N * H * Hh + 2.0 * D * De * Hh + 2.0 * N * D * Hh
    f += 2.0 * G * H * Hh + 2.0 * D * De * Hh + 2.0 * G * D * Hh
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.0, help="seconds of timed epochs per mode; 0: no limit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    # scatter_reduce is "beta" in 1.13 and says so on first use; the API is fixed here.
    warnings.filterwarnings("ignore", message="scatter_reduce")
    torch.manual_seed(1)
    w = read_workload(a.file)
    batches = make_batches(w)
    model = GNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    mse = torch.nn.functional.mse_loss
    flops_infer = sum(gemm_flops_forward(B["N"], B["G"]) for B in batches)
    flops_train = sum(3 * gemm_flops_forward(B["N"], B["G"]) - 2.0 * B["N"] * F_IN * HIDDEN for B in batches)

    def train_batch(B):
        opt.zero_grad(set_to_none=True)
        node_out, graph_out = model(B)
        loss = mse(node_out, B["node_y"]) + mse(graph_out, B["graph_y"])
        loss.backward()
        opt.step()
        return loss.item()

    for B in batches[:WARMUP_BATCHES]:
        train_batch(B)
    t_train, losses = [], []
    while len(t_train) < a.epochs and (a.budget <= 0 or sum(t_train) < a.budget):
        t0 = time.perf_counter()
        L = sum(train_batch(B) for B in batches)
        t_train.append(time.perf_counter() - t0)
        losses.append(L / len(batches))
    t_infer = []
    with torch.no_grad():
        for B in batches[:WARMUP_BATCHES]:
            model(B)
        while len(t_infer) < a.epochs and (a.budget <= 0 or sum(t_infer) < a.budget):
            t0 = time.perf_counter()
            for B in batches:
                model(B)
            t_infer.append(time.perf_counter() - t0)
    tt, ti = statistics.median(t_train), statistics.median(t_infer)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    G = w["G"]
    print("torch %s, %d threads: train %.1f graphs/s (median epoch %.3f s of %d, range %.3f-%.3f), %.1f GFLOP/s; "
          "mean loss %.4f -> %.4f" % (torch.__version__, torch.get_num_threads(), G / tt, tt, len(t_train),
                                      min(t_train), max(t_train), flops_train / tt * 1e-9, losses[0], losses[-1]))
    print("torch infer: %.1f graphs/s (median epoch %.3f s of %d), %.1f GFLOP/s; peak RSS %.0f MB"
          % (G / ti, ti, len(t_infer), flops_infer / ti * 1e-9, rss_mb))
    print("RESULT impl=torch threads=%d graphs=%d epochs=%d/%d train_gps=%.2f infer_gps=%.2f train_gflops=%.2f "
          "infer_gflops=%.2f rss_mb=%.0f loss_first=%.5f loss_last=%.5f"
          % (a.threads, G, len(t_train), len(t_infer), G / tt, G / ti, flops_train / tt * 1e-9,
             flops_infer / ti * 1e-9, rss_mb,
             losses[0], losses[-1]))


if __name__ == "__main__":
    main()
