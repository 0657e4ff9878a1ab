/* predict: run a model over a list of graphs, in batches, and collect
 * predictions (and the labels beside them) in the labels' units.
 *
 * The one code path for predictions: gnntrain's validation and test metrics
 * and gnnpredict's output both come from predict_run, so a graph predicted
 * by either gives the same numbers. */
#ifndef GP_PREDICT_H
#define GP_PREDICT_H

#include <stdint.h>

#include "../datasets/batch.h"
#include "loss.h"
#include "model.h"

typedef struct predictions {
    int64_t n_graphs, n_nodes;   /* graphs predicted and their nodes in total */
    int32_t n_dev;
    int Tn, Tg, H;
    int64_t *graph_ids;          /* (n_graphs) dataset graph indices, in the order given */
    int64_t *node_first;         /* (n_graphs + 1) offsets into node rows */
    double *graph_pred, *graph_true; /* (n_graphs, n_dev, Tg), NaN where unlabelled */
    double *node_pred, *node_true;   /* (n_nodes, n_dev, Tn) */
    /* Ensembles only (predict_ensemble_finish), else NULL: the population
     * standard deviation of ln(prediction) over the members, same layouts. */
    double *graph_spread, *node_spread;
    float *graph_emb;            /* (n_graphs, H) pooled node embeddings, when asked */
    float *node_emb;             /* (n_nodes, H) last layer outputs, when asked */
    double loss;                 /* mean loss in target space (same weights as training) over the
                                    batches with at least one label; 0 when none has one */
    int64_t n_labelled;          /* labels the loss saw (graph and node values over all devices) */
} predictions;

typedef struct predict_options {
    int batch_graphs;            /* graphs per forward pass */
    int want_embeddings;
    int loss_kind;
    float node_weight, graph_weight;
} predict_options;

int predict_run(predictions *out, model *m, batcher *b, const int64_t *ids, int64_t n, const predict_options *o,
                gp_error *err);
void predictions_free(predictions *p);

/* Ensembles: predictions of several models of the same targets and devices
 * on the same graphs (same order) become one set whose values are the
 * geometric means over the members (predictions are positive: every target
 * is learnt in log space, gnn/loss.h; one that underflowed to 0 counts as
 * DBL_MIN) and whose *_spread arrays hold the population standard
 * deviation (1/n) of ln(prediction) over them.
 *
 * ens is zeroed by the caller. Each predict_ensemble_add takes one member
 * (its layout must match the first one's; the first is moved into ens, the
 * others stay the caller's to free); predict_ensemble_finish turns the
 * running sums into means and spreads. Labels, embeddings and loss are the
 * first member's. */
typedef struct predict_ensemble {
    predictions p;               /* the first member; its *_pred hold running means of ln */
    int n_members;
    double *graph_m2, *node_m2;  /* running sums of squared deviations of ln (Welford) */
} predict_ensemble;

int predict_ensemble_add(predict_ensemble *ens, predictions *member, gp_error *err);
/* Moves the result into out (zeroed by the caller); ens is left empty. */
void predict_ensemble_finish(predict_ensemble *ens, predictions *out);
void predict_ensemble_free(predict_ensemble *ens);

#endif
