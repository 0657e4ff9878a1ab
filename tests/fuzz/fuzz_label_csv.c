/* Fuzz harness for the label and device tables (datasets/label_csv.h).
 *
 * The input is one label table, or a device table and a label table joined
 * by a line "##" ("device,...\n...\n##\ngraph,node,...\n..."). They are read
 * into a dataset holding two fixed graphs, mlp (x, fc, out) and blk (x, a).
 * Contract checked beyond memory safety:
 *  - all or nothing: a refused table leaves the dataset as it was (no
 *    targets; no devices unless the device table was accepted);
 *  - whatever is accepted passes dataset_validate (values NaN or finite and
 *    >= 0, unique names, one value per cell's row). */
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "datasets/label_csv.h"
#include "fuzz_target.h"
#include "graph/graph_json.h"

static const char GRAPHS[] =
    "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"mlp\",\"nodes\":["
    "{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[2,8]},"
    "{\"name\":\"fc\",\"op\":\"linear\",\"inputs\":[\"x\"],\"out_shape\":[2,4]},"
    "{\"name\":\"out\",\"op\":\"output\",\"inputs\":[\"fc\"],\"out_shape\":[2,4]}]}\n"
    "{\"format\":\"gnnperf-graph\",\"version\":1,\"name\":\"blk\",\"nodes\":["
    "{\"name\":\"x\",\"op\":\"input\",\"out_shape\":[4]},"
    "{\"name\":\"a\",\"op\":\"activation\",\"inputs\":[\"x\"],\"attrs\":{\"fn\":\"relu\"},\"out_shape\":[4]}]}\n";

static const uint8_t *find_separator(const uint8_t *data, size_t size)
{
    static const char SEP[] = "\n##\n";
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(data + i, SEP, 4) == 0)
            return data + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dataset d;
    dataset_init(&d);
    gp_error err;
    if (graph_json_parse(&d.graphs, GRAPHS, strlen(GRAPHS), "graphs", &err) != 0 ||
        graph_set_finish(&d.graphs, &err) != 0)
        fuzz_fail("the fixed graphs are refused: %s", err.msg);

    const uint8_t *labels = data, *sep = find_separator(data, size);
    size_t labels_size = size;
    if (sep) {
        const char *dev_path = fuzz_scratch_file(".devices.csv", data, (size_t)(sep - data) + 1);
        if (!dev_path)
            goto done;
        gp_error_clear(&err);
        if (devices_csv_read(&d, dev_path, &err) != 0) {
            if (d.n_devices != 0 || d.n_descriptors != 0 || err.msg[0] == '\0')
                fuzz_fail("a refused device table changed the dataset or left no message");
            goto done;
        }
        labels = sep + 4;
        labels_size = size - (size_t)(labels - data);
    }
    int32_t devices_before = d.n_devices;
    const char *lab_path = fuzz_scratch_file(".labels.csv", labels, labels_size);
    if (!lab_path)
        goto done;
    gp_error_clear(&err);
    if (labels_csv_read(&d, lab_path, &err) != 0) {
        if (d.n_targets != 0 || d.n_devices != devices_before || err.msg[0] == '\0')
            fuzz_fail("a refused label table changed the dataset (%d targets, %d devices) or left no message",
                      d.n_targets, d.n_devices);
        goto done;
    }
    if (dataset_validate(&d, &err) != 0)
        fuzz_fail("an accepted label table does not validate: %s", err.msg);
done:
    dataset_free(&d);
    return 0;
}
