/* metrics: the accuracy measures latency-prediction papers report, on
 * paired (predicted, measured) values in the label's unit.
 *
 *  MAPE          mean |pred - y| / y, in percent
 *  RMSE (log)    root mean square of ln(pred) - ln(y): scale-free error
 *  Spearman rho  rank correlation (average ranks for ties), as HELP/NASFLAT
 *  Kendall tau   tau-b (tie-corrected), O(n log n)
 *  within 5/10%  share of predictions with |pred / y - 1| <= 5% / 10%
 *
 * Pairs whose measured value is NaN are skipped. A NaN prediction of a
 * measured value is a failure, not a gap: it counts in n and as a miss in
 * within 5/10%, and makes MAPE, RMSE and the rank metrics NaN, so a model
 * that diverges on some graphs cannot score better than one that is wrong
 * on them. Measured values <= 0 contribute to rank metrics only (MAPE, log
 * error and the within shares are over the measured values > 0). */
#ifndef GP_METRICS_H
#define GP_METRICS_H

#include <stdint.h>

typedef struct metrics {
    int64_t n;        /* pairs with a measured value */
    int64_t n_nan;    /* of them, predicted NaN */
    double mape;      /* percent */
    double rmse_log;
    double spearman;
    double kendall;
    double within5;   /* percent */
    double within10;  /* percent */
} metrics;

/* Computes every metric; returns -1 when its working arrays cannot be
 * allocated (the rank metrics are NaN when theirs cannot). With fewer than
 * 2 pairs the rank metrics are NaN. */
int metrics_compute(metrics *out, const double *pred, const double *y, int64_t n);

/* Spearman rho and Kendall tau-b alone (exposed for tests). */
double spearman_rho(const double *a, const double *b, int64_t n);
double kendall_tau_b(const double *a, const double *b, int64_t n);

#endif
