/* Fuzz harness for the checkpoint reader (gnn/checkpoint.h), the file
 * gnnpredict and gnnadapt trust a model to. Reads the metadata; when it is
 * accepted, builds the model it describes (small batch limits) and reads the
 * parameters into it, as infer/from_checkpoint.c does. Contract checked
 * beyond memory safety: a refused file says why. */
#include <string.h>

#include "fuzz_target.h"
#include "gnn/checkpoint.h"
#include "gnn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(".ckpt.h5", data, size);
    if (!path)
        return 0;
    checkpoint_meta meta;
    memset(&meta, 0, sizeof meta);
    gp_error err;
    err.msg[0] = '\0';
    if (checkpoint_read_meta(path, &meta, &err) != 0) {
        if (err.msg[0] == '\0')
            fuzz_fail("a refused checkpoint left no message");
        checkpoint_meta_free(&meta);
        return 0;
    }
    model m;
    memset(&m, 0, sizeof m);
    model_limits lim = {.max_nodes = 16, .max_edges = 16, .max_graphs = 2, .max_devices = meta.n_devices};
    err.msg[0] = '\0';
    if (model_build(&m, &meta.cfg, &lim, &err) == 0) {
        if (checkpoint_read_params(path, &m.params, 0, &err) != 0 && err.msg[0] == '\0')
            fuzz_fail("refused parameters left no message");
        model_free(&m);
    } else if (err.msg[0] == '\0') {
        fuzz_fail("a refused model configuration left no message");
    }
    checkpoint_meta_free(&meta);
    return 0;
}
