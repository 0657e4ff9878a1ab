/* GNN correctness by finite differences: every layer type, readout, norm and
 * residual setting, the device network, both heads and every loss, checked
 * through the whole model; the loss functions on their own; the optimizer
 * against hand-computed steps; determinism of a fixed seed.
 *
 * Float32 central differences with step 1e-3 carry about 1e-4 absolute
 * noise, and a ReLU or max kink inside the step makes an entry disagree
 * legitimately. So each entry is differenced with two steps; where the two
 * disagree the point sits at a kink and is skipped (at most a quarter of a
 * tensor may be); every other entry must agree within 2% plus the float
 * noise of the difference. */
#include <check.h>
#include <omp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/batch.h"
#include "gnn/layers.h"
#include "gnn/loss.h"
#include "gnn/model.h"
#include "gnn/optim.h"
#include "gnn/source_heads.h"
#include "gnn/stack.h"
#include "graph/graph.h"
#include "graph/ops.h"
#include "check_run.h"

/* A batch of 3 graphs: a single isolated node; a 5-node diamond with a
 * skip edge; a 7-node chain with a fan-out and a node used twice. */
typedef struct test_batch {
    gnn_batch b;
    int64_t graph_off[4];
    int64_t pred_ptr[14], pred_idx[32], succ_ptr[14], succ_idx[32];
    float x[13 * 8];
    int32_t dev_ids[2];
    float desc[2 * 3];
    float node_y[13 * 2 * 2], graph_y[3 * 2 * 2];
    float readout_lw[13 * 2 * 2];
} test_batch;

/* Scales of the two targets of each head. */
static const float SIGMA[2] = {1.3f, 0.7f};

static void make_batch(test_batch *t, int F, uint64_t seed)
{
    static const int E = 12;
    static const int src[] = {1, 1, 2, 3, 1, 6, 7, 8, 8, 9, 9, 7};
    static const int dst[] = {2, 3, 4, 4, 5, 7, 8, 9, 10, 12, 12, 11};
    memset(t, 0, sizeof *t);
    int64_t N = 13;
    t->graph_off[0] = 0;
    t->graph_off[1] = 1;
    t->graph_off[2] = 6;
    t->graph_off[3] = 13;
    for (int e = 0; e < E; e++) {
        t->pred_ptr[dst[e] + 1]++;
        t->succ_ptr[src[e] + 1]++;
    }
    for (int i = 0; i < N; i++) {
        t->pred_ptr[i + 1] += t->pred_ptr[i];
        t->succ_ptr[i + 1] += t->succ_ptr[i];
    }
    int64_t fp[14] = {0}, fs[14] = {0};
    for (int e = 0; e < E; e++) {
        t->pred_idx[t->pred_ptr[dst[e]] + fp[dst[e]]++] = src[e];
        t->succ_idx[t->succ_ptr[src[e]] + fs[src[e]]++] = dst[e];
    }
    rng r;
    rng_seed(&r, seed);
    for (int k = 0; k < N * F; k++) t->x[k] = rng_normal(&r);
    for (int k = 0; k < 6; k++) t->desc[k] = rng_normal(&r);
    for (int k = 0; k < 13 * 2 * 2; k++) t->node_y[k] = (k % 5 == 3) ? NAN : rng_normal(&r);
    for (int k = 0; k < 3 * 2 * 2; k++) t->graph_y[k] = (k == 1) ? NAN : rng_normal(&r);
    t->dev_ids[0] = 2;
    t->dev_ids[1] = 0;
    gnn_batch *b = &t->b;
    b->n_nodes = N;
    b->n_edges = E;
    b->n_graphs = 3;
    b->x = t->x;
    b->csr = (graph_csr){N, t->pred_ptr, t->pred_idx, t->succ_ptr, t->succ_idx};
    b->graph_off = t->graph_off;
    b->n_dev = 2;
    b->dev_ids = t->dev_ids;
    b->descriptors = t->desc;
    /* The additive readout's inputs (other readouts ignore them): graph
     * target 0 takes a prior with uneven node shares, target 1 none. */
    for (int k = 0; k < 13 * 2; k++) {
        t->readout_lw[k * 2] = -1.0f + 0.5f * rng_normal(&r);
        t->readout_lw[k * 2 + 1] = 0.0f;
    }
    b->graph_sigma = SIGMA;
    b->readout_lw = t->readout_lw;
}

/* Loss of the model on the batch; with grads set, also the backward pass. */
static double model_loss(model *m, test_batch *t, int kind, int backward)
{
    gp_error err;
    ck_assert_msg(model_forward(m, &t->b, &err) == 0, "%s", err.msg);
    int64_t n;
    double L = 0.0;
    const model_config *c = &m->cfg;
    if (c->n_node_targets)
        L += loss_term(m->d_node_out, &n, m->node_out, t->node_y, 13 * 2, c->n_node_targets, SIGMA, kind, 0.7f);
    if (c->n_graph_targets)
        L += loss_term(m->d_graph_out, &n, m->graph_out, t->graph_y, 3 * 2, c->n_graph_targets, SIGMA, kind, 1.0f);
    if (backward) {
        params_zero_grad(&m->params);
        model_backward(m, &t->b);
    }
    return L;
}

static void check_model_gradients(int layer, int pool, int norm, int residual, int n_desc, int kind)
{
    model_config c;
    model_config_defaults(&c);
    c.in_dim = 4;
    c.hidden = 6;
    c.head_hidden = 5;
    c.n_layers = 2;
    c.layer = layer;
    c.pool = pool;
    c.norm = norm;
    c.residual = residual;
    c.n_devices = 3;
    c.device_dim = 3;
    c.n_descriptors = n_desc;
    c.n_node_targets = 2;
    c.n_graph_targets = 2;
    c.seed = 7;
    model_limits lim = {16, 32, 4, 2};
    model m;
    gp_error err;
    ck_assert_msg(model_build(&m, &c, &lim, &err) == 0, "%s", err.msg);
    model_prepare_training(&m);
    /* Non-zero biases, eps and attention so their gradients are exercised away from 0. */
    rng r;
    rng_seed(&r, 99);
    for (int64_t k = 0; k < m.params.size; k++) m.params.value[k] += 0.1f * rng_normal(&r);
    test_batch t;
    make_batch(&t, c.in_dim, 5);
    model_loss(&m, &t, kind, 1);
    float *analytic = malloc((size_t)m.params.size * sizeof(float));
    memcpy(analytic, m.params.grad, (size_t)m.params.size * sizeof(float));

    const float h = 1e-3f;
    for (int i = 0; i < m.params.n_tensors; i++) {
        const param_tensor *pt = &m.params.t[i];
        int64_t count = param_count(&m.params, i), bad = 0, worst = -1, skipped = 0;
        double worst_fd = 0, worst_an = 0;
        for (int64_t k = 0; k < count; k++) {
            float *w = m.params.value + pt->offset + k;
            float keep = *w;
            double fd[2], noise[2];
            const float steps[2] = {h, h / 4};
            for (int j = 0; j < 2; j++) {
                *w = keep + steps[j];
                double lp = model_loss(&m, &t, kind, 0);
                *w = keep - steps[j];
                double lm = model_loss(&m, &t, kind, 0);
                *w = keep;
                fd[j] = (lp - lm) / (2.0 * steps[j]);
                /* Float noise of a central difference: ~1e-7 relative error
                 * of each loss value, divided by the step. */
                noise[j] = 4e-7 * (fabs(lp) + fabs(lm)) / (2.0 * steps[j]) + 1e-4;
            }
            /* Two step sizes disagreeing means a ReLU or max kink lies within
             * the step: the derivative is not defined there; skip the point. */
            if (fabs(fd[0] - fd[1]) > 2e-2 * fmax(fabs(fd[0]), fabs(fd[1])) + noise[1]) {
                skipped++;
                continue;
            }
            /* Richardson extrapolation cancels the h^2 truncation error of
             * central differences, which layer norm's curvature makes large. */
            double best = (16.0 * fd[1] - fd[0]) / 15.0;
            double an = analytic[pt->offset + k];
            if (fabs(best - an) > 2e-2 * fmax(fabs(best), fabs(an)) + noise[1] * 17.0 / 15.0) {
                bad++;
                if (worst < 0 || fabs(fd[0] - an) > fabs(worst_fd - worst_an)) {
                    worst = k;
                    worst_fd = best;
                    worst_an = an;
                }
            }
        }
        ck_assert_msg(bad == 0 && skipped <= count / 4 + 1,
                      "layer %s pool %s norm %d residual %d desc %d loss %s: tensor %s: %lld of %lld entries "
                      "disagree, %lld skipped at kinks; worst [%lld] finite difference %.6g, analytic %.6g",
                      layer_type_name(layer), pool_type_name(pool), norm, residual, n_desc, loss_kind_name(kind),
                      pt->name, (long long)bad, (long long)count, (long long)skipped, (long long)worst, worst_fd,
                      worst_an);
    }
    free(analytic);
    model_free(&m);
}

START_TEST(test_grad_layers)
{
    /* _i enumerates layer type x norm x residual */
    int layer = _i % LAYER_TYPE_COUNT, norm = (_i / LAYER_TYPE_COUNT) % 2, residual = (_i / LAYER_TYPE_COUNT) / 2;
    check_model_gradients(layer, POOL_ATTENTION, norm, residual, 3, LOSS_MSE_LOG);
}
END_TEST

START_TEST(test_grad_pools)
{
    check_model_gradients(LAYER_SAGE_MEAN, _i, 1, 1, 0, LOSS_MSE_LOG);
}
END_TEST

/* The additive readout, in label space: exp(sigma out + mu) must equal the
 * sum over the graph's nodes of exp(lw) exp(sigma z + mu), for any mu;
 * with lw the nodes' prior shares and z constant, out is that constant. */
START_TEST(test_additive_readout_sums)
{
    const int64_t off[4] = {0, 1, 4, 9}, G = 3, D = 2;
    const int T = 2;
    const float sigma[2] = {1.7f, 0.4f}, mu = 2.3f;
    float z[9 * 2 * 2], lw[9 * 2 * 2], p[9 * 2 * 2], out[3 * 2 * 2];
    rng r;
    rng_seed(&r, 5);
    for (int k = 0; k < 9 * 2 * 2; k++) {
        z[k] = 3.0f * rng_normal(&r); /* spans decades, as node costs do */
        lw[k] = rng_normal(&r);
    }
    additive_readout_forward(out, p, z, lw, sigma, off, G, D, T);
    for (int64_t g = 0; g < G; g++)
        for (int64_t d = 0; d < D; d++)
            for (int t = 0; t < T; t++) {
                double sum = 0.0, share = 0.0;
                for (int64_t i = off[g]; i < off[g + 1]; i++) {
                    int64_t k = (i * D + d) * T + t;
                    sum += exp(lw[k]) * exp(sigma[t] * z[k] + mu);
                    share += p[k];
                }
                double got = exp(sigma[t] * out[(g * D + d) * T + t] + mu);
                ck_assert_msg(fabs(got / sum - 1.0) < 1e-5, "graph %lld device %lld target %d: %.9g vs sum %.9g",
                              (long long)g, (long long)d, t, got, sum);
                ck_assert_msg(fabs(share - 1.0) < 1e-5, "shares of graph %lld sum to %.9g", (long long)g, share);
            }
    /* prior shares 0.5, 0.3, 0.2 and z = 0.25 everywhere: out = 0.25 */
    const int64_t off1[2] = {0, 3};
    const float shares[3] = {0.5f, 0.3f, 0.2f};
    float z1[3], lw1[3], p1[3], o1;
    for (int i = 0; i < 3; i++) {
        z1[i] = 0.25f;
        lw1[i] = logf(shares[i]);
    }
    additive_readout_forward(&o1, p1, z1, lw1, sigma, off1, 1, 1, 1);
    ck_assert_msg(fabsf(o1 - 0.25f) < 1e-6f, "constant score with prior shares gives %.9g", o1);
    for (int i = 0; i < 3; i++) ck_assert_msg(fabsf(p1[i] - shares[i]) < 1e-6f, "share %d is %.9g", i, p1[i]);
}
END_TEST

START_TEST(test_grad_losses)
{
    check_model_gradients(LAYER_DIRECTED, POOL_MEAN, 1, 1, 2, _i);
}
END_TEST

START_TEST(test_loss_values)
{
    float pred[4] = {0.5f, 1.0f, -2.0f, 3.0f}, target[4] = {0.0f, NAN, -1.0f, 3.0f}, grad[4];
    float sigma[2] = {2.0f, 1.0f};
    int64_t n;
    /* MSE: measured entries 0, 2, 3 -> (0.25 + 1 + 0) / 3 */
    double L = loss_term(grad, &n, pred, target, 2, 2, sigma, LOSS_MSE_LOG, 1.0f);
    ck_assert_int_eq(n, 3);
    ck_assert_double_eq_tol(L, 1.25 / 3.0, 1e-7);
    ck_assert_float_eq(grad[1], 0.0f);
    ck_assert_float_eq_tol(grad[2], 2.0f * -1.0f / 3.0f, 1e-7);
    /* Relative: entry 0 has sigma 2, e 0.5 -> (e^1 - 1)^2 */
    L = loss_term(grad, &n, pred, target, 2, 2, sigma, LOSS_REL_SQ, 3.0f);
    double want = 3.0 * (pow(exp(1.0) - 1.0, 2) + pow(exp(2.0 * -1.0) - 1.0, 2) + 0.0) / 3.0;
    ck_assert_double_eq_tol(L, want, 1e-6);
    /* Huber: |e| = 1 sits on the boundary: 0.5 */
    L = loss_term(grad, &n, pred, target, 2, 2, sigma, LOSS_HUBER_LOG, 1.0f);
    ck_assert_double_eq_tol(L, (0.125 + 0.5 + 0.0) / 3.0, 1e-7);
    /* Nothing measured: zero loss and gradient. */
    float none[2] = {NAN, NAN};
    L = loss_term(grad, &n, pred, none, 1, 2, sigma, LOSS_MSE_LOG, 1.0f);
    ck_assert_double_eq(L, 0.0);
    ck_assert_float_eq(grad[0], 0.0f);
    /* A prediction far off must not overflow the relative loss. */
    float far[1] = {1000.0f}, zero[1] = {0.0f};
    L = loss_term(grad, &n, far, zero, 1, 1, sigma, LOSS_REL_SQ, 1.0f);
    ck_assert(isfinite(L) && isfinite(grad[0]));
}
END_TEST

START_TEST(test_loss_fd)
{
    float pred[6] = {0.3f, -0.2f, 0.9f, 1.4f, -0.7f, 0.05f}, target[6] = {0.1f, NAN, 1.1f, -0.4f, -0.2f, 0.5f};
    float grad[6], sigma[3] = {0.8f, 1.1f, 0.5f};
    for (int kind = 0; kind < LOSS_KIND_COUNT; kind++) {
        loss_term(grad, NULL, pred, target, 2, 3, sigma, kind, 0.6f);
        float g[6];
        for (int k = 0; k < 6; k++) {
            float keep = pred[k];
            pred[k] = keep + 1e-3f;
            double lp = loss_term(g, NULL, pred, target, 2, 3, sigma, kind, 0.6f);
            pred[k] = keep - 1e-3f;
            double lm = loss_term(g, NULL, pred, target, 2, 3, sigma, kind, 0.6f);
            pred[k] = keep;
            ck_assert_msg(fabs((lp - lm) / 2e-3 - grad[k]) < 1e-3, "loss %s entry %d: fd %g analytic %g",
                          loss_kind_name(kind), k, (lp - lm) / 2e-3, grad[k]);
        }
    }
}
END_TEST

START_TEST(test_adam_step)
{
    param_store p;
    gp_error err;
    params_init(&p);
    ck_assert_int_ge(params_add(&p, "w", 2, 2, &err), 0);
    ck_assert_int_ge(params_add(&p, "b", 1, 2, &err), 0);
    ck_assert_int_eq(params_alloc(&p, &err), 0);
    float *w = param_value(&p, 0), *b = param_value(&p, 1);
    for (int k = 0; k < 4; k++) w[k] = 1.0f;
    b[0] = b[1] = 1.0f;
    for (int k = 0; k < 4; k++) param_grad(&p, 0)[k] = 0.5f;
    param_grad(&p, 1)[0] = -2.0f;
    param_grad(&p, 1)[1] = 0.0f;
    adam_config c;
    adam_config_defaults(&c);
    c.lr = 0.1f;
    c.weight_decay = 0.01f;
    adam_step(&p, &c, 1, c.lr);
    /* First step: m_hat = g, v_hat = g^2, so the update is lr * sign(g)
     * (up to eps), plus decoupled decay lr * wd * w on matrices only. */
    ck_assert_float_eq_tol(w[0], 1.0f - 0.1f - 0.1f * 0.01f, 1e-6);
    ck_assert_float_eq_tol(b[0], 1.0f + 0.1f, 1e-6);
    ck_assert_float_eq_tol(b[1], 1.0f, 1e-6);
    /* Clipping scales the global norm down to the limit. */
    for (int k = 0; k < 4; k++) param_grad(&p, 0)[k] = 3.0f;
    param_grad(&p, 1)[0] = param_grad(&p, 1)[1] = 0.0f;
    double norm = grad_clip(&p, 1.5f);
    ck_assert_double_eq_tol(norm, 6.0, 1e-9);
    ck_assert_float_eq_tol(param_grad(&p, 0)[0], 0.75f, 1e-7);
    /* Schedule: warm-up then cosine to the floor. */
    c.warmup_steps = 10;
    c.total_steps = 110;
    c.schedule = LR_COSINE;
    c.min_lr_ratio = 0.1f;
    ck_assert_float_eq_tol(adam_lr_at(&c, 5), 0.05f, 1e-7);
    ck_assert_float_eq_tol(adam_lr_at(&c, 10), 0.1f, 1e-7);
    ck_assert_float_eq_tol(adam_lr_at(&c, 60), 0.1f * (0.1f + 0.9f * 0.5f), 1e-6);
    ck_assert_float_eq_tol(adam_lr_at(&c, 110), 0.01f, 1e-7);
    params_free(&p);
}
END_TEST

/* Several steps against AdamW written out in double (PyTorch's order: the
 * decay first, then the bias-corrected update): from step 2 on the bias
 * correction and the moments' memory matter, which step 1 cannot show. */
START_TEST(test_adam_steps_reference)
{
    param_store p;
    gp_error err;
    params_init(&p);
    ck_assert_int_ge(params_add(&p, "w", 2, 2, &err), 0);
    ck_assert_int_ge(params_add(&p, "b", 1, 2, &err), 0);
    ck_assert_int_eq(params_alloc(&p, &err), 0);
    adam_config c;
    adam_config_defaults(&c);
    c.lr = 0.05f;
    c.weight_decay = 0.1f;
    double ref[6], m[6] = {0}, v[6] = {0};
    for (int k = 0; k < 6; k++) {
        float *x = k < 4 ? param_value(&p, 0) + k : param_value(&p, 1) + k - 4;
        *x = 0.5f + 0.25f * (float)k;
        ref[k] = *x;
    }
    for (int t = 1; t <= 5; t++) {
        for (int k = 0; k < 6; k++) {
            float g = (float)(0.3 * sin(1.7 * k + 0.9 * t) + 0.05 * k);
            if (k < 4) param_grad(&p, 0)[k] = g;
            else param_grad(&p, 1)[k - 4] = g;
            double lr = c.lr, b1 = c.beta1, b2 = c.beta2;
            if (k < 4) ref[k] -= lr * c.weight_decay * ref[k]; /* decay: matrices only */
            m[k] = b1 * m[k] + (1 - b1) * g;
            v[k] = b2 * v[k] + (1 - b2) * (double)g * g;
            double mh = m[k] / (1 - pow(b1, t)), vh = v[k] / (1 - pow(b2, t));
            ref[k] -= lr * mh / (sqrt(vh) + c.eps);
        }
        adam_step(&p, &c, t, c.lr);
        for (int k = 0; k < 6; k++) {
            float x = k < 4 ? param_value(&p, 0)[k] : param_value(&p, 1)[k - 4];
            ck_assert_double_eq_tol(x, ref[k], 1e-5);
        }
    }
    params_free(&p);
}
END_TEST

START_TEST(test_determinism)
{
    /* Same seed, same batch, a few steps: bit-identical parameters. */
    float *final[2];
    for (int run = 0; run < 2; run++) {
        model_config c;
        model_config_defaults(&c);
        c.in_dim = 4;
        c.hidden = 16;
        c.n_devices = 3;
        c.n_descriptors = 3;
        c.n_node_targets = 2;
        c.n_graph_targets = 2;
        model_limits lim = {16, 32, 4, 2};
        model m;
        gp_error err;
        ck_assert_int_eq(model_build(&m, &c, &lim, &err), 0);
        model_prepare_training(&m);
        test_batch t;
        make_batch(&t, c.in_dim, 3);
        adam_config ac;
        adam_config_defaults(&ac);
        double first = 0, last = 0;
        for (int step = 1; step <= 30; step++) {
            double L = model_loss(&m, &t, LOSS_MSE_LOG, 1);
            if (step == 1) first = L;
            last = L;
            adam_step(&m.params, &ac, step, ac.lr);
        }
        ck_assert_msg(last < first, "30 Adam steps on one batch must reduce the loss (%g -> %g)", first, last);
        final[run] = malloc((size_t)m.params.size * sizeof(float));
        memcpy(final[run], m.params.value, (size_t)m.params.size * sizeof(float));
        if (run == 1) ck_assert_int_eq(memcmp(final[0], final[1], (size_t)m.params.size * sizeof(float)), 0);
        model_free(&m);
    }
    free(final[0]);
    free(final[1]);
}
END_TEST

/* The fused layer (one pass per 64-row block) against mp_forward followed by
 * layernorm_forward: the same bits, with and without saved tensors, with 1
 * and 2 threads, on a graph whose size is not a multiple of the block. */
START_TEST(test_fused_layer_bits)
{
    enum { N = 150, H = 24 };
    static int64_t pptr[N + 1], pidx[4 * N], sptr[N + 1], sidx[4 * N];
    rng r;
    rng_seed(&r, 5);
    int64_t e = 0;
    pptr[0] = 0;
    for (int i = 0; i < N; i++) {
        int deg = i == 0 ? 0 : (int)(rng_next(&r) % 4);
        for (int k = 0; k < deg; k++) pidx[e++] = (int64_t)(rng_next(&r) % (uint64_t)i);
        pptr[i + 1] = e;
    }
    csr_reverse(sptr, sidx, pptr, pidx, N);
    graph_csr g = {N, pptr, pidx, sptr, sidx};
    static float h[N * H], Ws[H * H], Wp[H * H], Wc[H * H], b[H], gam[H], bet[H];
    for (int k = 0; k < N * H; k++) h[k] = rng_normal(&r);
    for (int k = 0; k < H * H; k++) {
        Ws[k] = 0.3f * rng_normal(&r);
        Wp[k] = 0.3f * rng_normal(&r);
        Wc[k] = 0.3f * rng_normal(&r);
    }
    for (int k = 0; k < H; k++) {
        b[k] = 0.1f * rng_normal(&r);
        gam[k] = 1.0f + 0.1f * rng_normal(&r);
        bet[k] = 0.1f * rng_normal(&r);
    }
    gemm_plan p;
    gp_error err;
    ck_assert_int_eq(gemm_plan_init(&p, H, H, &err), 0);
    static float ref_y[N * H], ref_pre[N * H], ref_ap[N * H], ref_as[N * H], ref_a[N * H], ref_xh[N * H], ref_rs[N];
    static float y[N * H], ap[N * H], as[N * H], a[N * H], xh[N * H], rs[N];
    float *scratch = malloc(sizeof(float) * 2 * (size_t)mp_fused_scratch_floats(H));
    ck_assert_ptr_nonnull(scratch);
    for (int variant = 0; variant < 8; variant++) {
        const int directed = variant & 1, norm = variant >> 1 & 1, residual = variant >> 2 & 1;
        const float *wc = directed ? Wc : NULL;
        mp_forward(norm ? ref_pre : ref_y, ref_ap, ref_as, ref_a, h, Ws, Wp, wc, b, &g, H, AGG_MEAN, residual, &p);
        if (norm) layernorm_forward(ref_y, ref_xh, ref_rs, ref_pre, gam, bet, N, H);
        for (int threads = 1; threads <= 2; threads++) {
            for (int save = 0; save <= 1; save++) {
                omp_set_num_threads(threads);
                memset(y, 0, sizeof y);
                mp_fused_args fa = {.y = y,
                                    .saved = {.agg_p = save ? ap : NULL, .agg_s = save && directed ? as : NULL,
                                              .a = save ? a : NULL, .xhat = save && norm ? xh : NULL,
                                              .rstd = save && norm ? rs : NULL},
                                    .h = h, .Ws = Ws, .Wp = Wp, .Wc = wc, .b = b,
                                    .gamma = norm ? gam : NULL, .beta = norm ? bet : NULL, .g = &g, .H = H,
                                    .agg = AGG_MEAN, .residual = residual, .p = &p};
                mp_fused_forward(&fa, scratch, 2);
                ck_assert_msg(memcmp(y, ref_y, sizeof y) == 0, "variant %d threads %d save %d: output differs",
                              variant, threads, save);
                if (save) {
                    ck_assert(memcmp(ap, ref_ap, sizeof ap) == 0);
                    ck_assert(memcmp(a, ref_a, sizeof a) == 0);
                    if (directed) ck_assert(memcmp(as, ref_as, sizeof as) == 0);
                    if (norm) {
                        ck_assert(memcmp(xh, ref_xh, sizeof xh) == 0);
                        ck_assert(memcmp(rs, ref_rs, sizeof rs) == 0);
                    }
                }
            }
        }
    }
    omp_set_num_threads(1);
    free(scratch);
    gemm_plan_free(&p);
}
END_TEST

START_TEST(test_config_errors)
{
    model_config c;
    model_config_defaults(&c);
    gp_error err;
    c.in_dim = 0;
    c.n_graph_targets = 1;
    ck_assert_int_lt(model_config_validate(&c, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "in_dim is 0"));
    c.in_dim = 4;
    c.n_graph_targets = 0;
    ck_assert_int_lt(model_config_validate(&c, &err), 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "no targets"));
    c.n_graph_targets = 1;
    ck_assert_int_eq(model_config_validate(&c, &err), 0);
    model m;
    model_limits lim = {16, 32, 4, 1};
    ck_assert_int_eq(model_build(&m, &c, &lim, &err), 0);
    test_batch t;
    make_batch(&t, 4, 1);
    t.b.n_dev = 1;
    ck_assert_int_eq(model_forward(&m, &t.b, &err), -1); /* device id 2 outside a 1-device table */
    ck_assert_ptr_nonnull(strstr(err.msg, "outside the table"));
    t.dev_ids[0] = 0;
    t.b.n_nodes = 17;
    ck_assert_int_eq(model_forward(&m, &t.b, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "exceeds"));
    model_free(&m);
}
END_TEST

/* Untrained devices' rows become the trained rows' mean; trained rows and
 * every other tensor stay; with nothing trained, nothing moves. */
START_TEST(test_neutral_device_rows)
{
    model_config c;
    model_config_defaults(&c);
    c.in_dim = 4;
    c.n_graph_targets = 1;
    c.n_devices = 4;
    c.device_dim = 3;
    model m;
    model_limits lim = {16, 32, 4, 4};
    gp_error err;
    ck_assert_int_eq(model_build(&m, &c, &lim, &err), 0);
    float *emb = param_value(&m.params, m.dev_emb);
    float before[12];
    memcpy(before, emb, sizeof before);
    int8_t none[4] = {0, 0, 0, 0}, trained[4] = {1, 0, 1, 0};
    model_neutral_device_rows(&m, none);
    ck_assert_int_eq(memcmp(before, emb, sizeof before), 0);
    model_neutral_device_rows(&m, trained);
    for (int k = 0; k < 3; k++) {
        float mean = (before[0 * 3 + k] + before[2 * 3 + k]) / 2.0f;
        ck_assert_float_eq(emb[0 * 3 + k], before[0 * 3 + k]);
        ck_assert_float_eq(emb[2 * 3 + k], before[2 * 3 + k]);
        ck_assert_float_eq_tol(emb[1 * 3 + k], mean, 1e-7f);
        ck_assert_float_eq_tol(emb[3 * 3 + k], mean, 1e-7f);
    }
    model_free(&m);
}
END_TEST

/* descriptor_stats over the used rows only: an unused row's values move
 * nothing, a constant column keeps unit scale, and a column only unused
 * rows know gets std 0 and reads as 0 for every device. */
START_TEST(test_descriptor_stats_use)
{
    const double raw[4 * 3] = {
        1.0, 10.0, NAN,  /* used */
        3.0, 10.0, NAN,  /* used */
        1e6, 1e6,  5.0,  /* held out: its values must not count */
        NAN, 10.0, NAN,  /* used, first column unknown */
    };
    const int8_t use[4] = {1, 1, 0, 1};
    float mean[3], std[3], out[4 * 3];
    descriptor_stats(mean, std, raw, 4, 3, use);
    double l1 = log1p(1.0), l3 = log1p(3.0);
    ck_assert_float_eq_tol(mean[0], (float)((l1 + l3) / 2), 1e-6f);
    ck_assert_float_eq_tol(std[0], (float)((l3 - l1) / 2), 1e-6f);
    ck_assert_float_eq_tol(mean[1], (float)log1p(10.0), 1e-6f);
    ck_assert_float_eq(std[1], 1.0f);
    ck_assert_float_eq(std[2], 0.0f);
    descriptor_normalise(out, raw, 4, 3, mean, std);
    ck_assert_float_eq_tol(out[0], -1.0f, 1e-6f);
    ck_assert_float_eq_tol(out[3], 1.0f, 1e-6f);
    ck_assert_float_eq(out[9], 0.0f);   /* unknown: the mean */
    ck_assert_float_eq(out[2 * 3 + 2], 0.0f); /* a column nobody used knows */
    ck_assert(out[2 * 3 + 0] > 5.0f);    /* the held-out row is still read, only not counted */
    /* NULL: every row counts */
    descriptor_stats(mean, std, raw, 4, 3, NULL);
    ck_assert_float_eq_tol(mean[2], (float)log1p(5.0), 1e-6f);
    ck_assert_float_eq(std[2], 1.0f);
}
END_TEST

/* stack (gnn/stack.h): on noiseless log-linear labels the ridge fit
 * reproduces them, classes that do not vary are left out, too few shots
 * leave a target unfitted, and validation catches a bad source id. The
 * nodes have no shapes, so the cost totals are 0 everywhere (constant
 * columns, left out of the fit). */
START_TEST(test_stack_fit)
{
    enum { G = 30 };
    graph_set gs;
    graph_set_init(&gs);
    gp_error err;
    for (int g = 0; g < G; g++) {
        char name[32];
        snprintf(name, sizeof name, "g%d", g);
        ck_assert_int_eq(graph_set_begin_graph(&gs, name, &err), 0);
        graph_node a;
        graph_node_defaults(&a);
        a.kind = OP_INPUT;
        ck_assert(graph_set_add_node(&gs, "x", &a, NULL, 0, &err) == 0);
        int k = 1;
        for (int i = 0; i < 1 + g % 5 + g % 3; i++, k++) {
            graph_node_defaults(&a);
            a.kind = i <= g % 5 ? OP_CONV2D : OP_ACTIVATION;
            if (a.kind == OP_CONV2D) a.kernel[0] = a.kernel[1] = 3;
            else a.fn = FN_RELU;
            snprintf(name, sizeof name, "n%d", k);
            ck_assert(graph_set_add_node(&gs, name, &a, NULL, 0, &err) == k);
            ck_assert_int_eq(graph_set_add_edge(&gs, k - 1, k, &err), 0);
        }
        graph_node_defaults(&a);
        a.kind = OP_LINEAR;
        ck_assert(graph_set_add_node(&gs, "fc", &a, NULL, 0, &err) == k);
        ck_assert_int_eq(graph_set_add_edge(&gs, k - 1, k, &err), 0);
        ck_assert_int_eq(graph_set_end_graph(&gs, &err), 0);
    }
    ck_assert_msg(graph_set_finish(&gs, &err) == 0, "%s", err.msg);

    int64_t ids[G];
    for (int g = 0; g < G; g++) ids[g] = g;
    int32_t src[2] = {0, 2};
    graph_stack *s = stack_create("new", src, 2, 2);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(stack_choose_classes(s, &gs, ids, G, &err), 0);
    /* conv2d/k3 and relu vary; the linear node and the input do not count */
    ck_assert_int_eq(s->n_cls, 2);
    for (int k = 0; k < 2; k++) ck_assert(s->cls_kind[k] == OP_CONV2D || s->cls_kind[k] == OP_ACTIVATION);

    const int P = stack_n_features(s);
    ck_assert_int_eq(P, 6);
    double X[G * 6], y[G], x[6];
    for (int g = 0; g < G; g++) {
        /* source 0 varies, source 2 is the same for every graph */
        double sp[2] = {0.5 + 0.37 * (double)((g * 7) % 11), 3.0};
        stack_features(s, &gs, g, sp, X + g * P);
        ck_assert(fabs(X[g * P + 1] - log(3.0)) < 1e-12);
        double conv = 0, relu = 0;
        for (int k = 0; k < 2; k++) *(s->cls_kind[k] == OP_CONV2D ? &conv : &relu) = X[g * P + 4 + k];
        ck_assert(conv == 1 + g % 5 && relu == g % 3);
        y[g] = exp(0.2 + 0.8 * log(sp[0]) + 0.05 * conv - 0.03 * relu);
    }
    ck_assert_int_eq(stack_fit(s, 0, X, y, G, &err), 0);
    ck_assert(stack_has(s, 0) && !stack_has(s, 1));
    ck_assert(s->coef[1 + 1] == 0.5); /* the constant source keeps its equal share */
    ck_assert_msg(s->alpha[0] == 0.1 && s->loo_rmse[0] < 0.01, "alpha %g loo %g", s->alpha[0], s->loo_rmse[0]);
    double worst = 0;
    for (int g = 0; g < G; g++) {
        double e = fabs(stack_predict(s, 0, X + g * P) / y[g] - 1);
        if (e > worst) worst = e;
    }
    ck_assert_msg(worst < 0.01, "worst relative error %g", worst);
    /* a graph outside the fit: the law extends */
    memcpy(x, X, sizeof x);
    x[4 + (s->cls_kind[0] == OP_CONV2D ? 0 : 1)] += 2;
    ck_assert(fabs(stack_predict(s, 0, x) / (y[0] * exp(0.1)) - 1) < 0.02);

    ck_assert_int_eq(stack_fit(s, 1, X, y, STACK_MIN_SHOTS - 1, &err), 0);
    ck_assert(!stack_has(s, 1));
    y[3] = -1;
    ck_assert_int_eq(stack_fit(s, 1, X, y, G, &err), -1);
    ck_assert(strstr(err.msg, "not a positive number"));

    ck_assert_int_eq(stack_validate(s, 3, 2, &err), 0);
    ck_assert_int_eq(stack_validate(s, 2, 2, &err), -1); /* source id 2 of 2 devices */
    ck_assert(strstr(err.msg, "source device id 2"));
    ck_assert_int_eq(stack_validate(s, 3, 1, &err), -1);

    /* a blend: the stack alone at share 0, the model alone at 1, the
     * geometric mean between; a share outside [0, 1] does not validate */
    ck_assert(stack_blend(s, 0, 2.0, 8.0) == 8.0);
    s->model_share[0] = 1.0;
    ck_assert(fabs(stack_blend(s, 0, 2.0, 8.0) - 2.0) < 1e-12);
    s->model_share[0] = 0.5;
    ck_assert(fabs(stack_blend(s, 0, 2.0, 8.0) - 4.0) < 1e-12);
    ck_assert(stack_blend(s, 0, 0.0, 8.0) < 1e-100); /* an underflowed own prediction stays finite */
    ck_assert_int_eq(stack_validate(s, 3, 2, &err), 0);
    s->model_share[1] = -0.1;
    ck_assert_int_eq(stack_validate(s, 3, 2, &err), -1);
    ck_assert(strstr(err.msg, "model share"));
    s->model_share[1] = 0;
    stack_free(s);
    graph_set_free(&gs);
}
END_TEST

/* source_heads: copies are kept, applied by name, and a tensor the model
 * lacks or of another size is refused by name. */
START_TEST(test_source_heads)
{
    model_config c;
    model_config_defaults(&c);
    c.in_dim = 4;
    c.n_graph_targets = 1;
    c.head_hidden = 3;
    model m;
    model_limits lim = {16, 32, 4, 1};
    gp_error err;
    ck_assert_int_eq(model_build(&m, &c, &lim, &err), 0);
    source_heads h;
    memset(&h, 0, sizeof h);
    float v[3] = {1, 2, 3};
    ck_assert_int_eq(source_heads_add(&h, "graph_head.w2", v, 3, &err), 0);
    v[0] = 9;
    ck_assert(h.n == 1 && !strcmp(h.names[0], "graph_head.w2") && h.counts[0] == 3 && h.values[0][0] == 1 &&
              h.values[0][2] == 3);
    ck_assert_int_eq(source_heads_apply(&h, &m.params, &err), 0);
    const float *w2 = param_value(&m.params, m.gh_w2);
    ck_assert(w2[0] == 1 && w2[1] == 2 && w2[2] == 3);
    ck_assert_int_eq(source_heads_add(&h, "graph_head.b2", v, 2, &err), 0); /* b2 holds 1 value */
    ck_assert_int_eq(source_heads_apply(&h, &m.params, &err), -1);
    ck_assert(strstr(err.msg, "/source_heads/graph_head.b2: its size is not the model's"));
    source_heads_free(&h);
    ck_assert_int_eq(source_heads_add(&h, "nope", v, 1, &err), 0);
    ck_assert_int_eq(source_heads_apply(&h, &m.params, &err), -1);
    ck_assert(strstr(err.msg, "nope: the model has no such tensor"));
    source_heads_free(&h);
    ck_assert(h.n == 0 && !h.names);
    model_free(&m);
}
END_TEST

/* With no rows (R == 0) the pair head's device-side gradient is 0, whatever
 * the dB buffer held from an earlier call (one buffer serves both heads). */
START_TEST(test_pair_head_no_rows)
{
    enum { K = 4, HH = 3, DE = 2, D = 2 };
    gemm_plan px, pe, p2;
    gp_error err;
    ck_assert_int_eq(gemm_plan_init(&px, K, HH, &err), 0);
    ck_assert_int_eq(gemm_plan_init(&pe, DE, HH, &err), 0);
    ck_assert_int_eq(gemm_plan_init(&p2, HH, 1, &err), 0);
    float x[K] = {0}, e[D * DE] = {1, 1, 1, 1}, W[K * HH] = {0};
    float dW1x[K * HH] = {0}, dW1e[DE * HH] = {0}, de[D * DE] = {0}, db1[HH] = {0}, dW2[HH] = {0}, db2[1] = {0};
    float dB[D * HH] = {5, 5, 5, 5, 5, 5}, du[D * HH] = {0}, dA[HH] = {0}, u[D * HH] = {0}, dout[D] = {0};
    pair_head_backward(NULL, de, dW1x, dW1e, db1, dW2, db2, dout, du, dA, dB, u, x, e, W, W, W, 0, D, HH, &px, &pe,
                       &p2, NULL);
    for (int k = 0; k < DE * HH; k++) ck_assert_float_eq(dW1e[k], 0.0f);
    for (int k = 0; k < D * DE; k++) ck_assert_float_eq(de[k], 0.0f);
    gemm_plan_free(&px);
    gemm_plan_free(&pe);
    gemm_plan_free(&p2);
}
END_TEST

int main(void)
{
    kernels_init(1);
    Suite *s = suite_create("gnn");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_grad_layers, 0, LAYER_TYPE_COUNT * 4);
    tcase_add_loop_test(tc, test_grad_pools, 0, POOL_TYPE_COUNT);
    tcase_add_loop_test(tc, test_grad_losses, 0, LOSS_KIND_COUNT);
    tcase_add_test(tc, test_additive_readout_sums);
    tcase_add_test(tc, test_loss_values);
    tcase_add_test(tc, test_loss_fd);
    tcase_add_test(tc, test_adam_step);
    tcase_add_test(tc, test_adam_steps_reference);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_fused_layer_bits);
    tcase_add_test(tc, test_stack_fit);
    tcase_add_test(tc, test_neutral_device_rows);
    tcase_add_test(tc, test_descriptor_stats_use);
    tcase_add_test(tc, test_source_heads);
    tcase_add_test(tc, test_pair_head_no_rows);
    suite_add_tcase(s, tc);
    return check_run(s);
}
