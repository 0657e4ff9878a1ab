/* sparse: CSR neighbour aggregation (sum, mean, max) and its backward over
 * the reverse CSR, plus csr_reverse to build that reverse CSR.
 *
 * Threads split the output rows (dynamic chunks: degrees vary); each row is
 * written by one thread, in neighbour order, so results do not depend on
 * the thread count. Inner loops run over the d features of a row with
 * restrict pointers and `omp simd`, which lets GCC vectorize them at -O2
 * for any d (a scalar tail handles d not a multiple of the vector width);
 * the row workers are KERNELS_CLONES (simd.h) so they use AVX2/AVX-512. */
#include <string.h>

#include "kernels.h"
#include "simd.h"

/* Rows per scheduling chunk: enough work per chunk to hide the scheduler,
 * small enough to balance skewed degrees. */
#define CSR_CHUNK_ROWS 64
/* Below this many edge-features (edges x d) one thread is faster than a
 * parallel region. */
#define CSR_PARALLEL_MIN 32768

/* Neighbour rows lie anywhere in memory: prefetching the row CSR_PREFETCH
 * edges ahead overlaps their latency (measured 1.5-1.8x on a 51 MB random
 * graph at d = 64, no change when the rows sit in L2; 16 ahead was slower). */
#define CSR_PREFETCH 8

KERNELS_INLINE void prefetch_row(const void *p, size_t bytes)
{
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch((const char *)p + b); /* 64-byte lines */
}

KERNELS_INLINE void row_add(float *restrict o, const float *restrict x, int d)
{
#pragma omp simd
    for (int c = 0; c < d; c++) o[c] += x[c];
}

KERNELS_INLINE void row_add_scaled(float *restrict o, const float *restrict x, float s, int d)
{
#pragma omp simd
    for (int c = 0; c < d; c++) o[c] += x[c] * s;
}

KERNELS_CLONES
static void sum_rows(float *restrict out, const float *restrict in, const int64_t *restrict ptr,
                     const int64_t *restrict idx, int64_t i0, int64_t i1, int d, int mean, int64_t out_row0)
{
    const int64_t eend = ptr[i1];
    const size_t row_bytes = (size_t)d * sizeof(float);
    for (int64_t i = i0; i < i1; i++) {
        float *restrict o = out + (i - out_row0) * d;
        memset(o, 0, row_bytes);
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) {
            if (e + CSR_PREFETCH < eend) prefetch_row(in + idx[e + CSR_PREFETCH] * d, row_bytes);
            row_add(o, in + idx[e] * d, d);
        }
        const int64_t deg = ptr[i + 1] - ptr[i];
        if (mean && deg > 0) {
            const float fdeg = (float)deg;
#pragma omp simd
            for (int c = 0; c < d; c++) o[c] /= fdeg; /* divide, as the reference does */
        }
    }
}

static void csr_sum_or_mean(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d,
                            int mean)
{
    if (n <= 0) return;
    const int64_t nchunks = (n + CSR_CHUNK_ROWS - 1) / CSR_CHUNK_ROWS;
#pragma omp parallel for schedule(dynamic, 1) if (nchunks > 1 && (ptr[n] + n) * d >= CSR_PARALLEL_MIN)
    for (int64_t ch = 0; ch < nchunks; ch++) {
        const int64_t i0 = ch * CSR_CHUNK_ROWS, i1 = i0 + CSR_CHUNK_ROWS < n ? i0 + CSR_CHUNK_ROWS : n;
        sum_rows(out, in, ptr, idx, i0, i1, d, mean, 0);
    }
}

void csr_aggregate_block(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t i0, int64_t i1,
                         int d, int mean)
{
    if (i1 > i0) sum_rows(out, in, ptr, idx, i0, i1, d, mean, i0);
}

void csr_sum_forward(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d)
{
    csr_sum_or_mean(out, in, ptr, idx, n, d, 0);
}

void csr_mean_forward(float *out, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n, int d)
{
    csr_sum_or_mean(out, in, ptr, idx, n, d, 1);
}

KERNELS_CLONES
static void max_rows(float *restrict out, int64_t *restrict arg, const float *restrict in, const int64_t *restrict ptr,
                     const int64_t *restrict idx, int64_t i0, int64_t i1, int d)
{
    const int64_t eend = ptr[i1];
    const size_t row_bytes = (size_t)d * sizeof(float);
    for (int64_t i = i0; i < i1; i++) {
        float *restrict o = out + i * d;
        int64_t *restrict a = arg + i * d;
        if (ptr[i] == ptr[i + 1]) {
            memset(o, 0, (size_t)d * sizeof(float));
            for (int c = 0; c < d; c++) a[c] = -1;
            continue;
        }
        const int64_t j0 = idx[ptr[i]];
        memcpy(o, in + j0 * d, (size_t)d * sizeof(float));
        for (int c = 0; c < d; c++) a[c] = j0;
        for (int64_t e = ptr[i] + 1; e < ptr[i + 1]; e++) {
            if (e + CSR_PREFETCH < eend) prefetch_row(in + idx[e + CSR_PREFETCH] * d, row_bytes);
            /* strict >: a tie keeps the earlier neighbour in CSR order */
            max_update(o, a, in + idx[e] * d, idx[e], d);
        }
    }
}

void csr_max_forward(float *out, int64_t *arg, const float *in, const int64_t *ptr, const int64_t *idx, int64_t n,
                     int d)
{
    if (n <= 0) return;
    const int64_t nchunks = (n + CSR_CHUNK_ROWS - 1) / CSR_CHUNK_ROWS;
#pragma omp parallel for schedule(dynamic, 1) if (nchunks > 1 && (ptr[n] + n) * d >= CSR_PARALLEL_MIN)
    for (int64_t ch = 0; ch < nchunks; ch++) {
        const int64_t i0 = ch * CSR_CHUNK_ROWS, i1 = i0 + CSR_CHUNK_ROWS < n ? i0 + CSR_CHUNK_ROWS : n;
        max_rows(out, arg, in, ptr, idx, i0, i1, d);
    }
}

/* d_in[j] += d_out[i] (times 1 / deg(i) for mean) for i in rev(j), in rev
 * order, straight into d_in: the same additions in the same order as the
 * scattering reference. */
KERNELS_CLONES
static void sum_back_rows(float *restrict d_in, const float *restrict d_out, const int64_t *restrict ptr,
                          const int64_t *restrict rptr, const int64_t *restrict ridx, int64_t j0, int64_t j1, int d)
{
    const int64_t eend = rptr[j1];
    const size_t row_bytes = (size_t)d * sizeof(float);
    for (int64_t j = j0; j < j1; j++) {
        float *restrict o = d_in + j * d;
        for (int64_t e = rptr[j]; e < rptr[j + 1]; e++) {
            if (e + CSR_PREFETCH < eend) prefetch_row(d_out + ridx[e + CSR_PREFETCH] * d, row_bytes);
            const int64_t i = ridx[e];
            if (ptr)
                row_add_scaled(o, d_out + i * d, 1.0f / (float)(ptr[i + 1] - ptr[i]), d);
            else
                row_add(o, d_out + i * d, d);
        }
    }
}

static void csr_sum_or_mean_backward(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *rptr,
                                     const int64_t *ridx, int64_t n, int d)
{
    if (n <= 0) return;
    const int64_t nchunks = (n + CSR_CHUNK_ROWS - 1) / CSR_CHUNK_ROWS;
#pragma omp parallel for schedule(dynamic, 1) if (nchunks > 1 && (rptr[n] + n) * d >= CSR_PARALLEL_MIN)
    for (int64_t ch = 0; ch < nchunks; ch++) {
        const int64_t j0 = ch * CSR_CHUNK_ROWS, j1 = j0 + CSR_CHUNK_ROWS < n ? j0 + CSR_CHUNK_ROWS : n;
        sum_back_rows(d_in, d_out, ptr, rptr, ridx, j0, j1, d);
    }
}

void csr_sum_backward(float *d_in, const float *d_out, const int64_t *rptr, const int64_t *ridx, int64_t n, int d)
{
    csr_sum_or_mean_backward(d_in, d_out, NULL, rptr, ridx, n, d);
}

void csr_mean_backward(float *d_in, const float *d_out, const int64_t *ptr, const int64_t *rptr, const int64_t *ridx,
                       int64_t n, int d)
{
    csr_sum_or_mean_backward(d_in, d_out, ptr, rptr, ridx, n, d);
}

KERNELS_CLONES
static void max_back_rows(float *restrict d_in, const float *restrict d_out, const int64_t *restrict arg,
                          const int64_t *restrict rptr, const int64_t *restrict ridx, int64_t j0, int64_t j1, int d)
{
    const int64_t eend = rptr[j1];
    const size_t row_bytes = (size_t)d * sizeof(float);
    for (int64_t j = j0; j < j1; j++) {
        float *restrict o = d_in + j * d;
        for (int64_t e = rptr[j]; e < rptr[j + 1]; e++) {
            if (e + CSR_PREFETCH < eend) {
                prefetch_row(d_out + ridx[e + CSR_PREFETCH] * d, row_bytes);
                prefetch_row(arg + ridx[e + CSR_PREFETCH] * d, 2 * row_bytes);
            }
            const int64_t i = ridx[e];
            /* i listed j twice (duplicate neighbour): arg names j once */
            if (e > rptr[j] && ridx[e - 1] == i) continue;
            const float *restrict g = d_out + i * d;
            const int64_t *restrict a = arg + i * d;
            /* Add g[c] where arg names j, else -0.0, which leaves every
             * float (-0.0 included) unchanged: the same bits as the reference,
             * which skips the add. A bit blend, because GCC 12 keeps
             * `a[c] == j ? g[c] : -0.0f` as a branch and the loop scalar. */
#pragma omp simd
            for (int c = 0; c < d; c++) {
                const float gv = g[c];
                uint32_t gb;
                memcpy(&gb, &gv, sizeof(gb));
                const uint32_t m = -(uint32_t)(a[c] == j);
                const uint32_t tb = (gb & m) | (0x80000000u & ~m);
                float t;
                memcpy(&t, &tb, sizeof(t));
                o[c] += t;
            }
        }
    }
}

void csr_max_backward(float *d_in, const float *d_out, const int64_t *arg, const int64_t *rptr, const int64_t *ridx,
                      int64_t n, int d)
{
    if (n <= 0) return;
    const int64_t nchunks = (n + CSR_CHUNK_ROWS - 1) / CSR_CHUNK_ROWS;
#pragma omp parallel for schedule(dynamic, 1) if (nchunks > 1 && (rptr[n] + n) * d >= CSR_PARALLEL_MIN)
    for (int64_t ch = 0; ch < nchunks; ch++) {
        const int64_t j0 = ch * CSR_CHUNK_ROWS, j1 = j0 + CSR_CHUNK_ROWS < n ? j0 + CSR_CHUNK_ROWS : n;
        max_back_rows(d_in, d_out, arg, rptr, ridx, j0, j1, d);
    }
}

void csr_reverse(int64_t *rptr, int64_t *ridx, const int64_t *ptr, const int64_t *idx, int64_t n)
{
    /* count into rptr[j + 2], prefix-sum so rptr[j + 1] is the start of j,
     * fill while advancing rptr[j + 1]; it ends as the end of j = start of j + 1 */
    memset(rptr, 0, (size_t)(n + 1) * sizeof(int64_t));
    if (n <= 0) return;
    for (int64_t e = 0; e < ptr[n]; e++)
        if (idx[e] + 2 <= n) rptr[idx[e] + 2]++;
    for (int64_t j = 2; j <= n; j++) rptr[j] += rptr[j - 1];
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = ptr[i]; e < ptr[i + 1]; e++) ridx[rptr[idx[e] + 1]++] = i;
}
