/* kernels: all dense and sparse math of the engine, and the only code that
 * calls libxsmm or BLAS.
 *
 * Conventions: row-major everywhere in this API (libxsmm's column-major
 * view stays inside kernels/); M is a row count (nodes, node-device pairs
 * or graphs) that changes from batch to batch, K and N are feature widths
 * fixed when a model is built. Every optimized kernel has a naive reference
 * (suffix _ref) compiled in, used by the tests on awkward shapes (one row,
 * odd sizes, empty inputs, isolated nodes).
 *
 * Plan/execute: gemm_plan_init JIT-dispatches the libxsmm kernels for one
 * (K, N) shape once, when a model is built; the execute functions make no
 * decisions beyond row blocking and never allocate. Work is split over rows
 * with OpenMP; OpenBLAS is kept to one thread (kernels_init) so that it does
 * not fight the engine's own threads. */
#ifndef GP_KERNELS_H
#define GP_KERNELS_H

#include <stdint.h>

#include "../common/gp_error.h"

/* Rows per libxsmm call; the remainder of a batch (M % 64 rows) goes to a
 * kernel dispatched for that size the first time the size occurs (see
 * fwd_rem), before any parallel region, and cached in the plan. */
#define KERNELS_ROW_BLOCK 64
#define KERNELS_MAX_THREADS 64

/* Sets OpenBLAS to one thread and the engine's OpenMP thread count
 * (threads <= 0: leave OpenMP's default). Call once at program start. */
void kernels_init(int threads);
int kernels_threads(void);
/* Whether plans JIT libxsmm kernels (default 1). With 0, set before
 * kernels_init and before any plan is made, libxsmm is never initialised
 * and every product runs through cblas_sgemm (single-threaded OpenBLAS):
 * slower per product but without libxsmm's start-up (about 6 ms) and JIT
 * work (about 0.1 ms per kernel), which dominate a one-graph prediction.
 * Results then differ from the JIT kernels in the last bits. cblas calls
 * are serialised (Debian's serial OpenBLAS is not thread-safe), so without
 * JIT one thread is as fast as several. */
void kernels_set_jit(int on);

typedef struct gemm_plan {
    int K, N;
    /* opaque libxsmm kernel pointers, dispatched by gemm_plan_init */
    void *fwd_beta0, *fwd_beta1;   /* Y = / += X W  on a row block */
    void *bwd_data_beta0, *bwd_data_beta1; /* dX = / += dY W^T on a row block */
    void *bwd_weight;              /* dW += X^T dY on a row block */
    /* Kernels for a last block of r = 1 .. KERNELS_ROW_BLOCK-1 rows, indexed
     * by r (entry 0 unused), dispatched on first use (see rem_ready) or all
     * at once by gemm_plan_prepare_all. NULL entries (libxsmm refused a
     * shape, or JIT is off) fall back to cblas_sgemm. */
    void *fwd_rem[2][KERNELS_ROW_BLOCK];       /* [beta][r] */
    void *bwd_data_rem[2][KERNELS_ROW_BLOCK];  /* [beta][r] */
    void *bwd_weight_rem[KERNELS_ROW_BLOCK];   /* [r] */
    /* Bit r set: the remainder kernels of r rows are dispatched (NULL then
     * means "libxsmm refused: use cblas"). Filled lazily because JIT-ing all
     * 5 x 63 sizes up front cost 4-17 ms per shape, most of a prediction's
     * time, while a run meets only a few sizes. A plan is therefore not to
     * be executed from two threads at once. */
    uint64_t rem_ready;
    int bwd_ready;                 /* backward full-block kernels dispatched */
    /* per-thread dW partials, (scratch_threads - 1) x K x N: thread 0 of
     * gemm_backward_weight accumulates into dW itself, thread t > 0 into
     * slice t - 1; the slices are added to dW in thread order. */
    float *scratch;
    int scratch_threads;           /* most threads gemm_backward_weight uses */
} gemm_plan;

/* Dispatches kernels for X[M x K] * W[K x N]; allocates the per-thread
 * scratch for weight gradients, sized for kernels_threads() now: call
 * kernels_init first (more threads later are capped at scratch_threads for
 * the weight gradient). Returns 0 or -1 (err says why).
 * gemm_backward_weight is deterministic for a given thread count: rows are
 * split into fixed contiguous ranges and partials summed in thread order. */
int gemm_plan_init(gemm_plan *p, int K, int N, gp_error *err);
/* Dispatches every remainder size now (2-17 ms per new shape), so that no
 * later call JITs or allocates: for training loops, where each step must
 * allocate nothing whatever the batch size. */
void gemm_plan_prepare_all(gemm_plan *p);
void gemm_plan_free(gemm_plan *p);

/* Y[M x N] (= or +=) X[M x K] W[K x N]. */
void gemm_forward(const gemm_plan *p, float *Y, const float *X, const float *W, int64_t M, int accumulate);
/* dX[M x K] (= or +=) dY[M x N] W^T, given Wt = W^T [N x K] (transpose once per step). */
void gemm_backward_data(const gemm_plan *p, float *dX, const float *dY, const float *Wt, int64_t M, int accumulate);
/* dW[K x N] += X^T dY over M rows. */
void gemm_backward_weight(gemm_plan *p, float *dW, const float *X, const float *dY, int64_t M);

void gemm_forward_ref(float *Y, const float *X, const float *W, int64_t M, int K, int N, int accumulate);
void gemm_backward_data_ref(float *dX, const float *dY, const float *W, int64_t M, int K, int N, int accumulate);
void gemm_backward_weight_ref(float *dW, const float *X, const float *dY, int64_t M, int K, int N);

/* Row-block API, for callers that run their own parallel loop over blocks
 * of at most KERNELS_ROW_BLOCK rows (the fused layers in gnn/): serial, no
 * OpenMP inside, the same kernels as gemm_forward, so a block gives the
 * bits gemm_forward gives for those rows. Call gemm_plan_prepare_rows(p, M)
 * before the parallel region: it dispatches the kernel for the last block
 * of M % 64 rows if the plan has not met that size (the only JIT work). */
void gemm_plan_prepare_rows(const gemm_plan *p, int64_t M);
/* Y[rows x N] (= or +=) X[rows x K] W[K x N], 1 <= rows <= KERNELS_ROW_BLOCK. */
void gemm_block_forward(const gemm_plan *p, float *Y, const float *X, const float *W, int rows, int accumulate);

/* Layer normalisation of N rows of width H (serial row workers; callers
 * split rows over threads): y = (x - mean) / sqrt(var + 1e-5) * gamma + beta,
 * saving xhat (N,H) and rstd (N); backward adds to dx, dgamma and dbeta. */
void layernorm_rows_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                            int64_t N, int H);
void layernorm_rows_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                             const float *rstd, const float *gamma, int64_t N, int H);

/* dst[cols x rows] = src[rows x cols]^T */
void transpose(float *dst, const float *src, int rows, int cols);

/* Bias: Y[M x N] += b[N]; db[N] += column sums of dY. */
void bias_forward(float *Y, const float *b, int64_t M, int N);
void bias_backward(float *db, const float *dY, int64_t M, int N);
void transpose_ref(float *dst, const float *src, int rows, int cols);
void bias_forward_ref(float *Y, const float *b, int64_t M, int N);
void bias_backward_ref(float *db, const float *dY, int64_t M, int N);

/* Reverse CSR (the transpose) of a CSR over n rows: rptr[n + 1] and
 * ridx[ptr[n]] are the caller's. Counting sort in row order, so each rev(j)
 * lists its rows ascending and duplicates sit next to each other, which
 * csr_max_backward relies on. Allocates nothing; single-threaded. */
void csr_reverse(int64_t *rptr, int64_t *ridx, const int64_t *ptr, const int64_t *idx, int64_t n);

/* CSR neighbour aggregation over rows of width d. Row i's neighbours are
 * idx[ptr[i] .. ptr[i+1]) (global row indices). Isolated rows get zeros.
 *  sum:  out[i] = sum_j in[j]
 *  mean: out[i] = sum_j in[j] / deg(i)
 *  max:  out[i][c] = max_j in[j][c], arg[i*d + c] = the j that won (-1 when isolated)
 * Backward passes take the reverse CSR (rptr/ridx: for each row j the rows
 * i that list j), so each thread owns the rows it writes: no atomics.
 *  sum:  d_in[j] += sum_{i in rev(j)} d_out[i]
 *  mean: d_in[j] += sum_{i in rev(j)} d_out[i] / deg(i), deg from ptr
 *  max:  d_in[j][c] += sum_{i in rev(j), arg[i][c] == j} d_out[i][c]
 * Max ties (equal values, duplicate neighbours) go to the first neighbour in
 * CSR order. A row i listed several times in rev(j) (duplicate neighbour)
 * counts once in the max backward: rev(j) must keep such repeats adjacent,
 * as csr_reverse does. */
void csr_sum_forward(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d);
/* Rows i0 .. i1-1 of csr_sum_forward (mean = 0) or csr_mean_forward
 * (mean = 1), written to out[(i - i0) * d]: serial, for fused row blocks. */
void csr_aggregate_block(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t i0, int64_t i1,
                         int d, int mean);
void csr_mean_forward(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d);
void csr_max_forward(float *out, int64_t *arg, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n,
                     int d);
void csr_sum_backward(float *d_in, const float *d_out, const int64_t *rptr, const int64_t *ridx, int64_t n, int d);
void csr_mean_backward(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *rptr, const int64_t *ridx,
                       int64_t n, int d);
void csr_max_backward(float *d_in, const float *d_out, const int64_t *arg, const int64_t *rptr, const int64_t *ridx,
                      int64_t n, int d);
/* references: same contracts, single-threaded, straightforward loops */
void csr_sum_forward_ref(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d);
void csr_mean_forward_ref(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d);
void csr_max_forward_ref(float *out, int64_t *arg, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n,
                         int d);
void csr_sum_backward_ref(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *idx, int64_t n, int d);
void csr_mean_backward_ref(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *idx, int64_t n, int d);
void csr_max_backward_ref(float *d_in, const float *d_out, const int64_t *arg, int64_t n, int d);
/* (the _backward_ref versions scatter along the forward CSR ptr/idx, so they
 * check the reverse-CSR versions independently) */

/* Segment reductions over graphs: rows off[g] .. off[g+1] of in[N x d]
 * reduce to out[g]. Empty segments give zeros (max: arg -1). Max: arg[g*d + c]
 * is the winning row of in (off[g] <= arg < off[g+1]), ties to the first. */
void segment_sum_forward(float *out, const float *in, const int64_t *off, int64_t G, int d);
void segment_mean_forward(float *out, const float *in, const int64_t *off, int64_t G, int d);
void segment_max_forward(float *out, int64_t *arg, const float *in, const int64_t *off, int64_t G, int d);
void segment_sum_backward(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d);   /* += */
void segment_mean_backward(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d);  /* += */
void segment_max_backward(float *d_in, const float *d_out, const int64_t *arg, int64_t G, int d);   /* += */
/* references: same contracts, single-threaded, straightforward loops */
void segment_sum_forward_ref(float *out, const float *in, const int64_t *off, int64_t G, int d);
void segment_mean_forward_ref(float *out, const float *in, const int64_t *off, int64_t G, int d);
void segment_max_forward_ref(float *out, int64_t *arg, const float *in, const int64_t *off, int64_t G, int d);
void segment_sum_backward_ref(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d);
void segment_mean_backward_ref(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d);
void segment_max_backward_ref(float *d_in, const float *d_out, const int64_t *arg, int64_t G, int d);

/* Activations, element-wise over n values; out may alias in.
 * Backward: d_in = d_out * f'(x), given the forward output y (ReLU: y > 0)
 * or input x (GELU/SiLU need x); d_in may alias d_out. */
void relu_forward(float *out, const float *in, int64_t n);
/* Serial epilogues for fused row blocks, bit-identical to the passes they
 * replace: y[rows x n] = relu(y + b) (bias_forward then relu_forward), and
 * out[k] = a[k] + b[k]. */
void bias_relu_block(float *y, const float *b, int64_t rows, int n);
void bias_block(float *y, const float *b, int64_t rows, int n); /* y += b (bias_forward) */
void add_block(float *out, const float *a, const float *b, int64_t n);
void relu_backward(float *d_in, const float *d_out, const float *y, int64_t n);
void silu_forward(float *out, const float *in, int64_t n);
void silu_backward(float *d_in, const float *d_out, const float *x, int64_t n);
/* references (expf from libm; the optimized SiLU uses a vectorizable exp
 * within about 2 ulp of it) */
void relu_forward_ref(float *out, const float *in, int64_t n);
void relu_backward_ref(float *d_in, const float *d_out, const float *y, int64_t n);
void silu_forward_ref(float *out, const float *in, int64_t n);
void silu_backward_ref(float *d_in, const float *d_out, const float *x, int64_t n);

#endif
