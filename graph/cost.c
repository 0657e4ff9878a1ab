#include "cost.h"

#include <string.h>

/* Element-wise work per output element: piecewise-linear functions are one
 * comparison or add; functions built on exp/erf/div cost several. Rough on
 * purpose: these are features, the GNN learns the real cost. */
static double fn_flops_per_elem(int fn)
{
    switch (fn) {
    case FN_GELU: case FN_SILU: case FN_SIGMOID: case FN_TANH: case FN_ELU:
    case FN_SOFTPLUS: case FN_MISH: case FN_EXP: case FN_LOG: case FN_POW:
        return 4.0;
    case FN_HARDSWISH: case FN_HARDSIGMOID: case FN_SQRT: case FN_RSQRT: case FN_DIV:
        return 2.0;
    case FN_ZERO:
        return 0.0;
    default:
        return 1.0;
    }
}

static double dim_or_1(const tensor_shape *t, int d)
{
    return (d >= 0 && d < t->rank) ? (double)t->dim[d] : 1.0;
}

/* Whether x [..., M, K] times y [..., K, N] gives out [..., M, N]. */
static int matmul_fits(const tensor_shape *x, const tensor_shape *y, const tensor_shape *out)
{
    return x->rank >= 2 && y->rank >= 2 && out->rank >= 2 && x->dim[x->rank - 1] == y->dim[y->rank - 2] &&
           x->dim[x->rank - 2] == out->dim[out->rank - 2] && y->dim[y->rank - 1] == out->dim[out->rank - 1];
}

/* The reduction length K of out [..., M, N] = A [..., M, K] x B [..., K, N]:
 * the first listed operand's last dimension. in_shapes lists the graph's
 * inputs before constants (docs/graph-json.md), so a constant left operand
 * comes second, and an operand may be used transposed (ONNX Gemm transA).
 * When the two listed shapes do not multiply to the output in their order,
 * the shapes say which reading does: the other order (the second one is the
 * left operand), or the first one transposed. A consistent listing keeps
 * the first operand's last dimension, so ordinary matmuls are unchanged. */
static double matmul_reduction(const graph_node *n, const tensor_shape *a, const tensor_shape *b)
{
    if (!a) return 1.0;
    if (b && !matmul_fits(a, b, &n->out)) {
        if (matmul_fits(b, a, &n->out)) return (double)b->dim[b->rank - 1];
        if (a->rank == 2 && b->rank >= 2 && n->out.rank >= 2 && a->dim[0] == b->dim[b->rank - 2] &&
            a->dim[1] == n->out.dim[n->out.rank - 2])
            return (double)a->dim[0];
    }
    return dim_or_1(a, a->rank - 1);
}

void graph_node_cost(const graph_set *s, int64_t i, node_cost *c)
{
    const graph_node *n = &s->nodes[i];
    const tensor_shape *in = n->n_in > 0 ? &s->in_shapes[n->in_off] : NULL;
    double esz = dtype_size(n->dtype);
    double out = (double)tensor_shape_elems(&n->out);
    double in_bytes = 0.0;
    for (int32_t k = 0; k < n->n_in; k++) {
        /* Input dtypes are not recorded; the output dtype stands in for them. */
        in_bytes += (double)tensor_shape_elems(&s->in_shapes[n->in_off + k]) * esz;
    }
    double in0 = in ? (double)tensor_shape_elems(in) : out;
    memset(c, 0, sizeof *c);
    c->bytes_in = in_bytes;
    c->bytes_out = out * esz;

    switch (n->kind) {
    case OP_INPUT:
    case OP_OUTPUT:
    case OP_VIEW:
        /* Inputs and outputs are markers; views alias their input. */
        c->bytes_in = c->bytes_out = 0.0;
        break;
    case OP_CONV2D:
    case OP_DWCONV2D: {
        double cin = in ? dim_or_1(in, 1) : dim_or_1(&n->out, 1);
        double cout = dim_or_1(&n->out, 1);
        double kk = (double)n->kernel[0] * n->kernel[1];
        double cin_per_group = cin / n->groups;
        c->params = cout * cin_per_group * kk + cout;
        c->flops = 2.0 * out * cin_per_group * kk;
        break;
    }
    case OP_LINEAR: {
        double k = in ? dim_or_1(in, in->rank - 1) : 1.0;
        double nout = dim_or_1(&n->out, n->out.rank - 1);
        c->params = k * nout + nout;
        c->flops = 2.0 * out * k;
        break;
    }
    case OP_MATMUL:
    case OP_BMM: {
        c->flops = 2.0 * out * matmul_reduction(n, in, n->n_in > 1 ? in + 1 : NULL);
        break;
    }
    case OP_MAXPOOL2D:
    case OP_AVGPOOL2D:
        c->flops = out * n->kernel[0] * n->kernel[1];
        break;
    case OP_GLOBAL_AVGPOOL:
        c->flops = in0;
        break;
    case OP_BATCHNORM:
        /* Inference batchnorm is one scale and one shift per element. */
        c->params = 2.0 * dim_or_1(&n->out, 1);
        c->flops = 2.0 * out;
        break;
    case OP_LAYERNORM:
        /* Mean, variance, normalise, scale, shift. */
        c->params = 2.0 * dim_or_1(&n->out, n->out.rank - 1);
        c->flops = 8.0 * out;
        break;
    case OP_ACTIVATION:
    case OP_ELEMENTWISE:
        c->flops = out * fn_flops_per_elem(n->fn);
        if (n->fn == FN_ZERO) c->bytes_in = 0.0;
        break;
    case OP_ADD:
    case OP_MUL:
        c->flops = out * (n->n_in > 1 ? n->n_in - 1 : 1);
        break;
    case OP_SOFTMAX:
        /* max, subtract, exp, sum, divide. */
        c->flops = 5.0 * out;
        break;
    case OP_EMBEDDING:
        /* The gathered rows are read from the table: as many bytes as written. */
        c->bytes_param = out * esz;
        break;
    case OP_CONCAT:
    case OP_OTHER:
    default:
        break;
    }
    if (n->kind != OP_EMBEDDING) c->bytes_param = c->params * esz;
}
