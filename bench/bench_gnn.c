/* bench_gnn: training and inference throughput of the whole GNN on a
 * synthetic workload shaped like computation graphs, for comparison with
 * the same model in PyTorch (bench/bench_torch.py, driven together by
 * bench/gnn_throughput.sh). Not a test: it prints numbers, no pass/fail.
 *
 * Workload (deterministic from --seed): --graphs random DAGs (default
 * 10,000) of 50-300 nodes; each node after the first takes 1 or 2
 * producers (1.3 on average) among earlier nodes, mostly recent ones, as in
 * a network's computation graph; 32 normal input features; one node target
 * and one graph target, learnable functions of the inputs, on one device.
 * --write FILE dumps it for the PyTorch side (format in write_workload).
 *
 * Model: 3 directed message-passing layers, hidden 64, residual + layer
 * norm, attention pooling, node and graph heads (head hidden 64, device
 * dim 16), MSE loss on both targets, Adam (lr 1e-3). Batches: 64
 * consecutive graphs, in file order, built once before timing (the
 * PyTorch side does the same), so the timings are of the model alone.
 *
 * Reports medians over --epochs timed epochs after a warm-up (fewer when
 * --budget seconds of timed epochs have passed, so a loaded machine still
 * finishes; at least one): graphs/s for
 * training (forward + loss + backward + Adam) and inference (forward only);
 * GFLOP/s from an analytic count of the GEMMs (2 M K N per product, forward
 * and both backward products; other work is not counted), against the
 * single-core GEMM peak measured in the same run (kernels/ gemm_forward at
 * 64 x 64, L2-resident); peak RSS; the model's arena sizes. The last line
 * is machine-readable (RESULT key=value ...).
 *
 * usage: bench_gnn [--graphs N] [--threads T] [--epochs E] [--budget S] [--seed S] [--write FILE] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/rng.h"
#include "gnn/loss.h"
#include "gnn/model.h"
#include "gnn/optim.h"

#define F_IN 32
#define HIDDEN 64
#define LAYERS 3
#define HEAD_HIDDEN 64
#define DEVICE_DIM 16
#define BATCH_GRAPHS 64
#define MIN_NODES 50
#define MAX_NODES 300
#define WARMUP_BATCHES 8 /* JIT caches, page faults of the workspace, CPU clocks */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_gnn: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* ---- workload ---- */

typedef struct workload {
    int64_t G, N, E;
    int64_t *node_off;          /* (G + 1) */
    int64_t *pred_ptr, *pred_idx; /* global CSR of producers, (N + 1), (E) */
    float *x;                   /* (N, F_IN) */
    float *node_y, *graph_y;    /* (N), (G) */
} workload;

static void make_workload(workload *w, int64_t G, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    w->G = G;
    w->node_off = xmalloc((size_t)(G + 1) * sizeof(int64_t));
    w->node_off[0] = 0;
    for (int64_t g = 0; g < G; g++)
        w->node_off[g + 1] = w->node_off[g] + MIN_NODES + (int64_t)rng_below(&r, MAX_NODES - MIN_NODES + 1);
    int64_t N = w->N = w->node_off[G];
    w->pred_ptr = xmalloc((size_t)(N + 1) * sizeof(int64_t));
    w->pred_idx = xmalloc((size_t)(2 * N) * sizeof(int64_t)); /* at most 2 producers per node */
    w->x = xmalloc((size_t)(N * F_IN) * sizeof(float));
    w->node_y = xmalloc((size_t)N * sizeof(float));
    w->graph_y = xmalloc((size_t)G * sizeof(float));
    int64_t E = 0;
    w->pred_ptr[0] = 0;
    for (int64_t g = 0; g < G; g++) {
        int64_t first = w->node_off[g], n = w->node_off[g + 1] - first;
        double deg_sum = 0.0;
        for (int64_t j = 0; j < n; j++) {
            /* 1 producer, or 2 with probability 0.3: 1.3 per node on average. */
            int k = j == 0 ? 0 : (j == 1 || rng_uniform(&r) >= 0.3f) ? 1 : 2;
            int64_t prev = -1;
            for (int e = 0; e < k; e++) {
                /* Mostly one of the last 8 nodes (a layer's input is usually
                 * just before it), sometimes any earlier node (skips). */
                int64_t i = rng_uniform(&r) < 0.75f ? j - 1 - (int64_t)rng_below(&r, (uint64_t)(j < 8 ? j : 8))
                                                     : (int64_t)rng_below(&r, (uint64_t)j);
                if (i == prev) continue;
                w->pred_idx[E++] = first + i;
                prev = i;
            }
            w->pred_ptr[first + j + 1] = E;
            float *xv = w->x + (first + j) * F_IN;
            for (int c = 0; c < F_IN; c++) xv[c] = rng_normal(&r);
            /* Learnable targets, so the loss falling is a sanity check that
             * both implementations train the same model. */
            w->node_y[first + j] = tanhf(xv[0] + 0.5f * xv[1] * xv[2]) + 0.3f * (float)(k - 1);
            deg_sum += xv[3];
        }
        w->graph_y[g] = (float)((double)(n - 175) / 72.0 + 0.1 * deg_sum / sqrt((double)n));
    }
    w->E = E;
}

static void free_workload(workload *w)
{
    free(w->node_off);
    free(w->pred_ptr);
    free(w->pred_idx);
    free(w->x);
    free(w->node_y);
    free(w->graph_y);
}

/* File: magic "GPBENCH1", then int64 G, N, E, F; int64 node_off[G + 1],
 * pred_ptr[N + 1], pred_idx[E]; float32 x[N * F], node_y[N], graph_y[G];
 * little-endian, as this machine writes it. */
static int write_workload(const workload *w, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    int64_t hdr[4] = {w->G, w->N, w->E, F_IN};
    int ok = fwrite("GPBENCH1", 1, 8, f) == 8 && fwrite(hdr, sizeof hdr, 1, f) == 1 &&
             fwrite(w->node_off, sizeof(int64_t), (size_t)(w->G + 1), f) == (size_t)(w->G + 1) &&
             fwrite(w->pred_ptr, sizeof(int64_t), (size_t)(w->N + 1), f) == (size_t)(w->N + 1) &&
             fwrite(w->pred_idx, sizeof(int64_t), (size_t)w->E, f) == (size_t)w->E &&
             fwrite(w->x, sizeof(float), (size_t)(w->N * F_IN), f) == (size_t)(w->N * F_IN) &&
             fwrite(w->node_y, sizeof(float), (size_t)w->N, f) == (size_t)w->N &&
             fwrite(w->graph_y, sizeof(float), (size_t)w->G, f) == (size_t)w->G;
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "bench_gnn: writing %s failed\n", path);
    return ok ? 0 : -1;
}

/* ---- batches: built once, the CSR renumbered to batch-local ids ---- */

typedef struct bench_batch {
    gnn_batch b;
    int64_t first_node, first_graph;
} bench_batch;

typedef struct batch_set {
    int64_t n;
    bench_batch *batch;
    int64_t *mem; /* every batch's pred_ptr, pred_idx, succ_ptr, succ_idx, graph_off */
    int32_t dev0;
    model_limits lim;
} batch_set;

static void make_batches(batch_set *s, const workload *w)
{
    s->n = (w->G + BATCH_GRAPHS - 1) / BATCH_GRAPHS;
    s->batch = xmalloc((size_t)s->n * sizeof(bench_batch));
    int64_t total = 2 * w->E + 2 * (w->N + s->n) + w->G + s->n;
    s->mem = xmalloc((size_t)total * sizeof(int64_t));
    s->dev0 = 0;
    s->lim = (model_limits){1, 0, BATCH_GRAPHS, 1};
    int64_t *cur = s->mem;
    for (int64_t k = 0; k < s->n; k++) {
        int64_t g0 = k * BATCH_GRAPHS, g1 = g0 + BATCH_GRAPHS < w->G ? g0 + BATCH_GRAPHS : w->G;
        int64_t v0 = w->node_off[g0], v1 = w->node_off[g1], n = v1 - v0;
        int64_t e0 = w->pred_ptr[v0], ne = w->pred_ptr[v1] - e0;
        int64_t *pp = cur, *pi = pp + n + 1, *sp = pi + ne, *si = sp + n + 1, *off = si + ne;
        cur = off + (g1 - g0) + 1;
        for (int64_t v = 0; v <= n; v++) pp[v] = w->pred_ptr[v0 + v] - e0;
        for (int64_t e = 0; e < ne; e++) pi[e] = w->pred_idx[e0 + e] - v0;
        csr_reverse(sp, si, pp, pi, n);
        for (int64_t g = g0; g <= g1; g++) off[g - g0] = w->node_off[g] - v0;
        bench_batch *bb = &s->batch[k];
        bb->first_node = v0;
        bb->first_graph = g0;
        bb->b = (gnn_batch){.n_nodes = n,
                            .n_edges = ne,
                            .n_graphs = g1 - g0,
                            .x = w->x + v0 * F_IN,
                            .csr = {n, pp, pi, sp, si},
                            .graph_off = off,
                            .n_dev = 1,
                            .dev_ids = &s->dev0,
                            .descriptors = NULL};
        if (n > s->lim.max_nodes) s->lim.max_nodes = n;
        if (ne > s->lim.max_edges) s->lim.max_edges = ne;
    }
}

/* ---- FLOPs: the GEMMs of one batch, counted from the model's shapes ---- */

static double gemm_flops_forward(int64_t N, int64_t G)
{
    const double H = HIDDEN, Hh = HEAD_HIDDEN, De = DEVICE_DIM, D = 1;
    double f = 2.0 * N * F_IN * H;                               /* input projection */
    f += LAYERS * 3 * 2.0 * N * H * H;                           /* directed: self, producers, consumers */
    f += 2.0 * N * H * Hh + 2.0 * D * De * Hh + 2.0 * N * D * Hh; /* node head (1 target) */
    f += 2.0 * G * H * Hh + 2.0 * D * De * Hh + 2.0 * G * D * Hh; /* graph head (1 target) */
    return f;
}

/* Backward: a weight gradient and a data gradient per product, except the
 * input projection's data gradient (the features need none). */
static double gemm_flops_train(int64_t N, int64_t G)
{
    double fwd = gemm_flops_forward(N, G);
    return fwd + 2.0 * fwd - 2.0 * N * F_IN * HIDDEN;
}

/* ---- single-core GEMM peak ---- */

static double measure_gemm_peak(void)
{
    const int64_t M = 1024; /* X and Y 256 KiB each: L2-resident */
    gemm_plan p;
    gp_error err;
    if (gemm_plan_init(&p, 64, 64, &err) != 0) {
        fprintf(stderr, "bench_gnn: %s\n", err.msg);
        exit(1);
    }
    float *X = xmalloc((size_t)(M * 64) * sizeof(float)), *W = xmalloc(64 * 64 * sizeof(float));
    float *Y = xmalloc((size_t)(M * 64) * sizeof(float));
    rng r;
    rng_seed(&r, 5);
    for (int64_t k = 0; k < M * 64; k++) X[k] = rng_normal(&r);
    for (int k = 0; k < 64 * 64; k++) W[k] = rng_normal(&r);
    int calls = 200;
    double gf[9];
    for (int rep = 0; rep < 10; rep++) {
        double t0 = now_s();
        for (int c = 0; c < calls; c++) gemm_forward(&p, Y, X, W, M, 0);
        double t = now_s() - t0;
        if (rep > 0) gf[rep - 1] = 2.0 * M * 64 * 64 * calls / t * 1e-9; /* repeat 0 warms up */
    }
    free(X);
    free(W);
    free(Y);
    gemm_plan_free(&p);
    return median(gf, 9);
}

/* ---- the runs ---- */

/* Seconds spent in each phase of training, summed over batches. */
typedef struct phase_times {
    double forward, loss, backward, adam;
} phase_times;

static double train_batch(model *m, const workload *w, const bench_batch *bb, adam_config *ac, int64_t *step,
                          phase_times *pt)
{
    gp_error err;
    double t0 = now_s();
    if (model_forward(m, &bb->b, &err) != 0) {
        fprintf(stderr, "bench_gnn: %s\n", err.msg);
        exit(1);
    }
    double t1 = now_s();
    const float one = 1.0f;
    double L = loss_term(m->d_node_out, NULL, m->node_out, w->node_y + bb->first_node, bb->b.n_nodes, 1, &one,
                         LOSS_MSE_LOG, 1.0f);
    L += loss_term(m->d_graph_out, NULL, m->graph_out, w->graph_y + bb->first_graph, bb->b.n_graphs, 1, &one,
                   LOSS_MSE_LOG, 1.0f);
    double t2 = now_s();
    params_zero_grad(&m->params);
    model_backward(m, &bb->b);
    double t3 = now_s();
    ++*step;
    adam_step(&m->params, ac, *step, ac->lr);
    double t4 = now_s();
    if (pt) {
        pt->forward += t1 - t0;
        pt->loss += t2 - t1;
        pt->backward += t3 - t2;
        pt->adam += t4 - t3;
    }
    return L;
}

static void infer_batch(model *m, const bench_batch *bb)
{
    gp_error err;
    if (model_forward(m, &bb->b, &err) != 0) {
        fprintf(stderr, "bench_gnn: %s\n", err.msg);
        exit(1);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_gnn [--graphs N] [--threads T] [--epochs E] [--budget S] [--seed S] [--write FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int64_t n_graphs = 10000;
    int threads = 1, epochs = 3;
    double budget = 0; /* seconds of timed epochs per mode; 0: no limit */
    uint64_t seed = 1;
    const char *write_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--graphs") == 0) n_graphs = atoll(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--epochs") == 0) epochs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--budget") == 0) budget = atof(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--write") == 0) write_path = argv[++i];
        else usage();
    }
    if (n_graphs < 1 || threads < 1 || epochs < 1 || epochs > 99) usage();

    double t0 = now_s();
    workload w;
    make_workload(&w, n_graphs, seed);
    printf("workload: %lld graphs, %lld nodes, %lld edges (%.2f per node), seed %llu, generated in %.2f s\n",
           (long long)w.G, (long long)w.N, (long long)w.E, (double)w.E / (double)w.N, (unsigned long long)seed,
           now_s() - t0);
    if (write_path) {
        int rc = write_workload(&w, write_path);
        free_workload(&w);
        if (rc == 0) printf("wrote %s\n", write_path);
        return rc ? 1 : 0;
    }

    /* The peak first, on one thread, before the engine's threads are set. */
    kernels_init(1);
    double peak = measure_gemm_peak();
    kernels_init(threads);
    printf("single-core GEMM peak (gemm_forward 1024x64 * 64x64, L2-resident): %.1f GFLOP/s; threads %d\n", peak,
           kernels_threads());

    batch_set bs;
    make_batches(&bs, &w);
    model_config c;
    model_config_defaults(&c); /* directed, residual, norm, attention pool, device dim 16 */
    c.in_dim = F_IN;
    c.hidden = HIDDEN;
    c.n_layers = LAYERS;
    c.layer = LAYER_DIRECTED;
    c.pool = POOL_ATTENTION;
    c.head_hidden = HEAD_HIDDEN;
    c.device_dim = DEVICE_DIM;
    c.n_devices = 1;
    c.n_node_targets = 1;
    c.n_graph_targets = 1;
    model m;
    gp_error err;
    if (model_build(&m, &c, &bs.lim, &err) != 0) {
        fprintf(stderr, "bench_gnn: %s\n", err.msg);
        return 1;
    }
    double params_mb = (double)m.params.size * 4 * sizeof(float) / 1048576.0;
    double ws_mb = (double)m.ws_floats * sizeof(float) / 1048576.0;
    printf("model: %lld parameters; arenas: parameters+grads+Adam %.2f MB, workspace %.1f MB (batches up to %lld "
           "nodes)\n",
           (long long)params_total(&m.params), params_mb, ws_mb, (long long)bs.lim.max_nodes);

    double flops_train = 0, flops_infer = 0;
    for (int64_t k = 0; k < bs.n; k++) {
        flops_train += gemm_flops_train(bs.batch[k].b.n_nodes, bs.batch[k].b.n_graphs);
        flops_infer += gemm_flops_forward(bs.batch[k].b.n_nodes, bs.batch[k].b.n_graphs);
    }

    adam_config ac;
    adam_config_defaults(&ac);
    int64_t step = 0;
    model_prepare_training(&m);
    for (int k = 0; k < WARMUP_BATCHES && k < bs.n; k++) train_batch(&m, &w, &bs.batch[k], &ac, &step, NULL);
    double t_train[99], t_infer[99], loss_first = 0, loss_last = 0;
    phase_times pt = {0, 0, 0, 0};
    int n_train = 0, n_infer = 0;
    double spent = 0;
    for (int e = 0; e < epochs && (budget <= 0 || spent < budget); e++, n_train++) {
        double L = 0, s = now_s();
        for (int64_t k = 0; k < bs.n; k++) L += train_batch(&m, &w, &bs.batch[k], &ac, &step, &pt);
        t_train[e] = now_s() - s;
        spent += t_train[e];
        if (e == 0) loss_first = L / (double)bs.n;
        loss_last = L / (double)bs.n;
    }
    model_set_training(&m, 0); /* inference: forward only, nothing saved for a backward pass */
    for (int k = 0; k < WARMUP_BATCHES && k < bs.n; k++) infer_batch(&m, &bs.batch[k]);
    spent = 0;
    for (int e = 0; e < epochs && (budget <= 0 || spent < budget); e++, n_infer++) {
        double s = now_s();
        for (int64_t k = 0; k < bs.n; k++) infer_batch(&m, &bs.batch[k]);
        t_infer[e] = now_s() - s;
        spent += t_infer[e];
    }
    double tmin_train = t_train[0], tmax_train = t_train[0];
    for (int e = 1; e < n_train; e++) {
        tmin_train = fmin(tmin_train, t_train[e]);
        tmax_train = fmax(tmax_train, t_train[e]);
    }
    double tt = median(t_train, n_train), ti = median(t_infer, n_infer);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0;
    double train_gps = (double)w.G / tt, infer_gps = (double)w.G / ti;
    double train_gf = flops_train / tt * 1e-9, infer_gf = flops_infer / ti * 1e-9;
    printf("train: %.1f graphs/s (median epoch %.3f s of %d, range %.3f-%.3f), %.1f GFLOP/s = %.0f%% of %d x "
           "single-core peak; mean loss %.4f -> %.4f\n",
           train_gps, tt, n_train, tmin_train, tmax_train, train_gf, 100.0 * train_gf / (peak * threads), threads,
           loss_first, loss_last);
    double ptot = pt.forward + pt.loss + pt.backward + pt.adam;
    printf("train time by phase: forward %.0f%%, loss %.0f%%, backward %.0f%%, Adam %.0f%%\n",
           100.0 * pt.forward / ptot, 100.0 * pt.loss / ptot, 100.0 * pt.backward / ptot, 100.0 * pt.adam / ptot);
    printf("infer: %.1f graphs/s (median epoch %.3f s of %d), %.1f GFLOP/s = %.0f%% of %d x single-core peak\n",
           infer_gps, ti, n_infer, infer_gf, 100.0 * infer_gf / (peak * threads), threads);
    printf("GEMM work per epoch: train %.1f GFLOP, infer %.1f GFLOP; peak RSS %.0f MB\n", flops_train * 1e-9,
           flops_infer * 1e-9, rss_mb);
    printf("RESULT impl=gnnperf threads=%d graphs=%lld epochs=%d/%d train_gps=%.2f infer_gps=%.2f train_gflops=%.2f "
           "infer_gflops=%.2f peak_gflops=%.2f train_pct_peak=%.1f infer_pct_peak=%.1f rss_mb=%.0f params_mb=%.2f "
           "ws_mb=%.1f loss_first=%.5f loss_last=%.5f\n",
           threads, (long long)w.G, n_train, n_infer, train_gps, infer_gps, train_gf, infer_gf, peak,
           100.0 * train_gf / (peak * threads), 100.0 * infer_gf / (peak * threads), rss_mb, params_mb, ws_mb,
           loss_first, loss_last);
    model_free(&m);
    free(bs.batch);
    free(bs.mem);
    free_workload(&w);
    return 0;
}
