/* optim: AdamW with global-norm gradient clipping and a learning-rate
 * schedule (linear warm-up, then constant or cosine decay).
 *
 * Works on a param_store's flat slabs: value, grad, adam_m and adam_v share
 * one layout, so a step is one loop. Weight decay (decoupled, as AdamW)
 * applies to matrices only (rows > 1 and cols > 1): decaying biases, norm
 * gains or a 1-wide output layer's weights toward 0 only hurts. */
#ifndef GP_OPTIM_H
#define GP_OPTIM_H

#include <stdint.h>

#include "params.h"

typedef enum lr_schedule { LR_CONSTANT = 0, LR_COSINE = 1 } lr_schedule;

typedef struct adam_config {
    float lr;             /* peak learning rate */
    float beta1, beta2, eps;
    float weight_decay;   /* decoupled; 0 turns AdamW into Adam */
    float clip_norm;      /* global gradient norm limit; <= 0: no clipping */
    int64_t warmup_steps;
    int64_t total_steps;  /* for the cosine schedule */
    int schedule;         /* lr_schedule */
    float min_lr_ratio;   /* cosine floor as a fraction of lr */
} adam_config;

/* lr 1e-3, betas (0.9, 0.999), eps 1e-8, no decay, no clipping, constant. */
void adam_config_defaults(adam_config *c);

/* Learning rate at step (1-based). */
float adam_lr_at(const adam_config *c, int64_t step);

/* Global L2 norm of all gradients; if above max_norm (> 0), scales them
 * down to it. Returns the norm before clipping. */
double grad_clip(param_store *p, float max_norm);

/* One AdamW update with bias correction for step (1-based) at rate lr. */
void adam_step(param_store *p, const adam_config *c, int64_t step, float lr);

#endif
