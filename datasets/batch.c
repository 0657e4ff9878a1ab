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

/* Sum of the k largest values: the most a batch of k graphs can hold. */
static int64_t sum_largest(int64_t *v, int64_t n, int64_t k)
{
    qsort(v, (size_t)n, sizeof *v, cmp_desc_i64);
    int64_t s = 0;
    for (int64_t i = 0; i < k && i < n; i++) s += v[i];
    return s;
}

/* mu, sigma of ln(label) over the given rows and label columns. */
static void log_stats(const dataset *d, const label_target *t, const int64_t *rows, int64_t n_rows,
                      const int32_t *cols, int32_t n_cols, float *mu, float *sigma)
{
    double s = 0, ss = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < n_rows; r++)
        for (int32_t k = 0; k < n_cols; k++) {
            if (cols[k] < 0) continue;
            float v = t->values[rows[r] * d->n_devices + cols[k]];
            if (isnan(v)) continue;
            double l = log(fmax(v, LABEL_FLOOR));
            s += l;
            ss += l * l;
            n++;
        }
    double m = n ? s / (double)n : 0.0, var = n ? ss / (double)n - m * m : 1.0;
    *mu = (float)m;
    /* A target with (nearly) one value everywhere keeps unit scale. */
    *sigma = (float)(var > 1e-12 ? sqrt(var) : 1.0);
}

void descriptor_stats(float *mean, float *std, const double *raw, int32_t n_devices, int n_desc)
{
    for (int j = 0; j < n_desc; j++) {
        double m = 0, ss = 0;
        int n = 0;
        for (int32_t k = 0; k < n_devices; k++) {
            double v = raw[(size_t)k * n_desc + j];
            if (isnan(v)) continue;
            v = log1p(fmax(v, 0.0)); /* descriptors span decades too */
            m += v;
            ss += v * v;
            n++;
        }
        m = n ? m / n : 0.0;
        double sd = n ? sqrt(fmax(ss / n - m * m, 0.0)) : 1.0;
        mean[j] = (float)m;
        std[j] = (float)(sd > 1e-6 ? sd : 1.0);
    }
}

void descriptor_normalise(float *out, const double *raw, int32_t n, int n_desc, const float *mean, const float *std)
{
    for (int32_t k = 0; k < n; k++)
        for (int j = 0; j < n_desc; j++) {
            double v = raw[(size_t)k * n_desc + j];
            out[(size_t)k * n_desc + j] = isnan(v) ? 0.0f : (float)((log1p(fmax(v, 0.0)) - mean[j]) / std[j]);
        }
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

    int64_t n_rows = 0;
    if (need_stats)
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
            log_stats(d, &d->targets[t], rows, n_rows, b->data_dev, b->n_dev, &b->node_mu[k], &b->node_sigma[k]);
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
            log_stats(d, &d->targets[t], sp->train_graphs, sp->n_train, b->data_dev, b->n_dev, &b->graph_mu[k],
                      &b->graph_sigma[k]);
        } else {
            b->graph_mu[k] = 0.0f;
            b->graph_sigma[k] = 1.0f;
        }
    }

    /* Limits: the largest batch of max_batch_graphs graphs. */
    for (int64_t g = 0; g < s->n_graphs; g++) sizes[g] = graph_nodes_in(s, g);
    int64_t maxN = sum_largest(sizes, s->n_graphs, sp->max_batch_graphs);
    for (int64_t g = 0; g < s->n_graphs; g++) sizes[g] = graph_edges_in(s, g);
    int64_t maxE = sum_largest(sizes, s->n_graphs, sp->max_batch_graphs);
    int64_t maxG = sp->max_batch_graphs < s->n_graphs ? sp->max_batch_graphs : s->n_graphs;
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
    if (!b->x || !b->node_y || !b->graph_y || !b->pred_ptr || !b->succ_ptr || !b->pred_idx || !b->succ_idx ||
        !b->graph_off || !b->graph_ids)
        goto oom;
    return 0;
oom:
    gp_errorf(err, "out of memory preparing batches");
fail:
    free(rows);
    free(sizes);
    batcher_free(b);
    return -1;
}

static float to_target(float y, float mu, float sigma)
{
    return isnan(y) ? NAN : (logf(fmaxf(y, LABEL_FLOOR)) - mu) / sigma;
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
        for (int t = 0; t < b->n_node_t; t++) {
            const label_target *lt = b->node_t[t] >= 0 ? &d->targets[b->node_t[t]] : NULL;
            for (int64_t v = 0; v < count; v++)
                for (int32_t c = 0; c < D; c++) {
                    float y = (lt && b->data_dev[c] >= 0) ? lt->values[(first + v) * d->n_devices + b->data_dev[c]]
                                                          : NAN;
                    b->node_y[((N + v) * D + c) * b->n_node_t + t] = to_target(y, b->node_mu[t], b->node_sigma[t]);
                }
        }
        for (int t = 0; t < b->n_graph_t; t++) {
            const label_target *lt = b->graph_t[t] >= 0 ? &d->targets[b->graph_t[t]] : NULL;
            for (int32_t c = 0; c < D; c++) {
                float y = (lt && b->data_dev[c] >= 0) ? lt->values[g * d->n_devices + b->data_dev[c]] : NAN;
                b->graph_y[(k * D + c) * b->n_graph_t + t] = to_target(y, b->graph_mu[t], b->graph_sigma[t]);
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
}
