#include "train_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gnn/loss.h"

static const char USAGE[] =
    "usage: gnntrain [options] DATASET.h5... -o CHECKPOINT.h5\n"
    "\n"
    "Train a GNN latency model on profiled datasets (docs/dataset-format.md).\n"
    "\n"
    "data:\n"
    "  --node-target NAME      per-node target to learn (repeatable; default: all)\n"
    "  --graph-target NAME     per-graph target to learn (repeatable; default: all)\n"
    "  --no-node-targets, --no-graph-targets\n"
    "  --device NAME           train on this device (repeatable; default: all)\n"
    "  --holdout-device NAME   never train on this device; report it zero-shot (its embedding row\n"
    "                          is the trained devices' mean; repeatable)\n"
    "split (by whole graph; default random):\n"
    "  --val-frac F            share of graphs for validation (default 0.1; random split only)\n"
    "  --test-frac F           share of graphs for testing (default 0.1; random split only)\n"
    "  --train-range R, --val-range R, --test-range R   index ranges, e.g. 0-899,1000-1099\n"
    "  --split-file FILE       CSV 'graph,part' with part train, val or test\n"
    "  --graph-repeats FILE    CSV 'graph,repeats': train on these graphs that many times per\n"
    "                          epoch (oversampling a family the others outnumber; default 1)\n"
    "model:\n"
    "  --layer TYPE            sage_mean, sage_sum, gin or directed (default directed)\n"
    "  --layers N              message-passing layers (default 3)\n"
    "  --hidden N              node embedding width (default 64)\n"
    "  --head-hidden N         head width (default 64)\n"
    "  --device-dim N          device embedding width (default 16)\n"
    "  --pool TYPE             graph readout: sum, mean, max, attention (default) or additive:\n"
    "                          the graph head runs on every node and a graph's latency is the\n"
    "                          sum of its nodes' (weighted by their prior shares with --prior)\n"
    "  --no-residual, --no-norm, --no-descriptors\n"
    "  --prior KIND            none, roofline or roofline_sum (default none): learn latency\n"
    "                          targets (unit ms) relative to max(FLOPs / peak, bytes / bandwidth)\n"
    "                          + floor per node (roofline_sum: their sum + floor)\n"
    "                          (a graph: the sum over its nodes); see gnn/prior.h\n"
    "  --prior-peak NAME       descriptor with peak GFLOP/s (default peak_gflops)\n"
    "  --prior-bw NAME         descriptor with memory bandwidth in GB/s (default mem_bw_gbs)\n"
    "  --prior-floor-ms X      fixed cost per node in ms (default 0.002)\n"
    "training:\n"
    "  --loss KIND             mse_log, rel_sq or huber_log (default mse_log)\n"
    "  --node-weight W, --graph-weight W   loss weights (default 1, 1)\n"
    "  --epochs N              (default 100)     --batch N   graphs per batch (default 64)\n"
    "  --lr X                  peak learning rate (default 0.002)\n"
    "  --weight-decay X        AdamW decay on matrices (default 1e-4)\n"
    "  --clip X                gradient norm limit (default 5; 0 = none)\n"
    "  --warmup N              warm-up steps (default 100)\n"
    "  --schedule S            constant or cosine (default cosine)\n"
    "  --patience N            stop after N epochs without validation gain (default 20; 0 = never)\n"
    "  --seed N                (default 1)       --threads N (default: all cores)\n"
    "output:\n"
    "  -o, --output FILE       best checkpoint (FILE.state.h5 holds the latest state for --resume)\n"
    "  --resume                continue the run saved in FILE.state.h5\n"
    "  --init CHECKPOINT       fine-tune: start from this checkpoint's parameters, with its\n"
    "                          architecture, prior and target scales (the data must have its\n"
    "                          devices and targets); e.g. one device of a multi-device model.\n"
    "                          With validation graphs the starting model is epoch 0: kept\n"
    "                          unless an epoch beats it\n"
    "  --log FILE              one JSON object per epoch (JSON Lines): epoch, step, lr, train_loss,\n"
    "                          val_loss and val_mape (null without labelled validation graphs),\n"
    "                          decided_by (which loss picks the kept epoch), graphs_per_s, elapsed_s, best\n"
    "  --metrics FILE          the final test metrics as JSON\n"
    "  --predictions FILE      the test graphs' predictions as CSV (gnnpredict --format csv layout);\n"
    "                          without test graphs the validation graphs', without either none\n"
    "  -q, --quiet             no progress lines\n"
    "Environment: GNNPERF_LOAD_TIMEOUT=SECONDS stops the run when reading one dataset or checkpoint\n"
    "takes longer (default 60 s plus 1 s per MB; 0: never), as a corrupt file can make libhdf5 loop\n"
    "forever (exit status 1); a crash while reading one exits with status 3.\n";

static int bad(const char *fmt, const char *a)
{
    fprintf(stderr, "gnntrain: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\nRun 'gnntrain --help' for usage.\n");
    return 2;
}

static int parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

int train_options_parse(train_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    model_config_defaults(&o->model);
    adam_config_defaults(&o->adam);
    o->adam.lr = 2e-3f;
    o->adam.weight_decay = 1e-4f;
    o->adam.clip_norm = 5.0f;
    o->adam.warmup_steps = 100;
    o->adam.schedule = LR_COSINE;
    o->adam.min_lr_ratio = 0.05f;
    o->use_descriptors = 1;
    cost_prior_defaults(&o->prior);
    int prior_set = 0, frac_set = 0;
    o->loss_kind = LOSS_MSE_LOG;
    o->node_weight = o->graph_weight = 1.0f;
    o->epochs = 100;
    o->batch = 64;
    o->patience = 20;
    o->seed = 1;
    o->val_frac = 0.1;
    o->test_frac = 0.1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double f;
        int n;
#define NEED_VALUE \
    if (!v) return bad("%s needs a value", a); \
    i++;
#define LIST(arr, count)                                                          \
    {                                                                             \
        NEED_VALUE;                                                               \
        if ((count) >= TRAIN_MAX_LIST) return bad("too many %s options", a);      \
        (arr)[(count)++] = v;                                                     \
        continue;                                                                 \
    }
#define INT_OPT(dst, lo, hi)                                                              \
    {                                                                                     \
        NEED_VALUE;                                                                       \
        if (parse_int(v, lo, hi, &n)) return bad("%s: expected an integer in range", a); \
        dst = n;                                                                          \
        continue;                                                                         \
    }
#define FLOAT_OPT(dst, lo, hi)                                                         \
    {                                                                                  \
        NEED_VALUE;                                                                    \
        if (parse_float(v, lo, hi, &f)) return bad("%s: expected a number in range", a); \
        dst = f;                                                                       \
        continue;                                                                      \
    }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        }
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            NEED_VALUE;
            o->output = v;
            continue;
        }
        if (!strcmp(a, "--node-target")) LIST(o->node_targets, o->n_node_targets);
        if (!strcmp(a, "--graph-target")) LIST(o->graph_targets, o->n_graph_targets);
        if (!strcmp(a, "--device")) LIST(o->devices, o->n_devices);
        if (!strcmp(a, "--holdout-device")) LIST(o->holdout, o->n_holdout);
        if (!strcmp(a, "--no-node-targets")) { o->no_node_targets = 1; continue; }
        if (!strcmp(a, "--no-graph-targets")) { o->no_graph_targets = 1; continue; }
        frac_set |= !strcmp(a, "--val-frac") || !strcmp(a, "--test-frac");
        if (!strcmp(a, "--val-frac")) FLOAT_OPT(o->val_frac, 0.0, 0.9);
        if (!strcmp(a, "--test-frac")) FLOAT_OPT(o->test_frac, 0.0, 0.9);
        if (!strcmp(a, "--train-range")) { NEED_VALUE; o->train_range = v; continue; }
        if (!strcmp(a, "--val-range")) { NEED_VALUE; o->val_range = v; continue; }
        if (!strcmp(a, "--test-range")) { NEED_VALUE; o->test_range = v; continue; }
        if (!strcmp(a, "--split-file")) { NEED_VALUE; o->split_file = v; continue; }
        if (!strcmp(a, "--graph-repeats")) { NEED_VALUE; o->repeats_path = v; continue; }
        if (!strcmp(a, "--layer")) {
            NEED_VALUE;
            if ((o->model.layer = layer_type_from_name(v)) < 0)
                return bad("--layer: '%s' is not sage_mean, sage_sum, gin or directed", v);
            continue;
        }
        if (!strcmp(a, "--pool")) {
            NEED_VALUE;
            if ((o->model.pool = pool_type_from_name(v)) < 0)
                return bad("--pool: '%s' is not sum, mean, max, attention or additive", v);
            continue;
        }
        if (!strcmp(a, "--loss")) {
            NEED_VALUE;
            if ((o->loss_kind = loss_kind_from_name(v)) < 0)
                return bad("--loss: '%s' is not mse_log, rel_sq or huber_log", v);
            continue;
        }
        if (!strcmp(a, "--schedule")) {
            NEED_VALUE;
            if (!strcmp(v, "constant")) o->adam.schedule = LR_CONSTANT;
            else if (!strcmp(v, "cosine")) o->adam.schedule = LR_COSINE;
            else return bad("--schedule: '%s' is not constant or cosine", v);
            continue;
        }
        if (!strcmp(a, "--layers")) INT_OPT(o->model.n_layers, 0, MODEL_MAX_LAYERS);
        if (!strcmp(a, "--hidden")) INT_OPT(o->model.hidden, 1, 4096);
        if (!strcmp(a, "--head-hidden")) INT_OPT(o->model.head_hidden, 1, 4096);
        if (!strcmp(a, "--device-dim")) INT_OPT(o->model.device_dim, 1, 1024);
        if (!strcmp(a, "--no-residual")) { o->model.residual = 0; continue; }
        if (!strcmp(a, "--no-norm")) { o->model.norm = 0; continue; }
        if (!strcmp(a, "--no-descriptors")) { o->use_descriptors = 0; continue; }
        if (!strcmp(a, "--prior")) {
            NEED_VALUE;
            if ((o->prior.kind = prior_kind_from_name(v)) < 0) return bad("--prior: '%s' is not none, roofline or roofline_sum", v);
            continue;
        }
        if (!strcmp(a, "--prior-peak") || !strcmp(a, "--prior-bw")) {
            NEED_VALUE;
            char *dst = a[8] == 'p' ? o->prior.peak : o->prior.bw;
            if (!*v || strlen(v) >= PRIOR_NAME_MAX) return bad("%s: a descriptor name of 1-63 characters", a);
            snprintf(dst, PRIOR_NAME_MAX, "%s", v);
            prior_set = 1;
            continue;
        }
        if (!strcmp(a, "--prior-floor-ms")) {
            prior_set = 1;
            FLOAT_OPT(o->prior.floor_ms, 1e-9, 1e6);
        }
        if (!strcmp(a, "--node-weight")) FLOAT_OPT(o->node_weight, 0.0, 1e6);
        if (!strcmp(a, "--graph-weight")) FLOAT_OPT(o->graph_weight, 0.0, 1e6);
        if (!strcmp(a, "--epochs")) INT_OPT(o->epochs, 1, 1000000);
        if (!strcmp(a, "--batch")) INT_OPT(o->batch, 1, 1 << 20);
        if (!strcmp(a, "--patience")) INT_OPT(o->patience, 0, 1000000);
        if (!strcmp(a, "--lr")) FLOAT_OPT(o->adam.lr, 1e-8, 10.0);
        if (!strcmp(a, "--weight-decay")) FLOAT_OPT(o->adam.weight_decay, 0.0, 1.0);
        if (!strcmp(a, "--clip")) FLOAT_OPT(o->adam.clip_norm, 0.0, 1e9);
        if (!strcmp(a, "--warmup")) INT_OPT(o->adam.warmup_steps, 0, 100000000);
        if (!strcmp(a, "--threads")) INT_OPT(o->threads, 1, 1024);
        if (!strcmp(a, "--seed")) {
            NEED_VALUE;
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end) return bad("--seed: '%s' is not a non-negative integer", v);
            o->seed = s;
            continue;
        }
        if (!strcmp(a, "--log")) { NEED_VALUE; o->log_path = v; continue; }
        if (!strcmp(a, "--metrics")) { NEED_VALUE; o->metrics_path = v; continue; }
        if (!strcmp(a, "--predictions")) { NEED_VALUE; o->predictions_path = v; continue; }
        if (!strcmp(a, "--stop-after")) INT_OPT(o->stop_after, 1, 1000000);
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { o->quiet = 1; continue; }
        if (!strcmp(a, "--resume")) { o->resume = 1; continue; }
        if (!strcmp(a, "--init")) { NEED_VALUE; o->init_path = v; continue; }
#undef NEED_VALUE
#undef LIST
#undef INT_OPT
#undef FLOAT_OPT
        if (a[0] == '-' && a[1]) return bad("unknown option '%s'", a);
        if (o->n_datasets >= TRAIN_MAX_LIST) return bad("too many datasets (at most 64)%s", "");
        o->datasets[o->n_datasets++] = a;
    }
    if (!o->output) return bad("%s", "no output checkpoint given (-o CHECKPOINT.h5)");
    if (o->n_datasets == 0) return bad("%s", "no dataset given");
    if (o->no_node_targets && o->n_node_targets) return bad("%s", "--no-node-targets contradicts --node-target");
    if (o->no_graph_targets && o->n_graph_targets) return bad("%s", "--no-graph-targets contradicts --graph-target");
    if (o->prior.kind == PRIOR_NONE && prior_set)
        return bad("%s", "--prior-peak, --prior-bw and --prior-floor-ms need --prior roofline or roofline_sum");
    if (o->split_file && (o->train_range || o->val_range || o->test_range))
        return bad("%s", "--split-file and --*-range are alternatives; give one");
    if (frac_set && (o->split_file || o->train_range || o->val_range || o->test_range))
        return bad("%s", "--val-frac and --test-frac size the random split; --split-file and --*-range name the "
                         "parts instead (they would be ignored)");
    o->model.seed = o->seed;
    return 0;
}

static void add_list(cJSON *o, const char *key, const char *const *v, int n)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

cJSON *train_options_json(const train_options *o)
{
    cJSON *j = cJSON_CreateObject();
    add_list(j, "datasets", o->datasets, o->n_datasets);
    add_list(j, "node_targets", o->node_targets, o->n_node_targets);
    add_list(j, "graph_targets", o->graph_targets, o->n_graph_targets);
    cJSON_AddBoolToObject(j, "no_node_targets", o->no_node_targets);
    cJSON_AddBoolToObject(j, "no_graph_targets", o->no_graph_targets);
    add_list(j, "devices", o->devices, o->n_devices);
    add_list(j, "holdout_devices", o->holdout, o->n_holdout);
    cJSON *m = cJSON_AddObjectToObject(j, "model");
    cJSON_AddStringToObject(m, "layer", layer_type_name(o->model.layer));
    cJSON_AddNumberToObject(m, "layers", o->model.n_layers);
    cJSON_AddNumberToObject(m, "hidden", o->model.hidden);
    cJSON_AddNumberToObject(m, "head_hidden", o->model.head_hidden);
    cJSON_AddNumberToObject(m, "device_dim", o->model.device_dim);
    cJSON_AddStringToObject(m, "pool", pool_type_name(o->model.pool));
    cJSON_AddBoolToObject(m, "residual", o->model.residual);
    cJSON_AddBoolToObject(m, "norm", o->model.norm);
    cJSON_AddBoolToObject(m, "descriptors", o->use_descriptors);
    /* Only when on, so that runs without a prior keep their old
     * configuration (and --resume accepts their state files). */
    if (o->prior.kind != PRIOR_NONE) {
        cJSON_AddStringToObject(m, "prior", prior_kind_name(o->prior.kind));
        cJSON_AddStringToObject(m, "prior_peak", o->prior.peak);
        cJSON_AddStringToObject(m, "prior_bw", o->prior.bw);
        cJSON_AddNumberToObject(m, "prior_floor_ms", o->prior.floor_ms);
    }
    if (o->init_path) cJSON_AddStringToObject(m, "init", o->init_path);
    cJSON *t = cJSON_AddObjectToObject(j, "training");
    cJSON_AddStringToObject(t, "loss", loss_kind_name(o->loss_kind));
    cJSON_AddNumberToObject(t, "node_weight", o->node_weight);
    cJSON_AddNumberToObject(t, "graph_weight", o->graph_weight);
    cJSON_AddNumberToObject(t, "epochs", o->epochs);
    cJSON_AddNumberToObject(t, "batch", o->batch);
    cJSON_AddNumberToObject(t, "patience", o->patience);
    cJSON_AddNumberToObject(t, "lr", o->adam.lr);
    cJSON_AddNumberToObject(t, "weight_decay", o->adam.weight_decay);
    cJSON_AddNumberToObject(t, "clip", o->adam.clip_norm);
    cJSON_AddNumberToObject(t, "warmup", (double)o->adam.warmup_steps);
    cJSON_AddStringToObject(t, "schedule", o->adam.schedule == LR_COSINE ? "cosine" : "constant");
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(t, "seed", seed);
    cJSON *s = cJSON_AddObjectToObject(j, "split");
    cJSON_AddNumberToObject(s, "val_frac", o->val_frac);
    cJSON_AddNumberToObject(s, "test_frac", o->test_frac);
    if (o->train_range) cJSON_AddStringToObject(s, "train_range", o->train_range);
    if (o->val_range) cJSON_AddStringToObject(s, "val_range", o->val_range);
    if (o->test_range) cJSON_AddStringToObject(s, "test_range", o->test_range);
    if (o->split_file) cJSON_AddStringToObject(s, "split_file", o->split_file);
    if (o->repeats_path) cJSON_AddStringToObject(s, "graph_repeats", o->repeats_path);
    return j;
}
