/* featurize: the one place where IR nodes become the numeric features the
 * GNN reads. Training, prediction and the features cached in datasets all
 * come from featurize_nodes(); scripts never compute features.
 *
 * FEATURIZER_VERSION changes whenever a column is added, removed or
 * computed differently; it is stored in datasets and checkpoints, and a
 * mismatch means "recompute from the raw attributes". Columns are listed,
 * with their formulas, in docs/features.md and by featurize_name(). */
#ifndef GP_FEATURIZE_H
#define GP_FEATURIZE_H

#include "graph.h"

#define FEATURIZER_VERSION 2

/* Number of feature columns. */
int featurize_dim(void);

/* Name of column j (0 <= j < featurize_dim()), e.g. "kind=conv2d", "log_flops". */
const char *featurize_name(int j);

/* Writes s->n_nodes x featurize_dim() row-major float features into out.
 * Needs the CSR (degrees are features). Never fails on a validated set. */
void featurize_nodes(const graph_set *s, float *out);

#endif
