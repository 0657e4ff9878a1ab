/* activation: element-wise ReLU and SiLU, forward and backward.
 *
 * SiLU needs exp; glibc's expf does not vectorize without -ffast-math, so
 * the optimized kernels use a branch-free expf (Cephes' polynomial, within
 * about 2 ulp of expf over the range used) that `omp simd` turns into
 * vector code. The _ref versions call expf. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "simd.h"

/* Below this many values a parallel region costs more than it saves. */
#define ACT_PARALLEL_MIN 65536

/* The clamp bounds of exp_poly: e^x for x in [EXP_LO, EXP_HI] keeps 2^n a
 * normal float; beyond them SiLU is 0 or x to float precision anyway. */
#define EXP_LO -87.3f
#define EXP_HI 88.3f

/* e^x for x clamped to [lo, hi]. The bounds come in as arguments because
 * GCC 12 (with the default -ftrapping-math) will not if-convert a compare
 * with a constant, which would keep the AVX2 loop scalar; the workers are
 * noinline, so EXP_LO and EXP_HI stay run-time values there. */
KERNELS_INLINE float exp_poly(float x, float lo, float hi)
{
    x = x < lo ? lo : x;
    x = x > hi ? hi : x;
    /* 0x1.8p23: adding and subtracting it rounds to the nearest integer */
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    /* ln 2 split in two (Cody-Waite) so that r = x - n ln2 keeps its low bits */
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } scale;
    scale.i = ((int32_t)n + 127) << 23;
    return p * scale.f;
}

/* Values per scheduling chunk: 16 KB of floats, many vectors per call. */
#define ACT_CHUNK 4096

KERNELS_CLONES
static void relu_fwd_chunk(float *out, const float *in, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float x = in[i];
        out[i] = x > 0.0f ? x : 0.0f;
    }
}

KERNELS_CLONES
static void relu_back_chunk(float *d_in, const float *d_out, const float *y, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float g = d_out[i];
        d_in[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

KERNELS_CLONES
static void silu_fwd_chunk(float *out, const float *in, int64_t n, float lo, float hi)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float x = in[i];
        out[i] = x / (1.0f + exp_poly(-x, lo, hi));
    }
}

KERNELS_CLONES
static void silu_back_chunk(float *d_in, const float *d_out, const float *x, int64_t n, float lo, float hi)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i], g = d_out[i], s = 1.0f / (1.0f + exp_poly(-v, lo, hi));
        d_in[i] = g * (s * (1.0f + v * (1.0f - s)));
    }
}

/* Element-wise passes split n into ACT_CHUNK pieces over the threads; a
 * chunk's bounds do not change what is computed, only who computes it. */
#define ACT_FOR_CHUNKS(n, call)                                                                                        \
    do {                                                                                                               \
        const int64_t nch_ = ((n) + ACT_CHUNK - 1) / ACT_CHUNK;                                                       \
        _Pragma("omp parallel for schedule(static) if (nch_ > 1 && (n) >= ACT_PARALLEL_MIN)")                          \
        for (int64_t ch_ = 0; ch_ < nch_; ch_++) {                                                                     \
            const int64_t i0 = ch_ * ACT_CHUNK, len = (n) - i0 < ACT_CHUNK ? (n) - i0 : ACT_CHUNK;                    \
            call;                                                                                                      \
        }                                                                                                              \
    } while (0)

void relu_forward(float *out, const float *in, int64_t n)
{
    ACT_FOR_CHUNKS(n, relu_fwd_chunk(out + i0, in + i0, len));
}

void relu_backward(float *d_in, const float *d_out, const float *y, int64_t n)
{
    ACT_FOR_CHUNKS(n, relu_back_chunk(d_in + i0, d_out + i0, y + i0, len));
}

void silu_forward(float *out, const float *in, int64_t n)
{
    ACT_FOR_CHUNKS(n, silu_fwd_chunk(out + i0, in + i0, len, EXP_LO, EXP_HI));
}

void silu_backward(float *d_in, const float *d_out, const float *x, int64_t n)
{
    ACT_FOR_CHUNKS(n, silu_back_chunk(d_in + i0, d_out + i0, x + i0, len, EXP_LO, EXP_HI));
}

KERNELS_CLONES
static void bias_relu_rows(float *y, const float *b, int64_t rows, int n)
{
    for (int64_t i = 0; i < rows; i++) {
        float *restrict yi = y + i * n;
        const float *restrict bb = b;
#pragma omp simd
        for (int c = 0; c < n; c++) {
            const float v = yi[c] + bb[c];
            yi[c] = v > 0.0f ? v : 0.0f;
        }
    }
}

void bias_relu_block(float *y, const float *b, int64_t rows, int n)
{
    if (rows > 0) bias_relu_rows(y, b, rows, n);
}

KERNELS_CLONES
static void bias_rows(float *y, const float *b, int64_t rows, int n)
{
    for (int64_t i = 0; i < rows; i++) {
        float *restrict yi = y + i * n;
        const float *restrict bb = b;
#pragma omp simd
        for (int c = 0; c < n; c++) yi[c] += bb[c];
    }
}

void bias_block(float *y, const float *b, int64_t rows, int n)
{
    if (rows > 0) bias_rows(y, b, rows, n);
}

KERNELS_CLONES
static void add_vec(float *restrict out, const float *restrict a, const float *restrict b, int64_t n)
{
#pragma omp simd
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void add_block(float *out, const float *a, const float *b, int64_t n)
{
    if (n > 0) add_vec(out, a, b, n);
}
