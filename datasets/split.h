/* split: which graphs train, validate and test a model.
 *
 * Three ways to split, all by whole graph (a graph's nodes never straddle
 * parts): random with a seed, by index ranges ("0-899,1000-1099"), or from
 * a CSV file "graph,part" (part: train, val or test) naming graphs. Every
 * constructor checks that no graph is in two parts; graphs named nowhere
 * are simply unused. Devices are held out separately (by the caller's
 * device lists), since a split by graph and one by device compose. */
#ifndef GP_SPLIT_H
#define GP_SPLIT_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "dataset.h"

typedef enum split_part { PART_TRAIN = 0, PART_VAL, PART_TEST, PART_COUNT } split_part;

typedef struct split {
    int64_t n[PART_COUNT];
    int64_t *ids[PART_COUNT];  /* graph indices, increasing */
} split;

/* Shuffles graph indices with the seed; val_frac and test_frac of the
 * graphs (rounded, at least 1 each when the fraction is > 0 and there are
 * enough graphs) go to validation and test, the rest to training. */
int split_random(split *s, int64_t n_graphs, double val_frac, double test_frac, uint64_t seed, gp_error *err);

/* Index ranges per part, e.g. "0-899" or "0-99,200-299"; NULL or "" for an
 * empty part. Ranges are inclusive. */
int split_ranges(split *s, int64_t n_graphs, const char *train, const char *val, const char *test, gp_error *err);

/* CSV with a header "graph,part". Unknown graph names are errors. */
int split_from_file(split *s, const dataset *d, const char *path, gp_error *err);

/* Oversampling of training graphs: a CSV with a header "graph,repeats"
 * (repeats an integer 1..SPLIT_MAX_REPEATS) says how many times per epoch
 * a graph is trained on; graphs it does not name count once. Fills
 * repeats (n_graphs, caller-allocated). Unknown or repeated graph names,
 * bad counts and malformed lines are errors naming the file and line. */
#define SPLIT_MAX_REPEATS 1000
int split_repeats_from_file(int32_t *repeats, const dataset *d, const char *path, gp_error *err);

void split_free(split *s);

/* A 64-bit FNV-1a digest of which graph index is in which part: two
 * splits of the same dataset are the same split exactly when their digests
 * match (up to hash collisions), however each was made. */
uint64_t split_digest(const split *s);

const char *split_part_name(int p);

#endif
