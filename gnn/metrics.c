#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair {
    double a, b;
} pair;

/* A value and its position: qsort has no context argument, so the key
 * travels with the index (no file-level state; callers may run at once). */
typedef struct keyed {
    double key;
    int64_t i;
} keyed;

static int cmp_keyed(const void *x, const void *y)
{
    double a = ((const keyed *)x)->key, b = ((const keyed *)y)->key;
    return (a > b) - (a < b);
}

/* Average ranks (1-based), ties share the mean of their positions. */
static int ranks(double *r, const double *v, int64_t n)
{
    keyed *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    if (!idx) return -1;
    for (int64_t i = 0; i < n; i++) idx[i] = (keyed){v[i], i};
    qsort(idx, (size_t)n, sizeof *idx, cmp_keyed);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && idx[j + 1].key == idx[i].key) j++;
        double avg = 0.5 * (double)(i + j) + 1.0;
        for (int64_t k = i; k <= j; k++) r[idx[k].i] = avg;
        i = j + 1;
    }
    free(idx);
    return 0;
}

double spearman_rho(const double *a, const double *b, int64_t n)
{
    if (n < 2) return NAN;
    double *ra = malloc((size_t)n * sizeof(double)), *rb = malloc((size_t)n * sizeof(double));
    double rho = NAN;
    if (ra && rb && ranks(ra, a, n) == 0 && ranks(rb, b, n) == 0) {
        /* Pearson correlation of the ranks: exact with ties. */
        double ma = 0, mb = 0;
        for (int64_t i = 0; i < n; i++) {
            ma += ra[i];
            mb += rb[i];
        }
        ma /= (double)n;
        mb /= (double)n;
        double sab = 0, saa = 0, sbb = 0;
        for (int64_t i = 0; i < n; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        rho = (saa > 0 && sbb > 0) ? sab / sqrt(saa * sbb) : NAN;
    }
    free(ra);
    free(rb);
    return rho;
}

static int cmp_pair(const void *x, const void *y)
{
    const pair *p = x, *q = y;
    if (p->a != q->a) return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}

/* Counts inversions of v[lo..hi) by merge sort (Knight's algorithm). */
static int64_t merge_count(double *v, double *tmp, int64_t lo, int64_t hi)
{
    if (hi - lo < 2) return 0;
    int64_t mid = lo + (hi - lo) / 2;
    int64_t s = merge_count(v, tmp, lo, mid) + merge_count(v, tmp, mid, hi);
    int64_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi) {
        if (v[j] < v[i]) {
            s += mid - i;
            tmp[k++] = v[j++];
        } else {
            tmp[k++] = v[i++];
        }
    }
    while (i < mid) tmp[k++] = v[i++];
    while (j < hi) tmp[k++] = v[j++];
    memcpy(v + lo, tmp + lo, (size_t)(hi - lo) * sizeof(double));
    return s;
}

/* Pairs tied within runs of equal keys (keys sorted). */
static int64_t tied_pairs(const double *v, int64_t n)
{
    int64_t t = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && v[j + 1] == v[i]) j++;
        int64_t c = j - i + 1;
        t += c * (c - 1) / 2;
        i = j + 1;
    }
    return t;
}

double kendall_tau_b(const double *a, const double *b, int64_t n)
{
    if (n < 2) return NAN;
    pair *p = malloc((size_t)n * sizeof *p);
    double *v = malloc((size_t)n * sizeof(double)), *tmp = malloc((size_t)n * sizeof(double));
    double tau = NAN;
    if (p && v && tmp) {
        for (int64_t i = 0; i < n; i++) p[i] = (pair){a[i], b[i]};
        qsort(p, (size_t)n, sizeof *p, cmp_pair);
        /* ties in a, and joint ties in (a, b) */
        int64_t n1 = 0, n3 = 0;
        for (int64_t i = 0; i < n;) {
            int64_t j = i;
            while (j + 1 < n && p[j + 1].a == p[i].a) j++;
            int64_t c = j - i + 1;
            n1 += c * (c - 1) / 2;
            for (int64_t k = i; k <= j;) {
                int64_t l = k;
                while (l + 1 <= j && p[l + 1].b == p[k].b) l++;
                int64_t cc = l - k + 1;
                n3 += cc * (cc - 1) / 2;
                k = l + 1;
            }
            i = j + 1;
        }
        for (int64_t i = 0; i < n; i++) v[i] = p[i].b;
        /* Within a tie block of a, b is sorted, so those pairs add no swaps. */
        int64_t swaps = merge_count(v, tmp, 0, n);
        int64_t n2 = tied_pairs(v, n); /* v is now b sorted */
        int64_t n0 = n * (n - 1) / 2;
        double conc_minus_disc = (double)(n0 - n1 - n2 + n3) - 2.0 * (double)swaps;
        double den = sqrt((double)(n0 - n1) * (double)(n0 - n2));
        tau = den > 0 ? conc_minus_disc / den : NAN;
    }
    free(p);
    free(v);
    free(tmp);
    return tau;
}

int metrics_compute(metrics *out, const double *pred, const double *y, int64_t n)
{
    memset(out, 0, sizeof *out);
    double *pp = malloc((size_t)(n > 0 ? n : 1) * sizeof(double)), *yy = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    if (!pp || !yy) {
        free(pp);
        free(yy);
        return -1;
    }
    int64_t m = 0, m_pos = 0;
    double ape = 0, sl = 0;
    int64_t w5 = 0, w10 = 0;
    int64_t n_nan = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(y[i])) continue;
        if (isnan(pred[i])) {
            n_nan++;
            m_pos += y[i] > 0;   /* a miss in the within shares */
            continue;
        }
        pp[m] = pred[i];
        yy[m] = y[i];
        m++;
        if (y[i] > 0) {
            double r = pred[i] / y[i] - 1.0;
            ape += fabs(r);
            w5 += fabs(r) <= 0.05 + 1e-12; /* the boundary in both directions despite rounding */
            w10 += fabs(r) <= 0.10 + 1e-12;
            double l = log(fmax(pred[i], 1e-30)) - log(y[i]);
            sl += l * l;
            m_pos++;
        }
    }
    out->n = m + n_nan;
    out->n_nan = n_nan;
    out->mape = m_pos && !n_nan ? 100.0 * ape / (double)m_pos : NAN;
    out->rmse_log = m_pos && !n_nan ? sqrt(sl / (double)m_pos) : NAN;
    out->within5 = m_pos ? 100.0 * (double)w5 / (double)m_pos : NAN;
    out->within10 = m_pos ? 100.0 * (double)w10 / (double)m_pos : NAN;
    out->spearman = n_nan ? NAN : spearman_rho(pp, yy, m);
    out->kendall = n_nan ? NAN : kendall_tau_b(pp, yy, m);
    free(pp);
    free(yy);
    return 0;
}
