#include "dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"

void dataset_init(dataset *d)
{
    memset(d, 0, sizeof *d);
    graph_set_init(&d->graphs);
}

static void free_names(char **names, int64_t n)
{
    if (!names) return;
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

void dataset_free(dataset *d)
{
    graph_set_free(&d->graphs);
    free_names(d->device_names, d->n_devices);
    free_names(d->descriptor_names, d->n_descriptors);
    free(d->descriptors);
    for (int32_t t = 0; t < d->n_targets; t++) {
        free(d->targets[t].name);
        free(d->targets[t].unit);
        free(d->targets[t].values);
    }
    free(d->targets);
    free(d->provenance);
    dataset_init(d);
}

int64_t dataset_target_rows(const dataset *d, const label_target *t)
{
    return t->level == LABEL_NODE ? d->graphs.n_nodes : d->graphs.n_graphs;
}

int dataset_find_target(const dataset *d, const char *name, int level)
{
    for (int32_t t = 0; t < d->n_targets; t++)
        if (d->targets[t].level == level && strcmp(d->targets[t].name, name) == 0) return t;
    return -1;
}

static const char *level_name(int level) { return level == LABEL_NODE ? "node" : "graph"; }

/* Names become HDF5 link names and CSV/JSON keys: keep them plain. */
int dataset_check_name(const char *name, const char *what, gp_error *err)
{
    if (!name || !name[0]) return gp_errorf(err, "%s: empty name", what);
    if (strlen(name) >= GRAPH_MAX_NAME) return gp_errorf(err, "%s '%.40s...': name too long", what, name);
    if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return gp_errorf(err, "%s '%s': name may not contain '/' or be '.' or '..'", what, name);
    return 0;
}

static int check_unique(char **names, int32_t n, const char *what, gp_error *err)
{
    strmap m;
    if (strmap_init(&m, (size_t)n) != 0) return gp_errorf(err, "out of memory");
    int rc = 0;
    for (int32_t i = 0; i < n && rc == 0; i++) {
        if (dataset_check_name(names[i], what, err) != 0) {
            rc = -1;
            break;
        }
        int64_t prev;
        int r = strmap_put(&m, names[i], i, &prev);
        if (r < 0) rc = gp_errorf(err, "out of memory");
        else if (r > 0)
            rc = gp_errorf(err, "%s %d: name '%s' already used by %s %lld", what, i, names[i], what, (long long)prev);
    }
    strmap_free(&m);
    return rc;
}

static const char *row_name(const dataset *d, const label_target *t, int64_t r)
{
    return t->level == LABEL_NODE ? d->graphs.node_names[r] : d->graphs.graph_names[r];
}

int dataset_validate(const dataset *d, gp_error *err)
{
    if (graph_set_validate(&d->graphs, err) != 0) return -1;
    if (d->n_devices < 0 || d->n_descriptors < 0 || d->n_targets < 0) return gp_errorf(err, "negative table sizes");
    if (check_unique(d->device_names, d->n_devices, "device", err) != 0) return -1;
    if (check_unique(d->descriptor_names, d->n_descriptors, "descriptor", err) != 0) return -1;
    if ((int64_t)d->n_devices * d->n_descriptors > 0 && !d->descriptors)
        return gp_errorf(err, "device table: %d descriptors named but no values", d->n_descriptors);
    for (int64_t k = 0; k < (int64_t)d->n_devices * d->n_descriptors; k++) {
        double v = d->descriptors[k];
        if (!isnan(v) && !isfinite(v))
            return gp_errorf(err, "device '%s': descriptor '%s' is infinite", d->device_names[k / d->n_descriptors],
                             d->descriptor_names[k % d->n_descriptors]);
    }
    for (int32_t t = 0; t < d->n_targets; t++) {
        const label_target *lt = &d->targets[t];
        if (lt->level != LABEL_NODE && lt->level != LABEL_GRAPH)
            return gp_errorf(err, "target %d: level %d is neither node (0) nor graph (1)", t, lt->level);
        if (dataset_check_name(lt->name, "target", err) != 0) return -1;
        for (int32_t u = 0; u < t; u++)
            if (d->targets[u].level == lt->level && strcmp(d->targets[u].name, lt->name) == 0)
                return gp_errorf(err, "target '%s' (%s): defined twice", lt->name, level_name(lt->level));
        int64_t rows = dataset_target_rows(d, lt);
        if (rows > 0 && d->n_devices > 0 && !lt->values)
            return gp_errorf(err, "target '%s' (%s): no values", lt->name, level_name(lt->level));
        for (int64_t r = 0; r < rows; r++) {
            for (int32_t k = 0; k < d->n_devices; k++) {
                float v = lt->values[r * d->n_devices + k];
                if (isnan(v)) continue;
                const char *problem = !isfinite(v) ? "is infinite" : v < 0 ? "is negative" : NULL;
                if (problem)
                    return gp_errorf(err, "target '%s' (%s): row %lld ('%s'), device '%s': value %g %s", lt->name,
                                     level_name(lt->level), (long long)r, row_name(d, lt, r), d->device_names[k],
                                     (double)v, problem);
            }
        }
    }
    return 0;
}
