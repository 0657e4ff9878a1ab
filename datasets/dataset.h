/* dataset: many computation graphs with their profiled labels, the unit that
 * is packed into, and loaded from, the HDF5 dataset format
 * (docs/dataset-format.md, "gnnperf-dataset" version 1).
 *
 * A dataset owns one graph_set, a device table and any number of named
 * targets. A target is either per node (rows = graphs.n_nodes) or per graph
 * (rows = graphs.n_graphs); its values are rows x n_devices, row-major, in
 * the target's unit, with NaN meaning "not measured". Measured values are
 * finite and >= 0.
 *
 * Ownership: dataset_init() makes an empty dataset; everything it points to
 * is owned by it and released by dataset_free(). */
#ifndef GP_DATASET_H
#define GP_DATASET_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "../graph/graph.h"

#define DATASET_FORMAT_NAME "gnnperf-dataset"
#define DATASET_FORMAT_VERSION 1

typedef enum label_level { LABEL_NODE = 0, LABEL_GRAPH = 1 } label_level;

typedef struct label_target {
    char *name;        /* e.g. "latency_ms", "utilization"; unique per level */
    char *unit;        /* e.g. "ms", "ratio"; may be "" */
    int32_t level;     /* label_level */
    float *values;     /* [rows x n_devices], NaN = not measured */
} label_target;

typedef struct dataset {
    graph_set graphs;

    int32_t n_devices;
    char **device_names;       /* [n_devices], unique */
    int32_t n_descriptors;
    char **descriptor_names;   /* [n_descriptors], e.g. "peak_gflops", "mem_bw_gbs" */
    double *descriptors;       /* [n_devices x n_descriptors], NaN = unknown */

    int32_t n_targets;
    label_target *targets;     /* [n_targets] */

    char *provenance;          /* JSON object as text (who made it, from what, how); may be NULL */
} dataset;

void dataset_init(dataset *d);
void dataset_free(dataset *d);

/* Rows of a target: n_nodes or n_graphs. */
int64_t dataset_target_rows(const dataset *d, const label_target *t);

/* Finds a target by name and level, or returns -1. */
int dataset_find_target(const dataset *d, const char *name, int level);

/* Checks one device, descriptor or target name: non-empty, shorter than
 * GRAPH_MAX_NAME, without '/', not "." or "..". The message starts with what
 * and the name ("device 'a/b': ..."). dataset_validate applies it to every
 * name (the HDF5 reader validates what it reads); the CSV readers call it
 * themselves, so that such a name is refused with its file and line. */
int dataset_check_name(const char *name, const char *what, gp_error *err);

/* Checks the whole dataset: graph_set_validate, unique device, descriptor
 * and target names, label values NaN or finite and >= 0, descriptors NaN or
 * finite. Messages name the object ("target 'latency_ms' (graph): row 3
 * ('resnet18'), device 'cpu1': value -2 is negative"). */
int dataset_validate(const dataset *d, gp_error *err);

/* Writes d to path in the HDF5 dataset format, including the cached node
 * features from featurize_nodes(). Atomic: writes a temporary file beside
 * path and renames it at the end; on any failure path is untouched and no
 * temporary is left. Validates d first. */
int dataset_write_h5(const dataset *d, const char *path, gp_error *err);

/* The same, optionally without /nodes/features: that cache is for outside
 * readers only (gnnperf recomputes features), and it is most of a shipped
 * file's size. */
int dataset_write_h5_opts(const dataset *d, const char *path, int with_features, gp_error *err);

/* Reads and fully validates a dataset file into d (which must be freshly
 * initialised). Every dataset's type, rank and shape is checked before it is
 * read; sizes are bounded so a hostile file cannot make the reader allocate
 * more than the file plausibly holds. On failure d is left empty and err
 * names the file, the HDF5 object and the problem. Builds the CSR. */
int dataset_read_h5(dataset *d, const char *path, gp_error *err);

#endif
