/* adapt_fit: the fitting steps of gnnadapt, apart from its command line.
 *
 * Fine-tuning moves a chosen set of parameter tensors (the new device's
 * embedding row, optionally both heads) on a few labelled graphs; the
 * stack (gnn/stack.h) is refitted on any subset of the shots from a design
 * matrix built once; a blend's model share is chosen by K-fold
 * cross-validation that repeats both fits without each fold's shots.
 * Everything here returns errors; nothing prints. */
#ifndef GP_ADAPT_FIT_H
#define GP_ADAPT_FIT_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "../datasets/batch.h"
#include "../gnn/model.h"
#include "../gnn/stack.h"

typedef struct adapt_tuning {
    const uint8_t *movable;      /* (n_tensors) 1: the tensor moves */
    int32_t dev_row;             /* the one row of the device embedding that moves */
    float anchor;                /* L2 pull of the moving tensors (but the embedding) toward anchor0 */
    const float *anchor0;        /* (params size) or NULL */
    int steps;
    float lr;
} adapt_tuning;

/* Graphs per forward pass of the fine-tuning; the batcher b passed to
 * adapt_fine_tune must take batches this large. */
#define ADAPT_BATCH 64

/* Adam on the batcher's targets (per-node and whole-graph, log MSE) of
 * graphs ids[0..n), from fresh optimizer moments; only the movable
 * parameters change. Each step follows the mean loss over all the graphs'
 * labels, whatever the number of batches. first/last get the loss of the
 * first and last step (NaN with 0 steps). m must be prepared for training. */
int adapt_fine_tune(model *m, batcher *b, const int64_t *ids, int64_t n, const adapt_tuning *t, double *first,
                    double *last, gp_error *err);

/* The stack's features of graphs shots[0..n) into X (n_t x n x
 * stack_n_features(s): the source predictions are per target), the source
 * predictions from model m (the source model) run through b_src, a
 * batcher over the stack's source devices in the stack's order. */
int adapt_stack_design(model *m, batcher *b_src, const graph_set *gs, const graph_stack *s, const int64_t *shots,
                       int64_t n, double *X, gp_error *err);

/* Fits every graph target of s on the shots rows[0..n_rows) (indices
 * into X and Y) of n_shots: X as adapt_stack_design makes it, Y the n_t
 * labels per shot (n_shots x n_t; NaN or <= 0: unlabelled, skipped). */
int adapt_fit_stack(graph_stack *s, const double *X, const double *Y, int64_t n_shots, const int64_t *rows,
                    int64_t n_rows, gp_error *err);

/* Folds of a blend's cross-validation: min(ADAPT_BLEND_FOLDS, shots). */
#define ADAPT_BLEND_FOLDS 5
/* Fewest shots a blend is chosen from. */
#define ADAPT_BLEND_MIN_SHOTS 5

/* Sets s->model_share per target: the share w in {0, 0.1, ..., 1} of the
 * blend w * ln(own) + (1 - w) * ln(stack), the smallest whose mean squared
 * error of ln y on held-out folds is within one standard error of the
 * smallest such error. For each fold of shots[0..n) the model is
 * fine-tuned (from parameter values start, with t) on the other folds and
 * gives the fold's own predictions (batcher b: the new device), and a
 * stack is fitted on the other folds. X and Y as for adapt_fit_stack (X
 * from the source model: the stack's features do not move with the
 * heads). cv_rmse (n_t x 3, may be NULL) gets the cross-validated RMSE of
 * ln y of the model alone, the stack alone and the chosen blend (NaN for a
 * target without enough labelled shots, whose share is 0). On return the
 * parameters are back at start and the stack must be refitted. */
int adapt_choose_blend(model *m, batcher *b, const adapt_tuning *t, const float *start, graph_stack *s,
                       const int64_t *shots, int64_t n, const double *X, const double *Y, double *cv_rmse,
                       gp_error *err);

#endif
