/* Structure-aware fuzz harness for the checkpoint reader: edits (h5_edit.h)
 * applied through the HDF5 API to a valid checkpoint, the corpus's
 * tiny_model.h5 (a 1-layer, width-4 model of gnntrain on tests/data/cli), so
 * that the model configuration, normalisation, device table, targets and
 * parameter shapes turn hostile while the file stays well-formed HDF5. The
 * contract checked is fuzz_check_checkpoint_file's. FUZZ_VERBOSE prints
 * every edit and the verdict. */
#include "fuzz_checks.h"
#include "fuzz_target.h"
#include "h5_edit.h"

#ifndef GP_FUZZ_CHECKPOINT_BASE
#error "the build defines GP_FUZZ_CHECKPOINT_BASE, the base checkpoint's path"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int have_base;
    if (!have_base) {
        h5_edit_load_base(GP_FUZZ_CHECKPOINT_BASE);
        have_base = 1;
    }
    const char *path = h5_edit_make(data, size, ".edit.ckpt.h5");
    if (path)
        fuzz_check_checkpoint_file(path, h5_edit_verbose());
    return 0;
}
