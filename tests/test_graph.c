/* Graph IR: builder, validation, topological order, CSR, cost, featurizer,
 * and the small common pieces (strmap, atomic_file) they rest on. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/strmap.h"
#include "graph/cost.h"
#include "gnn/prior.h"
#include "graph/featurize.h"
#include "graph/graph.h"
#include "check_run.h"

static tensor_shape shape4(int64_t a, int64_t b, int64_t c, int64_t d)
{
    tensor_shape t = {4, {a, b, c, d}};
    return t;
}

static graph_node node_of(int kind, tensor_shape out)
{
    graph_node n;
    graph_node_defaults(&n);
    n.kind = kind;
    n.out = out;
    return n;
}

/* x -> conv -> relu -> add(conv, relu) -> out */
static void build_small(graph_set *s, const char *name)
{
    gp_error err;
    tensor_shape x = shape4(1, 3, 32, 32), y = shape4(1, 16, 32, 32);
    ck_assert_int_eq(graph_set_begin_graph(s, name, &err), 0);
    graph_node n = node_of(OP_INPUT, x);
    ck_assert_int_eq(graph_set_add_node(s, "x", &n, NULL, 0, &err), 0);
    n = node_of(OP_CONV2D, y);
    n.kernel[0] = n.kernel[1] = 3;
    n.padding[0] = n.padding[1] = 1;
    ck_assert_int_eq(graph_set_add_node(s, "conv", &n, &x, 1, &err), 1);
    n = node_of(OP_ACTIVATION, y);
    n.fn = FN_RELU;
    ck_assert_int_eq(graph_set_add_node(s, "relu", &n, &y, 1, &err), 2);
    tensor_shape two[2] = {y, y};
    n = node_of(OP_ADD, y);
    ck_assert_int_eq(graph_set_add_node(s, "add", &n, two, 2, &err), 3);
    n = node_of(OP_OUTPUT, y);
    ck_assert_int_eq(graph_set_add_node(s, "out", &n, &y, 1, &err), 4);
    ck_assert_int_eq(graph_set_add_edge(s, 0, 1, &err), 0);
    ck_assert_int_eq(graph_set_add_edge(s, 1, 2, &err), 0);
    ck_assert_int_eq(graph_set_add_edge(s, 1, 3, &err), 0);
    ck_assert_int_eq(graph_set_add_edge(s, 2, 3, &err), 0);
    ck_assert_int_eq(graph_set_add_edge(s, 3, 4, &err), 0);
    ck_assert_int_eq(graph_set_end_graph(s, &err), 0);
}

START_TEST(test_build_and_csr)
{
    graph_set s;
    gp_error err;
    graph_set_init(&s);
    build_small(&s, "g0");
    build_small(&s, "g1");
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.n_graphs, 2);
    ck_assert_int_eq(s.n_nodes, 10);
    ck_assert_int_eq(s.n_edges, 10);
    ck_assert_int_eq(s.node_off[1], 5);
    /* add (global 8 in graph 1) has producers conv (6) and relu (7), in edge order */
    ck_assert_int_eq(s.pred_ptr[9] - s.pred_ptr[8], 2);
    ck_assert_int_eq(s.pred_idx[s.pred_ptr[8]], 6);
    ck_assert_int_eq(s.pred_idx[s.pred_ptr[8] + 1], 7);
    /* conv (global 1) feeds relu and add */
    ck_assert_int_eq(s.succ_ptr[2] - s.succ_ptr[1], 2);
    ck_assert_int_eq(s.succ_idx[s.succ_ptr[1]], 2);
    ck_assert_int_eq(s.succ_idx[s.succ_ptr[1] + 1], 3);
    ck_assert_int_eq(graph_set_find(&s, "g1"), 1);
    ck_assert_int_eq(graph_set_find(&s, "nope"), -1);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_builder_rejects)
{
    graph_set s;
    gp_error err;
    graph_set_init(&s);
    tensor_shape y = shape4(1, 1, 1, 1);
    graph_node n = node_of(OP_INPUT, y);
    ck_assert_int_lt(graph_set_add_node(&s, "a", &n, NULL, 0, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "no graph is open"));
    ck_assert_int_eq(graph_set_begin_graph(&s, "g", &err), 0);
    ck_assert_int_lt(graph_set_end_graph(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "has no nodes"));
    ck_assert_int_eq(graph_set_add_node(&s, "a", &n, NULL, 0, &err), 0);
    ck_assert_int_eq(graph_set_add_node(&s, "b", &n, NULL, 0, &err), 1);
    ck_assert_int_lt(graph_set_add_edge(&s, 1, 1, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "self-loop"));
    ck_assert_int_lt(graph_set_add_edge(&s, 1, 0, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "topological"));
    ck_assert_int_lt(graph_set_add_edge(&s, 0, 2, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "outside 0..1"));
    ck_assert_int_eq(graph_set_add_node(&s, "a", &n, NULL, 0, &err), 2);
    ck_assert_int_lt(graph_set_end_graph(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "name 'a' already used by node 0"));
    graph_set_free(&s);
}
END_TEST

/* Data read from files bypasses the builder: validate must catch each broken invariant. */
START_TEST(test_validate_catches)
{
    graph_set s;
    gp_error err;
    graph_set_init(&s);
    build_small(&s, "g0");
    ck_assert_int_eq(graph_set_finish(&s, &err), 0);

    s.nodes[1].stride[1] = 0;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "node 1 ('conv'): stride[1] is 0"));
    s.nodes[1].stride[1] = 1;

    s.nodes[1].groups = 5; /* 3 input channels are not divisible by 5 */
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "not divisible by groups 5"));
    s.nodes[1].groups = 1;

    s.nodes[2].out.dim[3] = -4;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "out_shape: dimension 3 is -4"));
    s.nodes[2].out.dim[3] = GRAPH_MAX_DIM + 1;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    s.nodes[2].out.dim[3] = 32;

    s.nodes[2].out.rank = GRAPH_MAX_RANK + 1;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "rank 7"));
    s.nodes[2].out.rank = 4;

    /* Five dimensions of 2^31 multiply past GRAPH_MAX_ELEMS. */
    tensor_shape big = {5, {GRAPH_MAX_DIM, GRAPH_MAX_DIM, GRAPH_MAX_DIM, GRAPH_MAX_DIM, GRAPH_MAX_DIM}};
    tensor_shape keep = s.nodes[3].out;
    s.nodes[3].out = big;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than"));
    s.nodes[3].out = keep;

    s.nodes[0].kind = OP_KIND_COUNT;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "op kind code"));
    s.nodes[0].kind = OP_INPUT;

    s.edge_dst[0] = 0; /* 0 -> 0 */
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "against topological order"));
    s.edge_dst[0] = 9;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "endpoint outside"));
    s.edge_dst[0] = 1;

    s.nodes[4].in_off = 99;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "input shapes"));
    s.nodes[4].in_off = 4;

    s.node_off[1] = 4;
    ck_assert_int_lt(graph_set_validate(&s, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "node offsets end at 4"));
    s.node_off[1] = 5;

    ck_assert_msg(graph_set_validate(&s, &err) == 0, "%s", err.msg);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_topo_order)
{
    /* 0->3, 2->1, 1->3 : stable order keeps 0 first, then 2, 1, 3 */
    int32_t src[] = {0, 2, 1}, dst[] = {3, 1, 3};
    int64_t order[4], cyc = -7;
    ck_assert_int_eq(graph_topo_order(4, 3, src, dst, order, &cyc), 0);
    ck_assert_int_eq(order[0], 0);
    ck_assert_int_eq(order[1], 2);
    ck_assert_int_eq(order[2], 1);
    ck_assert_int_eq(order[3], 3);

    /* 0 -> 1 -> 2 -> 1, and 2 -> 3: the cycle is {1, 2}; 3 is only downstream. */
    int32_t cs[] = {0, 1, 2, 2}, cd[] = {1, 2, 1, 3};
    ck_assert_int_eq(graph_topo_order(4, 4, cs, cd, order, &cyc), -1);
    ck_assert(cyc == 1 || cyc == 2);

    int32_t ss[] = {0}, sd[] = {0};
    ck_assert_int_eq(graph_topo_order(1, 1, ss, sd, order, &cyc), -1);
    ck_assert_int_eq(cyc, 0);
}
END_TEST

START_TEST(test_cost_formulas)
{
    graph_set s;
    gp_error err;
    graph_set_init(&s);
    build_small(&s, "g");
    ck_assert_int_eq(graph_set_finish(&s, &err), 0);
    node_cost c;
    graph_node_cost(&s, 1, &c); /* conv 3->16, 3x3, 32x32 output */
    ck_assert_double_eq(c.flops, 2.0 * 16 * 32 * 32 * 3 * 9);
    ck_assert_double_eq(c.params, 16.0 * 3 * 9 + 16);
    ck_assert_double_eq(c.bytes_in, 3.0 * 32 * 32 * 4);
    ck_assert_double_eq(c.bytes_out, 16.0 * 32 * 32 * 4);
    ck_assert_double_eq(c.bytes_param, c.params * 4);
    graph_node_cost(&s, 3, &c); /* add of two 16x32x32 */
    ck_assert_double_eq(c.flops, 16.0 * 32 * 32);
    ck_assert_double_eq(c.bytes_in, 2.0 * 16 * 32 * 32 * 4);
    graph_node_cost(&s, 0, &c); /* input marker */
    ck_assert_double_eq(c.flops + node_cost_bytes(&c), 0.0);

    /* depthwise: groups == channels, so one input channel per output */
    s.nodes[1].kind = OP_DWCONV2D;
    s.nodes[1].out.dim[1] = 3;
    s.nodes[1].groups = 3;
    graph_node_cost(&s, 1, &c);
    ck_assert_double_eq(c.flops, 2.0 * 3 * 32 * 32 * 1 * 9);
    graph_set_free(&s);
}
END_TEST

/* The reduction length of a matmul: the first listed operand's last
 * dimension, unless the shapes say that operand is the right one (a
 * constant left operand is listed after the graph inputs) or transposed. */
START_TEST(test_cost_matmul_reduction)
{
    static const struct {
        tensor_shape a, b, out;
        double k;
    } cases[] = {
        {{2, {4, 3}}, {2, {3, 6}}, {2, {4, 6}}, 3},        /* ordinary */
        {{3, {2, 4, 3}}, {3, {2, 3, 6}}, {3, {2, 4, 6}}, 3}, /* batched */
        {{2, {8, 2}}, {2, {5, 8}}, {2, {5, 2}}, 8},        /* W [5,8] @ x [8,2], x listed first */
        {{2, {8, 2}}, {2, {8, 5}}, {2, {2, 5}}, 8},        /* Gemm transA: x^T [2,8] @ B [8,5] */
        {{2, {4, 4}}, {2, {4, 4}}, {2, {4, 4}}, 4},        /* square: nothing to tell apart */
        {{2, {64, 2}}, {2, {64, 64}}, {2, {64, 2}}, 64},   /* square W [64,64] @ x [64,2] */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        graph_set s;
        gp_error err;
        graph_set_init(&s);
        graph_node n;
        graph_node_defaults(&n);
        n.kind = OP_INPUT;
        n.out = cases[i].a;
        ck_assert_int_eq(graph_set_begin_graph(&s, "g", &err), 0);
        ck_assert_int_eq(graph_set_add_node(&s, "x", &n, NULL, 0, &err), 0);
        n.kind = OP_MATMUL;
        n.out = cases[i].out;
        tensor_shape ins[2] = {cases[i].a, cases[i].b};
        ck_assert_int_eq(graph_set_add_node(&s, "mm", &n, ins, 2, &err), 1);
        ck_assert_int_eq(graph_set_add_edge(&s, 0, 1, &err), 0);
        ck_assert_int_eq(graph_set_end_graph(&s, &err), 0);
        ck_assert_int_eq(graph_set_finish(&s, &err), 0);
        node_cost c;
        graph_node_cost(&s, 1, &c);
        ck_assert_msg(c.flops == 2.0 * (double)tensor_shape_elems(&cases[i].out) * cases[i].k, "case %zu: %g FLOPs",
                      i, c.flops);
        graph_set_free(&s);
    }
}
END_TEST

START_TEST(test_roofline_prior)
{
    graph_set s;
    gp_error err;
    graph_set_init(&s);
    build_small(&s, "g");
    ck_assert_int_eq(graph_set_finish(&s, &err), 0);
    cost_prior p;
    cost_prior_defaults(&p);
    ck_assert_int_eq(p.kind, PRIOR_NONE);
    ck_assert(!prior_applies(&p, "ms"));
    p.kind = PRIOR_ROOFLINE;
    ck_assert_int_eq(cost_prior_validate(&p, &err), 0);
    ck_assert(prior_applies(&p, "ms"));
    ck_assert(!prior_applies(&p, "ratio"));

    /* rates from named descriptors: GFLOP/s and GB/s to per-ms */
    char *names[] = {"l2_mb", "mem_bw_gbs", "peak_gflops"};
    double row[] = {1.0, 10.0, 100.0}, rates[2];
    prior_device_rates(&p, names, 3, row, rates);
    ck_assert_double_eq(rates[0], 100e6);
    ck_assert_double_eq(rates[1], 10e6);
    ck_assert_int_eq(prior_check_rates(&p, rates, "dev", &err), 0);

    /* the conv (node 1) is compute-bound at these rates, the add (3) memory-bound */
    node_cost c;
    graph_node_cost(&s, 1, &c);
    double conv_ms = c.flops / 100e6 + p.floor_ms;
    ck_assert(c.flops / 100e6 > node_cost_bytes(&c) / 10e6);
    ck_assert_double_eq_tol(prior_node_log(&p, &s, 1, rates), log(conv_ms), 1e-12);
    graph_node_cost(&s, 3, &c);
    double add_ms = node_cost_bytes(&c) / 10e6 + p.floor_ms;
    ck_assert_double_eq_tol(prior_node_log(&p, &s, 3, rates), log(add_ms), 1e-12);
    /* a marker costs only the floor; a graph the sum of its nodes */
    ck_assert_double_eq_tol(prior_node_log(&p, &s, 0, rates), log(p.floor_ms), 1e-12);
    double sum = 0;
    for (int64_t v = s.node_off[0]; v < s.node_off[1]; v++) sum += exp(prior_node_log(&p, &s, v, rates));
    ck_assert_double_eq_tol(prior_graph_log(&p, &s, 0, rates), log(sum), 1e-12);

    /* roofline_sum adds the two times instead of taking the larger */
    p.kind = PRIOR_ROOFLINE_SUM;
    ck_assert_int_eq(cost_prior_validate(&p, &err), 0);
    ck_assert(prior_applies(&p, "ms"));
    graph_node_cost(&s, 1, &c);
    ck_assert(node_cost_bytes(&c) > 0);
    ck_assert_double_eq_tol(prior_node_log(&p, &s, 1, rates),
                            log(c.flops / 100e6 + node_cost_bytes(&c) / 10e6 + p.floor_ms), 1e-12);
    ck_assert_double_eq_tol(prior_node_log(&p, &s, 0, rates), log(p.floor_ms), 1e-12);
    p.kind = PRIOR_ROOFLINE;

    /* a missing or non-positive descriptor is named */
    row[2] = -1.0;
    prior_device_rates(&p, names, 3, row, rates);
    ck_assert_int_eq(prior_check_rates(&p, rates, "dev0", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "dev0"));
    ck_assert_ptr_nonnull(strstr(err.msg, "peak_gflops"));
    snprintf(p.bw, sizeof p.bw, "%s", "nope");
    row[2] = 100.0;
    prior_device_rates(&p, names, 3, row, rates);
    ck_assert_int_eq(prior_check_rates(&p, rates, "dev0", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'nope'"));
    p.floor_ms = 0.0;
    ck_assert_int_eq(cost_prior_validate(&p, &err), -1);
    ck_assert_int_eq(prior_kind_from_name("roofline"), PRIOR_ROOFLINE);
    ck_assert_int_eq(prior_kind_from_name("roofline_sum"), PRIOR_ROOFLINE_SUM);
    ck_assert_str_eq(prior_kind_name(PRIOR_ROOFLINE_SUM), "roofline_sum");
    ck_assert_int_eq(prior_kind_from_name("bogus"), -1);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_featurizer)
{
    graph_set s;
    gp_error err;
    graph_set_init(&s);
    build_small(&s, "g");
    ck_assert_int_eq(graph_set_finish(&s, &err), 0);
    int dim = featurize_dim();
    ck_assert_int_gt(dim, OP_KIND_COUNT + FN_COUNT);
    /* Column names are unique and non-empty. */
    for (int j = 0; j < dim; j++) {
        ck_assert_ptr_nonnull(featurize_name(j));
        for (int k = 0; k < j; k++) ck_assert_str_ne(featurize_name(j), featurize_name(k));
    }
    ck_assert_ptr_null(featurize_name(dim));
    float *f = malloc((size_t)s.n_nodes * dim * sizeof(float));
    featurize_nodes(&s, f);
    int col_conv = -1, col_relu = -1, col_flops = -1, col_indeg = -1;
    for (int j = 0; j < dim; j++) {
        if (!strcmp(featurize_name(j), "kind=conv2d")) col_conv = j;
        if (!strcmp(featurize_name(j), "fn=relu")) col_relu = j;
        if (!strcmp(featurize_name(j), "log_flops")) col_flops = j;
        if (!strcmp(featurize_name(j), "log_in_degree")) col_indeg = j;
    }
    ck_assert(col_conv >= 0 && col_relu >= 0 && col_flops >= 0 && col_indeg >= 0);
    ck_assert_float_eq(f[1 * dim + col_conv], 1.0f);
    ck_assert_float_eq(f[0 * dim + col_conv], 0.0f);
    ck_assert_float_eq(f[2 * dim + col_relu], 1.0f);
    ck_assert_float_eq_tol(f[1 * dim + col_flops], (float)log10(1.0 + 2.0 * 16 * 32 * 32 * 27), 1e-5);
    ck_assert_float_eq_tol(f[3 * dim + col_indeg], (float)log10(3.0), 1e-6);
    for (int64_t k = 0; k < s.n_nodes * dim; k++) ck_assert(isfinite(f[k]));
    /* the in-place flag is its own column */
    int col_inplace = -1;
    for (int j = 0; j < dim; j++)
        if (!strcmp(featurize_name(j), "inplace")) col_inplace = j;
    ck_assert_int_ge(col_inplace, 0);
    ck_assert_float_eq(f[2 * dim + col_inplace], 0.0f);
    s.nodes[2].inplace = 1;
    featurize_nodes(&s, f);
    ck_assert_float_eq(f[2 * dim + col_inplace], 1.0f);
    free(f);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_strmap)
{
    strmap m;
    ck_assert_int_eq(strmap_init(&m, 2), 0);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(strmap_put(&m, key, i, NULL), 0);
    }
    int64_t prev = -1;
    ck_assert_int_eq(strmap_put(&m, "k42", 7, &prev), 1);
    ck_assert_int_eq(prev, 42);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(strmap_get(&m, key), i);
    }
    ck_assert_int_eq(strmap_get(&m, "absent"), -1);
    strmap_free(&m);
}
END_TEST

START_TEST(test_atomic_file)
{
    char dir[] = "/tmp/gp_atomicXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);

    atomic_file af;
    gp_error err;
    ck_assert_int_eq(atomic_file_begin(&af, path, &err), 0);
    f = fopen(af.tmp_path, "w");
    fputs("half", f);
    fclose(f);
    atomic_file_abort(&af); /* a failed write: the old file stays */
    char buf[16] = {0};
    f = fopen(path, "r");
    ck_assert_uint_eq(fread(buf, 1, sizeof buf - 1, f), 3);
    fclose(f);
    ck_assert_str_eq(buf, "old");

    ck_assert_int_eq(atomic_file_begin(&af, path, &err), 0);
    f = fopen(af.tmp_path, "w");
    fputs("new", f);
    fclose(f);
    ck_assert_int_eq(atomic_file_commit(&af, &err), 0);
    f = fopen(path, "r");
    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(fread(buf, 1, sizeof buf - 1, f), 3);
    fclose(f);
    ck_assert_str_eq(buf, "new");
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0); /* nothing else left behind */

    /* A device node is written in place, never renamed over. */
    ck_assert_int_eq(atomic_file_write_text("/dev/null", "discarded", &err), 0);
    struct stat st;
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    ck_assert_int_lt(atomic_file_write_text("/tmp", "x", &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "is a directory"));

    ck_assert_int_lt(atomic_file_begin(&af, "/nonexistent_dir_gp/x.h5", &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent_dir_gp/x.h5"));
}
END_TEST

START_TEST(test_vocabularies)
{
    for (int k = 0; k < OP_KIND_COUNT; k++) ck_assert_int_eq(op_kind_from_name(op_kind_name(k)), k);
    for (int k = 0; k < FN_COUNT; k++) ck_assert_int_eq(op_fn_from_name(op_fn_name(k)), k);
    for (int k = 0; k < DT_COUNT; k++) {
        ck_assert_int_eq(dtype_from_name(dtype_name(k)), k);
        ck_assert_int_gt(dtype_size(k), 0);
    }
    ck_assert_int_eq(op_kind_from_name("conv3d"), -1);
    ck_assert_ptr_null(op_kind_name(-1));
    char buf[512];
    op_kind_list(buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "input, output, conv2d"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_build_and_csr);
    tcase_add_test(tc, test_builder_rejects);
    tcase_add_test(tc, test_validate_catches);
    tcase_add_test(tc, test_topo_order);
    tcase_add_test(tc, test_cost_formulas);
    tcase_add_test(tc, test_cost_matmul_reduction);
    tcase_add_test(tc, test_roofline_prior);
    tcase_add_test(tc, test_featurizer);
    tcase_add_test(tc, test_strmap);
    tcase_add_test(tc, test_atomic_file);
    tcase_add_test(tc, test_vocabularies);
    suite_add_tcase(s, tc);
    return check_run(s);
}
