/* bench_kernels: throughput of the dense and sparse kernels, for choosing
 * and checking designs, not a test. Prints, per thread count, GFLOP/s of
 * the three gemm passes (libxsmm plan, naive _ref, OpenBLAS cblas_sgemm
 * with as many OpenBLAS threads) at GNN shapes, and edges/s of the CSR
 * aggregations at d = 64. The machines are shared and noisy: each figure is
 * the median and the best of many short timed repeats; compare ratios within
 * one run. One-thread figures use CPU time, which other load inflates less.
 *
 * usage: bench_kernels [M] [reps] [gemm|csr|all] [threads]
 *        (defaults: 8192, 41, all, 1 then 2) */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

/* One thread: the process's CPU time, which a shared machine's other load
 * does not inflate. Several threads: wall time (CPU time would add up the
 * threads, and count OpenMP's spinning), so run those on a quiet machine. */
static int use_cpu_clock = 0;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(use_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t next_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static float *rand_floats(int64_t n)
{
    float *v = malloc((size_t)n * sizeof(float));
    if (!v) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(1);
    }
    for (int64_t i = 0; i < n; i++) v[i] = (float)(next_u64() >> 40) / (float)(1 << 23) - 1.0f;
    return v;
}

/* Times fn(ctx, k): repeats of about BATCH_S seconds each (calls batched
 * to reach it), giving the median and the best rate in units of `work` per
 * second per call. On a shared machine the best repeat is the closest to
 * the code's own speed; the median shows what other load leaves of it. */
#define BATCH_S 0.005
#define MAX_REPS 256

typedef struct bench_rate {
    double median, best;
} bench_rate;

static bench_rate time_it(void (*fn)(void *, int), void *ctx, int k, double work, int reps)
{
    fn(ctx, k); /* warm caches and pages */
    double t0 = now_s();
    fn(ctx, k);
    const double one = now_s() - t0;
    const int calls = one > BATCH_S ? 1 : (int)(BATCH_S / (one > 1e-7 ? one : 1e-7)) + 1;
    double rates[MAX_REPS];
    if (reps > MAX_REPS) reps = MAX_REPS;
    for (int r = 0; r < reps; r++) {
        t0 = now_s();
        for (int c = 0; c < calls; c++) fn(ctx, k);
        rates[r] = work * calls / (now_s() - t0);
    }
    qsort(rates, (size_t)reps, sizeof(double), cmp_double);
    return (bench_rate){rates[reps / 2], rates[reps - 1]};
}

typedef enum { OP_FWD, OP_BWD_DATA, OP_BWD_WEIGHT } gemm_op;
typedef enum { IMPL_PLAN, IMPL_REF, IMPL_BLAS } gemm_impl;

typedef struct bench_gemm {
    gemm_plan plan;
    int64_t M;
    int K, N;
    float *X, *W, *Wt, *Y, *dY, *dX, *dW;
} bench_gemm;

static void run_gemm(bench_gemm *b, gemm_op op, gemm_impl impl)
{
    const int64_t M = b->M;
    const int K = b->K, N = b->N;
    switch (impl) {
    case IMPL_PLAN:
        if (op == OP_FWD) gemm_forward(&b->plan, b->Y, b->X, b->W, M, 0);
        if (op == OP_BWD_DATA) gemm_backward_data(&b->plan, b->dX, b->dY, b->Wt, M, 0);
        if (op == OP_BWD_WEIGHT) gemm_backward_weight(&b->plan, b->dW, b->X, b->dY, M);
        break;
    case IMPL_REF:
        if (op == OP_FWD) gemm_forward_ref(b->Y, b->X, b->W, M, K, N, 0);
        if (op == OP_BWD_DATA) gemm_backward_data_ref(b->dX, b->dY, b->W, M, K, N, 0);
        if (op == OP_BWD_WEIGHT) gemm_backward_weight_ref(b->dW, b->X, b->dY, M, K, N);
        break;
    case IMPL_BLAS:
        if (op == OP_FWD)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, N, K, 1.0f, b->X, K, b->W, N, 0.0f, b->Y, N);
        if (op == OP_BWD_DATA)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, K, N, 1.0f, b->dY, N, b->W, N, 0.0f, b->dX, K);
        if (op == OP_BWD_WEIGHT)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, (int)M, 1.0f, b->X, K, b->dY, N, 1.0f, b->dW, N);
        break;
    }
}

typedef struct gemm_ctx {
    bench_gemm *b;
    gemm_impl impl;
} gemm_ctx;

static void gemm_call(void *ctx, int op)
{
    gemm_ctx *g = ctx;
    run_gemm(g->b, (gemm_op)op, g->impl);
}

/* GFLOP/s */
static bench_rate time_gemm(bench_gemm *b, gemm_op op, gemm_impl impl, int reps)
{
    gemm_ctx g = {b, impl};
    return time_it(gemm_call, &g, op, 2e-9 * (double)b->M * b->K * b->N, reps);
}

static void bench_gemm_shape(int64_t M, int K, int N, int reps)
{
    bench_gemm b;
    gp_error err;
    const double t0 = now_s();
    if (gemm_plan_init(&b.plan, K, N, &err) < 0) {
        fprintf(stderr, "bench_kernels: %s\n", err.msg);
        exit(1);
    }
    const double init_ms = (now_s() - t0) * 1e3;
    b.M = M;
    b.K = K;
    b.N = N;
    b.X = rand_floats(M * K);
    b.W = rand_floats((int64_t)K * N);
    b.Wt = rand_floats((int64_t)N * K);
    transpose(b.Wt, b.W, K, N);
    b.Y = rand_floats(M * N);
    b.dY = rand_floats(M * N);
    b.dX = rand_floats(M * K);
    b.dW = rand_floats((int64_t)K * N);
    const int threads = omp_get_max_threads();
    static const char *names[] = {"forward", "backward data", "backward weight"};
    printf("gemm M=%ld K=%d N=%d threads=%d (plan init %.1f ms)\n", (long)M, K, N, threads, init_ms);
    /* all OpenMP runs first, then OpenBLAS with as many threads, then a
     * pause: threads of either library busy-wait after a call and would
     * steal a core from the other's measurement */
    bench_rate plan[3], blas[3], ref[3] = {{0, 0}, {0, 0}, {0, 0}};
    for (int op = 0; op < 3; op++) plan[op] = time_gemm(&b, op, IMPL_PLAN, reps);
    for (int op = 0; op < 3 && threads == 1; op++) ref[op] = time_gemm(&b, op, IMPL_REF, 3);
    openblas_set_num_threads(threads);
    for (int op = 0; op < 3; op++) blas[op] = time_gemm(&b, op, IMPL_BLAS, reps);
    openblas_set_num_threads(1);
    nanosleep(&(struct timespec){0, 100000000}, NULL);
    for (int op = 0; op < 3; op++) {
        printf("  %-16s libxsmm %6.1f / %6.1f  cblas %6.1f / %6.1f  GFLOP/s (median / best)", names[op],
               plan[op].median, plan[op].best, blas[op].median, blas[op].best);
        if (threads == 1) printf("  ref %5.1f", ref[op].median);
        printf("\n");
    }
    free(b.X);
    free(b.W);
    free(b.Wt);
    free(b.Y);
    free(b.dY);
    free(b.dX);
    free(b.dW);
    gemm_plan_free(&b.plan);
}

typedef struct csr_ctx {
    int64_t n;
    int d;
    const int64_t *ptr, *idx, *rptr, *ridx;
    int64_t *arg;
    const float *in;
    float *out;
} csr_ctx;

static void csr_call(void *ctx, int k)
{
    const csr_ctx *c = ctx;
    if (k == 0) csr_sum_forward(c->out, c->in, c->ptr, c->idx, c->n, c->d);
    if (k == 1) csr_mean_forward(c->out, c->in, c->ptr, c->idx, c->n, c->d);
    if (k == 2) csr_max_forward(c->out, c->arg, c->in, c->ptr, c->idx, c->n, c->d);
    if (k == 3) csr_sum_backward(c->out, c->in, c->rptr, c->ridx, c->n, c->d);
    if (k == 4) csr_mean_backward(c->out, c->in, c->ptr, c->rptr, c->ridx, c->n, c->d);
    if (k == 5) csr_max_backward(c->out, c->in, c->arg, c->rptr, c->ridx, c->n, c->d);
}

/* CSR with avg_deg neighbours per row drawn from [i - window, i + window]
 * (window 0: anywhere), the locality of topologically ordered node ids. */
static void bench_csr(int64_t n, int avg_deg, int64_t window, int d, int reps)
{
    int64_t *ptr = malloc(((size_t)n + 1) * sizeof(int64_t));
    ptr[0] = 0;
    for (int64_t i = 0; i < n; i++) ptr[i + 1] = ptr[i] + (int64_t)(next_u64() % (uint64_t)(2 * avg_deg + 1));
    const int64_t E = ptr[n];
    int64_t *idx = malloc((size_t)E * sizeof(int64_t)), *rptr = malloc(((size_t)n + 1) * sizeof(int64_t));
    int64_t *ridx = malloc((size_t)E * sizeof(int64_t)), *arg = malloc((size_t)(n * d) * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) {
            int64_t j = window > 0 ? i - window + (int64_t)(next_u64() % (uint64_t)(2 * window + 1))
                                   : (int64_t)(next_u64() % (uint64_t)n);
            idx[e] = j < 0 ? -j : j >= n ? 2 * (n - 1) - j : j;
        }
    csr_reverse(rptr, ridx, ptr, idx, n);
    float *in = rand_floats(n * d), *out = rand_floats(n * d);
    static const char *names[] = {"sum fwd", "mean fwd", "max fwd", "sum bwd", "mean bwd", "max bwd"};
    printf("csr n=%ld edges=%ld d=%d %s threads=%d: M edges/s\n", (long)n, (long)E, d,
           window > 0 ? "local" : "random", omp_get_max_threads());
    csr_max_forward(out, arg, in, ptr, idx, n, d); /* touch every page once */
    csr_ctx c = {n, d, ptr, idx, rptr, ridx, arg, in, out};
    for (int k = 0; k < 6; k++) {
        const bench_rate r = time_it(csr_call, &c, k, 1e-6 * (double)E, reps);
        printf("  %-9s %7.1f / %7.1f  (median / best)\n", names[k], r.median, r.best);
    }
    free(ptr);
    free(idx);
    free(rptr);
    free(ridx);
    free(arg);
    free(in);
    free(out);
}

int main(int argc, char **argv)
{
    const int64_t M = argc > 1 ? atoll(argv[1]) : 8192;
    const int reps = argc > 2 ? atoi(argv[2]) : 41;
    const char *what = argc > 3 ? argv[3] : "all";
    const int only_threads = argc > 4 ? atoi(argv[4]) : 0;
    const int gemm = !strcmp(what, "all") || !strcmp(what, "gemm"), csr = !strcmp(what, "all") || !strcmp(what, "csr");
    if (M <= 0 || reps <= 0 || (!gemm && !csr) || only_threads < 0) {
        fprintf(stderr, "usage: bench_kernels [M > 0] [reps > 0] [gemm|csr|all] [threads]\n");
        return 2;
    }
    for (int threads = 1; threads <= 2; threads++) {
        if (only_threads && threads != only_threads) continue;
        kernels_init(threads);
        use_cpu_clock = threads == 1;
        printf("== %d thread%s, timed by %s ==\n", threads, threads > 1 ? "s" : "", use_cpu_clock ? "CPU time" : "wall clock");
        if (gemm) {
            bench_gemm_shape(M, 64, 64, reps);
            bench_gemm_shape(M, 32, 64, reps);
            bench_gemm_shape(M + 37, 64, 64, reps); /* with a remainder block */
        }
        if (csr) {
            bench_csr(1024, 10, 0, 64, reps);     /* in: 256 KB, fits L2 */
            bench_csr(8192, 10, 0, 64, reps);     /* in: 2 MB, fits L3 */
            bench_csr(200000, 10, 512, 64, reps); /* in: 51 MB, local ids */
            bench_csr(200000, 10, 0, 64, reps);   /* in: 51 MB, random ids */
        }
    }
    return 0;
}
