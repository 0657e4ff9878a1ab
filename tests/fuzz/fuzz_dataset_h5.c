/* Fuzz harness for the HDF5 dataset reader (datasets/dataset.h), given the
 * input as a file; the contract is fuzz_check_dataset_file's. Byte-level
 * mutation of an HDF5 file mostly exercises libhdf5's own parser (and finds
 * its bugs: common/watchdog.h); the seeds in corpus/dataset_h5 and
 * tests/data/h5 are small valid and hostile datasets, so that mutations also
 * reach this project's checks. fuzz_dataset_edit goes there directly. */
#include "fuzz_checks.h"
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(".h5", data, size);
    if (path)
        fuzz_check_dataset_file(path, 0);
    return 0;
}
