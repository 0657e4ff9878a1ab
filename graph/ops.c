#include "ops.h"

#include <stdio.h>
#include <string.h>

static const char *const KIND_NAMES[OP_KIND_COUNT] = {
    "input", "output", "conv2d", "dwconv2d", "linear", "matmul", "bmm",
    "maxpool2d", "avgpool2d", "global_avgpool", "batchnorm", "layernorm",
    "activation", "add", "mul", "elementwise", "concat", "softmax",
    "embedding", "view", "other",
};

static const char *const FN_NAMES[FN_COUNT] = {
    "none", "relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh",
    "hardswish", "hardsigmoid", "elu", "softplus", "mish", "sub", "div", "pow",
    "sqrt", "rsqrt", "exp", "log", "neg", "abs", "maximum", "minimum", "clamp",
    "where", "zero", "other",
};

static const char *const DTYPE_NAMES[DT_COUNT] = {
    "float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64", "bool",
};

static const int DTYPE_SIZES[DT_COUNT] = {4, 2, 2, 8, 1, 1, 4, 8, 1};

const char *op_kind_name(int kind) { return kind >= 0 && kind < OP_KIND_COUNT ? KIND_NAMES[kind] : NULL; }
const char *op_fn_name(int fn) { return fn >= 0 && fn < FN_COUNT ? FN_NAMES[fn] : NULL; }
const char *dtype_name(int dt) { return dt >= 0 && dt < DT_COUNT ? DTYPE_NAMES[dt] : NULL; }
int dtype_size(int dt) { return dt >= 0 && dt < DT_COUNT ? DTYPE_SIZES[dt] : 0; }

static int lookup(const char *const *names, int n, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

int op_kind_from_name(const char *name) { return lookup(KIND_NAMES, OP_KIND_COUNT, name); }
int op_fn_from_name(const char *name) { return lookup(FN_NAMES, FN_COUNT, name); }
int dtype_from_name(const char *name) { return lookup(DTYPE_NAMES, DT_COUNT, name); }

static void join(const char *const *names, int n, char *buf, int size)
{
    int used = 0;
    if (size > 0) buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++) {
        int w = snprintf(buf + used, (size_t)(size - used), "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        used += w;
    }
}

void op_kind_list(char *buf, int size) { join(KIND_NAMES, OP_KIND_COUNT, buf, size); }
void op_fn_list(char *buf, int size) { join(FN_NAMES, FN_COUNT, buf, size); }
void dtype_list(char *buf, int size) { join(DTYPE_NAMES, DT_COUNT, buf, size); }
