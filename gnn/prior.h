/* prior: an analytic latency estimate per (node, device) that the model
 * learns to correct instead of learning latency from scratch.
 *
 * Without a prior, a latency label y is learnt as t = (ln y - mu) / sigma
 * (gnn/loss.h). With one, a target whose unit is "ms" is learnt as
 *   t = (ln y - ln prior - mu) / sigma,   y_hat = prior * exp(sigma p + mu)
 * so the network predicts a log efficiency, and predictions for larger
 * shapes or faster devices follow the analytic scaling where the network
 * has nothing to say (its output tends to the training mean, which without
 * a prior is a typical latency, with one a typical efficiency).
 *
 * roofline, per node:
 *   prior_ms = max(flops / peak, bytes / bandwidth) + floor_ms
 * roofline_sum, per node:
 *   prior_ms = flops / peak + bytes / bandwidth + floor_ms
 * with flops and bytes from graph/cost.h (bytes = activations in and out
 * plus parameters) and peak (GFLOP/s) and bandwidth (GB/s) read from two
 * named device descriptors. The floor is a per-op fixed cost (dispatch,
 * launch) and keeps ops with no work (views, markers) finite. A graph's
 * prior is the sum of its nodes'. Targets in other units (ratios) are
 * learnt as before.
 *
 * The sum assumes no overlap of compute and memory traffic. Neither law is
 * exact; what matters is which one's errors the network can learn from the
 * trained devices and carry to others. The max puts a kernel near the
 * ridge point on one side or the other and makes its prior depend on one
 * rate only, so a device whose peak and bandwidth moved apart (a new GPU)
 * shifts such kernels by the one rate the max picked; the sum moves every
 * kernel by both rates in proportion to its two times. On NeuSight's three
 * held-out GPUs it predicted better, on the training GPUs left out one at a
 * time no better overall (README, NeuSight): choose per dataset. */
#ifndef GP_PRIOR_H
#define GP_PRIOR_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "../graph/cost.h"
#include "../graph/graph.h"

typedef enum prior_kind { PRIOR_NONE = 0, PRIOR_ROOFLINE, PRIOR_ROOFLINE_SUM, PRIOR_KIND_COUNT } prior_kind;

#define PRIOR_NAME_MAX 64

typedef struct cost_prior {
    int kind;                    /* prior_kind */
    char peak[PRIOR_NAME_MAX];   /* descriptor holding peak GFLOP/s */
    char bw[PRIOR_NAME_MAX];     /* descriptor holding memory bandwidth, GB/s */
    double floor_ms;             /* fixed cost per node, ms (> 0) */
} cost_prior;

/* none, peak_gflops, mem_bw_gbs, floor 0.002 ms. */
void cost_prior_defaults(cost_prior *p);
const char *prior_kind_name(int k);
int prior_kind_from_name(const char *name);
/* Checks the kind, both names and the floor; the message names the field. */
int cost_prior_validate(const cost_prior *p, gp_error *err);

/* Whether a target in this unit is learnt relative to the prior. */
int prior_applies(const cost_prior *p, const char *unit);

/* One device's rates from its raw descriptor row: rates[0] = FLOP per ms,
 * rates[1] = bytes per ms. NaN when a descriptor is absent, unknown or not
 * positive (callers decide whether that is an error). */
void prior_device_rates(const cost_prior *p, char *const *desc_names, int n_desc, const double *desc_row,
                        double rates[2]);

/* Fails with a message naming the device and the descriptor when a rate of
 * a device that needs the prior is missing. */
int prior_check_rates(const cost_prior *p, const double rates[2], const char *device, gp_error *err);

/* prior_ms of a node with this cost (finite: absurd shapes are clamped). */
double prior_cost_ms(const cost_prior *p, const node_cost *c, const double rates[2]);

/* ln(prior_ms) of node i (global index) of a validated graph_set on a
 * device with the given rates. */
double prior_node_log(const cost_prior *p, const graph_set *s, int64_t i, const double rates[2]);

/* ln of the graph prior (sum over its nodes). */
double prior_graph_log(const cost_prior *p, const graph_set *s, int64_t g, const double rates[2]);

#endif
