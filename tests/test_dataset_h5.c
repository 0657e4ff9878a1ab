/* The HDF5 dataset format: write -> read round trips equal in every field,
 * atomic writes, files written by h5py, and one hostile file per way a file
 * can be broken (tests/data/h5/, made by make_hostile.py), each of which
 * must fail with a message naming the file, the HDF5 object and the
 * problem, and leave the dataset empty. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/dataset.h"
#include "graph/featurize.h"

#define H5DIR GP_TEST_DATA "/h5/"

/* ---------------------------------------------------------------- helpers */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gp_test_h5_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Removes the files in tmpdir (flat) and tmpdir itself. */
static void remove_tmpdir(void)
{
    DIR *dir = opendir(tmpdir);
    if (!dir) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(dir))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    closedir(dir);
    rmdir(tmpdir);
}

static int count_entries(const char *path)
{
    DIR *dir = opendir(path);
    ck_assert_ptr_nonnull(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(dir);
    return n;
}

static char *slurp(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)*size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq((long)fread(buf, 1, (size_t)*size, f), *size);
    fclose(f);
    return buf;
}

static char *sdup(const char *s)
{
    char *d = strdup(s);
    ck_assert_ptr_nonnull(d);
    return d;
}

static tensor_shape shp(int rank, int64_t a, int64_t b, int64_t c, int64_t d)
{
    tensor_shape t = {rank, {0}};
    int64_t v[4] = {a, b, c, d};
    for (int k = 0; k < rank && k < 4; k++) t.dim[k] = v[k];
    return t;
}

static int64_t add(graph_set *s, const char *name, int kind, int fn, tensor_shape out, const tensor_shape *in, int n_in)
{
    gp_error err;
    graph_node n;
    graph_node_defaults(&n);
    n.kind = kind;
    n.fn = fn;
    n.out = out;
    int64_t id = graph_set_add_node(s, name, &n, in, n_in, &err);
    ck_assert_msg(id >= 0, "%s", err.msg);
    return id;
}

static void edge(graph_set *s, int a, int b)
{
    gp_error err;
    ck_assert_msg(graph_set_add_edge(s, a, b, &err) == 0, "%s", err.msg);
}

static void begin(graph_set *s, const char *name)
{
    gp_error err;
    ck_assert_msg(graph_set_begin_graph(s, name, &err) == 0, "%s", err.msg);
}

static void end(graph_set *s)
{
    gp_error err;
    ck_assert_msg(graph_set_end_graph(s, &err) == 0, "%s", err.msg);
}

static void set_devices(dataset *d, int n_dev, int n_desc)
{
    static const char *dev[] = {"cpu0", "gpu0", "gpu1"};
    static const char *desc[] = {"peak_gflops", "mem_bw_gbs", "l2_mb"};
    d->n_devices = n_dev;
    d->device_names = calloc((size_t)n_dev + 1, sizeof(char *));
    for (int i = 0; i < n_dev; i++) d->device_names[i] = sdup(dev[i]);
    d->n_descriptors = n_desc;
    d->descriptor_names = calloc((size_t)n_desc + 1, sizeof(char *));
    for (int k = 0; k < n_desc; k++) d->descriptor_names[k] = sdup(desc[k]);
    d->descriptors = calloc((size_t)(n_dev * n_desc) + 1, sizeof(double));
    for (int i = 0; i < n_dev * n_desc; i++) d->descriptors[i] = i % 4 == 1 ? NAN : 10.0 * (i + 1) + 0.25;
}

/* Appends a target; values follow a pattern with NaN holes (every 7th). */
static void add_target(dataset *d, const char *name, const char *unit, int level)
{
    d->targets = realloc(d->targets, (size_t)(d->n_targets + 1) * sizeof(label_target));
    ck_assert_ptr_nonnull(d->targets);
    label_target *t = &d->targets[d->n_targets];
    memset(t, 0, sizeof *t);
    t->name = sdup(name);
    t->unit = sdup(unit);
    t->level = level;
    d->n_targets++;
    int64_t n = dataset_target_rows(d, t) * d->n_devices;
    if (n == 0) return; /* values may stay NULL when there is nothing to hold */
    t->values = malloc((size_t)n * sizeof(float));
    ck_assert_ptr_nonnull(t->values);
    for (int64_t i = 0; i < n; i++) t->values[i] = i % 7 == 3 ? NAN : 0.001f * (float)(i % 1000) + (float)level;
}

/* Three graphs: a small CNN with grouped and strided convolutions, a
 * one-node graph with a scalar output and no edges, and a matmul graph. */
static void build_small(dataset *d, int n_dev, int n_desc)
{
    gp_error err;
    graph_set *s = &d->graphs;
    tensor_shape x = shp(4, 1, 3, 16, 16), y = shp(4, 1, 8, 8, 8);

    begin(s, "net_a");
    add(s, "x", OP_INPUT, FN_NONE, x, NULL, 0);
    int64_t c = add(s, "conv", OP_CONV2D, FN_NONE, y, &x, 1);
    graph_node *n = &s->nodes[s->node_off[0] + c];
    n->kernel[0] = 3, n->kernel[1] = 5, n->stride[0] = n->stride[1] = 2, n->padding[0] = 1, n->padding[1] = 2;
    n->dilation[1] = 2;
    int64_t dw = add(s, "dw", OP_DWCONV2D, FN_NONE, y, &y, 1);
    s->nodes[dw].groups = 8;
    s->nodes[dw].dtype = DT_FLOAT16;
    int64_t act = add(s, "act", OP_ACTIVATION, FN_GELU, y, &y, 1);
    s->nodes[act].inplace = 1;
    tensor_shape two[2] = {y, y};
    add(s, "sum", OP_ADD, FN_NONE, y, two, 2);
    add(s, "out", OP_OUTPUT, FN_NONE, y, &y, 1);
    edge(s, 0, 1), edge(s, 1, 2), edge(s, 2, 3), edge(s, 1, 4), edge(s, 3, 4), edge(s, 4, 5);
    end(s);

    begin(s, "lonely");
    add(s, "s", OP_OTHER, FN_OTHER, shp(0, 0, 0, 0, 0), NULL, 0);
    end(s);

    begin(s, "mm");
    tensor_shape a = shp(2, 32, 64, 0, 0), b = shp(2, 64, 16, 0, 0), o = shp(2, 32, 16, 0, 0);
    add(s, "a", OP_INPUT, FN_NONE, a, NULL, 0);
    add(s, "b", OP_INPUT, FN_NONE, b, NULL, 0);
    tensor_shape ab[2] = {a, b};
    add(s, "matmul", OP_MATMUL, FN_NONE, o, ab, 2);
    add(s, "soft", OP_SOFTMAX, FN_NONE, o, &o, 1);
    edge(s, 0, 2), edge(s, 1, 2), edge(s, 2, 3);
    end(s);
    ck_assert_msg(graph_set_finish(s, &err) == 0, "%s", err.msg);

    set_devices(d, n_dev, n_desc);
    /* Node targets first, then graph targets: the order the reader returns. */
    add_target(d, "latency_ms", "ms", LABEL_NODE);
    add_target(d, "latency_ms", "ms", LABEL_GRAPH);
    add_target(d, "memory_mb", "", LABEL_GRAPH);
    d->provenance = sdup("{\"tool\": \"test_dataset_h5\", \"seed\": 7}");
}

/* n_graphs graphs of a repeating chain-with-skips pattern, large enough
 * that the writer chunks and compresses most arrays. The arrays are filled
 * directly, as a loader does, then validated. */
static void build_many(dataset *d, int n_graphs, int nodes_per, int n_dev)
{
    gp_error err;
    graph_set *s = &d->graphs;
    int64_t G = n_graphs, N = G * nodes_per, E = 0, S = 0;
    for (int i = 0; i < nodes_per; i++) {
        E += (i > 0) + (i % 3 == 0 && i >= 3);
        S += i == 0 ? 0 : i % 3 == 0 ? 2 : 1;
    }
    E *= G;
    S *= G;
    s->n_graphs = s->cap_graphs = G;
    s->n_nodes = s->cap_nodes = N;
    s->n_edges = s->cap_edges = E;
    s->n_in_shapes = s->cap_in_shapes = S;
    s->node_off = calloc((size_t)G + 1, sizeof(int64_t));
    s->edge_off = calloc((size_t)G + 1, sizeof(int64_t));
    s->graph_names = calloc((size_t)G, sizeof(char *));
    s->nodes = calloc((size_t)N, sizeof(graph_node));
    s->node_names = calloc((size_t)N, sizeof(char *));
    s->in_shapes = calloc((size_t)S, sizeof(tensor_shape));
    s->edge_src = calloc((size_t)E, sizeof(int32_t));
    s->edge_dst = calloc((size_t)E, sizeof(int32_t));
    ck_assert(s->node_off && s->edge_off && s->graph_names && s->nodes && s->node_names && s->in_shapes &&
              s->edge_src && s->edge_dst);
    tensor_shape t = shp(4, 8, 64, 28, 28);
    char name[64];
    int64_t v = 0, e = 0, j = 0;
    for (int64_t g = 0; g < G; g++) {
        snprintf(name, sizeof name, "model_%05lld", (long long)g);
        s->graph_names[g] = sdup(name);
        for (int i = 0; i < nodes_per; i++, v++) {
            snprintf(name, sizeof name, "layer%d.op%d", i / 3, i);
            s->node_names[v] = sdup(name);
            graph_node *n = &s->nodes[v];
            graph_node_defaults(n);
            n->kind = i == 0 ? OP_INPUT : i % 3 == 1 ? OP_CONV2D : i % 3 == 2 ? OP_ACTIVATION : OP_ADD;
            if (n->kind == OP_ACTIVATION) n->fn = FN_RELU;
            if (n->kind == OP_CONV2D) n->kernel[0] = n->kernel[1] = 3, n->padding[0] = n->padding[1] = 1;
            n->out = t;
            n->in_off = j;
            n->n_in = n->kind == OP_INPUT ? 0 : n->kind == OP_ADD ? 2 : 1;
            for (int k = 0; k < n->n_in; k++) s->in_shapes[j++] = t;
            if (i > 0) s->edge_src[e] = i - 1, s->edge_dst[e++] = i;
            if (i % 3 == 0 && i >= 3) s->edge_src[e] = i - 3, s->edge_dst[e++] = i;
        }
        s->node_off[g + 1] = v;
        s->edge_off[g + 1] = e;
    }
    ck_assert_int_eq(e, E);
    ck_assert_int_eq(j, S);
    ck_assert_msg(graph_set_validate(s, &err) == 0, "%s", err.msg);
    ck_assert_msg(graph_set_build_csr(s, &err) == 0, "%s", err.msg);
    set_devices(d, n_dev, 2);
    add_target(d, "latency_ms", "ms", LABEL_NODE);
    add_target(d, "latency_ms", "ms", LABEL_GRAPH);
}

static int same_float(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }
static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static void assert_same_shape(const tensor_shape *a, const tensor_shape *b)
{
    ck_assert_int_eq(a->rank, b->rank);
    for (int k = 0; k < GRAPH_MAX_RANK; k++) ck_assert_int_eq(a->dim[k], b->dim[k]);
}

/* Every field a reader can observe. */
static void assert_same(const dataset *a, const dataset *b)
{
    const graph_set *s = &a->graphs, *t = &b->graphs;
    ck_assert_int_eq(s->n_graphs, t->n_graphs);
    ck_assert_int_eq(s->n_nodes, t->n_nodes);
    ck_assert_int_eq(s->n_edges, t->n_edges);
    ck_assert_int_eq(s->n_in_shapes, t->n_in_shapes);
    for (int64_t g = 0; g <= s->n_graphs; g++) {
        ck_assert_int_eq(s->node_off[g], t->node_off[g]);
        ck_assert_int_eq(s->edge_off[g], t->edge_off[g]);
    }
    for (int64_t g = 0; g < s->n_graphs; g++) ck_assert_str_eq(s->graph_names[g], t->graph_names[g]);
    for (int64_t i = 0; i < s->n_nodes; i++) {
        const graph_node *x = &s->nodes[i], *y = &t->nodes[i];
        ck_assert_str_eq(s->node_names[i], t->node_names[i]);
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert_int_eq(x->fn, y->fn);
        ck_assert_int_eq(x->dtype, y->dtype);
        for (int k = 0; k < 2; k++) {
            ck_assert_int_eq(x->kernel[k], y->kernel[k]);
            ck_assert_int_eq(x->stride[k], y->stride[k]);
            ck_assert_int_eq(x->padding[k], y->padding[k]);
            ck_assert_int_eq(x->dilation[k], y->dilation[k]);
        }
        ck_assert_int_eq(x->groups, y->groups);
        ck_assert_int_eq(x->inplace, y->inplace);
        ck_assert_int_eq(x->n_in, y->n_in);
        ck_assert_int_eq(x->in_off, y->in_off);
        assert_same_shape(&x->out, &y->out);
    }
    for (int64_t j = 0; j < s->n_in_shapes; j++) assert_same_shape(&s->in_shapes[j], &t->in_shapes[j]);
    for (int64_t e = 0; e < s->n_edges; e++) {
        ck_assert_int_eq(s->edge_src[e], t->edge_src[e]);
        ck_assert_int_eq(s->edge_dst[e], t->edge_dst[e]);
    }
    ck_assert_ptr_nonnull(t->pred_ptr);
    ck_assert_ptr_nonnull(t->succ_ptr);
    for (int64_t i = 0; i <= s->n_nodes; i++) {
        ck_assert_int_eq(s->pred_ptr[i], t->pred_ptr[i]);
        ck_assert_int_eq(s->succ_ptr[i], t->succ_ptr[i]);
    }
    for (int64_t e = 0; e < s->n_edges; e++) {
        ck_assert_int_eq(s->pred_idx[e], t->pred_idx[e]);
        ck_assert_int_eq(s->succ_idx[e], t->succ_idx[e]);
    }

    ck_assert_int_eq(a->n_devices, b->n_devices);
    ck_assert_int_eq(a->n_descriptors, b->n_descriptors);
    for (int i = 0; i < a->n_devices; i++) ck_assert_str_eq(a->device_names[i], b->device_names[i]);
    for (int k = 0; k < a->n_descriptors; k++) ck_assert_str_eq(a->descriptor_names[k], b->descriptor_names[k]);
    for (int i = 0; i < a->n_devices * a->n_descriptors; i++)
        ck_assert_msg(same_double(a->descriptors[i], b->descriptors[i]), "descriptor %d", i);

    ck_assert_int_eq(a->n_targets, b->n_targets);
    for (int32_t k = 0; k < a->n_targets; k++) {
        const label_target *x = &a->targets[k], *y = &b->targets[k];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_str_eq(x->unit, y->unit);
        ck_assert_int_eq(x->level, y->level);
        int64_t n = dataset_target_rows(a, x) * a->n_devices;
        for (int64_t i = 0; i < n; i++)
            ck_assert_msg(same_float(x->values[i], y->values[i]), "target %s value %lld", x->name, (long long)i);
    }
    if (a->provenance) ck_assert_str_eq(a->provenance, b->provenance);
    else ck_assert_ptr_null(b->provenance);
}

static void assert_empty(const dataset *d)
{
    ck_assert_int_eq(d->graphs.n_graphs, 0);
    ck_assert_int_eq(d->graphs.n_nodes, 0);
    ck_assert_ptr_null(d->graphs.node_off);
    ck_assert_ptr_null(d->graphs.nodes);
    ck_assert_int_eq(d->n_devices, 0);
    ck_assert_ptr_null(d->device_names);
    ck_assert_int_eq(d->n_targets, 0);
    ck_assert_ptr_null(d->targets);
    ck_assert_ptr_null(d->provenance);
}

static void round_trip(dataset *d)
{
    gp_error err;
    char path[300];
    make_tmpdir();
    snprintf(path, sizeof path, "%s/data.h5", tmpdir);
    ck_assert_msg(dataset_write_h5(d, path, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(count_entries(tmpdir), 1);
    dataset back;
    dataset_init(&back);
    ck_assert_msg(dataset_read_h5(&back, path, &err) == 0, "%s", err.msg);
    assert_same(d, &back);
    dataset_free(&back);
    remove_tmpdir();
}

/* ---------------------------------------------------------------- round trips */

START_TEST(test_round_trip_small)
{
    dataset d;
    dataset_init(&d);
    build_small(&d, 2, 3);
    round_trip(&d);
    dataset_free(&d);
}
END_TEST

/* No devices: targets exist but hold no values; no descriptors, no provenance. */
START_TEST(test_round_trip_no_devices)
{
    dataset d;
    dataset_init(&d);
    build_small(&d, 0, 0);
    free(d.provenance);
    d.provenance = NULL;
    round_trip(&d);
    dataset_free(&d);
}
END_TEST

/* Devices but no descriptors, and no targets at all. */
START_TEST(test_round_trip_no_targets)
{
    dataset d;
    dataset_init(&d);
    build_small(&d, 1, 0);
    for (int32_t k = 0; k < d.n_targets; k++) {
        free(d.targets[k].name), free(d.targets[k].unit), free(d.targets[k].values);
    }
    free(d.targets);
    d.targets = NULL;
    d.n_targets = 0;
    round_trip(&d);
    dataset_free(&d);
}
END_TEST

START_TEST(test_round_trip_no_graphs)
{
    gp_error err;
    dataset d;
    dataset_init(&d);
    ck_assert_msg(graph_set_finish(&d.graphs, &err) == 0, "%s", err.msg);
    set_devices(&d, 2, 1);
    add_target(&d, "latency_ms", "ms", LABEL_GRAPH);
    round_trip(&d);
    dataset_free(&d);
}
END_TEST

/* Big enough that every large array goes through chunking and gzip. */
START_TEST(test_round_trip_chunked)
{
    dataset d;
    dataset_init(&d);
    build_many(&d, 300, 60, 3);
    round_trip(&d);
    dataset_free(&d);
}
END_TEST

/* build_small(2 devices, 1 descriptor) written to a fresh temporary
 * directory as f.h5; the caller frees d and removes the directory. */
static void write_small(dataset *d, char *path, size_t size)
{
    gp_error err;
    dataset_init(d);
    build_small(d, 2, 1);
    make_tmpdir();
    snprintf(path, size, "%s/f.h5", tmpdir);
    ck_assert_msg(dataset_write_h5(d, path, &err) == 0, "%s", err.msg);
}

/* The cached features are what featurize_nodes() computes, with names. */
START_TEST(test_features_written)
{
    dataset d;
    char path[300];
    write_small(&d, path, sizeof path);

    int F = featurize_dim();
    int64_t N = d.graphs.n_nodes;
    float *want = malloc((size_t)(N * F) * sizeof(float)), *got = malloc((size_t)(N * F) * sizeof(float));
    featurize_nodes(&d.graphs, want);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t ds = H5Dopen2(f, "/nodes/features", H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[2];
    ck_assert_int_eq(H5Sget_simple_extent_dims(sp, dims, NULL), 2);
    ck_assert_int_eq(dims[0], N);
    ck_assert_int_eq(dims[1], F);
    ck_assert_int_ge(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, got), 0);
    for (int64_t i = 0; i < N * F; i++) ck_assert_msg(same_float(want[i], got[i]), "feature %lld", (long long)i);
    hid_t a = H5Aopen(ds, "column_names", H5P_DEFAULT);
    hid_t asp = H5Aget_space(a);
    hsize_t n_cols;
    H5Sget_simple_extent_dims(asp, &n_cols, NULL);
    ck_assert_int_eq(n_cols, F);
    H5Sclose(asp), H5Aclose(a), H5Sclose(sp), H5Dclose(ds), H5Fclose(f);
    free(want), free(got);
    dataset_free(&d);
    remove_tmpdir();
}
END_TEST

/* /nodes/inplace: absent means 0 everywhere (files written before it
 * existed); a value other than 0 or 1 is refused, naming the node. */
START_TEST(test_inplace_column)
{
    gp_error err;
    dataset d;
    char path[300];
    write_small(&d, path, sizeof path);
    int64_t N = d.graphs.n_nodes;
    int32_t *v = calloc((size_t)N, sizeof(int32_t));
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    hid_t ds = H5Dopen2(f, "/nodes/inplace", H5P_DEFAULT);
    ck_assert_int_ge(ds, 0);
    ck_assert_int_ge(H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    int ones = 0, want = 0;
    for (int64_t i = 0; i < N; i++) ones += v[i], want += d.graphs.nodes[i].inplace;
    ck_assert_int_gt(want, 0);
    ck_assert_int_eq(ones, want);
    v[N - 1] = 2;
    ck_assert_int_ge(H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Dclose(ds), H5Fclose(f);
    dataset e;
    dataset_init(&e);
    ck_assert_int_eq(dataset_read_h5(&e, path, &err), -1);
    ck_assert_msg(strstr(err.msg, "/nodes/inplace") && strstr(err.msg, "must be 0 or 1"), "%s", err.msg);
    dataset_free(&e);

    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, "/nodes/inplace", H5P_DEFAULT), 0);
    H5Fclose(f);
    dataset_init(&e);
    ck_assert_msg(dataset_read_h5(&e, path, &err) == 0, "%s", err.msg);
    for (int64_t i = 0; i < N; i++) ck_assert_int_eq(e.graphs.nodes[i].inplace, 0);
    dataset_free(&e);
    free(v);
    dataset_free(&d);
    remove_tmpdir();
}
END_TEST

/* Same dataset, same bytes: no timestamps in the file. */
START_TEST(test_write_deterministic)
{
    gp_error err;
    dataset d;
    dataset_init(&d);
    build_small(&d, 2, 3);
    make_tmpdir();
    char p1[300], p2[300];
    snprintf(p1, sizeof p1, "%s/a.h5", tmpdir);
    snprintf(p2, sizeof p2, "%s/b.h5", tmpdir);
    ck_assert_msg(dataset_write_h5(&d, p1, &err) == 0, "%s", err.msg);
    sleep(1);
    ck_assert_msg(dataset_write_h5(&d, p2, &err) == 0, "%s", err.msg);
    long n1, n2;
    char *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert(memcmp(b1, b2, (size_t)n1) == 0);
    free(b1), free(b2);
    dataset_free(&d);
    remove_tmpdir();
}
END_TEST

/* ---------------------------------------------------------------- atomicity */

START_TEST(test_failed_write_leaves_old_file)
{
    gp_error err;
    dataset d;
    dataset_init(&d);
    build_small(&d, 2, 3);
    make_tmpdir();
    char path[300];
    snprintf(path, sizeof path, "%s/data.h5", tmpdir);
    ck_assert_msg(dataset_write_h5(&d, path, &err) == 0, "%s", err.msg);
    long n_before;
    char *before = slurp(path, &n_before);

    d.targets[1].values[2 * 2 + 1] = -3.0f; /* graph 'mm', device gpu0 */
    ck_assert_int_eq(dataset_write_h5(&d, path, &err), -1);
    ck_assert_msg(strstr(err.msg, "data.h5: not written") && strstr(err.msg, "is negative"), "%s", err.msg);

    long n_after;
    char *after = slurp(path, &n_after);
    ck_assert_int_eq(n_before, n_after);
    ck_assert(memcmp(before, after, (size_t)n_before) == 0);
    ck_assert_int_eq(count_entries(tmpdir), 1); /* no temporary left */
    free(before), free(after);
    dataset_free(&d);
    remove_tmpdir();
}
END_TEST

START_TEST(test_write_into_missing_directory)
{
    gp_error err;
    dataset d;
    dataset_init(&d);
    build_small(&d, 1, 1);
    make_tmpdir();
    char path[300];
    snprintf(path, sizeof path, "%s/no/such/dir/data.h5", tmpdir);
    ck_assert_int_eq(dataset_write_h5(&d, path, &err), -1);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "cannot create a temporary file") &&
                      strstr(err.msg, "No such file or directory"),
                  "%s", err.msg);
    ck_assert_int_eq(count_entries(tmpdir), 0);
    dataset_free(&d);
    remove_tmpdir();
}
END_TEST

/* A target name HDF5 cannot hold as a link is refused before anything is written. */
START_TEST(test_write_bad_target_name)
{
    gp_error err;
    dataset d;
    dataset_init(&d);
    build_small(&d, 1, 1);
    free(d.targets[0].name);
    d.targets[0].name = sdup("lat/ms");
    make_tmpdir();
    char path[300];
    snprintf(path, sizeof path, "%s/data.h5", tmpdir);
    ck_assert_int_eq(dataset_write_h5(&d, path, &err), -1);
    ck_assert_msg(strstr(err.msg, "not written") && strstr(err.msg, "lat/ms"), "%s", err.msg);
    ck_assert_int_eq(count_entries(tmpdir), 0);
    dataset_free(&d);
    remove_tmpdir();
}
END_TEST

/* ---------------------------------------------------------------- files from h5py */

START_TEST(test_read_python_valid)
{
    gp_error err;
    dataset d;
    dataset_init(&d);
    ck_assert_msg(dataset_read_h5(&d, H5DIR "valid.h5", &err) == 0, "%s", err.msg);
    const graph_set *s = &d.graphs;
    ck_assert_int_eq(s->n_graphs, 3);
    ck_assert_int_eq(s->n_nodes, 8);
    ck_assert_int_eq(s->n_edges, 6);
    ck_assert_int_eq(s->n_in_shapes, 6);
    ck_assert_str_eq(s->graph_names[1], "g1");
    ck_assert_str_eq(s->node_names[1], "conv");
    ck_assert_int_eq(s->nodes[1].kind, OP_CONV2D);
    ck_assert_int_eq(s->nodes[1].kernel[0], 3);
    ck_assert_int_eq(s->nodes[1].padding[1], 1);
    ck_assert_int_eq(s->nodes[2].kind, OP_ACTIVATION);
    ck_assert_int_eq(s->nodes[2].fn, FN_RELU);
    ck_assert_int_eq(s->nodes[6].n_in, 2);
    ck_assert_int_eq(s->nodes[6].in_off, 4);
    ck_assert_int_eq(s->nodes[7].out.rank, 0);
    ck_assert_int_eq(s->in_shapes[0].dim[1], 3);
    ck_assert_int_eq(s->pred_ptr[7] - s->pred_ptr[6], 2); /* c has producers a and b */
    ck_assert_int_eq(d.n_devices, 2);
    ck_assert_str_eq(d.device_names[1], "gpu");
    ck_assert(isnan(d.descriptors[2]));
    ck_assert(d.descriptors[3] == 900.0);
    ck_assert_int_eq(d.n_targets, 2);
    ck_assert_int_eq(d.targets[0].level, LABEL_NODE);
    ck_assert_int_eq(d.targets[1].level, LABEL_GRAPH);
    ck_assert_str_eq(d.targets[1].unit, "ms");
    ck_assert(isnan(d.targets[0].values[1]));
    ck_assert(d.targets[1].values[2] == 0.3f);
    ck_assert_ptr_nonnull(strstr(d.provenance, "make_hostile.py"));
    dataset_free(&d);
}
END_TEST

/* int64 codes, float64 labels, fixed-length byte strings, no creation
 * order: what h5py writes by default must read the same. */
START_TEST(test_read_python_defaults)
{
    gp_error err;
    dataset a, b;
    dataset_init(&a);
    dataset_init(&b);
    ck_assert_msg(dataset_read_h5(&a, H5DIR "valid.h5", &err) == 0, "%s", err.msg);
    ck_assert_msg(dataset_read_h5(&b, H5DIR "valid_h5py_defaults.h5", &err) == 0, "%s", err.msg);
    assert_same(&a, &b);
    dataset_free(&a);
    dataset_free(&b);
}
END_TEST

/* ---------------------------------------------------------------- hostile files */

static const struct {
    const char *file;
    const char *expect;
} HOSTILE[] = {
    {"not_hdf5.h5", "not_hdf5.h5: not an HDF5 file or truncated"},
    {"truncated.h5", "truncated.h5: not an HDF5 file or truncated"},
    {"wrong_format.h5", "wrong_format.h5: format is 'foo', expected 'gnnperf-dataset'"},
    {"future_version.h5", "format_version 2 is newer than this build understands (1); upgrade gnnperf"},
    {"no_format.h5", "no_format.h5: not a gnnperf dataset (no 'format' attribute"},
    {"missing_edges_src.h5", "missing_edges_src.h5: /edges/src: missing"},
    {"float_codes.h5", "/nodes/kind: expected a 1-D integer dataset of 8 elements, found 1-D float data (8)"},
    {"wrong_rank.h5", "wrong_rank.h5: /edges/src: expected a 1-D integer dataset of 6 elements, found 2-D (6 x 2)"},
    {"wrong_length.h5", "/nodes/groups: expected a 1-D integer dataset of 8 elements, found 1-D (7)"},
    {"offsets_not_monotone.h5", "/graphs/node_offsets: not non-decreasing at index 2 (3 after 4)"},
    {"offsets_bad_end.h5", "/graphs/node_offsets: ends at 9, but /nodes/names has 8 entries"},
    {"edge_out_of_range.h5", "/edges/dst: edge 3 (graph 1 'g1', local edge 0): endpoint 7 outside the graph's nodes 0..2"},
    {"edge_cycle.h5", "/edges: edge 1 (graph 0 'g0', local edge 1): 2 -> 1 goes against topological order"},
    {"unknown_kind_name.h5",
     "/nodes/kind: row 2 (graph 0 'g0', node 2 'relu'): op kind 'frobnicate' is not known to this build"},
    {"kind_code_out_of_range.h5",
     "/nodes/kind: row 2 (graph 0 'g0', node 2 'relu'): code 99 is outside the vocabulary (0..20)"},
    {"negative_label.h5", "/labels/graph/latency_ms: row 2 ('g2'), device 'cpu': value -1 is negative"},
    {"inf_label.h5", "/labels/node/latency_ms: row 5 (graph 1 'g1', node 1 'b'), device 'gpu': value inf is infinite"},
    {"duplicate_devices.h5", "/devices/names: entry 1 ('cpu') repeats entry 0"},
    {"duplicate_graph_names.h5", "/graphs/names: entry 2 ('g1') repeats entry 1"},
    {"empty_graph.h5", "/graphs/node_offsets: graph 1 ('g1') is empty (entries 1 and 2 are both 7)"},
    {"huge_dims.h5", "/graphs/names: claims 1099511627776 elements"},
    {"huge_devices.h5", "/devices/names: claims 1048576 elements"},
    {"negative_dims.h5", "/nodes/out_shape: row 1 (graph 0 'g0', node 1 'conv'): dimension 2 is -5, negative"},
    {"string_for_numbers.h5", "/edges/dst: expected a 1-D integer dataset of 6 elements, found 1-D string data (6)"},
    {"int_overflow.h5", "/edges/src: a stored value does not fit in a 32-bit integer"},
    {"external_link.h5", "/edges/src: is an external link; gnnperf follows only hard links"},
    {"unknown_filter.h5", "/nodes/groups: is encoded with filter 32000"},
    {"features_rows.h5", "/nodes/features: expected a 2-D float dataset of 8 x any elements, found 2-D (9 x 3)"},
    {"does_not_exist.h5", "does_not_exist.h5: cannot open: No such file or directory"},
};

START_TEST(test_hostile)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", H5DIR, HOSTILE[_i].file);
    gp_error err;
    err.msg[0] = '\0';
    dataset d;
    dataset_init(&d);
    ck_assert_int_eq(dataset_read_h5(&d, path, &err), -1);
    ck_assert_msg(strstr(err.msg, HOSTILE[_i].expect), "%s:\n  expected '%s'\n  got      '%s'", HOSTILE[_i].file,
                  HOSTILE[_i].expect, err.msg);
    ck_assert_msg(strstr(err.msg, path) == err.msg, "message does not start with the file: %s", err.msg);
    assert_empty(&d);
    dataset_free(&d);
}
END_TEST

/* A failed read after a successful one leaves the second dataset empty and
 * the first intact (nothing is shared between them). */
START_TEST(test_read_after_failure)
{
    gp_error err;
    dataset a, b;
    dataset_init(&a);
    dataset_init(&b);
    ck_assert_int_eq(dataset_read_h5(&b, H5DIR "inf_label.h5", &err), -1);
    assert_empty(&b);
    ck_assert_msg(dataset_read_h5(&a, H5DIR "valid.h5", &err) == 0, "%s", err.msg);
    ck_assert_msg(dataset_read_h5(&b, H5DIR "valid.h5", &err) == 0, "%s", err.msg);
    assert_same(&a, &b);
    dataset_free(&a);
    dataset_free(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dataset_h5");
    TCase *rt = tcase_create("round_trip");
    /* The chunked round trip featurizes and compresses 18,000 nodes: slow under sanitizers. */
    tcase_set_timeout(rt, 60);
    tcase_add_test(rt, test_round_trip_small);
    tcase_add_test(rt, test_round_trip_no_devices);
    tcase_add_test(rt, test_round_trip_no_targets);
    tcase_add_test(rt, test_round_trip_no_graphs);
    tcase_add_test(rt, test_round_trip_chunked);
    tcase_add_test(rt, test_features_written);
    tcase_add_test(rt, test_inplace_column);
    tcase_add_test(rt, test_write_deterministic);
    suite_add_tcase(s, rt);

    TCase *at = tcase_create("atomic");
    tcase_add_test(at, test_failed_write_leaves_old_file);
    tcase_add_test(at, test_write_into_missing_directory);
    tcase_add_test(at, test_write_bad_target_name);
    suite_add_tcase(s, at);

    TCase *py = tcase_create("python");
    tcase_add_test(py, test_read_python_valid);
    tcase_add_test(py, test_read_python_defaults);
    tcase_add_test(py, test_read_after_failure);
    tcase_add_loop_test(py, test_hostile, 0, (int)(sizeof HOSTILE / sizeof HOSTILE[0]));
    suite_add_tcase(s, py);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
