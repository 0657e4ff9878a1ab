#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"

void graph_set_init(graph_set *s)
{
    memset(s, 0, sizeof *s);
}

static void free_names(char **names, int64_t n)
{
    if (!names) return;
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

void graph_set_free(graph_set *s)
{
    free(s->node_off);
    free(s->edge_off);
    /* An open graph's name sits one past the ended graphs. */
    free_names(s->graph_names, s->n_graphs + (s->open ? 1 : 0));
    free(s->nodes);
    free_names(s->node_names, s->n_nodes);
    free(s->in_shapes);
    free(s->edge_src);
    free(s->edge_dst);
    free(s->pred_ptr);
    free(s->pred_idx);
    free(s->succ_ptr);
    free(s->succ_idx);
    graph_set_init(s);
}

void graph_node_defaults(graph_node *n)
{
    memset(n, 0, sizeof *n);
    n->kind = OP_OTHER;
    n->fn = FN_NONE;
    n->dtype = DT_FLOAT32;
    n->kernel[0] = n->kernel[1] = 1;
    n->stride[0] = n->stride[1] = 1;
    n->dilation[0] = n->dilation[1] = 1;
    n->groups = 1;
}

int64_t tensor_shape_elems(const tensor_shape *t)
{
    int64_t e = 1;
    for (int i = 0; i < t->rank && i < GRAPH_MAX_RANK; i++) e *= t->dim[i];
    return e;
}

/* Grows *p (elements of size sz) so that it holds at least need elements;
 * geometric growth keeps appends amortised O(1). */
static int grow(void **p, int64_t *cap, int64_t need, size_t sz)
{
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * sz);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int graph_set_begin_graph(graph_set *s, const char *name, gp_error *err)
{
    if (s->open) return gp_errorf(err, "graph '%s': the previous graph was not ended", name);
    if (!name || !name[0]) return gp_errorf(err, "graph %lld: empty name", (long long)s->n_graphs);
    if (strlen(name) >= GRAPH_MAX_NAME)
        return gp_errorf(err, "graph '%.40s...': name longer than %d bytes", name, GRAPH_MAX_NAME - 1);
    /* All three arrays grow to the same capacity, n + 2 (the offsets need
     * one entry more than the names), so one capacity field stays true. */
    int64_t need = s->n_graphs + 2;
    if (need > s->cap_graphs) {
        int64_t cap = s->cap_graphs ? s->cap_graphs : 16;
        while (cap < need) cap *= 2;
        int64_t c1 = s->cap_graphs, c2 = s->cap_graphs, c3 = s->cap_graphs;
        if (grow((void **)&s->graph_names, &c1, cap, sizeof(char *)) != 0 ||
            grow((void **)&s->node_off, &c2, cap, sizeof(int64_t)) != 0 ||
            grow((void **)&s->edge_off, &c3, cap, sizeof(int64_t)) != 0)
            return gp_errorf(err, "out of memory");
        s->cap_graphs = cap;
    }
    char *copy = dup_str(name);
    if (!copy) return gp_errorf(err, "out of memory");
    s->graph_names[s->n_graphs] = copy;
    s->node_off[s->n_graphs] = s->n_nodes;
    s->edge_off[s->n_graphs] = s->n_edges;
    s->open = 1;
    return 0;
}

int64_t graph_set_add_node(graph_set *s, const char *name, const graph_node *attrs,
                           const tensor_shape *in_shapes, int32_t n_in, gp_error *err)
{
    if (!s->open) return gp_errorf(err, "node '%s': no graph is open", name);
    int64_t local = s->n_nodes - s->node_off[s->n_graphs];
    if (local >= GRAPH_MAX_NODES_PER_GRAPH)
        return gp_errorf(err, "graph '%s': more than %lld nodes", s->graph_names[s->n_graphs],
                         (long long)GRAPH_MAX_NODES_PER_GRAPH);
    if (!name || !name[0]) return gp_errorf(err, "node %lld: empty name", (long long)local);
    if (strlen(name) >= GRAPH_MAX_NAME)
        return gp_errorf(err, "node %lld: name longer than %d bytes", (long long)local, GRAPH_MAX_NAME - 1);
    if (n_in < 0) return gp_errorf(err, "node '%s': negative input count", name);
    int64_t cap = s->cap_nodes;
    if (grow((void **)&s->nodes, &cap, s->n_nodes + 1, sizeof(graph_node)) != 0)
        return gp_errorf(err, "out of memory");
    cap = s->cap_nodes;
    if (grow((void **)&s->node_names, &cap, s->n_nodes + 1, sizeof(char *)) != 0)
        return gp_errorf(err, "out of memory");
    s->cap_nodes = cap;
    if (grow((void **)&s->in_shapes, &s->cap_in_shapes, s->n_in_shapes + n_in, sizeof(tensor_shape)) != 0)
        return gp_errorf(err, "out of memory");
    char *copy = dup_str(name);
    if (!copy) return gp_errorf(err, "out of memory");
    graph_node n = *attrs;
    n.n_in = n_in;
    n.in_off = s->n_in_shapes;
    if (n_in) memcpy(s->in_shapes + s->n_in_shapes, in_shapes, (size_t)n_in * sizeof(tensor_shape));
    s->n_in_shapes += n_in;
    s->nodes[s->n_nodes] = n;
    s->node_names[s->n_nodes] = copy;
    s->n_nodes++;
    return local;
}

int graph_set_add_edge(graph_set *s, int32_t src, int32_t dst, gp_error *err)
{
    if (!s->open) return gp_errorf(err, "edge %d->%d: no graph is open", src, dst);
    int64_t n = s->n_nodes - s->node_off[s->n_graphs];
    const char *g = s->graph_names[s->n_graphs];
    if (src < 0 || dst < 0 || src >= n || dst >= n)
        return gp_errorf(err, "graph '%s': edge %d->%d: endpoint outside 0..%lld", g, src, dst, (long long)n - 1);
    if (src >= dst)
        return gp_errorf(err, "graph '%s': edge %d->%d: against topological order (a cycle or a self-loop)", g,
                         src, dst);
    int64_t cap = s->cap_edges;
    if (grow((void **)&s->edge_src, &cap, s->n_edges + 1, sizeof(int32_t)) != 0)
        return gp_errorf(err, "out of memory");
    cap = s->cap_edges;
    if (grow((void **)&s->edge_dst, &cap, s->n_edges + 1, sizeof(int32_t)) != 0)
        return gp_errorf(err, "out of memory");
    s->cap_edges = cap;
    s->edge_src[s->n_edges] = src;
    s->edge_dst[s->n_edges] = dst;
    s->n_edges++;
    return 0;
}

int graph_set_end_graph(graph_set *s, gp_error *err)
{
    if (!s->open) return gp_errorf(err, "no graph is open");
    const char *g = s->graph_names[s->n_graphs];
    if (s->n_nodes == s->node_off[s->n_graphs]) return gp_errorf(err, "graph '%s': has no nodes", g);
    /* Names are checked per graph here so that a reader hears about a
     * duplicate before it adds more graphs. */
    strmap names;
    int64_t first = s->node_off[s->n_graphs];
    if (strmap_init(&names, (size_t)(s->n_nodes - first)) != 0) return gp_errorf(err, "out of memory");
    for (int64_t i = first; i < s->n_nodes; i++) {
        int64_t prev;
        int r = strmap_put(&names, s->node_names[i], i - first, &prev);
        if (r != 0) {
            strmap_free(&names);
            if (r < 0) return gp_errorf(err, "out of memory");
            return gp_errorf(err, "graph '%s': node %lld: name '%s' already used by node %lld", g,
                             (long long)(i - first), s->node_names[i], (long long)prev);
        }
    }
    strmap_free(&names);
    s->n_graphs++;
    s->node_off[s->n_graphs] = s->n_nodes;
    s->edge_off[s->n_graphs] = s->n_edges;
    s->open = 0;
    return 0;
}

int graph_set_finish(graph_set *s, gp_error *err)
{
    if (s->open) return gp_errorf(err, "graph '%s' was not ended", s->graph_names[s->n_graphs]);
    if (s->n_graphs == 0) {
        /* An empty set still has valid offsets, so loops over it are safe. */
        if (!s->node_off) s->node_off = calloc(1, sizeof(int64_t));
        if (!s->edge_off) s->edge_off = calloc(1, sizeof(int64_t));
        if (!s->node_off || !s->edge_off) return gp_errorf(err, "out of memory");
    }
    if (graph_set_validate(s, err) != 0) return -1;
    return graph_set_build_csr(s, err);
}

int64_t graph_set_find(const graph_set *s, const char *name)
{
    for (int64_t g = 0; g < s->n_graphs; g++)
        if (strcmp(s->graph_names[g], name) == 0) return g;
    return -1;
}

static int check_shape(const tensor_shape *t, const char *what, const char *gname, int64_t i, const char *nname,
                       gp_error *err)
{
    if (t->rank < 0 || t->rank > GRAPH_MAX_RANK)
        return gp_errorf(err, "graph '%s': node %lld ('%s'): %s: rank %d outside 0..%d", gname, (long long)i, nname,
                         what, t->rank, GRAPH_MAX_RANK);
    int64_t elems = 1;
    for (int d = 0; d < GRAPH_MAX_RANK; d++) {
        int64_t v = t->dim[d];
        if (d >= t->rank) {
            if (v != 0)
                return gp_errorf(err, "graph '%s': node %lld ('%s'): %s: entry %d beyond rank %d is %lld, not 0",
                                 gname, (long long)i, nname, what, d, t->rank, (long long)v);
            continue;
        }
        if (v < 0 || v > GRAPH_MAX_DIM)
            return gp_errorf(err, "graph '%s': node %lld ('%s'): %s: dimension %d is %lld, outside 0..%lld", gname,
                             (long long)i, nname, what, d, (long long)v, (long long)GRAPH_MAX_DIM);
        /* Divide instead of multiplying first: the product could overflow. */
        if (v > 0 && elems > GRAPH_MAX_ELEMS / v)
            return gp_errorf(err, "graph '%s': node %lld ('%s'): %s: more than %lld elements", gname, (long long)i,
                             nname, what, (long long)GRAPH_MAX_ELEMS);
        elems *= v;
    }
    return 0;
}

static int check_node(const graph_set *s, int64_t g, int64_t i, gp_error *err)
{
    const graph_node *n = &s->nodes[i];
    const char *gname = s->graph_names[g];
    const char *nname = s->node_names[i] ? s->node_names[i] : "";
    int64_t li = i - s->node_off[g];
#define NODE_FAIL(...)                                                                            \
    do {                                                                                          \
        char what_[512];                                                                          \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                               \
        return gp_errorf(err, "graph '%s': node %lld ('%s'): %s", gname, (long long)li, nname, what_); \
    } while (0)
    if (!nname[0]) NODE_FAIL("empty name");
    if (!op_kind_name(n->kind)) NODE_FAIL("op kind code %d outside the vocabulary (0..%d)", n->kind, OP_KIND_COUNT - 1);
    if (!op_fn_name(n->fn)) NODE_FAIL("fn code %d outside the vocabulary (0..%d)", n->fn, FN_COUNT - 1);
    if (!dtype_name(n->dtype)) NODE_FAIL("dtype code %d outside the vocabulary (0..%d)", n->dtype, DT_COUNT - 1);
    for (int k = 0; k < 2; k++) {
        if (n->kernel[k] < 1) NODE_FAIL("kernel[%d] is %d, must be >= 1", k, n->kernel[k]);
        if (n->stride[k] < 1) NODE_FAIL("stride[%d] is %d, must be >= 1", k, n->stride[k]);
        if (n->dilation[k] < 1) NODE_FAIL("dilation[%d] is %d, must be >= 1", k, n->dilation[k]);
        if (n->padding[k] < 0) NODE_FAIL("padding[%d] is %d, must be >= 0", k, n->padding[k]);
    }
    if (n->groups < 1) NODE_FAIL("groups is %d, must be >= 1", n->groups);
    if (n->inplace != 0 && n->inplace != 1) NODE_FAIL("inplace is %d, must be 0 or 1", n->inplace);
    if (n->n_in < 0 || n->in_off < 0 || n->in_off > s->n_in_shapes || n->n_in > s->n_in_shapes - n->in_off)
        NODE_FAIL("input shapes %lld..%lld outside the %lld stored", (long long)n->in_off,
                  (long long)n->in_off + n->n_in, (long long)s->n_in_shapes);
    if (check_shape(&n->out, "out_shape", gname, li, nname, err) != 0) return -1;
    for (int32_t k = 0; k < n->n_in; k++) {
        /* Validate quietly first: formatting the field name for every input
         * of every node costs more than the check itself. */
        if (check_shape(&s->in_shapes[n->in_off + k], "", gname, li, nname, NULL) == 0) continue;
        char what[32];
        snprintf(what, sizeof what, "in_shapes[%d]", k);
        return check_shape(&s->in_shapes[n->in_off + k], what, gname, li, nname, err);
    }
    if ((n->kind == OP_CONV2D || n->kind == OP_DWCONV2D) && n->n_in > 0) {
        const tensor_shape *x = &s->in_shapes[n->in_off];
        if (x->rank < 2 || n->out.rank < 2) NODE_FAIL("convolution needs (N, C, ...) shapes");
        if (x->dim[1] % n->groups != 0 || n->out.dim[1] % n->groups != 0)
            NODE_FAIL("channels %lld -> %lld not divisible by groups %d", (long long)x->dim[1],
                      (long long)n->out.dim[1], n->groups);
    }
#undef NODE_FAIL
    return 0;
}

int graph_set_validate(const graph_set *s, gp_error *err)
{
    if (s->n_graphs < 0 || s->n_nodes < 0 || s->n_edges < 0 || s->n_in_shapes < 0)
        return gp_errorf(err, "negative counts");
    if (!s->node_off || !s->edge_off) return gp_errorf(err, "missing offsets");
    if (s->node_off[0] != 0 || s->edge_off[0] != 0) return gp_errorf(err, "offsets do not start at 0");
    for (int64_t g = 0; g < s->n_graphs; g++) {
        if (s->node_off[g + 1] < s->node_off[g])
            return gp_errorf(err, "node offsets decrease at graph %lld", (long long)g);
        if (s->edge_off[g + 1] < s->edge_off[g])
            return gp_errorf(err, "edge offsets decrease at graph %lld", (long long)g);
    }
    if (s->node_off[s->n_graphs] != s->n_nodes)
        return gp_errorf(err, "node offsets end at %lld, expected %lld nodes", (long long)s->node_off[s->n_graphs],
                         (long long)s->n_nodes);
    if (s->edge_off[s->n_graphs] != s->n_edges)
        return gp_errorf(err, "edge offsets end at %lld, expected %lld edges", (long long)s->edge_off[s->n_graphs],
                         (long long)s->n_edges);

    strmap gnames;
    if (strmap_init(&gnames, (size_t)s->n_graphs) != 0) return gp_errorf(err, "out of memory");
    strmap nnames = {0};
    int rc = 0;
    for (int64_t g = 0; g < s->n_graphs && rc == 0; g++) {
        const char *gname = s->graph_names[g];
        if (!gname || !gname[0]) {
            rc = gp_errorf(err, "graph %lld: empty name", (long long)g);
            break;
        }
        int64_t prev;
        int r = strmap_put(&gnames, gname, g, &prev);
        if (r != 0) {
            rc = r < 0 ? gp_errorf(err, "out of memory")
                       : gp_errorf(err, "graph %lld: name '%s' already used by graph %lld", (long long)g, gname,
                                   (long long)prev);
            break;
        }
        int64_t n = graph_nodes_in(s, g);
        if (n == 0) {
            rc = gp_errorf(err, "graph %lld ('%s'): has no nodes", (long long)g, gname);
            break;
        }
        if (n > GRAPH_MAX_NODES_PER_GRAPH) {
            rc = gp_errorf(err, "graph %lld ('%s'): %lld nodes, more than %lld", (long long)g, gname, (long long)n,
                           (long long)GRAPH_MAX_NODES_PER_GRAPH);
            break;
        }
        if (strmap_init(&nnames, (size_t)n) != 0) {
            rc = gp_errorf(err, "out of memory");
            break;
        }
        for (int64_t i = s->node_off[g]; i < s->node_off[g + 1] && rc == 0; i++) {
            if (check_node(s, g, i, err) != 0) {
                rc = -1;
                break;
            }
            r = strmap_put(&nnames, s->node_names[i], i - s->node_off[g], &prev);
            if (r != 0)
                rc = r < 0 ? gp_errorf(err, "out of memory")
                           : gp_errorf(err, "graph '%s': node %lld: name '%s' already used by node %lld", gname,
                                       (long long)(i - s->node_off[g]), s->node_names[i], (long long)prev);
        }
        strmap_free(&nnames);
        for (int64_t e = s->edge_off[g]; e < s->edge_off[g + 1] && rc == 0; e++) {
            int32_t a = s->edge_src[e], b = s->edge_dst[e];
            if (a < 0 || b < 0 || a >= n || b >= n)
                rc = gp_errorf(err, "graph '%s': edge %lld (%d->%d): endpoint outside 0..%lld", gname,
                               (long long)(e - s->edge_off[g]), a, b, (long long)n - 1);
            else if (a >= b)
                rc = gp_errorf(err,
                               "graph '%s': edge %lld (%d->%d): against topological order (nodes must be sorted so "
                               "producers come first; a cycle or self-loop is never valid)",
                               gname, (long long)(e - s->edge_off[g]), a, b);
        }
    }
    strmap_free(&gnames);
    return rc;
}

int graph_set_build_csr(graph_set *s, gp_error *err)
{
    free(s->pred_ptr);
    free(s->pred_idx);
    free(s->succ_ptr);
    free(s->succ_idx);
    size_t np = (size_t)s->n_nodes + 1, ne = (size_t)s->n_edges;
    s->pred_ptr = calloc(np, sizeof(int64_t));
    s->succ_ptr = calloc(np, sizeof(int64_t));
    s->pred_idx = malloc((ne ? ne : 1) * sizeof(int64_t));
    s->succ_idx = malloc((ne ? ne : 1) * sizeof(int64_t));
    int64_t *fill_p = calloc(np, sizeof(int64_t));
    int64_t *fill_s = calloc(np, sizeof(int64_t));
    if (!s->pred_ptr || !s->succ_ptr || !s->pred_idx || !s->succ_idx || !fill_p || !fill_s) {
        free(fill_p);
        free(fill_s);
        return gp_errorf(err, "out of memory building adjacency");
    }
    /* Counting sort by destination (producers) and by source (consumers);
     * a stable pass keeps edge order within each row. */
    for (int64_t g = 0; g < s->n_graphs; g++) {
        int64_t base = s->node_off[g];
        for (int64_t e = s->edge_off[g]; e < s->edge_off[g + 1]; e++) {
            s->pred_ptr[base + s->edge_dst[e] + 1]++;
            s->succ_ptr[base + s->edge_src[e] + 1]++;
        }
    }
    for (int64_t i = 0; i < s->n_nodes; i++) {
        s->pred_ptr[i + 1] += s->pred_ptr[i];
        s->succ_ptr[i + 1] += s->succ_ptr[i];
    }
    for (int64_t g = 0; g < s->n_graphs; g++) {
        int64_t base = s->node_off[g];
        for (int64_t e = s->edge_off[g]; e < s->edge_off[g + 1]; e++) {
            int64_t a = base + s->edge_src[e], b = base + s->edge_dst[e];
            s->pred_idx[s->pred_ptr[b] + fill_p[b]++] = a;
            s->succ_idx[s->succ_ptr[a] + fill_s[a]++] = b;
        }
    }
    free(fill_p);
    free(fill_s);
    return 0;
}

int graph_topo_order(int64_t n, int64_t n_edges, const int32_t *src, const int32_t *dst, int64_t *order,
                     int64_t *cycle_node)
{
    int64_t *indeg = calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *ptr = calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *adj = malloc(((size_t)n_edges + 1) * sizeof(int64_t));
    int64_t *fill = calloc((size_t)n + 1, sizeof(int64_t));
    /* A binary min-heap of ready nodes gives the stable (lowest index first) order. */
    int64_t *heap = malloc(((size_t)n + 1) * sizeof(int64_t));
    int rc = 0;
    if (!indeg || !ptr || !adj || !fill || !heap) {
        rc = -2;
        goto done;
    }
    for (int64_t e = 0; e < n_edges; e++) {
        indeg[dst[e]]++;
        ptr[src[e] + 1]++;
    }
    for (int64_t i = 0; i < n; i++) ptr[i + 1] += ptr[i];
    for (int64_t e = 0; e < n_edges; e++) adj[ptr[src[e]] + fill[src[e]]++] = dst[e];
    int64_t hn = 0, out = 0;
    for (int64_t i = 0; i < n; i++)
        if (indeg[i] == 0) heap[hn++] = i; /* increasing: already a heap */
    while (hn > 0) {
        int64_t v = heap[0];
        heap[0] = heap[--hn];
        for (int64_t k = 0;;) { /* sift down */
            int64_t l = 2 * k + 1, r = l + 1, m = k;
            if (l < hn && heap[l] < heap[m]) m = l;
            if (r < hn && heap[r] < heap[m]) m = r;
            if (m == k) break;
            int64_t t = heap[k];
            heap[k] = heap[m];
            heap[m] = t;
            k = m;
        }
        order[out++] = v;
        for (int64_t j = ptr[v]; j < ptr[v + 1]; j++) {
            int64_t w = adj[j];
            if (--indeg[w] == 0) {
                int64_t k = hn++; /* sift up */
                heap[k] = w;
                while (k > 0 && heap[(k - 1) / 2] > heap[k]) {
                    int64_t p = (k - 1) / 2, t = heap[p];
                    heap[p] = heap[k];
                    heap[k] = t;
                    k = p;
                }
            }
        }
    }
    if (out < n) {
        /* Nodes left with in-degree > 0 are on a cycle or downstream of one;
         * walk producers until a node repeats to name one truly on a cycle. */
        int64_t v = -1;
        for (int64_t i = 0; i < n; i++)
            if (indeg[i] > 0) {
                v = i;
                break;
            }
        /* Walk producers that are also unfinished until a node repeats:
         * that node is on a cycle. Producer lists are built here only, so
         * the common acyclic path pays nothing for them. */
        int64_t *rptr = calloc((size_t)n + 1, sizeof(int64_t));
        int64_t *radj = malloc(((size_t)n_edges + 1) * sizeof(int64_t));
        if (!rptr || !radj) {
            free(rptr);
            free(radj);
            rc = -2;
            goto done;
        }
        for (int64_t e = 0; e < n_edges; e++) rptr[dst[e] + 1]++;
        for (int64_t i = 0; i < n; i++) rptr[i + 1] += rptr[i];
        memset(fill, 0, ((size_t)n + 1) * sizeof(int64_t));
        for (int64_t e = 0; e < n_edges; e++) radj[rptr[dst[e]] + fill[dst[e]]++] = src[e];
        memset(fill, 0, ((size_t)n + 1) * sizeof(int64_t)); /* now: visited marks */
        while (v >= 0 && !fill[v]) {
            fill[v] = 1;
            int64_t next = -1;
            for (int64_t j = rptr[v]; j < rptr[v + 1]; j++)
                if (indeg[radj[j]] > 0) {
                    next = radj[j];
                    break;
                }
            v = next;
        }
        free(rptr);
        free(radj);
        if (cycle_node) *cycle_node = v;
        rc = -1;
    }
done:
    free(indeg);
    free(ptr);
    free(adj);
    free(fill);
    free(heap);
    return rc;
}
