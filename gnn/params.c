#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void params_init(param_store *p) { memset(p, 0, sizeof *p); }

int params_add(param_store *p, const char *name, int rows, int cols, gp_error *err)
{
    if (p->mem) return gp_errorf(err, "parameter '%s': layout already allocated", name);
    if (p->n_tensors >= PARAMS_MAX_TENSORS)
        return gp_errorf(err, "parameter '%s': more than %d tensors", name, PARAMS_MAX_TENSORS);
    if (rows < 1 || cols < 1) return gp_errorf(err, "parameter '%s': shape %d x %d", name, rows, cols);
    if (strlen(name) >= PARAMS_NAME_MAX) return gp_errorf(err, "parameter '%s': name too long", name);
    if (params_find(p, name) >= 0) return gp_errorf(err, "parameter '%s': defined twice", name);
    param_tensor *t = &p->t[p->n_tensors];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->rows = rows;
    t->cols = cols;
    t->offset = p->size;
    p->size += ((int64_t)rows * cols + 15) / 16 * 16;
    return p->n_tensors++;
}

int params_alloc(param_store *p, gp_error *err)
{
    if (p->mem) return gp_errorf(err, "parameters already allocated");
    size_t bytes = (size_t)(p->size ? p->size : 16) * 4 * sizeof(float);
    p->mem = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p->mem) return gp_errorf(err, "out of memory allocating %zu bytes of parameters", bytes);
    memset(p->mem, 0, bytes);
    p->value = p->mem;
    p->grad = p->value + p->size;
    p->adam_m = p->grad + p->size;
    p->adam_v = p->adam_m + p->size;
    return 0;
}

void params_free(param_store *p)
{
    free(p->mem);
    params_init(p);
}

int params_find(const param_store *p, const char *name)
{
    for (int i = 0; i < p->n_tensors; i++)
        if (strcmp(p->t[i].name, name) == 0) return i;
    return -1;
}

void params_init_glorot(param_store *p, int i, rng *r)
{
    const param_tensor *t = &p->t[i];
    float a = sqrtf(6.0f / (float)(t->rows + t->cols));
    float *v = param_value(p, i);
    for (int64_t k = 0; k < param_count(p, i); k++) v[k] = (2.0f * rng_uniform(r) - 1.0f) * a;
}

void params_fill(param_store *p, int i, float v)
{
    float *x = param_value(p, i);
    for (int64_t k = 0; k < param_count(p, i); k++) x[k] = v;
}

void params_zero_grad(param_store *p) { memset(p->grad, 0, (size_t)p->size * sizeof(float)); }

int64_t params_total(const param_store *p)
{
    int64_t n = 0;
    for (int i = 0; i < p->n_tensors; i++) n += param_count(p, i);
    return n;
}
