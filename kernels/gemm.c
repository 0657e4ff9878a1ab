/* gemm: the dense kernels (row-major X W products, their two backward
 * passes, bias, transpose) and the engine's thread settings.
 *
 * libxsmm is column-major: a row-major A[r x c] is its column-major c x r
 * view, so row-major Y[M x N] = X[M x K] W[K x N] is column-major
 * Y^T = W^T X^T, a kernel dispatched as (m = N, n = rows, k = K) and called
 * k(W, X, Y). gemm_plan_init dispatches the forward kernels; backward and
 * remainder kernels are dispatched on first use, outside parallel regions.
 * The execute functions split rows into KERNELS_ROW_BLOCK blocks, spread
 * the blocks over OpenMP threads and call the kernels. A shape libxsmm
 * refuses (NULL kernel), or every shape with kernels_set_jit(0), runs
 * through cblas_sgemm instead. */
#include <cblas.h>
#include <libxsmm.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* 0: plans dispatch no libxsmm kernel and every product goes to cblas_sgemm
 * (kernels_set_jit). */
static int kernels_jit = 1;

void kernels_set_jit(int on)
{
    kernels_jit = on != 0;
}

void kernels_init(int threads)
{
    /* OpenBLAS only serves as libxsmm's fallback inside our own threads:
     * its busy-waiting pool would fight the engine's OpenMP threads. */
    openblas_set_num_threads(1);
    if (threads > 0) omp_set_num_threads(threads);
    if (kernels_jit) libxsmm_init();
}

int kernels_threads(void)
{
    return omp_get_max_threads();
}

/* ---- dispatch ---- */

static void *dispatch(int m, int n, int k, int lda, int ldb, int ldc, int beta, int flags)
{
    const float alpha = 1.0f, fbeta = beta ? 1.0f : 0.0f;
    const libxsmm_blasint bm = m, bn = n, bk = k, blda = lda, bldb = ldb, bldc = ldc;
    const int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    libxsmm_smmfunction f = libxsmm_smmdispatch(bm, bn, bk, &blda, &bldb, &bldc, &alpha, &fbeta, &flags, &prefetch);
    return (void *)f;
}

/* Y^T[N x r] = W^T X^T: A = W (lda N), B = X (ldb K), C = Y (ldc N). */
static void *dispatch_fwd(int K, int N, int rows, int beta)
{
    return dispatch(N, rows, K, N, K, N, beta, LIBXSMM_GEMM_FLAG_NONE);
}

/* dW^T[N x K] += dY^T X: A = dY (N x r, lda N), B = X^T stored as the
 * column-major K x r view of X (ldb K) and transposed by TRANS_B, C = dW
 * (ldc N). r is the reduction length. */
static void *dispatch_bwd_weight(int K, int N, int rows)
{
    return dispatch(N, K, rows, N, K, N, 1, LIBXSMM_GEMM_FLAG_TRANS_B);
}

int gemm_plan_init(gemm_plan *p, int K, int N, gp_error *err)
{
    memset(p, 0, sizeof(*p));
    if (K <= 0 || N <= 0) return gp_errorf(err, "gemm plan: sizes must be positive, got K=%d N=%d", K, N);
    p->K = K;
    p->N = N;
    if (kernels_jit) {
        libxsmm_init();
        /* Forward full-block kernels now; backward ones on first use
         * (ensure_bwd) and remainder sizes on first use (ensure_rem): a
         * prediction needs neither, and each JIT costs time. */
        p->fwd_beta0 = dispatch_fwd(K, N, KERNELS_ROW_BLOCK, 0);
        p->fwd_beta1 = dispatch_fwd(K, N, KERNELS_ROW_BLOCK, 1);
    } else {
        p->rem_ready = ~(uint64_t)0; /* every kernel stays NULL: cblas */
        p->bwd_ready = 1;
    }

    int threads = omp_get_max_threads();
    if (threads > KERNELS_MAX_THREADS) threads = KERNELS_MAX_THREADS;
    if (threads < 1) threads = 1;
    p->scratch_threads = threads;
    if (threads > 1) {
        p->scratch = malloc((size_t)(threads - 1) * (size_t)K * (size_t)N * sizeof(float));
        if (!p->scratch) {
            p->scratch_threads = 0;
            return gp_errorf(err, "gemm plan K=%d N=%d: cannot allocate weight-gradient scratch for %d threads", K, N,
                             threads);
        }
    }
    return 0;
}

void gemm_plan_free(gemm_plan *p)
{
    if (!p) return;
    /* kernels belong to libxsmm's code registry, shared between plans */
    free(p->scratch);
    memset(p, 0, sizeof(*p));
}

/* ---- execute ---- */

/* Dispatches the kernels for a remainder of M % 64 rows if this plan has
 * not met that size yet. Called before parallel regions, so single-threaded;
 * the cast is for this cache only. */
static void ensure_rem(const gemm_plan *cp, int64_t M)
{
    const int r = (int)(M % KERNELS_ROW_BLOCK);
    gemm_plan *p = (gemm_plan *)cp;
    if (r == 0 || (p->rem_ready >> r & 1)) return;
    for (int beta = 0; beta < 2; beta++) {
        p->fwd_rem[beta][r] = dispatch_fwd(p->K, p->N, r, beta);
        p->bwd_data_rem[beta][r] = dispatch_fwd(p->N, p->K, r, beta); /* dX = dY Wt: the forward with K, N swapped */
    }
    p->bwd_weight_rem[r] = dispatch_bwd_weight(p->K, p->N, r);
    p->rem_ready |= (uint64_t)1 << r;
}

/* Dispatches the backward full-block kernels on first use (single-threaded
 * callers only, like ensure_rem). */
static void ensure_bwd(const gemm_plan *cp)
{
    gemm_plan *p = (gemm_plan *)cp;
    if (p->bwd_ready) return;
    p->bwd_data_beta0 = dispatch_fwd(p->N, p->K, KERNELS_ROW_BLOCK, 0);
    p->bwd_data_beta1 = dispatch_fwd(p->N, p->K, KERNELS_ROW_BLOCK, 1);
    p->bwd_weight = dispatch_bwd_weight(p->K, p->N, KERNELS_ROW_BLOCK);
    p->bwd_ready = 1;
}

static int64_t nblocks(int64_t M)
{
    return (M + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
}

/* One block of Y[rows x N] (= or +=) X[rows x K] W[K x N]. */
static void block_fwd(const void *kern, float *Y, const float *X, const float *W, int rows, int K, int N, int beta)
{
    if (kern) {
        ((libxsmm_smmfunction)kern)(W, X, Y);
    } else {
        /* Debian's single-threaded OpenBLAS (the one CMake prefers) is not
         * safe to call from several threads at once: measured, two threads
         * gave garbage. The fallback is rare with JIT kernels, and with
         * kernels_set_jit(0) callers run one thread. */
#pragma omp critical(gp_cblas)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, N, K, 1.0f, X, K, W, N, beta ? 1.0f : 0.0f, Y,
                    N);
    }
}

/* Shared by forward (K, N) and backward data (N, K): the same product. */
static void gemm_rows(void *const full[2], void *const rem[2][KERNELS_ROW_BLOCK], float *Y, const float *X,
                      const float *W, int64_t M, int K, int N, int accumulate)
{
    const int beta = accumulate ? 1 : 0;
    const int64_t nb = nblocks(M);
    const void *kfull = full[beta];
    /* Blocks are independent and computed the same way by any thread, so a
     * dynamic schedule changes no bit of the result; it lets one thread take
     * over the blocks of another that the OS has descheduled (shared
     * machines). One atomic per 64-row block is noise next to its GEMM. */
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t r0 = b * KERNELS_ROW_BLOCK;
        const int rows = (int)(M - r0 < KERNELS_ROW_BLOCK ? M - r0 : KERNELS_ROW_BLOCK);
        const void *kern = rows == KERNELS_ROW_BLOCK ? kfull : rem[beta][rows];
        block_fwd(kern, Y + r0 * N, X + r0 * K, W, rows, K, N, beta);
    }
}

void gemm_plan_prepare_rows(const gemm_plan *p, int64_t M)
{
    ensure_rem(p, M);
}

void gemm_block_forward(const gemm_plan *p, float *Y, const float *X, const float *W, int rows, int accumulate)
{
    if (rows <= 0) return;
    const int beta = accumulate ? 1 : 0;
    const void *kern = rows == KERNELS_ROW_BLOCK ? (beta ? p->fwd_beta1 : p->fwd_beta0) : p->fwd_rem[beta][rows];
    block_fwd(kern, Y, X, W, rows, p->K, p->N, beta);
}

void gemm_plan_prepare_all(gemm_plan *p)
{
    ensure_bwd(p);
    for (int64_t r = 1; r < KERNELS_ROW_BLOCK; r++) ensure_rem(p, r);
}

void gemm_forward(const gemm_plan *p, float *Y, const float *X, const float *W, int64_t M, int accumulate)
{
    void *const full[2] = {p->fwd_beta0, p->fwd_beta1};
    ensure_rem(p, M);
    gemm_rows(full, p->fwd_rem, Y, X, W, M, p->K, p->N, accumulate);
}

void gemm_backward_data(const gemm_plan *p, float *dX, const float *dY, const float *Wt, int64_t M, int accumulate)
{
    ensure_bwd(p);
    void *const full[2] = {p->bwd_data_beta0, p->bwd_data_beta1};
    ensure_rem(p, M);
    gemm_rows(full, p->bwd_data_rem, dX, dY, Wt, M, p->N, p->K, accumulate);
}

/* C[K x N] += X[rows x K]^T dY[rows x N] over blocks [b0, b1). */
static void weight_blocks(const gemm_plan *p, float *C, const float *X, const float *dY, int64_t M, int64_t b0,
                          int64_t b1)
{
    const int K = p->K, N = p->N;
    for (int64_t b = b0; b < b1; b++) {
        const int64_t r0 = b * KERNELS_ROW_BLOCK;
        const int rows = (int)(M - r0 < KERNELS_ROW_BLOCK ? M - r0 : KERNELS_ROW_BLOCK);
        const void *kern = rows == KERNELS_ROW_BLOCK ? p->bwd_weight : p->bwd_weight_rem[rows];
        if (kern) {
            ((libxsmm_smmfunction)kern)(dY + r0 * N, X + r0 * K, C);
        } else {
#pragma omp critical(gp_cblas)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, rows, 1.0f, X + r0 * K, K, dY + r0 * N, N,
                        1.0f, C, N);
        }
    }
}

void gemm_backward_weight(gemm_plan *p, float *dW, const float *X, const float *dY, int64_t M)
{
    const int64_t nb = nblocks(M);
    if (nb == 0) return;
    ensure_bwd(p);
    ensure_rem(p, M);
    int64_t want = omp_get_max_threads();
    if (want > p->scratch_threads) want = p->scratch_threads;
    if (want > nb) want = nb;
    if (want <= 1) {
        weight_blocks(p, dW, X, dY, M, 0, nb);
        return;
    }
    /* Determinism: thread t takes the contiguous blocks [nb t / T, nb (t+1) / T)
     * and the partials are added to dW in thread order, so a given thread
     * count gives bit-identical results on every run. */
    const int64_t kn = (int64_t)p->K * p->N;
    float *scratch = p->scratch;
#pragma omp parallel num_threads((int)want)
    {
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        float *C = t == 0 ? dW : scratch + (t - 1) * kn;
        if (t > 0) memset(C, 0, (size_t)kn * sizeof(float));
        weight_blocks(p, C, X, dY, M, nb * t / nt, nb * (t + 1) / nt);
#pragma omp barrier
        const int64_t e0 = kn * t / nt, e1 = kn * (t + 1) / nt;
        for (int64_t s = 1; s < nt; s++) {
            const float *restrict part = scratch + (s - 1) * kn;
            float *restrict out = dW;
            for (int64_t e = e0; e < e1; e++) out[e] += part[e];
        }
    }
}

/* ---- small dense helpers ---- */

void transpose(float *dst, const float *src, int rows, int cols)
{
    /* 32 x 32 tiles: 4 KB read and 4 KB written per tile stay in L1 */
    enum { TILE = 32 };
    for (int i0 = 0; i0 < rows; i0 += TILE) {
        const int i1 = i0 + TILE < rows ? i0 + TILE : rows;
        for (int j0 = 0; j0 < cols; j0 += TILE) {
            const int j1 = j0 + TILE < cols ? j0 + TILE : cols;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++) dst[(int64_t)j * rows + i] = src[(int64_t)i * cols + j];
        }
    }
}

/* Below this many values a parallel region costs more than it saves. */
#define PARALLEL_MIN_VALUES 32768

void bias_forward(float *Y, const float *b, int64_t M, int N)
{
    /* the fused layers' serial row worker, over 64-row chunks */
    const int64_t nch = (M + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
#pragma omp parallel for schedule(static) if (M * N >= PARALLEL_MIN_VALUES)
    for (int64_t ch = 0; ch < nch; ch++) {
        const int64_t r0 = ch * KERNELS_ROW_BLOCK;
        bias_block(Y + r0 * N, b, M - r0 < KERNELS_ROW_BLOCK ? M - r0 : KERNELS_ROW_BLOCK, N);
    }
}

void bias_backward(float *db, const float *dY, int64_t M, int N)
{
    /* Threads own column chunks and add rows in order, so the result is the
     * reference's, bit for bit, for any thread count. */
    enum { CHUNK = 16 };
    const int nchunks = (N + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (M * N >= PARALLEL_MIN_VALUES && nchunks > 1)
    for (int ch = 0; ch < nchunks; ch++) {
        const int c0 = ch * CHUNK, w = N - c0 < CHUNK ? N - c0 : CHUNK;
        float acc[CHUNK];
        for (int c = 0; c < w; c++) acc[c] = db[c0 + c];
        for (int64_t i = 0; i < M; i++) {
            const float *restrict y = dY + i * N + c0;
            for (int c = 0; c < w; c++) acc[c] += y[c];
        }
        for (int c = 0; c < w; c++) db[c0 + c] = acc[c];
    }
}
