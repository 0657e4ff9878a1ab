#include "layers.h"

#include <math.h>
#include <string.h>

/* Below this many values (rows x width) a parallel region costs more than it saves. */
#define LAYER_PARALLEL_MIN 32768

void dense_forward(float *y, const float *x, const float *W, const float *b, int64_t M, int relu,
                   const gemm_plan *p)
{
    /* GEMM, bias and ReLU per 64-row block while the block is in cache: the
     * same kernels in the same order as the three separate passes */
    const int K = p->K, N = p->N;
    const int64_t nb = (M + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
    gemm_plan_prepare_rows(p, M);
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1 && M * N >= LAYER_PARALLEL_MIN)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t r0 = blk * KERNELS_ROW_BLOCK;
        const int rows = (int)(M - r0 < KERNELS_ROW_BLOCK ? M - r0 : KERNELS_ROW_BLOCK);
        gemm_block_forward(p, y + r0 * N, x + r0 * K, W, rows, 0);
        if (relu) bias_relu_block(y + r0 * N, b, rows, N);
        else bias_block(y + r0 * N, b, rows, N);
    }
}

void dense_backward(float *dx, float *dW, float *db, float *dy, const float *y, const float *x, const float *Wt,
                    int64_t M, int relu, gemm_plan *p)
{
    if (relu) relu_backward(dy, dy, y, M * p->N);
    bias_backward(db, dy, M, p->N);
    gemm_backward_weight(p, dW, x, dy, M);
    if (dx) gemm_backward_data(p, dx, dy, Wt, M, 1);
}

static void aggregate(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int H, int agg)
{
    if (agg == AGG_MEAN) csr_mean_forward(out, in, ptr, idx, n, H);
    else csr_sum_forward(out, in, ptr, idx, n, H);
}

/* Gradient of aggregate(ptr, idx) with respect to its input, added to d_in:
 * it runs over the reverse adjacency (rptr, ridx). */
static void aggregate_backward(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *rptr,
                               const int64_t *ridx, int64_t n, int H, int agg)
{
    if (agg == AGG_MEAN) csr_mean_backward(d_in, d_out, ptr, rptr, ridx, n, H);
    else csr_sum_backward(d_in, d_out, rptr, ridx, n, H);
}

static void add_rows(float *out, const float *a, const float *b, int64_t n)
{
    for (int64_t k = 0; k < n; k++) out[k] = a[k] + b[k];
}

static void acc_rows(float *out, const float *a, int64_t n)
{
    for (int64_t k = 0; k < n; k++) out[k] += a[k];
}

void mp_forward(float *out, float *agg_p, float *agg_s, float *a, const float *h, const float *Ws, const float *Wp,
                const float *Wc, const float *b, const graph_csr *g, int H, int agg, int residual,
                const gemm_plan *p)
{
    int64_t N = g->n;
    aggregate(agg_p, h, g->pred_ptr, g->pred_idx, N, H, agg);
    gemm_forward(p, a, h, Ws, N, 0);
    gemm_forward(p, a, agg_p, Wp, N, 1);
    if (Wc) {
        aggregate(agg_s, h, g->succ_ptr, g->succ_idx, N, H, agg);
        gemm_forward(p, a, agg_s, Wc, N, 1);
    }
    bias_forward(a, b, N, H);
    relu_forward(a, a, N * H);
    if (residual) add_rows(out, h, a, N * H);
    else memcpy(out, a, (size_t)(N * H) * sizeof(float));
}

void mp_backward(float *dh, float *dWs, float *dWp, float *dWc, float *db, const float *dout, float *dz, float *dagg,
                 const float *agg_p, const float *agg_s, const float *a, const float *h, const float *Wst,
                 const float *Wpt, const float *Wct, const graph_csr *g, int H, int agg, int residual, gemm_plan *p)
{
    int64_t N = g->n;
    if (residual) acc_rows(dh, dout, N * H);
    relu_backward(dz, dout, a, N * H);
    bias_backward(db, dz, N, H);
    gemm_backward_weight(p, dWs, h, dz, N);
    gemm_backward_weight(p, dWp, agg_p, dz, N);
    gemm_backward_data(p, dh, dz, Wst, N, 1);
    gemm_backward_data(p, dagg, dz, Wpt, N, 0);
    aggregate_backward(dh, dagg, g->pred_ptr, g->succ_ptr, g->succ_idx, N, H, agg);
    if (dWc) {
        gemm_backward_weight(p, dWc, agg_s, dz, N);
        gemm_backward_data(p, dagg, dz, Wct, N, 0);
        aggregate_backward(dh, dagg, g->succ_ptr, g->pred_ptr, g->pred_idx, N, H, agg);
    }
}

void gin_forward(float *out, float *u, float *m, float *a, const float *h, float eps, const float *W1,
                 const float *b1, const float *W2, const float *b2, const graph_csr *g, int H, int residual,
                 const gemm_plan *p)
{
    int64_t N = g->n;
    csr_sum_forward(u, h, g->pred_ptr, g->pred_idx, N, H);
    float s = 1.0f + eps;
    for (int64_t k = 0; k < N * H; k++) u[k] += s * h[k];
    dense_forward(m, u, W1, b1, N, 1, p);
    dense_forward(a, m, W2, b2, N, 1, p);
    if (residual) add_rows(out, h, a, N * H);
    else memcpy(out, a, (size_t)(N * H) * sizeof(float));
}

void gin_backward(float *dh, float *deps, float *dW1, float *db1, float *dW2, float *db2, const float *dout,
                  float *dz, float *dm, float *du, const float *u, const float *m, const float *a, const float *h,
                  float eps, const float *W1t, const float *W2t, const graph_csr *g, int H, int residual,
                  gemm_plan *p)
{
    int64_t N = g->n;
    if (residual) acc_rows(dh, dout, N * H);
    memcpy(dz, dout, (size_t)(N * H) * sizeof(float));
    memset(dm, 0, (size_t)(N * H) * sizeof(float));
    dense_backward(dm, dW2, db2, dz, a, m, W2t, N, 1, p);
    memset(du, 0, (size_t)(N * H) * sizeof(float));
    dense_backward(du, dW1, db1, dm, m, u, W1t, N, 1, p);
    /* u = (1 + eps) h + sum_pred(h) */
    double acc = 0.0;
    float s = 1.0f + eps;
    for (int64_t k = 0; k < N * H; k++) {
        acc += (double)du[k] * h[k];
        dh[k] += s * du[k];
    }
    *deps += (float)acc;
    csr_sum_backward(dh, du, g->succ_ptr, g->succ_idx, N, H);
}

void layernorm_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                       int64_t N, int H)
{
    const int64_t nch = (N + LAYERNORM_CHUNK_ROWS - 1) / LAYERNORM_CHUNK_ROWS;
#pragma omp parallel for schedule(static) if (nch > 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        const int64_t i0 = ch * LAYERNORM_CHUNK_ROWS, n = N - i0 < LAYERNORM_CHUNK_ROWS ? N - i0 : LAYERNORM_CHUNK_ROWS;
        layernorm_rows_forward(y + i0 * H, xhat + i0 * H, rstd + i0, x + i0 * H, gamma, beta, n, H);
    }
}

int64_t layernorm_partial_floats(int64_t N, int H)
{
    return ((N + LAYERNORM_CHUNK_ROWS - 1) / LAYERNORM_CHUNK_ROWS) * 2 * (int64_t)H;
}

void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                        const float *rstd, const float *gamma, int64_t N, int H, float *partial)
{
    const int64_t nch = (N + LAYERNORM_CHUNK_ROWS - 1) / LAYERNORM_CHUNK_ROWS;
    if (!partial || nch <= 1) {
        layernorm_rows_backward(dx, dgamma, dbeta, dy, xhat, rstd, gamma, N, H);
        return;
    }
    /* Each chunk of rows sums its dgamma/dbeta into its own slice; the slices
     * are then added in chunk order: the same bits for any thread count. */
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < nch; ch++) {
        const int64_t i0 = ch * LAYERNORM_CHUNK_ROWS, n = N - i0 < LAYERNORM_CHUNK_ROWS ? N - i0 : LAYERNORM_CHUNK_ROWS;
        float *pg = partial + ch * 2 * H, *pb = pg + H;
        memset(pg, 0, 2 * (size_t)H * sizeof(float));
        layernorm_rows_backward(dx + i0 * H, pg, pb, dy + i0 * H, xhat + i0 * H, rstd + i0, gamma, n, H);
    }
    for (int64_t ch = 0; ch < nch; ch++) {
        const float *pg = partial + ch * 2 * H, *pb = pg + H;
        for (int c = 0; c < H; c++) {
            dgamma[c] += pg[c];
            dbeta[c] += pb[c];
        }
    }
}

void attention_pool_forward(float *out, float *alpha, const float *h, const float *w, const float *b,
                            const int64_t *off, int64_t G, int H)
{
    /* graphs are independent: each thread owns whole graphs, so the result
     * does not depend on the thread count */
#pragma omp parallel for schedule(dynamic, 4) if (G > 1 && (off[G] - off[0]) * H >= LAYER_PARALLEL_MIN)
    for (int64_t g = 0; g < G; g++) {
        float *og = out + g * H;
        memset(og, 0, (size_t)H * sizeof(float));
        if (off[g + 1] == off[g]) continue;
        /* Softmax with the maximum subtracted, so exp never overflows. */
        float mx = -INFINITY;
        for (int64_t i = off[g]; i < off[g + 1]; i++) {
            float s = b[0];
            for (int c = 0; c < H; c++) s += h[i * H + c] * w[c];
            alpha[i] = s;
            if (s > mx) mx = s;
        }
        float z = 0.0f;
        for (int64_t i = off[g]; i < off[g + 1]; i++) {
            alpha[i] = expf(alpha[i] - mx);
            z += alpha[i];
        }
        for (int64_t i = off[g]; i < off[g + 1]; i++) {
            alpha[i] /= z;
            for (int c = 0; c < H; c++) og[c] += alpha[i] * h[i * H + c];
        }
    }
}

/* Graphs per chunk of the parallel attention backward: each chunk sums its
 * dw/db into its own slice of the partial buffer. */
#define ATT_CHUNK_GRAPHS 4

int64_t attention_partial_floats(int64_t G, int H)
{
    return (G + ATT_CHUNK_GRAPHS - 1) / ATT_CHUNK_GRAPHS * ((int64_t)H + 1);
}

static void att_back_graphs(float *dh, float *dw, float *db, const float *dout, const float *alpha, const float *h,
                            const float *w, const int64_t *off, int64_t g0, int64_t g1, int H)
{
    for (int64_t g = g0; g < g1; g++) {
        const float *dg = dout + g * H;
        /* d alpha_i = dout . h_i; d s_i = alpha_i (d alpha_i - sum_j alpha_j d alpha_j) */
        float avg = 0.0f;
        for (int64_t i = off[g]; i < off[g + 1]; i++) {
            float da = 0.0f;
            for (int c = 0; c < H; c++) da += dg[c] * h[i * H + c];
            avg += alpha[i] * da;
        }
        for (int64_t i = off[g]; i < off[g + 1]; i++) {
            float da = 0.0f;
            for (int c = 0; c < H; c++) da += dg[c] * h[i * H + c];
            float ds = alpha[i] * (da - avg);
            db[0] += ds;
            for (int c = 0; c < H; c++) {
                dw[c] += ds * h[i * H + c];
                dh[i * H + c] += alpha[i] * dg[c] + ds * w[c];
            }
        }
    }
}

void attention_pool_backward(float *dh, float *dw, float *db, const float *dout, const float *alpha,
                             const float *h, const float *w, const int64_t *off, int64_t G, int H, float *partial)
{
    const int64_t nch = (G + ATT_CHUNK_GRAPHS - 1) / ATT_CHUNK_GRAPHS;
    if (!partial || nch <= 1 || (off[G] - off[0]) * H < LAYER_PARALLEL_MIN) {
        att_back_graphs(dh, dw, db, dout, alpha, h, w, off, 0, G, H);
        return;
    }
    /* graphs own their rows of dh; dw/db go through per-chunk slices added in
     * chunk order, so the result does not depend on the thread count */
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        const int64_t g0 = ch * ATT_CHUNK_GRAPHS, g1 = g0 + ATT_CHUNK_GRAPHS < G ? g0 + ATT_CHUNK_GRAPHS : G;
        float *pw = partial + ch * ((int64_t)H + 1);
        memset(pw, 0, ((size_t)H + 1) * sizeof(float));
        att_back_graphs(dh, pw, pw + H, dout, alpha, h, w, off, g0, g1, H);
    }
    for (int64_t ch = 0; ch < nch; ch++) {
        const float *pw = partial + ch * ((int64_t)H + 1);
        for (int c = 0; c < H; c++) dw[c] += pw[c];
        db[0] += pw[H];
    }
}

void additive_readout_forward(float *out, float *p, const float *z, const float *lw, const float *sigma,
                              const int64_t *off, int64_t G, int64_t D, int T)
{
    /* Log-sum-exp with the maximum subtracted (exp never overflows), summed
     * in double. Each thread owns whole graphs, so the result does not
     * depend on the thread count. */
#pragma omp parallel for schedule(dynamic, 4) if (G > 1 && (off[G] - off[0]) * D * T >= LAYER_PARALLEL_MIN)
    for (int64_t g = 0; g < G; g++)
        for (int64_t d = 0; d < D; d++)
            for (int t = 0; t < T; t++) {
                const double s = sigma ? sigma[t] : 1.0;
                float *o = out + (g * D + d) * T + t;
                if (off[g + 1] == off[g]) {
                    *o = 0.0f;
                    continue;
                }
#define ADDITIVE_SCORE(k) (s * (double)z[k] + (lw ? (double)lw[k] : 0.0))
                double mx = -INFINITY;
                for (int64_t i = off[g]; i < off[g + 1]; i++) {
                    double a = ADDITIVE_SCORE((i * D + d) * T + t);
                    if (a > mx) mx = a;
                }
                double sum = 0.0;
                for (int64_t i = off[g]; i < off[g + 1]; i++) sum += exp(ADDITIVE_SCORE((i * D + d) * T + t) - mx);
                for (int64_t i = off[g]; i < off[g + 1]; i++) {
                    const int64_t k = (i * D + d) * T + t;
                    p[k] = (float)(exp(ADDITIVE_SCORE(k) - mx) / sum);
                }
#undef ADDITIVE_SCORE
                *o = (float)((mx + log(sum)) / s);
            }
}

void additive_readout_backward(float *dz, const float *dout, const float *p, const int64_t *off, int64_t G,
                               int64_t D, int T)
{
    for (int64_t g = 0; g < G; g++)
        for (int64_t i = off[g]; i < off[g + 1]; i++)
            for (int64_t d = 0; d < D; d++)
                for (int t = 0; t < T; t++) {
                    const int64_t k = (i * D + d) * T + t;
                    dz[k] = dout[(g * D + d) * T + t] * p[k];
                }
}

#define PAIR_CHUNK_ROWS 256

int64_t pair_head_partial_floats(int64_t R, int64_t D, int Hh)
{
    return (R + PAIR_CHUNK_ROWS - 1) / PAIR_CHUNK_ROWS * D * Hh;
}

void pair_head_forward(float *out, float *A, float *B, float *u, const float *x, const float *e, const float *W1x,
                       const float *W1e, const float *b1, const float *W2, const float *b2, int64_t R, int64_t D,
                       int Hh, const gemm_plan *px, const gemm_plan *pe, const gemm_plan *p2)
{
    gemm_forward(pe, B, e, W1e, D, 0);
    const int K = px->K, T = p2->N;
    const int64_t nb = (R + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
    gemm_plan_prepare_rows(px, R);
    gemm_plan_prepare_rows(p2, R * D);
    /* Per 64-row block: A rows, then the block's (row, device) pairs of u
     * and out, in 64-pair sub-blocks that start at multiples of 64 as
     * gemm_forward's blocks over all R * D pairs do: the same bits as the
     * three whole-array passes, one pass over memory. */
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1 && R * D * Hh >= LAYER_PARALLEL_MIN)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t r0 = blk * KERNELS_ROW_BLOCK;
        const int rows = (int)(R - r0 < KERNELS_ROW_BLOCK ? R - r0 : KERNELS_ROW_BLOCK);
        gemm_block_forward(px, A + r0 * Hh, x + r0 * K, W1x, rows, 0);
        for (int64_t r = r0; r < r0 + rows; r++) {
            for (int64_t d = 0; d < D; d++) {
                float *ur = u + (r * D + d) * Hh;
                const float *ar = A + r * Hh, *bd = B + d * Hh;
                for (int k = 0; k < Hh; k++) {
                    float v = ar[k] + bd[k] + b1[k];
                    ur[k] = v > 0.0f ? v : 0.0f;
                }
            }
        }
        for (int64_t q0 = r0 * D; q0 < (r0 + rows) * D; q0 += KERNELS_ROW_BLOCK) {
            const int64_t left = (r0 + rows) * D - q0;
            const int n = (int)(left < KERNELS_ROW_BLOCK ? left : KERNELS_ROW_BLOCK);
            gemm_block_forward(p2, out + q0 * T, u + q0 * Hh, W2, n, 0);
            bias_block(out + q0 * T, b2, n, T);
        }
    }
}

void pair_head_backward(float *dx, float *de, float *dW1x, float *dW1e, float *db1, float *dW2, float *db2,
                        const float *dout, float *du, float *dA, float *dB, const float *u, const float *x,
                        const float *e, const float *W1xt, const float *W1et, const float *W2t, int64_t R, int64_t D,
                        int Hh, gemm_plan *px, gemm_plan *pe, gemm_plan *p2, float *partial)
{
    int64_t P = R * D;
    bias_backward(db2, dout, P, p2->N);
    gemm_backward_weight(p2, dW2, u, dout, P);
    gemm_backward_data(p2, du, dout, W2t, P, 0);
    relu_backward(du, du, u, P * Hh);
    /* dA[r] = sum_d du[r, d] (rows owned by one chunk); dB[d] = sum_r du[r, d]
     * through per-chunk slices added in chunk order (thread-count independent) */
    const int64_t nch = (R + PAIR_CHUNK_ROWS - 1) / PAIR_CHUNK_ROWS;
    const int par = partial && nch > 1 && P * Hh >= LAYER_PARALLEL_MIN;
    /* Serially every chunk adds into dB; with no rows (R == 0) no chunk
     * runs, and dB must still be 0 rather than the last call's. */
    if (!par) memset(dB, 0, (size_t)(D * Hh) * sizeof(float));
#pragma omp parallel for schedule(static) if (par)
    for (int64_t ch = 0; ch < nch; ch++) {
        const int64_t r0 = ch * PAIR_CHUNK_ROWS, r1 = r0 + PAIR_CHUNK_ROWS < R ? r0 + PAIR_CHUNK_ROWS : R;
        float *pB = par ? partial + ch * D * Hh : dB;
        if (par) memset(pB, 0, (size_t)(D * Hh) * sizeof(float));
        for (int64_t r = r0; r < r1; r++) {
            float *ar = dA + r * Hh;
            memset(ar, 0, (size_t)Hh * sizeof(float));
            for (int64_t d = 0; d < D; d++) {
                const float *g = du + (r * D + d) * Hh;
                float *bd = pB + d * Hh;
                for (int k = 0; k < Hh; k++) {
                    ar[k] += g[k];
                    bd[k] += g[k];
                }
            }
        }
    }
    if (par) {
        memset(dB, 0, (size_t)(D * Hh) * sizeof(float));
        for (int64_t ch = 0; ch < nch; ch++) {
            const float *pB = partial + ch * D * Hh;
            for (int64_t k = 0; k < D * Hh; k++) dB[k] += pB[k];
        }
    }
    bias_backward(db1, dA, R, Hh);
    gemm_backward_weight(px, dW1x, x, dA, R);
    if (dx) gemm_backward_data(px, dx, dA, W1xt, R, 1);
    gemm_backward_weight(pe, dW1e, e, dB, D);
    if (de) gemm_backward_data(pe, de, dB, W1et, D, 1);
}
