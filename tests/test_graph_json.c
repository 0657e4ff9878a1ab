/* graph_json: the gnnperf-graph JSON reader and writer.
 *
 * Good files parse to the expected nodes, edges, shapes, attributes and CSR;
 * written graphs read back identical; and every hostile input fails with a
 * message naming the source and the JSON path, leaving the graph_set exactly
 * as it was. Files live in tests/data/json/; the rest are strings here. */
#define _GNU_SOURCE /* open_memstream, mkdtemp */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "graph/graph.h"
#include "graph/graph_json.h"

#define DATA GP_TEST_DATA "/json/"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Every graph of s as compact JSON Lines, for comparing sets by value. */
static char *dump(const graph_set *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    gp_error err;
    for (int64_t g = 0; g < s->n_graphs; g++) ck_assert_msg(graph_json_write(f, s, g, 0, &err) == 0, "%s", err.msg);
    fclose(f);
    return buf;
}

static void assert_sets_equal(const graph_set *a, const graph_set *b)
{
    ck_assert_int_eq(a->n_graphs, b->n_graphs);
    ck_assert_int_eq(a->n_nodes, b->n_nodes);
    ck_assert_int_eq(a->n_edges, b->n_edges);
    ck_assert_int_eq(a->n_in_shapes, b->n_in_shapes);
    for (int64_t g = 0; g < a->n_graphs; g++) {
        ck_assert_str_eq(a->graph_names[g], b->graph_names[g]);
        ck_assert_int_eq(a->node_off[g + 1], b->node_off[g + 1]);
        ck_assert_int_eq(a->edge_off[g + 1], b->edge_off[g + 1]);
    }
    for (int64_t i = 0; i < a->n_nodes; i++) {
        const graph_node *x = &a->nodes[i], *y = &b->nodes[i];
        ck_assert_str_eq(a->node_names[i], b->node_names[i]);
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
        ck_assert_int_eq(x->out.rank, y->out.rank);
        for (int d = 0; d < GRAPH_MAX_RANK; d++) ck_assert_int_eq(x->out.dim[d], y->out.dim[d]);
    }
    for (int64_t k = 0; k < a->n_in_shapes; k++) {
        ck_assert_int_eq(a->in_shapes[k].rank, b->in_shapes[k].rank);
        for (int d = 0; d < GRAPH_MAX_RANK; d++) ck_assert_int_eq(a->in_shapes[k].dim[d], b->in_shapes[k].dim[d]);
    }
    for (int64_t e = 0; e < a->n_edges; e++) {
        ck_assert_int_eq(a->edge_src[e], b->edge_src[e]);
        ck_assert_int_eq(a->edge_dst[e], b->edge_dst[e]);
    }
}

static void assert_shape(const tensor_shape *t, int rank, const int64_t *dims)
{
    ck_assert_int_eq(t->rank, rank);
    for (int d = 0; d < rank; d++) ck_assert_int_eq(t->dim[d], dims[d]);
}

static int64_t node_index(const graph_set *s, int64_t g, const char *name)
{
    for (int64_t i = s->node_off[g]; i < s->node_off[g + 1]; i++)
        if (strcmp(s->node_names[i], name) == 0) return i;
    ck_abort_msg("no node %s", name);
    return -1;
}

static const char SENTINEL[] =
    "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"sentinel\",\"nodes\":["
    "{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[2,3]},"
    "{\"name\":\"y\",\"op\":\"activation\",\"inputs\":[\"x\"],\"attrs\":{\"fn\":\"tanh\"},\"out_shape\":[2,3]}]}";

/* A set already holding one graph, to check that failures leave it alone. */
static void sentinel_set(graph_set *s)
{
    gp_error err;
    graph_set_init(s);
    ck_assert_msg(graph_json_parse(s, SENTINEL, strlen(SENTINEL), "sentinel", &err) == 0, "%s", err.msg);
}

static void assert_unchanged(const graph_set *s, const char *before)
{
    ck_assert_int_eq(s->n_graphs, 1);
    ck_assert_int_eq(s->n_nodes, 2);
    ck_assert_int_eq(s->n_edges, 1);
    ck_assert_int_eq(s->n_in_shapes, 1);
    ck_assert_int_eq(s->open, 0);
    char *after = dump(s);
    ck_assert_str_eq(before, after);
    free(after);
}

/* text (len bytes) must fail, with expect in the message, against an empty
 * set and against a set holding a graph, which must both stay unchanged. */
static void check_parse_fails(const char *text, size_t len, const char *expect)
{
    gp_error err;
    graph_set s;
    graph_set_init(&s);
    err.msg[0] = '\0';
    ck_assert_int_eq(graph_json_parse(&s, text, len, "mem.json", &err), -1);
    ck_assert_msg(strstr(err.msg, expect) != NULL, "message '%s' lacks '%s'", err.msg, expect);
    ck_assert_msg(strncmp(err.msg, "mem.json", 8) == 0, "message '%s' does not name the source", err.msg);
    ck_assert_int_eq(s.n_graphs, 0);
    ck_assert_int_eq(s.n_nodes, 0);
    ck_assert_ptr_null(s.nodes);
    graph_set_free(&s);

    sentinel_set(&s);
    char *before = dump(&s);
    err.msg[0] = '\0';
    ck_assert_int_eq(graph_json_parse(&s, text, len, "mem.json", &err), -1);
    ck_assert_msg(strstr(err.msg, expect) != NULL, "message '%s' lacks '%s'", err.msg, expect);
    assert_unchanged(&s, before);
    /* err may be NULL: still fails cleanly */
    ck_assert_int_eq(graph_json_parse(&s, text, len, "mem.json", NULL), -1);
    assert_unchanged(&s, before);
    free(before);
    graph_set_free(&s);
}

static void check_file_fails(const char *path, const char *expect)
{
    gp_error err;
    graph_set s;
    sentinel_set(&s);
    char *before = dump(&s);
    err.msg[0] = '\0';
    ck_assert_int_eq(graph_json_read_file(&s, path, &err), -1);
    ck_assert_msg(strstr(err.msg, expect) != NULL, "message '%s' lacks '%s'", err.msg, expect);
    assert_unchanged(&s, before);
    free(before);
    graph_set_free(&s);
}

static void read_ok(graph_set *s, const char *path)
{
    gp_error err;
    ck_assert_msg(graph_json_read_file(s, path, &err) == 0, "%s", err.msg);
}

/* Writes every graph of a as compact JSON Lines, reads the text back and
 * compares by value. */
static void check_round_trip(const graph_set *a)
{
    char *buf = dump(a);
    gp_error err;
    graph_set b;
    graph_set_init(&b);
    ck_assert_msg(graph_json_parse(&b, buf, strlen(buf), "written", &err) == 0, "%s\n%s", err.msg, buf);
    ck_assert_msg(graph_set_finish(&b, &err) == 0, "%s", err.msg);
    assert_sets_equal(a, &b);
    free(buf);
    graph_set_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Good input                                                               */
/* ------------------------------------------------------------------------ */

START_TEST(test_tiny_cnn)
{
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    read_ok(&s, DATA "good_tiny_cnn.json");
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.n_graphs, 1);
    ck_assert_str_eq(s.graph_names[0], "tiny_cnn");
    ck_assert_int_eq(s.n_nodes, 12);
    ck_assert_int_eq(s.n_edges, 11);
    /* already in order: file order kept */
    static const char *names[] = {"x",   "conv1", "bn1",  "relu1", "pool1", "conv2",
                                  "relu2", "gap", "flat", "fc",    "prob",  "out"};
    for (int i = 0; i < 12; i++) ck_assert_str_eq(s.node_names[i], names[i]);
    for (int e = 0; e < 11; e++) {
        ck_assert_int_eq(s.edge_src[e], e);
        ck_assert_int_eq(s.edge_dst[e], e + 1);
    }
    const graph_node *x = &s.nodes[0], *c1 = &s.nodes[1], *r1 = &s.nodes[3], *p1 = &s.nodes[4], *c2 = &s.nodes[5];
    ck_assert_int_eq(x->kind, OP_INPUT);
    ck_assert_int_eq(x->n_in, 0);
    ck_assert_int_eq(x->dtype, DT_FLOAT32);
    assert_shape(&x->out, 4, (int64_t[]){1, 3, 32, 32});
    ck_assert_int_eq(c1->kind, OP_CONV2D);
    ck_assert_int_eq(c1->kernel[0], 3);
    ck_assert_int_eq(c1->kernel[1], 3);
    ck_assert_int_eq(c1->padding[0], 1);
    ck_assert_int_eq(c1->padding[1], 1);
    ck_assert_int_eq(c1->stride[0], 1);
    ck_assert_int_eq(c1->groups, 1);
    ck_assert_int_eq(c1->n_in, 1);
    assert_shape(&s.in_shapes[c1->in_off], 4, (int64_t[]){1, 3, 32, 32});
    assert_shape(&c1->out, 4, (int64_t[]){1, 16, 32, 32});
    ck_assert_int_eq(r1->kind, OP_ACTIVATION);
    ck_assert_int_eq(r1->fn, FN_RELU);
    ck_assert_int_eq(p1->kind, OP_MAXPOOL2D);
    /* the integer form k means (k, k) */
    ck_assert_int_eq(p1->kernel[0], 2);
    ck_assert_int_eq(p1->kernel[1], 2);
    ck_assert_int_eq(p1->stride[0], 2);
    ck_assert_int_eq(p1->stride[1], 2);
    ck_assert_int_eq(p1->padding[0], 0);
    ck_assert_int_eq(c2->groups, 2);
    ck_assert_int_eq(c2->padding[1], 1);
    ck_assert_int_eq(c2->dilation[0], 1);
    ck_assert_int_eq(s.nodes[1].fn, FN_NONE);
    /* CSR */
    ck_assert_int_eq(s.pred_ptr[0], 0);
    ck_assert_int_eq(s.pred_ptr[1], 0);
    ck_assert_int_eq(s.pred_ptr[2] - s.pred_ptr[1], 1);
    ck_assert_int_eq(s.pred_idx[s.pred_ptr[5]], 4);
    ck_assert_int_eq(s.succ_idx[s.succ_ptr[0]], 1);
    ck_assert_int_eq(s.succ_ptr[12] - s.succ_ptr[11], 0);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_unordered_nodes_are_sorted)
{
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    read_ok(&s, DATA "good_unordered.json");
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    /* stable topological order: lowest file index first among ready nodes */
    static const char *names[] = {"x", "a", "b", "sum", "out", "sq"};
    ck_assert_int_eq(s.n_nodes, 6);
    for (int i = 0; i < 6; i++) ck_assert_str_eq(s.node_names[i], names[i]);
    ck_assert_int_eq(s.n_edges, 7);
    static const int32_t src[] = {0, 1, 2, 1, 3, 0, 0}, dst[] = {1, 2, 3, 3, 4, 5, 5};
    for (int e = 0; e < 7; e++) {
        ck_assert_int_eq(s.edge_src[e], src[e]);
        ck_assert_int_eq(s.edge_dst[e], dst[e]);
        ck_assert_int_lt(s.edge_src[e], s.edge_dst[e]);
    }
    /* producers follow argument order: sum(b, a) */
    int64_t sum = node_index(&s, 0, "sum");
    ck_assert_int_eq(s.pred_ptr[sum + 1] - s.pred_ptr[sum], 2);
    ck_assert_str_eq(s.node_names[s.pred_idx[s.pred_ptr[sum]]], "b");
    ck_assert_str_eq(s.node_names[s.pred_idx[s.pred_ptr[sum] + 1]], "a");
    /* x*x: a repeated input gives two edges and two input shapes */
    int64_t sq = node_index(&s, 0, "sq");
    ck_assert_int_eq(s.pred_ptr[sq + 1] - s.pred_ptr[sq], 2);
    ck_assert_int_eq(s.nodes[sq].n_in, 2);
    assert_shape(&s.in_shapes[s.nodes[sq].in_off + 1], 2, (int64_t[]){4, 16});
    ck_assert_int_eq(s.succ_ptr[1] - s.succ_ptr[0], 3); /* x feeds a, sq, sq */
    ck_assert_int_eq(s.nodes[0].dtype, DT_BFLOAT16);
    ck_assert_int_eq(s.nodes[node_index(&s, 0, "b")].fn, FN_GELU);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_json_lines)
{
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    read_ok(&s, DATA "good_multi.jsonl");
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.n_graphs, 3);
    ck_assert_str_eq(s.graph_names[0], "mlp_a");
    ck_assert_str_eq(s.graph_names[1], "single_matmul");
    ck_assert_str_eq(s.graph_names[2], "attn");
    ck_assert_int_eq(graph_nodes_in(&s, 0), 3);
    ck_assert_int_eq(graph_nodes_in(&s, 1), 1);
    ck_assert_int_eq(graph_nodes_in(&s, 2), 4);
    ck_assert_int_eq(graph_edges_in(&s, 2), 3);
    /* edges are local to their graph */
    ck_assert_int_eq(s.edge_src[s.edge_off[2]], 0);
    ck_assert_int_eq(s.edge_dst[s.edge_off[2]], 2);
    ck_assert_int_eq(s.nodes[2].fn, FN_SILU);
    /* a kernel measured alone: in_shapes without inputs */
    const graph_node *mm = &s.nodes[s.node_off[1]];
    ck_assert_int_eq(mm->kind, OP_MATMUL);
    ck_assert_int_eq(mm->dtype, DT_FLOAT16);
    ck_assert_int_eq(mm->n_in, 2);
    assert_shape(&s.in_shapes[mm->in_off], 2, (int64_t[]){64, 128});
    assert_shape(&s.in_shapes[mm->in_off + 1], 2, (int64_t[]){128, 256});
    ck_assert_int_eq(s.pred_ptr[s.node_off[1] + 1] - s.pred_ptr[s.node_off[1]], 0);
    /* global CSR ids */
    int64_t sn = node_index(&s, 2, "s");
    ck_assert_int_eq(s.pred_idx[s.pred_ptr[sn]], s.node_off[2]);
    ck_assert_int_eq(s.pred_idx[s.pred_ptr[sn] + 1], s.node_off[2] + 1);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_extra_in_shapes_and_meta)
{
    /* inputs plus one shape from outside the graph (a weight fed in), meta
     * of any shape ignored, integral numbers in any spelling */
    static const char text[] =
        "{\"meta\":[1,{\"a\":[[[null]]]},\"x\"],\"nodes\":["
        "{\"name\":\"w\",\"op\":\"input\",\"out_shape\":[1e1,2.0],\"meta\":{\"k\":true}},"
        "{\"name\":\"e\",\"op\":\"embedding\",\"inputs\":[\"w\"],\"in_shapes\":[[10,2],[5]],\"out_shape\":[5,2],"
        "\"dtype\":\"float64\"},"
        "{\"name\":\"s\",\"op\":\"other\",\"in_shapes\":[[]],\"out_shape\":[],\"attrs\":{}},"
        "{\"name\":\"r\",\"op\":\"activation\",\"inputs\":[\"e\"],\"out_shape\":[5,2],"
        "\"attrs\":{\"fn\":\"relu\",\"inplace\":true}},"
        "{\"name\":\"q\",\"op\":\"activation\",\"inputs\":[\"r\"],\"out_shape\":[5,2],"
        "\"attrs\":{\"fn\":\"relu\",\"inplace\":false}}],"
        "\"name\":\"emb\",\"version\":1,\"format\":\"gnnperf-graph\"}";
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    ck_assert_msg(graph_json_parse(&s, text, strlen(text), "mem", &err) == 0, "%s", err.msg);
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    assert_shape(&s.nodes[0].out, 2, (int64_t[]){10, 2});
    ck_assert_int_eq(s.nodes[1].n_in, 2);
    assert_shape(&s.in_shapes[s.nodes[1].in_off + 1], 1, (int64_t[]){5});
    ck_assert_int_eq(s.nodes[1].dtype, DT_FLOAT64);
    ck_assert_int_eq(s.nodes[2].out.rank, 0);
    ck_assert_int_eq(s.nodes[2].n_in, 1);
    ck_assert_int_eq(s.in_shapes[s.nodes[2].in_off].rank, 0);
    ck_assert_int_eq(s.n_edges, 3);
    ck_assert_int_eq(s.nodes[0].inplace + s.nodes[1].inplace + s.nodes[2].inplace, 0);
    ck_assert_int_eq(s.nodes[3].inplace, 1); /* in-place flag, explicit false */
    ck_assert_int_eq(s.nodes[4].inplace, 0);
    check_round_trip(&s);
    graph_set_free(&s);
}
END_TEST

START_TEST(test_not_nul_terminated)
{
    /* an exactly sized buffer: ASan catches any read past len */
    FILE *f = fopen(DATA "good_tiny_cnn.json", "rb");
    ck_assert_ptr_nonnull(f);
    char tmp[4096];
    size_t len = fread(tmp, 1, sizeof tmp, f);
    fclose(f);
    char *buf = malloc(len);
    memcpy(buf, tmp, len);
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    ck_assert_msg(graph_json_parse(&s, buf, len, "exact", &err) == 0, "%s", err.msg);
    ck_assert_int_eq(s.n_nodes, 12);
    graph_set_free(&s);
    /* and cut at every length: never a crash, never a success but the whole */
    for (size_t cut = 0; cut < len; cut++) {
        char *part = malloc(cut ? cut : 1);
        memcpy(part, tmp, cut);
        graph_set_init(&s);
        int rc = graph_json_parse(&s, part, cut, "cut", &err);
        /* only trailing whitespace may go */
        if (rc == 0) ck_assert_int_ge(cut, len - 1);
        graph_set_free(&s);
        free(part);
    }
    free(buf);
}
END_TEST

START_TEST(test_round_trip)
{
    static const char *files[] = {DATA "good_tiny_cnn.json", DATA "good_unordered.json", DATA "good_multi.jsonl"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        graph_set s;
        graph_set_init(&s);
        gp_error err;
        read_ok(&s, files[k]);
        ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
        check_round_trip(&s);

        /* pretty, one graph at a time */
        for (int64_t g = 0; g < s.n_graphs; g++) {
            char *buf = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&buf, &len);
            ck_assert_msg(graph_json_write(f, &s, g, 1, &err) == 0, "%s", err.msg);
            fclose(f);
            ck_assert_ptr_nonnull(strchr(buf, '\n'));
            graph_set b;
            graph_set_init(&b);
            ck_assert_msg(graph_json_parse(&b, buf, len, "pretty", &err) == 0, "%s\n%s", err.msg, buf);
            char *x = dump(&b);
            /* the compact dump of graph g alone */
            char *y = NULL;
            size_t ylen = 0;
            FILE *fy = open_memstream(&y, &ylen);
            graph_json_write(fy, &s, g, 0, &err);
            fclose(fy);
            ck_assert_str_eq(x, y);
            free(x);
            free(y);
            free(buf);
            graph_set_free(&b);
        }
        graph_set_free(&s);
    }
}
END_TEST

START_TEST(test_writer_output)
{
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    read_ok(&s, DATA "good_multi.jsonl");
    char *all = dump(&s);
    /* in_shapes only where producers do not imply them */
    const char *mlp = strstr(all, "\"mlp_a\"");
    const char *mm = strstr(all, "\"single_matmul\"");
    ck_assert_ptr_nonnull(mlp);
    ck_assert_ptr_nonnull(mm);
    char *nl = strchr(mlp, '\n');
    ck_assert_ptr_null(memmem(mlp, (size_t)(nl - mlp), "in_shapes", 9));
    ck_assert_ptr_nonnull(strstr(mm, "\"in_shapes\":[[64,128],[128,256]]"));
    ck_assert_ptr_nonnull(strstr(all, "{\"name\":\"act\",\"op\":\"activation\",\"inputs\":[\"fc\"],\"out_shape\":[8,64],"
                                      "\"attrs\":{\"fn\":\"silu\"}}"));
    ck_assert_ptr_nonnull(strstr(mm, "\"dtype\":\"float16\""));
    /* one line per graph */
    int lines = 0;
    for (const char *p = all; *p; p++) lines += *p == '\n';
    ck_assert_int_eq(lines, 3);
    free(all);

    /* names needing escapes survive */
    static const char text[] = "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"q\\\"uo\\\\te/\\u00e9\",\"nodes\":["
                               "{\"name\":\"a\\\"b\",\"op\":\"input\",\"out_shape\":[1]}]}";
    graph_set t;
    graph_set_init(&t);
    ck_assert_msg(graph_json_parse(&t, text, strlen(text), "esc", &err) == 0, "%s", err.msg);
    ck_assert_str_eq(t.graph_names[0], "q\"uo\\te/\xc3\xa9");
    ck_assert_msg(graph_set_finish(&t, &err) == 0, "%s", err.msg);
    check_round_trip(&t);
    graph_set_free(&t);

    /* graph index outside the set */
    FILE *f = fopen("/dev/null", "w");
    ck_assert_int_eq(graph_json_write(f, &s, 3, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "outside"));
    ck_assert_int_eq(graph_json_write(f, &s, -1, 0, &err), -1);
    fclose(f);
    graph_set_free(&s);
}
END_TEST

/* Sets the builder accepts but the format cannot express are refused by
 * the writer rather than written into something that reads back different. */
START_TEST(test_writer_refuses_inexpressible)
{
    gp_error err;
    graph_node n;
    tensor_shape t = {1, {4}}, u = {1, {5}};
    FILE *f = fopen("/dev/null", "w");

    graph_set s;
    graph_set_init(&s);
    ck_assert_int_eq(graph_set_begin_graph(&s, "g", &err), 0);
    graph_node_defaults(&n);
    n.kind = OP_INPUT;
    n.out = t;
    ck_assert_int_eq(graph_set_add_node(&s, "x", &n, NULL, 0, &err), 0);
    n.kind = OP_ADD;
    ck_assert_int_eq(graph_set_add_node(&s, "y", &n, NULL, 0, &err), 1); /* edge but no input shape */
    ck_assert_int_eq(graph_set_add_edge(&s, 0, 1, &err), 0);
    ck_assert_int_eq(graph_set_end_graph(&s, &err), 0);
    ck_assert_int_eq(graph_json_write(f, &s, 0, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "0 input shapes recorded for 1 producers"));
    graph_set_free(&s);

    graph_set_init(&s);
    ck_assert_int_eq(graph_set_begin_graph(&s, "g", &err), 0);
    n.kind = OP_INPUT;
    ck_assert_int_eq(graph_set_add_node(&s, "x", &n, NULL, 0, &err), 0);
    n.kind = OP_ADD;
    ck_assert_int_eq(graph_set_add_node(&s, "y", &n, &u, 1, &err), 1); /* shape differs from producer */
    ck_assert_int_eq(graph_set_add_edge(&s, 0, 1, &err), 0);
    ck_assert_int_eq(graph_set_end_graph(&s, &err), 0);
    ck_assert_int_eq(graph_json_write(f, &s, 0, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "in_shapes[0] differs from the out_shape of its producer 'x'"));
    graph_set_free(&s);

    graph_set_init(&s);
    ck_assert_int_eq(graph_set_begin_graph(&s, "g", &err), 0);
    ck_assert_int_eq(graph_set_add_node(&s, "line\nbreak", &n, NULL, 0, &err), 0);
    ck_assert_int_eq(graph_set_end_graph(&s, &err), 0);
    ck_assert_int_eq(graph_json_write(f, &s, 0, 0, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "control character 0x0a"));
    graph_set_free(&s);
    fclose(f);
}
END_TEST

START_TEST(test_write_file)
{
    char dir[] = "/tmp/gp_json_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char one[64], many[64];
    snprintf(one, sizeof one, "%s/one.json", dir);
    snprintf(many, sizeof many, "%s/many.jsonl", dir);
    gp_error err;
    graph_set s, t;
    graph_set_init(&s);
    read_ok(&s, DATA "good_tiny_cnn.json");
    ck_assert_msg(graph_json_write_file(&s, one, 1, &err) == 0, "%s", err.msg);
    graph_set_init(&t);
    read_ok(&t, one);
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    ck_assert_msg(graph_set_finish(&t, &err) == 0, "%s", err.msg);
    assert_sets_equal(&s, &t);
    graph_set_free(&t);

    read_ok(&s, DATA "good_multi.jsonl");
    ck_assert_msg(graph_json_write_file(&s, many, 1, &err) == 0, "%s", err.msg);
    graph_set_init(&t);
    read_ok(&t, many);
    assert_sets_equal(&s, &t);
    graph_set_free(&t);
    graph_set_free(&s);

    /* nothing to write: refused, no file left */
    char none[64];
    snprintf(none, sizeof none, "%s/none.json", dir);
    graph_set_init(&s);
    ck_assert_int_eq(graph_json_write_file(&s, none, 0, &err), -1);
    ck_assert_int_ne(access(none, F_OK), 0);
    graph_set_free(&s);
    unlink(one);
    unlink(many);
    rmdir(dir);
}
END_TEST

START_TEST(test_append_all_or_nothing)
{
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    read_ok(&s, DATA "good_tiny_cnn.json");
    /* a finished set gets more graphs; its stale CSR is dropped */
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(s.pred_ptr);
    read_ok(&s, DATA "good_multi.jsonl");
    ck_assert_ptr_null(s.pred_ptr);
    ck_assert_int_eq(s.n_graphs, 4);
    ck_assert_int_eq(s.node_off[1], 12);
    ck_assert_str_eq(s.graph_names[3], "attn");
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    graph_set ref;
    graph_set_init(&ref);
    read_ok(&ref, DATA "good_tiny_cnn.json");
    read_ok(&ref, DATA "good_multi.jsonl");
    ck_assert_msg(graph_set_finish(&ref, &err) == 0, "%s", err.msg);
    assert_sets_equal(&s, &ref);
    graph_set_free(&ref);

    /* the same graphs again: refused as a whole */
    char *before = dump(&s);
    ck_assert_int_eq(graph_json_read_file(&s, DATA "good_multi.jsonl", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "good_multi.jsonl:line 1: name: a graph named 'mlp_a' is already in the set"));
    char *after = dump(&s);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(s.n_graphs, 4);
    free(before);
    free(after);

    /* a set with an open graph is not touched */
    ck_assert_int_eq(graph_set_begin_graph(&s, "open", &err), 0);
    ck_assert_int_eq(graph_json_read_file(&s, DATA "good_unordered.json", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "open graph"));
    ck_assert_int_eq(s.n_graphs, 4);
    graph_node n;
    graph_node_defaults(&n);
    ck_assert_int_eq(graph_set_add_node(&s, "x", &n, NULL, 0, &err), 0);
    ck_assert_int_eq(graph_set_end_graph(&s, &err), 0);
    graph_set_free(&s);
}
END_TEST

/* 1,000 graphs of 200 nodes in JSON Lines, well under the 5 s budget (about
 * 1 s at -O2). AddressSanitizer makes every malloc several times dearer,
 * so its builds get a looser bound that still catches anything quadratic. */
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define SPEED_BUDGET_S 30.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define SPEED_BUDGET_S 30.0
#endif
#endif
#ifndef SPEED_BUDGET_S
#define SPEED_BUDGET_S 5.0
#endif
START_TEST(test_speed)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (int g = 0; g < 1000; g++) {
        fprintf(f, "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"net%d\",\"nodes\":[", g);
        for (int i = 0; i < 200; i++) {
            if (i == 0) {
                fprintf(f, "{\"name\":\"n0\",\"op\":\"input\",\"out_shape\":[8,64,28,28]}");
            } else if (i % 7 == 0 && i >= 7) {
                fprintf(f, ",{\"name\":\"n%d\",\"op\":\"add\",\"inputs\":[\"n%d\",\"n%d\"],\"out_shape\":[8,64,28,28]}", i,
                        i - 1, i - 7);
            } else {
                fprintf(f,
                        ",{\"name\":\"n%d\",\"op\":\"conv2d\",\"inputs\":[\"n%d\"],\"attrs\":{\"kernel\":3,\"padding\":[1,"
                        "1],\"groups\":%d},\"out_shape\":[8,64,28,28],\"meta\":{\"torch\":\"aten::conv2d\"}}",
                        i, i - 1, 1 + i % 2);
            }
        }
        fprintf(f, "]}\n");
    }
    fclose(f);
    struct timespec t0, t1;
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_msg(graph_json_parse(&s, buf, len, "big.jsonl", &err) == 0, "%s", err.msg);
    ck_assert_msg(graph_set_finish(&s, &err) == 0, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "test_speed: %zu bytes, 200000 nodes parsed in %.3f s\n", len, sec);
    ck_assert_int_eq(s.n_graphs, 1000);
    ck_assert_int_eq(s.n_nodes, 200000);
    ck_assert_int_eq(s.n_edges, 1000 * (199 + 28));
    ck_assert_msg(sec < SPEED_BUDGET_S, "parse took %.2f s", sec);
    check_round_trip(&s);
    graph_set_free(&s);
    free(buf);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Hostile input                                                            */
/* ------------------------------------------------------------------------ */

#define HEAD "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"g\",\"nodes\":["
#define X "{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[1,4,8,8]}"
/* a graph of node x and the node under test, nodes[1], named y */
#define G1(...) HEAD X ",{\"name\":\"y\"," __VA_ARGS__ "}]}"
#define TOP(...) "{" __VA_ARGS__ "}"
#define NODES "\"nodes\":[" X "]"

typedef struct bad_case {
    const char *text;
    size_t len; /* 0: strlen */
    const char *expect;
} bad_case;

static const bad_case BAD[] = {
    /* top level */
    {"[]", 0, "mem.json: top level: expected an object, found an array"},
    {"42", 0, "top level: expected an object, found the number 42"},
    {"\"gnnperf-graph\"", 0, "top level: expected an object, found the string 'gnnperf-graph'"},
    {TOP("\"version\":1,\"name\":\"g\"," NODES), 0, "mem.json: missing required key \"format\""},
    {TOP("\"format\":3,\"version\":1,\"name\":\"g\"," NODES), 0, "format: expected \"gnnperf-graph\", found the number 3"},
    {TOP("\"format\":\"onnx\",\"version\":1,\"name\":\"g\"," NODES), 0, "format: expected \"gnnperf-graph\", found the string 'onnx'"},
    {TOP("\"format\":\"gnnperf-graph\",\"name\":\"g\"," NODES), 0, "missing required key \"version\""},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":\"1\",\"name\":\"g\"," NODES), 0, "version: expected an integer, found the string '1'"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1.5,\"name\":\"g\"," NODES), 0, "version: expected an integer, found the number 1.5"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":2,\"name\":\"g\"," NODES), 0, "version: unsupported version 2"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":true,\"name\":\"g\"," NODES), 0, "version: expected an integer, found true"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1," NODES), 0, "missing required key \"name\""},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":7," NODES), 0, "name: expected a string, found the number 7"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"\"," NODES), 0, "name: '' must not be empty"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"a\\nb\"," NODES), 0, "name: 'a\\x0ab' contains the control character 0x0a"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"g\""), 0, "missing required key \"nodes\""},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"g\",\"nodes\":{}"), 0, "nodes: expected an array of node objects, found an object"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"g\",\"nodes\":null"), 0, "nodes: expected an array of node objects, found null"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"g\",\"nodes\":[]"), 0, "nodes: empty; a graph needs at least one node"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"g\",\"node\":[]"), 0, "unknown key 'node' (expected one of: format, version, name, nodes, meta)"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"Name\":\"g\"," NODES), 0, "unknown key 'Name'"},
    {TOP("\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"g\",\"name\":\"h\"," NODES), 0, "duplicate key 'name'"},
    /* nodes */
    {HEAD X ",5]}", 0, "nodes[1]: expected an object, found the number 5"},
    {HEAD X ",{\"op\":\"input\",\"out_shape\":[1]}]}", 0, "nodes[1]: missing required key \"name\""},
    {G1("\"name\":null"), 0, "nodes[1]: duplicate key 'name'"},
    {HEAD X ",{\"name\":null,\"op\":\"input\",\"out_shape\":[1]}]}", 0, "nodes[1].name: expected a string, found null"},
    {HEAD X ",{\"name\":\"\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "nodes[1].name: '' must not be empty"},
    {HEAD X ",{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "nodes[1].name: duplicate node name 'x' (also nodes[0])"},
    {G1("\"out_shape\":[1]"), 0, "nodes[1] ('y'): missing required key \"op\""},
    {G1("\"op\":[\"conv2d\"],\"out_shape\":[1]"), 0, "nodes[1].op: expected a string, found an array"},
    {G1("\"op\":\"conv3d\",\"out_shape\":[1]"), 0, "nodes[1].op: unknown op 'conv3d' (expected one of: input, output, conv2d, dwconv2d,"},
    {G1("\"op\":\"Conv2d\",\"out_shape\":[1]"), 0, "unknown op 'Conv2d'"},
    {G1("\"op\":\"view\""), 0, "nodes[1] ('y'): missing required key \"out_shape\""},
    {G1("\"op\":\"view\",\"out_shape\":\"1,2\""), 0, "nodes[1].out_shape: expected a shape (an array of integers), found the string '1,2'"},
    {G1("\"op\":\"view\",\"out_shape\":3"), 0, "nodes[1].out_shape: expected a shape (an array of integers), found the number 3"},
    {G1("\"op\":\"view\",\"out_shape\":[1,3.5]"), 0, "nodes[1].out_shape[1]: expected an integer, found the number 3.5"},
    {G1("\"op\":\"view\",\"out_shape\":[1e400]"), 0, "nodes[1].out_shape[0]: expected an integer, found a number too large to represent"},
    {G1("\"op\":\"view\",\"out_shape\":[\"3\"]"), 0, "nodes[1].out_shape[0]: expected an integer, found the string '3'"},
    {G1("\"op\":\"view\",\"out_shape\":[true]"), 0, "nodes[1].out_shape[0]: expected an integer, found true"},
    {G1("\"op\":\"view\",\"out_shape\":[null]"), 0, "nodes[1].out_shape[0]: expected an integer, found null"},
    {G1("\"op\":\"view\",\"out_shape\":[[1]]"), 0, "nodes[1].out_shape[0]: expected an integer, found an array"},
    {G1("\"op\":\"view\",\"out_shape\":[1,-1]"), 0, "nodes[1].out_shape[1]: must be in [0, 2147483648], found -1"},
    {G1("\"op\":\"view\",\"out_shape\":[2147483649]"), 0, "nodes[1].out_shape[0]: must be in [0, 2147483648], found 2147483649"},
    {G1("\"op\":\"view\",\"out_shape\":[1,2,3,4,5,6,7]"), 0, "nodes[1].out_shape: rank 7 exceeds the limit of 6"},
    {G1("\"op\":\"view\",\"out_shape\":[65536,65536,65536]"), 0, "nodes[1].out_shape: more than 17592186044416 (2^44) elements"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"dtype\":4"), 0, "nodes[1].dtype: expected a string, found the number 4"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"dtype\":\"float8\""), 0, "nodes[1].dtype: unknown dtype 'float8' (expected one of: float32, float16,"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"inputs\":\"x\""), 0, "nodes[1].inputs: expected an array of node names, found the string 'x'"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"inputs\":[0]"), 0, "nodes[1].inputs[0]: expected a node name (a string), found the number 0"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"inputs\":[\"x\",\"nope\"]"), 0, "nodes[1].inputs[1]: no node named 'nope' in graph 'g'"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"in_shapes\":1"), 0, "nodes[1].in_shapes: expected an array of shapes, found the number 1"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"in_shapes\":[\"a\"]"), 0, "nodes[1].in_shapes[0]: expected a shape (an array of integers), found the string 'a'"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"in_shapes\":[[1],[1,4,8,8.5]]"), 0, "nodes[1].in_shapes[1][3]: expected an integer, found the number 8.5"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"inputs\":[\"x\"],\"in_shapes\":[[1,4,8,9]]"), 0,
     "nodes[1].in_shapes[0]: [1, 4, 8, 9] differs from [1, 4, 8, 8], the out_shape of its input 'x' (nodes[0])"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"inputs\":[\"x\"],\"in_shapes\":[[1,4,8]]"), 0, "nodes[1].in_shapes[0]: [1, 4, 8] differs from [1, 4, 8, 8]"},
    {G1("\"op\":\"add\",\"out_shape\":[1],\"inputs\":[\"x\",\"x\"],\"in_shapes\":[[1,4,8,8]]"), 0, "nodes[1].in_shapes: 1 shapes for 2 inputs"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"attrs\":[]"), 0, "nodes[1].attrs: expected an object, found an array"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"attrs\":{\"strides\":2}"), 0, "nodes[1].attrs: unknown key 'strides' (expected one of: kernel, stride, padding, dilation, groups, fn, inplace)"},
    {G1("\"op\":\"activation\",\"out_shape\":[1],\"attrs\":{\"fn\":\"relu\",\"inplace\":1}"), 0, "nodes[1].attrs.inplace: expected true or false, found the number 1"},
    {G1("\"op\":\"activation\",\"out_shape\":[1],\"attrs\":{\"fn\":\"relu\",\"inplace\":\"yes\"}"), 0, "nodes[1].attrs.inplace: expected true or false, found the string 'yes'"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"attrs\":{\"stride\":2,\"stride\":2}"), 0, "nodes[1].attrs: duplicate key 'stride'"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"kernel\":\"3\"}"), 0, "nodes[1].attrs.kernel: expected an integer or 2 integers, found the string '3'"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"stride\":[1,2,3]}"), 0, "nodes[1].attrs.stride: expected an integer or 2 integers, found an array of 3"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"stride\":[]}"), 0, "nodes[1].attrs.stride: expected an integer or 2 integers, found an array of 0"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"padding\":true}"), 0, "nodes[1].attrs.padding: expected an integer or 2 integers, found true"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"dilation\":[1,1.5]}"), 0, "nodes[1].attrs.dilation[1]: expected an integer, found the number 1.5"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"stride\":0}"), 0, "nodes[1].attrs.stride: must be in [1, 2147483647], found 0"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"stride\":1.5}"), 0, "nodes[1].attrs.stride: expected an integer, found the number 1.5"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"padding\":[0,-1]}"), 0, "nodes[1].attrs.padding[1]: must be in [0, 2147483647], found -1"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"kernel\":2147483648}"), 0, "nodes[1].attrs.kernel: must be in [1, 2147483647], found 2147483648"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"kernel\":[0,3]}"), 0, "nodes[1].attrs.kernel[0]: must be in [1, 2147483647], found 0"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"groups\":2.5}"), 0, "nodes[1].attrs.groups: expected an integer, found the number 2.5"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"groups\":[2,2]}"), 0, "nodes[1].attrs.groups: expected an integer, found an array"},
    {G1("\"op\":\"conv2d\",\"out_shape\":[1,4,8,8],\"attrs\":{\"groups\":0}"), 0, "nodes[1].attrs.groups: must be in [1, 2147483647], found 0"},
    {G1("\"op\":\"conv2d\",\"inputs\":[\"x\"],\"out_shape\":[1,6,8,8],\"attrs\":{\"groups\":3}"), 0,
     "nodes[1].attrs.groups: 3 does not divide both the input channels (4) and the output channels (6)"},
    {G1("\"op\":\"conv2d\",\"in_shapes\":[[4]],\"out_shape\":[1,6,8,8]"), 0, "nodes[1] ('y'): a convolution needs (N, C, ...) shapes"},
    {G1("\"op\":\"activation\",\"out_shape\":[1],\"attrs\":{\"fn\":1}"), 0, "nodes[1].attrs.fn: expected a string, found the number 1"},
    {G1("\"op\":\"activation\",\"out_shape\":[1],\"attrs\":{\"fn\":\"swish\"}"), 0, "nodes[1].attrs.fn: unknown fn 'swish' (expected one of: none, relu, relu6,"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"input\":[\"x\"]"), 0, "nodes[1]: unknown key 'input' (expected one of: name, op, inputs, in_shapes, out_shape, dtype, attrs, meta)"},
    {G1("\"op\":\"view\",\"op\":\"view\",\"out_shape\":[1]"), 0, "nodes[1]: duplicate key 'op'"},
    {G1("\"op\":\"view\",\"out_shape\":[1],\"inputs\":[\"y\"]"), 0, "nodes[1] ('y'): part of a cycle: y -> y"},
    {HEAD "{\"name\":\"a\",\"op\":\"add\",\"inputs\":[\"b\"],\"out_shape\":[1]},"
          "{\"name\":\"b\",\"op\":\"add\",\"inputs\":[\"a\"],\"out_shape\":[1]}]}",
     0, "nodes[0] ('a'): part of a cycle: a -> b -> a"},
    /* lexical: what cJSON alone would let through */
    {HEAD "{\"name\":\"x\0y\",\"op\":\"input\",\"out_shape\":[1]}]}",
     sizeof(HEAD "{\"name\":\"x\0y\",\"op\":\"input\",\"out_shape\":[1]}]}") - 1, "NUL byte at line 1, column 69"},
    {HEAD X "]}\0", sizeof(HEAD X "]}\0") - 1, "NUL byte at line 1, column"},
    {HEAD "{\"name\":\"x\\u0000y\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "\\u0000 (NUL) escape at line 1, column 69"},
    {HEAD "{\"name\":\"x\\uZZZZ\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "invalid \\u escape"},
    {HEAD "{\"name\":\"x\\ud800\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "syntax error at line 1"},
    {HEAD "{\"name\":\"x\\q\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "invalid escape '\\q' at line 1"},
    {HEAD "{\"name\":\"x\ty\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "control character 0x09 inside a string"},
    {HEAD "{\"name\":\"x\n\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "control character 0x0a inside a string (unterminated string?) at line 1"},
    {HEAD X "]}\f", 0, "control character 0x0c at line 1"},
    {HEAD "{\"name\":\"\xff\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "invalid UTF-8 at line 1, column 68"},
    {HEAD "{\"name\":\"\xc0\xaf\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "invalid UTF-8"},
    {HEAD "{\"name\":\"\xed\xa0\x80\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "invalid UTF-8"},
    {HEAD "{\"name\":\"\xe2\x82\",\"op\":\"input\",\"out_shape\":[1]}]}", 0, "invalid UTF-8"},
    {HEAD X "]", 0, "syntax error at line 1, column"},
    {HEAD X, 0, "(the text ends inside a string, array or object: truncated?)"},
    {"{\"format\": \"gnnp", 0, "truncated?"},
    {HEAD X "]}}", 0, "mem.json:line 1: unexpected text at column 108 after the JSON document"},
    {HEAD X "]} x", 0, "mem.json:line 1: unexpected text at column"},
    {HEAD X "]}\n" HEAD X "]}", 0, "mem.json:line 2: name: duplicate graph name 'g' (also on line 1)"},
    {HEAD X "]}\n[1]\n", 0, "mem.json:line 2: top level: expected an object, found an array"},
    {HEAD X "]}\n\n" HEAD, 0, "mem.json:line 3: syntax error at column 58 (the line ends inside a string, array or object: truncated?)"},
    {HEAD X "]}\n{\"a\":1]\n", 0, "mem.json:line 2: syntax error at column 7"},
    {"{\n\"format\": \"gnnperf-graph\"}\n{}\n", 0, "unexpected text at line 3, column 1 after the JSON document that ends on line 2"},
    {"{\"a\":NaN}", 0, "syntax error at line 1, column"},
    {"{\"a\":Infinity}", 0, "syntax error at line 1, column"},
    {"{'a':1}", 0, "syntax error at line 1, column"},
    {"\xef\xbb\xbf", 0, "syntax error"},
    {"   \n\t \r\n", 0, "mem.json: empty file: no JSON document"},
    {"", 0, "mem.json: empty file"},
};

START_TEST(test_bad_text)
{
    const bad_case *c = &BAD[_i];
    size_t len = c->len ? c->len : strlen(c->text);
    check_parse_fails(c->text, len, c->expect);
}
END_TEST

/* Long names: GRAPH_MAX_NAME - 1 bytes pass, GRAPH_MAX_NAME bytes fail. */
START_TEST(test_name_lengths)
{
    char name[GRAPH_MAX_NAME + 1], text[1024];
    memset(name, 'n', sizeof name);
    gp_error err;
    for (int len = GRAPH_MAX_NAME - 1; len <= GRAPH_MAX_NAME; len++) {
        name[len] = '\0';
        snprintf(text, sizeof text, HEAD "{\"name\":\"%s\",\"op\":\"input\",\"out_shape\":[1]}]}", name);
        graph_set s;
        graph_set_init(&s);
        int rc = graph_json_parse(&s, text, strlen(text), "mem.json", &err);
        graph_set_free(&s);
        if (len < GRAPH_MAX_NAME) {
            ck_assert_msg(rc == 0, "%s", err.msg);
        } else {
            ck_assert_int_eq(rc, -1);
            check_parse_fails(text, strlen(text), "nodes[0].name: 'nnnn");
            check_parse_fails(text, strlen(text), "...' is 256 bytes long, the limit is 255");
        }
        snprintf(text, sizeof text,
                 "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"%s\",\"nodes\":[" X "]}", name);
        graph_set_init(&s);
        rc = graph_json_parse(&s, text, strlen(text), "mem.json", &err);
        graph_set_free(&s);
        if (len < GRAPH_MAX_NAME) ck_assert_msg(rc == 0, "%s", err.msg);
        else check_parse_fails(text, strlen(text), "name: 'nnnn");
        name[len] = 'n';
    }
}
END_TEST

/* Deep nesting: refused by the prescan long before cJSON's recursion, in a
 * single document and on a later JSON Lines line; shallower meta is fine. */
START_TEST(test_deep_nesting)
{
    size_t depth = 1000000;
    static const char head[] = "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"deep\",\"nodes\":[" X "],\"meta\":";
    size_t hl = sizeof head - 1;
    char *text = malloc(hl + 2 * depth + 2);
    ck_assert_ptr_nonnull(text);
    memcpy(text, head, hl);
    memset(text + hl, '[', depth);
    memset(text + hl + depth, ']', depth);
    memcpy(text + hl + 2 * depth, "}", 2);
    check_parse_fails(text, strlen(text), "nesting deeper than 128 levels at line 1, column");
    /* only openings, no closings: a hostile truncated file */
    check_parse_fails(text, hl + depth, "nesting deeper than 128 levels");

    /* within the limit */
    size_t ok = 100;
    memset(text + hl, '[', ok);
    memset(text + hl + ok, ']', ok);
    memcpy(text + hl + 2 * ok, "}", 2);
    graph_set s;
    graph_set_init(&s);
    gp_error err;
    ck_assert_msg(graph_json_parse(&s, text, strlen(text), "mem.json", &err) == 0, "%s", err.msg);
    graph_set_free(&s);
    free(text);

    /* JSON Lines: the third line is deep */
    char *jl = malloc(4096 + depth);
    ck_assert_ptr_nonnull(jl);
    int n = snprintf(jl, 4096, "%s", HEAD X "]}\n\n{\"meta\":");
    memset(jl + n, '{', depth);
    jl[n + depth] = '\0';
    check_parse_fails(jl, strlen(jl), "nesting deeper than 128 levels at line 3, column");
    free(jl);
}
END_TEST

START_TEST(test_bad_files)
{
    check_file_fails(DATA "does_not_exist.json", "does_not_exist.json: cannot open: No such file or directory");
    check_file_fails(DATA, "is a directory");
    check_file_fails(DATA "empty.json", "empty.json: empty file");
    check_file_fails(DATA "blank.json", "blank.json: empty file");
    check_file_fails(DATA "truncated.json", "truncated.json: syntax error at line 9, column 1 (the text ends inside a string, array or object: truncated?)");
    check_file_fails(DATA "nul_byte.json", "nul_byte.json: NUL byte at line 2, column 23");
    check_file_fails(DATA "bad_syntax.json", "bad_syntax.json: syntax error at line 6, column 33");
    check_file_fails(DATA "not_object.json", "not_object.json: top level: expected an object, found an array");
    check_file_fails(DATA "bad_utf8.json", "bad_utf8.json: invalid UTF-8 at line 1, column 55");
    check_file_fails(DATA "bad_cycle.json", "bad_cycle.json: nodes[1] ('a'): part of a cycle: a -> b -> c -> a");
    check_file_fails(DATA "bad_stride.json",
                     "bad_stride.json: nodes[1].attrs.stride: expected an integer or 2 integers, found the string '2'");
    check_file_fails(DATA "bad_unknown_input.jsonl",
                     "bad_unknown_input.jsonl:line 4: nodes[2].inputs[0]: no node named 'conv9' in graph 'resnet18'");
}
END_TEST

static Suite *graph_json_suite(void)
{
    Suite *s = suite_create("graph_json");
    TCase *good = tcase_create("good");
    tcase_set_timeout(good, 120);
    tcase_add_test(good, test_tiny_cnn);
    tcase_add_test(good, test_unordered_nodes_are_sorted);
    tcase_add_test(good, test_json_lines);
    tcase_add_test(good, test_extra_in_shapes_and_meta);
    tcase_add_test(good, test_not_nul_terminated);
    tcase_add_test(good, test_round_trip);
    tcase_add_test(good, test_writer_output);
    tcase_add_test(good, test_writer_refuses_inexpressible);
    tcase_add_test(good, test_write_file);
    tcase_add_test(good, test_append_all_or_nothing);
    tcase_add_test(good, test_speed);
    suite_add_tcase(s, good);

    TCase *bad = tcase_create("hostile");
    tcase_set_timeout(bad, 120);
    tcase_add_loop_test(bad, test_bad_text, 0, (int)(sizeof BAD / sizeof BAD[0]));
    tcase_add_test(bad, test_name_lengths);
    tcase_add_test(bad, test_deep_nesting);
    tcase_add_test(bad, test_bad_files);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(graph_json_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
