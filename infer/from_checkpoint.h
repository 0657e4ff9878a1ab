/* from_checkpoint: preparing data for a trained model, shared by
 * gnnpredict and gnnadapt: the model's targets looked up in a dataset, and
 * batches normalised with the checkpoint's statistics (never the data's). */
#ifndef GP_FROM_CHECKPOINT_H
#define GP_FROM_CHECKPOINT_H

#include "../datasets/batch.h"
#include "../gnn/checkpoint.h"

/* node_t[k] / graph_t[k]: the dataset target with the name and level of the
 * model's k-th target, or -1 when the dataset has no such labels. */
void checkpoint_targets_in(const checkpoint_meta *m, const dataset *d, int *node_t, int *graph_t);

/* A batch spec using the checkpoint's feature, target and descriptor
 * normalisation, for n_dev devices (model ids, dataset label columns or
 * -1, normalised descriptors or NULL). */
batch_spec checkpoint_batch_spec(const checkpoint_meta *m, const int *node_t, const int *graph_t, int max_batch,
                                 int32_t n_dev, const int32_t *model_dev, const int32_t *data_dev,
                                 const float *dev_desc);

#endif
