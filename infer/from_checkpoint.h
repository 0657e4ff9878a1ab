/* from_checkpoint: preparing data for a trained model, shared by
 * gnnpredict and gnnadapt: the model's targets looked up in a dataset, and
 * batches normalised with the checkpoint's statistics (never the data's). */
#ifndef GP_FROM_CHECKPOINT_H
#define GP_FROM_CHECKPOINT_H

#include "../datasets/batch.h"
#include "../gnn/checkpoint.h"
#include "../gnn/predict.h"

/* node_t[k] / graph_t[k] (BATCH_MAX_TARGETS entries each): the dataset
 * target with the name and level of the model's k-th target, or -1 when the
 * dataset has no such labels. Fails when the checkpoint has more targets
 * than batches hold, or when the dataset has a target's labels in another
 * unit than the model's. */
int checkpoint_targets_in(const checkpoint_meta *m, const dataset *d, int *node_t, int *graph_t, gp_error *err);

/* A batch spec using the checkpoint's feature, target and descriptor
 * normalisation, for n_dev devices (model ids, dataset label columns or
 * -1, normalised descriptors or NULL). */
batch_spec checkpoint_batch_spec(const checkpoint_meta *m, const int *node_t, const int *graph_t, int max_batch,
                                 int32_t n_dev, const int32_t *model_dev, const int32_t *data_dev,
                                 const float *dev_desc);

/* The cost prior's part (gnn/prior.h): which targets take it (from the
 * checkpoint's units) and the rates (n_dev, 2) of the evaluated model
 * devices, from all_rates (the checkpoint's, or a grown table). Fails,
 * naming the device, when a device lacks its rates. Sets bs->prior and
 * points it at rates and the flags (the caller keeps them alive). */
int checkpoint_prior_spec(batch_spec *bs, const checkpoint_meta *m, const double *all_rates, char *const *dev_names,
                          int32_t n_dev, const int32_t *model_dev, double *rates, unsigned char *node_f,
                          unsigned char *graph_f, gp_error *err);

/* Called with the batcher once its features are built, before the model
 * runs (gnnpredict warns there about features beyond training's range). */
typedef struct predict_inspect {
    void (*fn)(const batcher *b, void *ctx);
    void *ctx;
} predict_inspect;

/* Predictions of the checkpoint at path (meta read from it) for graphs
 * ids[0..n) of d (every graph when ids is NULL) on n_dev of its devices
 * (model ids model_dev; dataset label columns data_dev, -1 for none), in
 * batches of batch graphs, with embeddings when want_emb. Builds the model
 * into m, which the caller frees (its device vectors feed --embeddings).
 * inspect may be NULL. Each device is predicted with the heads its
 * checkpoint flags for it (gnn/source_heads.h). Graph predictions of a
 * device the checkpoint's stack covers are the stack's, or its blend with
 * the model's own (checkpoint_apply_stack). */
int checkpoint_predict(const char *path, const checkpoint_meta *meta, const dataset *d, const int64_t *ids, int64_t n,
                       int32_t n_dev, const int32_t *model_dev, const int32_t *data_dev, int batch, int want_emb,
                       model *m, const predict_inspect *inspect, predictions *p, gp_error *err);

/* Replaces p's graph predictions in device column col with those of stack s
 * (blended with the values there when the stack has a model share), whose
 * source devices are predicted by the checkpoint at src_path (meta
 * src_meta: the model the stack was fitted on, or one adapted from it),
 * each with the heads src_meta flags for it; its own stack is not used for
 * them. */
int checkpoint_apply_stack(const graph_stack *s, const char *src_path, const checkpoint_meta *src_meta,
                           const dataset *d, predictions *p, int32_t col, int batch, gp_error *err);

#endif
