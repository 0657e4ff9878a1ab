/* params: every learnable tensor of a model in one arena.
 *
 * Parameters, their gradients and both Adam moments share one layout and
 * one allocation: four slabs of `size` floats. So zeroing gradients, the
 * optimizer step, gradient clipping and checkpointing are single loops over
 * flat memory, and a tensor is found by the same offset in every slab.
 *
 * Layout phase: params_add() for each tensor (name, rows, cols), then
 * params_alloc() once. Tensors are 2-D; vectors are 1 x n. Offsets are
 * rounded to 16 floats (64 bytes) so every tensor starts on a cache line. */
#ifndef GP_PARAMS_H
#define GP_PARAMS_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "../common/rng.h"

#define PARAMS_MAX_TENSORS 96
#define PARAMS_NAME_MAX 48

typedef struct param_tensor {
    char name[PARAMS_NAME_MAX];
    int64_t offset;  /* in floats, within each slab */
    int rows, cols;
} param_tensor;

typedef struct param_store {
    int n_tensors;
    param_tensor t[PARAMS_MAX_TENSORS];
    int64_t size;      /* floats per slab, padding included */
    float *mem;        /* the one allocation: value | grad | adam_m | adam_v */
    float *value, *grad, *adam_m, *adam_v;
} param_store;

void params_init(param_store *p);
/* Appends a tensor to the layout; returns its index or -1 (err set). */
int params_add(param_store *p, const char *name, int rows, int cols, gp_error *err);
/* Allocates the four slabs, zeroed. */
int params_alloc(param_store *p, gp_error *err);
void params_free(param_store *p);

static inline float *param_value(const param_store *p, int i) { return p->value + p->t[i].offset; }
static inline float *param_grad(const param_store *p, int i) { return p->grad + p->t[i].offset; }
static inline int64_t param_count(const param_store *p, int i) { return (int64_t)p->t[i].rows * p->t[i].cols; }

/* Index of a tensor by name, or -1. */
int params_find(const param_store *p, const char *name);

/* Initialisation: weights uniform in +-sqrt(6 / (fan_in + fan_out))
 * (Glorot), so activations keep their scale through ReLU layers of equal
 * width; biases and vectors named with a "b" suffix start at 0, norm
 * gains ("gamma") at 1. Decided by the caller per tensor. */
void params_init_glorot(param_store *p, int i, rng *r);
void params_fill(param_store *p, int i, float v);

void params_zero_grad(param_store *p);
/* Number of real (unpadded) parameters. */
int64_t params_total(const param_store *p);

#endif
