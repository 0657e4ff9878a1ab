/* Fuzz harness for the HDF5 dataset reader (datasets/dataset.h), given the
 * input as a file. Contract checked beyond memory safety:
 *  - a refused file leaves the dataset empty and says why;
 *  - an accepted file passes dataset_validate, and its graphs featurize to
 *    finite numbers (the reader builds the CSR the featurizer needs).
 * Byte-level mutation of an HDF5 file mostly exercises libhdf5's own parser;
 * the seeds in corpus/dataset_h5 are small valid and hostile datasets
 * (tests/data/h5), so that mutations also reach this project's checks. */
#include <stdlib.h>

#include "datasets/dataset.h"
#include "fuzz_target.h"
#include "graph/featurize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(".h5", data, size);
    if (!path)
        return 0;
    dataset d;
    gp_error err;
    if (dataset_read_h5(&d, path, &err) != 0) {
        if (d.graphs.n_graphs != 0 || d.graphs.n_nodes != 0 || d.n_devices != 0 || d.n_targets != 0 ||
            err.msg[0] == '\0')
            fuzz_fail("a refused file left a partial dataset or no message (%s)", err.msg);
        dataset_free(&d);
        return 0;
    }
    if (dataset_validate(&d, &err) != 0)
        fuzz_fail("an accepted file does not validate: %s", err.msg);
    float *feat = malloc((size_t)(d.graphs.n_nodes ? d.graphs.n_nodes : 1) * (size_t)featurize_dim() * sizeof *feat);
    if (!feat)
        fuzz_fail("out of memory");
    featurize_nodes(&d.graphs, feat);
    for (int64_t i = 0; i < d.graphs.n_nodes * featurize_dim(); i++)
        if (!(feat[i] == feat[i]) || feat[i] > 1e30f || feat[i] < -1e30f)
            fuzz_fail("feature %lld of node %lld is %g", (long long)(i % featurize_dim()),
                      (long long)(i / featurize_dim()), (double)feat[i]);
    free(feat);
    dataset_free(&d);
    return 0;
}
