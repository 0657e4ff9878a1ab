/* norm: layer normalisation over rows, forward and backward, as serial row
 * workers (callers split rows over threads: gnn/layers.c, the fused layer).
 *
 * Each row's mean and variance are SIMD reductions (the lanes' partial sums
 * added at the end), not one sequential float sum: the sequential sum kept
 * the loop scalar and made layer norm the costliest function of a training
 * step (11 % of it, measured with perf). The order of the additions is
 * fixed by the code, so results do not depend on threads or on the batch. */
#include <math.h>

#include "kernels.h"
#include "simd.h"

/* 1e-5: PyTorch's default, so the reference comparison is exact. */
#define LN_EPS 1e-5f

KERNELS_CLONES
static void ln_fwd_rows(float *restrict y, float *restrict xhat, float *restrict rstd, const float *restrict x,
                        const float *restrict gamma, const float *restrict beta, int64_t N, int H)
{
    const float inv_h = 1.0f / (float)H;
    for (int64_t i = 0; i < N; i++) {
        const float *restrict xi = x + i * H;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < H; c++) sum += xi[c];
        const float mean = sum * inv_h;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (int c = 0; c < H; c++) {
            const float d = xi[c] - mean;
            ss += d * d;
        }
        const float r = 1.0f / sqrtf(ss * inv_h + LN_EPS);
        rstd[i] = r;
        float *restrict xh = xhat + i * H, *restrict yi = y + i * H;
#pragma omp simd
        for (int c = 0; c < H; c++) {
            const float v = (xi[c] - mean) * r;
            xh[c] = v;
            yi[c] = v * gamma[c] + beta[c];
        }
    }
}

void layernorm_rows_forward(float *y, float *xhat, float *rstd, const float *x, const float *gamma, const float *beta,
                            int64_t N, int H)
{
    if (N > 0) ln_fwd_rows(y, xhat, rstd, x, gamma, beta, N, H);
}

KERNELS_CLONES
static void ln_bwd_rows(float *restrict dx, float *restrict dgamma, float *restrict dbeta, const float *restrict dy,
                        const float *restrict xhat, const float *restrict rstd, const float *restrict gamma,
                        int64_t N, int H)
{
    const float inv_h = 1.0f / (float)H;
    for (int64_t i = 0; i < N; i++) {
        const float *restrict dyi = dy + i * H, *restrict xh = xhat + i * H;
        float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
        for (int c = 0; c < H; c++) {
            const float gdy = dyi[c] * gamma[c];
            sg += gdy;
            sgx += gdy * xh[c];
        }
#pragma omp simd
        for (int c = 0; c < H; c++) {
            dgamma[c] += dyi[c] * xh[c];
            dbeta[c] += dyi[c];
        }
        const float mean_g = sg * inv_h, mean_gx = sgx * inv_h, r = rstd[i];
        float *restrict dxi = dx + i * H;
#pragma omp simd
        for (int c = 0; c < H; c++) dxi[c] += r * (dyi[c] * gamma[c] - mean_g - xh[c] * mean_gx);
    }
}

void layernorm_rows_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *xhat,
                             const float *rstd, const float *gamma, int64_t N, int H)
{
    if (N > 0) ln_bwd_rows(dx, dgamma, dbeta, dy, xhat, rstd, gamma, N, H);
}
