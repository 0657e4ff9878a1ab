#include "embeddings.h"

#include <stdlib.h>
#include <string.h>

#include "../common/atomic_file.h"
#include "../common/h5util.h"

static int put(h5w *w, const char *path, int rank, int64_t d0, int64_t d1, const float *v)
{
    hid_t ds = h5w_array(w, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, d0, d1, v);
    if (ds < 0) return -1;
    H5Dclose(ds);
    return 0;
}

static int write_all(h5w *w, const char *checkpoint, const dataset *d, const predictions *p,
                     char *const *device_names, const float *dv, int32_t n_dev, int De)
{
    const graph_set *s = &d->graphs;
    hid_t root = H5Gopen2(w->fid, "/", H5P_DEFAULT);
    if (root < 0) return h5w_fail(w, "/", "cannot open the root group");
    int rc = h5w_attr_string(w, root, "/", "format", EMBEDDINGS_FORMAT_NAME) |
             h5w_attr_int(w, root, "/", "format_version", 1) |
             h5w_attr_string(w, root, "/", "checkpoint", checkpoint);
    H5Gclose(root);
    if (rc) return -1;
    hid_t g;
    const char *groups[] = {"/graphs", "/nodes", "/devices"};
    for (int k = 0; k < 3; k++) {
        if ((g = h5w_group(w, groups[k], 0)) < 0) return -1;
        H5Gclose(g);
    }
    int64_t G = p->n_graphs, N = p->n_nodes, H = p->H;
    char **gnames = malloc((size_t)(G + 1) * sizeof(char *));
    char **nnames = malloc((size_t)(N + 1) * sizeof(char *));
    int64_t *ngraph = malloc((size_t)(N + 1) * sizeof(int64_t));
    if (!gnames || !nnames || !ngraph) {
        free(gnames);
        free(nnames);
        free(ngraph);
        return h5w_fail(w, NULL, "out of memory");
    }
    for (int64_t k = 0; k < G; k++) {
        int64_t gi = p->graph_ids[k];
        gnames[k] = s->graph_names[gi];
        for (int64_t v = 0; v < graph_nodes_in(s, gi); v++) {
            nnames[p->node_first[k] + v] = s->node_names[s->node_off[gi] + v];
            ngraph[p->node_first[k] + v] = k;
        }
    }
    hid_t ds;
    rc = 0;
    if ((ds = h5w_strings(w, "/graphs/names", gnames, G)) < 0) rc = -1;
    else H5Dclose(ds);
    if (!rc && (ds = h5w_strings(w, "/nodes/names", nnames, N)) < 0) rc = -1;
    else if (!rc) H5Dclose(ds);
    if (!rc && (ds = h5w_array(w, "/nodes/graph", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, N, 0, ngraph)) < 0) rc = -1;
    else if (!rc) H5Dclose(ds);
    if (!rc && (ds = h5w_array(w, "/graphs/node_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, G + 1, 0,
                               p->node_first)) < 0)
        rc = -1;
    else if (!rc) H5Dclose(ds);
    free(gnames);
    free(nnames);
    free(ngraph);
    if (rc) return -1;
    if (put(w, "/graphs/embeddings", 2, G, H, p->graph_emb) || put(w, "/nodes/embeddings", 2, N, H, p->node_emb) ||
        put(w, "/devices/embeddings", 2, n_dev, De, dv))
        return -1;
    if ((ds = h5w_strings(w, "/devices/names", device_names, n_dev)) < 0) return -1;
    H5Dclose(ds);
    return 0;
}

int embeddings_write(const char *path, const char *checkpoint, const dataset *d, const predictions *p,
                     char *const *device_names, const float *device_vectors, int32_t n_dev, int De, gp_error *err)
{
    if (!p->graph_emb || !p->node_emb) return gp_errorf(err, "%s: no embeddings were computed", path);
    h5_quiet();
    atomic_file af;
    h5w w;
    if (h5w_create(&w, &af, path, err) != 0) return -1;
    int rc = write_all(&w, checkpoint, d, p, device_names, device_vectors, n_dev, De);
    if (H5Fclose(w.fid) < 0 && rc == 0) rc = gp_errorf(err, "%s: cannot finish writing the file", path);
    if (rc == 0) return atomic_file_commit(&af, err);
    atomic_file_abort(&af);
    return -1;
}
