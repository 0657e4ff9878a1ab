/* The readers' contracts for the HDF5 fuzz harnesses (fuzz_checks.h). */
#include "fuzz_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "fuzz_target.h"
#include "gnn/checkpoint.h"
#include "gnn/model.h"
#include "graph/featurize.h"

void fuzz_check_features(const graph_set *s)
{
    float *feat = malloc((size_t)(s->n_nodes ? s->n_nodes : 1) * (size_t)featurize_dim() * sizeof *feat);
    if (!feat)
        fuzz_fail("out of memory");
    featurize_nodes(s, feat);
    for (int64_t i = 0; i < s->n_nodes * featurize_dim(); i++)
        if (!(feat[i] == feat[i]) || feat[i] > 1e30f || feat[i] < -1e30f)
            fuzz_fail("feature %lld of node %lld is %g", (long long)(i % featurize_dim()),
                      (long long)(i / featurize_dim()), (double)feat[i]);
    free(feat);
}

void fuzz_check_dataset_file(const char *path, int verbose)
{
    dataset d;
    gp_error err;
    gp_error_clear(&err);
    if (dataset_read_h5(&d, path, &err) != 0) {
        if (verbose)
            fprintf(stderr, "refused: %s\n", err.msg);
        if (d.graphs.n_graphs != 0 || d.graphs.n_nodes != 0 || d.n_devices != 0 || d.n_targets != 0 ||
            err.msg[0] == '\0')
            fuzz_fail("a refused file left a partial dataset or no message (%s)", err.msg);
        dataset_free(&d);
        return;
    }
    if (dataset_validate(&d, &err) != 0)
        fuzz_fail("an accepted file does not validate: %s", err.msg);
    if (verbose)
        fprintf(stderr, "accepted\n");
    fuzz_check_features(&d.graphs);
    dataset_free(&d);
}

void fuzz_check_checkpoint_file(const char *path, int verbose)
{
    checkpoint_meta meta;
    memset(&meta, 0, sizeof meta);
    gp_error err;
    err.msg[0] = '\0';
    if (checkpoint_read_meta(path, &meta, &err) != 0) {
        if (verbose)
            fprintf(stderr, "refused: %s\n", err.msg);
        if (err.msg[0] == '\0')
            fuzz_fail("a refused checkpoint left no message");
        checkpoint_meta_free(&meta);
        return;
    }
    model m;
    memset(&m, 0, sizeof m);
    model_limits lim = {.max_nodes = 16, .max_edges = 16, .max_graphs = 2, .max_devices = meta.n_devices};
    err.msg[0] = '\0';
    if (model_build(&m, &meta.cfg, &lim, &err) == 0) {
        int rc = checkpoint_read_params(path, &m.params, 0, &err);
        if (rc != 0 && err.msg[0] == '\0')
            fuzz_fail("refused parameters left no message");
        if (verbose)
            fprintf(stderr, "%s%s\n", rc ? "parameters refused: " : "accepted", rc ? err.msg : "");
        model_free(&m);
    } else {
        if (err.msg[0] == '\0')
            fuzz_fail("a refused model configuration left no message");
        if (verbose)
            fprintf(stderr, "model refused: %s\n", err.msg);
    }
    checkpoint_meta_free(&meta);
}
