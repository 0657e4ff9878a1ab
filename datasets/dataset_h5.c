/* dataset_h5: the "gnnperf-dataset" HDF5 format, version 1
 * (docs/dataset-format.md): dataset_write_h5 and dataset_read_h5.
 *
 * The writer validates first, writes one HDF5 call per array into a
 * temporary file beside the target and renames it at the end. The reader
 * trusts nothing in the file: every object is checked for kind, class, rank,
 * exact dimensions and plausible size before it is read (datasets/h5util.h),
 * then every value is range-checked with a message naming the HDF5 path and
 * the graph and node concerned, then the whole dataset goes through
 * dataset_validate(). The reader does not need /nodes/features: it keeps
 * the raw attributes and features are always recomputed by featurize_nodes. */
#include "dataset.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/atomic_file.h"
#include "../common/strmap.h"
#include "../graph/featurize.h"
#include "../common/h5util.h"

/* Vocabularies and names lists stored as attributes stay small; a longer
 * one is not something our writer makes. */
#define MAX_VOCABULARY 4096
/* More named targets than any profiler produces; bounds the link listing. */
#define MAX_TARGETS 4096

/* ======================================================================
 * Writing
 * ====================================================================== */

static int put(h5w *w, const char *path, hid_t ftype, hid_t mtype, int rank, int64_t d0, int64_t d1, const void *buf)
{
    hid_t ds = h5w_array(w, path, ftype, mtype, rank, d0, d1, buf);
    if (ds < 0) return -1;
    if (H5Dclose(ds) < 0) return h5w_fail(w, path, "cannot close");
    return 0;
}

static int put_strings(h5w *w, const char *path, char *const *s, int64_t n)
{
    hid_t ds = h5w_strings(w, path, s, n);
    if (ds < 0) return -1;
    if (H5Dclose(ds) < 0) return h5w_fail(w, path, "cannot close");
    return 0;
}

static int put_group(h5w *w, const char *path, int track_order)
{
    hid_t g = h5w_group(w, path, track_order);
    if (g < 0) return -1;
    if (H5Gclose(g) < 0) return h5w_fail(w, path, "cannot close");
    return 0;
}

/* An int32 code column with its vocabulary beside it. */
static int put_codes(h5w *w, const char *path, const int32_t *codes, int64_t n, const char *(*name)(int), int count)
{
    hid_t ds = h5w_array(w, path, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, 1, codes);
    if (ds < 0) return -1;
    const char *voc[256];
    for (int k = 0; k < count && k < 256; k++) voc[k] = name(k);
    int rc = h5w_attr_strings(w, ds, path, "vocabulary", voc, count);
    if (H5Dclose(ds) < 0 && rc == 0) rc = h5w_fail(w, path, "cannot close");
    return rc;
}

static int write_nodes(h5w *w, const graph_set *s, const float *features)
{
    const int64_t n = s->n_nodes;
    int64_t n_in_total = 0;
    for (int64_t i = 0; i < n; i++) n_in_total += s->nodes[i].n_in;
    /* One scratch buffer, reused for every column. */
    int64_t rows = n + 1 > n_in_total ? n + 1 : n_in_total;
    void *scratch = malloc((size_t)rows * GRAPH_MAX_RANK * sizeof(int64_t));
    if (!scratch) return h5w_fail(w, "/nodes", "out of memory");
    int32_t *i32 = scratch;
    int64_t *i64 = scratch;
    int rc = -1;

    if (put_strings(w, "/nodes/names", s->node_names, n) != 0) goto done;
    for (int64_t i = 0; i < n; i++) i32[i] = s->nodes[i].kind;
    if (put_codes(w, "/nodes/kind", i32, n, op_kind_name, OP_KIND_COUNT) != 0) goto done;
    for (int64_t i = 0; i < n; i++) i32[i] = s->nodes[i].fn;
    if (put_codes(w, "/nodes/fn", i32, n, op_fn_name, FN_COUNT) != 0) goto done;
    for (int64_t i = 0; i < n; i++) i32[i] = s->nodes[i].dtype;
    if (put_codes(w, "/nodes/dtype", i32, n, dtype_name, DT_COUNT) != 0) goto done;

    static const struct {
        const char *path;
        size_t off;
    } pairs[] = {
        {"/nodes/kernel", offsetof(graph_node, kernel)},
        {"/nodes/stride", offsetof(graph_node, stride)},
        {"/nodes/padding", offsetof(graph_node, padding)},
        {"/nodes/dilation", offsetof(graph_node, dilation)},
    };
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        for (int64_t i = 0; i < n; i++) memcpy(i32 + 2 * i, (const char *)&s->nodes[i] + pairs[p].off, 2 * sizeof(int32_t));
        if (put(w, pairs[p].path, H5T_STD_I32LE, H5T_NATIVE_INT32, 2, n, 2, i32) != 0) goto done;
    }
    for (int64_t i = 0; i < n; i++) i32[i] = s->nodes[i].groups;
    if (put(w, "/nodes/groups", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, 1, i32) != 0) goto done;
    for (int64_t i = 0; i < n; i++) i32[i] = s->nodes[i].inplace;
    if (put(w, "/nodes/inplace", H5T_STD_I8LE, H5T_NATIVE_INT32, 1, n, 1, i32) != 0) goto done;
    for (int64_t i = 0; i < n; i++) i32[i] = s->nodes[i].out.rank;
    if (put(w, "/nodes/out_rank", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, 1, i32) != 0) goto done;
    for (int64_t i = 0; i < n; i++) memcpy(i64 + i * GRAPH_MAX_RANK, s->nodes[i].out.dim, sizeof s->nodes[i].out.dim);
    if (put(w, "/nodes/out_shape", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, n, GRAPH_MAX_RANK, i64) != 0) goto done;

    /* Input shapes are stored in node order whatever in_off says, so the
     * file's offsets are always the running sum of n_in. */
    i64[0] = 0;
    for (int64_t i = 0; i < n; i++) i64[i + 1] = i64[i] + s->nodes[i].n_in;
    if (put(w, "/nodes/in_shape_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, n + 1, 1, i64) != 0) goto done;
    int64_t j = 0;
    for (int64_t i = 0; i < n; i++)
        for (int32_t k = 0; k < s->nodes[i].n_in; k++) i32[j++] = s->in_shapes[s->nodes[i].in_off + k].rank;
    if (put(w, "/nodes/in_ranks", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n_in_total, 1, i32) != 0) goto done;
    j = 0;
    for (int64_t i = 0; i < n; i++)
        for (int32_t k = 0; k < s->nodes[i].n_in; k++, j++)
            memcpy(i64 + j * GRAPH_MAX_RANK, s->in_shapes[s->nodes[i].in_off + k].dim, GRAPH_MAX_RANK * sizeof(int64_t));
    if (put(w, "/nodes/in_shapes", H5T_STD_I64LE, H5T_NATIVE_INT64, 2, n_in_total, GRAPH_MAX_RANK, i64) != 0)
        goto done;

    if (!features) { /* the caller asked for a file without the cache */
        rc = 0;
        goto done;
    }
    int f = featurize_dim();
    hid_t ds = h5w_array(w, "/nodes/features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, n, f, features);
    if (ds < 0) goto done;
    const char *cols[1024];
    for (int k = 0; k < f && k < 1024; k++) cols[k] = featurize_name(k);
    rc = h5w_attr_int(w, ds, "/nodes/features", "featurizer_version", FEATURIZER_VERSION);
    if (rc == 0) rc = h5w_attr_strings(w, ds, "/nodes/features", "column_names", cols, f < 1024 ? f : 1024);
    if (H5Dclose(ds) < 0 && rc == 0) rc = h5w_fail(w, "/nodes/features", "cannot close");
done:
    free(scratch);
    return rc;
}

static int write_all(h5w *w, const dataset *d, const graph_set *s, const float *features)
{
    hid_t root = H5Gopen2(w->fid, "/", H5P_DEFAULT);
    if (root < 0) return h5w_fail(w, "/", "cannot open the root group");
    int rc = h5w_attr_string(w, root, "/", "format", DATASET_FORMAT_NAME);
    if (rc == 0) rc = h5w_attr_int(w, root, "/", "format_version", DATASET_FORMAT_VERSION);
    if (rc == 0) rc = h5w_attr_int(w, root, "/", "featurizer_version", FEATURIZER_VERSION);
    if (rc == 0 && d->provenance) rc = h5w_attr_string(w, root, "/", "provenance", d->provenance);
    H5Gclose(root);
    if (rc != 0) return -1;

    static const char *const groups[] = {"/graphs", "/nodes", "/edges", "/devices", "/labels"};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        if (put_group(w, groups[g], 0) != 0) return -1;
    if (put_group(w, "/labels/node", 1) != 0 || put_group(w, "/labels/graph", 1) != 0) return -1;

    const int64_t G = s->n_graphs;
    if (put_strings(w, "/graphs/names", s->graph_names, G) != 0 ||
        put(w, "/graphs/node_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, G + 1, 1, s->node_off) != 0 ||
        put(w, "/graphs/edge_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, G + 1, 1, s->edge_off) != 0)
        return -1;
    if (write_nodes(w, s, features) != 0) return -1;
    if (put(w, "/edges/src", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, s->n_edges, 1, s->edge_src) != 0 ||
        put(w, "/edges/dst", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, s->n_edges, 1, s->edge_dst) != 0)
        return -1;

    if (put_strings(w, "/devices/names", d->device_names, d->n_devices) != 0 ||
        put_strings(w, "/devices/descriptor_names", d->descriptor_names, d->n_descriptors) != 0 ||
        put(w, "/devices/descriptors", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, d->n_devices, d->n_descriptors,
            d->descriptors) != 0)
        return -1;

    for (int32_t t = 0; t < d->n_targets; t++) {
        const label_target *lt = &d->targets[t];
        char path[64 + GRAPH_MAX_NAME];
        snprintf(path, sizeof path, "/labels/%s/%s", lt->level == LABEL_NODE ? "node" : "graph", lt->name);
        hid_t ds = h5w_array(w, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dataset_target_rows(d, lt), d->n_devices,
                             lt->values);
        if (ds < 0) return -1;
        rc = h5w_attr_string(w, ds, path, "unit", lt->unit ? lt->unit : "");
        if (H5Dclose(ds) < 0 && rc == 0) rc = h5w_fail(w, path, "cannot close");
        if (rc != 0) return -1;
    }
    return 0;
}

int dataset_write_h5(const dataset *d, const char *path, gp_error *err)
{
    return dataset_write_h5_opts(d, path, 1, err);
}

int dataset_write_h5_opts(const dataset *d, const char *path, int with_features, gp_error *err)
{
    h5_quiet();
    if (!d || !path) return gp_errorf(err, "dataset_write_h5: NULL dataset or path");
    if (dataset_validate(d, err) != 0) return gp_error_prefix(err, "%s: not written", path);

    /* Features need the CSR (degrees). Build it on a shallow copy when the
     * caller's set has none, so d stays untouched. */
    graph_set s = d->graphs;
    int own_csr = !s.pred_ptr || !s.succ_ptr;
    if (own_csr) {
        s.pred_ptr = s.pred_idx = s.succ_ptr = s.succ_idx = NULL;
        if (graph_set_build_csr(&s, err) != 0) {
            free(s.pred_ptr), free(s.pred_idx), free(s.succ_ptr), free(s.succ_idx);
            return gp_error_prefix(err, "%s: not written", path);
        }
    }
    int rc = -1;
    size_t nf = (size_t)s.n_nodes * (size_t)featurize_dim();
    float *features = malloc((nf ? nf : 1) * sizeof(float));
    if (!features) {
        gp_errorf(err, "%s: out of memory for %zu features", path, nf);
        goto done;
    }
    featurize_nodes(&s, features);
    if (!with_features) {
        free(features);
        features = NULL;
    }

    atomic_file af;
    h5w w;
    if (h5w_create(&w, &af, path, err) != 0) goto done;
    rc = write_all(&w, d, &s, features);
    /* Closing flushes everything: a failure here is a failed write too. */
    if (H5Fclose(w.fid) < 0 && rc == 0) rc = h5w_fail(&w, NULL, "cannot finish writing the file");
    if (rc == 0) rc = atomic_file_commit(&af, err);
    else atomic_file_abort(&af);
done:
    free(features);
    if (own_csr) free(s.pred_ptr), free(s.pred_idx), free(s.succ_ptr), free(s.succ_idx);
    return rc;
}

/* ======================================================================
 * Reading
 * ====================================================================== */

typedef struct reader {
    h5r r;
    dataset t; /* being filled; every count matches its allocated array, so dataset_free works at any point */
} reader;

/* A name from the file, fit for a message: at most 64 bytes, no control
 * characters. */
static const char *safe(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s && s[i] && i + 4 < size && i < 64; i++) buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    buf[i] = '\0';
    if (s && s[i]) snprintf(buf + i, size - i, "...");
    return buf;
}

/* Graph of global node i (node_off is strictly increasing by now). */
static int64_t graph_of(const graph_set *s, int64_t i)
{
    int64_t lo = 0, hi = s->n_graphs - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (s->node_off[mid] <= i) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* "row 7 (graph 0 'g0', node 3 'conv1')" */
static const char *node_ctx(const reader *rd, int64_t i, char *buf, size_t size)
{
    const graph_set *s = &rd->t.graphs;
    int64_t g = graph_of(s, i);
    char a[80], b[80];
    snprintf(buf, size, "row %lld (graph %lld '%s', node %lld '%s')", (long long)i, (long long)g,
             safe(s->graph_names[g], a, sizeof a), (long long)(i - s->node_off[g]),
             s->node_names ? safe(s->node_names[i], b, sizeof b) : "?");
    return buf;
}

/* Names that must be non-empty, short and (when unique) distinct. */
static int check_names(reader *rd, const char *path, char **names, int64_t n, int unique)
{
    strmap m;
    if (unique && strmap_init(&m, (size_t)n) != 0) return h5r_fail(&rd->r, path, "out of memory");
    int rc = 0;
    char a[80];
    for (int64_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(names[i]);
        if (len == 0) rc = h5r_fail(&rd->r, path, "entry %lld is empty", (long long)i);
        else if (len >= GRAPH_MAX_NAME)
            rc = h5r_fail(&rd->r, path, "entry %lld ('%s') is %zu bytes long, more than %d", (long long)i,
                          safe(names[i], a, sizeof a), len, GRAPH_MAX_NAME - 1);
        else if (unique) {
            int64_t prev;
            int p = strmap_put(&m, names[i], i, &prev);
            if (p < 0) rc = h5r_fail(&rd->r, path, "out of memory");
            else if (p > 0)
                rc = h5r_fail(&rd->r, path, "entry %lld ('%s') repeats entry %lld; names must be unique",
                              (long long)i, safe(names[i], a, sizeof a), (long long)prev);
        }
    }
    if (unique) strmap_free(&m);
    return rc;
}

/* Offsets: start at 0, never decrease, and (nonempty) strictly increase. */
static int check_offsets(reader *rd, const char *path, const int64_t *off, int64_t count, int nonempty,
                         char **graph_names)
{
    if (off[0] != 0) return h5r_fail(&rd->r, path, "starts at %lld, expected 0", (long long)off[0]);
    char a[80];
    for (int64_t i = 1; i < count; i++) {
        if (off[i] < off[i - 1])
            return h5r_fail(&rd->r, path, "not non-decreasing at index %lld (%lld after %lld)", (long long)i,
                            (long long)off[i], (long long)off[i - 1]);
        if (nonempty && off[i] == off[i - 1])
            return h5r_fail(&rd->r, path, "graph %lld ('%s') is empty (entries %lld and %lld are both %lld)",
                            (long long)(i - 1), safe(graph_names[i - 1], a, sizeof a), (long long)(i - 1),
                            (long long)i, (long long)off[i]);
    }
    return 0;
}

/* The last offset must match the length of the array it indexes. */
static int check_offsets_end(reader *rd, const char *path, int64_t end, const char *indexed)
{
    int64_t len = h5r_length(&rd->r, indexed);
    if (len >= 0 && len != end)
        return h5r_fail(&rd->r, path, "ends at %lld, but %s has %lld entries", (long long)end, indexed, (long long)len);
    return 0;
}

static int read_root(reader *rd)
{
    h5r *r = &rd->r;
    hid_t root = H5Gopen2(r->fid, "/", H5P_DEFAULT);
    if (root < 0) return h5r_fail(r, "/", "cannot open the root group (corrupt file?)");
    char *format = NULL;
    int64_t version = 0, fver = 0;
    char a[80];
    int rc = 0;
    int o = h5r_attr_string(r, root, "/", "format", 0, &format);
    if (o < 0) rc = -1;
    else if (o == 0) rc = h5r_fail(r, NULL, "not a gnnperf dataset (no 'format' attribute on the root group)");
    else if (strcmp(format, DATASET_FORMAT_NAME) != 0)
        rc = h5r_fail(r, NULL, "format is '%s', expected '%s'", safe(format, a, sizeof a), DATASET_FORMAT_NAME);
    else if (h5r_attr_int(r, root, "/", "format_version", 1, &version) < 0) rc = -1;
    else if (version > DATASET_FORMAT_VERSION)
        rc = h5r_fail(r, NULL, "format_version %lld is newer than this build understands (%d); upgrade gnnperf",
                      (long long)version, DATASET_FORMAT_VERSION);
    else if (version < 1) rc = h5r_fail(r, NULL, "format_version %lld is not valid (versions start at 1)", (long long)version);
    /* Only stale cached features depend on it; they are never read. */
    else if (h5r_attr_int(r, root, "/", "featurizer_version", 1, &fver) < 0) rc = -1;
    else if (h5r_attr_string(r, root, "/", "provenance", 0, &rd->t.provenance) < 0) rc = -1;
    free(format);
    H5Gclose(root);
    return rc;
}

static int read_graphs(reader *rd)
{
    h5r *r = &rd->r;
    graph_set *s = &rd->t.graphs;
    int64_t G = 0, k0 = 0, k1 = 0;
    char **names = h5r_load_strings(r, "/graphs/names", H5R_ANY, &G);
    if (!names) return -1;
    s->graph_names = names;
    s->n_graphs = G;
    if (check_names(rd, "/graphs/names", names, G, 1) != 0) return -1;
    s->node_off = h5r_load(r, "/graphs/node_offsets", H5C_INT, H5T_NATIVE_INT64, 8, 1, G + 1, H5R_ANY, &k0, NULL, 1, NULL);
    if (!s->node_off) return -1;
    s->edge_off = h5r_load(r, "/graphs/edge_offsets", H5C_INT, H5T_NATIVE_INT64, 8, 1, G + 1, H5R_ANY, &k1, NULL, 1, NULL);
    if (!s->edge_off) return -1;
    if (check_offsets(rd, "/graphs/node_offsets", s->node_off, G + 1, 1, names) != 0 ||
        check_offsets(rd, "/graphs/edge_offsets", s->edge_off, G + 1, 0, names) != 0)
        return -1;
    char a[80];
    for (int64_t g = 0; g < G; g++)
        if (s->node_off[g + 1] - s->node_off[g] > GRAPH_MAX_NODES_PER_GRAPH)
            return h5r_fail(r, "/graphs/node_offsets", "graph %lld ('%s') has %lld nodes, more than %lld", (long long)g,
                            safe(names[g], a, sizeof a), (long long)(s->node_off[g + 1] - s->node_off[g]),
                            (long long)GRAPH_MAX_NODES_PER_GRAPH);
    if (check_offsets_end(rd, "/graphs/node_offsets", s->node_off[G], "/nodes/names") != 0 ||
        check_offsets_end(rd, "/graphs/edge_offsets", s->edge_off[G], "/edges/src") != 0)
        return -1;
    return 0;
}

/* Reads a code column, maps stored codes to this build's through the
 * stored vocabulary, and puts them at byte offset field of each node. */
static int read_codes(reader *rd, const char *path, const char *what, int (*from_name)(const char *), size_t field,
                      void (*list)(char *, int))
{
    h5r *r = &rd->r;
    graph_set *s = &rd->t.graphs;
    const int64_t n = s->n_nodes;
    int32_t *raw = h5r_load(r, path, H5C_INT, H5T_NATIVE_INT32, 4, 1, n, H5R_ANY, NULL, NULL, 1, NULL);
    if (!raw) return -1;
    char **voc = NULL;
    int64_t k = 0;
    int32_t *map = NULL;
    int rc = -1;
    hid_t ds;
    if (h5r_open_object(r, path, H5I_DATASET, 1, &ds) <= 0) goto done;
    int o = h5r_attr_strings(r, ds, path, "vocabulary", 1, MAX_VOCABULARY, &voc, &k);
    H5Dclose(ds);
    if (o < 0) goto done;
    map = malloc((size_t)(k ? k : 1) * sizeof(int32_t));
    if (!map) {
        h5r_fail(r, path, "out of memory");
        goto done;
    }
    /* Unknown names are an error only where a node uses them, so a file
     * from a build with a longer vocabulary still loads when it can. */
    for (int64_t c = 0; c < k; c++) map[c] = from_name(voc[c]);
    char ctx[256], a[80], known[1024];
    for (int64_t i = 0; i < n; i++) {
        int32_t c = raw[i];
        if (c < 0 || c >= k) {
            if (k == 0) h5r_fail(r, path, "%s: code %d, but the vocabulary is empty", node_ctx(rd, i, ctx, sizeof ctx), c);
            else
                h5r_fail(r, path, "%s: code %d is outside the vocabulary (0..%lld)", node_ctx(rd, i, ctx, sizeof ctx), c,
                         (long long)k - 1);
            goto done;
        }
        if (map[c] < 0) {
            list(known, sizeof known);
            h5r_fail(r, path, "%s: %s '%s' is not known to this build (known: %s); upgrade gnnperf",
                     node_ctx(rd, i, ctx, sizeof ctx), what, safe(voc[c], a, sizeof a), known);
            goto done;
        }
        memcpy((char *)&s->nodes[i] + field, &map[c], sizeof(int32_t));
    }
    rc = 0;
done:
    free(raw);
    free(map);
    h5_free_strings(voc, k);
    return rc;
}

/* An (N x 2) or (N) int32 attribute column with a lower bound. */
static int read_ints(reader *rd, const char *path, int width, int32_t min, size_t field)
{
    h5r *r = &rd->r;
    graph_set *s = &rd->t.graphs;
    int32_t *v = h5r_load(r, path, H5C_INT, H5T_NATIVE_INT32, 4, width == 1 ? 1 : 2, s->n_nodes, width, NULL, NULL, 1, NULL);
    if (!v) return -1;
    char ctx[256];
    for (int64_t i = 0; i < s->n_nodes; i++) {
        for (int k = 0; k < width; k++)
            if (v[i * width + k] < min) {
                h5r_fail(r, path, "%s: entry %d is %d, must be >= %d", node_ctx(rd, i, ctx, sizeof ctx), k,
                         v[i * width + k], min);
                free(v);
                return -1;
            }
        memcpy((char *)&s->nodes[i] + field, v + i * width, (size_t)width * sizeof(int32_t));
    }
    free(v);
    return 0;
}

/* /nodes/inplace: optional (files written before it existed mean 0
 * everywhere), 0 or 1 per node. */
static int read_inplace(reader *rd)
{
    h5r *r = &rd->r;
    graph_set *s = &rd->t.graphs;
    int absent = 0;
    int32_t *v = h5r_load(r, "/nodes/inplace", H5C_INT, H5T_NATIVE_INT32, 4, 1, s->n_nodes, H5R_ANY, NULL, NULL, 0,
                          &absent);
    if (!v) return absent ? 0 : -1;
    char ctx[256];
    for (int64_t i = 0; i < s->n_nodes; i++) {
        if (v[i] != 0 && v[i] != 1) {
            h5r_fail(r, "/nodes/inplace", "%s: %d, must be 0 or 1", node_ctx(rd, i, ctx, sizeof ctx), v[i]);
            free(v);
            return -1;
        }
        s->nodes[i].inplace = v[i];
    }
    free(v);
    return 0;
}

/* A rank and its dimensions: dims in 0..GRAPH_MAX_DIM up to the rank, 0
 * after. The context (row j, node i, input k or -1 for the output) is
 * formatted only on failure: this runs for every node. */
static int check_dims(reader *rd, const char *rank_path, const char *dims_path, int64_t j, int64_t i, int64_t k_in,
                      int32_t rank, const int64_t *dim)
{
    int bad = -1;
    if (rank >= 0 && rank <= GRAPH_MAX_RANK) {
        for (int k = 0; k < GRAPH_MAX_RANK && bad < 0; k++)
            if (k >= rank ? dim[k] != 0 : dim[k] < 0 || dim[k] > GRAPH_MAX_DIM) bad = k;
        if (bad < 0) return 0;
    }
    char ctx[400], nc[256];
    node_ctx(rd, i, nc, sizeof nc);
    if (k_in < 0) snprintf(ctx, sizeof ctx, "%s", nc);
    else snprintf(ctx, sizeof ctx, "row %lld (input %lld of %s)", (long long)j, (long long)k_in, nc);
    if (bad < 0) return h5r_fail(&rd->r, rank_path, "%s: rank %d outside 0..%d", ctx, rank, GRAPH_MAX_RANK);
    long long v = (long long)dim[bad];
    if (bad >= rank) return h5r_fail(&rd->r, dims_path, "%s: entry %d beyond rank %d is %lld, not 0", ctx, bad, rank, v);
    if (v < 0) return h5r_fail(&rd->r, dims_path, "%s: dimension %d is %lld, negative", ctx, bad, v);
    return h5r_fail(&rd->r, dims_path, "%s: dimension %d is %lld, larger than %lld", ctx, bad, v, (long long)GRAPH_MAX_DIM);
}

static int read_shapes(reader *rd)
{
    h5r *r = &rd->r;
    graph_set *s = &rd->t.graphs;
    const int64_t n = s->n_nodes;
    int32_t *rank = NULL;
    int64_t *dims = NULL, *off = NULL;
    int rc = -1;
    char ctx[256];

    rank = h5r_load(r, "/nodes/out_rank", H5C_INT, H5T_NATIVE_INT32, 4, 1, n, H5R_ANY, NULL, NULL, 1, NULL);
    if (!rank) goto done;
    dims = h5r_load(r, "/nodes/out_shape", H5C_INT, H5T_NATIVE_INT64, 8, 2, n, GRAPH_MAX_RANK, NULL, NULL, 1, NULL);
    if (!dims) goto done;
    for (int64_t i = 0; i < n; i++) {
        if (check_dims(rd, "/nodes/out_rank", "/nodes/out_shape", i, i, -1, rank[i], dims + i * GRAPH_MAX_RANK) != 0)
            goto done;
        s->nodes[i].out.rank = rank[i];
        memcpy(s->nodes[i].out.dim, dims + i * GRAPH_MAX_RANK, sizeof s->nodes[i].out.dim);
    }
    free(rank), free(dims);
    rank = NULL, dims = NULL;

    off = h5r_load(r, "/nodes/in_shape_offsets", H5C_INT, H5T_NATIVE_INT64, 8, 1, n + 1, H5R_ANY, NULL, NULL, 1, NULL);
    if (!off) goto done;
    if (off[0] != 0) {
        h5r_fail(r, "/nodes/in_shape_offsets", "starts at %lld, expected 0", (long long)off[0]);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        if (off[i + 1] < off[i]) {
            h5r_fail(r, "/nodes/in_shape_offsets", "not non-decreasing at index %lld (%lld after %lld)",
                     (long long)(i + 1), (long long)off[i + 1], (long long)off[i]);
            goto done;
        }
        if (off[i + 1] - off[i] > INT32_MAX) {
            h5r_fail(r, "/nodes/in_shape_offsets", "%s: more than %d inputs", node_ctx(rd, i, ctx, sizeof ctx), INT32_MAX);
            goto done;
        }
    }
    const int64_t S = off[n];
    if (check_offsets_end(rd, "/nodes/in_shape_offsets", S, "/nodes/in_ranks") != 0) goto done;
    rank = h5r_load(r, "/nodes/in_ranks", H5C_INT, H5T_NATIVE_INT32, 4, 1, S, H5R_ANY, NULL, NULL, 1, NULL);
    if (!rank) goto done;
    dims = h5r_load(r, "/nodes/in_shapes", H5C_INT, H5T_NATIVE_INT64, 8, 2, S, GRAPH_MAX_RANK, NULL, NULL, 1, NULL);
    if (!dims) goto done;
    s->in_shapes = calloc((size_t)(S ? S : 1), sizeof(tensor_shape));
    if (!s->in_shapes) {
        h5r_fail(r, "/nodes/in_shapes", "out of memory");
        goto done;
    }
    s->n_in_shapes = s->cap_in_shapes = S;
    for (int64_t i = 0; i < n; i++) {
        s->nodes[i].in_off = off[i];
        s->nodes[i].n_in = (int32_t)(off[i + 1] - off[i]);
        for (int64_t j = off[i]; j < off[i + 1]; j++) {
            if (check_dims(rd, "/nodes/in_ranks", "/nodes/in_shapes", j, i, j - off[i], rank[j],
                           dims + j * GRAPH_MAX_RANK) != 0)
                goto done;
            s->in_shapes[j].rank = rank[j];
            memcpy(s->in_shapes[j].dim, dims + j * GRAPH_MAX_RANK, sizeof s->in_shapes[j].dim);
        }
    }
    rc = 0;
done:
    free(rank);
    free(dims);
    free(off);
    return rc;
}

/* The cached features are for outside readers; only their shape is checked. */
static int check_features(reader *rd)
{
    h5r *r = &rd->r;
    const char *path = "/nodes/features";
    hid_t ds;
    int o = h5r_open_object(r, path, H5I_DATASET, 0, &ds);
    if (o <= 0) return o;
    int64_t ver = 0, cols = 0;
    int rc = h5r_attr_int(r, ds, path, "featurizer_version", 0, &ver) < 0 ? -1 : 0;
    /* Columns are only known for this build's featurizer. */
    int64_t want = ver == FEATURIZER_VERSION ? featurize_dim() : H5R_ANY;
    if (rc == 0) rc = h5r_check(r, ds, path, H5C_FLOAT, 2, rd->t.graphs.n_nodes, want, NULL, &cols);
    H5Dclose(ds);
    return rc;
}

static int read_nodes(reader *rd)
{
    h5r *r = &rd->r;
    graph_set *s = &rd->t.graphs;
    const int64_t N = s->node_off[s->n_graphs];
    int64_t n = 0;
    char **names = h5r_load_strings(r, "/nodes/names", N, &n);
    if (!names) return -1;
    s->node_names = names;
    s->n_nodes = s->cap_nodes = N;
    if (check_names(rd, "/nodes/names", names, N, 0) != 0) return -1;
    s->nodes = calloc((size_t)(N ? N : 1), sizeof(graph_node));
    if (!s->nodes) return h5r_fail(r, "/nodes", "out of memory for %lld nodes", (long long)N);

    if (read_codes(rd, "/nodes/kind", "op kind", op_kind_from_name, offsetof(graph_node, kind), op_kind_list) != 0 ||
        read_codes(rd, "/nodes/fn", "function", op_fn_from_name, offsetof(graph_node, fn), op_fn_list) != 0 ||
        read_codes(rd, "/nodes/dtype", "dtype", dtype_from_name, offsetof(graph_node, dtype), dtype_list) != 0)
        return -1;
    if (read_ints(rd, "/nodes/kernel", 2, 1, offsetof(graph_node, kernel)) != 0 ||
        read_ints(rd, "/nodes/stride", 2, 1, offsetof(graph_node, stride)) != 0 ||
        read_ints(rd, "/nodes/padding", 2, 0, offsetof(graph_node, padding)) != 0 ||
        read_ints(rd, "/nodes/dilation", 2, 1, offsetof(graph_node, dilation)) != 0 ||
        read_ints(rd, "/nodes/groups", 1, 1, offsetof(graph_node, groups)) != 0 || read_inplace(rd) != 0)
        return -1;
    if (read_shapes(rd) != 0) return -1;
    return check_features(rd);
}

static int read_edges(reader *rd)
{
    h5r *r = &rd->r;
    graph_set *s = &rd->t.graphs;
    const int64_t E = s->edge_off[s->n_graphs];
    s->edge_src = h5r_load(r, "/edges/src", H5C_INT, H5T_NATIVE_INT32, 4, 1, E, H5R_ANY, NULL, NULL, 1, NULL);
    if (!s->edge_src) return -1;
    s->edge_dst = h5r_load(r, "/edges/dst", H5C_INT, H5T_NATIVE_INT32, 4, 1, E, H5R_ANY, NULL, NULL, 1, NULL);
    if (!s->edge_dst) return -1;
    s->n_edges = s->cap_edges = E;
    char a[80];
    for (int64_t g = 0; g < s->n_graphs; g++) {
        int64_t nodes = s->node_off[g + 1] - s->node_off[g];
        for (int64_t e = s->edge_off[g]; e < s->edge_off[g + 1]; e++) {
            int32_t u = s->edge_src[e], v = s->edge_dst[e];
            const char *bad = u < 0 || u >= nodes ? "/edges/src" : v < 0 || v >= nodes ? "/edges/dst" : NULL;
            if (bad)
                return h5r_fail(r, bad, "edge %lld (graph %lld '%s', local edge %lld): endpoint %d outside the graph's nodes 0..%lld",
                                (long long)e, (long long)g, safe(s->graph_names[g], a, sizeof a),
                                (long long)(e - s->edge_off[g]), bad[7] == 's' ? u : v, (long long)nodes - 1);
            if (u >= v)
                return h5r_fail(r, "/edges",
                                "edge %lld (graph %lld '%s', local edge %lld): %d -> %d goes against topological order "
                                "(src must be < dst; cycles and self-loops are never valid)",
                                (long long)e, (long long)g, safe(s->graph_names[g], a, sizeof a),
                                (long long)(e - s->edge_off[g]), u, v);
        }
    }
    return 0;
}

static int read_devices(reader *rd)
{
    h5r *r = &rd->r;
    dataset *t = &rd->t;
    int64_t D = 0, K = 0;
    char **names = h5r_load_strings(r, "/devices/names", H5R_ANY, &D);
    if (!names) return -1;
    if (D > INT32_MAX) {
        h5_free_strings(names, D);
        return h5r_fail(r, "/devices/names", "%lld devices, more than %d", (long long)D, INT32_MAX);
    }
    t->device_names = names;
    t->n_devices = (int32_t)D;
    if (check_names(rd, "/devices/names", names, D, 1) != 0) return -1;
    names = h5r_load_strings(r, "/devices/descriptor_names", H5R_ANY, &K);
    if (!names) return -1;
    if (K > INT32_MAX) {
        h5_free_strings(names, K);
        return h5r_fail(r, "/devices/descriptor_names", "%lld descriptors, more than %d", (long long)K, INT32_MAX);
    }
    t->descriptor_names = names;
    t->n_descriptors = (int32_t)K;
    if (check_names(rd, "/devices/descriptor_names", names, K, 1) != 0) return -1;
    t->descriptors = h5r_load(r, "/devices/descriptors", H5C_FLOAT, H5T_NATIVE_DOUBLE, 8, 2, D, K, NULL, NULL, 1, NULL);
    if (!t->descriptors) return -1;
    char a[80], b[80];
    for (int64_t i = 0; i < D * K; i++) {
        double v = t->descriptors[i];
        if (!isnan(v) && !isfinite(v))
            return h5r_fail(r, "/devices/descriptors", "device '%s', descriptor '%s': value %g is infinite",
                            safe(t->device_names[i / K], a, sizeof a), safe(t->descriptor_names[i % K], b, sizeof b), v);
    }
    return 0;
}

typedef struct link_list {
    char **names;
    int64_t n, cap;
    int failed; /* 1 too many, 2 out of memory */
} link_list;

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g, (void)info;
    link_list *l = data;
    if (l->n >= MAX_TARGETS) {
        l->failed = 1;
        return 1;
    }
    if (l->n == l->cap) {
        int64_t c = l->cap ? 2 * l->cap : 8;
        char **p = realloc(l->names, (size_t)c * sizeof(char *));
        if (!p) {
            l->failed = 2;
            return 1;
        }
        l->names = p;
        l->cap = c;
    }
    size_t len = strlen(name) + 1;
    char *copy = malloc(len);
    if (!copy) {
        l->failed = 2;
        return 1;
    }
    memcpy(copy, name, len);
    l->names[l->n++] = copy;
    return 0;
}

static int read_target(reader *rd, const char *gpath, const char *name, int level)
{
    h5r *r = &rd->r;
    dataset *t = &rd->t;
    char a[80], path[GRAPH_MAX_NAME + 64], ctx[256];
    if (strlen(name) >= GRAPH_MAX_NAME)
        return h5r_fail(r, gpath, "target name '%s' is longer than %d bytes", safe(name, a, sizeof a), GRAPH_MAX_NAME - 1);
    snprintf(path, sizeof path, "%s/%s", gpath, name);
    int64_t rows = level == LABEL_NODE ? t->graphs.n_nodes : t->graphs.n_graphs;
    const int64_t D = t->n_devices;
    label_target lt = {0};
    lt.level = level;
    hid_t ds;
    if (h5r_open_object(r, path, H5I_DATASET, 1, &ds) <= 0) return -1;
    int o = h5r_attr_string(r, ds, path, "unit", 1, &lt.unit);
    H5Dclose(ds);
    if (o < 0) return -1;
    lt.name = malloc(strlen(name) + 1);
    lt.values = h5r_load(r, path, H5C_FLOAT, H5T_NATIVE_FLOAT, 4, 2, rows, D, NULL, NULL, 1, NULL);
    if (!lt.name || !lt.values) {
        if (!lt.name && lt.values) h5r_fail(r, path, "out of memory");
        free(lt.name), free(lt.unit), free(lt.values);
        return -1;
    }
    strcpy(lt.name, name);
    /* Owned by the dataset from here on, so failures below free it. */
    t->targets[t->n_targets++] = lt;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < D; k++) {
            float v = lt.values[i * D + k];
            if (isnan(v)) continue;
            const char *problem = !isfinite(v) ? "is infinite" : v < 0 ? "is negative" : NULL;
            if (!problem) continue;
            if (level == LABEL_NODE) node_ctx(rd, i, ctx, sizeof ctx);
            else snprintf(ctx, sizeof ctx, "row %lld ('%s')", (long long)i, safe(t->graphs.graph_names[i], a, sizeof a));
            char b[80];
            return h5r_fail(r, path, "%s, device '%s': value %g %s", ctx, safe(t->device_names[k], b, sizeof b),
                            (double)v, problem);
        }
    return 0;
}

static int read_level(reader *rd, const char *gpath, int level)
{
    h5r *r = &rd->r;
    dataset *t = &rd->t;
    hid_t g;
    int o = h5r_open_object(r, gpath, H5I_GROUP, 0, &g);
    if (o <= 0) return o;
    /* Creation order when the writer tracked it (ours does), else by name. */
    H5_index_t idx = H5_INDEX_NAME;
    hid_t gcpl = H5Gget_create_plist(g);
    unsigned flags = 0;
    if (gcpl >= 0 && H5Pget_link_creation_order(gcpl, &flags) >= 0 && (flags & H5P_CRT_ORDER_INDEXED))
        idx = H5_INDEX_CRT_ORDER;
    if (gcpl >= 0) H5Pclose(gcpl);
    link_list l = {0};
    herr_t it = H5Literate(g, idx, H5_ITER_INC, NULL, list_cb, &l);
    H5Gclose(g);
    int rc = 0;
    if (l.failed == 1) rc = h5r_fail(r, gpath, "more than %d targets", MAX_TARGETS);
    else if (l.failed == 2) rc = h5r_fail(r, gpath, "out of memory");
    else if (it < 0) rc = h5r_fail(r, gpath, "cannot list its members (corrupt file?)");
    if (rc == 0 && l.n > 0) {
        label_target *p = realloc(t->targets, (size_t)(t->n_targets + l.n) * sizeof(label_target));
        if (!p) rc = h5r_fail(r, gpath, "out of memory");
        else t->targets = p;
    }
    for (int64_t i = 0; i < l.n && rc == 0; i++) rc = read_target(rd, gpath, l.names[i], level);
    h5_free_strings(l.names, l.n);
    return rc;
}

int dataset_read_h5(dataset *d, const char *path, gp_error *err)
{
    if (!d || !path) return gp_errorf(err, "dataset_read_h5: NULL dataset or path");
    dataset_init(d);
    reader rd;
    dataset_init(&rd.t);
    if (h5r_open(&rd.r, path, err) != 0) return -1;
    int rc = -1;
    if (read_root(&rd) != 0 || read_graphs(&rd) != 0 || read_nodes(&rd) != 0 || read_edges(&rd) != 0 ||
        read_devices(&rd) != 0 || read_level(&rd, "/labels/node", LABEL_NODE) < 0 ||
        read_level(&rd, "/labels/graph", LABEL_GRAPH) < 0)
        goto done;
    rd.t.graphs.cap_graphs = rd.t.graphs.n_graphs;
    /* The backstop: every invariant the builder would have enforced. */
    if (dataset_validate(&rd.t, err) != 0 || graph_set_build_csr(&rd.t.graphs, err) != 0) {
        gp_error_prefix(err, "%s", path);
        goto done;
    }
    *d = rd.t;
    dataset_init(&rd.t);
    rc = 0;
done:
    h5r_close(&rd.r);
    dataset_free(&rd.t);
    return rc;
}
