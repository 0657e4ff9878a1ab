/* Structure-aware fuzz harness for the HDF5 dataset reader.
 *
 * fuzz_dataset_h5 flips bytes of whole files, and most such files die inside
 * libhdf5's own parser before this project's checks see them. Here the input
 * is a list of edits applied, through the HDF5 API, to a valid dataset
 * written by dataset_write_h5 (two graphs, input shapes, node and graph
 * labels, two devices with descriptors): the file stays well-formed HDF5 and
 * its content turns hostile, which is what the reader's own checks are for
 * (the edits: h5_edit.h). The contract checked is fuzz_check_dataset_file's. With FUZZ_VERBOSE set
 * in the environment each edit and the reader's verdict are printed. */
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/label_csv.h"
#include "fuzz_checks.h"
#include "fuzz_target.h"
#include "graph/graph_json.h"
#include "h5_edit.h"

static const char GRAPHS[] =
    "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"cnn\",\"nodes\":["
    "{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[1,4,8,8]},"
    "{\"name\":\"c\",\"op\":\"conv2d\",\"inputs\":[\"x\"],\"attrs\":{\"kernel\":3,\"padding\":1,\"groups\":2},"
    "\"out_shape\":[1,8,8,8]},"
    "{\"name\":\"r\",\"op\":\"activation\",\"inputs\":[\"c\"],\"attrs\":{\"fn\":\"relu\",\"inplace\":true},"
    "\"out_shape\":[1,8,8,8]},"
    "{\"name\":\"a\",\"op\":\"add\",\"inputs\":[\"r\",\"c\"],\"out_shape\":[1,8,8,8]},"
    "{\"name\":\"y\",\"op\":\"output\",\"inputs\":[\"a\"],\"out_shape\":[1,8,8,8]}]}\n"
    "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"mlp\",\"nodes\":["
    "{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[2,16]},"
    "{\"name\":\"w\",\"op\":\"input\",\"out_shape\":[16,4]},"
    "{\"name\":\"m\",\"op\":\"matmul\",\"inputs\":[\"x\",\"w\"],\"out_shape\":[2,4]},"
    "{\"name\":\"s\",\"op\":\"softmax\",\"inputs\":[\"m\"],\"out_shape\":[2,4]}]}\n";
static const char DEVICES[] = "device,peak_gflops,mem_bw_gbs\ncpu,100,20\ngpu,,900\n";
static const char LABELS[] =
    "graph,node,device,target,value,unit\n"
    "cnn,,cpu,latency_ms,0.5,ms\ncnn,,gpu,latency_ms,0.05,ms\nmlp,,cpu,latency_ms,0.01,ms\n"
    "cnn,c,cpu,latency_ms,0.3,ms\nmlp,m,gpu,latency_ms,0.002,ms\ncnn,c,cpu,utilization,0.4,ratio\n";

static int have_base;

static void make_base(void)
{
    dataset d;
    dataset_init(&d);
    gp_error err;
    const char *dev = fuzz_scratch_file(".dev.csv", (const uint8_t *)DEVICES, strlen(DEVICES));
    const char *lab = fuzz_scratch_file(".lab.csv", (const uint8_t *)LABELS, strlen(LABELS));
    if (!dev || !lab || graph_json_parse(&d.graphs, GRAPHS, strlen(GRAPHS), "graphs", &err) != 0 ||
        graph_set_finish(&d.graphs, &err) != 0 || devices_csv_read(&d, dev, &err) != 0 ||
        labels_csv_read(&d, lab, &err) != 0)
        fuzz_fail("the base dataset is refused: %s", err.msg);
    const char *path = fuzz_scratch_file(".base.h5", (const uint8_t *)"", 0);
    if (!path || dataset_write_h5(&d, path, &err) != 0)
        fuzz_fail("the base dataset cannot be written: %s", err.msg);
    dataset_free(&d);
    h5_edit_load_base(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!have_base) {
        make_base();
        have_base = 1;
    }
    const char *path = h5_edit_make(data, size, ".edit.h5");
    if (path)
        fuzz_check_dataset_file(path, h5_edit_verbose());
    return 0;
}
