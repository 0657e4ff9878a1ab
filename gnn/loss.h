/* loss: training objectives on latency-like targets.
 *
 * Labels span decades (a 5 us ReLU, a 50 ms network), so the model works in
 * a standardised log space: t = (ln(y) - mu) / sigma per target, mu and
 * sigma from the training labels (stored in checkpoints). A prediction p in
 * that space means y_hat = exp(sigma p + mu). NaN targets are "not
 * measured" and masked out: they contribute neither loss nor gradient.
 *
 *  LOSS_MSE_LOG  mean of (p - t)^2: squared error of log, scale-free
 *  LOSS_REL_SQ   mean of (y_hat / y - 1)^2 = (exp(sigma (p - t)) - 1)^2:
 *                squared relative error, what MAPE-style metrics reward
 *  LOSS_HUBER_LOG  Huber on (p - t) with delta 1: robust to outlier labels */
#ifndef GP_LOSS_H
#define GP_LOSS_H

#include <stdint.h>

typedef enum loss_kind { LOSS_MSE_LOG = 0, LOSS_REL_SQ, LOSS_HUBER_LOG, LOSS_KIND_COUNT } loss_kind;

const char *loss_kind_name(int k);
int loss_kind_from_name(const char *name);

/* One loss term over R rows of T targets (pairs row-major, as the model's
 * outputs). Returns weight * mean over measured entries, writes
 * grad = d(returned value)/d(pred) (all entries; zero where unmeasured),
 * and the number of measured entries. sigma (T) is each target's scale.
 * R * T == 0 or nothing measured gives 0 and a zero gradient. */
double loss_term(float *grad, int64_t *n_measured, const float *pred, const float *target, int64_t R, int T,
                 const float *sigma, int kind, float weight);

#endif
