#include "loss.h"

#include <math.h>
#include <string.h>

static const char *const NAMES[LOSS_KIND_COUNT] = {"mse_log", "rel_sq", "huber_log"};

const char *loss_kind_name(int k) { return k >= 0 && k < LOSS_KIND_COUNT ? NAMES[k] : NULL; }

int loss_kind_from_name(const char *name)
{
    for (int k = 0; k < LOSS_KIND_COUNT; k++)
        if (strcmp(name, NAMES[k]) == 0) return k;
    return -1;
}

double loss_term(float *grad, int64_t *n_measured, const float *pred, const float *target, int64_t R, int T,
                 const float *sigma, int kind, float weight)
{
    int64_t n = 0;
    for (int64_t k = 0; k < R * T; k++) n += !isnan(target[k]);
    if (n_measured) *n_measured = n;
    memset(grad, 0, (size_t)(R * T) * sizeof(float));
    if (n == 0) return 0.0;
    double total = 0.0, scale = (double)weight / (double)n;
    for (int64_t r = 0; r < R; r++) {
        for (int j = 0; j < T; j++) {
            int64_t k = r * T + j;
            if (isnan(target[k])) continue;
            double e = (double)pred[k] - (double)target[k], l, g;
            switch (kind) {
            case LOSS_REL_SQ: {
                /* Clamp the exponent: a wild early prediction must not
                 * overflow to inf and poison every parameter. */
                double z = sigma[j] * e;
                if (z > 20.0) z = 20.0;
                double q = exp(z);
                l = (q - 1.0) * (q - 1.0);
                g = 2.0 * (q - 1.0) * q * sigma[j];
                break;
            }
            case LOSS_HUBER_LOG:
                if (fabs(e) <= 1.0) {
                    l = 0.5 * e * e;
                    g = e;
                } else {
                    l = fabs(e) - 0.5;
                    g = e > 0 ? 1.0 : -1.0;
                }
                break;
            default:
                l = e * e;
                g = 2.0 * e;
            }
            total += l;
            grad[k] = (float)(g * scale);
        }
    }
    return total * scale;
}
