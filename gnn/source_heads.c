#include "source_heads.h"

#include <stdlib.h>
#include <string.h>

int source_heads_add(source_heads *h, const char *name, const float *values, int64_t count, gp_error *err)
{
    const int32_t n = h->n + 1;
    char **names = realloc(h->names, (size_t)n * sizeof(char *));
    if (names) h->names = names;
    float **vals = realloc(h->values, (size_t)n * sizeof(float *));
    if (vals) h->values = vals;
    int64_t *counts = realloc(h->counts, (size_t)n * sizeof(int64_t));
    if (counts) h->counts = counts;
    char *nm = strdup(name);
    float *v = malloc((size_t)(count + 1) * sizeof(float));
    if (!names || !vals || !counts || !nm || !v) {
        free(nm);
        free(v);
        return gp_errorf(err, "out of memory");
    }
    if (count) memcpy(v, values, (size_t)count * sizeof(float));
    h->names[h->n] = nm;
    h->values[h->n] = v;
    h->counts[h->n] = count;
    h->n = n;
    return 0;
}

void source_heads_free(source_heads *h)
{
    for (int32_t k = 0; k < h->n; k++) {
        free(h->names[k]);
        free(h->values[k]);
    }
    free(h->names);
    free(h->values);
    free(h->counts);
    memset(h, 0, sizeof *h);
}

int source_heads_apply(const source_heads *h, param_store *p, gp_error *err)
{
    for (int32_t k = 0; k < h->n; k++) {
        int j = params_find(p, h->names[k]);
        if (j < 0 || param_count(p, j) != h->counts[k])
            return gp_errorf(err, "/source_heads/%s: %s", h->names[k],
                             j < 0 ? "the model has no such tensor" : "its size is not the model's");
        memcpy(param_value(p, j), h->values[k], (size_t)h->counts[k] * sizeof(float));
    }
    return 0;
}
