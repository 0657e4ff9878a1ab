/* layer_fused: one message-passing layer with its whole epilogue (bias,
 * ReLU, residual, layer norm) computed block by block: for each 64-row
 * block, aggregate the block's producers (and consumers), run the block's
 * GEMMs, and finish the rows while they are in cache, with OpenMP over
 * blocks. The unfused sequence (mp_forward then layernorm_forward) makes
 * seven passes over N x H arrays, each its own parallel region or serial
 * loop; this makes one parallel pass, so the layer norm and the element-wise
 * work scale with the threads too.
 *
 * Every block runs the same kernels in the same order as the unfused
 * passes (gemm_block_forward = gemm_forward's kernel for that block,
 * csr_aggregate_block = the aggregation's row worker, bias_relu_block =
 * bias then ReLU), so the results are bit-identical to the unfused layer
 * and independent of the thread count. */
#include <omp.h>
#include <string.h>

#include "layers.h"

int64_t mp_fused_scratch_floats(int H)
{
    return 5 * (int64_t)KERNELS_ROW_BLOCK * H + KERNELS_ROW_BLOCK;
}

static void fused_block(const mp_fused_args *A, int64_t r0, int rows, float *scr)
{
    const int H = A->H;
    const int64_t BH = (int64_t)KERNELS_ROW_BLOCK * H, off = r0 * H;
    const mp_fused_saved *sv = &A->saved;
    const graph_csr *g = A->g;
    const int mean = A->agg == AGG_MEAN;
    float *ap = sv->agg_p ? sv->agg_p + off : scr;
    float *as = sv->agg_s ? sv->agg_s + off : scr + BH;
    float *z = sv->a ? sv->a + off : scr + 2 * BH;
    const float *hb = A->h + off;

    csr_aggregate_block(ap, A->h, g->pred_ptr, g->pred_idx, r0, r0 + rows, H, mean);
    gemm_block_forward(A->p, z, hb, A->Ws, rows, 0);
    gemm_block_forward(A->p, z, ap, A->Wp, rows, 1);
    if (A->Wc) {
        csr_aggregate_block(as, A->h, g->succ_ptr, g->succ_idx, r0, r0 + rows, H, mean);
        gemm_block_forward(A->p, z, as, A->Wc, rows, 1);
    }
    bias_relu_block(z, A->b, rows, H);

    float *yb = A->y + off;
    float *pre = A->gamma ? (sv->pre ? sv->pre + off : scr + 3 * BH) : yb;
    if (A->residual) add_block(pre, hb, z, (int64_t)rows * H);
    else memcpy(pre, z, (size_t)rows * (size_t)H * sizeof(float));
    if (A->gamma) {
        float *xhat = sv->xhat ? sv->xhat + off : scr + 4 * BH;
        float *rstd = sv->rstd ? sv->rstd + r0 : scr + 5 * BH;
        layernorm_rows_forward(yb, xhat, rstd, pre, A->gamma, A->beta, rows, H);
    }
}

void mp_fused_forward(const mp_fused_args *A, float *scratch, int scratch_threads)
{
    const int64_t N = A->g->n;
    if (N <= 0) return;
    gemm_plan_prepare_rows(A->p, N);
    const int64_t nb = (N + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
    int nt = omp_get_max_threads();
    if (nt > scratch_threads) nt = scratch_threads;
    if (nt < 1) nt = 1;
    const int64_t per = mp_fused_scratch_floats(A->H);
    /* dynamic: blocks differ in degree sums, and a descheduled thread's
     * blocks get taken over (the results do not depend on who runs a block) */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nb > 1 && nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t r0 = b * KERNELS_ROW_BLOCK;
        const int rows = (int)(N - r0 < KERNELS_ROW_BLOCK ? N - r0 : KERNELS_ROW_BLOCK);
        fused_block(A, r0, rows, scratch + per * omp_get_thread_num());
    }
}
