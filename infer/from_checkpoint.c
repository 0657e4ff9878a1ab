#include "from_checkpoint.h"

int checkpoint_targets_in(const checkpoint_meta *m, const dataset *d, int *node_t, int *graph_t, gp_error *err)
{
    if (m->n_node_t > BATCH_MAX_TARGETS || m->n_graph_t > BATCH_MAX_TARGETS)
        return gp_errorf(err, "the model has %d per-node and %d per-graph targets; at most %d each are supported",
                         m->n_node_t, m->n_graph_t, BATCH_MAX_TARGETS);
    for (int t = 0; t < m->n_node_t; t++) node_t[t] = dataset_find_target(d, m->node_t_names[t], LABEL_NODE);
    for (int t = 0; t < m->n_graph_t; t++) graph_t[t] = dataset_find_target(d, m->graph_t_names[t], LABEL_GRAPH);
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
