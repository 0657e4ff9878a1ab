/* source_heads: the source model's values of the tensors a few-shot
 * adaptation moved (gnnadapt --method heads or blend: the node and graph
 * heads), kept in the adapted checkpoint.
 *
 * The heads are shared by every device; an adaptation that moves them fits
 * them to one new device, and the other devices' embedding rows were fitted
 * with the old values. A checkpoint therefore records, per device, which
 * values predict it (checkpoint_meta.dev_source_heads): 1 = these kept
 * values in place of /params' tensors of the same names, 0 = /params. So
 * the devices trained before the adaptation are predicted exactly as the
 * source model predicted them, and a stack's sources as it was fitted. */
#ifndef GP_SOURCE_HEADS_H
#define GP_SOURCE_HEADS_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "params.h"

typedef struct source_heads {
    int32_t n;
    char **names;     /* (n) tensor names, as in the model's parameter store */
    float **values;   /* (n) their values */
    int64_t *counts;  /* (n) values per tensor */
} source_heads;

/* Appends a copy of the named tensor's values. */
int source_heads_add(source_heads *h, const char *name, const float *values, int64_t count, gp_error *err);
/* Frees the arrays and leaves h empty (n = 0). */
void source_heads_free(source_heads *h);
/* Puts the kept values in place of the store's; fails, naming the tensor,
 * when the store has no such tensor or it has another size. */
int source_heads_apply(const source_heads *h, param_store *p, gp_error *err);

#endif
