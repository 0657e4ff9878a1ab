/* Accuracy metrics against values computed with SciPy 1.10
 * (scipy.stats.spearmanr, scipy.stats.kendalltau (tau-b)) on the same data. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "gnn/metrics.h"
#include "check_run.h"

START_TEST(test_rank_metrics_with_ties)
{
    double a[] = {1.0, 2.0, 2.0, 3.5, 0.5, 4.0, 4.0, 7.0};
    double b[] = {1.1, 1.9, 2.5, 3.0, 0.7, 5.0, 3.0, 3.0};
    /* 1e-12: both are exact formulas on 8 values; only rounding differs. */
    ck_assert_double_eq_tol(spearman_rho(a, b, 8), 0.9013032569427506, 1e-12);
    ck_assert_double_eq_tol(kendall_tau_b(a, b, 8), 0.8236877675803729, 1e-12);
    ck_assert_double_eq_tol(spearman_rho(a, a, 8), 1.0, 1e-12);
    double rev[8];
    for (int i = 0; i < 8; i++) rev[i] = -a[i];
    ck_assert_double_eq_tol(kendall_tau_b(a, rev, 8), -1.0, 1e-12);
    ck_assert(isnan(spearman_rho(a, b, 1)));
    double flat[] = {3, 3, 3};
    ck_assert(isnan(kendall_tau_b(a, flat, 3)));
}
END_TEST

START_TEST(test_kendall_matches_quadratic)
{
    /* The O(n log n) algorithm against the O(n^2) definition on random data with ties. */
    enum { n = 300 };
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double));
    unsigned s = 12345;
    for (int i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = (double)((s >> 16) % 40);
        s = s * 1103515245u + 12345u;
        b[i] = a[i] * 0.5 + (double)((s >> 16) % 25);
    }
    double c = 0, d = 0, ta = 0, tb = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double x = (a[i] - a[j]) * (b[i] - b[j]);
            if (x > 0) c++;
            else if (x < 0) d++;
            else {
                if (a[i] == a[j] && b[i] != b[j]) ta++;
                if (b[i] == b[j] && a[i] != a[j]) tb++;
            }
        }
    double tau = (c - d) / sqrt((c + d + ta) * (c + d + tb));
    ck_assert_double_eq_tol(kendall_tau_b(a, b, n), tau, 1e-12);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_error_metrics)
{
    double p[] = {1.04, 2.0, 2.3, 3.0, 9.0}, y[] = {1.0, 2.5, 2.0, 3.0, NAN};
    metrics m;
    ck_assert_int_eq(metrics_compute(&m, p, y, 5), 0);
    ck_assert_int_eq(m.n, 4);
    ck_assert_double_eq_tol(m.mape, 9.75, 1e-9);
    ck_assert_double_eq_tol(m.rmse_log, 0.13310213124687983, 1e-12);
    ck_assert_double_eq_tol(m.within5, 50.0, 1e-12);  /* 1.04 and 3.0 */
    ck_assert_double_eq_tol(m.within10, 50.0, 1e-12); /* 2.0/2.5 is 20% off, 2.3/2.0 15% off */
    ck_assert_int_eq(m.n_nan, 0);
}
END_TEST

/* A NaN prediction of a measured value is a failure: two exact and two NaN
 * predictions must not read as a perfect model (they used to vanish: n 2,
 * MAPE 0, rho 1). */
START_TEST(test_nan_predictions_count)
{
    double p[] = {1.0, 2.0, NAN, NAN, NAN}, y[] = {1.0, 2.0, 3.0, 4.0, NAN};
    metrics m;
    ck_assert_int_eq(metrics_compute(&m, p, y, 5), 0);
    ck_assert_int_eq(m.n, 4);
    ck_assert_int_eq(m.n_nan, 2);
    ck_assert(isnan(m.mape) && isnan(m.rmse_log) && isnan(m.spearman) && isnan(m.kendall));
    ck_assert_double_eq_tol(m.within10, 50.0, 1e-12);
}
END_TEST

/* Exactly 10 % off counts as within 10 %, high or low (1.1 / 1.0 - 1 is
 * 0.10000000000000009 in doubles). */
START_TEST(test_within_boundary)
{
    double p[] = {1.1, 0.9, 3.15, 2.85}, y[] = {1.0, 1.0, 3.0, 3.0};
    metrics m;
    ck_assert_int_eq(metrics_compute(&m, p, y, 4), 0);
    ck_assert_double_eq_tol(m.within10, 100.0, 1e-12);
    ck_assert_double_eq_tol(m.within5, 50.0, 1e-12);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rank_metrics_with_ties);
    tcase_add_test(tc, test_kendall_matches_quadratic);
    tcase_add_test(tc, test_error_metrics);
    tcase_add_test(tc, test_nan_predictions_count);
    tcase_add_test(tc, test_within_boundary);
    suite_add_tcase(s, tc);
    return check_run(s);
}
