#include "optim.h"

#include <math.h>

void adam_config_defaults(adam_config *c)
{
    c->lr = 1e-3f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = 0.0f;
    c->clip_norm = 0.0f;
    c->warmup_steps = 0;
    c->total_steps = 0;
    c->schedule = LR_CONSTANT;
    c->min_lr_ratio = 0.0f;
}

float adam_lr_at(const adam_config *c, int64_t step)
{
    if (c->warmup_steps > 0 && step <= c->warmup_steps) return c->lr * (float)step / (float)c->warmup_steps;
    if (c->schedule == LR_COSINE && c->total_steps > c->warmup_steps) {
        double t = (double)(step - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
        if (t > 1.0) t = 1.0;
        double floor_ = c->min_lr_ratio;
        return (float)(c->lr * (floor_ + (1.0 - floor_) * 0.5 * (1.0 + cos(3.141592653589793 * t))));
    }
    return c->lr;
}

double grad_clip(param_store *p, float max_norm)
{
    double ss = 0.0;
    for (int64_t k = 0; k < p->size; k++) ss += (double)p->grad[k] * p->grad[k];
    double norm = sqrt(ss);
    if (max_norm > 0.0f && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (int64_t k = 0; k < p->size; k++) p->grad[k] *= s;
    }
    return norm;
}

void adam_step(param_store *p, const adam_config *c, int64_t step, float lr)
{
    float b1 = c->beta1, b2 = c->beta2;
    float c1 = 1.0f - powf(b1, (float)step), c2 = 1.0f - powf(b2, (float)step);
    for (int i = 0; i < p->n_tensors; i++) {
        const param_tensor *t = &p->t[i];
        int64_t n = (int64_t)t->rows * t->cols;
        float *w = p->value + t->offset, *g = p->grad + t->offset;
        float *m = p->adam_m + t->offset, *v = p->adam_v + t->offset;
        float decay = (t->rows > 1 && t->cols > 1) ? lr * c->weight_decay : 0.0f;
        for (int64_t k = 0; k < n; k++) {
            m[k] = b1 * m[k] + (1.0f - b1) * g[k];
            v[k] = b2 * v[k] + (1.0f - b2) * g[k] * g[k];
            float mh = m[k] / c1, vh = v[k] / c2;
            w[k] -= lr * mh / (sqrtf(vh) + c->eps) + decay * w[k];
        }
    }
}
