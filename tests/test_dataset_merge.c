/* dataset_merge: graphs concatenated, devices, descriptors and targets
 * united by name with NaN where one side has no value, and every conflict
 * refused with the name and the problem, leaving the destination as it was. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset_merge.h"
#include "datasets/label_csv.h"
#include "tmpfiles.h"
#include "check_run.h"

/* Graphs named prefix0 .. prefix(n-1), each an input x and a relu y, with
 * the device and label tables given (devices may be NULL). */
static void make(dataset *d, const char *prefix, int n, const char *devices, const char *labels)
{
    gp_error err;
    dataset_init(d);
    for (int g = 0; g < n; g++) {
        char name[32];
        snprintf(name, sizeof name, "%s%d", prefix, g);
        graph_node node;
        graph_node_defaults(&node);
        node.kind = OP_INPUT;
        node.out = (tensor_shape){2, {1, 8}};
        ck_assert_int_eq(graph_set_begin_graph(&d->graphs, name, &err), 0);
        ck_assert_int_eq(graph_set_add_node(&d->graphs, "x", &node, NULL, 0, &err), 0);
        node.kind = OP_ACTIVATION;
        node.fn = FN_RELU;
        ck_assert_int_eq(graph_set_add_node(&d->graphs, "y", &node, &node.out, 1, &err), 1);
        ck_assert_int_eq(graph_set_add_edge(&d->graphs, 0, 1, &err), 0);
        ck_assert_int_eq(graph_set_end_graph(&d->graphs, &err), 0);
    }
    ck_assert_int_eq(graph_set_finish(&d->graphs, &err), 0);
    if (devices) ck_assert_msg(devices_csv_read(d, write_tmp("devices.csv", devices, 0), &err) == 0, "%s", err.msg);
    ck_assert_msg(labels_csv_read(d, write_tmp("labels.csv", labels, 0), &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dataset_validate(d, &err), 0);
}

static int find_device(const dataset *d, const char *name)
{
    for (int32_t k = 0; k < d->n_devices; k++)
        if (!strcmp(d->device_names[k], name)) return k;
    return -1;
}

START_TEST(test_merge_unites_by_name)
{
    dataset a, b;
    gp_error err;
    make(&a, "a", 2, "device,peak_gflops\ncpu1,100\n",
         "graph,node,device,target,value,unit\na0,,cpu1,latency_ms,2,ms\na1,,cpu1,latency_ms,3,ms\n"
         "a0,y,cpu1,latency_ms,1,ms\n");
    make(&b, "b", 1, "device,mem_bw_gbs,peak_gflops\ncpu2,20,50\ncpu1,,100\n",
         "graph,node,device,target,value,unit\nb0,,cpu2,latency_ms,5,ms\nb0,,cpu1,energy_mj,7,mJ\n");
    ck_assert_msg(dataset_merge(&a, &b, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(dataset_validate(&a, &err), 0);
    ck_assert_int_eq(a.graphs.n_graphs, 3);
    ck_assert_int_eq(graph_set_find(&a.graphs, "b0"), 2);
    ck_assert_int_eq(a.n_devices, 2);
    int c1 = find_device(&a, "cpu1"), c2 = find_device(&a, "cpu2");
    ck_assert(c1 >= 0 && c2 >= 0);
    ck_assert_int_eq(a.n_descriptors, 2);
    int bw = strcmp(a.descriptor_names[0], "mem_bw_gbs") ? 1 : 0, pk = 1 - bw;
    ck_assert_str_eq(a.descriptor_names[pk], "peak_gflops");
    ck_assert(a.descriptors[c1 * 2 + pk] == 100 && isnan(a.descriptors[c1 * 2 + bw]));
    ck_assert(a.descriptors[c2 * 2 + pk] == 50 && a.descriptors[c2 * 2 + bw] == 20);
    int lat = dataset_find_target(&a, "latency_ms", LABEL_GRAPH), en = dataset_find_target(&a, "energy_mj", LABEL_GRAPH);
    int nlat = dataset_find_target(&a, "latency_ms", LABEL_NODE);
    ck_assert(lat >= 0 && en >= 0 && nlat >= 0);
    const float *L = a.targets[lat].values, *E = a.targets[en].values, *N = a.targets[nlat].values;
    ck_assert(L[0 * 2 + c1] == 2 && L[1 * 2 + c1] == 3 && isnan(L[0 * 2 + c2]));
    ck_assert(L[2 * 2 + c2] == 5 && isnan(L[2 * 2 + c1]));
    ck_assert(isnan(E[0 * 2 + c1]) && E[2 * 2 + c1] == 7);
    ck_assert_int_eq(dataset_target_rows(&a, &a.targets[nlat]), 6);
    ck_assert(N[1 * 2 + c1] == 1 && isnan(N[5 * 2 + c1]));
    dataset_free(&a);
    dataset_free(&b);
}
END_TEST

/* Each conflict is refused by name, and the destination keeps its graphs,
 * devices and targets. */
START_TEST(test_merge_conflicts)
{
    static const struct {
        const char *prefix, *devices, *labels, *want;
    } bad[] = {
        {"a", NULL, "graph,node,device,target,value,unit\na0,,cpu1,latency_ms,1,ms\n", "a0"},
        {"b", "device,peak_gflops\ncpu1,90\n", "graph,node,device,target,value,unit\nb0,,cpu1,latency_ms,1,ms\n",
         "device 'cpu1': descriptor 'peak_gflops' is 100 in one dataset and 90 in the other"},
        {"b", NULL, "graph,node,device,target,value,unit\nb0,,cpu1,latency_ms,1000,us\n",
         "target 'latency_ms': unit 'ms' in one dataset, 'us' in the other"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dataset a, b;
        gp_error err;
        memset(&err, 0, sizeof err);
        make(&a, "a", 2, "device,peak_gflops\ncpu1,100\n",
             "graph,node,device,target,value,unit\na0,,cpu1,latency_ms,2,ms\na1,,cpu1,latency_ms,3,ms\n");
        make(&b, bad[i].prefix, 1, bad[i].devices, bad[i].labels);
        ck_assert_msg(dataset_merge(&a, &b, &err) == -1, "case %zu merged", i);
        ck_assert_msg(strstr(err.msg, bad[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
        ck_assert_int_eq(a.graphs.n_graphs, 2);
        ck_assert_int_eq(a.n_devices, 1);
        ck_assert_int_eq(a.n_descriptors, 1);
        ck_assert_int_eq(a.n_targets, 1);
        ck_assert(a.descriptors[0] == 100 && a.targets[0].values[1] == 3);
        ck_assert_int_eq(dataset_validate(&a, &err), 0);
        dataset_free(&a);
        dataset_free(&b);
    }
}
END_TEST

static void setup(void)
{
    tmpdir_create("gp_merge");
}

int main(void)
{
    Suite *s = suite_create("dataset_merge");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, tmpdir_remove);
    tcase_add_test(tc, test_merge_unites_by_name);
    tcase_add_test(tc, test_merge_conflicts);
    suite_add_tcase(s, tc);
    return check_run(s);
}
