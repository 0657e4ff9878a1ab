/* model: the whole GNN — input projection, message-passing stack, device
 * conditioning, per-node and per-graph heads — with forward and backward
 * over a batch of graphs.
 *
 *   x (N, F) -> h0 = relu(x W_in + b_in)                    (N, H)
 *   for each layer: h = norm(mp(h))  (SAGE mean/sum, GIN, or directed)
 *   device vector e_d = emb[d] (+ relu(desc_d W_desc + b_desc))  (D, De)
 *   node head:  MLP(concat(h_i, e_d))  -> Tn outputs per (node, device)
 *   graph head: MLP(concat(pool(h)_g, e_d)) -> Tg outputs per (graph, device)
 *   or, with pool "additive", the same MLP on every (node, device) pair
 *   and a graph's cost as the sum of its nodes' costs (additive_readout in
 *   gnn/layers.h): latency is additive over ops, and this readout makes it
 *   so by construction, with each op's cost a function of its context
 *
 * Outputs are in the model's target space (standardised log of the label;
 * see gnn/loss.h). Memory: parameters, gradients and Adam moments live in
 * one param_store; activations and backward scratch in one workspace
 * allocation sized at model_build for the largest batch (max nodes, edges,
 * graphs, devices); forward and backward allocate nothing. */
#ifndef GP_MODEL_H
#define GP_MODEL_H

#include <stdint.h>

#include "../kernels/kernels.h"
#include "layers.h"
#include "params.h"

#define MODEL_MAX_LAYERS 16

typedef enum layer_type {
    LAYER_SAGE_MEAN = 0,  /* GraphSAGE, mean over producers */
    LAYER_SAGE_SUM,       /* GraphSAGE, sum over producers */
    LAYER_GIN,            /* GIN with a 2-layer MLP and learnable eps */
    LAYER_DIRECTED,       /* separate weights for producers and consumers, mean */
    LAYER_TYPE_COUNT
} layer_type;

typedef enum pool_type { POOL_SUM = 0, POOL_MEAN, POOL_MAX, POOL_ATTENTION, POOL_ADDITIVE, POOL_TYPE_COUNT } pool_type;

const char *layer_type_name(int t);
int layer_type_from_name(const char *name);
const char *pool_type_name(int t);
int pool_type_from_name(const char *name);

typedef struct model_config {
    int in_dim;          /* node feature columns */
    int hidden;          /* H */
    int n_layers;
    int layer;           /* layer_type */
    int residual;        /* add the layer input to its output */
    int norm;            /* layer normalisation after each layer */
    int pool;            /* pool_type for the graph head */
    int head_hidden;     /* Hh */
    int n_devices;       /* rows of the device embedding table */
    int device_dim;      /* De */
    int n_descriptors;   /* hardware descriptor inputs per device (0: none) */
    int n_node_targets;  /* Tn (0: no node head) */
    int n_graph_targets; /* Tg (0: no graph head) */
    uint64_t seed;
} model_config;

/* Sensible defaults: hidden 64, 3 directed layers, residual, norm,
 * attention pooling, head hidden 64, device_dim 16, seed 1. */
void model_config_defaults(model_config *c);
/* Checks ranges; the message names the field. */
int model_config_validate(const model_config *c, gp_error *err);

/* One batch: a block-diagonal union of graphs (batch-local row ids). */
typedef struct gnn_batch {
    int64_t n_nodes, n_edges, n_graphs;
    const float *x;                       /* (N, in_dim) normalised features */
    graph_csr csr;                        /* csr.n == n_nodes */
    const int64_t *graph_off;             /* (G + 1) */
    int32_t n_dev;                        /* devices evaluated in this batch */
    const int32_t *dev_ids;               /* (n_dev) rows of the embedding table */
    const float *descriptors;             /* (n_dev, n_descriptors) normalised, or NULL */
    /* Additive readout only: each graph target's sigma (Tg; NULL: 1), and
     * ln of the node's share of its graph's cost prior per (node, device,
     * graph target) ((N * n_dev), Tg; NULL: 0, no prior). */
    const float *graph_sigma;
    const float *readout_lw;
} gnn_batch;

/* Largest batch the workspace must hold. */
typedef struct model_limits {
    int64_t max_nodes, max_edges, max_graphs;
    int32_t max_devices;
} model_limits;

typedef struct layer_params {
    int ws, wp, wc, b;            /* message passing (wc: directed only) */
    int eps, w2, b2;              /* GIN: ws = W1, b = b1, w2/b2 second layer */
    int gamma, beta;              /* norm */
} layer_params;

typedef struct model {
    model_config cfg;
    model_limits lim;
    param_store params;
    int w_in, b_in;
    layer_params layer[MODEL_MAX_LAYERS];
    int dev_emb, desc_w, desc_b;
    int nh_w1x, nh_w1e, nh_b1, nh_w2, nh_b2;
    int gh_w1x, gh_w1e, gh_b1, gh_w2, gh_b2;
    int att_w, att_b;

    gemm_plan plan_in, plan_hh, plan_hx, plan_ex, plan_desc, plan_node_out, plan_graph_out;

    /* workspace: one allocation, carved into the buffers below */
    float *ws_mem;
    int64_t ws_floats;
    float *wt;                     /* transposed weights, same layout as params */
    float *h[MODEL_MAX_LAYERS + 1];            /* (N, H) layer inputs/outputs */
    float *pre_norm[MODEL_MAX_LAYERS];         /* (N, H) mp output before norm */
    float *agg_p[MODEL_MAX_LAYERS], *agg_s[MODEL_MAX_LAYERS], *act[MODEL_MAX_LAYERS];
    float *gin_m[MODEL_MAX_LAYERS];
    float *xhat[MODEL_MAX_LAYERS], *rstd[MODEL_MAX_LAYERS];
    float *dev_vec, *desc_hidden;  /* (D, De) */
    float *node_A, *node_B, *node_u, *node_out;     /* (N,Hh) (D,Hh) (N*D,Hh) (N*D,Tn) */
    float *pooled, *alpha;                           /* (G, H) (N) */
    int64_t *pool_arg;                               /* (G, H) */
    float *graph_A, *graph_B, *graph_u, *graph_out;  /* (Rg,Hh) (D,Hh) (Rg*D,Hh) (G*D,Tg); Rg: G, or N when additive */
    float *graph_z, *graph_p, *graph_dz;             /* additive: (N*D,Tg) node scores, shares, their gradient */
    float *dh, *dh2, *dtmp, *dz, *dagg, *dgin;       /* (N, H) backward scratch */
    float *du_node, *dA_node, *dB;                   /* (N*D,Hh) (N,Hh) (D,Hh) */
    float *du_graph, *dA_graph, *dpooled;            /* (Rg*D,Hh) (Rg,Hh) (G,H) */
    float *ddev;                                     /* (D, De) */
    float *d_node_out, *d_graph_out;                 /* loss gradients, filled by the loss */
    float *fused_scratch;                            /* fused_threads x mp_fused_scratch_floats(H) */
    int fused_threads;
    float *ln_partial;                               /* layer-norm backward per-chunk sums */
    float *att_partial, *pair_partial;               /* attention / pair-head backward per-chunk sums */
    int training;                                    /* set by model_prepare_training: save for backward */
    int frozen_trunk;                                /* backward stops at the heads and device vectors: no
                                                        gradients for the layers, the input projection or
                                                        the attention pool (callers that never move them) */
    int64_t cur_nodes, cur_graphs;
    int32_t cur_dev;
} model;

/* Lays out and initialises parameters from cfg.seed, dispatches kernels,
 * and allocates the workspace for batches up to lim. */
int model_build(model *m, const model_config *cfg, const model_limits *lim, gp_error *err);
void model_free(model *m);

/* Sets the embedding row of every device with trained[d] == 0 to the mean
 * of the trained devices' rows (left alone when none is trained). A device
 * the model has no labels for then enters as the typical device, its
 * descriptors (if any) carrying what differs, instead of as its random
 * initial row: zero-shot predictions stop depending on the seed's draw,
 * and gnnadapt starts every new device from the same point. */
void model_neutral_device_rows(model *m, const int8_t *trained);

/* Dispatches every kernel the model can need for any batch size, so that
 * training steps allocate nothing (see gemm_plan_prepare_all), and makes
 * forward passes save what model_backward needs. Prediction skips it: one
 * process predicting a few graphs meets few sizes, and a forward-only model
 * keeps the message-passing intermediates in per-thread blocks. */
void model_prepare_training(model *m);

/* Whether forward passes save what model_backward needs (1 after
 * model_prepare_training); a model that only predicts leaves it 0. */
static inline void model_set_training(model *m, int on) { m->training = on != 0; }

/* Forward pass. Results: m->node_out (N*D, Tn) and m->graph_out (G*D, Tg),
 * pairs row-major (row, device). With pool additive, m->pooled holds the
 * mean of each graph's node embeddings (the graph embedding; the head does
 * not read it). Fails only when the batch exceeds the limits or names a
 * device outside the table. */
int model_forward(model *m, const gnn_batch *b, gp_error *err);

/* Backward pass for the last forward, given m->d_node_out and
 * m->d_graph_out (set by the loss); accumulates into m->params.grad. */
void model_backward(model *m, const gnn_batch *b);

/* Node embeddings (N, H) of the last forward: the last layer's output. */
static inline const float *model_node_embeddings(const model *m) { return m->h[m->cfg.n_layers]; }

#endif
