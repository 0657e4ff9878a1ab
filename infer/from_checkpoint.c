#include "from_checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "../common/watchdog.h"

int checkpoint_targets_in(const checkpoint_meta *m, const dataset *d, int *node_t, int *graph_t, gp_error *err)
{
    if (m->n_node_t > BATCH_MAX_TARGETS || m->n_graph_t > BATCH_MAX_TARGETS)
        return gp_errorf(err, "the model has %d per-node and %d per-graph targets; at most %d each are supported",
                         m->n_node_t, m->n_graph_t, BATCH_MAX_TARGETS);
    for (int level = 0; level < 2; level++) {
        int n = level ? m->n_graph_t : m->n_node_t;
        int *idx = level ? graph_t : node_t;
        char *const *names = level ? m->graph_t_names : m->node_t_names;
        char *const *units = level ? m->graph_t_units : m->node_t_units;
        for (int t = 0; t < n; t++) {
            idx[t] = dataset_find_target(d, names[t], level ? LABEL_GRAPH : LABEL_NODE);
            /* Labels in another unit would be scored, or adapted to, as if
             * they were in the model's: a factor of 1000 for us and ms. */
            if (idx[t] >= 0 && strcmp(d->targets[idx[t]].unit, units[t]))
                return gp_errorf(err,
                                 "%s target '%s' is in '%s' in the data and in '%s' in the model: pack the labels "
                                 "in '%s'",
                                 level ? "per-graph" : "per-node", names[t], d->targets[idx[t]].unit, units[t],
                                 units[t]);
        }
    }
    return 0;
}

batch_spec checkpoint_batch_spec(const checkpoint_meta *m, const int *node_t, const int *graph_t, int max_batch,
                                 int32_t n_dev, const int32_t *model_dev, const int32_t *data_dev,
                                 const float *dev_desc)
{
    int K = m->cfg.n_descriptors;
    batch_spec bs = {
        .max_batch_graphs = max_batch,
        .feat_mean = m->feat_mean,
        .feat_std = m->feat_std,
        .n_node_t = m->n_node_t,
        .n_graph_t = m->n_graph_t,
        .node_targets = node_t,
        .graph_targets = graph_t,
        .node_mu = m->node_mu,
        .node_sigma = m->node_sigma,
        .graph_mu = m->graph_mu,
        .graph_sigma = m->graph_sigma,
        .n_dev = n_dev,
        .model_dev = model_dev,
        .data_dev = data_dev,
        .n_desc = K,
        .dev_desc = K ? dev_desc : NULL,
    };
    return bs;
}

int checkpoint_prior_spec(batch_spec *bs, const checkpoint_meta *m, const double *all_rates, char *const *dev_names,
                          int32_t n_dev, const int32_t *model_dev, double *rates, unsigned char *node_f,
                          unsigned char *graph_f, gp_error *err)
{
    bs->prior = &m->prior;
    bs->prior_rates = rates;
    bs->node_prior_t = node_f;
    bs->graph_prior_t = graph_f;
    int any = 0;
    for (int t = 0; t < m->n_node_t; t++) any |= node_f[t] = (unsigned char)prior_applies(&m->prior, m->node_t_units[t]);
    for (int t = 0; t < m->n_graph_t; t++)
        any |= graph_f[t] = (unsigned char)prior_applies(&m->prior, m->graph_t_units[t]);
    if (!any) return 0;
    if (!all_rates) return gp_errorf(err, "the model's %s prior has no device rates", prior_kind_name(m->prior.kind));
    for (int32_t j = 0; j < n_dev; j++) {
        rates[2 * j] = all_rates[2 * model_dev[j]];
        rates[2 * j + 1] = all_rates[2 * model_dev[j] + 1];
        if (prior_check_rates(&m->prior, rates + 2 * j, dev_names[model_dev[j]], err) != 0) return -1;
    }
    return 0;
}

/* The columns of p's devices that the checkpoint flags for its source
 * heads (gnn/source_heads.h), predicted again with those heads in place of
 * the model's own: the same model and batches (the heads do not touch the
 * layers, so the embeddings stand), then the model's heads restored. */
static int predict_source_heads(const checkpoint_meta *meta, model *m, batcher *b, const int64_t *ids, int64_t n,
                                const predict_options *po, const int32_t *model_dev, predictions *p, gp_error *err)
{
    int32_t n_dev = p->n_dev, any = 0;
    for (int32_t j = 0; j < n_dev && meta->dev_source_heads; j++) any |= meta->dev_source_heads[model_dev[j]];
    if (!any || meta->heads.n == 0) return 0;
    source_heads own;
    memset(&own, 0, sizeof own);
    predictions q;
    memset(&q, 0, sizeof q);
    predict_options qo = *po;
    qo.want_embeddings = 0;
    int rc = -1;
    for (int32_t k = 0; k < meta->heads.n; k++) {
        int i = params_find(&m->params, meta->heads.names[k]);
        if (i >= 0 && source_heads_add(&own, meta->heads.names[k], param_value(&m->params, i),
                                       param_count(&m->params, i), err) != 0)
            goto out;
    }
    if (source_heads_apply(&meta->heads, &m->params, err) != 0) goto out;
    int qrc = predict_run(&q, m, b, ids, n, &qo, err);
    source_heads_apply(&own, &m->params, err); /* the same tensors, read from this model: cannot fail */
    if (qrc != 0) goto out;
    const int Tg = p->Tg, Tn = p->Tn;
    for (int32_t j = 0; j < n_dev; j++) {
        if (!meta->dev_source_heads[model_dev[j]]) continue;
        for (int64_t i = 0; i < p->n_graphs; i++)
            for (int t = 0; t < Tg; t++) p->graph_pred[(i * n_dev + j) * Tg + t] = q.graph_pred[(i * n_dev + j) * Tg + t];
        for (int64_t v = 0; v < p->n_nodes; v++)
            for (int t = 0; t < Tn; t++) p->node_pred[(v * n_dev + j) * Tn + t] = q.node_pred[(v * n_dev + j) * Tn + t];
    }
    rc = 0;
out:
    predictions_free(&q);
    source_heads_free(&own);
    return rc;
}

/* Predictions of the checkpoint's model, each device with the heads the
 * checkpoint flags for it. */
static int predict_plain(const char *path, const checkpoint_meta *meta, const dataset *d, const int64_t *ids,
                         int64_t n, int32_t n_dev, const int32_t *model_dev, const int32_t *data_dev, int batch,
                         int want_emb, model *m, const predict_inspect *inspect, predictions *p, gp_error *err)
{
    unsigned char node_pf[BATCH_MAX_TARGETS], graph_pf[BATCH_MAX_TARGETS];
    int node_t[BATCH_MAX_TARGETS], graph_t[BATCH_MAX_TARGETS];
    batcher b;
    memset(&b, 0, sizeof b);
    float *desc = NULL;
    double *prior_rates = NULL;
    int64_t *all = NULL;
    int rc = -1;
    if (checkpoint_targets_in(meta, d, node_t, graph_t, err) != 0) {
        gp_error_prefix(err, "%s", path);
        goto out;
    }
    int K = meta->cfg.n_descriptors;
    if (!(desc = calloc((size_t)n_dev * K + 1, sizeof(float)))) {
        gp_errorf(err, "out of memory");
        goto out;
    }
    if (K) {
        float *norm = calloc((size_t)meta->n_devices * K, sizeof(float));
        if (!norm) {
            gp_errorf(err, "out of memory");
            goto out;
        }
        descriptor_normalise(norm, meta->desc_raw, meta->n_devices, K, meta->desc_mean, meta->desc_std);
        for (int32_t j = 0; j < n_dev; j++) memcpy(desc + j * K, norm + model_dev[j] * K, (size_t)K * sizeof(float));
        free(norm);
    }
    batch_spec bs = checkpoint_batch_spec(meta, node_t, graph_t, batch, n_dev, model_dev, data_dev, desc);
    if (!(prior_rates = malloc((size_t)(2 * n_dev + 1) * sizeof(double)))) {
        gp_errorf(err, "out of memory");
        goto out;
    }
    if (checkpoint_prior_spec(&bs, meta, meta->prior_rates, meta->device_names, n_dev, model_dev, prior_rates, node_pf,
                              graph_pf, err) != 0) {
        gp_error_prefix(err, "%s", path);
        goto out;
    }
    if (batcher_init(&b, d, &bs, err) != 0) goto out;
    if (inspect) inspect->fn(&b, inspect->ctx);
    if (model_build(m, &meta->cfg, &b.lim, err) != 0) goto out;
    if (WATCHED(path, checkpoint_read_params(path, &m->params, 0, err)) != 0) goto out;
    if (!ids) {
        n = d->graphs.n_graphs;
        if (!(all = malloc((size_t)(n + 1) * sizeof(int64_t)))) {
            gp_errorf(err, "out of memory");
            goto out;
        }
        for (int64_t g = 0; g < n; g++) all[g] = g;
        ids = all;
    }
    predict_options po = {batch, want_emb, LOSS_MSE_LOG, 1.0f, 1.0f};
    if (predict_run(p, m, &b, ids, n, &po, err) != 0) goto out;
    if (predict_source_heads(meta, m, &b, ids, n, &po, model_dev, p, err) != 0) {
        gp_error_prefix(err, "%s", path);
        goto out;
    }
    rc = 0;
out:
    batcher_free(&b);
    free(all);
    free(desc);
    free(prior_rates);
    return rc;
}

int checkpoint_apply_stack(const graph_stack *s, const char *src_path, const checkpoint_meta *src_meta,
                           const dataset *d, predictions *p, int32_t col, int batch, gp_error *err)
{
    const int Tg = p->Tg, P = stack_n_features(s);
    if (Tg != s->n_t)
        return gp_errorf(err, "%s: the stack covers %d graph targets, the model %d", src_path, s->n_t, Tg);
    for (int32_t k = 0; k < s->n_src; k++)
        if (!src_meta->dev_trained[s->src[k]])
            return gp_errorf(err, "%s: stack source device '%s' was never trained on", src_path,
                             src_meta->device_names[s->src[k]]);
    int32_t *data_dev = malloc((size_t)(s->n_src + 1) * sizeof(int32_t));
    double *x = malloc((size_t)(P + 1) * sizeof(double)), *sp = malloc((size_t)(s->n_src + 1) * sizeof(double));
    model m;
    predictions q;
    memset(&m, 0, sizeof m);
    memset(&q, 0, sizeof q);
    int rc = -1;
    if (!data_dev || !x || !sp) {
        gp_errorf(err, "out of memory");
        goto out;
    }
    for (int32_t k = 0; k < s->n_src; k++) data_dev[k] = -1;
    if (predict_plain(src_path, src_meta, d, p->graph_ids, p->n_graphs, s->n_src, s->src, data_dev, batch, 0, &m, NULL,
                      &q, err) != 0)
        goto out;
    for (int64_t i = 0; i < p->n_graphs; i++)
        for (int t = 0; t < Tg; t++) {
            if (!stack_has(s, t)) continue;
            for (int32_t k = 0; k < s->n_src; k++) sp[k] = q.graph_pred[(i * s->n_src + k) * Tg + t];
            stack_features(s, &d->graphs, p->graph_ids[i], sp, x);
            double *own = &p->graph_pred[(i * p->n_dev + col) * Tg + t];
            *own = stack_blend(s, t, *own, stack_predict(s, t, x));
        }
    rc = 0;
out:
    predictions_free(&q);
    model_free(&m);
    free(data_dev);
    free(x);
    free(sp);
    return rc;
}

int checkpoint_predict(const char *path, const checkpoint_meta *meta, const dataset *d, const int64_t *ids, int64_t n,
                       int32_t n_dev, const int32_t *model_dev, const int32_t *data_dev, int batch, int want_emb,
                       model *m, const predict_inspect *inspect, predictions *p, gp_error *err)
{
    if (predict_plain(path, meta, d, ids, n, n_dev, model_dev, data_dev, batch, want_emb, m, inspect, p, err) != 0)
        return -1;
    const graph_stack *s = meta->stack;
    if (!s) return 0;
    for (int32_t j = 0; j < n_dev; j++)
        if (!strcmp(meta->device_names[model_dev[j]], s->device) &&
            checkpoint_apply_stack(s, path, meta, d, p, j, batch, err) != 0)
            return -1;
    return 0;
}
