/* segment: per-graph readout, reductions of contiguous row ranges
 * off[g] .. off[g+1] of a node matrix to one row per graph, and backward.
 *
 * Threads split the graphs; a graph's rows belong to it alone, so every
 * pass (the max backward included, whose arg stays inside the graph) writes
 * disjoint rows without atomics, and each value is reduced in row order by
 * one thread whatever the thread count. */
#include <string.h>

#include "kernels.h"
#include "simd.h"

/* Below this many values (rows x d) a parallel region costs more than it saves. */
#define SEGMENT_PARALLEL_MIN 32768

static int64_t rows_of(const int64_t *off, int64_t G)
{
    return G > 0 ? off[G] - off[0] : 0;
}

KERNELS_CLONES
static void seg_sum_one(float *restrict o, const float *restrict in, int64_t r0, int64_t r1, int d, int mean)
{
    memset(o, 0, (size_t)d * sizeof(float));
    for (int64_t r = r0; r < r1; r++) {
        const float *restrict x = in + r * d;
#pragma omp simd
        for (int c = 0; c < d; c++) o[c] += x[c];
    }
    if (mean && r1 > r0) {
        const float cnt = (float)(r1 - r0);
#pragma omp simd
        for (int c = 0; c < d; c++) o[c] /= cnt;
    }
}

static void segment_sum_or_mean(float *out, const float *in, const int64_t *off, int64_t G, int d, int mean)
{
#pragma omp parallel for schedule(dynamic, 1) if (G > 1 && (rows_of(off, G) + G) * d >= SEGMENT_PARALLEL_MIN)
    for (int64_t g = 0; g < G; g++) seg_sum_one(out + g * d, in, off[g], off[g + 1], d, mean);
}

void segment_sum_forward(float *out, const float *in, const int64_t *off, int64_t G, int d)
{
    segment_sum_or_mean(out, in, off, G, d, 0);
}

void segment_mean_forward(float *out, const float *in, const int64_t *off, int64_t G, int d)
{
    segment_sum_or_mean(out, in, off, G, d, 1);
}

KERNELS_CLONES
static void seg_max_one(float *restrict o, int64_t *restrict a, const float *restrict in, int64_t r0, int64_t r1,
                        int d)
{
    if (r1 <= r0) {
        memset(o, 0, (size_t)d * sizeof(float));
        for (int c = 0; c < d; c++) a[c] = -1;
        return;
    }
    memcpy(o, in + r0 * d, (size_t)d * sizeof(float));
    for (int c = 0; c < d; c++) a[c] = r0;
    for (int64_t r = r0 + 1; r < r1; r++) max_update(o, a, in + r * d, r, d); /* strict: ties keep the earlier row */
}

void segment_max_forward(float *out, int64_t *arg, const float *in, const int64_t *off, int64_t G, int d)
{
#pragma omp parallel for schedule(dynamic, 1) if (G > 1 && (rows_of(off, G) + G) * d >= SEGMENT_PARALLEL_MIN)
    for (int64_t g = 0; g < G; g++) seg_max_one(out + g * d, arg + g * d, in, off[g], off[g + 1], d);
}

KERNELS_CLONES
static void seg_back_one(float *restrict d_in, const float *restrict g, int64_t r0, int64_t r1, int d, int mean)
{
    if (r1 <= r0) return;
    const float s = mean ? 1.0f / (float)(r1 - r0) : 1.0f;
    for (int64_t r = r0; r < r1; r++) {
        float *restrict o = d_in + r * d;
        if (mean) {
#pragma omp simd
            for (int c = 0; c < d; c++) o[c] += g[c] * s;
        } else {
#pragma omp simd
            for (int c = 0; c < d; c++) o[c] += g[c];
        }
    }
}

static void segment_back(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d, int mean)
{
#pragma omp parallel for schedule(dynamic, 1) if (G > 1 && (rows_of(off, G) + G) * d >= SEGMENT_PARALLEL_MIN)
    for (int64_t g = 0; g < G; g++) seg_back_one(d_in, d_out + g * d, off[g], off[g + 1], d, mean);
}

void segment_sum_backward(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d)
{
    segment_back(d_in, d_out, off, G, d, 0);
}

void segment_mean_backward(float *d_in, const float *d_out, const int64_t *off, int64_t G, int d)
{
    segment_back(d_in, d_out, off, G, d, 1);
}

void segment_max_backward(float *d_in, const float *d_out, const int64_t *arg, int64_t G, int d)
{
    /* graph g's winners lie in its own rows, so graphs write disjoint rows */
#pragma omp parallel for schedule(static) if (G * d >= SEGMENT_PARALLEL_MIN)
    for (int64_t g = 0; g < G; g++)
        for (int c = 0; c < d; c++)
            if (arg[g * d + c] >= 0) d_in[arg[g * d + c] * d + c] += d_out[g * d + c];
}
