#include "batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/featurize.h"

void batcher_free(batcher *b)
{
    free(b->features);
    free(b->feat_mean);
    free(b->feat_std);
    free(b->feat_max);
    free(b->model_dev);
    free(b->data_dev);
    free(b->dev_desc);
    free(b->x);
    free(b->node_y);
    free(b->graph_y);
    free(b->node_lp);
    free(b->graph_lp);
    free(b->node_lp_all);
    free(b->graph_lp_all);
    free(b->readout_lw);
    free(b->pred_ptr);
    free(b->pred_idx);
    free(b->succ_ptr);
    free(b->succ_idx);
    free(b->graph_off);
    free(b->graph_ids);
    memset(b, 0, sizeof *b);
}

static int cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* Sum of the k largest of v when each entry may be taken up to r times:
 * the most a batch of k graphs can hold when a graph may repeat r times. */
static int64_t sum_largest(int64_t *v, int64_t n, int64_t k, int64_t r)
{
    qsort(v, (size_t)n, sizeof *v, cmp_desc_i64);
    int64_t s = 0;
    for (int64_t i = 0, taken = 0; i < n && taken < k; i++)
        for (int64_t j = 0; j < r && taken < k; j++, taken++) s += v[i];
    return s;
}

/* mu, sigma of ln(label) - ln(prior) over the given rows and label columns
 * (lp: ln prior per (dataset row, column index), or NULL for none). */
static void log_stats(const dataset *d, const label_target *t, const int64_t *rows, int64_t n_rows,
                      const int32_t *cols, int32_t n_cols, const float *lp, float *mu, float *sigma)
{
    double s = 0, ss = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < n_rows; r++)
        for (int32_t k = 0; k < n_cols; k++) {
            if (cols[k] < 0) continue;
            float v = t->values[rows[r] * d->n_devices + cols[k]];
            if (isnan(v)) continue;
            double l = log(fmax(v, LABEL_FLOOR)) - (lp ? lp[rows[r] * n_cols + k] : 0.0f);
            s += l;
            ss += l * l;
            n++;
        }
    double m = n ? s / (double)n : 0.0, var = n ? ss / (double)n - m * m : 1.0;
    *mu = (float)m;
    /* A target with (nearly) one value everywhere keeps unit scale. */
    *sigma = (float)(var > 1e-12 ? sqrt(var) : 1.0);
}

void descriptor_stats(float *mean, float *std, const double *raw, int32_t n_devices, int n_desc,
                      const int8_t *use)
{
    for (int j = 0; j < n_desc; j++) {
        double m = 0, ss = 0;
        int n = 0;
        for (int32_t k = 0; k < n_devices; k++) {
            double v = raw[(size_t)k * n_desc + j];
            if (isnan(v) || (use && !use[k])) continue;
            v = log1p(fmax(v, 0.0)); /* descriptors span decades too */
            m += v;
            ss += v * v;
            n++;
        }
        m = n ? m / n : 0.0;
        double sd = n ? sqrt(fmax(ss / n - m * m, 0.0)) : 0.0;
        mean[j] = (float)m;
        std[j] = (float)(!n ? 0.0 : sd > 1e-6 ? sd : 1.0);
    }
}

void descriptor_normalise(float *out, const double *raw, int32_t n, int n_desc, const float *mean, const float *std)
{
    for (int32_t k = 0; k < n; k++)
        for (int j = 0; j < n_desc; j++) {
            double v = raw[(size_t)k * n_desc + j];
            out[(size_t)k * n_desc + j] =
                isnan(v) || !(std[j] > 0) ? 0.0f : (float)((log1p(fmax(v, 0.0)) - mean[j]) / std[j]);
        }
}

/* ln prior of every node and graph of the dataset on every evaluated
 * device, when some target takes the prior. */
static int prior_tables(batcher *b, const batch_spec *sp, gp_error *err)
{
    int any = 0;
    for (int k = 0; k < sp->n_node_t; k++) any |= b->node_use_prior[k] = sp->node_prior_t && sp->node_prior_t[k];
    for (int k = 0; k < sp->n_graph_t; k++) any |= b->graph_use_prior[k] = sp->graph_prior_t && sp->graph_prior_t[k];
    if (!any || !sp->prior || sp->prior->kind == PRIOR_NONE) {
        memset(b->node_use_prior, 0, sizeof b->node_use_prior);
        memset(b->graph_use_prior, 0, sizeof b->graph_use_prior);
        return 0;
    }
    if (!sp->prior_rates) return gp_errorf(err, "a cost prior without device rates");
    for (int32_t c = 0; c < b->n_dev; c++)
        for (int j = 0; j < 2; j++) {
            double r = sp->prior_rates[2 * c + j];
            if (!(r > 0) || !isfinite(r))
                return gp_errorf(err, "evaluated device %d (model device %d) has no rates for the %s prior", c,
                                 b->model_dev[c], prior_kind_name(sp->prior->kind));
        }
    int graph_any = 0;
    for (int k = 0; k < sp->n_graph_t; k++) graph_any |= b->graph_use_prior[k];
    const graph_set *s = &b->d->graphs;
    int32_t D = b->n_dev;
    /* Node priors are needed for the graph sums too, and kept: node targets
     * learn relative to them, and an additive graph readout weighs each
     * node by its share of the graph's prior (gnn_batch.readout_lw). */
    float *node_lp = malloc((size_t)(s->n_nodes * D + 1) * sizeof(float));
    double *graph_ms = graph_any ? calloc((size_t)(s->n_graphs * D + 1), sizeof(double)) : NULL;
    if (!node_lp || (graph_any && !graph_ms)) {
        free(node_lp);
        free(graph_ms);
        return gp_errorf(err, "out of memory for the cost prior");
    }
    for (int64_t g = 0; g < s->n_graphs; g++)
        for (int64_t v = s->node_off[g]; v < s->node_off[g + 1]; v++) {
            node_cost nc;
            graph_node_cost(s, v, &nc);
            for (int32_t c = 0; c < D; c++) {
                double ms = prior_cost_ms(sp->prior, &nc, sp->prior_rates + 2 * c);
                node_lp[v * D + c] = (float)log(ms);
                if (graph_ms) graph_ms[g * D + c] += ms;
            }
        }
    if (graph_ms) {
        b->graph_lp_all = malloc((size_t)(s->n_graphs * D + 1) * sizeof(float));
        if (!b->graph_lp_all) {
            free(node_lp);
            free(graph_ms);
            return gp_errorf(err, "out of memory for the cost prior");
        }
        for (int64_t k = 0; k < s->n_graphs * D; k++)
            b->graph_lp_all[k] = (float)log(graph_ms[k] > 0 ? graph_ms[k] : sp->prior->floor_ms);
        free(graph_ms);
    }
    b->node_lp_all = node_lp;
    return 0;
}

int batcher_init(batcher *b, const dataset *d, const batch_spec *sp, gp_error *err)
{
    memset(b, 0, sizeof *b);
    const graph_set *s = &d->graphs;
    if (sp->n_node_t > BATCH_MAX_TARGETS || sp->n_graph_t > BATCH_MAX_TARGETS)
        return gp_errorf(err, "more than %d targets per level", BATCH_MAX_TARGETS);
    if (sp->n_dev < 1) return gp_errorf(err, "no devices to evaluate");
    if (sp->max_batch_graphs < 1) return gp_errorf(err, "batch size must be at least 1");
    int need_stats = !sp->feat_mean;
    if (need_stats && sp->n_train < 1) return gp_errorf(err, "no training graphs to normalise features with");
    b->d = d;
    b->F = featurize_dim();
    b->n_node_t = sp->n_node_t;
    b->n_graph_t = sp->n_graph_t;
    b->n_dev = sp->n_dev;
    b->n_desc = sp->dev_desc ? sp->n_desc : 0;
    int F = b->F;
    int64_t N = s->n_nodes;
    int64_t *rows = NULL, *sizes = NULL;
    b->model_dev = malloc((size_t)b->n_dev * sizeof(int32_t));
    b->data_dev = malloc((size_t)b->n_dev * sizeof(int32_t));
    b->features = malloc((size_t)(N > 0 ? N : 1) * F * sizeof(float));
    b->feat_mean = malloc((size_t)F * sizeof(float));
    b->feat_std = malloc((size_t)F * sizeof(float));
    b->dev_desc = malloc((size_t)(b->n_dev * b->n_desc + 1) * sizeof(float));
    rows = malloc((size_t)(N > 0 ? N : 1) * sizeof(int64_t));
    sizes = malloc((size_t)(s->n_graphs > 0 ? s->n_graphs : 1) * sizeof(int64_t));
    if (!b->model_dev || !b->data_dev || !b->features || !b->feat_mean || !b->feat_std || !b->dev_desc || !rows ||
        !sizes)
        goto oom;
    for (int32_t k = 0; k < b->n_dev; k++) {
        b->model_dev[k] = sp->model_dev[k];
        b->data_dev[k] = sp->data_dev ? sp->data_dev[k] : sp->model_dev[k];
        if (b->data_dev[k] >= d->n_devices) {
            gp_errorf(err, "device column %d outside the dataset's %d devices", b->data_dev[k], d->n_devices);
            goto fail;
        }
    }
    if (b->n_desc) memcpy(b->dev_desc, sp->dev_desc, (size_t)(b->n_dev * b->n_desc) * sizeof(float));
    if (prior_tables(b, sp, err) != 0) goto fail;

    /* The training nodes: for feature statistics, and for node-target
     * scales when those are not given either. */
    int64_t n_rows = 0;
    if (need_stats || (sp->n_node_t > 0 && !sp->node_mu))
        for (int64_t i = 0; i < sp->n_train; i++) {
            int64_t g = sp->train_graphs[i];
            for (int64_t v = s->node_off[g]; v < s->node_off[g + 1]; v++) rows[n_rows++] = v;
        }

    featurize_nodes(s, b->features);
    if (need_stats) {
        /* Row by row (the matrix is row-major), two passes for a stable
         * variance. */
        double *acc = calloc((size_t)F * 2, sizeof(double));
        b->feat_max = malloc((size_t)F * sizeof(float));
        if (!acc || !b->feat_max) {
            free(acc);
            goto oom;
        }
        for (int j = 0; j < F; j++) b->feat_max[j] = -INFINITY;
        for (int64_t r = 0; r < n_rows; r++) {
            const float *f = b->features + rows[r] * F;
            for (int j = 0; j < F; j++) {
                acc[j] += f[j];
                if (f[j] > b->feat_max[j]) b->feat_max[j] = f[j];
            }
        }
        for (int j = 0; j < F; j++) acc[j] /= (double)n_rows;
        for (int64_t r = 0; r < n_rows; r++) {
            const float *f = b->features + rows[r] * F;
            for (int j = 0; j < F; j++) {
                double e = f[j] - acc[j];
                acc[F + j] += e * e;
            }
        }
        for (int j = 0; j < F; j++) {
            double sd = sqrt(acc[F + j] / (double)n_rows);
            b->feat_mean[j] = (float)acc[j];
            /* Constant columns (an op kind absent from training) stay unscaled. */
            b->feat_std[j] = (float)(sd > 1e-6 ? sd : 1.0);
        }
        free(acc);
    } else {
        memcpy(b->feat_mean, sp->feat_mean, (size_t)F * sizeof(float));
        memcpy(b->feat_std, sp->feat_std, (size_t)F * sizeof(float));
    }
    for (int64_t v = 0; v < N; v++)
        for (int j = 0; j < F; j++)
            b->features[v * F + j] = (b->features[v * F + j] - b->feat_mean[j]) / b->feat_std[j];

    for (int k = 0; k < sp->n_node_t; k++) {
        int t = sp->node_targets[k];
        if (t >= d->n_targets || (t >= 0 && d->targets[t].level != LABEL_NODE)) {
            gp_errorf(err, "target index %d is not a per-node target", t);
            goto fail;
        }
        b->node_t[k] = t;
        if (sp->node_mu) {
            b->node_mu[k] = sp->node_mu[k];
            b->node_sigma[k] = sp->node_sigma[k];
        } else if (t >= 0) {
            log_stats(d, &d->targets[t], rows, n_rows, b->data_dev, b->n_dev,
                      b->node_use_prior[k] ? b->node_lp_all : NULL, &b->node_mu[k], &b->node_sigma[k]);
        } else {
            b->node_mu[k] = 0.0f;
            b->node_sigma[k] = 1.0f;
        }
    }
    for (int k = 0; k < sp->n_graph_t; k++) {
        int t = sp->graph_targets[k];
        if (t >= d->n_targets || (t >= 0 && d->targets[t].level != LABEL_GRAPH)) {
            gp_errorf(err, "target index %d is not a per-graph target", t);
            goto fail;
        }
        b->graph_t[k] = t;
        if (sp->graph_mu) {
            b->graph_mu[k] = sp->graph_mu[k];
            b->graph_sigma[k] = sp->graph_sigma[k];
        } else if (t >= 0) {
            log_stats(d, &d->targets[t], sp->train_graphs, sp->n_train, b->data_dev, b->n_dev,
                      b->graph_use_prior[k] ? b->graph_lp_all : NULL, &b->graph_mu[k], &b->graph_sigma[k]);
        } else {
            b->graph_mu[k] = 0.0f;
            b->graph_sigma[k] = 1.0f;
        }
    }

    /* Limits: the largest batch of max_batch_graphs graphs. */
    for (int64_t g = 0; g < s->n_graphs; g++) sizes[g] = graph_nodes_in(s, g);
    /* A graph may appear in one batch up to max_repeats times (oversampling). */
    int64_t R = sp->max_repeats > 1 ? sp->max_repeats : 1;
    int64_t maxN = sum_largest(sizes, s->n_graphs, sp->max_batch_graphs, R);
    for (int64_t g = 0; g < s->n_graphs; g++) sizes[g] = graph_edges_in(s, g);
    int64_t maxE = sum_largest(sizes, s->n_graphs, sp->max_batch_graphs, R);
    int64_t maxG = sp->max_batch_graphs < s->n_graphs * R ? sp->max_batch_graphs : s->n_graphs * R;
    if (maxN < 1) maxN = 1;
    if (maxG < 1) maxG = 1;
    b->lim = (model_limits){maxN, maxE, maxG, b->n_dev};
    free(rows);
    free(sizes);
    rows = sizes = NULL;

    int T = b->n_node_t > 0 ? b->n_node_t : 1, Tg = b->n_graph_t > 0 ? b->n_graph_t : 1;
    b->x = malloc((size_t)maxN * F * sizeof(float));
    b->node_y = malloc((size_t)maxN * b->n_dev * T * sizeof(float));
    b->graph_y = malloc((size_t)maxG * b->n_dev * Tg * sizeof(float));
    b->pred_ptr = malloc((size_t)(maxN + 1) * sizeof(int64_t));
    b->succ_ptr = malloc((size_t)(maxN + 1) * sizeof(int64_t));
    b->pred_idx = malloc((size_t)(maxE + 1) * sizeof(int64_t));
    b->succ_idx = malloc((size_t)(maxE + 1) * sizeof(int64_t));
    b->graph_off = malloc((size_t)(maxG + 1) * sizeof(int64_t));
    b->graph_ids = malloc((size_t)maxG * sizeof(int64_t));
    b->node_lp = calloc((size_t)maxN * b->n_dev, sizeof(float));
    b->graph_lp = calloc((size_t)maxG * b->n_dev, sizeof(float));
    if (!b->x || !b->node_y || !b->graph_y || !b->pred_ptr || !b->succ_ptr || !b->pred_idx || !b->succ_idx ||
        !b->graph_off || !b->graph_ids || !b->node_lp || !b->graph_lp)
        goto oom;
    if (b->graph_lp_all && b->node_lp_all && b->n_graph_t > 0) {
        b->readout_lw = malloc((size_t)maxN * b->n_dev * b->n_graph_t * sizeof(float));
        if (!b->readout_lw) goto oom;
    }
    return 0;
oom:
    gp_errorf(err, "out of memory preparing batches");
fail:
    free(rows);
    free(sizes);
    batcher_free(b);
    return -1;
}

static float to_target(float y, float mu, float sigma, float lp)
{
    return isnan(y) ? NAN : (logf(fmaxf(y, LABEL_FLOOR)) - lp - mu) / sigma;
}

void batcher_fill(batcher *b, const int64_t *ids, int64_t n, gnn_batch *out)
{
    const dataset *d = b->d;
    const graph_set *s = &d->graphs;
    int F = b->F;
    int32_t D = b->n_dev;
    int64_t N = 0, E = 0;
    b->graph_off[0] = 0;
    b->pred_ptr[0] = b->succ_ptr[0] = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t g = ids[k];
        b->graph_ids[k] = g;
        int64_t first = s->node_off[g], count = graph_nodes_in(s, g);
        memcpy(b->x + N * F, b->features + first * F, (size_t)(count * F) * sizeof(float));
        /* The dataset's CSR is global; shift rows and ids into the batch. */
        int64_t shift = N - first;
        for (int64_t v = 0; v < count; v++) {
            int64_t gv = first + v;
            int64_t np = s->pred_ptr[gv + 1] - s->pred_ptr[gv], ns = s->succ_ptr[gv + 1] - s->succ_ptr[gv];
            int64_t pp = b->pred_ptr[N + v], sp = b->succ_ptr[N + v];
            for (int64_t j = 0; j < np; j++) b->pred_idx[pp + j] = s->pred_idx[s->pred_ptr[gv] + j] + shift;
            for (int64_t j = 0; j < ns; j++) b->succ_idx[sp + j] = s->succ_idx[s->succ_ptr[gv] + j] + shift;
            b->pred_ptr[N + v + 1] = pp + np;
            b->succ_ptr[N + v + 1] = sp + ns;
        }
        if (b->node_lp_all)
            memcpy(b->node_lp + N * D, b->node_lp_all + first * D, (size_t)(count * D) * sizeof(float));
        if (b->graph_lp_all) memcpy(b->graph_lp + k * D, b->graph_lp_all + g * D, (size_t)D * sizeof(float));
        if (b->readout_lw)
            for (int64_t v = 0; v < count; v++)
                for (int32_t c = 0; c < D; c++)
                    for (int t = 0; t < b->n_graph_t; t++)
                        b->readout_lw[((N + v) * D + c) * b->n_graph_t + t] =
                            b->graph_use_prior[t] ? b->node_lp[(N + v) * D + c] - b->graph_lp[k * D + c] : 0.0f;
        for (int t = 0; t < b->n_node_t; t++) {
            const label_target *lt = b->node_t[t] >= 0 ? &d->targets[b->node_t[t]] : NULL;
            for (int64_t v = 0; v < count; v++)
                for (int32_t c = 0; c < D; c++) {
                    float y = (lt && b->data_dev[c] >= 0) ? lt->values[(first + v) * d->n_devices + b->data_dev[c]]
                                                          : NAN;
                    b->node_y[((N + v) * D + c) * b->n_node_t + t] =
                        to_target(y, b->node_mu[t], b->node_sigma[t], batcher_node_lp(b, (N + v) * D + c, t));
                }
        }
        for (int t = 0; t < b->n_graph_t; t++) {
            const label_target *lt = b->graph_t[t] >= 0 ? &d->targets[b->graph_t[t]] : NULL;
            for (int32_t c = 0; c < D; c++) {
                float y = (lt && b->data_dev[c] >= 0) ? lt->values[g * d->n_devices + b->data_dev[c]] : NAN;
                b->graph_y[(k * D + c) * b->n_graph_t + t] =
                    to_target(y, b->graph_mu[t], b->graph_sigma[t], batcher_graph_lp(b, k * D + c, t));
            }
        }
        N += count;
        E += graph_edges_in(s, g);
        b->graph_off[k + 1] = N;
    }
    b->n_graphs_in_batch = n;
    out->n_nodes = N;
    out->n_edges = E;
    out->n_graphs = n;
    out->x = b->x;
    out->csr = (graph_csr){N, b->pred_ptr, b->pred_idx, b->succ_ptr, b->succ_idx};
    out->graph_off = b->graph_off;
    out->n_dev = D;
    out->dev_ids = b->model_dev;
    out->descriptors = b->n_desc ? b->dev_desc : NULL;
    out->graph_sigma = b->n_graph_t ? b->graph_sigma : NULL;
    out->readout_lw = b->readout_lw;
}
