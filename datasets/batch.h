/* batch: turns a loaded dataset into the block-diagonal batches the model
 * trains on and predicts for, without allocating per batch.
 *
 * Normalisation, once per run: node features are standardised per column
 * (mean and deviation over the training graphs only, so held-out graphs
 * never leak into the statistics), labels become
 *   t = (ln(max(y, LABEL_FLOOR)) - mu) / sigma  per target,
 * and hardware descriptors become (ln(1 + x) - mean) / std per column. At
 * prediction time all of these come from the checkpoint instead. With a
 * cost prior (gnn/prior.h), the flagged targets subtract ln(prior) per
 * (node or graph, device) before mu and sigma, and node_lp / graph_lp hold
 * the current batch's ln(prior) for turning predictions back into labels.
 *
 * batcher_fill copies the chosen graphs' feature rows, CSR (renumbered to
 * batch-local ids) and labels into buffers sized at init for the largest
 * possible batch. */
#ifndef GP_BATCH_H
#define GP_BATCH_H

#include <math.h>
#include <stdint.h>

#include "../gnn/model.h"
#include "../gnn/prior.h"
#include "dataset.h"

/* Labels below this (in the target's unit) are clamped before the log:
 * measurements of 0 (an op a runtime skipped) must not become -infinity. */
#define LABEL_FLOOR 1e-6f
#define BATCH_MAX_TARGETS 16

typedef struct batch_spec {
    int64_t max_batch_graphs;
    int64_t max_repeats;            /* most times one graph can be in a batch (oversampling); 0 or 1: once */
    /* Statistics: given (non-NULL) or computed over train_graphs. */
    const int64_t *train_graphs;
    int64_t n_train;
    const float *feat_mean, *feat_std;         /* (featurize_dim) */
    /* Targets: dataset target index per model target, -1 when the dataset
     * has no labels for it (predicting), with their scales or NULL. */
    int n_node_t, n_graph_t;
    const int *node_targets, *graph_targets;
    const float *node_mu, *node_sigma, *graph_mu, *graph_sigma;
    /* Devices evaluated: model device ids, and the dataset label column of
     * each (-1: none; data_dev NULL means the same as model_dev). */
    int32_t n_dev;
    const int32_t *model_dev, *data_dev;
    /* Normalised descriptors of the evaluated devices (n_dev, n_desc), or NULL. */
    int n_desc;
    const float *dev_desc;
    /* Cost prior (NULL or kind none: off), rates (n_dev, 2) of the evaluated
     * devices (prior_device_rates), and which targets take it (n_node_t /
     * n_graph_t flags; prior_applies on their units). */
    const cost_prior *prior;
    const double *prior_rates;
    const unsigned char *node_prior_t, *graph_prior_t;
} batch_spec;

typedef struct batcher {
    const dataset *d;
    int F;
    float *features;                /* (n_nodes, F) normalised */
    float *feat_mean, *feat_std;    /* (F) as used */
    float *feat_max;                /* (F) largest raw value over training nodes (NULL when given stats) */
    int n_node_t, n_graph_t;
    int node_t[BATCH_MAX_TARGETS], graph_t[BATCH_MAX_TARGETS];
    float node_mu[BATCH_MAX_TARGETS], node_sigma[BATCH_MAX_TARGETS];
    float graph_mu[BATCH_MAX_TARGETS], graph_sigma[BATCH_MAX_TARGETS];
    int32_t n_dev;
    int32_t *model_dev, *data_dev;
    int n_desc;
    float *dev_desc;                /* (n_dev, n_desc) */
    unsigned char node_use_prior[BATCH_MAX_TARGETS], graph_use_prior[BATCH_MAX_TARGETS];
    float *node_lp_all, *graph_lp_all; /* ln prior (n_nodes or n_graphs, n_dev) of the dataset, or NULL */
    model_limits lim;               /* the largest batch */
    /* the current batch */
    float *x, *node_y, *graph_y;
    float *node_lp, *graph_lp;      /* (N * n_dev), (G * n_dev): ln prior, 0 without one */
    float *readout_lw;              /* (N * n_dev, n_graph_t): ln(node prior / graph prior) for graph
                                       targets that take the prior, else 0; NULL without a graph prior */
    int64_t *pred_ptr, *pred_idx, *succ_ptr, *succ_idx, *graph_off;
    int64_t *graph_ids;
    int64_t n_graphs_in_batch;
} batcher;

int batcher_init(batcher *b, const dataset *d, const batch_spec *spec, gp_error *err);
void batcher_free(batcher *b);

/* Fills out with graphs ids[0..n) (n <= max_batch_graphs). Node labels land
 * in b->node_y ((N * n_dev), Tn), graph labels in b->graph_y
 * ((G * n_dev), Tg), pairs row-major (row, device), in target space, NaN
 * where not measured. */
void batcher_fill(batcher *b, const int64_t *ids, int64_t n, gnn_batch *out);

/* Standardisation of descriptors: per column mean and std of ln(1 + x)
 * over the rows k with use[k] != 0 (every row when use is NULL; NaN
 * skipped; std 1 when constant). A column that no used row knows gets
 * std 0: it is read as 0 for every device, so a value only some other
 * device has cannot steer the model. */
void descriptor_stats(float *mean, float *std, const double *raw, int32_t n_devices, int n_desc,
                      const int8_t *use);
/* raw (n, n_desc) -> normalised (n, n_desc); unknown -> 0 (the mean), and
 * every value of a column with std 0 -> 0. */
void descriptor_normalise(float *out, const double *raw, int32_t n, int n_desc, const float *mean,
                          const float *std);

/* Back from target space to the label's unit; lp is ln(prior) of the row
 * for targets that take the prior, 0 for the others. */
static inline double target_to_label(float t, float mu, float sigma, float lp)
{
    return exp((double)t * sigma + mu + lp);
}

/* ln prior of node-pair row r (batch-local node * n_dev + device) for node
 * target t of the current batch, and of graph-pair row r for graph target t. */
static inline float batcher_node_lp(const batcher *b, int64_t r, int t)
{
    return b->node_use_prior[t] ? b->node_lp[r] : 0.0f;
}
static inline float batcher_graph_lp(const batcher *b, int64_t r, int t)
{
    return b->graph_use_prior[t] ? b->graph_lp[r] : 0.0f;
}

#endif
