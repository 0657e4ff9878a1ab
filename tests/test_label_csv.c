/* Label and device tables: the happy path and every rejection, each with the
 * line and column named, and the dataset unchanged after a failure. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/label_csv.h"
#include "tmpfiles.h"
#include "check_run.h"

/* Two graphs "a" (nodes x, y) and "b" (node x). */
static void make_dataset(dataset *d)
{
    gp_error err;
    dataset_init(d);
    graph_node n;
    graph_node_defaults(&n);
    n.kind = OP_INPUT;
    n.out = (tensor_shape){2, {1, 8}};
    ck_assert_int_eq(graph_set_begin_graph(&d->graphs, "a", &err), 0);
    ck_assert_int_eq(graph_set_add_node(&d->graphs, "x", &n, NULL, 0, &err), 0);
    n.kind = OP_ACTIVATION;
    n.fn = FN_RELU;
    ck_assert_int_eq(graph_set_add_node(&d->graphs, "y", &n, &n.out, 1, &err), 1);
    ck_assert_int_eq(graph_set_add_edge(&d->graphs, 0, 1, &err), 0);
    ck_assert_int_eq(graph_set_end_graph(&d->graphs, &err), 0);
    n.kind = OP_INPUT;
    n.fn = FN_NONE;
    ck_assert_int_eq(graph_set_begin_graph(&d->graphs, "b", &err), 0);
    ck_assert_int_eq(graph_set_add_node(&d->graphs, "x", &n, NULL, 0, &err), 0);
    ck_assert_int_eq(graph_set_end_graph(&d->graphs, &err), 0);
    ck_assert_int_eq(graph_set_finish(&d->graphs, &err), 0);
}

START_TEST(test_labels_happy)
{
    dataset d;
    gp_error err;
    make_dataset(&d);
    const char *p = write_tmp("ok.csv",
                              "\xEF\xBB\xBFgraph,node,device,target,value,unit\r\n"
                              "a,,cpu1,latency_ms,2.5,ms\r\n"
                              "a,y,cpu1,latency_ms,1.25,ms\n"
                              "\n"
                              "b,,cpu2,latency_ms,4,ms\n"
                              "\"a\",\"x\",cpu2,latency_ms,0.5,ms\n",
                              0);
    ck_assert_msg(labels_csv_read(&d, p, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d.n_devices, 2);
    ck_assert_str_eq(d.device_names[0], "cpu1");
    ck_assert_int_eq(d.n_targets, 2);
    int tg = dataset_find_target(&d, "latency_ms", LABEL_GRAPH);
    int tn = dataset_find_target(&d, "latency_ms", LABEL_NODE);
    ck_assert(tg >= 0 && tn >= 0);
    const float *g = d.targets[tg].values, *nv = d.targets[tn].values;
    ck_assert_float_eq(g[0 * 2 + 0], 2.5f);
    ck_assert(isnan(g[0 * 2 + 1]));
    ck_assert_float_eq(g[1 * 2 + 1], 4.0f);
    ck_assert_float_eq(nv[1 * 2 + 0], 1.25f); /* node a/y */
    ck_assert_float_eq(nv[0 * 2 + 1], 0.5f);  /* node a/x */
    ck_assert(isnan(nv[2 * 2 + 0]));          /* node b/x never measured */
    ck_assert_str_eq(d.targets[tg].unit, "ms");
    ck_assert_msg(dataset_validate(&d, &err) == 0, "%s", err.msg);
    dataset_free(&d);
}
END_TEST

START_TEST(test_devices_then_labels)
{
    dataset d;
    gp_error err;
    make_dataset(&d);
    const char *dp = write_tmp("dev.csv", "device,peak_gflops,mem_bw_gbs\ncpu1,110,25\ncpu2,,31.5\n", 0);
    ck_assert_msg(devices_csv_read(&d, dp, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d.n_descriptors, 2);
    ck_assert_double_eq(d.descriptors[0], 110.0);
    ck_assert(isnan(d.descriptors[2]));
    ck_assert_double_eq(d.descriptors[3], 31.5);
    const char *lp = write_tmp("l.csv", "graph,node,device,target,value\na,,cpu3,latency_ms,1\n", 0);
    ck_assert_int_lt(labels_csv_read(&d, lp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "l.csv:2: column 'device': 'cpu3' is not in the device table"));
    ck_assert_int_eq(d.n_targets, 0);
    lp = write_tmp("l.csv", "graph,node,device,target,value\na,,cpu2,latency_ms,1\n", 0);
    ck_assert_msg(labels_csv_read(&d, lp, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d.n_devices, 2);
    ck_assert_float_eq(d.targets[0].values[1], 1.0f);
    dataset_free(&d);
}
END_TEST

/* Each hostile label table and the substring its message must contain. */
static const struct {
    const char *text;
    const char *expect;
} BAD_LABELS[] = {
    {"", "empty file"},
    {"graph,node,device,target\n", "header must name"},
    {"graph,node,device,target,value,extra\n", "unknown column 'extra'"},
    {"graph,graph,device,target,value\n", "column 'graph' appears twice"},
    {"graph,node,device,target,value\n", "no label rows"},
    {"graph,node,device,target,value\nzz,,cpu,t,1\n", ":2: column 'graph': no graph named 'zz'"},
    {"graph,node,device,target,value\na,q,cpu,t,1\n", ":2: column 'node': graph 'a' has no node named 'q'"},
    {"graph,node,device,target,value\na,,cpu,t,-1\n", ":2: column 'value': -1 is negative"},
    {"graph,node,device,target,value\na,,cpu,t,nan\n", "is NaN"},
    {"graph,node,device,target,value\na,,cpu,t,inf\n", "infinite"},
    {"graph,node,device,target,value\na,,cpu,t,1e39\n", "too large"},
    {"graph,node,device,target,value\na,,cpu,t,\n", "'' is not a number"},
    {"graph,node,device,target,value\na,,cpu,t,3ms\n", "'3ms' is not a number"},
    {"graph,node,device,target,value\na,,,t,1\n", "column 'device': empty"},
    {"graph,node,device,target,value\na,,cpu,,1\n", "column 'target'"},
    {"graph,node,device,target,value\na,,cpu,x/y,1\n", ":2: target 'x/y': name may not contain '/'"},
    /* names dataset_validate refuses are refused where they are read (found by tests/fuzz) */
    {"graph,node,device,target,value\na,,cs/,t,1\n", ":2: device 'cs/': name may not contain '/'"},
    {"graph,node,device,target,value\na,,..,t,1\n", ":2: device '..': name may not"},
    {"graph,node,device,target,value\na,,cpu,"
     "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"
     "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"
     "tttttttttttttttttttttttttttttttttttttttttttttttttttttttt,1\n", ":2: column 4: control character or longer than 255"},
    {"graph,node,device,target,value\na,,cpu,t,1\na,,cpu,t,2\n", ":3: graph 'a', device 'cpu', target 't' already given on line 2"},
    {"graph,node,device,target,value,unit\na,,cpu,t,1,ms\nb,,cpu,t,2,s\n", ":3: column 'unit': 's' differs from 'ms'"},
    {"graph,node,device,target,value\na,,cpu,t\n", ":2: 4 fields, the header has 5"},
    {"graph,node,device,target,value\n\"a,,cpu,t,1\n", "unterminated quote"},
};

START_TEST(test_labels_hostile)
{
    dataset d;
    gp_error err;
    make_dataset(&d);
    const char *p = write_tmp("bad.csv", BAD_LABELS[_i].text, 0);
    ck_assert_int_lt(labels_csv_read(&d, p, &err), 0);
    ck_assert_msg(strstr(err.msg, BAD_LABELS[_i].expect) != NULL, "case %d: got '%s', expected '%s'", _i, err.msg,
                  BAD_LABELS[_i].expect);
    ck_assert_msg(strstr(err.msg, "bad.csv") != NULL, "message must name the file: %s", err.msg);
    ck_assert_int_eq(d.n_targets, 0);
    ck_assert_int_eq(d.n_devices, 0);
    dataset_free(&d);
}
END_TEST

START_TEST(test_files_hostile)
{
    dataset d;
    gp_error err;
    make_dataset(&d);
    ck_assert_int_lt(labels_csv_read(&d, "/nonexistent/labels.csv", &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/labels.csv: cannot open"));
    const char *p = write_tmp("nul.csv", "graph,node,device,target,value\na,,c\0pu,t,1\n", 44);
    ck_assert_int_lt(labels_csv_read(&d, p, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "NUL byte"));
    ck_assert_int_lt(labels_csv_read(&d, tmpdir, &err), 0); /* a directory */

    const char *dp = write_tmp("dev.csv", "name,peak\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "header must start with 'device'"));
    dp = write_tmp("dev.csv", "device,peak\ncpu,1\ncpu,2\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "dev.csv:3: device 'cpu' listed twice"));
    dp = write_tmp("dev.csv", "device,peak\ncpu,fast\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "column 'peak': 'fast' is not a finite number"));
    dp = write_tmp("dev.csv", "device,peak\ncpu,inf\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    dp = write_tmp("dev.csv", "device,peak,peak\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "appears twice"));
    dp = write_tmp("dev.csv", "device,peak\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "no devices"));
    dp = write_tmp("dev.csv", "device,peak\na/b,1\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "dev.csv:2: device 'a/b': name may not contain '/'"));
    dp = write_tmp("dev.csv", "device,peak/s\ncpu,1\n", 0);
    ck_assert_int_lt(devices_csv_read(&d, dp, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "dev.csv:1: descriptor 'peak/s': name may not contain '/'"));
    ck_assert_int_eq(d.n_devices, 0);
    dataset_free(&d);
}
END_TEST

START_TEST(test_csv_split)
{
    char line[] = "a,\"b,\"\"c\"\"\",,d";
    char *f[8];
    ck_assert_int_eq(csv_split_line(line, f, 8), 4);
    ck_assert_str_eq(f[0], "a");
    ck_assert_str_eq(f[1], "b,\"c\"");
    ck_assert_str_eq(f[2], "");
    ck_assert_str_eq(f[3], "d");
    char bad[] = "\"x\"y,z";
    ck_assert_int_eq(csv_split_line(bad, f, 8), -1);
    char many[] = "1,2,3";
    ck_assert_int_eq(csv_split_line(many, f, 2), -1);
}
END_TEST

static void setup(void)
{
    tmpdir_create("gp_labels");
}

int main(void)
{
    Suite *s = suite_create("label_csv");
    TCase *tc = tcase_create("tables");
    tcase_add_checked_fixture(tc, setup, tmpdir_remove);
    tcase_add_test(tc, test_labels_happy);
    tcase_add_test(tc, test_devices_then_labels);
    tcase_add_loop_test(tc, test_labels_hostile, 0, (int)(sizeof BAD_LABELS / sizeof BAD_LABELS[0]));
    tcase_add_test(tc, test_files_hostile);
    tcase_add_test(tc, test_csv_split);
    suite_add_tcase(s, tc);
    return check_run(s);
}
