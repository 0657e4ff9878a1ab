/* train_options: gnntrain's command line, parsed into one struct that is
 * also saved (as JSON) in every checkpoint. */
#ifndef GP_TRAIN_OPTIONS_H
#define GP_TRAIN_OPTIONS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "../gnn/model.h"
#include "../gnn/optim.h"
#include "../gnn/prior.h"

#define TRAIN_MAX_LIST 64

typedef struct train_options {
    const char *datasets[TRAIN_MAX_LIST];
    int n_datasets;
    const char *output;
    const char *node_targets[TRAIN_MAX_LIST];
    int n_node_targets;          /* 0: all per-node targets */
    const char *graph_targets[TRAIN_MAX_LIST];
    int n_graph_targets;         /* 0: all per-graph targets */
    int no_node_targets, no_graph_targets;
    const char *devices[TRAIN_MAX_LIST];
    int n_devices;               /* 0: all */
    const char *holdout[TRAIN_MAX_LIST];
    int n_holdout;
    model_config model;
    int use_descriptors;
    cost_prior prior;
    int loss_kind;
    float node_weight, graph_weight;
    int epochs, batch, patience;
    adam_config adam;
    uint64_t seed;
    int threads;
    double val_frac, test_frac;
    const char *train_range, *val_range, *test_range, *split_file;
    const char *log_path, *metrics_path, *predictions_path;
    int stop_after;              /* stop after this many epochs of this invocation, as if killed (tests); 0: never */
    int quiet, resume;
    const char *repeats_path;    /* --graph-repeats: CSV graph,repeats (oversampling); NULL: each once */
    const char *init_path;       /* --init: start from this checkpoint (fine-tuning); NULL: fresh */
} train_options;

/* Defaults, then argv. Returns 0, 1 when help was printed, or 2 on a usage
 * error (message printed to stderr). */
int train_options_parse(train_options *o, int argc, char **argv);

/* The options as a JSON object (caller deletes). */
cJSON *train_options_json(const train_options *o);

#endif
