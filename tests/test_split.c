/* Splits: random, by index ranges and from a graph,part file. Every graph in
 * at most one part, the same seed the same split, and every malformed range
 * or file refused with the part, file, line and problem named. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/split.h"
#include "tmpfiles.h"
#include "check_run.h"

/* Graphs g0 .. g(n-1), one input node each. */
static void make_dataset(dataset *d, int n)
{
    gp_error err;
    dataset_init(d);
    graph_node node;
    graph_node_defaults(&node);
    node.kind = OP_INPUT;
    node.out = (tensor_shape){2, {1, 8}};
    for (int g = 0; g < n; g++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", g);
        ck_assert_int_eq(graph_set_begin_graph(&d->graphs, name, &err), 0);
        ck_assert_int_eq(graph_set_add_node(&d->graphs, "x", &node, NULL, 0, &err), 0);
        ck_assert_int_eq(graph_set_end_graph(&d->graphs, &err), 0);
    }
    ck_assert_int_eq(graph_set_finish(&d->graphs, &err), 0);
}

/* Each part increasing, and no graph in two parts. */
static void check_disjoint(const split *s, int64_t n_graphs)
{
    int8_t *seen = calloc((size_t)n_graphs, 1);
    ck_assert_ptr_nonnull(seen);
    for (int p = 0; p < PART_COUNT; p++)
        for (int64_t k = 0; k < s->n[p]; k++) {
            int64_t g = s->ids[p][k];
            ck_assert(g >= 0 && g < n_graphs);
            ck_assert(!seen[g]);
            seen[g] = 1;
            if (k) ck_assert(s->ids[p][k - 1] < g);
        }
    free(seen);
}

START_TEST(test_random_split)
{
    split a, b, c;
    gp_error err;
    ck_assert_int_eq(split_random(&a, 1000, 0.1, 0.2, 7, &err), 0);
    ck_assert_int_eq(a.n[PART_VAL], 100);
    ck_assert_int_eq(a.n[PART_TEST], 200);
    ck_assert_int_eq(a.n[PART_TRAIN], 700);
    check_disjoint(&a, 1000);
    ck_assert_int_eq(split_random(&b, 1000, 0.1, 0.2, 7, &err), 0);
    for (int p = 0; p < PART_COUNT; p++)
        ck_assert_mem_eq(a.ids[p], b.ids[p], (size_t)a.n[p] * sizeof(int64_t));
    ck_assert_int_eq(split_random(&c, 1000, 0.1, 0.2, 8, &err), 0);
    ck_assert(memcmp(a.ids[PART_TEST], c.ids[PART_TEST], (size_t)a.n[PART_TEST] * sizeof(int64_t)) != 0);
    split_free(&a);
    split_free(&b);
    split_free(&c);
    /* A small dataset still gets one graph in each part asked for. */
    ck_assert_int_eq(split_random(&a, 5, 0.05, 0.05, 1, &err), 0);
    ck_assert(a.n[PART_VAL] == 1 && a.n[PART_TEST] == 1 && a.n[PART_TRAIN] == 3);
    split_free(&a);
    ck_assert_int_eq(split_random(&a, 10, 0.6, 0.5, 1, &err), -1);
    ck_assert(strstr(err.msg, "must be >= 0 and sum below 1"));
    ck_assert_int_eq(split_random(&a, 0, 0.1, 0.1, 1, &err), -1);
    ck_assert(strstr(err.msg, "no graphs"));
}
END_TEST

START_TEST(test_range_split)
{
    split s;
    gp_error err;
    ck_assert_int_eq(split_ranges(&s, 20, "0-9,15", "10-12", "13-14,16-19", &err), 0);
    ck_assert_int_eq(s.n[PART_TRAIN], 11);
    ck_assert_int_eq(s.n[PART_VAL], 3);
    ck_assert_int_eq(s.n[PART_TEST], 6);
    ck_assert_int_eq(s.ids[PART_TRAIN][10], 15);
    check_disjoint(&s, 20);
    split_free(&s);
    /* Graphs named nowhere are unused; empty parts are fine. */
    ck_assert_int_eq(split_ranges(&s, 20, "0-4", NULL, "", &err), 0);
    ck_assert(s.n[PART_TRAIN] == 5 && s.n[PART_VAL] == 0 && s.n[PART_TEST] == 0);
    split_free(&s);
    static const struct {
        const char *train, *val, *test, *want;
    } bad[] = {
        {"0-9", "5-12", NULL, "graph 5 is in both train and val"},
        {"0-20", NULL, NULL, "train range 0-20 outside 0..19"},
        {"5-3", NULL, NULL, "train range 5-3 outside 0..19"},
        {"-1", NULL, NULL, "outside 0..19"},
        {"0-9", "x", NULL, "val range 'x': expected a number at 'x'"},
        {"0-9", NULL, "12-", "test range '12-': expected a number after '-'"},
        {"0-9;12", NULL, NULL, "train range '0-9;12': unexpected ';'"},
        {"99999999999999999999", NULL, NULL, "expected a number"},
        {NULL, "0-3", "4-5", "no training graphs"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        ck_assert_msg(split_ranges(&s, 20, bad[i].train, bad[i].val, bad[i].test, &err) == -1, "case %zu", i);
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
    }
}
END_TEST

START_TEST(test_file_split)
{
    dataset d;
    split s;
    gp_error err;
    make_dataset(&d, 6);
    const char *p = write_tmp("ok.csv", "graph,part\r\ng0,train\ng3,test\n\ng1,train\ng2,val\n", 0);
    ck_assert_int_eq(split_from_file(&s, &d, p, &err), 0);
    ck_assert(s.n[PART_TRAIN] == 2 && s.n[PART_VAL] == 1 && s.n[PART_TEST] == 1);
    ck_assert(s.ids[PART_TRAIN][0] == 0 && s.ids[PART_TRAIN][1] == 1 && s.ids[PART_TEST][0] == 3);
    split_free(&s);
    static const struct {
        const char *name, *text, *want;
    } bad[] = {
        {"header.csv", "graph,set\ng0,train\n", "header.csv:1: header must be 'graph,part'"},
        {"unknown.csv", "graph,part\ng0,train\nnope,test\n", "unknown.csv:3: no graph named 'nope' in the dataset"},
        {"twice.csv", "graph,part\ng0,train\ng0,test\n", "twice.csv:3: graph 'g0' already in train"},
        {"partname.csv", "graph,part\ng0,training\n", "partname.csv:2: part 'training' is not train, val or test"},
        {"fields.csv", "graph,part\ng0,train,extra\n", "fields.csv:2: expected 2 fields 'graph,part'"},
        {"notrain.csv", "graph,part\ng0,val\n", "no training graphs"},
        {"empty.csv", "", "empty.csv"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        const char *path = write_tmp(bad[i].name, bad[i].text, 0);
        ck_assert_msg(split_from_file(&s, &d, path, &err) == -1, "%s", bad[i].name);
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "%s: '%s' lacks '%s'", bad[i].name, err.msg, bad[i].want);
    }
    char missing[256];
    snprintf(missing, sizeof missing, "%s/missing.csv", tmpdir);
    ck_assert_int_eq(split_from_file(&s, &d, missing, &err), -1);
    ck_assert(strstr(err.msg, "missing.csv: cannot open"));
    dataset_free(&d);
}
END_TEST

static void setup(void)
{
    tmpdir_create("gp_split");
}

int main(void)
{
    Suite *s = suite_create("split");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, tmpdir_remove);
    tcase_add_test(tc, test_random_split);
    tcase_add_test(tc, test_range_split);
    tcase_add_test(tc, test_file_split);
    suite_add_tcase(s, tc);
    return check_run(s);
}
