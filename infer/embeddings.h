/* embeddings: node, graph and device embeddings in HDF5, for use outside
 * gnnperf (clustering, retrieval, a ridge head for a new device). Format in
 * docs/embeddings-format.md:
 *   /graphs/names (G), /graphs/embeddings (G, H), /graphs/node_offsets (G+1)
 *   /nodes/names (N), /nodes/graph (N) graph index, /nodes/embeddings (N, H)
 *   /devices/names (D), /devices/embeddings (D, De) learned device vectors
 * root attributes: format "gnnperf-embeddings", format_version 1, checkpoint. */
#ifndef GP_EMBEDDINGS_H
#define GP_EMBEDDINGS_H

#include "../datasets/dataset.h"
#include "../gnn/predict.h"

#define EMBEDDINGS_FORMAT_NAME "gnnperf-embeddings"

/* Writes atomically. device_vectors (n_dev, De) with their names. */
int embeddings_write(const char *path, const char *checkpoint, const dataset *d, const predictions *p,
                     char *const *device_names, const float *device_vectors, int32_t n_dev, int De, gp_error *err);

#endif
