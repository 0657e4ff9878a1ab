/* ops: the vocabularies of the graph IR, one definition each.
 *
 * Op kinds, element-wise functions and dtypes have stable numeric codes that
 * are stored in datasets (with the name list beside them, so files stay
 * readable if the list grows) and used by the featurizer. New entries are
 * appended, never inserted, and docs/graph-ir.md lists them. */
#ifndef GP_OPS_H
#define GP_OPS_H

#include <stdint.h>

typedef enum op_kind {
    OP_INPUT = 0,      /* graph input tensor */
    OP_OUTPUT,         /* graph output marker */
    OP_CONV2D,         /* dense or grouped 2-D convolution (1-D as kernel [1,k]) */
    OP_DWCONV2D,       /* depthwise convolution: groups == in channels */
    OP_LINEAR,         /* x @ W^T + b, W a parameter */
    OP_MATMUL,         /* product of two activations, 2-D */
    OP_BMM,            /* batched product of two activations */
    OP_MAXPOOL2D,
    OP_AVGPOOL2D,
    OP_GLOBAL_AVGPOOL, /* average over all spatial positions */
    OP_BATCHNORM,
    OP_LAYERNORM,      /* also group/instance/RMS norm: normalise over trailing dims */
    OP_ACTIVATION,     /* unary non-linearity; fn says which */
    OP_ADD,
    OP_MUL,
    OP_ELEMENTWISE,    /* other element-wise ops (sub, div, exp, ...); fn says which */
    OP_CONCAT,
    OP_SOFTMAX,
    OP_EMBEDDING,      /* table lookup; out_shape gives the gathered rows */
    OP_VIEW,           /* reshape, flatten, permute, transpose, slice, dropout at inference */
    OP_OTHER,          /* anything else; still a node, still timed */
    OP_KIND_COUNT
} op_kind;

typedef enum op_fn {
    FN_NONE = 0,
    FN_RELU,
    FN_RELU6,
    FN_LEAKY_RELU,
    FN_GELU,
    FN_SILU,
    FN_SIGMOID,
    FN_TANH,
    FN_HARDSWISH,
    FN_HARDSIGMOID,
    FN_ELU,
    FN_SOFTPLUS,
    FN_MISH,
    FN_SUB,
    FN_DIV,
    FN_POW,
    FN_SQRT,
    FN_RSQRT,
    FN_EXP,
    FN_LOG,
    FN_NEG,
    FN_ABS,
    FN_MAXIMUM,
    FN_MINIMUM,
    FN_CLAMP,
    FN_WHERE,
    FN_ZERO,   /* multiply by zero / fill with zeros (NAS-Bench-201 "none") */
    FN_OTHER,
    FN_COUNT
} op_fn;

typedef enum dtype {
    DT_FLOAT32 = 0,
    DT_FLOAT16,
    DT_BFLOAT16,
    DT_FLOAT64,
    DT_INT8,
    DT_UINT8,
    DT_INT32,
    DT_INT64,
    DT_BOOL,
    DT_COUNT
} dtype;

/* Names as written in JSON graphs and stored beside codes in datasets. */
const char *op_kind_name(int kind);   /* NULL when out of range */
const char *op_fn_name(int fn);
const char *dtype_name(int dt);
int dtype_size(int dt);               /* bytes per element, 0 when out of range */

/* Name -> code; -1 when the name is not in the vocabulary. */
int op_kind_from_name(const char *name);
int op_fn_from_name(const char *name);
int dtype_from_name(const char *name);

/* Writes the vocabulary as a comma-separated list into buf, for error hints
 * ("expected one of: input, output, conv2d, ..."). */
void op_kind_list(char *buf, int size);
void op_fn_list(char *buf, int size);
void dtype_list(char *buf, int size);

#endif
