/* A training step allocates nothing. The test binary defines malloc, calloc,
 * realloc, aligned_alloc and posix_memalign itself (forwarding to glibc), so
 * every allocation in the process, libraries included, goes through a
 * counter; not built under AddressSanitizer, which owns the allocator. After the model is built and prepared for training and
 * one warm-up step has run (OpenMP starts its threads on the first parallel
 * region), steps over batches of every size the data allows must leave the
 * counter unchanged: batch filling, forward, loss, backward, clipping and
 * the AdamW update. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/batch.h"
#include "gnn/loss.h"
#include "gnn/model.h"
#include "gnn/optim.h"
#include "graph/featurize.h"
#include "check_run.h"

static long allocations;
static int counting;

/* The allocator, interposed for the whole process (shared libraries
 * included) and forwarded to glibc's own entry points. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
    allocations += counting;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    allocations += counting;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    allocations += counting;
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t a, size_t n)
{
    allocations += counting;
    return __libc_memalign(a, n);
}
int posix_memalign(void **p, size_t a, size_t n)
{
    allocations += counting;
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12; /* ENOMEM */
}
void free(void *p) { __libc_free(p); }

/* 40 chain-with-skips graphs of 3..120 nodes, a node and a graph target on
 * two devices. */
static void make_dataset(dataset *d)
{
    gp_error err;
    dataset_init(d);
    rng r;
    rng_seed(&r, 11);
    char name[64];
    for (int g = 0; g < 40; g++) {
        int n = 3 + (int)rng_below(&r, 118);
        snprintf(name, sizeof name, "g%d", g);
        ck_assert_int_eq(graph_set_begin_graph(&d->graphs, name, &err), 0);
        for (int i = 0; i < n; i++) {
            graph_node nd;
            graph_node_defaults(&nd);
            nd.kind = i == 0 ? OP_INPUT : (i % 3 ? OP_CONV2D : OP_ADD);
            nd.out = (tensor_shape){4, {1, 8, 16, 16}};
            snprintf(name, sizeof name, "n%d", i);
            tensor_shape in = nd.out;
            ck_assert_int_ge(graph_set_add_node(&d->graphs, name, &nd, &in, i ? 1 : 0, &err), 0);
            if (i) ck_assert_int_eq(graph_set_add_edge(&d->graphs, i - 1, i, &err), 0);
            if (i > 2 && i % 3 == 0) ck_assert_int_eq(graph_set_add_edge(&d->graphs, i - 3, i, &err), 0);
        }
        ck_assert_int_eq(graph_set_end_graph(&d->graphs, &err), 0);
    }
    ck_assert_int_eq(graph_set_finish(&d->graphs, &err), 0);
    d->n_devices = 2;
    d->device_names = malloc(2 * sizeof(char *));
    d->device_names[0] = strdup("a");
    d->device_names[1] = strdup("b");
    d->n_targets = 2;
    d->targets = calloc(2, sizeof(label_target));
    for (int t = 0; t < 2; t++) {
        label_target *lt = &d->targets[t];
        lt->name = strdup("latency_ms");
        lt->unit = strdup("ms");
        lt->level = t == 0 ? LABEL_NODE : LABEL_GRAPH;
        int64_t rows = t == 0 ? d->graphs.n_nodes : d->graphs.n_graphs;
        lt->values = malloc((size_t)rows * 2 * sizeof(float));
        for (int64_t k = 0; k < rows * 2; k++) lt->values[k] = (k % 7 == 3) ? NAN : 0.01f + rng_uniform(&r);
    }
    ck_assert_int_eq(dataset_validate(d, &err), 0);
}

START_TEST(test_training_step_allocates_nothing)
{
    gp_error err;
    dataset d;
    make_dataset(&d);
    int64_t ids[40];
    for (int g = 0; g < 40; g++) ids[g] = g;
    int node_t = 0, graph_t = 1;
    int32_t devs[2] = {0, 1};
    batch_spec bs = {.max_batch_graphs = 8, .train_graphs = ids, .n_train = 40, .n_node_t = 1, .n_graph_t = 1,
                     .node_targets = &node_t, .graph_targets = &graph_t, .n_dev = 2, .model_dev = devs};
    batcher b;
    ck_assert_msg(batcher_init(&b, &d, &bs, &err) == 0, "%s", err.msg);
    model_config c;
    model_config_defaults(&c);
    c.in_dim = featurize_dim();
    c.n_devices = 2;
    c.n_node_targets = 1;
    c.n_graph_targets = 1;
    model m;
    ck_assert_msg(model_build(&m, &c, &b.lim, &err) == 0, "%s", err.msg);
    model_prepare_training(&m);
    adam_config ac;
    adam_config_defaults(&ac);
    ac.clip_norm = 1.0f;
    ac.weight_decay = 1e-4f;
    rng r;
    rng_seed(&r, 3);
    int forward_failures = 0;
    for (int step = 1; step <= 41; step++) {
        if (step == 2) counting = 1; /* step 1 warms OpenMP's thread pool */ /* step 1 warms OpenMP's thread pool */
        /* batches of 1..8 graphs drawn at random: many remainder sizes */
        int64_t n = 1 + (int64_t)rng_below(&r, 8);
        rng_shuffle(&r, ids, 40);
        gnn_batch gb;
        batcher_fill(&b, ids, n, &gb);
        /* No ck_assert in the loop: Check allocates for every assertion. */
        forward_failures += model_forward(&m, &gb, &err) != 0;
        loss_term(m.d_node_out, NULL, m.node_out, b.node_y, gb.n_nodes * 2, 1, b.node_sigma, LOSS_MSE_LOG, 1.0f);
        loss_term(m.d_graph_out, NULL, m.graph_out, b.graph_y, n * 2, 1, b.graph_sigma, LOSS_REL_SQ, 1.0f);
        params_zero_grad(&m.params);
        model_backward(&m, &gb);
        grad_clip(&m.params, ac.clip_norm);
        adam_step(&m.params, &ac, step, adam_lr_at(&ac, step));
    }
    counting = 0;
    ck_assert_int_eq(forward_failures, 0);
    ck_assert_msg(allocations == 0, "%ld allocations in 40 training steps", allocations);
    model_free(&m);
    batcher_free(&b);
    dataset_free(&d);
}
END_TEST

int main(void)
{
    kernels_init(0);
    Suite *s = suite_create("noalloc");
    TCase *tc = tcase_create("step");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_training_step_allocates_nothing);
    suite_add_tcase(s, tc);
    return check_run(s);
}
