#include "stack.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../graph/cost.h"
#include "../graph/ops.h"

/* Ridge weights tried, on standardised features and centred ln labels.
 * Below 0.1 the leave-one-out choice overfits 20 shots (HELP's NAS-Bench-201
 * devices: mean rho 0.934 with 0.001..1000, 0.940 with 0.1..100). */
static const double ALPHAS[] = {0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0};
#define N_ALPHAS ((int)(sizeof ALPHAS / sizeof ALPHAS[0]))

graph_stack *stack_create(const char *device, const int32_t *src, int32_t n_src, int n_t)
{
    graph_stack *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->device = strdup(device);
    s->n_src = n_src;
    s->src = malloc((size_t)(n_src + 1) * sizeof(int32_t));
    s->n_t = n_t;
    s->coef = malloc((size_t)(n_t * (1 + n_src + STACK_N_COST) + 1) * sizeof(double));
    s->alpha = malloc((size_t)(n_t + 1) * sizeof(double));
    s->loo_rmse = malloc((size_t)(n_t + 1) * sizeof(double));
    s->n_shots = calloc((size_t)n_t + 1, sizeof(int32_t));
    s->model_share = calloc((size_t)n_t + 1, sizeof(double));
    if (!s->device || !s->src || !s->coef || !s->alpha || !s->loo_rmse || !s->n_shots || !s->model_share) {
        stack_free(s);
        return NULL;
    }
    if (n_src) memcpy(s->src, src, (size_t)n_src * sizeof(int32_t));
    for (int i = 0; i < n_t * (1 + n_src + STACK_N_COST); i++) s->coef[i] = NAN;
    for (int t = 0; t < n_t; t++) s->alpha[t] = s->loo_rmse[t] = NAN;
    return s;
}

void stack_free(graph_stack *s)
{
    if (!s) return;
    free(s->device);
    free(s->src);
    free(s->cls_kind);
    free(s->cls_fn);
    free(s->cls_kernel);
    free(s->coef);
    free(s->alpha);
    free(s->loo_rmse);
    free(s->n_shots);
    free(s->model_share);
    free(s);
}

/* Index of node v's class among the nc classes (kind, fn, ker), or -1. */
static int32_t find_class(const int32_t *kind, const int32_t *fn, const int32_t *ker, int32_t nc, const graph_node *v)
{
    for (int32_t k = 0; k < nc; k++)
        if (kind[k] == v->kind && fn[k] == v->fn && ker[k] == v->kernel[0]) return k;
    return -1;
}

int stack_choose_classes(graph_stack *s, const graph_set *gs, const int64_t *ids, int64_t n, gp_error *err)
{
    /* Every class seen, then per class the smallest and largest count. */
    int32_t cap = 16, nc = 0;
    int32_t *kind = malloc((size_t)cap * sizeof(int32_t)), *fn = malloc((size_t)cap * sizeof(int32_t)),
            *ker = malloc((size_t)cap * sizeof(int32_t));
    int64_t *lo = NULL, *hi = NULL, *cnt = NULL;
    int rc = -1;
    if (!kind || !fn || !ker) goto oom;
    for (int64_t i = 0; i < n; i++)
        for (int64_t v = gs->node_off[ids[i]]; v < gs->node_off[ids[i] + 1]; v++) {
            const graph_node *a = &gs->nodes[v];
            if (a->kind == OP_INPUT || a->kind == OP_OUTPUT) continue;
            if (find_class(kind, fn, ker, nc, a) >= 0) continue;
            if (nc == cap) {
                cap *= 2;
                int32_t *k2 = realloc(kind, (size_t)cap * sizeof(int32_t));
                if (k2) kind = k2;
                int32_t *f2 = realloc(fn, (size_t)cap * sizeof(int32_t));
                if (f2) fn = f2;
                int32_t *r2 = realloc(ker, (size_t)cap * sizeof(int32_t));
                if (r2) ker = r2;
                if (!k2 || !f2 || !r2) goto oom;
            }
            kind[nc] = a->kind;
            fn[nc] = a->fn;
            ker[nc] = a->kernel[0];
            nc++;
        }
    lo = malloc((size_t)(nc + 1) * sizeof(int64_t));
    hi = calloc((size_t)nc + 1, sizeof(int64_t));
    cnt = malloc((size_t)(nc + 1) * sizeof(int64_t));
    if (!lo || !hi || !cnt) goto oom;
    for (int32_t k = 0; k < nc; k++) lo[k] = INT64_MAX;
    for (int64_t i = 0; i < n; i++) {
        memset(cnt, 0, (size_t)nc * sizeof(int64_t));
        for (int64_t v = gs->node_off[ids[i]]; v < gs->node_off[ids[i] + 1]; v++) {
            int32_t k = find_class(kind, fn, ker, nc, &gs->nodes[v]);
            if (k >= 0) cnt[k]++;
        }
        for (int32_t k = 0; k < nc; k++) {
            if (cnt[k] < lo[k]) lo[k] = cnt[k];
            if (cnt[k] > hi[k]) hi[k] = cnt[k];
        }
    }
    int32_t kept = 0;
    for (int32_t k = 0; k < nc; k++)
        if (hi[k] > lo[k]) {
            kind[kept] = kind[k];
            fn[kept] = fn[k];
            ker[kept] = ker[k];
            kept++;
        }
    /* Rows grow by the class columns. */
    const int row = 1 + s->n_src + STACK_N_COST + kept;
    double *coef = malloc((size_t)(s->n_t * row + 1) * sizeof(double));
    if (!coef) goto oom;
    for (int i = 0; i < s->n_t * row; i++) coef[i] = NAN;
    free(s->coef);
    s->coef = coef;
    free(s->cls_kind);
    free(s->cls_fn);
    free(s->cls_kernel);
    s->cls_kind = kind;
    s->cls_fn = fn;
    s->cls_kernel = ker;
    s->n_cls = kept;
    kind = fn = ker = NULL;
    for (int t = 0; t < s->n_t; t++) s->alpha[t] = s->loo_rmse[t] = NAN;
    rc = 0;
    goto done;
oom:
    gp_errorf(err, "out of memory");
done:
    free(kind);
    free(fn);
    free(ker);
    free(lo);
    free(hi);
    free(cnt);
    return rc;
}

void stack_features(const graph_stack *s, const graph_set *gs, int64_t g, const double *src_pred, double *x)
{
    for (int32_t d = 0; d < s->n_src; d++) x[d] = log(src_pred[d] > 0 ? src_pred[d] : DBL_MIN);
    double flops = 0, bytes = 0, *c = x + s->n_src + STACK_N_COST;
    memset(c, 0, (size_t)s->n_cls * sizeof(double));
    for (int64_t v = gs->node_off[g]; v < gs->node_off[g + 1]; v++) {
        node_cost nc;
        graph_node_cost(gs, v, &nc);
        flops += nc.flops;
        bytes += node_cost_bytes(&nc);
        int32_t k = find_class(s->cls_kind, s->cls_fn, s->cls_kernel, s->n_cls, &gs->nodes[v]);
        if (k >= 0) c[k] += 1.0;
    }
    x[s->n_src] = log1p(flops);
    x[s->n_src + 1] = log1p(bytes);
}

/* Solves (A + alpha I) w = b for symmetric positive semi-definite A (p x p,
 * row-major, not modified) by Cholesky; work holds p * p doubles. alpha >
 * 0 keeps the factorisation positive definite. */
static void ridge_solve(const double *A, const double *b, int p, double alpha, double *work, double *w)
{
    double *L = work;
    for (int i = 0; i < p; i++)
        for (int j = 0; j <= i; j++) {
            double v = A[i * p + j] + (i == j ? alpha : 0.0);
            for (int k = 0; k < j; k++) v -= L[i * p + k] * L[j * p + k];
            L[i * p + j] = i == j ? sqrt(v > 0 ? v : DBL_MIN) : v / L[j * p + j];
        }
    for (int i = 0; i < p; i++) {
        double v = b[i];
        for (int k = 0; k < i; k++) v -= L[i * p + k] * w[k];
        w[i] = v / L[i * p + i];
    }
    for (int i = p - 1; i >= 0; i--) {
        double v = w[i];
        for (int k = i + 1; k < p; k++) v -= L[k * p + i] * w[k];
        w[i] = v / L[i * p + i];
    }
}

/* Ridge on rows where use[i] (Z standardised, n x p; y centred or not):
 * centres on those rows, solves, and returns the prediction for row j
 * when j >= 0, else leaves the weights in w and the means in zm / ym. */
static double ridge_rows(const double *Z, const double *y, int64_t n, int p, const unsigned char *use, double alpha,
                         double *A, double *bvec, double *work, double *zm, double *ym, double *w, int64_t j)
{
    int64_t m = 0;
    *ym = 0;
    memset(zm, 0, (size_t)p * sizeof(double));
    for (int64_t i = 0; i < n; i++)
        if (use[i]) {
            m++;
            *ym += y[i];
            for (int a = 0; a < p; a++) zm[a] += Z[i * p + a];
        }
    *ym /= (double)m;
    for (int a = 0; a < p; a++) zm[a] /= (double)m;
    memset(A, 0, (size_t)p * p * sizeof(double));
    memset(bvec, 0, (size_t)p * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        if (!use[i]) continue;
        const double *z = Z + i * p;
        double r = y[i] - *ym;
        for (int a = 0; a < p; a++) {
            double za = z[a] - zm[a];
            bvec[a] += za * r;
            for (int c = 0; c <= a; c++) A[a * p + c] += za * (z[c] - zm[c]);
        }
    }
    for (int a = 0; a < p; a++)
        for (int c = a + 1; c < p; c++) A[a * p + c] = A[c * p + a];
    ridge_solve(A, bvec, p, alpha, work, w);
    if (j < 0) return 0;
    double pred = *ym;
    for (int a = 0; a < p; a++) pred += w[a] * (Z[j * p + a] - zm[a]);
    return pred;
}

int stack_fit(graph_stack *s, int t, const double *X, const double *y, int64_t n, gp_error *err)
{
    const int P = stack_n_features(s);
    double *row = s->coef + (size_t)t * (1 + P);
    for (int a = 0; a <= P; a++) row[a] = NAN;
    s->alpha[t] = s->loo_rmse[t] = NAN;
    s->n_shots[t] = (int32_t)n;
    if (n < STACK_MIN_SHOTS) return 0;
    for (int64_t i = 0; i < n; i++)
        if (!(y[i] > 0) || !isfinite(y[i]))
            return gp_errorf(err, "stack: label %lld is not a positive number", (long long)i);

    /* Standardise; constant columns are left out (weight 0). */
    int *col = malloc((size_t)(P + 1) * sizeof(int));
    double *mean = calloc((size_t)P + 1, sizeof(double)), *sd = calloc((size_t)P + 1, sizeof(double));
    if (!col || !mean || !sd) {
        free(col);
        free(mean);
        free(sd);
        return gp_errorf(err, "out of memory");
    }
    for (int a = 0; a < P; a++) {
        for (int64_t i = 0; i < n; i++) mean[a] += X[i * P + a];
        mean[a] /= (double)n;
        for (int64_t i = 0; i < n; i++) sd[a] += (X[i * P + a] - mean[a]) * (X[i * P + a] - mean[a]);
        sd[a] = sqrt(sd[a] / (double)n);
    }
    int p = 0;
    for (int a = 0; a < P; a++)
        if (sd[a] > 1e-9 * (1.0 + fabs(mean[a]))) col[p++] = a;
    double *Z = malloc((size_t)(n * p + 1) * sizeof(double)), *ly = malloc((size_t)n * sizeof(double));
    double *A = malloc((size_t)(p * p + 1) * sizeof(double)), *work = malloc((size_t)(p * p + 1) * sizeof(double));
    double *bvec = malloc((size_t)(p + 1) * sizeof(double)), *zm = malloc((size_t)(p + 1) * sizeof(double));
    double *w = malloc((size_t)(p + 1) * sizeof(double));
    unsigned char *use = malloc((size_t)n);
    int rc = 0;
    if (!Z || !ly || !A || !work || !bvec || !zm || !w || !use) {
        rc = gp_errorf(err, "out of memory");
        goto done;
    }
    /* The ridge pulls toward "the mean of the source devices' ln
     * predictions, plus a constant" rather than toward a constant: with few
     * or noisy shots a strong ridge then still ranks graphs as the trained
     * devices do. Source weights are fitted as deviations from 1 / n_src. */
    const double w_src = s->n_src ? 1.0 / s->n_src : 0.0;
    for (int64_t i = 0; i < n; i++) {
        ly[i] = log(y[i]);
        for (int32_t d = 0; d < s->n_src; d++) ly[i] -= w_src * X[i * P + d];
        for (int a = 0; a < p; a++) Z[i * p + a] = (X[i * P + col[a]] - mean[col[a]]) / sd[col[a]];
    }
    /* Leave-one-out error per ridge weight; the smallest wins (the larger
     * weight on ties). */
    double best = INFINITY, best_alpha = ALPHAS[N_ALPHAS - 1], ym;
    for (int ai = 0; ai < N_ALPHAS; ai++) {
        double sse = 0;
        for (int64_t j = 0; j < n; j++) {
            memset(use, 1, (size_t)n);
            use[j] = 0;
            double e = ridge_rows(Z, ly, n, p, use, ALPHAS[ai], A, bvec, work, zm, &ym, w, j) - ly[j];
            sse += e * e;
        }
        if (sse <= best * (1 + 1e-12)) {
            best = sse;
            best_alpha = ALPHAS[ai];
        }
    }
    memset(use, 1, (size_t)n);
    ridge_rows(Z, ly, n, p, use, best_alpha, A, bvec, work, zm, &ym, w, -1);
    /* Back to raw features: ln y = w_src * sum_d x_d + ym + sum_a w_a (x_a -
     * mean_a) / sd_a (the standardised columns have mean zero over all
     * shots, zm = 0). */
    for (int a = 0; a < P; a++) row[1 + a] = a < s->n_src ? w_src : 0.0;
    double c0 = ym;
    for (int a = 0; a < p; a++) {
        double c = w[a] / sd[col[a]];
        row[1 + col[a]] += c;
        c0 -= c * (mean[col[a]] + zm[a] * sd[col[a]]);
    }
    row[0] = c0;
    s->alpha[t] = best_alpha;
    s->loo_rmse[t] = sqrt(best / (double)n);
done:
    free(col);
    free(mean);
    free(sd);
    free(Z);
    free(ly);
    free(A);
    free(work);
    free(bvec);
    free(zm);
    free(w);
    free(use);
    return rc;
}

int stack_has(const graph_stack *s, int t)
{
    return t >= 0 && t < s->n_t && !isnan(s->coef[(size_t)t * (1 + stack_n_features(s))]);
}

double stack_predict(const graph_stack *s, int t, const double *x)
{
    const int P = stack_n_features(s);
    const double *row = s->coef + (size_t)t * (1 + P);
    double v = row[0];
    for (int a = 0; a < P; a++) v += row[1 + a] * x[a];
    /* A linear model can extrapolate past what a double holds. */
    if (v > 700) v = 700;
    return exp(v);
}

double stack_blend(const graph_stack *s, int t, double own, double stacked)
{
    const double w = s->model_share[t];
    if (!(w > 0)) return stacked;
    return exp(w * log(own > 0 ? own : DBL_MIN) + (1.0 - w) * log(stacked > 0 ? stacked : DBL_MIN));
}

int stack_validate(const graph_stack *s, int32_t n_devices, int n_t, gp_error *err)
{
    if (!s->device || !s->device[0]) return gp_errorf(err, "stack: no device name");
    if (s->n_t != n_t)
        return gp_errorf(err, "stack: %d target rows where the model has %d graph targets", s->n_t, n_t);
    if (s->n_src < 1 || s->n_cls < 0)
        return gp_errorf(err, "stack: %d source devices and %d op classes (at least one source needed)", (int)s->n_src,
                         (int)s->n_cls);
    for (int32_t d = 0; d < s->n_src; d++)
        if (s->src[d] < 0 || s->src[d] >= n_devices)
            return gp_errorf(err, "stack: source device id %d is outside the model's 0..%d", (int)s->src[d],
                             (int)n_devices - 1);
    for (int32_t k = 0; k < s->n_cls; k++)
        if (!op_kind_name(s->cls_kind[k]) || !op_fn_name(s->cls_fn[k]) || s->cls_kernel[k] < 1)
            return gp_errorf(err, "stack: op class %d is not a known kind, function and kernel", (int)k);
    const int P = stack_n_features(s);
    for (int t = 0; t < n_t; t++) {
        const double *row = s->coef + (size_t)t * (1 + P);
        int nan = isnan(row[0]);
        for (int a = 0; a <= P; a++)
            if (isnan(row[a]) != nan || isinf(row[a]))
                return gp_errorf(err, "stack: coefficient row %d mixes numbers with NaN or holds an infinity", t);
        if (!(s->model_share[t] >= 0 && s->model_share[t] <= 1))
            return gp_errorf(err, "stack: model share %g of target %d is not in [0, 1]", s->model_share[t], t);
    }
    return 0;
}
