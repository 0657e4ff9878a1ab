/* kernels: every optimized kernel against its naive _ref on awkward shapes
 * (no rows, one row, a row-block boundary +-1, odd widths, isolated nodes,
 * duplicate neighbours, a hub node, empty segments), the gemm backward
 * passes against finite differences, the cblas fallback, and determinism
 * with two threads.
 *
 * Tolerance: rel_err = max|a - b| / max(1, max|b|). Where a kernel adds the
 * same terms in the same order as its reference (CSR and segment sums,
 * max, bias, ReLU) the result must be bit-identical and the tests say so;
 * elsewhere the bound is stated where it is used. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "kernels/kernels.h"

/* ---- helpers ---- */

/* xorshift64: a fixed-seed stream, so every run checks the same numbers */
static uint64_t xs_state = 88172645463325252ULL;

static void xs_seed(uint64_t s)
{
    xs_state = s ? s : 88172645463325252ULL;
}

static uint64_t xs_next(void)
{
    xs_state ^= xs_state << 13;
    xs_state ^= xs_state >> 7;
    xs_state ^= xs_state << 17;
    return xs_state;
}

/* uniform in [-1, 1) */
static float xs_float(void)
{
    return (float)(xs_next() >> 40) / (float)(1 << 23) - 1.0f;
}

static int64_t xs_below(int64_t n)
{
    return (int64_t)(xs_next() % (uint64_t)n);
}

static float *rand_floats(int64_t n)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(v);
    for (int64_t i = 0; i < n; i++) v[i] = xs_float();
    return v;
}

/* small integers in [-2, 2]: exact ties for the max kernels */
static float *rand_ties(int64_t n)
{
    float *v = rand_floats(n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)(xs_below(5) - 2);
    return v;
}

static float *copy_floats(const float *src, int64_t n)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(v);
    if (n > 0) memcpy(v, src, (size_t)n * sizeof(float));
    return v;
}

static double rel_err(const float *a, const float *b, int64_t n)
{
    double diff = 0.0, scale = 1.0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= diff)) diff = d; /* also catches NaN */
        if (fabs((double)b[i]) > scale) scale = fabs((double)b[i]);
    }
    return diff / scale;
}

static int same_bits(const void *a, const void *b, size_t bytes)
{
    return bytes == 0 || memcmp(a, b, bytes) == 0;
}

#define ck_assert_rel(a, b, n, tol, ...)                                                                               \
    do {                                                                                                               \
        const double e_ = rel_err((a), (b), (n));                                                                      \
        ck_assert_msg(e_ < (tol), __VA_ARGS__);                                                                        \
        (void)e_;                                                                                                      \
    } while (0)

static const int64_t ROWS[] = {0, 1, 63, 64, 65, 200, 1000};
static const int WIDTHS[] = {1, 3, 17, 32, 64};
#define NROWS ((int)(sizeof(ROWS) / sizeof(ROWS[0])))
#define NWIDTHS ((int)(sizeof(WIDTHS) / sizeof(WIDTHS[0])))

/* Products: each output sums K <= 64 (forward), N <= 64 (backward data) or
 * M <= 1000 (backward weight) products of values in [-1, 1). The blocked
 * kernels reorder and fuse (FMA) those sums; float rounding then differs by
 * about sqrt(terms) * 6e-8 * magnitude, far under 1e-5 of max(1, |result|). */
#define GEMM_TOL 1e-5

/* ---- gemm ---- */

typedef enum { PASS_FWD, PASS_BWD_DATA, PASS_BWD_WEIGHT } gemm_pass;

/* Runs one pass of plan p (optimized) and the reference on fresh random
 * data, and checks they agree. */
static void check_gemm_pass(gemm_plan *p, gemm_pass pass, int64_t M, int K, int N, int accumulate)
{
    float *X = rand_floats(M * K), *W = rand_floats((int64_t)K * N), *dY = rand_floats(M * N);
    float *Wt = rand_floats((int64_t)N * K);
    transpose(Wt, W, K, N);
    if (pass == PASS_FWD) {
        float *Y = rand_floats(M * N), *Yr = copy_floats(Y, M * N);
        gemm_forward(p, Y, X, W, M, accumulate);
        gemm_forward_ref(Yr, X, W, M, K, N, accumulate);
        ck_assert_rel(Y, Yr, M * N, GEMM_TOL, "forward M=%ld K=%d N=%d acc=%d: rel err %g", (long)M, K, N, accumulate,
                      e_);
        free(Y);
        free(Yr);
    } else if (pass == PASS_BWD_DATA) {
        float *dX = rand_floats(M * K), *dXr = copy_floats(dX, M * K);
        gemm_backward_data(p, dX, dY, Wt, M, accumulate);
        gemm_backward_data_ref(dXr, dY, W, M, K, N, accumulate);
        ck_assert_rel(dX, dXr, M * K, GEMM_TOL, "backward data M=%ld K=%d N=%d acc=%d: rel err %g", (long)M, K, N,
                      accumulate, e_);
        free(dX);
        free(dXr);
    } else {
        float *dW = rand_floats((int64_t)K * N), *dWr = copy_floats(dW, (int64_t)K * N);
        gemm_backward_weight(p, dW, X, dY, M);
        gemm_backward_weight_ref(dWr, X, dY, M, K, N);
        ck_assert_rel(dW, dWr, (int64_t)K * N, GEMM_TOL, "backward weight M=%ld K=%d N=%d: rel err %g", (long)M, K, N,
                      e_);
        free(dW);
        free(dWr);
    }
    free(X);
    free(W);
    free(Wt);
    free(dY);
}

static void check_all_shapes(gemm_pass pass)
{
    xs_seed(1000 + pass);
    for (int a = 0; a < NWIDTHS; a++)
        for (int b = 0; b < NWIDTHS; b++) {
            const int K = WIDTHS[a], N = WIDTHS[b];
            gemm_plan p;
            gp_error err;
            ck_assert_int_eq(gemm_plan_init(&p, K, N, &err), 0);
            for (int m = 0; m < NROWS; m++)
                for (int acc = 0; acc < (pass == PASS_BWD_WEIGHT ? 1 : 2); acc++)
                    check_gemm_pass(&p, pass, ROWS[m], K, N, acc);
            gemm_plan_free(&p);
        }
}

START_TEST(gemm_forward_matches_ref)
{
    check_all_shapes(PASS_FWD);
}
END_TEST

START_TEST(gemm_backward_data_matches_ref)
{
    check_all_shapes(PASS_BWD_DATA);
}
END_TEST

START_TEST(gemm_backward_weight_matches_ref)
{
    check_all_shapes(PASS_BWD_WEIGHT);
}
END_TEST

/* Odd thread counts split the blocks unevenly; 3 threads on this 2-core
 * machine also checks oversubscription. */
START_TEST(gemm_backward_weight_thread_counts)
{
    xs_seed(7);
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        gemm_plan p;
        ck_assert_int_eq(gemm_plan_init(&p, 17, 32, NULL), 0);
        ck_assert_int_ge(p.scratch_threads, threads);
        for (int m = 0; m < NROWS; m++) check_gemm_pass(&p, PASS_BWD_WEIGHT, ROWS[m], 17, 32, 0);
        check_gemm_pass(&p, PASS_BWD_WEIGHT, 64 * 5 + 7, 17, 32, 0);
        gemm_plan_free(&p);
    }
}
END_TEST

/* A plan whose libxsmm kernels are all NULL runs every block through
 * cblas_sgemm: the path taken when libxsmm refuses a shape. */
START_TEST(gemm_cblas_fallback)
{
    xs_seed(11);
    const int K = 17, N = 32;
    gemm_plan p;
    ck_assert_int_eq(gemm_plan_init(&p, K, N, NULL), 0);
    gemm_plan q = p;
    q.fwd_beta0 = q.fwd_beta1 = q.bwd_data_beta0 = q.bwd_data_beta1 = q.bwd_weight = NULL;
    memset(q.fwd_rem, 0, sizeof(q.fwd_rem));
    memset(q.bwd_data_rem, 0, sizeof(q.bwd_data_rem));
    memset(q.bwd_weight_rem, 0, sizeof(q.bwd_weight_rem));
    for (int m = 0; m < NROWS; m++)
        for (int acc = 0; acc < 2; acc++) {
            check_gemm_pass(&q, PASS_FWD, ROWS[m], K, N, acc);
            check_gemm_pass(&q, PASS_BWD_DATA, ROWS[m], K, N, acc);
        }
    for (int m = 0; m < NROWS; m++) check_gemm_pass(&q, PASS_BWD_WEIGHT, ROWS[m], K, N, 0);
    gemm_plan_free(&p); /* q shares p's scratch */
}
END_TEST

START_TEST(gemm_plan_rejects_bad_sizes)
{
    gemm_plan p;
    gp_error err;
    ck_assert_int_eq(gemm_plan_init(&p, 0, 8, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "K=0"));
    ck_assert_int_eq(gemm_plan_init(&p, 8, -1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "N=-1"));
    gemm_plan_free(&p);
}
END_TEST

/* L(X, W) = sum(G .* (X W)) has dL/dX = G W^T and dL/dW = X^T G. L is
 * linear in each entry, so a central difference is exact up to rounding:
 * only the rounding of the float Y entries a step changes (N of them for an
 * X entry, M for a W entry, each about 3e-7) reaches L, summed in double,
 * so errors stay near 1e-6; 1e-4 absolute is a clear margin. M = 70 crosses
 * a row block. */
START_TEST(gemm_backward_matches_finite_differences)
{
    xs_seed(3);
    const int64_t M = 70;
    const int K = 5, N = 3;
    gemm_plan p;
    ck_assert_int_eq(gemm_plan_init(&p, K, N, NULL), 0);
    float *X = rand_floats(M * K), *W = rand_floats(K * N), *G = rand_floats(M * N), *Y = rand_floats(M * N);
    float *dX = rand_floats(M * K), *dW = calloc((size_t)K * N, sizeof(float)), *Wt = rand_floats(N * K);
    transpose(Wt, W, K, N);
    gemm_backward_data(&p, dX, G, Wt, M, 0);
    gemm_backward_weight(&p, dW, X, G, M);
    const float h = 0.5f;
    float *params[2] = {X, W};
    const float *grads[2] = {dX, dW};
    const int64_t sizes[2] = {M * K, K * N};
    for (int which = 0; which < 2; which++)
        for (int64_t e = 0; e < sizes[which]; e++) {
            double L[2];
            const float keep = params[which][e];
            for (int s = 0; s < 2; s++) {
                params[which][e] = keep + (s ? -h : h);
                gemm_forward(&p, Y, X, W, M, 0);
                L[s] = 0.0;
                for (int64_t i = 0; i < M * N; i++) L[s] += (double)G[i] * (double)Y[i];
            }
            params[which][e] = keep;
            const double fd = (L[0] - L[1]) / (2.0 * h);
            ck_assert_msg(fabs(fd - grads[which][e]) < 1e-4, "%s[%ld]: finite difference %g, backward %g",
                          which ? "W" : "X", (long)e, fd, (double)grads[which][e]);
        }
    free(X);
    free(W);
    free(G);
    free(Y);
    free(dX);
    free(dW);
    free(Wt);
    gemm_plan_free(&p);
}
END_TEST

/* Same inputs twice with two threads: bit-identical outputs. Forward and
 * backward data also match one thread (blocks are independent). */
START_TEST(gemm_deterministic_two_threads)
{
    xs_seed(5);
    const int64_t M = 64 * 40 + 17;
    const int K = 32, N = 64;
    omp_set_num_threads(2);
    gemm_plan p;
    ck_assert_int_eq(gemm_plan_init(&p, K, N, NULL), 0);
    float *X = rand_floats(M * K), *W = rand_floats(K * N), *dY = rand_floats(M * N), *Wt = rand_floats(N * K);
    transpose(Wt, W, K, N);
    float *Y[3], *dX[3], *dW[3];
    for (int run = 0; run < 3; run++) {
        omp_set_num_threads(run < 2 ? 2 : 1);
        Y[run] = rand_floats(M * N);
        dX[run] = rand_floats(M * K);
        dW[run] = calloc((size_t)K * N, sizeof(float));
        gemm_forward(&p, Y[run], X, W, M, 0);
        gemm_backward_data(&p, dX[run], dY, Wt, M, 0);
        gemm_backward_weight(&p, dW[run], X, dY, M);
    }
    ck_assert(same_bits(Y[0], Y[1], (size_t)(M * N) * sizeof(float)));
    ck_assert(same_bits(dX[0], dX[1], (size_t)(M * K) * sizeof(float)));
    ck_assert(same_bits(dW[0], dW[1], (size_t)(K * N) * sizeof(float)));
    ck_assert(same_bits(Y[0], Y[2], (size_t)(M * N) * sizeof(float)));
    ck_assert(same_bits(dX[0], dX[2], (size_t)(M * K) * sizeof(float)));
    /* one thread sums in another order: equal within tolerance only */
    ck_assert_rel(dW[0], dW[2], K * N, GEMM_TOL, "dW 1 vs 2 threads: rel err %g", e_);
    for (int run = 0; run < 3; run++) {
        free(Y[run]);
        free(dX[run]);
        free(dW[run]);
    }
    free(X);
    free(W);
    free(dY);
    free(Wt);
    gemm_plan_free(&p);
}
END_TEST

START_TEST(transpose_and_bias_match_ref)
{
    xs_seed(9);
    for (int m = 0; m < NROWS; m++)
        for (int b = 0; b < NWIDTHS; b++) {
            const int64_t M = ROWS[m];
            const int N = WIDTHS[b];
            float *A = rand_floats(M * N), *T = rand_floats(M * N), *Tr = rand_floats(M * N);
            transpose(T, A, (int)M, N);
            transpose_ref(Tr, A, (int)M, N);
            ck_assert(same_bits(T, Tr, (size_t)(M * N) * sizeof(float)));
            float *bias = rand_floats(N), *Y = copy_floats(A, M * N), *Yr = copy_floats(A, M * N);
            bias_forward(Y, bias, M, N);
            bias_forward_ref(Yr, bias, M, N);
            ck_assert(same_bits(Y, Yr, (size_t)(M * N) * sizeof(float)));
            /* column sums in row order by one thread per column: bit-identical */
            float *db = copy_floats(bias, N), *dbr = copy_floats(bias, N);
            bias_backward(db, A, M, N);
            bias_backward_ref(dbr, A, M, N);
            ck_assert(same_bits(db, dbr, (size_t)N * sizeof(float)));
            free(A);
            free(T);
            free(Tr);
            free(bias);
            free(Y);
            free(Yr);
            free(db);
            free(dbr);
        }
    /* large enough for the parallel paths */
    const int64_t M = 5000;
    const int N = 64;
    float *A = rand_floats(M * N), *db = rand_floats(N), *dbr = copy_floats(db, N);
    bias_backward(db, A, M, N);
    bias_backward_ref(dbr, A, M, N);
    ck_assert(same_bits(db, dbr, (size_t)N * sizeof(float)));
    free(A);
    free(db);
    free(dbr);
}
END_TEST

/* ---- CSR ---- */

typedef struct test_csr {
    int64_t n, *ptr, *idx, *rptr, *ridx;
} test_csr;

/* Random CSR over n rows: degrees 0 .. maxdeg (so some rows are isolated),
 * neighbours drawn with repetition (duplicates allowed), no self-loops; row
 * `hub` (if >= 0) lists hub_deg neighbours. */
static test_csr make_csr(int64_t n, int maxdeg, int64_t hub, int64_t hub_deg)
{
    test_csr g;
    g.n = n;
    g.ptr = calloc((size_t)n + 1, sizeof(int64_t));
    ck_assert_ptr_nonnull(g.ptr);
    for (int64_t i = 0; i < n; i++) {
        int64_t deg = n > 1 ? xs_below(maxdeg + 1) : 0;
        if (i == hub && n > 1) deg = hub_deg;
        g.ptr[i + 1] = g.ptr[i] + deg;
    }
    const int64_t E = g.ptr[n];
    g.idx = malloc((size_t)(E > 0 ? E : 1) * sizeof(int64_t));
    g.ridx = malloc((size_t)(E > 0 ? E : 1) * sizeof(int64_t));
    g.rptr = malloc(((size_t)n + 1) * sizeof(int64_t));
    ck_assert(g.idx && g.ridx && g.rptr);
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; e++) {
            int64_t j = xs_below(n - 1);
            g.idx[e] = j >= i ? j + 1 : j; /* skip i itself */
        }
    /* force an adjacent duplicate and a distant one where a row has room */
    for (int64_t i = 0; i < n; i++)
        if (g.ptr[i + 1] - g.ptr[i] >= 3) {
            g.idx[g.ptr[i] + 1] = g.idx[g.ptr[i]];
            g.idx[g.ptr[i + 1] - 1] = g.idx[g.ptr[i]];
        }
    csr_reverse(g.rptr, g.ridx, g.ptr, g.idx, n);
    return g;
}

static void free_csr(test_csr *g)
{
    free(g->ptr);
    free(g->idx);
    free(g->rptr);
    free(g->ridx);
}

typedef struct csr_case {
    int64_t n;
    int maxdeg;
    int64_t hub, hub_deg;
} csr_case;

static const csr_case CSR_CASES[] = {
    {0, 0, -1, 0},     /* empty graph */
    {1, 4, -1, 0},     /* one isolated node */
    {2, 1, -1, 0},     /* two nodes */
    {200, 8, -1, 0},   /* random, some isolated */
    {300, 3, 7, 1000}, /* a hub with 1000 (duplicated) neighbours */
    {5000, 12, 0, 0},  /* large enough for the parallel paths */
};
static const int CSR_DIMS[] = {1, 3, 16, 17, 64};
#define NCSR ((int)(sizeof(CSR_CASES) / sizeof(CSR_CASES[0])))
#define NDIMS ((int)(sizeof(CSR_DIMS) / sizeof(CSR_DIMS[0])))

START_TEST(csr_reverse_is_transpose)
{
    xs_seed(13);
    for (int t = 0; t < NCSR; t++) {
        test_csr g = make_csr(CSR_CASES[t].n, CSR_CASES[t].maxdeg, CSR_CASES[t].hub, CSR_CASES[t].hub_deg);
        const int64_t n = g.n;
        ck_assert_int_eq(g.rptr[0], 0);
        ck_assert_int_eq(g.rptr[n], g.ptr[n]);
        /* every forward edge (i, j) appears in rev(j) as often as in row i */
        for (int64_t i = 0; i < n; i++)
            for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; e++) {
                const int64_t j = g.idx[e];
                int64_t fwd = 0, rev = 0;
                for (int64_t f = g.ptr[i]; f < g.ptr[i + 1]; f++) fwd += g.idx[f] == j;
                for (int64_t f = g.rptr[j]; f < g.rptr[j + 1]; f++) rev += g.ridx[f] == i;
                ck_assert_int_eq(fwd, rev);
            }
        for (int64_t j = 0; j < n; j++)
            for (int64_t f = g.rptr[j] + 1; f < g.rptr[j + 1]; f++) ck_assert_int_le(g.ridx[f - 1], g.ridx[f]);
        free_csr(&g);
    }
}
END_TEST

typedef enum { AGG_SUM, AGG_MEAN, AGG_MAX } agg_kind;

/* Forward sums and max take the neighbours in CSR order like the reference
 * (bit-identical). The backward sums add the same terms in the same order
 * as the scattering reference; only mean's d_out / deg (reference) versus
 * d_out * (1 / deg) (optimized) rounds differently: within 1 ulp per term,
 * so 1e-5 covers the hub's 1000 terms. */
static void check_csr(const test_csr *g, int d, agg_kind kind, int ties)
{
    const int64_t n = g->n, nd = n * d;
    float *in = ties ? rand_ties(nd) : rand_floats(nd);
    float *out = rand_floats(nd), *outr = rand_floats(nd);
    int64_t *arg = malloc((size_t)(nd > 0 ? nd : 1) * sizeof(int64_t));
    int64_t *argr = malloc((size_t)(nd > 0 ? nd : 1) * sizeof(int64_t));
    ck_assert(arg && argr);
    if (kind == AGG_SUM) {
        csr_sum_forward(out, in, g->ptr, g->idx, n, d);
        csr_sum_forward_ref(outr, in, g->ptr, g->idx, n, d);
    } else if (kind == AGG_MEAN) {
        csr_mean_forward(out, in, g->ptr, g->idx, n, d);
        csr_mean_forward_ref(outr, in, g->ptr, g->idx, n, d);
    } else {
        csr_max_forward(out, arg, in, g->ptr, g->idx, n, d);
        csr_max_forward_ref(outr, argr, in, g->ptr, g->idx, n, d);
        ck_assert_msg(same_bits(arg, argr, (size_t)nd * sizeof(int64_t)), "max arg n=%ld d=%d ties=%d", (long)n, d,
                      ties);
    }
    ck_assert_msg(same_bits(out, outr, (size_t)nd * sizeof(float)), "forward kind=%d n=%ld d=%d", kind, (long)n, d);

    float *d_out = rand_floats(nd), *d_in = rand_floats(nd), *d_inr = copy_floats(d_in, nd);
    if (kind == AGG_SUM) {
        csr_sum_backward(d_in, d_out, g->rptr, g->ridx, n, d);
        csr_sum_backward_ref(d_inr, d_out, g->ptr, g->idx, n, d);
        ck_assert_msg(same_bits(d_in, d_inr, (size_t)nd * sizeof(float)), "sum backward n=%ld d=%d", (long)n, d);
    } else if (kind == AGG_MEAN) {
        csr_mean_backward(d_in, d_out, g->ptr, g->rptr, g->ridx, n, d);
        csr_mean_backward_ref(d_inr, d_out, g->ptr, g->idx, n, d);
        ck_assert_rel(d_in, d_inr, nd, 1e-5, "mean backward n=%ld d=%d: rel err %g", (long)n, d, e_);
    } else {
        csr_max_backward(d_in, d_out, arg, g->rptr, g->ridx, n, d);
        csr_max_backward_ref(d_inr, d_out, argr, n, d);
        ck_assert_msg(same_bits(d_in, d_inr, (size_t)nd * sizeof(float)), "max backward n=%ld d=%d ties=%d", (long)n,
                      d, ties);
    }
    free(in);
    free(out);
    free(outr);
    free(arg);
    free(argr);
    free(d_out);
    free(d_in);
    free(d_inr);
}

static void check_csr_all(agg_kind kind)
{
    xs_seed(17 + kind);
    for (int t = 0; t < NCSR; t++) {
        test_csr g = make_csr(CSR_CASES[t].n, CSR_CASES[t].maxdeg, CSR_CASES[t].hub, CSR_CASES[t].hub_deg);
        for (int k = 0; k < NDIMS; k++) {
            check_csr(&g, CSR_DIMS[k], kind, 0);
            if (kind == AGG_MAX) check_csr(&g, CSR_DIMS[k], kind, 1);
        }
        free_csr(&g);
    }
}

START_TEST(csr_sum_matches_ref)
{
    check_csr_all(AGG_SUM);
}
END_TEST

START_TEST(csr_mean_matches_ref)
{
    check_csr_all(AGG_MEAN);
}
END_TEST

START_TEST(csr_max_matches_ref)
{
    check_csr_all(AGG_MAX);
}
END_TEST

/* Ties go to the first neighbour in CSR order. */
START_TEST(csr_max_ties_first_neighbour)
{
    int64_t ptr[] = {0, 3, 3, 3, 3}, idx[] = {3, 1, 2}, rptr[5], ridx[3], arg[4];
    float in[4] = {0.0f, 5.0f, 5.0f, 5.0f}, out[4];
    csr_max_forward(out, arg, in, ptr, idx, 4, 1);
    ck_assert_int_eq(arg[0], 3);
    ck_assert_float_eq(out[0], 5.0f);
    ck_assert_int_eq(arg[1], -1);
    ck_assert_float_eq(out[1], 0.0f);
    csr_reverse(rptr, ridx, ptr, idx, 4);
    float d_out[4] = {1.0f, 1.0f, 1.0f, 1.0f}, d_in[4] = {0};
    csr_max_backward(d_in, d_out, arg, rptr, ridx, 4, 1);
    ck_assert_float_eq(d_in[3], 1.0f);
    ck_assert_float_eq(d_in[1], 0.0f);
    ck_assert_float_eq(d_in[2], 0.0f);
}
END_TEST

/* ---- segments ---- */

/* offsets over `rows` rows in G segments, some empty, one large */
static int64_t *make_offsets(int64_t G, int64_t *rows)
{
    int64_t *off = malloc(((size_t)G + 1) * sizeof(int64_t));
    ck_assert_ptr_nonnull(off);
    off[0] = 0;
    for (int64_t g = 0; g < G; g++) {
        int64_t len = xs_below(4) == 0 ? 0 : 1 + xs_below(40);
        if (g == G / 2) len = 1000;
        off[g + 1] = off[g] + len;
    }
    *rows = off[G];
    return off;
}

static void check_segments(int64_t G, int d, int ties)
{
    int64_t rows;
    int64_t *off = make_offsets(G, &rows);
    const int64_t nd = rows * d, gd = G * d;
    float *in = ties ? rand_ties(nd) : rand_floats(nd);
    float *out = rand_floats(gd), *outr = rand_floats(gd);
    int64_t *arg = malloc((size_t)(gd > 0 ? gd : 1) * sizeof(int64_t));
    int64_t *argr = malloc((size_t)(gd > 0 ? gd : 1) * sizeof(int64_t));
    ck_assert(arg && argr);
    float *d_out = rand_floats(gd), *d_in = rand_floats(nd), *d_inr = copy_floats(d_in, nd);

    /* sums in row order like the reference: bit-identical */
    segment_sum_forward(out, in, off, G, d);
    segment_sum_forward_ref(outr, in, off, G, d);
    ck_assert(same_bits(out, outr, (size_t)gd * sizeof(float)));
    segment_mean_forward(out, in, off, G, d);
    segment_mean_forward_ref(outr, in, off, G, d);
    ck_assert(same_bits(out, outr, (size_t)gd * sizeof(float)));
    segment_max_forward(out, arg, in, off, G, d);
    segment_max_forward_ref(outr, argr, in, off, G, d);
    ck_assert(same_bits(out, outr, (size_t)gd * sizeof(float)));
    ck_assert(same_bits(arg, argr, (size_t)gd * sizeof(int64_t)));

    segment_sum_backward(d_in, d_out, off, G, d);
    segment_sum_backward_ref(d_inr, d_out, off, G, d);
    ck_assert(same_bits(d_in, d_inr, (size_t)nd * sizeof(float)));
    /* one term per value; d_out * (1 / count) versus d_out / count: 1 ulp */
    segment_mean_backward(d_in, d_out, off, G, d);
    segment_mean_backward_ref(d_inr, d_out, off, G, d);
    ck_assert_rel(d_in, d_inr, nd, 1e-6, "segment mean backward G=%ld d=%d: rel err %g", (long)G, d, e_);
    memcpy(d_inr, d_in, (size_t)nd * sizeof(float));
    segment_max_backward(d_in, d_out, arg, G, d);
    segment_max_backward_ref(d_inr, d_out, argr, G, d);
    ck_assert(same_bits(d_in, d_inr, (size_t)nd * sizeof(float)));

    free(off);
    free(in);
    free(out);
    free(outr);
    free(arg);
    free(argr);
    free(d_out);
    free(d_in);
    free(d_inr);
}

START_TEST(segments_match_ref)
{
    xs_seed(23);
    const int64_t Gs[] = {0, 1, 2, 17, 300};
    for (int a = 0; a < 5; a++)
        for (int k = 0; k < NDIMS; k++) {
            check_segments(Gs[a], CSR_DIMS[k], 0);
            check_segments(Gs[a], CSR_DIMS[k], 1);
        }
}
END_TEST

/* ---- activations ---- */

/* SiLU: the optimized exp is within a few ulp of expf, so relative 1e-5 of
 * max(1, |y|) is loose; ReLU is exact. */
START_TEST(activations_match_ref)
{
    xs_seed(29);
    const int64_t sizes[] = {0, 1, 17, 4096 + 3, 100000};
    for (int s = 0; s < 5; s++) {
        const int64_t n = sizes[s];
        float *x = rand_floats(n), *g = rand_floats(n), *y = rand_floats(n), *yr = rand_floats(n);
        for (int64_t i = 0; i < n; i++) x[i] *= 12.0f;
        /* extremes: exp clamping, zero and signed zero */
        const float extremes[] = {0.0f, -0.0f, 88.0f, -88.0f, 100.0f, -100.0f, 1e30f, -1e30f, 20.0f, -20.0f};
        for (int64_t i = 0; i < n && i < 10; i++) x[i] = extremes[i];
        relu_forward(y, x, n);
        relu_forward_ref(yr, x, n);
        ck_assert(same_bits(y, yr, (size_t)n * sizeof(float)));
        relu_backward(y, g, yr, n);
        relu_backward_ref(yr, g, yr, n);
        ck_assert(same_bits(y, yr, (size_t)n * sizeof(float)));
        silu_forward(y, x, n);
        silu_forward_ref(yr, x, n);
        ck_assert_rel(y, yr, n, 1e-5, "silu forward n=%ld: rel err %g", (long)n, e_);
        for (int64_t i = 0; i < n; i++) ck_assert(isfinite(y[i]));
        silu_backward(y, g, x, n);
        silu_backward_ref(yr, g, x, n);
        ck_assert_rel(y, yr, n, 1e-5, "silu backward n=%ld: rel err %g", (long)n, e_);
        for (int64_t i = 0; i < n; i++) ck_assert(isfinite(y[i]));
        /* in place: out aliases in, d_in aliases d_out */
        float *z = copy_floats(x, n);
        relu_forward(z, z, n);
        relu_forward_ref(yr, x, n);
        ck_assert(same_bits(z, yr, (size_t)n * sizeof(float)));
        memcpy(z, g, (size_t)n * sizeof(float));
        silu_backward(z, z, x, n);
        silu_backward(y, g, x, n);
        ck_assert(same_bits(z, y, (size_t)n * sizeof(float)));
        free(x);
        free(g);
        free(y);
        free(yr);
        free(z);
    }
}
END_TEST

/* CSR and segment kernels give each output row to one thread, adding in a
 * fixed order: one and two threads give the same bits. */
START_TEST(sparse_deterministic_across_threads)
{
    xs_seed(31);
    test_csr g = make_csr(5000, 12, 3, 2000);
    const int d = 64;
    const int64_t nd = g.n * d;
    float *in = rand_floats(nd), *out[2], *d_in[2];
    int64_t *arg[2];
    for (int run = 0; run < 2; run++) {
        omp_set_num_threads(run + 1);
        out[run] = rand_floats(3 * nd);
        arg[run] = malloc((size_t)nd * sizeof(int64_t));
        d_in[run] = calloc((size_t)nd, sizeof(float));
        csr_sum_forward(out[run], in, g.ptr, g.idx, g.n, d);
        csr_mean_forward(out[run] + nd, in, g.ptr, g.idx, g.n, d);
        csr_max_forward(out[run] + 2 * nd, arg[run], in, g.ptr, g.idx, g.n, d);
        csr_sum_backward(d_in[run], in, g.rptr, g.ridx, g.n, d);
        csr_mean_backward(d_in[run], in, g.ptr, g.rptr, g.ridx, g.n, d);
        csr_max_backward(d_in[run], in, arg[run], g.rptr, g.ridx, g.n, d);
    }
    ck_assert(same_bits(out[0], out[1], (size_t)(3 * nd) * sizeof(float)));
    ck_assert(same_bits(arg[0], arg[1], (size_t)nd * sizeof(int64_t)));
    ck_assert(same_bits(d_in[0], d_in[1], (size_t)nd * sizeof(float)));
    for (int run = 0; run < 2; run++) {
        free(out[run]);
        free(arg[run]);
        free(d_in[run]);
    }
    free(in);
    free_csr(&g);
}
END_TEST

START_TEST(init_sets_threads)
{
    kernels_init(2);
    ck_assert_int_eq(kernels_threads(), 2);
    kernels_init(0); /* leaves the count alone */
    ck_assert_int_eq(kernels_threads(), 2);
    kernels_init(1);
    ck_assert_int_eq(kernels_threads(), 1);
}
END_TEST

static void setup(void)
{
    kernels_init(2);
}

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("gemm");
    tcase_add_checked_fixture(tc, setup, NULL);
    /* hundreds of shapes against triple loops, slower under ASan */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, gemm_forward_matches_ref);
    tcase_add_test(tc, gemm_backward_data_matches_ref);
    tcase_add_test(tc, gemm_backward_weight_matches_ref);
    tcase_add_test(tc, gemm_backward_weight_thread_counts);
    tcase_add_test(tc, gemm_cblas_fallback);
    tcase_add_test(tc, gemm_plan_rejects_bad_sizes);
    tcase_add_test(tc, gemm_backward_matches_finite_differences);
    tcase_add_test(tc, gemm_deterministic_two_threads);
    tcase_add_test(tc, transpose_and_bias_match_ref);
    suite_add_tcase(s, tc);

    tc = tcase_create("sparse");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, csr_reverse_is_transpose);
    tcase_add_test(tc, csr_sum_matches_ref);
    tcase_add_test(tc, csr_mean_matches_ref);
    tcase_add_test(tc, csr_max_matches_ref);
    tcase_add_test(tc, csr_max_ties_first_neighbour);
    tcase_add_test(tc, segments_match_ref);
    tcase_add_test(tc, sparse_deterministic_across_threads);
    suite_add_tcase(s, tc);

    tc = tcase_create("elementwise");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, activations_match_ref);
    tcase_add_test(tc, init_sets_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(kernels_suite());
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
