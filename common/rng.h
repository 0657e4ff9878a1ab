/* rng: the in-tree random number generator (xoshiro256** seeded through
 * splitmix64). Everything random in gnnperf (initialisation, shuffling,
 * splits) draws from an rng seeded from the configuration's seed, so a
 * fixed seed gives bit-identical runs on any machine. */
#ifndef GP_RNG_H
#define GP_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float rng_uniform(rng *r);
/* Standard normal (Box-Muller). */
float rng_normal(rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t rng_below(rng *r, uint64_t n);
/* Fisher-Yates shuffle of n int64 values. */
void rng_shuffle(rng *r, int64_t *v, int64_t n);

#endif
