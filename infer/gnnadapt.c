/* gnnadapt: few-shot transfer of a trained model to a new device.
 *
 * Given a checkpoint trained on source devices and a dataset with K
 * measured graphs of a new device, fit the new device's embedding (method
 * "embedding") or the embedding and both heads ("heads") with everything
 * else frozen, and write a checkpoint that knows the device. Method
 * "stack" fits, for whole-graph targets, a ridge regression on the source
 * devices' predictions, the graph's cost totals and op counts (gnn/stack.h),
 * stored in the checkpoint, and the embedding as "embedding" does when the
 * model has per-node targets. Method "blend" does both "heads" and "stack"
 * and predicts whole graphs by a weighted geometric mean of the two, the
 * weight chosen by cross-validation on the shots (infer/adapt_fit.h). The device's
 * remaining labelled graphs in the dataset are the test set: the metrics
 * table reports them. The other route, a ridge head on exported graph
 * embeddings, is scripts/ridge_head.py. Exit status: 0 ok, 1 bad data,
 * 2 bad command line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/atomic_file.h"
#include "../common/output_check.h"
#include "../common/watchdog.h"
#include "../common/rng.h"
#include "../datasets/batch.h"
#include "../gnn/checkpoint.h"
#include "../gnn/optim.h"
#include "../gnn/predict.h"
#include "../graph/featurize.h"
#include "adapt_fit.h"
#include "from_checkpoint.h"
#include "report.h"

static const char USAGE[] =
    "usage: gnnadapt CHECKPOINT.h5 DATASET.h5 --device NAME -o NEW.h5 [options]\n"
    "\n"
    "Adapt a trained model to device NAME from a few of its measured graphs in\n"
    "DATASET.h5, and report accuracy on its other labelled graphs.\n"
    "\n"
    "  --device NAME        the new device (a device of DATASET.h5 with labels)\n"
    "  --shots K            measured graphs to adapt from, drawn with --seed (default 10)\n"
    "  --shot-graphs LIST   or name them: comma-separated graph names\n"
    "  --test-graphs LIST   test on these graphs only (comma-separated names;\n"
    "                       default: every other graph labelled on the device)\n"
    "  --method M           embedding (default): fit only the device's embedding;\n"
    "                       heads: the embedding and both prediction heads;\n"
    "                       stack: for whole-graph targets, a ridge regression on the\n"
    "                       trained devices' predictions, the graph's FLOPs, bytes and op\n"
    "                       counts, plus the embedding for per-node targets (3 shots at\n"
    "                       least; 10 or more to be useful)\n"
    "                       blend: heads and stack, whole-graph predictions their weighted\n"
    "                       geometric mean, the weight chosen by 5-fold cross-validation\n"
    "                       on the shots (5+ shots; six fits of the heads)\n"
    "  --steps N            optimizer steps (default 300)   --lr X (default 0.01)\n"
    "  --anchor W           heads and blend methods: pull the heads toward the trained\n"
    "                       model's with weight W (an L2 penalty on the change; default 0 =\n"
    "                       none; the embedding and stack methods fit no heads)\n"
    "  --seed N             (default 1)\n"
    "  --metrics FILE       the test metrics as JSON\n"
    "  --threads N          (default: all cores)\n"
    "  -q, --quiet\n"
    "Environment: GNNPERF_LOAD_TIMEOUT=SECONDS stops the run when reading one dataset or checkpoint\n"
    "takes longer (default 60 s plus 1 s per MB; 0: never), as a corrupt file can make libhdf5 loop\n"
    "forever (exit status 1); a crash while reading one exits with status 3.\n";

typedef struct opts {
    const char *checkpoint, *dataset, *device, *output, *shot_graphs, *test_graphs, *metrics, *method;
    int shots, steps, heads, stack, blend, threads, quiet;
    float lr, anchor;
    uint64_t seed;
} opts;

static int usage_error(const char *fmt, const char *a)
{
    fprintf(stderr, "gnnadapt: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\nRun 'gnnadapt --help' for usage.\n");
    return 2;
}

static int parse(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->shots = 10;
    o->steps = 300;
    o->lr = 0.01f;
    o->anchor = 0.0f;
    o->seed = 1;
    o->method = "embedding";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        int takes = !strcmp(a, "--device") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
                    !strcmp(a, "--shots") || !strcmp(a, "--shot-graphs") || !strcmp(a, "--test-graphs") ||
                    !strcmp(a, "--method") ||
                    !strcmp(a, "--steps") || !strcmp(a, "--lr") || !strcmp(a, "--seed") || !strcmp(a, "--anchor") ||
                    !strcmp(a, "--metrics") || !strcmp(a, "--threads");
        if (takes) {
            if (!v) return usage_error("%s needs a value", a);
            i++;
            char *end;
            if (!strcmp(a, "--device")) o->device = v;
            else if (!strcmp(a, "-o") || !strcmp(a, "--output")) o->output = v;
            else if (!strcmp(a, "--shot-graphs")) o->shot_graphs = v;
            else if (!strcmp(a, "--test-graphs")) o->test_graphs = v;
            else if (!strcmp(a, "--metrics")) o->metrics = v;
            else if (!strcmp(a, "--method")) {
                o->method = v;
                o->blend = !strcmp(v, "blend");
                o->heads = !strcmp(v, "heads") || o->blend;
                o->stack = !strcmp(v, "stack") || o->blend;
                if (!o->heads && !o->stack && strcmp(v, "embedding"))
                    return usage_error("--method: '%s' is not embedding, heads, stack or blend", v);
            } else if (!strcmp(a, "--lr")) {
                o->lr = strtof(v, &end);
                if (*end || !(o->lr > 0 && o->lr < 10)) return usage_error("--lr: '%s' is not a rate", v);
            } else if (!strcmp(a, "--anchor")) {
                o->anchor = strtof(v, &end);
                if (*end || end == v || !(o->anchor >= 0 && o->anchor < 1e6))
                    return usage_error("--anchor: '%s' is not a non-negative weight", v);
            } else if (!strcmp(a, "--seed")) {
                o->seed = strtoull(v, &end, 10);
                if (*end || end == v) return usage_error("--seed: '%s' is not an integer", v);
            } else {
                long n = strtol(v, &end, 10);
                if (*end || end == v || n < 0 || n > 100000000) return usage_error("%s: expected a count", a);
                if (!strcmp(a, "--shots")) o->shots = (int)n;
                else if (!strcmp(a, "--steps")) o->steps = (int)n;
                else o->threads = (int)n;
            }
            continue;
        }
        if (a[0] == '-' && a[1]) return usage_error("unknown option '%s'", a);
        if (!o->checkpoint) o->checkpoint = a;
        else if (!o->dataset) o->dataset = a;
        else return usage_error("unexpected argument '%s'", a);
    }
    if (!o->checkpoint || !o->dataset) return usage_error("%s", "needs CHECKPOINT.h5 and DATASET.h5");
    if (!o->device) return usage_error("%s", "--device NAME is required");
    if (!o->output) return usage_error("%s", "-o NEW.h5 is required");
    if (o->shots < 1 && !o->shot_graphs) return usage_error("%s", "--shots must be at least 1");
    if (o->blend && !o->shot_graphs && o->shots < ADAPT_BLEND_MIN_SHOTS) {
        char msg[96];
        snprintf(msg, sizeof msg, "--method blend is chosen by cross-validation and needs --shots %d or more",
                 ADAPT_BLEND_MIN_SHOTS);
        return usage_error("%s", msg);
    }
    return 0;
}

static int fail(const gp_error *err, const char *hint)
{
    fprintf(stderr, "gnnadapt: error: %s\n", err->msg);
    if (hint) fprintf(stderr, "hint: %s\n", hint);
    return 1;
}

/* Copies every tensor of src into dst by name; the device embedding gets
 * the old rows, and every device without labels (a new last row, a device
 * held out in training) the mean of the trained rows. */
static void copy_params(model *dst, const model *src, const int8_t *trained_new)
{
    for (int i = 0; i < src->params.n_tensors; i++) {
        const param_tensor *t = &src->params.t[i];
        int j = params_find(&dst->params, t->name);
        memcpy(param_value(&dst->params, j), param_value(&src->params, i),
               (size_t)param_count(&src->params, i) * sizeof(float));
    }
    model_neutral_device_rows(dst, trained_new);
}

/* The stack of methods "stack" and "blend" (gnn/stack.h) for the shots,
 * unfitted, and its labels Y (n_shots x graph targets) from the dataset's
 * column col. Sources are the devices the checkpoint was trained on, less
 * the new device and a device calibrated by an earlier stack (its graph
 * predictions are not the model's). */
static graph_stack *stack_setup(const opts *o, const checkpoint_meta *meta, const dataset *d, const int *graph_t,
                                int32_t col, const int64_t *shots, int64_t n_shots, double **Y_out, gp_error *err)
{
    const int Tg = meta->n_graph_t;
    *Y_out = NULL;
    if (Tg == 0) {
        gp_errorf(err, "%s: --method %s calibrates whole-graph targets and the model has none", o->checkpoint,
                  o->method);
        return NULL;
    }
    int32_t *src = malloc((size_t)(meta->n_devices + 1) * sizeof(int32_t)), n_src = 0;
    double *Y = malloc((size_t)(n_shots * Tg + 1) * sizeof(double));
    graph_stack *s = NULL;
    if (!src || !Y) {
        gp_errorf(err, "out of memory");
        goto fail;
    }
    for (int32_t k = 0; k < meta->n_devices; k++)
        if (meta->dev_trained[k] && strcmp(meta->device_names[k], o->device) &&
            !(meta->stack && !strcmp(meta->stack->device, meta->device_names[k])) &&
            (!meta->dev_source_heads || meta->dev_source_heads[k]))
            src[n_src++] = k;
    if (n_src == 0) {
        gp_errorf(err, "%s: --method %s needs a model trained on at least one device besides '%s'", o->checkpoint,
                  o->method, o->device);
        goto fail;
    }
    if (!(s = stack_create(o->device, src, n_src, Tg))) {
        gp_errorf(err, "out of memory");
        goto fail;
    }
    if (stack_choose_classes(s, &d->graphs, shots, n_shots, err) != 0) goto fail;
    for (int64_t i = 0; i < n_shots; i++)
        for (int t = 0; t < Tg; t++)
            Y[i * Tg + t] = graph_t[t] >= 0 ? d->targets[graph_t[t]].values[shots[i] * d->n_devices + col] : NAN;
    free(src);
    *Y_out = Y;
    return s;
fail:
    free(src);
    free(Y);
    stack_free(s);
    return NULL;
}

int main(int argc, char **argv)
{
    watchdog_program("gnnadapt");
    opts o;
    int prc = parse(&o, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    gp_error err = {{0}};
    {
        /* before the adaptation's work, as its outputs are written after it */
        const char *inputs[] = {o.checkpoint, o.dataset};
        const output_slot outs[] = {{o.output, "-o", 0, 1}, {o.metrics, "--metrics", 0, 0}};
        int orc = output_check(outs, 2, inputs, 2, &err);
        if (orc) {
            fprintf(stderr, "gnnadapt: error: %s\n", err.msg);
            return orc == OUTPUT_CONFLICT ? 2 : 1;
        }
    }
    kernels_init(o.threads);
    const char *hint = NULL;
    checkpoint_meta meta;
    dataset d;
    model old_m, m;
    batcher b;
    predictions p;
    memset(&meta, 0, sizeof meta);
    memset(&old_m, 0, sizeof old_m);
    memset(&m, 0, sizeof m);
    memset(&b, 0, sizeof b);
    memset(&p, 0, sizeof p);
    dataset_init(&d);
    int rc = 1;
    int64_t *shots = NULL, *rest = NULL;
    float *desc_norm = NULL;
    char **names_grown = NULL;
    int8_t *trained_grown = NULL, *heads_grown = NULL; /* heads_grown: the output's dev_source_heads */
    source_heads kept;                   /* the output's source heads, when this run makes them */
    memset(&kept, 0, sizeof kept);
    double *desc_grown = NULL, *rates_grown = NULL;
    double prior_rate[2];
    graph_stack *stack = NULL;
    unsigned char node_pf[BATCH_MAX_TARGETS], graph_pf[BATCH_MAX_TARGETS];
    batcher b_src;                       /* the stack's source devices */
    memset(&b_src, 0, sizeof b_src);
    int32_t *src_data = NULL;
    float *src_desc = NULL;
    double *src_rates = NULL, *Y = NULL;
    unsigned char src_node_pf[BATCH_MAX_TARGETS], src_graph_pf[BATCH_MAX_TARGETS];

    if (WATCHED(o.checkpoint, checkpoint_read_meta(o.checkpoint, &meta, &err)) != 0) goto done;
    if (WATCHED(o.dataset, dataset_read_h5(&d, o.dataset, &err)) != 0) goto done;
    int32_t col = -1;
    for (int32_t k = 0; k < d.n_devices; k++)
        if (!strcmp(d.device_names[k], o.device)) col = k;
    if (col < 0) {
        gp_errorf(&err, "%s: no device named '%s' (the dataset must hold its measurements)", o.dataset, o.device);
        goto done;
    }

    /* The device's id: its old row when the checkpoint already lists it
     * (held out in training), else a new last row. */
    int32_t n_old = meta.n_devices, id = -1;
    for (int32_t k = 0; k < n_old; k++)
        if (!strcmp(meta.device_names[k], o.device)) id = k;
    if (id >= 0 && meta.dev_trained[id] && !o.quiet)
        fprintf(stderr, "gnnadapt: note: the model was already trained on '%s'; adapting it further\n", o.device);
    int grow = id < 0;
    if (grow) id = n_old;

    /* Which targets the dataset labels for this device. */
    int node_t[BATCH_MAX_TARGETS], graph_t[BATCH_MAX_TARGETS];
    if (checkpoint_targets_in(&meta, &d, node_t, graph_t, &err) != 0) {
        gp_error_prefix(&err, "%s", o.checkpoint);
        goto done;
    }
    /* A graph is labelled when any of its graph targets, or any target of
     * one of its nodes, has a value on the device. */
    int64_t G = d.graphs.n_graphs, n_lab = 0;
    int64_t *labelled = malloc((size_t)(G + 1) * sizeof(int64_t));
    shots = malloc((size_t)(G + 1) * sizeof(int64_t));
    rest = malloc((size_t)(G + 1) * sizeof(int64_t));
    if (!labelled || !shots || !rest) {
        free(labelled);
        gp_errorf(&err, "out of memory");
        goto done;
    }
    int8_t *is_labelled = calloc((size_t)G + 1, 1);
    if (!is_labelled) {
        free(labelled);
        gp_errorf(&err, "out of memory");
        goto done;
    }
    for (int64_t g = 0; g < G; g++) {
        int has = 0;
        for (int t = 0; t < meta.n_graph_t && !has; t++)
            has = graph_t[t] >= 0 && !isnan(d.targets[graph_t[t]].values[g * d.n_devices + col]);
        for (int t = 0; t < meta.n_node_t && !has; t++)
            for (int64_t v = d.graphs.node_off[g]; node_t[t] >= 0 && v < d.graphs.node_off[g + 1] && !has; v++)
                has = !isnan(d.targets[node_t[t]].values[v * d.n_devices + col]);
        if (has) labelled[n_lab++] = g;
        is_labelled[g] = (int8_t)has;
    }
    int64_t n_shots = 0, n_rest = 0;
    if (o.shot_graphs) {
        char *list = strdup(o.shot_graphs);
        int8_t *is_shot = calloc((size_t)G + 1, 1);
        if (!list || !is_shot) {
            free(list);
            free(is_shot);
            free(labelled);
            free(is_labelled);
            gp_errorf(&err, "out of memory");
            goto done;
        }
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            int64_t g = graph_set_find(&d.graphs, tok);
            if (g < 0 || !is_labelled[g]) {
                gp_errorf(&err, g < 0 ? "%s: --shot-graphs: no graph named '%s'"
                                      : "%s: --shot-graphs: graph '%s' has no label on device '%s'",
                          o.dataset, tok, o.device);
                free(list);
                free(is_shot);
                free(labelled);
                free(is_labelled);
                goto done;
            }
            if (!is_shot[g]) shots[n_shots++] = g;
            is_shot[g] = 1;
        }
        for (int64_t k = 0; k < n_lab; k++)
            if (!is_shot[labelled[k]]) rest[n_rest++] = labelled[k];
        free(list);
        free(is_shot);
        if (n_shots == 0) {
            gp_errorf(&err, "--shot-graphs names no graph");
            free(labelled);
            free(is_labelled);
            goto done;
        }
    } else {
        if (n_lab <= o.shots) {
            gp_errorf(&err, "%s: device '%s' has %lld labelled graphs; --shots %d leaves none to test on", o.dataset,
                      o.device, (long long)n_lab, o.shots);
            free(labelled);
            free(is_labelled);
            goto done;
        }
        rng r;
        rng_seed(&r, o.seed);
        rng_shuffle(&r, labelled, n_lab);
        n_shots = o.shots;
        memcpy(shots, labelled, (size_t)n_shots * sizeof(int64_t));
        n_rest = n_lab - n_shots;
        memcpy(rest, labelled + n_shots, (size_t)n_rest * sizeof(int64_t));
    }
    free(labelled);
    free(is_labelled);
    if (o.test_graphs) {
        /* An explicit test set (a published protocol's query set). */
        char *list = strdup(o.test_graphs);
        int8_t *is_test = calloc((size_t)G + 1, 1);
        if (!list || !is_test) {
            free(list);
            free(is_test);
            gp_errorf(&err, "out of memory");
            goto done;
        }
        n_rest = 0;
        for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
            int64_t g = graph_set_find(&d.graphs, tok);
            const char *why = g < 0 ? "no graph of that name" : is_test[g] ? "named twice" : NULL;
            for (int64_t k = 0; k < n_shots && !why; k++)
                if (shots[k] == g) why = "also a shot graph";
            if (why) {
                gp_errorf(&err, "%s: --test-graphs: '%s': %s", o.dataset, tok, why);
                free(list);
                free(is_test);
                goto done;
            }
            is_test[g] = 1;
            rest[n_rest++] = g;
        }
        free(list);
        free(is_test);
    }

    /* The grown device table. */
    int32_t n_new = grow ? n_old + 1 : n_old;
    int K = meta.cfg.n_descriptors;
    names_grown = calloc((size_t)n_new, sizeof(char *));
    trained_grown = calloc((size_t)n_new, 1);
    desc_grown = malloc((size_t)(n_new * K + 1) * sizeof(double));
    desc_norm = calloc((size_t)K + 1, sizeof(float));
    if (!names_grown || !trained_grown || !desc_grown || !desc_norm) {
        gp_errorf(&err, "out of memory");
        goto done;
    }
    for (int32_t k = 0; k < n_old; k++) {
        names_grown[k] = meta.device_names[k];
        trained_grown[k] = meta.dev_trained[k];
        for (int j = 0; j < K; j++) desc_grown[k * K + j] = meta.desc_raw[k * K + j];
    }
    if (grow) names_grown[n_old] = (char *)o.device;
    trained_grown[id] = 1;
    if (K) {
        /* Descriptors of the new device come from the dataset when it names
         * the same columns; unknown otherwise. */
        for (int j = 0; j < K; j++) {
            double v = NAN;
            for (int c = 0; c < d.n_descriptors; c++)
                if (!strcmp(d.descriptor_names[c], meta.desc_names[j])) v = d.descriptors[col * d.n_descriptors + c];
            if (grow || isnan(desc_grown[id * K + j])) desc_grown[id * K + j] = v;
        }
        descriptor_normalise(desc_norm, desc_grown + (size_t)id * K, 1, K, meta.desc_mean, meta.desc_std);
    }

    if (meta.prior.kind != PRIOR_NONE) {
        /* The new device's prior rates come from the dataset's descriptors
         * when the model has none for it. */
        if (!(rates_grown = malloc((size_t)(2 * n_new) * sizeof(double)))) {
            gp_errorf(&err, "out of memory");
            goto done;
        }
        memcpy(rates_grown, meta.prior_rates, (size_t)(2 * n_old) * sizeof(double));
        double from_data[2];
        prior_device_rates(&meta.prior, d.descriptor_names, d.n_descriptors,
                           d.descriptors + (size_t)col * d.n_descriptors, from_data);
        for (int j = 0; j < 2; j++) {
            double *r = &rates_grown[2 * id + j];
            if (grow || !(*r > 0 && isfinite(*r))) *r = from_data[j];
        }
    }

    batch_spec bs = checkpoint_batch_spec(&meta, node_t, graph_t, ADAPT_BATCH, 1, &id, &col, desc_norm);
    if (checkpoint_prior_spec(&bs, &meta, rates_grown, names_grown, 1, &id, prior_rate, node_pf, graph_pf, &err) != 0) {
        gp_error_prefix(&err, "%s", o.dataset);
        goto done;
    }
    if (batcher_init(&b, &d, &bs, &err) != 0) goto done;
    /* A stack's features are the source model's predictions for its
     * source devices: a second batcher over those. */
    model_limits lim = b.lim;
    if (o.stack) {
        if (!(stack = stack_setup(&o, &meta, &d, graph_t, col, shots, n_shots, &Y, &err))) goto done;
        const int32_t ns = stack->n_src;
        src_data = malloc((size_t)(ns + 1) * sizeof(int32_t));
        src_desc = calloc((size_t)(ns * K + 1), sizeof(float));
        src_rates = malloc((size_t)(2 * ns + 2) * sizeof(double));
        if (!src_data || !src_desc || !src_rates) {
            gp_errorf(&err, "out of memory");
            goto done;
        }
        for (int32_t k = 0; k < ns; k++) {
            src_data[k] = -1;
            if (K)
                descriptor_normalise(src_desc + (size_t)k * K, desc_grown + (size_t)stack->src[k] * K, 1, K,
                                     meta.desc_mean, meta.desc_std);
        }
        batch_spec sbs = checkpoint_batch_spec(&meta, node_t, graph_t, 64, ns, stack->src, src_data, src_desc);
        if (checkpoint_prior_spec(&sbs, &meta, rates_grown ? rates_grown : meta.prior_rates, names_grown, ns,
                                  stack->src, src_rates, src_node_pf, src_graph_pf, &err) != 0 ||
            batcher_init(&b_src, &d, &sbs, &err) != 0)
            goto done;
        if (b_src.lim.max_devices > lim.max_devices) lim.max_devices = b_src.lim.max_devices;
    }
    if (model_build(&old_m, &meta.cfg, &lim, &err) != 0 ||
        WATCHED(o.checkpoint, checkpoint_read_params(o.checkpoint, &old_m.params, 0, &err)) != 0)
        goto done;
    model_config cfg = meta.cfg;
    cfg.n_devices = n_new;
    if (model_build(&m, &cfg, &lim, &err) != 0) goto done;
    model_prepare_training(&m);
    m.frozen_trunk = 1; /* no method here moves the layers */
    {
        /* the source's flags: the new row (if any) and held-out rows have no labels there */
        int8_t *had = calloc((size_t)n_new, 1);
        if (!had) {
            gp_errorf(&err, "out of memory");
            goto done;
        }
        memcpy(had, meta.dev_trained, (size_t)n_old);
        copy_params(&m, &old_m, had);
        free(had);
    }

    /* Which parameters move: the device's embedding row, plus the heads. */
    param_store *ps = &m.params;
    uint8_t *movable = calloc((size_t)ps->n_tensors, 1);
    if (!movable) {
        gp_errorf(&err, "out of memory");
        goto done;
    }
    movable[m.dev_emb] = 1;
    if (o.heads)
        for (int i = 0; i < ps->n_tensors; i++)
            if (!strncmp(ps->t[i].name, "node_head.", 10) || !strncmp(ps->t[i].name, "graph_head.", 11))
                movable[i] = 1;

    /* Which heads predict each device afterwards (gnn/source_heads.h): a
     * device is predicted with the heads its row was fitted with. Moving
     * the heads keeps the source model's (the ones already kept, else the
     * input's) for every device trained before; a device that an earlier
     * adaptation fitted with the heads about to move loses them and is no
     * longer predicted. This device is fitted with, and predicted by, the
     * checkpoint's own heads. */
    if (o.heads || meta.heads.n > 0) {
        if (!(heads_grown = calloc((size_t)n_new, 1))) {
            free(movable);
            gp_errorf(&err, "out of memory");
            goto done;
        }
        for (int32_t k = 0; k < n_old; k++)
            heads_grown[k] = meta.dev_source_heads ? meta.dev_source_heads[k] : meta.dev_trained[k];
        for (int32_t k = 0; k < n_old && o.heads && meta.heads.n > 0; k++)
            if (k != id && meta.dev_trained[k] && !heads_grown[k]) {
                trained_grown[k] = 0;
                if (!o.quiet)
                    fprintf(stderr,
                            "gnnadapt: note: '%s' was adapted with the heads that move now; it is no longer "
                            "predicted (adapt it again from this checkpoint)\n",
                            meta.device_names[k]);
            }
        heads_grown[id] = 0;
        for (int i = 0; i < ps->n_tensors && o.heads && meta.heads.n == 0; i++)
            if (movable[i] && i != m.dev_emb &&
                source_heads_add(&kept, ps->t[i].name, param_value(ps, i), param_count(ps, i), &err) != 0) {
                free(movable);
                goto done;
            }
    }
    /* The stack's sources are the devices the source heads predict. */
    if (meta.heads.n > 0 && source_heads_apply(&meta.heads, &old_m.params, &err) != 0) {
        free(movable);
        gp_error_prefix(&err, "%s", o.checkpoint);
        goto done;
    }
    float *anchor0 = NULL;
    if (o.heads && o.anchor > 0) {
        anchor0 = malloc((size_t)ps->size * sizeof(float));
        if (!anchor0) {
            free(movable);
            gp_errorf(&err, "out of memory");
            goto done;
        }
        memcpy(anchor0, ps->value, (size_t)ps->size * sizeof(float));
    }
    /* A stack gives every whole-graph prediction; without per-node targets
     * the embedding would serve nothing, and the new row stays the trained
     * devices' mean. */
    adapt_tuning tune = {movable, id, o.anchor, anchor0, o.stack && !o.heads && cfg.n_node_targets == 0 ? 0 : o.steps,
                         o.lr};
    double *X = NULL, *cv = NULL;
    float *start = NULL;
    int trc = -1;
    if (stack) {
        /* The stack's features: the source model's predictions for its
         * sources (they do not move with the heads: a blend keeps the
         * source model's head values with the stack). */
        X = malloc((size_t)(cfg.n_graph_targets * n_shots * stack_n_features(stack) + 1) * sizeof(double));
        if (!X) {
            gp_errorf(&err, "out of memory");
            goto tuned;
        }
        if (adapt_stack_design(&old_m, &b_src, &d.graphs, stack, shots, n_shots, X, &err) != 0) goto tuned;
    }
    if (o.blend) {
        start = malloc((size_t)ps->size * sizeof(float));
        cv = malloc((size_t)(3 * cfg.n_graph_targets + 1) * sizeof(double));
        if (!start || !cv) {
            gp_errorf(&err, "out of memory");
            goto tuned;
        }
        memcpy(start, ps->value, (size_t)ps->size * sizeof(float));
        if (!o.quiet)
            fprintf(stderr, "gnnadapt: choosing the blend by %d-fold cross-validation on %lld shots\n",
                    n_shots < ADAPT_BLEND_FOLDS ? (int)n_shots : ADAPT_BLEND_FOLDS, (long long)n_shots);
        if (adapt_choose_blend(&m, &b, &tune, start, stack, shots, n_shots, X, Y, cv, &err) != 0) goto tuned;
    }
    double first_loss, last_loss;
    if (adapt_fine_tune(&m, &b, shots, n_shots, &tune, &first_loss, &last_loss, &err) != 0) goto tuned;
    if (!o.quiet && tune.steps)
        fprintf(stderr, "gnnadapt: %s: %lld shots, %d steps (%s): loss %.4f -> %.4f\n", o.device, (long long)n_shots,
                tune.steps, o.heads ? "embedding and heads" : "embedding only", first_loss, last_loss);
    if (stack) {
        int64_t *all = malloc((size_t)(n_shots + 1) * sizeof(int64_t));
        if (!all) {
            gp_errorf(&err, "out of memory");
            goto tuned;
        }
        for (int64_t i = 0; i < n_shots; i++) all[i] = i;
        int frc = adapt_fit_stack(stack, X, Y, n_shots, all, n_shots, &err);
        free(all);
        if (frc != 0) goto tuned;
        for (int t = 0; t < cfg.n_graph_targets && !o.quiet; t++) {
            if (!stack_has(stack, t)) {
                fprintf(stderr, "gnnadapt: note: no stack for %s: fewer than %d labelled shots; the model predicts it\n",
                        meta.graph_t_names[t], STACK_MIN_SHOTS);
                continue;
            }
            fprintf(stderr,
                    "gnnadapt: stack for %s: %d shots, %d source device(s), FLOPs, bytes and %d op classes, "
                    "ridge weight %g, leave-one-out RMSE of ln %.4f\n",
                    meta.graph_t_names[t], (int)stack->n_shots[t], (int)stack->n_src, (int)stack->n_cls,
                    stack->alpha[t], stack->loo_rmse[t]);
            if (o.blend)
                fprintf(stderr,
                        "gnnadapt: blend for %s: model share %.1f; cross-validated RMSE of ln: heads %.4f, "
                        "stack %.4f, blend %.4f\n",
                        meta.graph_t_names[t], stack->model_share[t], cv[3 * t], cv[3 * t + 1], cv[3 * t + 2]);
        }
    }
    trc = 0;
tuned:
    free(movable);
    free(anchor0);
    free(X);
    free(cv);
    free(start);
    if (trc != 0) goto done;

    /* Write the adapted checkpoint, then test on the device's other graphs.
     * A checkpoint holds one stack: a new one replaces the old, and an old
     * one is stale once its device's embedding moved or its device is no
     * longer predicted; its sources keep the heads it was fitted with. */
    checkpoint_meta out = meta;
    if (stack) {
        if (meta.stack && !o.quiet)
            fprintf(stderr, "gnnadapt: note: the stack for '%s' in %s is replaced (a checkpoint holds one)\n",
                    meta.stack->device, o.checkpoint);
        out.stack = stack;
    } else if (meta.stack) {
        int again = !strcmp(meta.stack->device, o.device), gone = 0;
        for (int32_t k = 0; k < n_old; k++)
            if (!strcmp(meta.device_names[k], meta.stack->device)) gone = !trained_grown[k];
        if (again || gone) {
            if (!o.quiet)
                fprintf(stderr, "gnnadapt: note: the old stack for '%s' is dropped (%s)\n", meta.stack->device,
                        again ? "its embedding was adapted anew" : "its device is no longer predicted");
            out.stack = NULL;
        }
    }
    out.cfg = cfg;
    out.n_devices = n_new;
    out.device_names = names_grown;
    out.dev_trained = trained_grown;
    if (kept.n > 0) out.heads = kept;
    out.dev_source_heads = heads_grown;
    out.desc_raw = desc_grown;
    out.prior_rates = rates_grown;
    char *cfg_text = NULL;
    {
        size_t len = (meta.run_config ? strlen(meta.run_config) : 2) + strlen(o.device) + 256;
        cfg_text = malloc(len);
        if (cfg_text)
            snprintf(cfg_text, len, "{\"adapted_from\": %s, \"device\": \"%s\", \"shots\": %lld, \"method\": \"%s\"}",
                     meta.run_config ? meta.run_config : "{}", o.device, (long long)n_shots, o.method);
    }
    out.run_config = cfg_text;
    int wrc = checkpoint_write(o.output, &out, ps, 0, &err);
    free(cfg_text);
    out.run_config = NULL;
    if (wrc != 0) goto done;

    if (n_rest > 0) {
        predict_options po = {64, 0, LOSS_MSE_LOG, 1.0f, 1.0f};
        if (predict_run(&p, &m, &b, rest, n_rest, &po, &err) != 0) goto done;
        /* From the written checkpoint, as gnnpredict will: the stack's
         * sources are predicted by the adapted model. */
        if (stack && checkpoint_apply_stack(stack, o.output, &out, &d, &p, 0, 64, &err) != 0) goto done;
        char *devn[1] = {(char *)o.device};
        report_names rn = {devn, meta.node_t_names, meta.node_t_units, meta.graph_t_names, meta.graph_t_units};
        char title[160];
        snprintf(title, sizeof title, "%s: %lld held-out graphs after adapting from %lld", o.device, (long long)n_rest,
                 (long long)n_shots);
        cJSON *rows = report_metrics(o.quiet ? NULL : stdout, title, &p, &rn);
        if (o.metrics && rows) {
            char *text = cJSON_Print(rows);
            int mrc = text ? atomic_file_write_text(o.metrics, text, &err) : -1;
            free(text);
            if (mrc != 0) {
                cJSON_Delete(rows);
                goto done;
            }
        }
        cJSON_Delete(rows);
    } else if (o.metrics) {
        /* every labelled graph was a shot: nothing to score, and an empty
         * table says so rather than a missing file */
        if (!o.quiet) printf("%s: no labelled graph left to test on after %lld shots\n", o.device, (long long)n_shots);
        if (atomic_file_write_text(o.metrics, "[]\n", &err) != 0) goto done;
    }
    rc = 0;
done:
    if (rc) fail(&err, hint);
    predictions_free(&p);
    batcher_free(&b);
    batcher_free(&b_src);
    free(src_data);
    free(src_desc);
    free(src_rates);
    free(Y);
    model_free(&m);
    model_free(&old_m);
    dataset_free(&d);
    checkpoint_meta_free(&meta);
    free(shots);
    free(rest);
    free(desc_norm);
    free(names_grown);
    free(trained_grown);
    free(heads_grown);
    source_heads_free(&kept);
    free(desc_grown);
    free(rates_grown);
    stack_free(stack);
    return rc;
}
