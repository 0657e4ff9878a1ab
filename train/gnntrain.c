/* gnntrain: trains a GNN latency model on one or more profiled datasets and
 * writes the best checkpoint (by validation loss), the latest training
 * state (for --resume), a JSON Lines log and the test metrics.
 *
 * Determinism: every random choice derives from --seed (initialisation,
 * the split, and each epoch's shuffle, seeded from seed and epoch number),
 * so a resumed run equals an uninterrupted one for the same thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/atomic_file.h"
#include "../common/fnv1a.h"
#include "../common/output_check.h"
#include "../common/watchdog.h"
#include "../common/rng.h"
#include "../datasets/batch.h"
#include "../datasets/dataset.h"
#include "../datasets/dataset_merge.h"
#include "../datasets/split.h"
#include "../gnn/checkpoint.h"
#include "../gnn/predict.h"
#include "../graph/featurize.h"
#include "../infer/report.h"
#include "train_options.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int die(const gp_error *err, const char *hint)
{
    fprintf(stderr, "gnntrain: error: %s\n", err->msg);
    if (hint) fprintf(stderr, "hint: %s\n", hint);
    return 1;
}

/* FNV-1a over what identifies the training data: names, sizes, labels. */
static void fingerprint(char out[17], const dataset *d)
{
    uint64_t h = FNV1A_INIT;
    const graph_set *s = &d->graphs;
    for (int64_t g = 0; g < s->n_graphs; g++) h = fnv1a(h, s->graph_names[g], strlen(s->graph_names[g]));
    h = fnv1a(h, s->node_off, (s->n_graphs + 1) * sizeof(int64_t));
    h = fnv1a(h, s->edge_src, s->n_edges * sizeof(int32_t));
    h = fnv1a(h, s->edge_dst, s->n_edges * sizeof(int32_t));
    h = fnv1a(h, s->nodes, s->n_nodes * sizeof(graph_node));
    for (int32_t k = 0; k < d->n_devices; k++) h = fnv1a(h, d->device_names[k], strlen(d->device_names[k]));
    for (int32_t t = 0; t < d->n_targets; t++) {
        h = fnv1a(h, d->targets[t].name, strlen(d->targets[t].name));
        h = fnv1a(h, d->targets[t].values, dataset_target_rows(d, &d->targets[t]) * d->n_devices * sizeof(float));
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int find_device(const dataset *d, const char *name)
{
    for (int32_t k = 0; k < d->n_devices; k++)
        if (!strcmp(d->device_names[k], name)) return k;
    return -1;
}

static void list_names(char *buf, size_t size, char **names, int n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 2 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

static void list_targets(char *buf, size_t size, const dataset *d, int level)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t t = 0; t < d->n_targets && used + 2 < size; t++)
        if (d->targets[t].level == level)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", d->targets[t].name);
    if (!buf[0]) snprintf(buf, size, "(none)");
}

/* Resolves the chosen targets of one level to dataset indices. */
static int pick_targets(int *out, int *n_out, const dataset *d, int level, const char *const *names, int n_names,
                        int none, gp_error *err)
{
    *n_out = 0;
    if (none) return 0;
    if (n_names == 0) {
        for (int32_t t = 0; t < d->n_targets; t++)
            if (d->targets[t].level == level) {
                if (*n_out >= BATCH_MAX_TARGETS) return gp_errorf(err, "more than %d targets", BATCH_MAX_TARGETS);
                out[(*n_out)++] = t;
            }
        return 0;
    }
    for (int i = 0; i < n_names; i++) {
        int t = dataset_find_target(d, names[i], level);
        if (t < 0) {
            char known[1024];
            list_targets(known, sizeof known, d, level);
            return gp_errorf(err, "no per-%s target named '%s' in the data (known: %s)",
                             level == LABEL_NODE ? "node" : "graph", names[i], known);
        }
        if (*n_out >= BATCH_MAX_TARGETS) return gp_errorf(err, "more than %d targets", BATCH_MAX_TARGETS);
        out[(*n_out)++] = t;
    }
    return 0;
}

typedef struct run {
    train_options opt;
    dataset data;
    split sp;
    int node_t[BATCH_MAX_TARGETS], graph_t[BATCH_MAX_TARGETS], n_node_t, n_graph_t;
    int32_t train_dev[TRAIN_MAX_LIST * 4], eval_dev[TRAIN_MAX_LIST * 4];
    int32_t n_train_dev, n_eval_dev;
    float *desc_all, *desc_mean, *desc_std, *desc_train, *desc_eval;
    double *prior_rates, *prior_train, *prior_eval; /* (devices, 2) all, trained, evaluated */
    unsigned char node_prior_t[BATCH_MAX_TARGETS], graph_prior_t[BATCH_MAX_TARGETS];
    batcher tb, eb;
    model m;
    float *best_params;
    float *feat_max;           /* with --init: the larger of its and this run's training maxima */
    int8_t *dev_trained;
    char *run_config;
    char fp[17];
    FILE *log;
    char state_path[4200];
    checkpoint_meta init;      /* --init's checkpoint (have_init) */
    int64_t *epoch_list;       /* training graphs of one epoch, each as often as --graph-repeats says */
    int64_t n_epoch_list;
    int32_t max_repeats;       /* largest --graph-repeats count among training graphs */
    int have_init;
} run;

static void run_free(run *r)
{
    if (r->have_init) checkpoint_meta_free(&r->init);
    free(r->epoch_list);
    batcher_free(&r->tb);
    batcher_free(&r->eb);
    model_free(&r->m);
    split_free(&r->sp);
    dataset_free(&r->data);
    free(r->desc_all);
    free(r->desc_mean);
    free(r->desc_std);
    free(r->desc_train);
    free(r->desc_eval);
    free(r->prior_rates);
    free(r->prior_train);
    free(r->prior_eval);
    free(r->best_params);
    free(r->feat_max);
    free(r->dev_trained);
    free(r->run_config);
    if (r->log) fclose(r->log);
}

/* Validation graphs without a label on any trained device and target would
 * score every epoch 0 and keep the first one. */
static void warn_unlabelled_validation(int64_t n_val)
{
    fprintf(stderr,
            "gnntrain: warning: the %lld validation graphs have no label on the trained devices and targets; "
            "the training loss decides which epoch is kept\n",
            (long long)n_val);
}

/* --init on the data the init run split: its training graphs stay out of
 * this run's validation and test parts only if both runs split alike.
 * Checkpoints record the split's digest; older ones only the options that
 * made it (the same options, and the same seed for a random split). Other
 * data: the indices mean other graphs, nothing to compare. */
static void warn_if_split_differs(const run *r)
{
    if (!r->init.run_config || !r->init.fingerprint || strcmp(r->init.fingerprint, r->fp)) return;
    cJSON *was = cJSON_Parse(r->init.run_config), *now = cJSON_Parse(r->run_config);
    cJSON *sw = cJSON_GetObjectItemCaseSensitive(was, "split"), *sn = cJSON_GetObjectItemCaseSensitive(now, "split");
    cJSON *dw = cJSON_GetObjectItemCaseSensitive(sw, "digest"), *dn = cJSON_GetObjectItemCaseSensitive(sn, "digest");
    int same, random = 0;
    const char *why = "its parts hold other graphs";
    if (cJSON_IsString(dw) && cJSON_IsString(dn)) {
        same = !strcmp(dw->valuestring, dn->valuestring);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(sw, "graph_repeats"); /* which graphs, not how often */
        cJSON_DeleteItemFromObjectCaseSensitive(sn, "graph_repeats");
        cJSON_DeleteItemFromObjectCaseSensitive(sn, "digest");
        same = sw && sn && cJSON_Compare(sw, sn, 1);
        random = sn && !cJSON_GetObjectItemCaseSensitive(sn, "split_file") &&
                 !cJSON_GetObjectItemCaseSensitive(sn, "train_range") &&
                 !cJSON_GetObjectItemCaseSensitive(sn, "val_range") && !cJSON_GetObjectItemCaseSensitive(sn, "test_range");
        if (same && random) {
            cJSON *tw = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(was, "training"), "seed");
            cJSON *tn = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(now, "training"), "seed");
            same = tw && tn && cJSON_Compare(tw, tn, 1);
        }
        why = random ? "other split options or --seed" : "other split options";
    }
    if (!same)
        fprintf(stderr,
                "gnntrain: warning: --init %s was trained on the same data split differently (%s); "
                "graphs it trained on may be in this run's validation or test part. Give both runs the same "
                "--seed and split options, or one --split-file\n",
                r->opt.init_path, why);
    cJSON_Delete(was);
    cJSON_Delete(now);
}

/* Whether a saved run configuration is this run's. State files written
 * before the split's digest was recorded lack it; the options that made
 * the split are still compared. */
static int same_run_config(const char *saved, const char *now)
{
    if (!saved) return 0;
    if (!strcmp(saved, now)) return 1;
    cJSON *a = cJSON_Parse(saved), *b = cJSON_Parse(now);
    cJSON *sa = cJSON_GetObjectItemCaseSensitive(a, "split");
    if (sa && !cJSON_GetObjectItemCaseSensitive(sa, "digest"))
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "split"), "digest");
    int same = a && b && cJSON_Compare(a, b, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}

/* The checkpoint's metadata, borrowing the run's arrays. */
static void make_meta(checkpoint_meta *meta, run *r, int64_t step, int64_t epoch, int64_t best_epoch, double best)
{
    memset(meta, 0, sizeof *meta);
    meta->cfg = r->m.cfg;
    meta->run_config = r->run_config;
    meta->fingerprint = r->fp;
    meta->step = step;
    meta->epoch = epoch;
    meta->best_epoch = best_epoch;
    meta->best_val = best;
    meta->F = r->tb.F;
    meta->feat_mean = r->tb.feat_mean;
    meta->feat_std = r->tb.feat_std;
    meta->feat_max = r->feat_max ? r->feat_max : r->tb.feat_max;
    meta->dev_trained = r->dev_trained;
    meta->n_devices = r->data.n_devices;
    meta->device_names = r->data.device_names;
    meta->n_desc = r->m.cfg.n_descriptors;
    meta->desc_names = r->data.descriptor_names;
    meta->desc_raw = r->data.descriptors;
    meta->desc_mean = r->desc_mean;
    meta->desc_std = r->desc_std;
    static char *node_names[BATCH_MAX_TARGETS], *node_units[BATCH_MAX_TARGETS];
    static char *graph_names[BATCH_MAX_TARGETS], *graph_units[BATCH_MAX_TARGETS];
    for (int k = 0; k < r->n_node_t; k++) {
        node_names[k] = r->data.targets[r->node_t[k]].name;
        node_units[k] = r->data.targets[r->node_t[k]].unit;
    }
    for (int k = 0; k < r->n_graph_t; k++) {
        graph_names[k] = r->data.targets[r->graph_t[k]].name;
        graph_units[k] = r->data.targets[r->graph_t[k]].unit;
    }
    meta->n_node_t = r->n_node_t;
    meta->n_graph_t = r->n_graph_t;
    meta->node_t_names = node_names;
    meta->node_t_units = node_units;
    meta->graph_t_names = graph_names;
    meta->graph_t_units = graph_units;
    meta->node_mu = r->tb.node_mu;
    meta->node_sigma = r->tb.node_sigma;
    meta->graph_mu = r->tb.graph_mu;
    meta->graph_sigma = r->tb.graph_sigma;
    if (r->prior_rates) {
        meta->prior = r->opt.prior;
        meta->prior_rates = r->prior_rates;
    }
}

/* Which targets take the cost prior (unit ms), and every device's rates;
 * the evaluated devices must have both descriptors. */
static int setup_prior(run *r, gp_error *err)
{
    const train_options *o = &r->opt;
    const dataset *d = &r->data;
    if (o->prior.kind == PRIOR_NONE) return 0;
    if (cost_prior_validate(&o->prior, err) != 0) return -1;
    int any = 0;
    for (int k = 0; k < r->n_node_t; k++)
        any |= r->node_prior_t[k] = (unsigned char)prior_applies(&o->prior, d->targets[r->node_t[k]].unit);
    for (int k = 0; k < r->n_graph_t; k++)
        any |= r->graph_prior_t[k] = (unsigned char)prior_applies(&o->prior, d->targets[r->graph_t[k]].unit);
    if (!any) return gp_errorf(err, "--prior %s: no selected target is a latency in ms", prior_kind_name(o->prior.kind));
    r->prior_rates = malloc((size_t)(2 * d->n_devices + 1) * sizeof(double));
    r->prior_train = malloc((size_t)(2 * r->n_train_dev + 1) * sizeof(double));
    r->prior_eval = malloc((size_t)(2 * r->n_eval_dev + 1) * sizeof(double));
    if (!r->prior_rates || !r->prior_train || !r->prior_eval) return gp_errorf(err, "out of memory");
    for (int32_t k = 0; k < d->n_devices; k++)
        prior_device_rates(&o->prior, d->descriptor_names, d->n_descriptors,
                           d->descriptors + (size_t)k * d->n_descriptors, r->prior_rates + 2 * k);
    for (int32_t j = 0; j < r->n_eval_dev; j++) {
        const double *rate = r->prior_rates + 2 * r->eval_dev[j];
        if (prior_check_rates(&o->prior, rate, d->device_names[r->eval_dev[j]], err) != 0)
            return gp_error_prefix(err, "%s", o->datasets[0]);
        memcpy(r->prior_eval + 2 * j, rate, 2 * sizeof(double));
    }
    for (int32_t j = 0; j < r->n_train_dev; j++)
        memcpy(r->prior_train + 2 * j, r->prior_rates + 2 * r->train_dev[j], 2 * sizeof(double));
    return 0;
}

/* --init: the checkpoint must describe this data: same device table (its
 * embedding rows), targets, descriptors and featurizer. */
static int check_init(const run *r, int K, gp_error *err)
{
    const checkpoint_meta *im = &r->init;
    const dataset *d = &r->data;
    const char *path = r->opt.init_path;
    if (im->F != featurize_dim())
        return gp_errorf(err, "--init %s: made with %d feature columns, this build computes %d (another featurizer "
                              "version); train afresh",
                         path, im->F, featurize_dim());
    if (im->n_devices != d->n_devices)
        return gp_errorf(err, "--init %s: %d devices, the data %d; fine-tuning needs the same device table", path,
                         im->n_devices, d->n_devices);
    for (int32_t k = 0; k < d->n_devices; k++)
        if (strcmp(im->device_names[k], d->device_names[k]))
            return gp_errorf(err, "--init %s: device %d is '%s' there and '%s' in the data", path, k,
                             im->device_names[k], d->device_names[k]);
    if (im->n_node_t != r->n_node_t || im->n_graph_t != r->n_graph_t)
        return gp_errorf(err, "--init %s: it learns %d node and %d graph targets, this run selects %d and %d", path,
                         im->n_node_t, im->n_graph_t, r->n_node_t, r->n_graph_t);
    for (int level = 0; level < 2; level++) {
        int n = level ? r->n_graph_t : r->n_node_t;
        const int *picked = level ? r->graph_t : r->node_t;
        char *const *names = level ? im->graph_t_names : im->node_t_names;
        char *const *units = level ? im->graph_t_units : im->node_t_units;
        for (int k = 0; k < n; k++) {
            const label_target *t = &d->targets[picked[k]];
            if (strcmp(names[k], t->name))
                return gp_errorf(err, "--init %s: %s target %d is '%s' there and '%s' here", path,
                                 level ? "graph" : "node", k, names[k], t->name);
            if (strcmp(units[k], t->unit))
                return gp_errorf(err, "--init %s: %s target '%s' is in '%s' there and in '%s' here", path,
                                 level ? "graph" : "node", t->name, units[k], t->unit);
        }
    }
    if (im->cfg.n_descriptors != K)
        return gp_errorf(err, "--init %s: it reads %d hardware descriptors, the data has %d", path,
                         im->cfg.n_descriptors, K);
    for (int k = 0; k < K; k++)
        if (strcmp(im->desc_names[k], d->descriptor_names[k]))
            return gp_errorf(err, "--init %s: descriptor %d is '%s' there and '%s' in the data", path, k,
                             im->desc_names[k], d->descriptor_names[k]);
    return 0;
}

static int setup(run *r, gp_error *err)
{
    train_options *o = &r->opt;
    /* Data. */
    for (int i = 0; i < o->n_datasets; i++) {
        dataset d;
        if (WATCHED(o->datasets[i], dataset_read_h5(&d, o->datasets[i], err)) != 0) return -1;
        if (i == 0) {
            r->data = d;
            continue;
        }
        int rc = dataset_merge(&r->data, &d, err);
        dataset_free(&d);
        if (rc != 0) return gp_error_prefix(err, "merging %s", o->datasets[i]);
    }
    dataset *d = &r->data;
    /* Fine-tuning: the architecture, the prior and the target scales are
     * the init checkpoint's, so that its parameters mean what they meant. */
    if (o->init_path) {
        if (WATCHED(o->init_path, checkpoint_read_meta(o->init_path, &r->init, err)) != 0) return -1;
        r->have_init = 1;
        /* gnnadapt --method heads/blend moved the heads to its new device and
         * kept the trained devices' heads aside; /params alone would predict
         * every trained device with the new device's heads. */
        if (r->init.heads.n > 0)
            return gp_errorf(err,
                             "--init %s: gnnadapt fitted its heads to a new device (--method heads or blend), so "
                             "its other devices are predicted with heads kept aside, which fine-tuning cannot "
                             "carry; start from the checkpoint gnnadapt adapted instead",
                             o->init_path);
        uint64_t seed = o->model.seed;
        o->model = r->init.cfg;
        o->model.seed = seed;
        o->use_descriptors = r->init.cfg.n_descriptors > 0;
        o->prior = r->init.prior;
    }
    if (d->n_devices == 0 || d->n_targets == 0)
        return gp_errorf(err, "%s: the data has %d devices and %d targets: nothing to learn from (pack labels with "
                              "gnndata pack --labels)",
                         o->datasets[0], d->n_devices, d->n_targets);
    if (pick_targets(r->node_t, &r->n_node_t, d, LABEL_NODE, o->node_targets, o->n_node_targets,
                     o->no_node_targets, err) ||
        pick_targets(r->graph_t, &r->n_graph_t, d, LABEL_GRAPH, o->graph_targets, o->n_graph_targets,
                     o->no_graph_targets, err))
        return -1;
    if (r->n_node_t + r->n_graph_t == 0) return gp_errorf(err, "no targets selected");

    /* Devices: evaluated = chosen (all by default); trained = those minus held out. */
    char known[2048];
    for (int32_t k = 0; k < (o->n_devices ? o->n_devices : d->n_devices); k++) {
        int dev = o->n_devices ? find_device(d, o->devices[k]) : k;
        if (dev < 0) {
            list_names(known, sizeof known, d->device_names, d->n_devices);
            return gp_errorf(err, "--device '%s' is not in the data (known: %s)", o->devices[k], known);
        }
        if (r->n_eval_dev >= (int32_t)(sizeof r->eval_dev / sizeof r->eval_dev[0]))
            return gp_errorf(err, "too many devices");
        r->eval_dev[r->n_eval_dev++] = dev;
    }
    for (int k = 0; k < o->n_holdout; k++) {
        int dev = find_device(d, o->holdout[k]);
        int in_eval = 0;
        for (int32_t j = 0; j < r->n_eval_dev; j++) in_eval |= r->eval_dev[j] == dev;
        if (dev < 0 || !in_eval) {
            list_names(known, sizeof known, d->device_names, d->n_devices);
            return gp_errorf(err, "--holdout-device '%s' is not among the devices used (known: %s)", o->holdout[k],
                             known);
        }
    }
    for (int32_t j = 0; j < r->n_eval_dev; j++) {
        int held = 0;
        for (int k = 0; k < o->n_holdout; k++) held |= find_device(d, o->holdout[k]) == r->eval_dev[j];
        if (!held) r->train_dev[r->n_train_dev++] = r->eval_dev[j];
    }
    if (r->n_train_dev == 0) return gp_errorf(err, "every device is held out: nothing to train on");
    r->dev_trained = calloc((size_t)d->n_devices + 1, 1);
    if (!r->dev_trained) return gp_errorf(err, "out of memory");
    for (int32_t j = 0; j < r->n_train_dev; j++) r->dev_trained[r->train_dev[j]] = 1;

    /* Split. */
    int rc;
    if (o->split_file) rc = split_from_file(&r->sp, d, o->split_file, err);
    else if (o->train_range || o->val_range || o->test_range)
        rc = split_ranges(&r->sp, d->graphs.n_graphs, o->train_range, o->val_range, o->test_range, err);
    else rc = split_random(&r->sp, d->graphs.n_graphs, o->val_frac, o->test_frac, o->seed, err);
    if (rc) return -1;
    fingerprint(r->fp, d);

    /* One epoch's training list: every training graph, repeated as asked. */
    int32_t *repeats = calloc((size_t)d->graphs.n_graphs + 1, sizeof(int32_t));
    if (!repeats) return gp_errorf(err, "out of memory");
    for (int64_t g = 0; g < d->graphs.n_graphs; g++) repeats[g] = 1;
    if (o->repeats_path && split_repeats_from_file(repeats, d, o->repeats_path, err) != 0) {
        free(repeats);
        return -1;
    }
    int64_t n_list = 0;
    r->max_repeats = 1;
    for (int64_t k = 0; k < r->sp.n[PART_TRAIN]; k++) {
        int32_t rp = repeats[r->sp.ids[PART_TRAIN][k]];
        n_list += rp;
        if (rp > r->max_repeats) r->max_repeats = rp;
    }
    r->epoch_list = malloc((size_t)(n_list + 1) * sizeof(int64_t));
    if (!r->epoch_list) {
        free(repeats);
        return gp_errorf(err, "out of memory");
    }
    for (int64_t k = 0; k < r->sp.n[PART_TRAIN]; k++)
        for (int32_t j = 0; j < repeats[r->sp.ids[PART_TRAIN][k]]; j++)
            r->epoch_list[r->n_epoch_list++] = r->sp.ids[PART_TRAIN][k];
    free(repeats);

    /* Descriptors, normalised over the trained devices only: a held-out
     * device is then read exactly as one added to the checkpoint later
     * (gnnadapt), and its values shape nothing it is scored on. --init
     * keeps its checkpoint's normalisation, which its weights were fitted
     * to, whatever subset this run trains. */
    int K = o->use_descriptors ? d->n_descriptors : 0;
    if (r->have_init && check_init(r, K, err) != 0) return -1;
    r->desc_mean = calloc((size_t)K + 1, sizeof(float));
    r->desc_std = calloc((size_t)K + 1, sizeof(float));
    r->desc_all = calloc((size_t)d->n_devices * K + 1, sizeof(float));
    r->desc_train = calloc((size_t)r->n_train_dev * K + 1, sizeof(float));
    r->desc_eval = calloc((size_t)r->n_eval_dev * K + 1, sizeof(float));
    if (!r->desc_mean || !r->desc_std || !r->desc_all || !r->desc_train || !r->desc_eval)
        return gp_errorf(err, "out of memory");
    if (K) {
        if (r->have_init) {
            memcpy(r->desc_mean, r->init.desc_mean, (size_t)K * sizeof(float));
            memcpy(r->desc_std, r->init.desc_std, (size_t)K * sizeof(float));
        } else {
            descriptor_stats(r->desc_mean, r->desc_std, d->descriptors, d->n_devices, K, r->dev_trained);
        }
        descriptor_normalise(r->desc_all, d->descriptors, d->n_devices, K, r->desc_mean, r->desc_std);
        for (int32_t j = 0; j < r->n_train_dev; j++)
            memcpy(r->desc_train + j * K, r->desc_all + r->train_dev[j] * K, (size_t)K * sizeof(float));
        for (int32_t j = 0; j < r->n_eval_dev; j++)
            memcpy(r->desc_eval + j * K, r->desc_all + r->eval_dev[j] * K, (size_t)K * sizeof(float));
    }

    if (setup_prior(r, err) != 0) return -1;
    batch_spec bs = {
        .max_batch_graphs = o->batch,
        .max_repeats = r->max_repeats,
        .train_graphs = r->sp.ids[PART_TRAIN],
        .n_train = r->sp.n[PART_TRAIN],
        .n_node_t = r->n_node_t,
        .n_graph_t = r->n_graph_t,
        .node_targets = r->node_t,
        .graph_targets = r->graph_t,
        .n_dev = r->n_train_dev,
        .model_dev = r->train_dev,
        .n_desc = K,
        .dev_desc = K ? r->desc_train : NULL,
        .prior = &o->prior,
        .prior_rates = r->prior_train,
        .node_prior_t = r->node_prior_t,
        .graph_prior_t = r->graph_prior_t,
    };
    if (r->have_init) {
        /* The first layer's weights read features scaled as the init run
         * scaled them: statistics of this run's training graphs would make
         * the starting model (the epoch-0 candidate) another model. */
        bs.feat_mean = r->init.feat_mean;
        bs.feat_std = r->init.feat_std;
        bs.node_mu = r->init.node_mu;
        bs.node_sigma = r->init.node_sigma;
        bs.graph_mu = r->init.graph_mu;
        bs.graph_sigma = r->init.graph_sigma;
    }
    if (batcher_init(&r->tb, d, &bs, err) != 0) return -1;
    if (r->have_init) {
        /* The batcher was given statistics, so it kept no maxima: gnnpredict
         * warns on inputs beyond what either run trained on. */
        const int F = r->tb.F;
        r->feat_max = malloc((size_t)F * sizeof(float));
        if (!r->feat_max) return gp_errorf(err, "out of memory");
        memcpy(r->feat_max, r->init.feat_max, (size_t)F * sizeof(float));
        for (int64_t k = 0; k < r->sp.n[PART_TRAIN]; k++) {
            int64_t g = r->sp.ids[PART_TRAIN][k];
            for (int64_t v = d->graphs.node_off[g]; v < d->graphs.node_off[g + 1]; v++)
                for (int j = 0; j < F; j++) {
                    float raw = r->tb.features[v * F + j] * r->tb.feat_std[j] + r->tb.feat_mean[j];
                    if (raw > r->feat_max[j]) r->feat_max[j] = raw;
                }
        }
    }
    /* The evaluation batcher reuses the training statistics and never
     * sees a graph twice in a batch. */
    bs.max_repeats = 1;
    bs.feat_mean = r->tb.feat_mean;
    bs.feat_std = r->tb.feat_std;
    bs.node_mu = r->tb.node_mu;
    bs.node_sigma = r->tb.node_sigma;
    bs.graph_mu = r->tb.graph_mu;
    bs.graph_sigma = r->tb.graph_sigma;
    bs.n_dev = r->n_eval_dev;
    bs.model_dev = r->eval_dev;
    bs.dev_desc = K ? r->desc_eval : NULL;
    bs.prior_rates = r->prior_eval;
    if (batcher_init(&r->eb, d, &bs, err) != 0) return -1;

    model_config cfg = o->model;
    cfg.in_dim = featurize_dim();
    cfg.n_devices = d->n_devices;
    cfg.n_descriptors = K;
    cfg.n_node_targets = r->n_node_t;
    cfg.n_graph_targets = r->n_graph_t;
    model_limits lim = r->tb.lim;
    if (r->eb.lim.max_nodes > lim.max_nodes) lim.max_nodes = r->eb.lim.max_nodes;
    if (r->eb.lim.max_edges > lim.max_edges) lim.max_edges = r->eb.lim.max_edges;
    if (r->eb.lim.max_graphs > lim.max_graphs) lim.max_graphs = r->eb.lim.max_graphs;
    if (r->eb.lim.max_devices > lim.max_devices) lim.max_devices = r->eb.lim.max_devices;
    if (model_build(&r->m, &cfg, &lim, err) != 0) return -1;
    model_prepare_training(&r->m);
    /* An additive readout sums node costs, so with every score at 0 a graph
     * would start at (its node count) x (a typical graph's latency). Start
     * each node at a typical graph's share instead: ln(mean training graph
     * size) off the head's bias. A target with a prior needs no shift: its
     * nodes' prior shares sum to 1. */
    if (r->have_init) {
        if (WATCHED(o->init_path, checkpoint_read_params(o->init_path, &r->m.params, 0, err)) != 0) return -1;
    } else if (cfg.pool == POOL_ADDITIVE && cfg.n_graph_targets && r->sp.n[PART_TRAIN] > 0) {
        double nodes = 0.0;
        int64_t n_train = r->sp.n[PART_TRAIN];
        for (int64_t k = 0; k < n_train; k++) nodes += (double)graph_nodes_in(&d->graphs, r->sp.ids[PART_TRAIN][k]);
        float *b2 = param_value(&r->m.params, r->m.gh_b2);
        for (int t = 0; t < cfg.n_graph_targets; t++)
            if (!r->tb.graph_use_prior[t])
                b2[t] -= (float)(log(nodes / (double)n_train) / r->tb.graph_sigma[t]);
    }
    model_neutral_device_rows(&r->m, r->dev_trained);
    r->best_params = malloc((size_t)r->m.params.size * sizeof(float));
    if (!r->best_params) return gp_errorf(err, "out of memory");
    memcpy(r->best_params, r->m.params.value, (size_t)r->m.params.size * sizeof(float));

    cJSON *j = train_options_json(o);
    /* the split itself, not only the options that made it: a split file
     * rewritten under the same name is another split */
    char digest[24];
    snprintf(digest, sizeof digest, "%016llx", (unsigned long long)split_digest(&r->sp));
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(j, "split"), "digest", digest);
    r->run_config = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (r->have_init) warn_if_split_differs(r);
    return 0;
}

/* Mean MAPE over the graph targets' columns (node targets when there are
 * none), for the progress line. */
/* The CSV of --predictions (infer/report.h), written atomically. */
static int write_predictions(const char *path, const dataset *d, const predictions *p, const report_names *names,
                             gp_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (mf) {
        report_write_csv(mf, d, p, names);
        fclose(mf);
    }
    int rc = buf ? atomic_file_write_text(path, buf, err) : gp_errorf(err, "out of memory");
    free(buf);
    return rc;
}

static void json_number(char *buf, size_t n, double v)
{
    if (isfinite(v)) snprintf(buf, n, "%.6g", v);
    else snprintf(buf, n, "null");
}

static double headline_mape(const predictions *p)
{
    int graph = p->Tg > 0;
    int T = graph ? p->Tg : p->Tn;
    double s = 0;
    int n = 0;
    for (int t = 0; t < T; t++)
        for (int32_t dv = 0; dv < p->n_dev; dv++) {
            metrics m;
            if (report_column(&m, p, graph, t, dv) > 0 && !isnan(m.mape)) {
                s += m.mape;
                n++;
            }
        }
    return n ? s / n : NAN;
}

static void format_eta(char *buf, size_t n, double s)
{
    if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

int main(int argc, char **argv)
{
    watchdog_program("gnntrain");
    run r;
    memset(&r, 0, sizeof r);
    int prc = train_options_parse(&r.opt, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    train_options *o = &r.opt;
    gp_error err = {{0}};
    /* Before any work: a run of minutes must not end in "cannot write", nor
     * replace a dataset named as its output. */
    snprintf(r.state_path, sizeof r.state_path, "%s.state.h5", o->output);
    const char *inputs[TRAIN_MAX_LIST + 3];
    int n_in = 0;
    for (int k = 0; k < o->n_datasets; k++) inputs[n_in++] = o->datasets[k];
    inputs[n_in++] = o->init_path;
    inputs[n_in++] = o->split_file;
    inputs[n_in++] = o->repeats_path;
    const output_slot outs[] = {{o->output, "-o", 0, 1},
                                {r.state_path, "-o (its .state.h5)", 0, 1},
                                {o->log_path, "--log", 1, 0},
                                {o->metrics_path, "--metrics", 0, 0},
                                {o->predictions_path, "--predictions", 0, 0}};
    int orc = output_check(outs, (int)(sizeof outs / sizeof outs[0]), inputs, n_in, &err);
    if (orc) {
        fprintf(stderr, "gnntrain: error: %s\n", err.msg);
        return orc == OUTPUT_CONFLICT ? 2 : 1;
    }
    kernels_init(o->threads);
    if (setup(&r, &err) != 0) {
        run_free(&r);
        return die(&err, NULL);
    }
    int64_t n_train = r.sp.n[PART_TRAIN], n_val = r.sp.n[PART_VAL], n_test = r.sp.n[PART_TEST];
    /* Whether validation chooses the kept epoch: not when its graphs have no
     * label on the trained devices (they are still evaluated at the end, on
     * every device asked for). */
    int val_decides = n_val > 0;
    int64_t n_epoch = r.n_epoch_list; /* n_train, or more with --graph-repeats */
    int64_t batches_per_epoch = (n_epoch + o->batch - 1) / o->batch;
    o->adam.total_steps = batches_per_epoch * o->epochs;

    int64_t step = 0, start_epoch = 0, best_epoch = -1;
    double best = INFINITY;
    if (o->resume) {
        checkpoint_meta meta;
        if (WATCHED(r.state_path, checkpoint_read_meta(r.state_path, &meta, &err)) != 0) {
            run_free(&r);
            return die(&err, "--resume needs the .state.h5 file a previous gnntrain run with the same -o wrote");
        }
        int same = same_run_config(meta.run_config, r.run_config) && meta.fingerprint &&
                   !strcmp(meta.fingerprint, r.fp);
        step = meta.step;
        start_epoch = meta.epoch;
        best_epoch = meta.best_epoch;
        best = meta.best_val;
        checkpoint_meta_free(&meta);
        if (!same) {
            gp_errorf(&err, "%s: saved with other options or data than this run", r.state_path);
            run_free(&r);
            return die(&err, "resume with exactly the same command line and datasets");
        }
        if (WATCHED(r.state_path, checkpoint_read_params(r.state_path, &r.m.params, 1, &err)) != 0 ||
            ((best_epoch >= 0 || (r.have_init && isfinite(best))) &&
             WATCHED(o->output, checkpoint_read_params(o->output, &r.m.params, 0, &err)) != 0)) {
            run_free(&r);
            return die(&err, NULL);
        }
        /* The output holds the best parameters: keep them, then restore the
         * latest state. */
        memcpy(r.best_params, r.m.params.value, (size_t)r.m.params.size * sizeof(float));
        if (WATCHED(r.state_path, checkpoint_read_params(r.state_path, &r.m.params, 1, &err)) != 0) {
            run_free(&r);
            return die(&err, NULL);
        }
        if (!o->quiet)
            fprintf(stderr, "gnntrain: resuming after epoch %lld (step %lld, best %.5g at epoch %lld)\n",
                    (long long)start_epoch, (long long)step, best, (long long)best_epoch + 1);
    }
    if (o->log_path) {
        r.log = fopen(o->log_path, o->resume ? "a" : "w");
        if (!r.log) {
            gp_errorf(&err, "%s: cannot write the log", o->log_path);
            run_free(&r);
            return die(&err, NULL);
        }
    }
    if (!o->quiet) {
        fprintf(stderr,
                "gnntrain: %lld graphs (%lld train, %lld val, %lld test), %d train devices, %d evaluated; %d node "
                "and %d graph targets; model %s x%d, hidden %d, %lld parameters\n",
                (long long)r.data.graphs.n_graphs, (long long)n_train, (long long)n_val, (long long)n_test,
                r.n_train_dev, r.n_eval_dev, r.n_node_t, r.n_graph_t, layer_type_name(r.m.cfg.layer),
                r.m.cfg.n_layers, r.m.cfg.hidden, (long long)params_total(&r.m.params));
    }

    int64_t *order = malloc((size_t)(n_epoch + 1) * sizeof(int64_t));
    predict_options po = {o->batch, 0, o->loss_kind, o->node_weight, o->graph_weight};
    /* Fine-tuning starts from a model worth keeping: it is the best so far
     * (epoch 0, written as the output) until an epoch beats it on
     * validation, so a device whose labels the copy cannot learn better
     * keeps what the shared model predicted. */
    if (r.have_init && val_decides && !o->resume) {
        predictions p;
        if (predict_run(&p, &r.m, &r.tb, r.sp.ids[PART_VAL], n_val, &po, &err) != 0) {
            free(order);
            run_free(&r);
            return die(&err, NULL);
        }
        best = p.loss;
        int64_t labelled = p.n_labelled;
        predictions_free(&p);
        if (labelled == 0) {
            warn_unlabelled_validation(n_val);
            val_decides = 0;
            best = INFINITY;
        }
    }
    if (r.have_init && val_decides && !o->resume) {
        checkpoint_meta meta;
        make_meta(&meta, &r, 0, 0, -1, best);
        if (checkpoint_write(o->output, &meta, &r.m.params, 0, &err) != 0) {
            free(order);
            run_free(&r);
            return die(&err, NULL);
        }
        if (!o->quiet) fprintf(stderr, "gnntrain: --init model, validation loss %.4f (epoch 0)\n", best);
    }
    double t_start = now_s();
    int stopped_early = 0;
    int rc = 0;
    for (int64_t epoch = start_epoch; epoch < o->epochs && rc == 0; epoch++) {
        double t0 = now_s();
        memcpy(order, r.epoch_list, (size_t)n_epoch * sizeof(int64_t));
        rng g;
        rng_seed(&g, o->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)epoch + 1);
        rng_shuffle(&g, order, n_epoch);
        double loss_sum = 0;
        for (int64_t b0 = 0; b0 < n_epoch; b0 += o->batch) {
            int64_t cnt = n_epoch - b0 < o->batch ? n_epoch - b0 : o->batch;
            gnn_batch gb;
            batcher_fill(&r.tb, order + b0, cnt, &gb);
            if (model_forward(&r.m, &gb, &err) != 0) {
                rc = -1;
                break;
            }
            double L = 0;
            if (r.n_node_t)
                L += loss_term(r.m.d_node_out, NULL, r.m.node_out, r.tb.node_y, gb.n_nodes * gb.n_dev, r.n_node_t,
                               r.tb.node_sigma, o->loss_kind, o->node_weight);
            if (r.n_graph_t)
                L += loss_term(r.m.d_graph_out, NULL, r.m.graph_out, r.tb.graph_y, cnt * gb.n_dev, r.n_graph_t,
                               r.tb.graph_sigma, o->loss_kind, o->graph_weight);
            loss_sum += L;
            params_zero_grad(&r.m.params);
            model_backward(&r.m, &gb);
            grad_clip(&r.m.params, o->adam.clip_norm);
            step++;
            adam_step(&r.m.params, &o->adam, step, adam_lr_at(&o->adam, step));
            model_neutral_device_rows(&r.m, r.dev_trained); /* held-out rows: what the checkpoints keep */
        }
        if (rc) break;
        double train_s = now_s() - t0;
        double train_loss = loss_sum / (double)batches_per_epoch;

        /* Validation on the training devices; without validation graphs the
         * training loss decides what is "best". */
        double val_loss = train_loss, val_mape = NAN;
        if (val_decides) {
            predictions p;
            if (predict_run(&p, &r.m, &r.tb, r.sp.ids[PART_VAL], n_val, &po, &err) != 0) {
                rc = -1;
                break;
            }
            if (p.n_labelled == 0) {
                warn_unlabelled_validation(n_val);
                val_decides = 0;
            } else {
                val_loss = p.loss;
                val_mape = headline_mape(&p);
            }
            predictions_free(&p);
        }
        int improved = val_loss < best;
        if (improved) {
            best = val_loss;
            best_epoch = epoch;
            memcpy(r.best_params, r.m.params.value, (size_t)r.m.params.size * sizeof(float));
            checkpoint_meta meta;
            make_meta(&meta, &r, step, epoch + 1, best_epoch, best);
            if (checkpoint_write(o->output, &meta, &r.m.params, 0, &err) != 0) {
                rc = -1;
                break;
            }
        }
        checkpoint_meta meta;
        make_meta(&meta, &r, step, epoch + 1, best_epoch, best);
        if (checkpoint_write(r.state_path, &meta, &r.m.params, 1, &err) != 0) {
            rc = -1;
            break;
        }
        double elapsed = now_s() - t_start;
        double per_epoch = elapsed / (double)(epoch + 1 - start_epoch);
        char eta[32];
        format_eta(eta, sizeof eta, per_epoch * (double)(o->epochs - epoch - 1));
        double gps = (double)n_epoch / train_s;
        /* Without validation the "best" epoch is the one with the lowest
         * training loss, and the line says so rather than print that loss
         * again under "val". */
        char val_text[64];
        if (val_decides)
            snprintf(val_text, sizeof val_text, "val %.4f  val MAPE %6.2f%%", val_loss, val_mape);
        else
            snprintf(val_text, sizeof val_text, "(no validation: train loss decides)");
        if (!o->quiet)
            fprintf(stderr, "epoch %4lld/%d  train %.4f  %s  %7.0f graphs/s  ETA %s%s\n", (long long)epoch + 1,
                    o->epochs, train_loss, val_text, gps, eta, improved ? "  *" : "");
        if (r.log) {
            /* JSON has no NaN: a missing or diverged value is null */
            char tl[32], vl[32], vm[32];
            json_number(tl, sizeof tl, train_loss);
            json_number(vl, sizeof vl, val_decides ? val_loss : NAN);
            json_number(vm, sizeof vm, val_decides ? val_mape : NAN);
            fprintf(r.log,
                    "{\"epoch\": %lld, \"step\": %lld, \"lr\": %.6g, \"train_loss\": %s, \"val_loss\": %s, "
                    "\"val_mape\": %s, \"decided_by\": \"%s\", \"graphs_per_s\": %.1f, \"elapsed_s\": %.2f, "
                    "\"best\": %s}\n",
                    (long long)epoch + 1, (long long)step, adam_lr_at(&o->adam, step), tl, vl, vm,
                    val_decides ? "val_loss" : "train_loss", gps, elapsed, improved ? "true" : "false");
            fflush(r.log);
        }
        if (o->stop_after && epoch + 1 - start_epoch >= o->stop_after && epoch + 1 < o->epochs) {
            /* As if killed right after this epoch's checkpoints: no test. */
            free(order);
            run_free(&r);
            return 0;
        }
        if (o->patience > 0 && epoch - best_epoch >= o->patience) {
            stopped_early = 1;
            if (!o->quiet)
                fprintf(stderr, "gnntrain: no validation gain for %d epochs; stopping (best epoch %lld)\n",
                        o->patience, (long long)best_epoch + 1);
            break;
        }
    }
    free(order);
    if (rc) {
        run_free(&r);
        return die(&err, NULL);
    }
    (void)stopped_early;
    if (val_decides && start_epoch >= o->epochs) {
        /* A resumed run with no epoch left never looked at the validation
         * labels: whether they decided is still to be told. */
        predictions p;
        if (predict_run(&p, &r.m, &r.tb, r.sp.ids[PART_VAL], n_val, &po, &err) != 0) {
            run_free(&r);
            return die(&err, NULL);
        }
        val_decides = p.n_labelled > 0;
        predictions_free(&p);
    }

    /* Test with the best parameters on every evaluated device. */
    memcpy(r.m.params.value, r.best_params, (size_t)r.m.params.size * sizeof(float));
    const int64_t *eval_ids = n_test ? r.sp.ids[PART_TEST] : r.sp.ids[PART_VAL];
    int64_t n_eval = n_test ? n_test : n_val;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "checkpoint", o->output);
    cJSON_AddStringToObject(out, "evaluated_on", n_test ? "test" : n_val ? "val" : "none");
    cJSON_AddNumberToObject(out, "best_epoch", (double)best_epoch + 1);
    cJSON_AddNumberToObject(out, "best_val_loss", best);
    cJSON_AddStringToObject(out, "decided_by", val_decides ? "val_loss" : "train_loss");
    if (n_eval > 0) {
        predictions p;
        if (predict_run(&p, &r.m, &r.eb, eval_ids, n_eval, &po, &err) != 0) {
            cJSON_Delete(out);
            run_free(&r);
            return die(&err, NULL);
        }
        char *dev_names[TRAIN_MAX_LIST * 4];
        char *ntn[BATCH_MAX_TARGETS], *ntu[BATCH_MAX_TARGETS], *gtn[BATCH_MAX_TARGETS], *gtu[BATCH_MAX_TARGETS];
        for (int32_t j = 0; j < r.n_eval_dev; j++) dev_names[j] = r.data.device_names[r.eval_dev[j]];
        for (int k = 0; k < r.n_node_t; k++) {
            ntn[k] = r.data.targets[r.node_t[k]].name;
            ntu[k] = r.data.targets[r.node_t[k]].unit;
        }
        for (int k = 0; k < r.n_graph_t; k++) {
            gtn[k] = r.data.targets[r.graph_t[k]].name;
            gtu[k] = r.data.targets[r.graph_t[k]].unit;
        }
        report_names names = {dev_names, ntn, ntu, gtn, gtu};
        char title[128];
        snprintf(title, sizeof title, "%s graphs (%lld), best epoch %lld", n_test ? "test" : "validation",
                 (long long)n_eval, (long long)best_epoch + 1);
        cJSON *rows = report_metrics(o->quiet ? NULL : stdout, title, &p, &names);
        cJSON_AddItemToObject(out, "metrics", rows);
        if (!o->quiet && r.n_eval_dev > r.n_train_dev) {
            /* their rows are zero-shot figures, not the model's accuracy on what it learned */
            printf("  held out from training (predicted zero-shot):");
            for (int32_t j = 0; j < r.n_eval_dev; j++)
                if (!r.dev_trained[r.eval_dev[j]]) printf(" %s", dev_names[j]);
            printf("\n");
        }
        if (o->predictions_path && write_predictions(o->predictions_path, &r.data, &p, &names, &err) != 0) {
            predictions_free(&p);
            cJSON_Delete(out);
            run_free(&r);
            return die(&err, NULL);
        }
        predictions_free(&p);
    } else {
        /* Nothing to evaluate (no validation or test part): the outputs
         * asked for are still written, empty, rather than left out. */
        if (!o->quiet) fprintf(stderr, "gnntrain: no validation or test graphs: nothing evaluated\n");
        cJSON_AddItemToObject(out, "metrics", cJSON_CreateArray());
        predictions none;
        memset(&none, 0, sizeof none);
        report_names names;
        memset(&names, 0, sizeof names);
        if (o->predictions_path && write_predictions(o->predictions_path, &r.data, &none, &names, &err) != 0) {
            cJSON_Delete(out);
            run_free(&r);
            return die(&err, NULL);
        }
    }
    if (o->metrics_path) {
        char *text = cJSON_Print(out);
        int wrc = text ? atomic_file_write_text(o->metrics_path, text, &err) : gp_errorf(&err, "out of memory");
        free(text);
        if (wrc != 0) {
            cJSON_Delete(out);
            run_free(&r);
            return die(&err, NULL);
        }
    }
    cJSON_Delete(out);
    if (!o->quiet) fprintf(stderr, "gnntrain: best checkpoint %s (epoch %lld)\n", o->output, (long long)best_epoch + 1);
    run_free(&r);
    return 0;
}
