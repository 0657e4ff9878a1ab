/* layers: forward and backward of every layer of the GNN, as plain
 * functions over row-major float buffers.
 *
 * Argument order (llm.c style): outputs first, then what is saved for
 * backward, then inputs, then parameters, then sizes. Backward mirrors it:
 * input gradients (accumulated with +=; NULL when not needed only where a
 * function says so: dense_backward's dx, pair_head_backward's dx and de),
 * parameter gradients (always +=; the caller zeroes them once per step),
 * output gradient, saved tensors, inputs, parameters, sizes. Nothing here
 * allocates; the caller passes scratch buffers sized as documented. Shapes
 * are in comments: N nodes (rows), H hidden width, G graphs, D devices. */
#ifndef GP_LAYERS_H
#define GP_LAYERS_H

#include <stdint.h>

#include "../kernels/kernels.h"

/* The CSR of a batch of graphs, batch-local row ids. pred: producers of
 * each node; succ: consumers (the reverse of pred). */
typedef struct graph_csr {
    int64_t n;
    const int64_t *pred_ptr, *pred_idx;
    const int64_t *succ_ptr, *succ_idx;
} graph_csr;

/* Dense layer with optional ReLU: y = act(x W + b).
 *   y (M, out), x (M, in), W (in, out), Wt (out, in) = W^T, b (out) */
void dense_forward(float *y, const float *x, const float *W, const float *b, int64_t M, int relu,
                   const gemm_plan *p);
/* dy is overwritten with the pre-activation gradient when relu is set. */
void dense_backward(float *dx, float *dW, float *db, float *dy, const float *y, const float *x, const float *Wt,
                    int64_t M, int relu, gemm_plan *p);

/* Message passing, one layer: out = [h +] relu(h Ws + agg_pred(h) Wp [+ agg_succ(h) Wc] + b)
 * aggregation mean or sum over producers (and consumers when Wc != NULL:
 * the directed variant, separate weights for each side).
 * saved: agg_p (N,H), agg_s (N,H) when directed, a (N,H) the ReLU output.
 * Backward scratch: dz (N,H), dagg (N,H). */
typedef enum agg_kind { AGG_MEAN = 0, AGG_SUM = 1 } agg_kind;

/* mp_forward is the unfused form (seven passes); the model runs
 * mp_fused_forward below, and the tests compare the two bit for bit. */
void mp_forward(float *out, float *agg_p, float *agg_s, float *a, const float *h, const float *Ws, const float *Wp,
                const float *Wc, const float *b, const graph_csr *g, int H, int agg, int residual,
                const gemm_plan *p);
void mp_backward(float *dh, float *dWs, float *dWp, float *dWc, float *db, const float *dout, float *dz, float *dagg,
                 const float *agg_p, const float *agg_s, const float *a, const float *h, const float *Wst,
                 const float *Wpt, const float *Wct, const graph_csr *g, int H, int agg, int residual, gemm_plan *p);

/* The same layer fused with its epilogue (layer_fused.c): per 64-row block,
 * aggregation, GEMMs, bias, ReLU, residual and (gamma != NULL) layer norm:
 *   y = norm([h +] relu(h Ws + agg_p Wp [+ agg_s Wc] + b))
 * bit-identical to mp_forward followed by layernorm_forward. Saved tensors
 * (for a backward pass) go to the full (N, H) / (N) arrays in saved; a NULL
 * entry is kept in a per-thread scratch block instead (inference).
 * scratch: scratch_threads x mp_fused_scratch_floats(H) floats; at most
 * scratch_threads threads run. */
typedef struct mp_fused_saved {
    float *agg_p, *agg_s, *a, *pre, *xhat, *rstd;
} mp_fused_saved;
typedef struct mp_fused_args {
    float *y;
    mp_fused_saved saved;
    const float *h, *Ws, *Wp, *Wc, *b, *gamma, *beta;
    const graph_csr *g;
    int H, agg, residual;
    const gemm_plan *p;
} mp_fused_args;
int64_t mp_fused_scratch_floats(int H);
void mp_fused_forward(const mp_fused_args *args, float *scratch, int scratch_threads);

/* GIN: u = (1 + eps) h + sum_pred(h); m = relu(u W1 + b1); a = relu(m W2 + b2); out = [h +] a.
 * saved: u (N,H), m (N,H), a (N,H). Backward scratch: dz (N,H), dm (N,H), du (N,H). */
void gin_forward(float *out, float *u, float *m, float *a, const float *h, float eps, const float *W1,
                 const float *b1, const float *W2, const float *b2, const graph_csr *g, int H, int residual,
                 const gemm_plan *p);
void gin_backward(float *dh, float *deps, float *dW1, float *db1, float *dW2, float *db2, const float *dout,
                  float *dz, float *dm, float *du, const float *u, const float *m, const float *a, const float *h,
                  float eps, const float *W1t, const float *W2t, const graph_csr *g, int H, int residual,
                  gemm_plan *p);

/* Layer normalisation over each row: y = (x - mean) / sqrt(var + 1e-5) * gamma + beta.
 * saved: xhat (N,H), rstd (N). y and x must not alias
 * (the kernel reads them through restrict pointers). Rows are split over threads
 * in chunks of LAYERNORM_CHUNK_ROWS. */
#define LAYERNORM_CHUNK_ROWS 256
void layernorm_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                       int64_t N, int H);
/* dx (+=) may not alias dy. partial: layernorm_partial_floats(N, H) floats
 * of scratch for per-chunk dgamma/dbeta sums, which lets the rows run in
 * parallel with a result independent of the thread count; NULL runs serially. */
int64_t layernorm_partial_floats(int64_t N, int H);
void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                        const float *rstd, const float *gamma, int64_t N, int H, float *partial);

/* Graph readouts over rows off[g] .. off[g+1]:
 *  sum / mean / max: the segment kernels.
 *  attention: s_i = h_i . w + b; alpha = softmax of s within each graph;
 *  out_g = sum_i alpha_i h_i. saved: alpha (N). */
void attention_pool_forward(float *out, float *alpha, const float *h, const float *w, const float *b,
                            const int64_t *off, int64_t G, int H);
/* partial: attention_partial_floats(G, H) floats of scratch for per-chunk
 * dw/db sums (parallel over graphs, thread-count independent); NULL: serial. */
int64_t attention_partial_floats(int64_t G, int H);
void attention_pool_backward(float *dh, float *dw, float *db, const float *dout, const float *alpha,
                             const float *h, const float *w, const int64_t *off, int64_t G, int H, float *partial);

/* Additive readout: a graph's cost as the sum of its nodes' costs. Given
 * per (node, device) scores z ((N * D), T, pairs row-major as the pair
 * head writes them), per-target scales s (T; NULL: 1) and log weights lw
 * (same layout as z; NULL: 0):
 *   out[g, d, t] = (1 / s_t) ln sum_{i in g} exp(s_t z[i, d, t] + lw[i, d, t])
 * In the standardised log space of gnn/loss.h (label = exp(s p + mu)) this
 * is exactly label_g = sum_i w_i exp(s z_i + mu): node i costs
 * exp(s z_i + mu) times its weight exp(lw_i). saved: p ((N * D), T), the
 * softmax shares d out / d z. A graph without nodes gives 0. */
void additive_readout_forward(float *out, float *p, const float *z, const float *lw, const float *sigma,
                              const int64_t *off, int64_t G, int64_t D, int T);
/* dz = dout of the row's graph times p (overwrites dz; rows of off[0]..off[G]). */
void additive_readout_backward(float *dz, const float *dout, const float *p, const int64_t *off, int64_t G,
                               int64_t D, int T);

/* Device-conditioned head over every (row, device) pair:
 *   pre[r, d] = A[r] + B[d] + b1, with A = x W1x (R,Hh) and B = e W1e (D,Hh)
 *   u = relu(pre) ((R*D), Hh);  out = u W2 + b2 ((R*D), T), pairs row-major (r, d).
 * This equals an MLP on concat(x_r, e_d) without materialising the concat.
 * saved: A (R,Hh), B (D,Hh), u (R*D,Hh). Backward scratch: du (R*D,Hh), dA (R,Hh), dB (D,Hh).
 * plans: px (in -> Hh), pe (De -> Hh), p2 (Hh -> T). */
void pair_head_forward(float *out, float *A, float *B, float *u, const float *x, const float *e, const float *W1x,
                       const float *W1e, const float *b1, const float *W2, const float *b2, int64_t R, int64_t D,
                       int Hh, const gemm_plan *px, const gemm_plan *pe, const gemm_plan *p2);
void pair_head_backward(float *dx, float *de, float *dW1x, float *dW1e, float *db1, float *dW2, float *db2,
                        const float *dout, float *du, float *dA, float *dB, const float *u, const float *x,
                        const float *e, const float *W1xt, const float *W1et, const float *W2t, int64_t R, int64_t D,
                        int Hh, gemm_plan *px, gemm_plan *pe, gemm_plan *p2, float *partial);
/* Scratch of pair_head_backward for R rows and D devices: per-chunk dB sums
 * (parallel over rows, thread-count independent); partial NULL: serial. */
int64_t pair_head_partial_floats(int64_t R, int64_t D, int Hh);

#endif
