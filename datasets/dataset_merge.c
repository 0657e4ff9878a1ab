#include "dataset_merge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int index_of(char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

/* Copies every graph of src into the builder state of out. */
static int append_graphs(graph_set *out, const graph_set *src, gp_error *err)
{
    for (int64_t g = 0; g < src->n_graphs; g++) {
        if (graph_set_begin_graph(out, src->graph_names[g], err) != 0) return -1;
        for (int64_t i = src->node_off[g]; i < src->node_off[g + 1]; i++) {
            const graph_node *n = &src->nodes[i];
            /* no shapes: in_shapes may be NULL, and NULL + 0 is undefined */
            const tensor_shape *in = n->n_in ? src->in_shapes + n->in_off : NULL;
            if (graph_set_add_node(out, src->node_names[i], n, in, n->n_in, err) < 0) return -1;
        }
        for (int64_t e = src->edge_off[g]; e < src->edge_off[g + 1]; e++)
            if (graph_set_add_edge(out, src->edge_src[e], src->edge_dst[e], err) != 0) return -1;
        if (graph_set_end_graph(out, err) != 0) return -1;
    }
    return 0;
}

int dataset_merge(dataset *dst, const dataset *src, gp_error *err)
{
    dataset m;
    dataset_init(&m);
    int rc = -1;
    if (append_graphs(&m.graphs, &dst->graphs, err) || append_graphs(&m.graphs, &src->graphs, err)) goto done;
    if (graph_set_finish(&m.graphs, err) != 0) goto done;

    /* Devices and descriptor columns: dst's first, then src's new ones. */
    m.device_names = calloc((size_t)(dst->n_devices + src->n_devices + 1), sizeof(char *));
    m.descriptor_names = calloc((size_t)(dst->n_descriptors + src->n_descriptors + 1), sizeof(char *));
    int *dev_of_src = malloc((size_t)(src->n_devices + 1) * sizeof(int));
    int *col_of_src = malloc((size_t)(src->n_descriptors + 1) * sizeof(int));
    if (!m.device_names || !m.descriptor_names || !dev_of_src || !col_of_src) {
        free(dev_of_src);
        free(col_of_src);
        gp_errorf(err, "out of memory");
        goto done;
    }
    for (int k = 0; k < dst->n_devices; k++) m.device_names[m.n_devices++] = dup_str(dst->device_names[k]);
    for (int k = 0; k < src->n_devices; k++) {
        int j = index_of(m.device_names, m.n_devices, src->device_names[k]);
        if (j < 0) {
            j = m.n_devices;
            m.device_names[m.n_devices++] = dup_str(src->device_names[k]);
        }
        dev_of_src[k] = j;
    }
    for (int k = 0; k < dst->n_descriptors; k++)
        m.descriptor_names[m.n_descriptors++] = dup_str(dst->descriptor_names[k]);
    for (int k = 0; k < src->n_descriptors; k++) {
        int j = index_of(m.descriptor_names, m.n_descriptors, src->descriptor_names[k]);
        if (j < 0) {
            j = m.n_descriptors;
            m.descriptor_names[m.n_descriptors++] = dup_str(src->descriptor_names[k]);
        }
        col_of_src[k] = j;
    }
    m.descriptors = malloc((size_t)(m.n_devices * m.n_descriptors + 1) * sizeof(double));
    if (!m.descriptors) {
        free(dev_of_src);
        free(col_of_src);
        gp_errorf(err, "out of memory");
        goto done;
    }
    for (int64_t k = 0; k < (int64_t)m.n_devices * m.n_descriptors; k++) m.descriptors[k] = NAN;
    for (int k = 0; k < dst->n_devices; k++)
        for (int j = 0; j < dst->n_descriptors; j++)
            m.descriptors[k * m.n_descriptors + j] = dst->descriptors[k * dst->n_descriptors + j];
    for (int k = 0; k < src->n_devices; k++)
        for (int j = 0; j < src->n_descriptors; j++) {
            double v = src->descriptors[k * src->n_descriptors + j];
            double *cell = &m.descriptors[dev_of_src[k] * m.n_descriptors + col_of_src[j]];
            if (!isnan(*cell) && !isnan(v) && *cell != v) {
                gp_errorf(err, "device '%s': descriptor '%s' is %g in one dataset and %g in the other",
                          src->device_names[k], src->descriptor_names[j], *cell, v);
                free(dev_of_src);
                free(col_of_src);
                goto done;
            }
            if (!isnan(v)) *cell = v;
        }

    /* Targets by (name, level). */
    m.targets = calloc((size_t)(dst->n_targets + src->n_targets + 1), sizeof(label_target));
    if (!m.targets) {
        free(dev_of_src);
        free(col_of_src);
        gp_errorf(err, "out of memory");
        goto done;
    }
    const dataset *parts[2] = {dst, src};
    for (int p = 0; p < 2; p++)
        for (int t = 0; t < parts[p]->n_targets; t++) {
            const label_target *lt = &parts[p]->targets[t];
            int found = -1;
            for (int u = 0; u < m.n_targets; u++)
                if (m.targets[u].level == lt->level && !strcmp(m.targets[u].name, lt->name)) found = u;
            if (found >= 0) {
                if (strcmp(m.targets[found].unit, lt->unit) != 0) {
                    gp_errorf(err, "target '%s': unit '%s' in one dataset, '%s' in the other", lt->name,
                              m.targets[found].unit, lt->unit);
                    free(dev_of_src);
                    free(col_of_src);
                    goto done;
                }
                continue;
            }
            label_target *nt = &m.targets[m.n_targets++];
            nt->name = dup_str(lt->name);
            nt->unit = dup_str(lt->unit);
            nt->level = lt->level;
            int64_t rows = lt->level == LABEL_NODE ? m.graphs.n_nodes : m.graphs.n_graphs;
            nt->values = malloc((size_t)(rows * m.n_devices + 1) * sizeof(float));
            if (!nt->name || !nt->unit || !nt->values) {
                free(dev_of_src);
                free(col_of_src);
                gp_errorf(err, "out of memory");
                goto done;
            }
            for (int64_t k = 0; k < rows * m.n_devices; k++) nt->values[k] = NAN;
        }
    for (int p = 0; p < 2; p++) {
        const dataset *s = parts[p];
        int64_t row_shift_node = p ? dst->graphs.n_nodes : 0, row_shift_graph = p ? dst->graphs.n_graphs : 0;
        for (int t = 0; t < s->n_targets; t++) {
            const label_target *lt = &s->targets[t];
            label_target *nt = NULL;
            for (int u = 0; u < m.n_targets; u++)
                if (m.targets[u].level == lt->level && !strcmp(m.targets[u].name, lt->name)) nt = &m.targets[u];
            int64_t rows = dataset_target_rows(s, lt);
            int64_t shift = lt->level == LABEL_NODE ? row_shift_node : row_shift_graph;
            for (int64_t r = 0; r < rows; r++)
                for (int k = 0; k < s->n_devices; k++)
                    nt->values[(r + shift) * m.n_devices + (p ? dev_of_src[k] : k)] = lt->values[r * s->n_devices + k];
        }
    }
    free(dev_of_src);
    free(col_of_src);
    if (dst->provenance || src->provenance) {
        size_t n = (dst->provenance ? strlen(dst->provenance) : 4) + (src->provenance ? strlen(src->provenance) : 4) + 32;
        m.provenance = malloc(n);
        if (m.provenance)
            snprintf(m.provenance, n, "{\"merged\": [%s, %s]}", dst->provenance ? dst->provenance : "null",
                     src->provenance ? src->provenance : "null");
    }
    if (dataset_validate(&m, err) != 0) goto done;
    dataset_free(dst);
    *dst = m;
    return 0;
done:
    dataset_free(&m);
    return rc;
}
