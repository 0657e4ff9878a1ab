/* bench_dataset_io: how long loading a dataset takes, from file to a
 * validated graph_set with CSR and features, as the engine will do it.
 * Prints the median and minimum over repeats; no pass/fail.
 *
 *   bench_dataset_io DATASET.h5 [REPEATS]   (default 5) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "datasets/dataset.h"
#include "graph/featurize.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_dataset_io DATASET.h5 [REPEATS]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (reps < 1 || reps > 1000) reps = 5;
    double *load = malloc((size_t)reps * sizeof(double));
    double *feat = malloc((size_t)reps * sizeof(double));
    long long nodes = 0, edges = 0, graphs = 0;
    for (int r = 0; r < reps; r++) {
        dataset d;
        gp_error err;
        dataset_init(&d);
        double t0 = now_s();
        if (dataset_read_h5(&d, argv[1], &err) != 0) {
            fprintf(stderr, "bench_dataset_io: %s\n", err.msg);
            return 1;
        }
        double t1 = now_s();
        float *f = malloc((size_t)d.graphs.n_nodes * (size_t)featurize_dim() * sizeof(float));
        featurize_nodes(&d.graphs, f);
        double t2 = now_s();
        load[r] = t1 - t0;
        feat[r] = t2 - t1;
        nodes = d.graphs.n_nodes;
        edges = d.graphs.n_edges;
        graphs = d.graphs.n_graphs;
        free(f);
        dataset_free(&d);
    }
    qsort(load, (size_t)reps, sizeof(double), cmp_double);
    qsort(feat, (size_t)reps, sizeof(double), cmp_double);
    printf("dataset      %s: %lld graphs, %lld nodes, %lld edges\n", argv[1], graphs, nodes, edges);
    printf("load+check   median %.3f s, min %.3f s over %d runs (%.2f M nodes/s)\n", load[reps / 2], load[0], reps,
           (double)nodes / load[reps / 2] / 1e6);
    printf("featurize    median %.3f s, min %.3f s (%d columns)\n", feat[reps / 2], feat[0], featurize_dim());
    free(load);
    free(feat);
    return 0;
}
