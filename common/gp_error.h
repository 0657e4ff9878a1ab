/* gp_error: the one way library code reports failure.
 *
 * Library functions (graph/, kernels/, gnn/, datasets/) never print and never
 * exit. They return a negative status and, when given a non-NULL gp_error,
 * fill it with one message that names the file, the object and the problem,
 * for example:
 *   "data.h5: /nodes/kind: expected 1-D integer dataset of 812 elements, found 2-D"
 * Only programs in train/, infer/ and datasets/gnndata.c print it. */
#ifndef GP_ERROR_H
#define GP_ERROR_H

#include <stddef.h>

#define GP_ERROR_MAX 1024

typedef struct gp_error {
    char msg[GP_ERROR_MAX];
} gp_error;

/* Sets the message (when err is non-NULL) and returns -1, so callers can write
 * `return gp_errorf(err, "...", ...);`. */
int gp_errorf(gp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "context: " to an existing message, for adding the file name or
 * the path of an enclosing object on the way up. Returns -1. */
int gp_error_prefix(gp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the message. */
void gp_error_clear(gp_error *err);

#endif
