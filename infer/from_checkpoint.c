#include "from_checkpoint.h"

void checkpoint_targets_in(const checkpoint_meta *m, const dataset *d, int *node_t, int *graph_t)
{
    for (int t = 0; t < m->n_node_t; t++) node_t[t] = dataset_find_target(d, m->node_t_names[t], LABEL_NODE);
    for (int t = 0; t < m->n_graph_t; t++) graph_t[t] = dataset_find_target(d, m->graph_t_names[t], LABEL_GRAPH);
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
