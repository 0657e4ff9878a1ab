#include "predict.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void predictions_free(predictions *p)
{
    free(p->graph_ids);
    free(p->node_first);
    free(p->graph_pred);
    free(p->graph_true);
    free(p->node_pred);
    free(p->node_true);
    free(p->graph_emb);
    free(p->node_emb);
    free(p->graph_spread);
    free(p->node_spread);
    memset(p, 0, sizeof *p);
}

/* ln of a prediction; one that underflowed to 0 counts as the smallest
 * positive double rather than poisoning the mean. */
static double ln_pred(double x) { return isnan(x) ? NAN : log(fmax(x, DBL_MIN)); }

/* Welford's update of the running mean and sum of squared deviations of
 * ln(member) over n members (n counts this one). */
static void add_logs(double *mean, double *m2, const double *member, int64_t len, int n)
{
    for (int64_t i = 0; i < len; i++) {
        double l = ln_pred(member[i]);
        if (n == 1) {
            mean[i] = l;
            m2[i] = 0.0;
            continue;
        }
        double delta = l - mean[i];
        mean[i] += delta / n;
        m2[i] += delta * (l - mean[i]);
    }
}

int predict_ensemble_add(predict_ensemble *ens, predictions *member, gp_error *err)
{
    predictions *p = &ens->p;
    int64_t ng = member->n_graphs * member->n_dev * member->Tg, nn = member->n_nodes * member->n_dev * member->Tn;
    if (ens->n_members == 0) {
        double *gm2 = malloc((size_t)(ng + 1) * sizeof(double)), *nm2 = malloc((size_t)(nn + 1) * sizeof(double));
        if (!gm2 || !nm2) {
            free(gm2);
            free(nm2);
            return gp_errorf(err, "out of memory for the ensemble");
        }
        *p = *member;
        memset(member, 0, sizeof *member);
        ens->graph_m2 = gm2;
        ens->node_m2 = nm2;
        /* The first member's prediction arrays become the running means. */
        add_logs(p->graph_pred, gm2, p->graph_pred, ng, 1);
        add_logs(p->node_pred, nm2, p->node_pred, nn, 1);
        ens->n_members = 1;
        return 0;
    }
    if (member->n_graphs != p->n_graphs || member->n_nodes != p->n_nodes || member->n_dev != p->n_dev ||
        member->Tg != p->Tg || member->Tn != p->Tn ||
        memcmp(member->graph_ids, p->graph_ids, (size_t)p->n_graphs * sizeof(int64_t)))
        return gp_errorf(err, "this ensemble member predicted other graphs, devices or targets than the first");
    ens->n_members++;
    add_logs(p->graph_pred, ens->graph_m2, member->graph_pred, ng, ens->n_members);
    add_logs(p->node_pred, ens->node_m2, member->node_pred, nn, ens->n_members);
    return 0;
}

/* mean of ln -> geometric mean; m2 -> population standard deviation of ln. */
static void finish_logs(double *mean, double *m2, int64_t len, int n)
{
    for (int64_t i = 0; i < len; i++) {
        mean[i] = exp(mean[i]);
        m2[i] = isnan(m2[i]) ? NAN : sqrt(fmax(m2[i], 0.0) / n);
    }
}

void predict_ensemble_finish(predict_ensemble *ens, predictions *out)
{
    predictions *p = &ens->p;
    if (ens->n_members > 0) {
        finish_logs(p->graph_pred, ens->graph_m2, p->n_graphs * p->n_dev * p->Tg, ens->n_members);
        finish_logs(p->node_pred, ens->node_m2, p->n_nodes * p->n_dev * p->Tn, ens->n_members);
        p->graph_spread = ens->graph_m2;
        p->node_spread = ens->node_m2;
        ens->graph_m2 = ens->node_m2 = NULL;
    }
    *out = *p;
    memset(ens, 0, sizeof *ens);
}

void predict_ensemble_free(predict_ensemble *ens)
{
    predictions_free(&ens->p);
    free(ens->graph_m2);
    free(ens->node_m2);
    memset(ens, 0, sizeof *ens);
}

int predict_run(predictions *out, model *m, batcher *b, const int64_t *ids, int64_t n, const predict_options *o,
                gp_error *err)
{
    memset(out, 0, sizeof *out);
    const graph_set *s = &b->d->graphs;
    int32_t D = b->n_dev;
    int Tn = m->cfg.n_node_targets, Tg = m->cfg.n_graph_targets, H = m->cfg.hidden;
    int64_t total_nodes = 0;
    for (int64_t k = 0; k < n; k++) total_nodes += graph_nodes_in(s, ids[k]);
    out->n_graphs = n;
    out->n_nodes = total_nodes;
    out->n_dev = D;
    out->Tn = Tn;
    out->Tg = Tg;
    out->H = H;
    size_t ng = (size_t)(n * D * Tg + 1), nn = (size_t)(total_nodes * D * Tn + 1);
    out->graph_ids = malloc((size_t)(n + 1) * sizeof(int64_t));
    out->node_first = malloc((size_t)(n + 1) * sizeof(int64_t));
    out->graph_pred = malloc(ng * sizeof(double));
    out->graph_true = malloc(ng * sizeof(double));
    out->node_pred = malloc(nn * sizeof(double));
    out->node_true = malloc(nn * sizeof(double));
    if (o->want_embeddings) {
        out->graph_emb = malloc((size_t)(n * H + 1) * sizeof(float));
        out->node_emb = malloc((size_t)(total_nodes * H + 1) * sizeof(float));
    }
    if (!out->graph_ids || !out->node_first || !out->graph_pred || !out->graph_true || !out->node_pred ||
        !out->node_true || (o->want_embeddings && (!out->graph_emb || !out->node_emb))) {
        predictions_free(out);
        return gp_errorf(err, "out of memory for predictions of %lld graphs", (long long)n);
    }
    memcpy(out->graph_ids, ids, (size_t)n * sizeof(int64_t));
    out->node_first[0] = 0;
    for (int64_t k = 0; k < n; k++) out->node_first[k + 1] = out->node_first[k] + graph_nodes_in(s, ids[k]);

    int64_t bs = o->batch_graphs > 0 ? o->batch_graphs : 1;
    if (bs > b->lim.max_graphs) bs = b->lim.max_graphs;
    double loss_sum = 0.0;
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += bs) {
        int64_t cnt = n - start < bs ? n - start : bs;
        gnn_batch gb;
        batcher_fill(b, ids + start, cnt, &gb);
        if (model_forward(m, &gb, err) != 0) {
            predictions_free(out);
            return -1;
        }
        double L = 0.0;
        int64_t node_labels = 0, graph_labels = 0;
        if (Tn)
            L += loss_term(m->d_node_out, &node_labels, m->node_out, b->node_y, gb.n_nodes * D, Tn, b->node_sigma,
                           o->loss_kind, o->node_weight);
        if (Tg)
            L += loss_term(m->d_graph_out, &graph_labels, m->graph_out, b->graph_y, cnt * D, Tg, b->graph_sigma,
                           o->loss_kind, o->graph_weight);
        /* A batch without labels says nothing about the model: counting its
         * 0 would pull the mean toward a perfect score. */
        if (node_labels + graph_labels > 0) {
            loss_sum += L;
            batches++;
            out->n_labelled += node_labels + graph_labels;
        }
        int64_t row0 = out->node_first[start];
        for (int64_t r = 0; r < gb.n_nodes * D; r++)
            for (int t = 0; t < Tn; t++) {
                size_t k = (size_t)((row0 * D + r) * Tn + t);
                float lp = batcher_node_lp(b, r, t);
                out->node_pred[k] = target_to_label(m->node_out[r * Tn + t], b->node_mu[t], b->node_sigma[t], lp);
                float y = b->node_y[r * Tn + t];
                out->node_true[k] = isnan(y) ? NAN : target_to_label(y, b->node_mu[t], b->node_sigma[t], lp);
            }
        for (int64_t r = 0; r < cnt * D; r++)
            for (int t = 0; t < Tg; t++) {
                size_t k = (size_t)((start * D + r) * Tg + t);
                float lp = batcher_graph_lp(b, r, t);
                out->graph_pred[k] = target_to_label(m->graph_out[r * Tg + t], b->graph_mu[t], b->graph_sigma[t], lp);
                float y = b->graph_y[r * Tg + t];
                out->graph_true[k] = isnan(y) ? NAN : target_to_label(y, b->graph_mu[t], b->graph_sigma[t], lp);
            }
        if (o->want_embeddings) {
            memcpy(out->node_emb + row0 * H, model_node_embeddings(m), (size_t)(gb.n_nodes * H) * sizeof(float));
            /* The graph embedding is what the graph head reads (the pooled
             * vector); with the additive readout (the head reads nodes) and
             * without a graph head, the mean of the node rows. */
            for (int64_t g = 0; g < cnt; g++) {
                float *e = out->graph_emb + (start + g) * H;
                if (Tg) {
                    memcpy(e, m->pooled + g * H, (size_t)H * sizeof(float));
                    continue;
                }
                memset(e, 0, (size_t)H * sizeof(float));
                int64_t a = gb.graph_off[g], z = gb.graph_off[g + 1];
                for (int64_t v = a; v < z; v++)
                    for (int c = 0; c < H; c++) e[c] += model_node_embeddings(m)[v * H + c] / (float)(z - a);
            }
        }
    }
    out->loss = batches ? loss_sum / (double)batches : 0.0;
    return 0;
}
