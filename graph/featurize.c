#include "featurize.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cost.h"

/* Numeric columns after the one-hot blocks. Sizes span decades (a ReLU on
 * 10^3 elements, a conv with 10^10 FLOPs), so magnitudes enter as
 * log10(1 + x); small integer attributes enter as they are. */
enum {
    NUM_LOG_FLOPS,
    NUM_LOG_BYTES_IN,
    NUM_LOG_BYTES_OUT,
    NUM_LOG_BYTES_PARAM,
    NUM_LOG_PARAMS,
    NUM_LOG_INTENSITY,
    NUM_LOG_OUT_ELEMS,
    NUM_LOG_IN0_ELEMS,
    NUM_LOG_BATCH,
    NUM_LOG_CH_IN,
    NUM_LOG_CH_OUT,
    NUM_LOG_SPATIAL_OUT,
    NUM_LOG_LAST_DIM,
    NUM_OUT_RANK,
    NUM_N_INPUTS,
    NUM_KERNEL_H,
    NUM_KERNEL_W,
    NUM_STRIDE_H,
    NUM_STRIDE_W,
    NUM_PAD_H,
    NUM_PAD_W,
    NUM_DILATION_H,
    NUM_DILATION_W,
    NUM_LOG2_GROUPS,
    NUM_DEPTHWISE,
    NUM_LOG_IN_DEGREE,
    NUM_LOG_OUT_DEGREE,
    NUM_INPLACE,
    NUM_COUNT
};

static const char *const NUM_NAMES[NUM_COUNT] = {
    "log_flops", "log_bytes_in", "log_bytes_out", "log_bytes_param", "log_params", "log_intensity",
    "log_out_elems", "log_in0_elems", "log_batch", "log_channels_in", "log_channels_out", "log_spatial_out",
    "log_last_dim", "out_rank", "n_inputs", "kernel_h", "kernel_w", "stride_h", "stride_w", "padding_h",
    "padding_w", "dilation_h", "dilation_w", "log2_groups", "depthwise", "log_in_degree", "log_out_degree",
    "inplace",
};

#define OFF_KIND 0
#define OFF_FN (OFF_KIND + OP_KIND_COUNT)
#define OFF_DTYPE (OFF_FN + FN_COUNT)
#define OFF_NUM (OFF_DTYPE + DT_COUNT)
#define FEATURE_DIM (OFF_NUM + NUM_COUNT)

int featurize_dim(void) { return FEATURE_DIM; }

const char *featurize_name(int j)
{
    /* Built once; the vocabularies are compile-time constants. */
    static char names[FEATURE_DIM][48];
    static int ready = 0;
    if (j < 0 || j >= FEATURE_DIM) return NULL;
    if (!ready) {
        for (int k = 0; k < OP_KIND_COUNT; k++) snprintf(names[OFF_KIND + k], 48, "kind=%s", op_kind_name(k));
        for (int k = 0; k < FN_COUNT; k++) snprintf(names[OFF_FN + k], 48, "fn=%s", op_fn_name(k));
        for (int k = 0; k < DT_COUNT; k++) snprintf(names[OFF_DTYPE + k], 48, "dtype=%s", dtype_name(k));
        for (int k = 0; k < NUM_COUNT; k++) snprintf(names[OFF_NUM + k], 48, "%s", NUM_NAMES[k]);
        ready = 1;
    }
    return names[j];
}

static float lg(double x) { return (float)log10(1.0 + (x > 0 ? x : 0)); }

static double dim_or_1(const tensor_shape *t, int d) { return (d >= 0 && d < t->rank) ? (double)t->dim[d] : 1.0; }

/* Product of the dimensions after (N, C) for rank >= 3 (H*W for images,
 * sequence length for 1-D): the number of positions an op sweeps. */
static double spatial(const tensor_shape *t)
{
    double p = 1.0;
    for (int d = 2; d < t->rank; d++) p *= (double)t->dim[d];
    return p;
}

void featurize_nodes(const graph_set *s, float *out)
{
    memset(out, 0, (size_t)s->n_nodes * FEATURE_DIM * sizeof(float));
    for (int64_t i = 0; i < s->n_nodes; i++) {
        const graph_node *n = &s->nodes[i];
        float *f = out + (size_t)i * FEATURE_DIM;
        node_cost c;
        graph_node_cost(s, i, &c);
        const tensor_shape *in0 = n->n_in > 0 ? &s->in_shapes[n->in_off] : &n->out;
        double bytes = node_cost_bytes(&c);
        double cin = dim_or_1(in0, 1);

        f[OFF_KIND + n->kind] = 1.0f;
        f[OFF_FN + n->fn] = 1.0f;
        f[OFF_DTYPE + n->dtype] = 1.0f;
        float *x = f + OFF_NUM;
        x[NUM_LOG_FLOPS] = lg(c.flops);
        x[NUM_LOG_BYTES_IN] = lg(c.bytes_in);
        x[NUM_LOG_BYTES_OUT] = lg(c.bytes_out);
        x[NUM_LOG_BYTES_PARAM] = lg(c.bytes_param);
        x[NUM_LOG_PARAMS] = lg(c.params);
        x[NUM_LOG_INTENSITY] = lg(bytes > 0 ? c.flops / bytes : 0.0);
        x[NUM_LOG_OUT_ELEMS] = lg((double)tensor_shape_elems(&n->out));
        x[NUM_LOG_IN0_ELEMS] = lg((double)tensor_shape_elems(in0));
        x[NUM_LOG_BATCH] = lg(dim_or_1(&n->out, 0));
        x[NUM_LOG_CH_IN] = lg(cin);
        x[NUM_LOG_CH_OUT] = lg(dim_or_1(&n->out, 1));
        x[NUM_LOG_SPATIAL_OUT] = lg(spatial(&n->out));
        x[NUM_LOG_LAST_DIM] = lg(dim_or_1(&n->out, n->out.rank - 1));
        x[NUM_OUT_RANK] = (float)n->out.rank;
        x[NUM_N_INPUTS] = (float)n->n_in;
        x[NUM_KERNEL_H] = (float)n->kernel[0];
        x[NUM_KERNEL_W] = (float)n->kernel[1];
        x[NUM_STRIDE_H] = (float)n->stride[0];
        x[NUM_STRIDE_W] = (float)n->stride[1];
        x[NUM_PAD_H] = (float)n->padding[0];
        x[NUM_PAD_W] = (float)n->padding[1];
        x[NUM_DILATION_H] = (float)n->dilation[0];
        x[NUM_DILATION_W] = (float)n->dilation[1];
        x[NUM_LOG2_GROUPS] = (float)log2((double)n->groups);
        x[NUM_DEPTHWISE] = (n->groups > 1 && (double)n->groups == cin) ? 1.0f : 0.0f;
        x[NUM_INPLACE] = (float)n->inplace;
        if (s->pred_ptr) {
            x[NUM_LOG_IN_DEGREE] = lg((double)(s->pred_ptr[i + 1] - s->pred_ptr[i]));
            x[NUM_LOG_OUT_DEGREE] = lg((double)(s->succ_ptr[i + 1] - s->succ_ptr[i]));
        }
    }
}
