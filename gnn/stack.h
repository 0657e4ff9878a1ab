/* stack: a few-shot whole-graph calibration for a new device.
 *
 * Ten or twenty measured graphs of a new device cannot retrain a network,
 * but they can fit a handful of coefficients. A stack predicts a graph's
 * latency on the new device as
 *
 *   ln y = c0 + sum_d c_d * ln yhat_d(g) + c_f * ln(1 + FLOPs(g))
 *          + c_b * ln(1 + bytes(g)) + sum_k c_k * count_k(g)
 *
 * where yhat_d are the model's own predictions for the devices it was
 * trained on (how fast the graph runs on each of them), FLOPs and bytes the
 * graph's totals from the cost model (graph/cost.h: what a device that
 * behaves like none of them, an accelerator bound by arithmetic, follows)
 * and count_k the number of nodes of op class k (kind, element-wise
 * function, kernel height) in the graph: how much of each kind of work it
 * holds, which is what devices disagree about. The coefficients come from ridge regression
 * on the shots with standardised features, the ridge weight chosen by
 * leave-one-out error (the features are standardised once over all the
 * shots, so the left-out shot still sets each column's scale and with it
 * its penalty; that makes loo_rmse a little optimistic with 10-20 shots,
 * and only the choice of the ridge weight can feel it: the blend's
 * cross-validation refits everything per fold); the ridge pulls the source weights toward equal
 * shares (1 / number of sources) and the class weights toward 0, so that a
 * heavy ridge falls back to the trained devices' mean ranking times a
 * constant. Neither feature needs the new device's model
 * outputs, so the fit is not fooled by a device embedding that was itself
 * fitted to the same shots.
 *
 * A blend (gnnadapt --method blend) also keeps the model's own prediction
 * for the device, adapted to the same shots, and gives
 *
 *   ln y_blend = w * ln yhat_own(g) + (1 - w) * ln y_stack(g)
 *
 * with the share w chosen per target by cross-validation on the shots:
 * the two err differently (the adapted heads follow the graph's structure,
 * the stack the trained devices' ranking), and their geometric mean is
 * better than either wherever neither is clearly ahead. w = 0 is a plain
 * stack. A blend moves the heads that also predict the sources; the
 * checkpoint keeps the source model's values (gnn/source_heads.h), so the
 * sources are still predicted as the stack was fitted.
 *
 * One stack belongs to one device and covers the model's graph targets
 * (each fitted separately; a target with too few labelled shots has none).
 * Per-node predictions are untouched. Stored in checkpoints as /stack
 * (docs/checkpoint-format.md). */
#ifndef GP_STACK_H
#define GP_STACK_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "../graph/graph.h"

/* Fewest labelled shots a target's stack is fitted from. */
#define STACK_MIN_SHOTS 3

typedef struct graph_stack {
    char *device;                /* the device whose graph predictions it gives */
    int32_t n_src;
    int32_t *src;                /* (n_src) model device ids whose predictions are features */
    int32_t n_cls;
    int32_t *cls_kind, *cls_fn, *cls_kernel; /* (n_cls) op classes counted */
    int n_t;                     /* graph targets (the model's, in its order) */
    double *coef;                /* (n_t, 1 + stack_n_features): intercept, then weights; NaN rows: no stack */
    double *alpha;               /* (n_t) chosen ridge weight (on standardised features) */
    double *loo_rmse;            /* (n_t) leave-one-out RMSE of ln y at that weight */
    int32_t *n_shots;            /* (n_t) shots it was fitted on */
    double *model_share;         /* (n_t) w of the blend, in [0, 1]; 0: the stack alone */
} graph_stack;

/* Features per graph: the n_src source predictions, STACK_N_COST cost
 * totals (ln(1 + FLOPs), ln(1 + bytes)), then the n_cls class counts. */
#define STACK_N_COST 2
static inline int32_t stack_n_features(const graph_stack *s) { return s->n_src + STACK_N_COST + s->n_cls; }

/* An empty stack for device with sources src (copied) and n_t targets;
 * every row unfitted. Returns NULL when out of memory. */
graph_stack *stack_create(const char *device, const int32_t *src, int32_t n_src, int n_t);
void stack_free(graph_stack *s);

/* Sets the op classes: every (kind, fn, kernel height) of the nodes of
 * graphs ids[0..n) whose count differs between those graphs (a class
 * every graph holds equally often carries no information there). Graph
 * input and output markers are not counted. */
int stack_choose_classes(graph_stack *s, const graph_set *gs, const int64_t *ids, int64_t n, gp_error *err);

/* The feature row x (stack_n_features) of graph g: ln of the source
 * predictions src_pred (n_src, in label units; values <= 0 count as the
 * smallest positive double), the cost totals, then the class counts. */
void stack_features(const graph_stack *s, const graph_set *gs, int64_t g, const double *src_pred, double *x);

/* Fits target t from n feature rows X (n, n_features) and labels y (label
 * units, > 0). n < STACK_MIN_SHOTS leaves the row unfitted and returns 0. */
int stack_fit(graph_stack *s, int t, const double *X, const double *y, int64_t n, gp_error *err);

/* Whether target t has a fitted row. */
int stack_has(const graph_stack *s, int t);

/* The stack's prediction for target t in label units from feature row x. */
double stack_predict(const graph_stack *s, int t, const double *x);

/* The blend of target t: the model's own prediction own and the stack's
 * stacked (both in label units) combined with the target's model share. */
double stack_blend(const graph_stack *s, int t, double own, double stacked);

/* Checks the stack against a model with n_devices devices and n_t graph
 * targets (after reading it from a file). */
int stack_validate(const graph_stack *s, int32_t n_devices, int n_t, gp_error *err);

#endif
