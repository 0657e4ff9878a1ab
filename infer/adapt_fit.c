#include "adapt_fit.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../gnn/loss.h"
#include "../gnn/optim.h"
#include "../gnn/predict.h"

int adapt_fine_tune(model *m, batcher *b, const int64_t *ids, int64_t n, const adapt_tuning *t, double *first,
                    double *last, gp_error *err)
{
    param_store *ps = &m->params;
    const int De = m->cfg.device_dim, Tn = m->cfg.n_node_targets, Tg = m->cfg.n_graph_targets;
    adam_config ac;
    adam_config_defaults(&ac);
    ac.lr = t->lr;
    memset(ps->adam_m, 0, (size_t)ps->size * sizeof(float));
    memset(ps->adam_v, 0, (size_t)ps->size * sizeof(float));
    *first = *last = NAN;
    if (De > 1024) return gp_errorf(err, "device embedding of %d columns (at most 1024 supported)", De);
    /* Shots go through in batches of ADAPT_BATCH; each batch's loss is a
     * mean over its labels, so weighting it by its share of all labels makes
     * the step the mean over every shot (a short last batch would otherwise
     * weigh as much as a full one). */
    const int64_t n_batches = (n + ADAPT_BATCH - 1) / ADAPT_BATCH;
    double *share = calloc((size_t)(2 * n_batches + 2), sizeof(double));
    if (!share) return gp_errorf(err, "out of memory");
    double labels[2] = {0.0, 0.0};
    for (int64_t k = 0; k < n_batches; k++) {
        int64_t b0 = k * ADAPT_BATCH, cnt = n - b0 < ADAPT_BATCH ? n - b0 : ADAPT_BATCH;
        gnn_batch gb;
        batcher_fill(b, ids + b0, cnt, &gb);
        for (int64_t i = 0; i < gb.n_nodes * Tn; i++) share[2 * k] += !isnan(b->node_y[i]);
        for (int64_t i = 0; i < cnt * Tg; i++) share[2 * k + 1] += !isnan(b->graph_y[i]);
        labels[0] += share[2 * k];
        labels[1] += share[2 * k + 1];
    }
    for (int64_t k = 0; k < n_batches; k++)
        for (int l = 0; l < 2; l++) share[2 * k + l] = labels[l] > 0 ? share[2 * k + l] / labels[l] : 0.0;
    for (int step = 1; step <= t->steps; step++) {
        double L = 0;
        for (int64_t k = 0; k < n_batches; k++) {
            int64_t b0 = k * ADAPT_BATCH, cnt = n - b0 < ADAPT_BATCH ? n - b0 : ADAPT_BATCH;
            gnn_batch gb;
            batcher_fill(b, ids + b0, cnt, &gb);
            if (model_forward(m, &gb, err) != 0) {
                free(share);
                return -1;
            }
            if (Tn)
                L += loss_term(m->d_node_out, NULL, m->node_out, b->node_y, gb.n_nodes, Tn, b->node_sigma,
                               LOSS_MSE_LOG, (float)share[2 * k]);
            if (Tg)
                L += loss_term(m->d_graph_out, NULL, m->graph_out, b->graph_y, cnt, Tg, b->graph_sigma, LOSS_MSE_LOG,
                               (float)share[2 * k + 1]);
            if (b0 == 0) params_zero_grad(ps);
            model_backward(m, &gb);
        }
        if (step == 1) *first = L;
        *last = L;
        /* Freeze: zero every gradient but the movable ones, and within the
         * embedding every row but the device's. */
        for (int i = 0; i < ps->n_tensors; i++) {
            float *g = param_grad(ps, i);
            if (!t->movable[i]) {
                memset(g, 0, (size_t)param_count(ps, i) * sizeof(float));
            } else if (i == m->dev_emb) {
                float keep[1024];
                memcpy(keep, g + (size_t)t->dev_row * De, (size_t)De * sizeof(float));
                memset(g, 0, (size_t)param_count(ps, i) * sizeof(float));
                memcpy(g + (size_t)t->dev_row * De, keep, (size_t)De * sizeof(float));
            }
        }
        /* Anchor: the heads' gradient gains anchor * (theta - theta_trained), a
         * pull toward the source model that keeps 10 samples from bending
         * the heads far from what thousands of graphs taught them. */
        if (t->anchor0 && t->anchor > 0)
            for (int i = 0; i < ps->n_tensors; i++) {
                if (!t->movable[i] || i == m->dev_emb) continue;
                float *g = param_grad(ps, i);
                const float *w = param_value(ps, i), *w0 = t->anchor0 + ps->t[i].offset;
                for (int64_t k = 0; k < param_count(ps, i); k++) g[k] += t->anchor * (w[k] - w0[k]);
            }
        adam_step(ps, &ac, step, ac.lr);
    }
    free(share);
    return 0;
}

int adapt_stack_design(model *m, batcher *b_src, const graph_set *gs, const graph_stack *s, const int64_t *shots,
                       int64_t n, double *X, gp_error *err)
{
    const int Tg = s->n_t, P = stack_n_features(s);
    predictions q;
    memset(&q, 0, sizeof q);
    double *sp = malloc((size_t)(s->n_src + 1) * sizeof(double));
    predict_options po = {64, 0, LOSS_MSE_LOG, 1.0f, 1.0f};
    int rc = -1;
    if (!sp) {
        gp_errorf(err, "out of memory");
        goto done;
    }
    if (predict_run(&q, m, b_src, shots, n, &po, err) != 0) goto done;
    if (q.n_dev != s->n_src || q.Tg != Tg) {
        gp_errorf(err, "stack design: %d devices and %d targets predicted, the stack has %d and %d", (int)q.n_dev, q.Tg,
                  (int)s->n_src, Tg);
        goto done;
    }
    for (int t = 0; t < Tg; t++)
        for (int64_t i = 0; i < n; i++) {
            for (int32_t k = 0; k < s->n_src; k++) sp[k] = q.graph_pred[(i * s->n_src + k) * Tg + t];
            stack_features(s, gs, shots[i], sp, X + (t * n + i) * P);
        }
    rc = 0;
done:
    predictions_free(&q);
    free(sp);
    return rc;
}

int adapt_fit_stack(graph_stack *s, const double *X, const double *Y, int64_t n_shots, const int64_t *rows,
                    int64_t n_rows, gp_error *err)
{
    const int P = stack_n_features(s), Tg = s->n_t;
    double *Xt = malloc((size_t)(n_rows * P + 1) * sizeof(double)), *yt = malloc((size_t)(n_rows + 1) * sizeof(double));
    int rc = -1;
    if (!Xt || !yt) {
        gp_errorf(err, "out of memory");
        goto done;
    }
    for (int t = 0; t < Tg; t++) {
        int64_t n = 0;
        for (int64_t k = 0; k < n_rows; k++) {
            double v = Y[rows[k] * Tg + t];
            if (!(v > 0) || !isfinite(v)) continue;
            memcpy(Xt + n * P, X + (t * n_shots + rows[k]) * P, (size_t)P * sizeof(double));
            yt[n++] = v;
        }
        if (stack_fit(s, t, Xt, yt, n, err) != 0) goto done;
    }
    rc = 0;
done:
    free(Xt);
    free(yt);
    return rc;
}

/* Shares tried for a blend. */
#define N_SHARES 11

int adapt_choose_blend(model *m, batcher *b, const adapt_tuning *t, const float *start, graph_stack *s,
                       const int64_t *shots, int64_t n, const double *X, const double *Y, double *cv_rmse,
                       gp_error *err)
{
    const int Tg = s->n_t, P = stack_n_features(s);
    const int K = n < ADAPT_BLEND_FOLDS ? (int)n : ADAPT_BLEND_FOLDS;
    param_store *ps = &m->params;
    /* Per shot and target: the held-out ln predictions of the model and
     * the stack (NaN where there is none). */
    double *own = malloc((size_t)(n * Tg + 1) * sizeof(double)), *stk = malloc((size_t)(n * Tg + 1) * sizeof(double));
    int64_t *fit_rows = malloc((size_t)(n + 1) * sizeof(int64_t)), *held_rows = malloc((size_t)(n + 1) * sizeof(int64_t));
    int64_t *held_ids = malloc((size_t)(n + 1) * sizeof(int64_t)), *fit_ids = malloc((size_t)(n + 1) * sizeof(int64_t));
    predictions p;
    memset(&p, 0, sizeof p);
    int rc = -1;
    if (!own || !stk || !fit_rows || !held_rows || !held_ids || !fit_ids) {
        gp_errorf(err, "out of memory");
        goto done;
    }
    if (n < ADAPT_BLEND_MIN_SHOTS) {
        gp_errorf(err, "a blend is chosen by cross-validation on at least %d shots; %lld given", ADAPT_BLEND_MIN_SHOTS,
                  (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n * Tg; i++) own[i] = stk[i] = NAN;
    for (int f = 0; f < K; f++) {
        /* Fold f: every K-th shot from the f-th, so that shots listed in
         * groups (random ones, then fixed references) spread over the folds. */
        int64_t nf = 0, nh = 0;
        for (int64_t i = 0; i < n; i++) {
            if (i % K == f) {
                held_rows[nh] = i;
                held_ids[nh++] = shots[i];
            } else {
                fit_rows[nf] = i;
                fit_ids[nf++] = shots[i];
            }
        }
        memcpy(ps->value, start, (size_t)ps->size * sizeof(float));
        double l0, l1;
        if (adapt_fine_tune(m, b, fit_ids, nf, t, &l0, &l1, err) != 0) goto done;
        predict_options po = {64, 0, LOSS_MSE_LOG, 1.0f, 1.0f};
        if (predict_run(&p, m, b, held_ids, nh, &po, err) != 0) goto done;
        if (adapt_fit_stack(s, X, Y, n, fit_rows, nf, err) != 0) goto done;
        for (int64_t k = 0; k < nh; k++)
            for (int tt = 0; tt < Tg; tt++) {
                double v = p.graph_pred[(k * p.n_dev + 0) * Tg + tt];
                own[held_rows[k] * Tg + tt] = log(v > 0 ? v : DBL_MIN);
                if (stack_has(s, tt))
                    stk[held_rows[k] * Tg + tt] = log(stack_predict(s, tt, X + (tt * n + held_rows[k]) * P));
            }
        predictions_free(&p);
    }
    memcpy(ps->value, start, (size_t)ps->size * sizeof(float));
    for (int tt = 0; tt < Tg; tt++) {
        double sse[N_SHARES] = {0}, sq4[N_SHARES] = {0};
        int64_t used = 0;
        for (int64_t i = 0; i < n; i++) {
            double y = Y[i * Tg + tt], a = own[i * Tg + tt], c = stk[i * Tg + tt];
            if (!(y > 0) || !isfinite(y) || isnan(a) || isnan(c)) continue;
            used++;
            for (int k = 0; k < N_SHARES; k++) {
                double w = k / (double)(N_SHARES - 1), e = w * a + (1 - w) * c - log(y);
                sse[k] += e * e;
                sq4[k] += e * e * e * e;
            }
        }
        /* The one-standard-error rule: the smallest model share whose
         * cross-validated error is within one standard error of the
         * smallest. Twenty shots' errors are noisy (whole-millisecond labels
         * above all), and the stack, whose own ridge weight has passed a
         * leave-one-out check, is the default that the heads must beat. */
        int best = 0;
        for (int k = 1; k < N_SHARES; k++)
            if (sse[k] < sse[best] * (1 - 1e-12)) best = k;
        if (used > 1) {
            double mean = sse[best] / (double)used, var = sq4[best] / (double)used - mean * mean;
            double bound = mean + sqrt((var > 0 ? var : 0) / (double)used);
            for (int k = 0; k < best; k++)
                if (sse[k] / (double)used <= bound) {
                    best = k;
                    break;
                }
        }
        s->model_share[tt] = used ? best / (double)(N_SHARES - 1) : 0.0;
        if (cv_rmse) {
            cv_rmse[tt * 3 + 0] = used ? sqrt(sse[N_SHARES - 1] / (double)used) : NAN;
            cv_rmse[tt * 3 + 1] = used ? sqrt(sse[0] / (double)used) : NAN;
            cv_rmse[tt * 3 + 2] = used ? sqrt(sse[best] / (double)used) : NAN;
        }
    }
    rc = 0;
done:
    predictions_free(&p);
    free(own);
    free(stk);
    free(fit_rows);
    free(held_rows);
    free(held_ids);
    free(fit_ids);
    return rc;
}
