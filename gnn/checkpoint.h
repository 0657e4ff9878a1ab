/* checkpoint: a trained (or training) model on disk, in HDF5
 * ("gnnperf-checkpoint" version 1, docs/checkpoint-format.md).
 *
 * Holds everything needed to predict without the training data and to
 * resume training exactly: the model configuration, every parameter and
 * both Adam moments (by name), the full run configuration as JSON, the
 * feature normalisation with the featurizer version and column names, the
 * op vocabulary, the device table (names, raw descriptors and their
 * normalisation; embeddings are parameters), target names, units and
 * scales, the cost prior (gnn/prior.h) with each device's rates, the seed, the step/epoch reached, the best validation score and
 * a fingerprint of the training data; after gnnadapt --method stack, one
 * device's whole-graph calibration (gnn/stack.h).
 *
 * Writes are atomic (temporary file, fsync, rename): a kill at any moment
 * leaves the previous checkpoint intact. Reads check format, version,
 * featurizer version and every shape; parameter names must match the model
 * layout exactly, both ways. */
#ifndef GP_CHECKPOINT_H
#define GP_CHECKPOINT_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "model.h"
#include "prior.h"
#include "source_heads.h"
#include "stack.h"

#define CHECKPOINT_FORMAT_NAME "gnnperf-checkpoint"
#define CHECKPOINT_FORMAT_VERSION 1

typedef struct checkpoint_meta {
    model_config cfg;
    char *run_config;          /* JSON text of the whole run configuration; may be NULL */
    char *fingerprint;         /* dataset fingerprint; may be NULL */
    int64_t step, epoch, best_epoch;
    double best_val;           /* best validation loss (NaN: none yet) */

    int F;                     /* feature columns (featurize_dim at training time) */
    float *feat_mean, *feat_std;
    float *feat_max;           /* largest raw value seen in training, per column */

    int32_t n_devices;
    char **device_names;
    int8_t *dev_trained;       /* (n_devices) 1 where the model saw labels of the device */
    int32_t n_desc;
    char **desc_names;
    double *desc_raw;          /* (n_devices, n_desc), NaN unknown */
    float *desc_mean, *desc_std; /* of log1p(descriptor), per column */

    int n_node_t, n_graph_t;
    char **node_t_names, **node_t_units, **graph_t_names, **graph_t_units;
    float *node_mu, *node_sigma, *graph_mu, *graph_sigma;

    cost_prior prior;          /* kind none when the file has no /prior group */
    double *prior_rates;       /* (n_devices, 2) FLOP and bytes per ms, NaN unknown; NULL without a prior */

    graph_stack *stack;        /* a device's whole-graph calibration (gnn/stack.h); NULL: none */
    source_heads heads;        /* the source model's heads after an adaptation moved them; n 0: none */
    int8_t *dev_source_heads;  /* (n_devices) 1: predicted with heads' values; NULL when heads.n is 0 */
} checkpoint_meta;

void checkpoint_meta_free(checkpoint_meta *m);

/* Writes meta and the parameters (and Adam moments when with_optimizer). */
int checkpoint_write(const char *path, const checkpoint_meta *meta, const param_store *p, int with_optimizer,
                     gp_error *err);

/* Reads everything but the parameters (fills a zeroed meta). */
int checkpoint_read_meta(const char *path, checkpoint_meta *meta, gp_error *err);

/* Reads parameter values (and moments when with_optimizer) into a
 * param_store whose layout was built from the same configuration. */
int checkpoint_read_params(const char *path, param_store *p, int with_optimizer, gp_error *err);

#endif
