/* Fuzz harness for the checkpoint reader (gnn/checkpoint.h), the file
 * gnnpredict and gnnadapt trust a model to, given the input as a file; the
 * contract is fuzz_check_checkpoint_file's. Like fuzz_dataset_h5, byte-level
 * mutation mostly reaches libhdf5's parser; fuzz_checkpoint_edit edits a
 * valid checkpoint through the HDF5 API instead. */
#include "fuzz_checks.h"
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(".ckpt.h5", data, size);
    if (path)
        fuzz_check_checkpoint_file(path, 0);
    return 0;
}
