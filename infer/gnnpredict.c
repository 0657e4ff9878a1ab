/* gnnpredict: what will these models cost on these devices? Loads a
 * checkpoint and graphs (JSON, JSON Lines or an HDF5 dataset), predicts the
 * whole-graph cost and every node's cost per device, and prints them (table,
 * JSON or CSV), costliest ops first. With labels in the input it also
 * prints the metrics table; --embeddings exports node, graph and device
 * embeddings; --ensemble averages several checkpoints' predictions (in
 * log space) and reports their spread. Exit status: 0 ok, 1 bad data,
 * 2 bad command line. */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/atomic_file.h"
#include "../common/output_check.h"
#include "../common/watchdog.h"
#include "../datasets/batch.h"
#include "../datasets/dataset_merge.h"
#include "../gnn/checkpoint.h"
#include "../gnn/predict.h"
#include "../graph/featurize.h"
#include "../graph/graph_json.h"
#include "embeddings.h"
#include "from_checkpoint.h"
#include "report.h"

#define MAX_DEV 256
#define MAX_MEMBERS 32

static const char USAGE[] =
    "usage: gnnpredict [options] CHECKPOINT.h5 INPUT...\n"
    "\n"
    "Predict per-op and whole-model cost of the graphs in INPUT (gnnperf JSON graph,\n"
    "JSON Lines, or an HDF5 dataset) on the devices the checkpoint knows.\n"
    "\n"
    "  --device NAME        predict for this device (repeatable; default: every device the\n"
    "                       model was trained on or adapted to)\n"
    "  --format F           table (default), json or csv\n"
    "  --top N              ops listed per graph and device in the table (default 10; 0 = all)\n"
    "  -o, --output FILE    write the predictions there instead of standard output\n"
    "  --embeddings FILE    also write node, graph and device embeddings (HDF5)\n"
    "  --ensemble CKPT      another checkpoint with the same device list (same order) and\n"
    "                       targets (repeatable, at most 32; e.g. other seeds): predictions\n"
    "                       are the geometric mean over all checkpoints, and the output adds\n"
    "                       their spread, the standard deviation of ln prediction (CSV and\n"
    "                       JSON spread_ln; the table shows exp(sd) - 1 as +-%); not with\n"
    "                       --embeddings, which describe one model\n"
    "  --metrics FILE       when the input has labels, write the metrics table as JSON\n"
    "  --batch N            graphs per forward pass (default 64)\n"
    "  --threads N          (default: all cores)\n"
    "  --kernels K          auto (default), jit or blas: libxsmm JIT kernels pay a start-up\n"
    "                       cost (about 10 ms) that only large inputs win back; auto uses\n"
    "                       them from 5,000 node-device pairs on (blas differs in the last bits)\n"
    "  -q, --quiet          no warnings or metrics on standard error\n"
    "Environment: GNNPERF_LOAD_TIMEOUT=SECONDS stops the run when reading one dataset or checkpoint\n"
    "takes longer (default 60 s plus 1 s per MB; 0: never), as a corrupt file can make libhdf5 loop\n"
    "forever (exit status 1); a crash while reading one exits with status 3.\n";

typedef struct opts {
    const char *checkpoint;
    const char *inputs[256];
    int n_inputs;
    const char *devices[MAX_DEV];
    int n_devices;
    const char *members[MAX_MEMBERS]; /* --ensemble checkpoints besides the first */
    int n_members;
    const char *format, *output, *embeddings, *metrics, *kernels;
    int top, batch, threads, quiet;
} opts;

static int usage_error(const char *fmt, const char *a)
{
    fprintf(stderr, "gnnpredict: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\nRun 'gnnpredict --help' for usage.\n");
    return 2;
}

static int fail(const gp_error *err, const char *hint)
{
    fprintf(stderr, "gnnpredict: error: %s\n", err->msg);
    if (hint) fprintf(stderr, "hint: %s\n", hint);
    return 1;
}

static int parse(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->format = "table";
    o->kernels = "auto";
    o->top = 10;
    o->batch = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        }
        const char **slot = !strcmp(a, "--format")                       ? &o->format
                            : (!strcmp(a, "-o") || !strcmp(a, "--output")) ? &o->output
                            : !strcmp(a, "--embeddings")                   ? &o->embeddings
                            : !strcmp(a, "--metrics")                      ? &o->metrics
                            : !strcmp(a, "--kernels")                      ? &o->kernels
                                                                           : NULL;
        int *islot = !strcmp(a, "--top") ? &o->top : !strcmp(a, "--batch") ? &o->batch
                                                   : !strcmp(a, "--threads") ? &o->threads
                                                                             : NULL;
        if (!strcmp(a, "--ensemble")) {
            if (!v) return usage_error("%s needs a checkpoint", a);
            if (o->n_members >= MAX_MEMBERS) return usage_error("too many %s checkpoints", a);
            o->members[o->n_members++] = argv[++i];
            continue;
        }
        if (slot || islot || !strcmp(a, "--device")) {
            if (!v) return usage_error("%s needs a value", a);
            i++;
            if (slot) *slot = v;
            else if (islot) {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || end == v || n < 0 || n > 1000000) return usage_error("%s: expected a count", a);
                *islot = (int)n;
            } else {
                if (o->n_devices >= MAX_DEV) return usage_error("too many %s options", a);
                o->devices[o->n_devices++] = v;
            }
            continue;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (a[0] == '-' && a[1]) return usage_error("unknown option '%s'", a);
        if (!o->checkpoint) o->checkpoint = a;
        else if (o->n_inputs < 256) o->inputs[o->n_inputs++] = a;
        else return usage_error("too many inputs%s", "");
    }
    if (!o->checkpoint) return usage_error("%s", "no checkpoint given");
    if (o->n_inputs == 0) return usage_error("%s", "no input graphs given");
    if (strcmp(o->format, "table") && strcmp(o->format, "json") && strcmp(o->format, "csv"))
        return usage_error("--format: '%s' is not table, json or csv", o->format);
    if (o->batch < 1) return usage_error("%s", "--batch must be at least 1");
    if (o->n_members && o->embeddings)
        return usage_error("%s", "--embeddings describe one model: not with --ensemble");
    if (strcmp(o->kernels, "auto") && strcmp(o->kernels, "jit") && strcmp(o->kernels, "blas"))
        return usage_error("--kernels: '%s' is not auto, jit or blas", o->kernels);
    return 0;
}

/* From this many node-device pairs on, the JIT kernels' start-up cost
 * (libxsmm init about 6 ms, then about 0.1 ms per kernel; measured with
 * GNNPERF_TIMING) is won back by their faster products. */
#define PREDICT_JIT_MIN_PAIRS 5000

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* JSON inputs become one label-free dataset; HDF5 inputs are merged in. */
static int load_inputs(dataset *d, const opts *o, gp_error *err)
{
    dataset_init(d);
    int have = 0;
    graph_set js;
    graph_set_init(&js);
    int n_json = 0;
    for (int i = 0; i < o->n_inputs; i++) {
        if (ends_with(o->inputs[i], ".h5") || ends_with(o->inputs[i], ".hdf5")) continue;
        if (graph_json_read_file(&js, o->inputs[i], err) != 0) {
            graph_set_free(&js);
            return -1;
        }
        n_json++;
    }
    if (n_json) {
        if (graph_set_finish(&js, err) != 0) {
            graph_set_free(&js);
            return -1;
        }
        d->graphs = js;
        have = 1;
    }
    for (int i = 0; i < o->n_inputs; i++) {
        if (!(ends_with(o->inputs[i], ".h5") || ends_with(o->inputs[i], ".hdf5"))) continue;
        dataset h;
        if (WATCHED(o->inputs[i], dataset_read_h5(&h, o->inputs[i], err)) != 0) {
            dataset_free(d);
            return -1;
        }
        if (!have) {
            *d = h;
            have = 1;
            continue;
        }
        int rc = dataset_merge(d, &h, err);
        dataset_free(&h);
        if (rc) {
            dataset_free(d);
            return gp_error_prefix(err, "%s", o->inputs[i]);
        }
    }
    return 0;
}

/* Names unseen parts: op kinds, functions and dtypes absent from training
 * (their one-hot column never reached 1 there), and sizes beyond the
 * largest training value (log10 columns: more than 3x larger). */
static void warn_unseen(const dataset *d, const checkpoint_meta *meta, const batcher *b)
{
    const graph_set *s = &d->graphs;
    int F = b->F;
    for (int j = 0; j < F; j++) {
        const char *name = featurize_name(j);
        int onehot = !strncmp(name, "kind=", 5) || !strncmp(name, "fn=", 3) || !strncmp(name, "dtype=", 6);
        float limit = meta->feat_max[j] + (!strncmp(name, "log", 3) ? 0.5f : 0.0f);
        int64_t count = 0, first = -1;
        for (int64_t v = 0; v < s->n_nodes; v++) {
            float raw = b->features[v * F + j] * meta->feat_std[j] + meta->feat_mean[j];
            /* 1e-3: normalising and back loses a few ulps. */
            int odd = onehot ? (raw > 0.5f && meta->feat_max[j] < 0.5f) : raw > limit + 1e-3f * (1.0f + fabsf(limit));
            if (odd) {
                if (first < 0) first = v;
                count++;
            }
        }
        if (!count) continue;
        int64_t g = 0;
        while (s->node_off[g + 1] <= first) g++;
        fprintf(stderr,
                "gnnpredict: warning: %lld node%s with %s%s beyond what training saw (first: '%s' in graph '%s'); "
                "predictions there are extrapolations\n",
                (long long)count, count == 1 ? "" : "s", name, onehot ? "" : " values", s->node_names[first],
                s->graph_names[g]);
    }
}

/* Whether per-node values of a target add up to something for the graph:
 * times and energies do, ratios (utilization, occupancy) and percentages
 * do not. A target without a unit ("") is taken to add up. */
static int unit_adds_up(const char *unit)
{
    return strcmp(unit, "ratio") && strcmp(unit, "%");
}

typedef struct node_rank {
    int64_t row;
    double cost;
} node_rank;

static int cmp_rank(const void *a, const void *b)
{
    double x = ((const node_rank *)a)->cost, y = ((const node_rank *)b)->cost;
    return (x < y) - (x > y);
}

/* Index of the node target that measures the same thing as graph target
 * gt (same name), or of the first node target; -1 when none. */
static int node_target_for(const checkpoint_meta *m, int gt)
{
    if (m->n_node_t == 0) return -1;
    if (gt >= 0)
        for (int k = 0; k < m->n_node_t; k++)
            if (!strcmp(m->node_t_names[k], m->graph_t_names[gt])) return k;
    return 0;
}

/* A spread (sd of ln prediction) as the percentage one sd moves a
 * prediction up. */
static double spread_pct(double sd) { return 100.0 * (exp(sd) - 1.0); }

static void write_table(FILE *f, const dataset *d, const predictions *p, const checkpoint_meta *m,
                        char *const *dev_names, int top)
{
    const graph_set *s = &d->graphs;
    int gt = m->n_graph_t ? 0 : -1, nt = node_target_for(m, gt);
    node_rank *rk = malloc((size_t)(p->n_nodes + 1) * sizeof *rk);
    if (!rk) return;
    for (int64_t k = 0; k < p->n_graphs; k++) {
        int64_t g = p->graph_ids[k], first = p->node_first[k], cnt = p->node_first[k + 1] - first;
        for (int32_t dv = 0; dv < p->n_dev; dv++) {
            fprintf(f, "\n%s on %s\n", s->graph_names[g], dev_names[dv]);
            for (int t = 0; t < p->Tg; t++) {
                size_t i = (size_t)((k * p->n_dev + dv) * p->Tg + t);
                fprintf(f, "  whole graph  %-18s predicted %12.5g %s", m->graph_t_names[t], p->graph_pred[i],
                        m->graph_t_units[t]);
                if (p->graph_spread) fprintf(f, " +-%.1f%%", spread_pct(p->graph_spread[i]));
                if (!isnan(p->graph_true[i]))
                    fprintf(f, "   measured %12.5g   error %+6.1f%%", p->graph_true[i],
                            100.0 * (p->graph_pred[i] / p->graph_true[i] - 1.0));
                fprintf(f, "\n");
            }
            if (nt < 0) continue;
            double sum = 0, sum_true = 0;
            int64_t n_true = 0;
            for (int64_t v = 0; v < cnt; v++) {
                size_t i = (size_t)(((first + v) * p->n_dev + dv) * p->Tn + nt);
                sum += p->node_pred[i];
                if (!isnan(p->node_true[i])) {
                    sum_true += p->node_true[i];
                    n_true++;
                }
                rk[v] = (node_rank){first + v, p->node_pred[i]};
            }
            if (unit_adds_up(m->node_t_units[nt])) {
                fprintf(f, "  sum of ops   %-18s predicted %12.5g %s", m->node_t_names[nt], sum, m->node_t_units[nt]);
                if (n_true) fprintf(f, "   measured %12.5g (%lld ops labelled)", sum_true, (long long)n_true);
                fprintf(f, "\n");
            }
            qsort(rk, (size_t)cnt, sizeof *rk, cmp_rank);
            int64_t show = top > 0 && top < cnt ? top : cnt;
            fprintf(f, "  %-36s %-14s %12s %7s %12s%s\n", "op", "kind", "predicted", "share", "measured",
                    p->node_spread ? "    spread" : "");
            for (int64_t r = 0; r < show; r++) {
                int64_t row = rk[r].row, v = row - first;
                size_t i = (size_t)((row * p->n_dev + dv) * p->Tn + nt);
                const char *kind = op_kind_name(s->nodes[s->node_off[g] + v].kind);
                fprintf(f, "  %-36.36s %-14s %12.5g %6.1f%%", s->node_names[s->node_off[g] + v], kind,
                        p->node_pred[i], sum > 0 ? 100.0 * p->node_pred[i] / sum : 0.0);
                if (!isnan(p->node_true[i])) fprintf(f, " %12.5g", p->node_true[i]);
                else if (p->node_spread) fprintf(f, " %12s", "");
                if (p->node_spread) fprintf(f, "  +-%5.1f%%", spread_pct(p->node_spread[i]));
                fprintf(f, "\n");
            }
            if (show < cnt) fprintf(f, "  ... %lld more ops (--top 0 lists all)\n", (long long)(cnt - show));
        }
    }
    free(rk);
}

static cJSON *num(double v) { return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v); }

static cJSON *build_json(const dataset *d, const predictions *p, const checkpoint_meta *m, char *const *dev_names)
{
    const graph_set *s = &d->graphs;
    cJSON *arr = cJSON_CreateArray();
    node_rank *rk = malloc((size_t)(p->n_nodes + 1) * sizeof *rk);
    int nt_main = node_target_for(m, m->n_graph_t ? 0 : -1);
    for (int64_t k = 0; rk && k < p->n_graphs; k++) {
        int64_t g = p->graph_ids[k], first = p->node_first[k], cnt = p->node_first[k + 1] - first;
        for (int32_t dv = 0; dv < p->n_dev; dv++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "graph", s->graph_names[g]);
            cJSON_AddStringToObject(o, "device", dev_names[dv]);
            cJSON *pred = cJSON_AddObjectToObject(o, "predicted"), *meas = cJSON_AddObjectToObject(o, "measured");
            cJSON *spr = p->graph_spread ? cJSON_AddObjectToObject(o, "spread_ln") : NULL;
            for (int t = 0; t < p->Tg; t++) {
                size_t i = (size_t)((k * p->n_dev + dv) * p->Tg + t);
                cJSON_AddItemToObject(pred, m->graph_t_names[t], num(p->graph_pred[i]));
                cJSON_AddItemToObject(meas, m->graph_t_names[t], num(p->graph_true[i]));
                if (spr) cJSON_AddItemToObject(spr, m->graph_t_names[t], num(p->graph_spread[i]));
            }
            cJSON *sums = cJSON_AddObjectToObject(o, "sum_of_nodes");
            for (int t = 0; t < p->Tn; t++) {
                if (!unit_adds_up(m->node_t_units[t])) continue;
                double sum = 0;
                for (int64_t v = 0; v < cnt; v++) sum += p->node_pred[((first + v) * p->n_dev + dv) * p->Tn + t];
                cJSON_AddItemToObject(sums, m->node_t_names[t], num(sum));
            }
            cJSON *nodes = cJSON_AddArrayToObject(o, "nodes");
            for (int64_t v = 0; v < cnt && nt_main >= 0; v++)
                rk[v] = (node_rank){first + v, p->node_pred[((first + v) * p->n_dev + dv) * p->Tn + nt_main]};
            if (nt_main >= 0) qsort(rk, (size_t)cnt, sizeof *rk, cmp_rank);
            for (int64_t r = 0; r < cnt && nt_main >= 0; r++) {
                int64_t v = rk[r].row - first;
                cJSON *n = cJSON_CreateObject();
                cJSON_AddStringToObject(n, "name", s->node_names[s->node_off[g] + v]);
                cJSON_AddStringToObject(n, "op", op_kind_name(s->nodes[s->node_off[g] + v].kind));
                cJSON *np = cJSON_AddObjectToObject(n, "predicted"), *nm = cJSON_AddObjectToObject(n, "measured");
                cJSON *ns = p->node_spread ? cJSON_AddObjectToObject(n, "spread_ln") : NULL;
                for (int t = 0; t < p->Tn; t++) {
                    size_t i = (size_t)((rk[r].row * p->n_dev + dv) * p->Tn + t);
                    cJSON_AddItemToObject(np, m->node_t_names[t], num(p->node_pred[i]));
                    cJSON_AddItemToObject(nm, m->node_t_names[t], num(p->node_true[i]));
                    if (ns) cJSON_AddItemToObject(ns, m->node_t_names[t], num(p->node_spread[i]));
                }
                cJSON_AddItemToArray(nodes, n);
            }
            cJSON_AddItemToArray(arr, o);
        }
    }
    free(rk);
    return arr;
}

/* GNNPERF_TIMING=1 prints the time of each phase to stderr (the latency
 * benchmark's breakdown). */
static void phase(const char *name)
{
    static int on = -1;
    static struct timespec last;
    if (on < 0) {
        const char *e = getenv("GNNPERF_TIMING");
        on = e && *e && *e != '0';
        clock_gettime(CLOCK_MONOTONIC, &last);
    }
    if (!on || !name) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    fprintf(stderr, "gnnpredict: timing: %-20s %7.2f ms\n", name,
            (double)(now.tv_sec - last.tv_sec) * 1e3 + (double)(now.tv_nsec - last.tv_nsec) / 1e6);
    last = now;
}

/* The error for a device a checkpoint never learned from. */
static int never_saw(gp_error *err, const char *path, const char *device)
{
    return gp_errorf(err, "%s: the model never saw labels of device '%s' (it was held out or unselected)", path,
                     device);
}

/* Whether checkpoint b (path pb) predicts what a (pa) does: the same
 * devices in the same order, trained on the n_dev selected ones (model ids
 * model_dev), and the same targets and units. Architectures, seeds and
 * training data may differ. */
static int same_contract(const checkpoint_meta *a, const char *pa, const checkpoint_meta *b, const char *pb,
                         int32_t n_dev, const int32_t *model_dev, gp_error *err)
{
    if (a->n_devices != b->n_devices)
        return gp_errorf(err, "%s knows %d devices where %s knows %d: ensemble members must share devices", pb,
                         (int)b->n_devices, pa, (int)a->n_devices);
    for (int32_t k = 0; k < a->n_devices; k++)
        if (strcmp(a->device_names[k], b->device_names[k]))
            return gp_errorf(err, "%s: device %d is '%s' where %s has '%s'", pb, (int)k, b->device_names[k], pa,
                             a->device_names[k]);
    for (int32_t j = 0; j < n_dev; j++)
        if (!b->dev_trained[model_dev[j]])
            return never_saw(err, pb, b->device_names[model_dev[j]]);
    if (a->n_node_t != b->n_node_t || a->n_graph_t != b->n_graph_t)
        return gp_errorf(err, "%s has %d node and %d graph targets where %s has %d and %d", pb, b->n_node_t,
                         b->n_graph_t, pa, a->n_node_t, a->n_graph_t);
    for (int t = 0; t < a->n_node_t + a->n_graph_t; t++) {
        int node = t < a->n_node_t, k = node ? t : t - a->n_node_t;
        const char *na = node ? a->node_t_names[k] : a->graph_t_names[k];
        const char *nb = node ? b->node_t_names[k] : b->graph_t_names[k];
        const char *ua = node ? a->node_t_units[k] : a->graph_t_units[k];
        const char *ub = node ? b->node_t_units[k] : b->graph_t_units[k];
        if (strcmp(na, nb) || strcmp(ua, ub))
            return gp_errorf(err, "%s: %s target %d is '%s' (%s) where %s has '%s' (%s)", pb, node ? "node" : "graph",
                             k, nb, ub, pa, na, ua);
    }
    return 0;
}

typedef struct unseen_ctx {
    const dataset *d;
    const checkpoint_meta *meta;
} unseen_ctx;

static void warn_unseen_cb(const batcher *b, void *ctx)
{
    const unseen_ctx *u = ctx;
    warn_unseen(u->d, u->meta, b);
}

/* One checkpoint's predictions for every graph of d on the selected model
 * devices (infer/from_checkpoint.h: with its stack, when it has one for a
 * selected device). m is left built (its device vectors feed --embeddings);
 * the caller frees it. */
static int predict_member(const opts *o, const char *path, const checkpoint_meta *meta, const dataset *d,
                          int32_t n_dev, const int32_t *model_dev, const int32_t *data_dev, int warn, model *m,
                          predictions *p, gp_error *err)
{
    unseen_ctx u = {d, meta};
    predict_inspect in = {warn_unseen_cb, &u};
    if (checkpoint_predict(path, meta, d, NULL, 0, n_dev, model_dev, data_dev, o->batch, o->embeddings != NULL, m,
                           warn ? &in : NULL, p, err) != 0)
        return -1;
    phase("predict");
    return 0;
}

int main(int argc, char **argv)
{
    watchdog_program("gnnpredict");
    phase(NULL);
    opts o;
    int prc = parse(&o, argc, argv);
    if (prc) return prc == 1 ? 0 : 2;
    gp_error err = {{0}};
    {
        const char *inputs[1 + sizeof o.inputs / sizeof o.inputs[0] + MAX_MEMBERS];
        int n_in = 0;
        inputs[n_in++] = o.checkpoint;
        for (int k = 0; k < o.n_inputs; k++) inputs[n_in++] = o.inputs[k];
        for (int k = 0; k < o.n_members; k++) inputs[n_in++] = o.members[k];
        const output_slot outs[] = {{o.output, "-o", 0, 0}, {o.metrics, "--metrics", 0, 0},
                                    {o.embeddings, "--embeddings", 0, 1}};
        int orc = output_check(outs, 3, inputs, n_in, &err);
        if (orc) {
            fprintf(stderr, "gnnpredict: error: %s\n", err.msg);
            return orc == OUTPUT_CONFLICT ? 2 : 1;
        }
    }
    checkpoint_meta meta;
    dataset d;
    model m;
    predictions p;
    predict_ensemble ens;
    memset(&m, 0, sizeof m);
    memset(&p, 0, sizeof p);
    memset(&ens, 0, sizeof ens);
    dataset_init(&d);
    int rc = 1;
    const char *hint = NULL;
    atomic_file out_af, metrics_af;
    int out_open = 0, metrics_open = 0; /* temporaries not yet renamed into place */
    int32_t model_dev[MAX_DEV], data_dev[MAX_DEV], n_dev = 0;
    char *dev_names[MAX_DEV];

    if (WATCHED(o.checkpoint, checkpoint_read_meta(o.checkpoint, &meta, &err)) != 0) {
        hint = "the first argument must be a checkpoint written by gnntrain";
        memset(&meta, 0, sizeof meta);
        goto done;
    }
    phase("checkpoint meta");
    if (load_inputs(&d, &o, &err) != 0) goto done;
    phase("inputs");
    if (d.graphs.n_graphs == 0) {
        gp_errorf(&err, "the inputs hold no graphs");
        goto done;
    }
    {
        const int64_t pairs = d.graphs.n_nodes * (o.n_devices ? o.n_devices : meta.n_devices) * (1 + o.n_members);
        const int jit = !strcmp(o.kernels, "jit") || (!strcmp(o.kernels, "auto") && pairs >= PREDICT_JIT_MIN_PAIRS);
        kernels_set_jit(jit);
        /* BLAS products run one at a time (see kernels.h): one thread unless asked */
        kernels_init(!jit && o.threads == 0 ? 1 : o.threads);
        phase("kernels_init");
    }

    /* Devices: the checkpoint's, all or the named ones. */
    for (int i = 0; i < (o.n_devices ? o.n_devices : meta.n_devices); i++) {
        int id = -1;
        if (!o.n_devices) {
            /* By default only devices the model learned from. */
            if (!meta.dev_trained[i]) continue;
            if (n_dev == MAX_DEV) {
                gp_errorf(&err, "%s: the model was trained on more than %d devices, more than one call predicts",
                          o.checkpoint, MAX_DEV);
                hint = "name the devices wanted with --device";
                goto done;
            }
            id = i;
        } else
            for (int32_t k = 0; k < meta.n_devices; k++)
                if (!strcmp(meta.device_names[k], o.devices[i])) id = k;
        if (id < 0) {
            char known[2048] = "";
            size_t used = 0;
            for (int32_t k = 0; k < meta.n_devices && used + 2 < sizeof known; k++)
                used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "",
                                         meta.device_names[k]);
            gp_errorf(&err, "%s: unknown device '%s'; the checkpoint knows: %s", o.checkpoint, o.devices[i], known);
            hint = "a new device needs gnnadapt (few-shot transfer) first";
            goto done;
        }
        if (!meta.dev_trained[id]) {
            never_saw(&err, o.checkpoint, meta.device_names[id]);
            hint = "adapt the model to it with a few measured graphs (gnnadapt) first";
            goto done;
        }
        model_dev[n_dev] = id;
        dev_names[n_dev] = meta.device_names[id];
        data_dev[n_dev] = -1;
        for (int32_t k = 0; k < d.n_devices; k++)
            if (!strcmp(d.device_names[k], meta.device_names[id])) data_dev[n_dev] = k;
        n_dev++;
    }
    if (predict_member(&o, o.checkpoint, &meta, &d, n_dev, model_dev, data_dev, !o.quiet, &m, &p, &err) != 0)
        goto done;
    if (o.n_members) {
        /* Each member is built, run and freed in turn: one model in memory
         * at a time (the first one is not needed again: --embeddings is
         * refused with --ensemble). */
        model_free(&m);
        if (predict_ensemble_add(&ens, &p, &err) != 0) goto done;
        for (int k = 0; k < o.n_members; k++) {
            checkpoint_meta mk;
            model mm;
            predictions pk;
            memset(&mm, 0, sizeof mm);
            memset(&pk, 0, sizeof pk);
            if (WATCHED(o.members[k], checkpoint_read_meta(o.members[k], &mk, &err)) != 0) {
                hint = "--ensemble takes checkpoints written by gnntrain";
                goto done;
            }
            int bad = same_contract(&meta, o.checkpoint, &mk, o.members[k], n_dev, model_dev, &err) != 0 ||
                      predict_member(&o, o.members[k], &mk, &d, n_dev, model_dev, data_dev, 0, &mm, &pk, &err) != 0 ||
                      predict_ensemble_add(&ens, &pk, &err) != 0;
            predictions_free(&pk);
            model_free(&mm);
            checkpoint_meta_free(&mk);
            if (bad) {
                if (!strstr(err.msg, o.members[k])) gp_error_prefix(&err, "%s", o.members[k]);
                hint = "every --ensemble checkpoint must know the devices asked for, with the same targets";
                goto done;
            }
        }
        predict_ensemble_finish(&ens, &p);
    }

    /* Outputs: each file is written under a temporary name, and all are
     * renamed into place only once every one was written, so a failure
     * leaves none of them changed. */
    if (o.output) {
        if (atomic_file_begin(&out_af, o.output, &err) != 0) goto done;
        out_open = 1;
    }
    FILE *f = stdout;
    if (o.output && !(f = fopen(out_af.tmp_path, "w"))) {
        gp_errorf(&err, "%s: cannot write", o.output);
        goto done;
    }
    if (!strcmp(o.format, "table")) write_table(f, &d, &p, &meta, dev_names, o.top);
    else if (!strcmp(o.format, "csv")) {
        report_names rn = {dev_names, meta.node_t_names, meta.node_t_units, meta.graph_t_names, meta.graph_t_units};
        report_write_csv(f, &d, &p, &rn);
    }
    else {
        cJSON *j = build_json(&d, &p, &meta, dev_names);
        char *text = cJSON_Print(j);
        if (text) fprintf(f, "%s\n", text);
        free(text);
        cJSON_Delete(j);
    }
    if (o.output) {
        int bad = ferror(f);
        if (fclose(f) != 0 || bad) {
            gp_errorf(&err, "%s: write failed (disk full?)", o.output);
            goto done;
        }
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        /* A shell redirect to a full disk: the table is cut short. */
        gp_errorf(&err, "writing the predictions to standard output failed (disk full or closed pipe?)");
        goto done;
    }

    /* Metrics when the input carries labels. */
    report_names names = {dev_names, meta.node_t_names, meta.node_t_units, meta.graph_t_names, meta.graph_t_units};
    cJSON *rows = report_metrics(o.quiet || d.n_targets == 0 ? NULL : stderr, "metrics against the labels in the input", &p, &names);
    if (o.metrics && rows) {
        char *text = cJSON_Print(rows);
        FILE *mfp = NULL;
        int ok = text && atomic_file_begin(&metrics_af, o.metrics, &err) == 0;
        metrics_open = ok;
        if (ok && !(mfp = fopen(metrics_af.tmp_path, "w"))) ok = 0;
        if (ok) {
            int bad = fputs(text, mfp) < 0;
            ok = fclose(mfp) == 0 && !bad;
        }
        free(text);
        if (!ok) {
            cJSON_Delete(rows);
            if (!err.msg[0] || !strstr(err.msg, o.metrics)) gp_errorf(&err, "%s: cannot write the metrics", o.metrics);
            goto done;
        }
    }
    cJSON_Delete(rows);
    if (o.embeddings &&
        embeddings_write(o.embeddings, o.checkpoint, &d, &p, dev_names, m.dev_vec, n_dev, m.cfg.device_dim, &err) != 0)
        goto done;
    if (out_open) {
        out_open = 0;
        if (atomic_file_commit(&out_af, &err) != 0) goto done;
    }
    if (metrics_open) {
        metrics_open = 0;
        if (atomic_file_commit(&metrics_af, &err) != 0) goto done;
    }
    rc = 0;
done:
    if (out_open) atomic_file_abort(&out_af);
    if (metrics_open) atomic_file_abort(&metrics_af);
    if (rc) fail(&err, hint);
    predictions_free(&p);
    predict_ensemble_free(&ens);
    model_free(&m);
    dataset_free(&d);
    checkpoint_meta_free(&meta);
    return rc;
}
