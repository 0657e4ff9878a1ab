/* simd: private to kernels/. The build targets baseline x86-64 (SSE2), on
 * which GCC cannot vectorize the select-style loops (max, ReLU backward) and
 * uses 4-wide vectors elsewhere. Row workers marked KERNELS_CLONES are
 * compiled three times (AVX-512, AVX2, baseline) and the loader picks the
 * best the CPU supports (GCC ifunc), so no global -march is needed. Workers
 * must be functions of their own: the body of an OpenMP loop is outlined
 * into a function that does not inherit the clones, so the loop calls them. */
#ifndef GP_KERNELS_SIMD_H
#define GP_KERNELS_SIMD_H

#if defined(__clang__)
/* clang (the fuzzing build, scripts/fuzz.sh) never inlines multiversioned
 * functions and refuses an explicit noinline beside target_clones */
#define KERNELS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KERNELS_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#endif
/* For helpers called from KERNELS_CLONES workers: inlined, they compile for
 * the worker's target; left as calls (GCC may at -O2) they run the baseline
 * code, scalar for select-style loops. */
#define KERNELS_INLINE static inline __attribute__((always_inline))

#include <stdint.h>
#include <string.h>

/* Running max over rows: where x[c] > o[c] (strictly, so ties keep the
 * earlier row) set o[c] = x[c] and a[c] = j. Written as bit blends, not
 * `o[c] = win ? x[c] : o[c]`: GCC turns that select into a masked store
 * (vmaskmovps), which is microcoded and about 10x slower on AMD Zen. */
KERNELS_INLINE void max_update(float *restrict o, int64_t *restrict a, const float *restrict x, int64_t j, int d)
{
#pragma omp simd
    for (int c = 0; c < d; c++) {
        const float xv = x[c], ov = o[c];
        const int32_t m = -(int32_t)(xv > ov);
        uint32_t xb, ob;
        memcpy(&xb, &xv, sizeof(xb));
        memcpy(&ob, &ov, sizeof(ob));
        const uint32_t rb = (xb & (uint32_t)m) | (ob & ~(uint32_t)m);
        float r;
        memcpy(&r, &rb, sizeof(r));
        o[c] = r;
        a[c] = (j & (int64_t)m) | (a[c] & ~(int64_t)m);
    }
}

#endif
