/* cost: analytic work of one IR node, computed from its attributes alone.
 *
 * FLOPs count a multiply-add as 2. Bytes are what the op must read and write
 * at least once: its inputs, its output and its parameters (weights read by
 * conv/linear/norm/embedding). Views move nothing. The formulas per op kind
 * are listed in docs/graph-ir.md; they are features and sanity checks, not
 * predictions. */
#ifndef GP_COST_H
#define GP_COST_H

#include "graph.h"

typedef struct node_cost {
    double flops;
    double bytes_in;      /* activations read */
    double bytes_out;     /* activations written */
    double bytes_param;   /* parameters read */
    double params;        /* parameter count */
} node_cost;

/* Cost of node i (global index) of a validated graph_set. */
void graph_node_cost(const graph_set *s, int64_t i, node_cost *c);

static inline double node_cost_bytes(const node_cost *c) { return c->bytes_in + c->bytes_out + c->bytes_param; }

#endif
