/* graph_json: reader and writer of the gnnperf-graph JSON format (see
 * graph_json.h for the contract, docs/graph-json.md for the format).
 *
 * Reading goes in three stages so that a failure never touches the caller's
 * set:
 *   1. prescan: one byte loop over the whole text rejecting what cJSON would
 *      silently accept (NUL bytes, bad UTF-8, bad escapes, raw control
 *      characters) and nesting deeper than GRAPH_JSON_MAX_DEPTH;
 *   2. each document: cJSON tree -> checked per-node records (jnode) ->
 *      names resolved through a strmap -> topological order -> appended to a
 *      private graph_set with the builder API;
 *   3. the private set is validated, then moved into the caller's set when
 *      that is empty, else copied in (and rolled back on out-of-memory).
 *
 * The writer prints JSON itself rather than building a cJSON tree: the
 * layout is fixed and it keeps exports of big sets to one pass. */
#include "graph_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/atomic_file.h"
#include "../common/strmap.h"

/* ------------------------------------------------------------------------ */
/* Small helpers shared by reader and writer                                */
/* ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (at most n bytes available), or 0
 * when invalid: overlong forms, surrogates and code points above U+10FFFF
 * are rejected as RFC 3629 asks. */
static int utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)len > n) return 0;
    for (int k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return len;
}

/* NULL when name is acceptable for a graph or node, else the problem. Names
 * end up in messages, CSV label tables and HDF5 string arrays, so control
 * characters are refused along with what the builder refuses. */
static const char *name_problem(const char *name, char *why, size_t n)
{
    size_t len = strlen(name);
    if (len == 0) return "must not be empty";
    if (len >= GRAPH_MAX_NAME) {
        snprintf(why, n, "is %zu bytes long, the limit is %d", len, GRAPH_MAX_NAME - 1);
        return why;
    }
    const unsigned char *p = (const unsigned char *)name;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x20 || p[i] == 0x7F) {
            snprintf(why, n, "contains the control character 0x%02x at byte %zu", p[i], i);
            return why;
        }
        int k = utf8_seq(p + i, len - i);
        if (k == 0) {
            snprintf(why, n, "is not valid UTF-8 at byte %zu", i);
            return why;
        }
        i += (size_t)k;
    }
    return NULL;
}

/* Copies s into buf for quoting in a message: control bytes become \xNN and
 * long strings are cut (on a UTF-8 boundary) with "...", so a hostile name
 * cannot break the one-line message or crowd out the rest of it. */
static const char *quote(const char *s, char *buf, size_t n)
{
    size_t o = 0, i = 0;
    const size_t keep = n - 8; /* room for an escape, "..." and the NUL */
    for (; s[i] && o < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (s[i]) {
        while (o > 0 && ((unsigned char)buf[o - 1] & 0xC0) == 0x80) o--; /* continuation bytes */
        if (o > 0 && (unsigned char)buf[o - 1] >= 0xC0) o--;              /* and their lead byte */
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* Quoted name buffers: names are < GRAPH_MAX_NAME but messages show at
 * most ~90 bytes of each. */
#define QBUF 96

static const char *describe(const cJSON *it, char *buf, size_t n)
{
    if (cJSON_IsString(it)) {
        char q[QBUF];
        snprintf(buf, n, "the string '%s'", quote(it->valuestring, q, sizeof q));
    } else if (cJSON_IsNumber(it)) {
        if (isfinite(it->valuedouble))
            snprintf(buf, n, "the number %.15g", it->valuedouble);
        else
            snprintf(buf, n, "a number too large to represent");
    } else if (cJSON_IsTrue(it)) {
        snprintf(buf, n, "true");
    } else if (cJSON_IsFalse(it)) {
        snprintf(buf, n, "false");
    } else if (cJSON_IsNull(it)) {
        snprintf(buf, n, "null");
    } else if (cJSON_IsArray(it)) {
        snprintf(buf, n, "an array");
    } else if (cJSON_IsObject(it)) {
        snprintf(buf, n, "an object");
    } else {
        snprintf(buf, n, "an unknown JSON value");
    }
    return buf;
}

static void fmt_shape(const tensor_shape *t, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->rank && d < GRAPH_MAX_RANK && o < n; d++)
        o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, d ? ", " : "", t->dim[d]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

static int shape_eq(const tensor_shape *a, const tensor_shape *b)
{
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank && d < GRAPH_MAX_RANK; d++)
        if (a->dim[d] != b->dim[d]) return 0;
    return 1;
}

/* 1-based line and byte column of offset off in text. */
static void line_col(const char *text, size_t off, int64_t *line, int64_t *col)
{
    int64_t l = 1;
    size_t start = 0;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n') {
            l++;
            start = i + 1;
        }
    *line = l;
    *col = (int64_t)(off - start) + 1;
}

/* Index of key in the NULL-terminated list keys, or -1. */
static int key_index(const char *key, const char *const *keys)
{
    for (int i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

/* One node of the document being read, in file order, checked but not yet
 * placed: names point into the cJSON tree, which outlives the records. */
typedef struct jnode {
    const char *name;
    const cJSON *inputs;  /* the "inputs" array, or NULL */
    int64_t e_off;        /* first of its n_inputs edges in reader.src/dst */
    int64_t shape_off;    /* first explicit in_shape in reader.shapes */
    int32_t n_inputs;
    int32_t n_shapes;     /* explicit in_shapes, -1 when the key is absent */
    graph_node a;         /* attributes and out shape; n_in/in_off unused */
} jnode;

typedef struct reader {
    const char *source;
    int64_t line;         /* JSON Lines line number; 0 for a single document */
    gp_error *err;
    strmap graph_names;   /* name -> line it was defined on (0: single document, -1: already in the set) */
    strmap node_names;    /* per document: name -> file index */
    jnode *nodes;
    int64_t cap_nodes;
    tensor_shape *shapes; /* explicit in_shapes of the document */
    int64_t n_shapes, cap_shapes;
    int32_t *src, *dst;   /* edges in file indices, grouped by consumer */
    int64_t n_edges, cap_src, cap_dst;
    int64_t *order, *pos; /* topological order and its inverse */
    int64_t cap_order, cap_pos;
    tensor_shape *scratch; /* input shapes of the node being added */
    int64_t cap_scratch;
} reader;

static int fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(reader *r, const char *fmt, ...)
{
    char msg[GP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->line > 0) return gp_errorf(r->err, "%s:line %" PRId64 ": %s", r->source, r->line, msg);
    return gp_errorf(r->err, "%s: %s", r->source, msg);
}

static int reserve(void **p, int64_t *cap, int64_t need, size_t size)
{
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static void reader_free(reader *r)
{
    strmap_free(&r->graph_names);
    free(r->nodes);
    free(r->shapes);
    free(r->src);
    free(r->dst);
    free(r->order);
    free(r->pos);
    free(r->scratch);
}

/* Reads an integral JSON number in [lo, hi] (both exactly representable as
 * doubles). Returns NULL, or the problem written into why. 3, 3.0 and 3e0
 * are the same JSON number and all accepted. */
static const char *get_int(const cJSON *it, int64_t lo, int64_t hi, int64_t *out, char *why, size_t n)
{
    char d[QBUF + 32];
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble != floor(it->valuedouble)) {
        snprintf(why, n, "expected an integer, found %s", describe(it, d, sizeof d));
        return why;
    }
    double v = it->valuedouble;
    if (v < (double)lo || v > (double)hi) {
        snprintf(why, n, "must be in [%" PRId64 ", %" PRId64 "], found %.15g", lo, hi, v);
        return why;
    }
    *out = (int64_t)v;
    return NULL;
}

/* Reads a shape. Returns NULL, or the problem as a path suffix (": ..." or
 * "[k]: ...") for the caller to append to the field's path. */
static const char *get_shape(const cJSON *it, tensor_shape *t, char *why, size_t n)
{
    char d[QBUF + 32], sub[160];
    memset(t, 0, sizeof *t);
    if (!cJSON_IsArray(it)) {
        snprintf(why, n, ": expected a shape (an array of integers), found %s", describe(it, d, sizeof d));
        return why;
    }
    int rank = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, it)
    {
        if (rank == GRAPH_MAX_RANK) {
            snprintf(why, n, ": rank %d exceeds the limit of %d", cJSON_GetArraySize(it), GRAPH_MAX_RANK);
            return why;
        }
        int64_t v;
        if (get_int(c, 0, GRAPH_MAX_DIM, &v, sub, sizeof sub)) {
            snprintf(why, n, "[%d]: %s", rank, sub);
            return why;
        }
        t->dim[rank++] = v;
    }
    t->rank = rank;
    /* Each dim <= 2^31 and the running product <= 2^44 before a multiply, so
     * nothing overflows; a zero anywhere makes the tensor empty. */
    int64_t elems = 1;
    for (int k = 0; k < rank; k++)
        if (t->dim[k] == 0) elems = 0;
    for (int k = 0; k < rank && elems; k++) {
        elems *= t->dim[k];
        if (elems > GRAPH_MAX_ELEMS) {
            snprintf(why, n, ": more than %" PRId64 " (2^44) elements", GRAPH_MAX_ELEMS);
            return why;
        }
    }
    return NULL;
}

/* Reads kernel/stride/padding/dilation: an integer k meaning (k, k), or an
 * array of exactly 2 integers (h, w). Returns NULL or a path suffix. */
static const char *get_pair(const cJSON *it, int64_t lo, int32_t out[2], char *why, size_t n)
{
    char d[QBUF + 32], sub[160];
    int64_t v[2];
    if (cJSON_IsNumber(it)) {
        if (get_int(it, lo, INT32_MAX, &v[0], sub, sizeof sub)) {
            snprintf(why, n, ": %s", sub);
            return why;
        }
        out[0] = out[1] = (int32_t)v[0];
        return NULL;
    }
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2) {
        if (cJSON_IsArray(it))
            snprintf(why, n, ": expected an integer or 2 integers, found an array of %d", cJSON_GetArraySize(it));
        else
            snprintf(why, n, ": expected an integer or 2 integers, found %s", describe(it, d, sizeof d));
        return why;
    }
    int k = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, it)
    {
        if (get_int(c, lo, INT32_MAX, &v[k], sub, sizeof sub)) {
            snprintf(why, n, "[%d]: %s", k, sub);
            return why;
        }
        k++;
    }
    out[0] = (int32_t)v[0];
    out[1] = (int32_t)v[1];
    return NULL;
}

static const char *const TOP_KEYS[] = {"format", "version", "name", "nodes", "meta", NULL};
enum { TK_FORMAT, TK_VERSION, TK_NAME, TK_NODES, TK_META, TK_COUNT };
static const char *const NODE_KEYS[] = {"name",      "op",    "inputs", "in_shapes", "out_shape",
                                        "dtype",     "attrs", "meta",   NULL};
enum { NK_NAME, NK_OP, NK_INPUTS, NK_IN_SHAPES, NK_OUT_SHAPE, NK_DTYPE, NK_ATTRS, NK_META, NK_COUNT };
static const char *const ATTR_KEYS[] = {"kernel", "stride", "padding", "dilation", "groups", "fn", "inplace", NULL};
enum { AK_KERNEL, AK_STRIDE, AK_PADDING, AK_DILATION, AK_GROUPS, AK_FN, AK_INPLACE, AK_COUNT };

static const char *const TOP_KEY_LIST = "format, version, name, nodes, meta";
static const char *const NODE_KEY_LIST = "name, op, inputs, in_shapes, out_shape, dtype, attrs, meta";
static const char *const ATTR_KEY_LIST = "kernel, stride, padding, dilation, groups, fn, inplace";

/* Fills f[k] with the member of obj named keys[k]; unknown and repeated
 * keys are errors (cJSON keeps both copies of a repeated key, and a typo
 * must not pass silently). where is the path of obj ("" at the top). */
static int collect_keys(reader *r, const cJSON *obj, const char *const *keys, const char *key_list,
                        const cJSON **f, int n_keys, const char *where)
{
    char q[QBUF];
    for (int k = 0; k < n_keys; k++) f[k] = NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, obj)
    {
        int k = key_index(c->string, keys);
        if (k < 0)
            return fail(r, "%s%sunknown key '%s' (expected one of: %s)", where, where[0] ? ": " : "",
                        quote(c->string, q, sizeof q), key_list);
        if (f[k]) return fail(r, "%s%sduplicate key '%s'", where, where[0] ? ": " : "", keys[k]);
        f[k] = c;
    }
    return 0;
}

static int parse_attrs(reader *r, int64_t i, const cJSON *attrs, graph_node *a)
{
    char why[256], d[QBUF + 32], q[QBUF], list[512], where[64];
    if (!cJSON_IsObject(attrs))
        return fail(r, "nodes[%" PRId64 "].attrs: expected an object, found %s", i, describe(attrs, d, sizeof d));
    snprintf(where, sizeof where, "nodes[%" PRId64 "].attrs", i);
    const cJSON *f[AK_COUNT];
    if (collect_keys(r, attrs, ATTR_KEYS, ATTR_KEY_LIST, f, AK_COUNT, where)) return -1;
    struct {
        int key;
        int64_t lo;
        int32_t *dst;
    } pairs[] = {
        {AK_KERNEL, 1, a->kernel},
        {AK_STRIDE, 1, a->stride},
        {AK_PADDING, 0, a->padding},
        {AK_DILATION, 1, a->dilation},
    };
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        const cJSON *it = f[pairs[k].key];
        if (it && get_pair(it, pairs[k].lo, pairs[k].dst, why, sizeof why))
            return fail(r, "%s.%s%s", where, ATTR_KEYS[pairs[k].key], why);
    }
    if (f[AK_GROUPS]) {
        int64_t v;
        if (get_int(f[AK_GROUPS], 1, INT32_MAX, &v, why, sizeof why))
            return fail(r, "%s.groups: %s", where, why);
        a->groups = (int32_t)v;
    }
    if (f[AK_FN]) {
        if (!cJSON_IsString(f[AK_FN]))
            return fail(r, "%s.fn: expected a string, found %s", where, describe(f[AK_FN], d, sizeof d));
        int fn = op_fn_from_name(f[AK_FN]->valuestring);
        if (fn < 0) {
            op_fn_list(list, sizeof list);
            return fail(r, "%s.fn: unknown fn '%s' (expected one of: %s)", where,
                        quote(f[AK_FN]->valuestring, q, sizeof q), list);
        }
        a->fn = fn;
    }
    if (f[AK_INPLACE]) {
        if (!cJSON_IsBool(f[AK_INPLACE]))
            return fail(r, "%s.inplace: expected true or false, found %s", where, describe(f[AK_INPLACE], d, sizeof d));
        a->inplace = cJSON_IsTrue(f[AK_INPLACE]) ? 1 : 0;
    }
    return 0;
}

/* Checks node i of the document (file order) into r->nodes[i] and registers
 * its name. Edges are resolved later, once every name is known. */
static int parse_node(reader *r, int64_t i, const cJSON *obj)
{
    char why[256], d[QBUF + 32], q[QBUF], list[512], where[64];
    jnode *jn = &r->nodes[i];
    if (!cJSON_IsObject(obj))
        return fail(r, "nodes[%" PRId64 "]: expected an object, found %s", i, describe(obj, d, sizeof d));
    snprintf(where, sizeof where, "nodes[%" PRId64 "]", i);
    const cJSON *f[NK_COUNT];
    if (collect_keys(r, obj, NODE_KEYS, NODE_KEY_LIST, f, NK_COUNT, where)) return -1;

    if (!f[NK_NAME]) return fail(r, "nodes[%" PRId64 "]: missing required key \"name\"", i);
    if (!cJSON_IsString(f[NK_NAME]))
        return fail(r, "nodes[%" PRId64 "].name: expected a string, found %s", i, describe(f[NK_NAME], d, sizeof d));
    jn->name = f[NK_NAME]->valuestring;
    const char *bad = name_problem(jn->name, why, sizeof why);
    if (bad) return fail(r, "nodes[%" PRId64 "].name: '%s' %s", i, quote(jn->name, q, sizeof q), bad);
    int64_t prev;
    int rc = strmap_put(&r->node_names, jn->name, i, &prev);
    if (rc < 0) return fail(r, "out of memory");
    if (rc > 0)
        return fail(r, "nodes[%" PRId64 "].name: duplicate node name '%s' (also nodes[%" PRId64 "])", i,
                    quote(jn->name, q, sizeof q), prev);

    graph_node *a = &jn->a;
    graph_node_defaults(a);
    if (!f[NK_OP])
        return fail(r, "nodes[%" PRId64 "] ('%s'): missing required key \"op\"", i, quote(jn->name, q, sizeof q));
    if (!cJSON_IsString(f[NK_OP]))
        return fail(r, "nodes[%" PRId64 "].op: expected a string, found %s", i, describe(f[NK_OP], d, sizeof d));
    a->kind = op_kind_from_name(f[NK_OP]->valuestring);
    if (a->kind < 0) {
        op_kind_list(list, sizeof list);
        return fail(r, "nodes[%" PRId64 "].op: unknown op '%s' (expected one of: %s)", i,
                    quote(f[NK_OP]->valuestring, q, sizeof q), list);
    }

    if (!f[NK_OUT_SHAPE])
        return fail(r, "nodes[%" PRId64 "] ('%s'): missing required key \"out_shape\"", i,
                    quote(jn->name, q, sizeof q));
    if (get_shape(f[NK_OUT_SHAPE], &a->out, why, sizeof why))
        return fail(r, "nodes[%" PRId64 "].out_shape%s", i, why);

    if (f[NK_DTYPE]) {
        if (!cJSON_IsString(f[NK_DTYPE]))
            return fail(r, "nodes[%" PRId64 "].dtype: expected a string, found %s", i,
                        describe(f[NK_DTYPE], d, sizeof d));
        a->dtype = dtype_from_name(f[NK_DTYPE]->valuestring);
        if (a->dtype < 0) {
            dtype_list(list, sizeof list);
            return fail(r, "nodes[%" PRId64 "].dtype: unknown dtype '%s' (expected one of: %s)", i,
                        quote(f[NK_DTYPE]->valuestring, q, sizeof q), list);
        }
    }

    jn->inputs = NULL;
    jn->n_inputs = 0;
    if (f[NK_INPUTS]) {
        if (!cJSON_IsArray(f[NK_INPUTS]))
            return fail(r, "nodes[%" PRId64 "].inputs: expected an array of node names, found %s", i,
                        describe(f[NK_INPUTS], d, sizeof d));
        int64_t k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, f[NK_INPUTS])
        {
            if (!cJSON_IsString(c))
                return fail(r, "nodes[%" PRId64 "].inputs[%" PRId64 "]: expected a node name (a string), found %s",
                            i, k, describe(c, d, sizeof d));
            k++;
        }
        /* n_in is an int32 in the IR */
        if (k > INT32_MAX) return fail(r, "nodes[%" PRId64 "].inputs: more than %d entries", i, INT32_MAX);
        jn->inputs = f[NK_INPUTS];
        jn->n_inputs = (int32_t)k;
    }

    jn->n_shapes = -1;
    jn->shape_off = r->n_shapes;
    if (f[NK_IN_SHAPES]) {
        if (!cJSON_IsArray(f[NK_IN_SHAPES]))
            return fail(r, "nodes[%" PRId64 "].in_shapes: expected an array of shapes, found %s", i,
                        describe(f[NK_IN_SHAPES], d, sizeof d));
        int64_t k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, f[NK_IN_SHAPES])
        {
            if (k == INT32_MAX) return fail(r, "nodes[%" PRId64 "].in_shapes: more than %d entries", i, INT32_MAX);
            if (reserve((void **)&r->shapes, &r->cap_shapes, r->n_shapes + 1, sizeof(tensor_shape)))
                return fail(r, "out of memory");
            if (get_shape(c, &r->shapes[r->n_shapes], why, sizeof why))
                return fail(r, "nodes[%" PRId64 "].in_shapes[%" PRId64 "]%s", i, k, why);
            r->n_shapes++;
            k++;
        }
        jn->n_shapes = (int32_t)k;
    }

    if (f[NK_ATTRS] && parse_attrs(r, i, f[NK_ATTRS], a)) return -1;
    return 0;
}

/* Error for a cycle through node c (file index): names the node and spells
 * out one cycle through it, found by a breadth-first walk over producers. */
static int fail_cycle(reader *r, int64_t n, int64_t c)
{
    char q[QBUF], path[512];
    path[0] = '\0';
    int64_t *parent = malloc((size_t)n * sizeof *parent);
    int64_t *queue = malloc((size_t)n * sizeof *queue);
    if (parent && queue) {
        for (int64_t v = 0; v < n; v++) parent[v] = -2; /* -2: not reached */
        parent[c] = -1;
        int64_t head = 0, tail = 0, hit = -1;
        queue[tail++] = c;
        while (head < tail && hit < 0) {
            int64_t v = queue[head++];
            const jnode *jn = &r->nodes[v];
            for (int32_t j = 0; j < jn->n_inputs; j++) {
                int64_t p = r->src[jn->e_off + j];
                if (p == c) {
                    hit = v;
                    break;
                }
                if (parent[p] == -2) {
                    parent[p] = v;
                    queue[tail++] = p;
                }
            }
        }
        /* Data flows c -> hit -> parent[hit] -> ... -> c. */
        if (hit >= 0) {
            size_t o = 0;
            int shown = 0;
            o += (size_t)snprintf(path + o, sizeof path - o, ": %s", quote(r->nodes[c].name, q, sizeof q));
            for (int64_t v = hit; v >= 0 && o < sizeof path; v = parent[v], shown++) {
                if (shown == 8 && parent[v] >= 0) {
                    o += (size_t)snprintf(path + o, sizeof path - o, " -> ...");
                    while (parent[v] >= 0) v = parent[v];
                }
                if (o < sizeof path)
                    o += (size_t)snprintf(path + o, sizeof path - o, " -> %s", quote(r->nodes[v].name, q, sizeof q));
            }
        }
    }
    free(parent);
    free(queue);
    return fail(r, "nodes[%" PRId64 "] ('%s'): part of a cycle%s", c, quote(r->nodes[c].name, q, sizeof q), path);
}

/* Reads one document (root) and appends its graph to tmp. */
static int parse_doc(reader *r, const cJSON *root, graph_set *tmp)
{
    char why[256], d[QBUF + 32], q[QBUF], q2[QBUF];
    if (!cJSON_IsObject(root)) return fail(r, "top level: expected an object, found %s", describe(root, d, sizeof d));
    const cJSON *f[TK_COUNT];
    if (collect_keys(r, root, TOP_KEYS, TOP_KEY_LIST, f, TK_COUNT, "")) return -1;

    if (!f[TK_FORMAT])
        return fail(r, "missing required key \"format\" (a gnnperf graph starts with {\"format\": \"%s\", ...})",
                    GRAPH_JSON_FORMAT);
    if (!cJSON_IsString(f[TK_FORMAT]) || strcmp(f[TK_FORMAT]->valuestring, GRAPH_JSON_FORMAT) != 0)
        return fail(r, "format: expected \"%s\", found %s", GRAPH_JSON_FORMAT, describe(f[TK_FORMAT], d, sizeof d));
    if (!f[TK_VERSION]) return fail(r, "missing required key \"version\"");
    int64_t version;
    if (get_int(f[TK_VERSION], INT32_MIN, INT32_MAX, &version, why, sizeof why))
        return fail(r, "version: %s", why);
    if (version != GRAPH_JSON_VERSION)
        return fail(r, "version: unsupported version %" PRId64 " (this reader knows version %d)", version,
                    GRAPH_JSON_VERSION);
    if (!f[TK_NAME]) return fail(r, "missing required key \"name\"");
    if (!cJSON_IsString(f[TK_NAME]))
        return fail(r, "name: expected a string, found %s", describe(f[TK_NAME], d, sizeof d));
    const char *gname = f[TK_NAME]->valuestring;
    const char *bad = name_problem(gname, why, sizeof why);
    if (bad) return fail(r, "name: '%s' %s", quote(gname, q, sizeof q), bad);
    int64_t prev;
    int rc = strmap_put(&r->graph_names, gname, r->line, &prev);
    if (rc < 0) return fail(r, "out of memory");
    if (rc > 0) {
        if (prev < 0) return fail(r, "name: a graph named '%s' is already in the set", quote(gname, q, sizeof q));
        return fail(r, "name: duplicate graph name '%s' (also on line %" PRId64 ")", quote(gname, q, sizeof q), prev);
    }
    if (!f[TK_NODES]) return fail(r, "missing required key \"nodes\"");
    if (!cJSON_IsArray(f[TK_NODES]))
        return fail(r, "nodes: expected an array of node objects, found %s", describe(f[TK_NODES], d, sizeof d));

    int64_t n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, f[TK_NODES]) n++;
    if (n == 0) return fail(r, "nodes: empty; a graph needs at least one node");
    if (n > GRAPH_MAX_NODES_PER_GRAPH)
        return fail(r, "nodes: %" PRId64 " nodes, more than the %" PRId64 " a graph may hold", n,
                    GRAPH_MAX_NODES_PER_GRAPH);
    if (reserve((void **)&r->nodes, &r->cap_nodes, n, sizeof(jnode)) ||
        reserve((void **)&r->order, &r->cap_order, n, sizeof(int64_t)) ||
        reserve((void **)&r->pos, &r->cap_pos, n, sizeof(int64_t)))
        return fail(r, "out of memory");

    /* Pass 1: every node on its own. */
    r->n_shapes = 0;
    strmap_free(&r->node_names);
    if (strmap_init(&r->node_names, (size_t)n)) return fail(r, "out of memory");
    int64_t i = 0;
    cJSON_ArrayForEach(c, f[TK_NODES])
    {
        if (parse_node(r, i, c)) return -1;
        i++;
    }

    /* Pass 2: input names -> edges (file indices), grouped by consumer. */
    r->n_edges = 0;
    int64_t need = 0;
    for (i = 0; i < n; i++) need += r->nodes[i].n_inputs;
    if (reserve((void **)&r->src, &r->cap_src, need, sizeof(int32_t)) ||
        reserve((void **)&r->dst, &r->cap_dst, need, sizeof(int32_t)))
        return fail(r, "out of memory");
    for (i = 0; i < n; i++) {
        jnode *jn = &r->nodes[i];
        jn->e_off = r->n_edges;
        int64_t k = 0;
        cJSON_ArrayForEach(c, jn->inputs)
        {
            int64_t p = strmap_get(&r->node_names, c->valuestring);
            if (p < 0)
                return fail(r, "nodes[%" PRId64 "].inputs[%" PRId64 "]: no node named '%s' in graph '%s'", i, k,
                            quote(c->valuestring, q, sizeof q), quote(gname, q2, sizeof q2));
            r->src[r->n_edges] = (int32_t)p;
            r->dst[r->n_edges] = (int32_t)i;
            r->n_edges++;
            k++;
        }
    }

    /* Pass 3: input shapes against the producers' out_shapes. */
    for (i = 0; i < n; i++) {
        const jnode *jn = &r->nodes[i];
        if (jn->n_shapes >= 0) {
            if (jn->n_shapes < jn->n_inputs)
                return fail(r,
                            "nodes[%" PRId64 "].in_shapes: %d shapes for %d inputs (the first shapes are those of "
                            "\"inputs\"; extra ones are inputs from outside the graph)",
                            i, jn->n_shapes, jn->n_inputs);
            for (int32_t j = 0; j < jn->n_inputs; j++) {
                const tensor_shape *want = &r->nodes[r->src[jn->e_off + j]].a.out;
                const tensor_shape *got = &r->shapes[jn->shape_off + j];
                if (!shape_eq(want, got)) {
                    char s1[160], s2[160];
                    fmt_shape(got, s1, sizeof s1);
                    fmt_shape(want, s2, sizeof s2);
                    return fail(r,
                                "nodes[%" PRId64 "].in_shapes[%d]: %s differs from %s, the out_shape of its input "
                                "'%s' (nodes[%d])",
                                i, j, s1, s2, quote(r->nodes[r->src[jn->e_off + j]].name, q, sizeof q),
                                r->src[jn->e_off + j]);
                }
            }
        }
        /* Mirrors graph_set_validate, here with the JSON path. */
        const tensor_shape *x = jn->n_shapes > 0     ? &r->shapes[jn->shape_off]
                                : jn->n_inputs > 0 ? &r->nodes[r->src[jn->e_off]].a.out
                                                   : NULL;
        if ((jn->a.kind == OP_CONV2D || jn->a.kind == OP_DWCONV2D) && x) {
            if (x->rank < 2 || jn->a.out.rank < 2)
                return fail(r,
                            "nodes[%" PRId64 "] ('%s'): a convolution needs (N, C, ...) shapes; input rank %d, "
                            "out_shape rank %d",
                            i, quote(jn->name, q, sizeof q), x->rank, jn->a.out.rank);
            if (x->dim[1] % jn->a.groups != 0 || jn->a.out.dim[1] % jn->a.groups != 0)
                return fail(r,
                            "nodes[%" PRId64 "].attrs.groups: %d does not divide both the input channels (%" PRId64
                            ") and the output channels (%" PRId64 ")",
                            i, jn->a.groups, x->dim[1], jn->a.out.dim[1]);
        }
    }

    /* Pass 4: stable topological order. */
    int64_t cyc = -1;
    rc = graph_topo_order(n, r->n_edges, r->src, r->dst, r->order, &cyc);
    if (rc == -2) return fail(r, "out of memory");
    if (rc != 0) {
        if (cyc < 0 || cyc >= n) return fail(r, "nodes: the graph has a cycle");
        return fail_cycle(r, n, cyc);
    }
    for (int64_t k = 0; k < n; k++) r->pos[r->order[k]] = k;

    /* Pass 5: append in that order. */
    if (graph_set_begin_graph(tmp, gname, r->err)) return fail(r, "name: %s", r->err->msg);
    for (int64_t k = 0; k < n; k++) {
        i = r->order[k];
        const jnode *jn = &r->nodes[i];
        const tensor_shape *in = NULL;
        int32_t n_in = 0;
        if (jn->n_shapes >= 0) {
            in = r->shapes + jn->shape_off;
            n_in = jn->n_shapes;
        } else if (jn->n_inputs > 0) {
            if (reserve((void **)&r->scratch, &r->cap_scratch, jn->n_inputs, sizeof(tensor_shape)))
                return fail(r, "out of memory");
            for (int32_t j = 0; j < jn->n_inputs; j++) r->scratch[j] = r->nodes[r->src[jn->e_off + j]].a.out;
            in = r->scratch;
            n_in = jn->n_inputs;
        }
        int64_t local = graph_set_add_node(tmp, jn->name, &jn->a, in, n_in, r->err);
        if (local < 0) return fail(r, "nodes[%" PRId64 "]: %s", i, r->err->msg);
        if (local != k) return fail(r, "nodes[%" PRId64 "]: added as node %" PRId64 ", expected %" PRId64, i, local, k);
        for (int32_t j = 0; j < jn->n_inputs; j++)
            if (graph_set_add_edge(tmp, (int32_t)r->pos[r->src[jn->e_off + j]], (int32_t)k, r->err))
                return fail(r, "nodes[%" PRId64 "].inputs[%d]: %s", i, j, r->err->msg);
    }
    if (graph_set_end_graph(tmp, r->err)) return fail(r, "%s", r->err->msg);
    return 0;
}

/* What cJSON would accept but the format forbids, and nesting too deep for
 * a clean message from cJSON. Strings are tracked so that escapes can be
 * checked; a raw control character inside a string (JSON forbids them) ends
 * the check, which also keeps string tracking in step on broken input.
 * *unclosed tells whether the text ends inside a string or an array or
 * object: the likely cause when cJSON then fails. */
static int prescan(reader *r, const char *text, size_t len, int *unclosed)
{
    const unsigned char *p = (const unsigned char *)text;
    int in_string = 0;
    int64_t depth = 0, line, col;
    const char *what = NULL;
    char buf[64];
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == 0) {
            what = "NUL byte";
            break;
        }
        if (c >= 0x80) {
            int k = utf8_seq(p + i, len - i);
            if (!k) {
                what = "invalid UTF-8";
                break;
            }
            i += (size_t)k;
            continue;
        }
        if (in_string) {
            if (c < 0x20) {
                snprintf(buf, sizeof buf, "control character 0x%02x inside a string%s", c,
                         c == '\n' || c == '\r' ? " (unterminated string?)" : "");
                what = buf;
                break;
            }
            if (c == '"') {
                in_string = 0;
            } else if (c == '\\') {
                if (i + 1 >= len) break; /* cut short: cJSON reports it */
                unsigned char e = p[i + 1];
                if (e == 'u') {
                    unsigned v = 0;
                    int ok = i + 5 < len;
                    for (int k = 2; k < 6 && ok; k++) {
                        unsigned char h = p[i + (size_t)k];
                        int x = h >= '0' && h <= '9' ? h - '0'
                                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                       : -1;
                        if (x < 0) ok = 0;
                        v = v * 16 + (unsigned)x;
                    }
                    if (!ok) {
                        what = "invalid \\u escape (expected 4 hex digits)";
                        break;
                    }
                    if (v == 0) {
                        what = "\\u0000 (NUL) escape";
                        break;
                    }
                    i += 6;
                    continue;
                }
                if (!strchr("\"\\/bfnrt", e) || e == 0) {
                    snprintf(buf, sizeof buf, "invalid escape '\\%c'", e >= 0x20 && e < 0x7F ? e : '?');
                    what = buf;
                    break;
                }
                i += 2;
                continue;
            }
        } else {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                snprintf(buf, sizeof buf, "control character 0x%02x", c);
                what = buf;
                break;
            }
            if (c == '"') {
                in_string = 1;
            } else if (c == '[' || c == '{') {
                if (++depth > GRAPH_JSON_MAX_DEPTH) {
                    snprintf(buf, sizeof buf, "nesting deeper than %d levels", GRAPH_JSON_MAX_DEPTH);
                    what = buf;
                    break;
                }
            } else if ((c == ']' || c == '}') && depth > 0) {
                depth--;
            }
        }
        i++;
    }
    *unclosed = in_string || depth > 0;
    if (!what) return 0;
    line_col(text, i, &line, &col);
    return fail(r, "%s at line %" PRId64 ", column %" PRId64, what, line, col);
}

static int is_blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return 0;
    return 1;
}

/* Releases names of graphs and nodes past the given counts and restores the
 * counts: undoes a partial append. Every name is its own allocation, owned
 * by the set (graph_set_free frees each), and capacities stay valid. */
static void truncate_set(graph_set *s, int64_t n_graphs, int64_t n_nodes, int64_t n_edges, int64_t n_in_shapes)
{
    if (s->open) free(s->graph_names[s->n_graphs]);
    for (int64_t g = n_graphs; g < s->n_graphs; g++) free(s->graph_names[g]);
    for (int64_t v = n_nodes; v < s->n_nodes; v++) free(s->node_names[v]);
    s->open = 0;
    s->n_graphs = n_graphs;
    s->n_nodes = n_nodes;
    s->n_edges = n_edges;
    s->n_in_shapes = n_in_shapes;
}

static void drop_csr(graph_set *s)
{
    free(s->pred_ptr);
    free(s->pred_idx);
    free(s->succ_ptr);
    free(s->succ_idx);
    s->pred_ptr = s->pred_idx = s->succ_ptr = s->succ_idx = NULL;
}

/* Moves or copies every graph of tmp (validated, no CSR) into s. */
static int append_set(graph_set *s, graph_set *tmp, gp_error *err)
{
    if (s->n_graphs == 0 && s->n_nodes == 0 && s->n_edges == 0 && s->n_in_shapes == 0) {
        graph_set_free(s);
        *s = *tmp;
        graph_set_init(tmp);
        return 0;
    }
    int64_t g0 = s->n_graphs, v0 = s->n_nodes, e0 = s->n_edges, i0 = s->n_in_shapes;
    for (int64_t g = 0; g < tmp->n_graphs; g++) {
        if (graph_set_begin_graph(s, tmp->graph_names[g], err)) goto fail;
        for (int64_t v = tmp->node_off[g]; v < tmp->node_off[g + 1]; v++) {
            const graph_node *a = &tmp->nodes[v];
            if (graph_set_add_node(s, tmp->node_names[v], a, a->n_in ? tmp->in_shapes + a->in_off : NULL, a->n_in,
                                   err) < 0)
                goto fail;
        }
        for (int64_t e = tmp->edge_off[g]; e < tmp->edge_off[g + 1]; e++)
            if (graph_set_add_edge(s, tmp->edge_src[e], tmp->edge_dst[e], err)) goto fail;
        if (graph_set_end_graph(s, err)) goto fail;
    }
    drop_csr(s);
    return 0;
fail:
    truncate_set(s, g0, v0, e0, i0);
    return -1;
}

int graph_json_parse(graph_set *s, const char *text, size_t len, const char *source, gp_error *err)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.source = source ? source : "<text>";
    r.err = err;
    gp_error local;
    if (!r.err) r.err = &local; /* builder messages are wrapped, so one is always needed */
    if (s->open) return fail(&r, "the graph set has an open graph; end it before reading more");
    if (!text || len == 0 || is_blank(text, text + len)) return fail(&r, "empty file: no JSON document");
    int unclosed = 0;
    if (prescan(&r, text, len, &unclosed)) return -1;

    graph_set tmp;
    graph_set_init(&tmp);
    cJSON *root = NULL;
    int rc = -1;
    if (strmap_init(&r.graph_names, (size_t)s->n_graphs + 16)) {
        fail(&r, "out of memory");
        goto done;
    }
    for (int64_t g = 0; g < s->n_graphs; g++)
        if (strmap_put(&r.graph_names, s->graph_names[g], -1, NULL) < 0) {
            fail(&r, "out of memory");
            goto done;
        }

    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        int64_t line, col;
        size_t off = end ? (size_t)(end - text) : 0;
        line_col(text, off, &line, &col);
        fail(&r, "syntax error at line %" PRId64 ", column %" PRId64 "%s", line, col,
             unclosed ? " (the text ends inside a string, array or object: truncated?)" : "");
        goto done;
    }
    if (is_blank(end, text + len)) {
        if (parse_doc(&r, root, &tmp)) goto done;
    } else {
        /* JSON Lines: one document per line. */
        const char *start = text;
        while (start < end && is_blank(start, start + 1)) start++;
        if (memchr(start, '\n', (size_t)(end - start))) {
            int64_t line, col, l2, c2;
            line_col(text, (size_t)(end - text), &line, &col);
            while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
            line_col(text, (size_t)(end - text), &l2, &c2);
            fail(&r,
                 "unexpected text at line %" PRId64 ", column %" PRId64 " after the JSON document that ends on line %"
                 PRId64 " (a file of several documents must be JSON Lines: one whole document per line)",
                 l2, c2, line);
            goto done;
        }
        cJSON_Delete(root);
        root = NULL;
        const char *p = text, *stop = text + len;
        for (int64_t line = 1; p < stop; line++) {
            const char *nl = memchr(p, '\n', (size_t)(stop - p));
            const char *eol = nl ? nl : stop;
            r.line = line;
            if (!is_blank(p, eol)) {
                root = cJSON_ParseWithLengthOpts(p, (size_t)(eol - p), &end, 0);
                if (!root) {
                    size_t off = end ? (size_t)(end - p) : 0;
                    prescan(&r, p, (size_t)(eol - p), &unclosed); /* the line passed already */
                    fail(&r, "syntax error at column %zu%s", off + 1,
                         unclosed ? " (the line ends inside a string, array or object: truncated?)" : "");
                    goto done;
                }
                if (!is_blank(end, eol)) {
                    fail(&r, "unexpected text at column %td after the JSON document", end - p + 1);
                    goto done;
                }
                if (parse_doc(&r, root, &tmp)) goto done;
                cJSON_Delete(root);
                root = NULL;
            }
            p = nl ? nl + 1 : stop;
        }
        r.line = 0;
    }
    if (graph_set_validate(&tmp, r.err)) {
        gp_error_prefix(r.err, "%s", r.source);
        goto done;
    }
    if (append_set(s, &tmp, r.err)) {
        gp_error_prefix(r.err, "%s", r.source);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    /* a graph left open by a failure: graph_set_free frees the names of
     * ended graphs only */
    if (tmp.open) truncate_set(&tmp, tmp.n_graphs, tmp.n_nodes, tmp.n_edges, tmp.n_in_shapes);
    graph_set_free(&tmp);
    strmap_free(&r.node_names);
    reader_free(&r);
    return rc;
}

int graph_json_read_file(graph_set *s, const char *path, gp_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return gp_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int is_reg = 0;
    if (fstat(fileno(f), &st) == 0) {
        is_reg = S_ISREG(st.st_mode);
        if (S_ISDIR(st.st_mode)) {
            fclose(f);
            return gp_errorf(err, "%s: is a directory, not a JSON graph file", path);
        }
        if (S_ISREG(st.st_mode) && st.st_size > GRAPH_JSON_MAX_FILE_BYTES) {
            fclose(f);
            return gp_errorf(err, "%s: %lld bytes, over the %lld-byte (1 GiB) limit for a JSON graph file; split it",
                             path, (long long)st.st_size, (long long)GRAPH_JSON_MAX_FILE_BYTES);
        }
    }
    /* Read in chunks: works for pipes too, and a file that grows while
     * being read still meets the limit. */
    size_t cap = is_reg && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536, len = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!buf) {
        gp_errorf(err, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        if (len == cap) {
            if ((int64_t)cap > GRAPH_JSON_MAX_FILE_BYTES) {
                gp_errorf(err, "%s: more than %lld bytes (1 GiB), the limit for a JSON graph file; split it", path,
                          (long long)GRAPH_JSON_MAX_FILE_BYTES);
                goto done;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) {
                gp_errorf(err, "%s: out of memory", path);
                goto done;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        gp_errorf(err, "%s: read error: %s", path, strerror(errno));
        goto done;
    }
    if ((int64_t)len > GRAPH_JSON_MAX_FILE_BYTES) {
        gp_errorf(err, "%s: more than %lld bytes (1 GiB), the limit for a JSON graph file; split it", path,
                  (long long)GRAPH_JSON_MAX_FILE_BYTES);
        goto done;
    }
    rc = graph_json_parse(s, buf, len, path, err);
done:
    free(buf);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

/* Names were checked by name_problem: only '"' and '\' need escaping. */
static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_shape(FILE *f, const tensor_shape *t, const char *sep)
{
    fputc('[', f);
    for (int d = 0; d < t->rank; d++) fprintf(f, "%s%" PRId64, d ? sep : "", t->dim[d]);
    fputc(']', f);
}

int graph_json_write(FILE *f, const graph_set *s, int64_t g, int pretty, gp_error *err)
{
    char why[160], q[QBUF], q2[QBUF];
    if (g < 0 || g >= s->n_graphs)
        return gp_errorf(err, "graph %" PRId64 ": outside the set's %" PRId64 " graphs", g, s->n_graphs);
    const char *gname = s->graph_names[g];
    const char *bad = name_problem(gname, why, sizeof why);
    if (bad)
        return gp_errorf(err, "graph %" PRId64 ": name '%s' %s: cannot be written as JSON", g,
                         quote(gname, q, sizeof q), bad);
    int64_t base = s->node_off[g], n = graph_nodes_in(s, g);
    int64_t e0 = s->edge_off[g], ne = graph_edges_in(s, g);
    if (n <= 0) return gp_errorf(err, "graph '%s': has no nodes", quote(gname, q, sizeof q));

    /* Producers of each node in edge order: a stable counting sort by
     * consumer, so the set need not be finished. */
    int64_t *ptr = calloc((size_t)n + 1, sizeof *ptr);
    int64_t *fill = calloc((size_t)n + 1, sizeof *fill);
    int32_t *pred = malloc(((size_t)ne + 1) * sizeof *pred);
    int rc = -1;
    if (!ptr || !fill || !pred) {
        gp_errorf(err, "out of memory");
        goto done;
    }
    for (int64_t e = e0; e < e0 + ne; e++) {
        int32_t a = s->edge_src[e], b = s->edge_dst[e];
        if (a < 0 || b < 0 || a >= n || b >= n || a >= b) {
            gp_errorf(err, "graph '%s': edge %" PRId64 " (%d->%d): out of range or against topological order",
                      quote(gname, q, sizeof q), e - e0, a, b);
            goto done;
        }
        ptr[b + 1]++;
    }
    for (int64_t v = 0; v < n; v++) ptr[v + 1] += ptr[v];
    for (int64_t e = e0; e < e0 + ne; e++) pred[ptr[s->edge_dst[e]] + fill[s->edge_dst[e]]++] = s->edge_src[e];

    /* Check everything before printing a byte of this graph. */
    for (int64_t v = 0; v < n; v++) {
        const graph_node *a = &s->nodes[base + v];
        const char *nm = s->node_names[base + v];
        bad = name_problem(nm, why, sizeof why);
        if (bad) {
            gp_errorf(err, "graph '%s': node %" PRId64 ": name '%s' %s: cannot be written as JSON",
                      quote(gname, q, sizeof q), v, quote(nm, q2, sizeof q2), bad);
            goto done;
        }
        if (!op_kind_name(a->kind) || !op_fn_name(a->fn) || !dtype_name(a->dtype) || a->out.rank < 0 ||
            a->out.rank > GRAPH_MAX_RANK || a->n_in < 0 || a->in_off < 0 || a->in_off + a->n_in > s->n_in_shapes) {
            gp_errorf(err, "graph '%s': node %" PRId64 " ('%s'): invalid node (validate the set first)",
                      quote(gname, q, sizeof q), v, nm);
            goto done;
        }
        int64_t np = ptr[v + 1] - ptr[v];
        if (a->n_in < np) {
            gp_errorf(err,
                      "graph '%s': node %" PRId64 " ('%s'): %d input shapes recorded for %" PRId64
                      " producers; the JSON format needs one per producer",
                      quote(gname, q, sizeof q), v, nm, a->n_in, np);
            goto done;
        }
        for (int64_t j = 0; j < np; j++) {
            const tensor_shape *t = &s->in_shapes[a->in_off + j];
            if (t->rank < 0 || t->rank > GRAPH_MAX_RANK ||
                !shape_eq(t, &s->nodes[base + pred[ptr[v] + j]].out)) {
                gp_errorf(err,
                          "graph '%s': node %" PRId64 " ('%s'): in_shapes[%" PRId64
                          "] differs from the out_shape of its producer '%s'; the JSON format cannot express that",
                          quote(gname, q, sizeof q), v, nm, j, s->node_names[base + pred[ptr[v] + j]]);
                goto done;
            }
        }
        for (int32_t j = (int32_t)np; j < a->n_in; j++)
            if (s->in_shapes[a->in_off + j].rank < 0 || s->in_shapes[a->in_off + j].rank > GRAPH_MAX_RANK) {
                gp_errorf(err, "graph '%s': node %" PRId64 " ('%s'): in_shapes[%d] has an invalid rank",
                          quote(gname, q, sizeof q), v, nm, j);
                goto done;
            }
    }

    const char *sep = pretty ? ", " : ",";
    const char *colon = pretty ? ": " : ":";
    graph_node def;
    graph_node_defaults(&def);
    if (pretty)
        fprintf(f, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"name\": ", GRAPH_JSON_FORMAT,
                GRAPH_JSON_VERSION);
    else
        fprintf(f, "{\"format\":\"%s\",\"version\":%d,\"name\":", GRAPH_JSON_FORMAT, GRAPH_JSON_VERSION);
    put_str(f, gname);
    fputs(pretty ? ",\n  \"nodes\": [\n" : ",\"nodes\":[", f);
    for (int64_t v = 0; v < n; v++) {
        const graph_node *a = &s->nodes[base + v];
        int64_t np = ptr[v + 1] - ptr[v];
        if (pretty) fputs("    ", f);
        fprintf(f, "{\"name\"%s", colon);
        put_str(f, s->node_names[base + v]);
        fprintf(f, "%s\"op\"%s\"%s\"", sep, colon, op_kind_name(a->kind));
        if (np > 0) {
            fprintf(f, "%s\"inputs\"%s[", sep, colon);
            for (int64_t j = 0; j < np; j++) {
                if (j) fputs(sep, f);
                put_str(f, s->node_names[base + pred[ptr[v] + j]]);
            }
            fputc(']', f);
        }
        if (a->n_in > np) {
            fprintf(f, "%s\"in_shapes\"%s[", sep, colon);
            for (int32_t j = 0; j < a->n_in; j++) {
                if (j) fputs(sep, f);
                put_shape(f, &s->in_shapes[a->in_off + j], sep);
            }
            fputc(']', f);
        }
        fprintf(f, "%s\"out_shape\"%s", sep, colon);
        put_shape(f, &a->out, sep);
        if (a->dtype != def.dtype) fprintf(f, "%s\"dtype\"%s\"%s\"", sep, colon, dtype_name(a->dtype));
        struct {
            const char *key;
            const int32_t *v, *d;
        } pairs[] = {{"kernel", a->kernel, def.kernel},
                     {"stride", a->stride, def.stride},
                     {"padding", a->padding, def.padding},
                     {"dilation", a->dilation, def.dilation}};
        int n_attrs = 0;
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            if (pairs[k].v[0] == pairs[k].d[0] && pairs[k].v[1] == pairs[k].d[1]) continue;
            fprintf(f, "%s\"%s\"%s[%d%s%d]", n_attrs++ ? sep : (pretty ? ", \"attrs\": {" : ",\"attrs\":{"),
                    pairs[k].key, colon, pairs[k].v[0], sep, pairs[k].v[1]);
        }
        if (a->groups != def.groups)
            fprintf(f, "%s\"groups\"%s%d", n_attrs++ ? sep : (pretty ? ", \"attrs\": {" : ",\"attrs\":{"), colon,
                    a->groups);
        if (a->fn != def.fn)
            fprintf(f, "%s\"fn\"%s\"%s\"", n_attrs++ ? sep : (pretty ? ", \"attrs\": {" : ",\"attrs\":{"), colon,
                    op_fn_name(a->fn));
        if (a->inplace)
            fprintf(f, "%s\"inplace\"%strue", n_attrs++ ? sep : (pretty ? ", \"attrs\": {" : ",\"attrs\":{"), colon);
        if (n_attrs) fputc('}', f);
        fputc('}', f);
        if (v + 1 < n) fputc(',', f);
        if (pretty) fputc('\n', f);
    }
    fputs(pretty ? "  ]\n}\n" : "]}\n", f);
    if (ferror(f)) {
        gp_errorf(err, "graph '%s': write error: %s", quote(gname, q, sizeof q), strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(ptr);
    free(fill);
    free(pred);
    return rc;
}

int graph_json_write_file(const graph_set *s, const char *path, int pretty, gp_error *err)
{
    if (s->n_graphs <= 0) return gp_errorf(err, "%s: no graph to write", path);
    atomic_file af;
    if (atomic_file_begin(&af, path, err)) return -1;
    FILE *f = fopen(af.tmp_path, "w");
    if (!f) {
        gp_errorf(err, "%s: cannot write %s: %s", path, af.tmp_path, strerror(errno));
        atomic_file_abort(&af);
        return -1;
    }
    for (int64_t g = 0; g < s->n_graphs; g++)
        if (graph_json_write(f, s, g, pretty && s->n_graphs == 1, err)) {
            gp_error_prefix(err, "%s", path);
            fclose(f);
            atomic_file_abort(&af);
            return -1;
        }
    if (fclose(f) != 0) {
        gp_errorf(err, "%s: write failed: %s", path, strerror(errno));
        atomic_file_abort(&af);
        return -1;
    }
    return atomic_file_commit(&af, err);
}
