/* graph: the in-memory computation-graph IR.
 *
 * A graph_set holds one or many computation graphs, concatenated: node and
 * edge arrays with per-graph offsets, exactly the layout of the HDF5 dataset
 * format (docs/dataset-format.md) and of a block-diagonal training batch. A
 * single graph is a graph_set with n_graphs == 1.
 *
 * Invariants after graph_set_finish() or a successful graph_set_validate():
 *  - node_off and edge_off are non-decreasing, start at 0 and end at
 *    n_nodes / n_edges; every graph has at least one node;
 *  - nodes of each graph are in topological order: every edge has
 *    src < dst (local indices), which also rules out cycles and self-loops;
 *  - edge endpoints are local to their graph: 0 <= src, dst < nodes in graph;
 *  - graph names are unique in the set, node names unique within a graph;
 *  - every attribute is in range (see graph_set_validate).
 * The CSR arrays (pred_* producers, succ_* consumers) use global node indices
 * and are built by graph_set_finish(); edge order within a row follows edge
 * order in the arrays.
 *
 * Ownership: graph_set_init() makes an empty set; every array and string is
 * owned by the set and released by graph_set_free(). */
#ifndef GP_GRAPH_H
#define GP_GRAPH_H

#include <stdint.h>

#include "../common/gp_error.h"
#include "ops.h"

#define GRAPH_MAX_RANK 6
/* Largest single dimension and element count accepted; far beyond any real
 * model, small enough that byte counts cannot overflow int64. */
#define GRAPH_MAX_DIM ((int64_t)1 << 31)
#define GRAPH_MAX_ELEMS ((int64_t)1 << 44)
/* Edges store local indices as int32. */
#define GRAPH_MAX_NODES_PER_GRAPH ((int64_t)1 << 30)
#define GRAPH_MAX_NAME 256

typedef struct tensor_shape {
    int32_t rank;                 /* 0..GRAPH_MAX_RANK; 0 is a scalar */
    int64_t dim[GRAPH_MAX_RANK];  /* unused trailing entries are 0 */
} tensor_shape;

typedef struct graph_node {
    int32_t kind;        /* op_kind */
    int32_t fn;          /* op_fn; FN_NONE unless kind is activation/elementwise/other */
    int32_t dtype;       /* dtype of the output */
    int32_t kernel[2];   /* (h, w); 1 where not applicable */
    int32_t stride[2];   /* (h, w); 1 where not applicable */
    int32_t padding[2];  /* (h, w); 0 where not applicable */
    int32_t dilation[2]; /* (h, w); 1 where not applicable */
    int32_t groups;      /* 1 where not applicable */
    int32_t inplace;     /* 1: writes its result into its first input's buffer (PyTorch inplace=True) */
    int32_t n_in;        /* number of input tensor shapes recorded */
    int64_t in_off;      /* index of the first in graph_set.in_shapes */
    tensor_shape out;    /* output shape */
} graph_node;

typedef struct graph_set {
    int64_t n_graphs, n_nodes, n_edges, n_in_shapes;
    int64_t *node_off;        /* [n_graphs + 1] */
    int64_t *edge_off;        /* [n_graphs + 1] */
    char **graph_names;       /* [n_graphs] */
    graph_node *nodes;        /* [n_nodes] */
    char **node_names;        /* [n_nodes] */
    tensor_shape *in_shapes;  /* [n_in_shapes] */
    int32_t *edge_src;        /* [n_edges] local to the edge's graph */
    int32_t *edge_dst;        /* [n_edges] local to the edge's graph */

    int64_t *pred_ptr;        /* [n_nodes + 1] CSR of producers, global ids */
    int64_t *pred_idx;        /* [n_edges] */
    int64_t *succ_ptr;        /* [n_nodes + 1] CSR of consumers, global ids */
    int64_t *succ_idx;        /* [n_edges] */

    /* builder state: allocated capacities and whether a graph is open */
    int64_t cap_graphs, cap_nodes, cap_edges, cap_in_shapes;
    int open;
} graph_set;

void graph_set_init(graph_set *s);
void graph_set_free(graph_set *s);

/* Building. Graphs are appended one at a time:
 *   graph_set_begin_graph(s, "resnet18", err);
 *   graph_set_add_node(s, "x", &attrs, in_shapes, n_in, err);  -> local index
 *   graph_set_add_edge(s, src_local, dst_local, err);
 *   graph_set_end_graph(s, err);
 * then graph_set_finish(s, err) once, which validates and builds the CSR.
 * Nodes must be added in topological order (graph_topo_order helps readers
 * whose input may be in any order). Names are copied. Each call returns a
 * negative value and sets err on failure (out of memory, no open graph,
 * duplicate name, edge out of range or against topological order). */
int graph_set_begin_graph(graph_set *s, const char *name, gp_error *err);
int64_t graph_set_add_node(graph_set *s, const char *name, const graph_node *attrs,
                           const tensor_shape *in_shapes, int32_t n_in, gp_error *err);
int graph_set_add_edge(graph_set *s, int32_t src, int32_t dst, gp_error *err);
int graph_set_end_graph(graph_set *s, gp_error *err);
int graph_set_finish(graph_set *s, gp_error *err);

/* Fills a node with the neutral defaults documented above (kernel/stride/
 * dilation/groups 1, padding 0, fn none, dtype float32, no shapes). */
void graph_node_defaults(graph_node *n);

/* Checks every invariant listed at the top plus attribute ranges: kind, fn,
 * dtype in their vocabularies; ranks 0..GRAPH_MAX_RANK; dims in
 * [0, GRAPH_MAX_DIM] with element counts <= GRAPH_MAX_ELEMS; kernel, stride,
 * dilation, groups >= 1 and padding >= 0; in_off/n_in inside in_shapes;
 * convolution channels divisible by groups. The message names the graph and
 * node by index and name. Used by graph_set_finish and by dataset loaders
 * on data read from files (which bypass the builder). */
int graph_set_validate(const graph_set *s, gp_error *err);

/* Builds pred_* and succ_* from the edge arrays (frees previous ones). */
int graph_set_build_csr(graph_set *s, gp_error *err);

/* Stable topological order of n nodes with edges src[i] -> dst[i] (indices in
 * [0, n), already range-checked by the caller): order[k] is the k-th node;
 * among ready nodes the lowest index goes first, so an already ordered graph
 * keeps its order. Returns 0, or -1 on a cycle with *cycle_node set to a node
 * on a cycle; -2 when out of memory. */
int graph_topo_order(int64_t n, int64_t n_edges, const int32_t *src, const int32_t *dst,
                     int64_t *order, int64_t *cycle_node);

/* Element count of a shape (1 for a scalar). */
int64_t tensor_shape_elems(const tensor_shape *t);

/* Lookup helpers. */
static inline int64_t graph_nodes_in(const graph_set *s, int64_t g) { return s->node_off[g + 1] - s->node_off[g]; }
static inline int64_t graph_edges_in(const graph_set *s, int64_t g) { return s->edge_off[g + 1] - s->edge_off[g]; }
/* Graph index by name, or -1 (linear scan; callers with many lookups build a strmap). */
int64_t graph_set_find(const graph_set *s, const char *name);

#endif
