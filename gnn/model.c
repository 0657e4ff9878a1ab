#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const LAYER_NAMES[LAYER_TYPE_COUNT] = {"sage_mean", "sage_sum", "gin", "directed"};
static const char *const POOL_NAMES[POOL_TYPE_COUNT] = {"sum", "mean", "max", "attention", "additive"};

const char *layer_type_name(int t) { return t >= 0 && t < LAYER_TYPE_COUNT ? LAYER_NAMES[t] : NULL; }
const char *pool_type_name(int t) { return t >= 0 && t < POOL_TYPE_COUNT ? POOL_NAMES[t] : NULL; }

int layer_type_from_name(const char *name)
{
    for (int i = 0; i < LAYER_TYPE_COUNT; i++)
        if (strcmp(name, LAYER_NAMES[i]) == 0) return i;
    return -1;
}

int pool_type_from_name(const char *name)
{
    for (int i = 0; i < POOL_TYPE_COUNT; i++)
        if (strcmp(name, POOL_NAMES[i]) == 0) return i;
    return -1;
}

void model_config_defaults(model_config *c)
{
    memset(c, 0, sizeof *c);
    c->hidden = 64;
    c->n_layers = 3;
    c->layer = LAYER_DIRECTED;
    c->residual = 1;
    c->norm = 1;
    c->pool = POOL_ATTENTION;
    c->head_hidden = 64;
    c->n_devices = 1;
    c->device_dim = 16;
    c->seed = 1;
}

int model_config_validate(const model_config *c, gp_error *err)
{
#define RANGE(field, lo, hi)                                                                                    \
    if (c->field < (lo) || c->field > (hi))                                                                     \
        return gp_errorf(err, "model config: " #field " is %d, expected %d..%d", (int)c->field, (int)(lo), \
                         (int)(hi));
    RANGE(in_dim, 1, 1 << 16);
    RANGE(hidden, 1, 4096);
    RANGE(n_layers, 0, MODEL_MAX_LAYERS);
    RANGE(layer, 0, LAYER_TYPE_COUNT - 1);
    RANGE(residual, 0, 1);
    RANGE(norm, 0, 1);
    RANGE(pool, 0, POOL_TYPE_COUNT - 1);
    RANGE(head_hidden, 1, 4096);
    RANGE(n_devices, 1, 1 << 20);
    RANGE(device_dim, 1, 1024);
    RANGE(n_descriptors, 0, 1024);
    RANGE(n_node_targets, 0, 64);
    RANGE(n_graph_targets, 0, 64);
#undef RANGE
    if (c->n_node_targets + c->n_graph_targets == 0)
        return gp_errorf(err, "model config: no targets (n_node_targets and n_graph_targets are both 0)");
    return 0;
}

static int add(model *m, const char *name, int rows, int cols, gp_error *err)
{
    return params_add(&m->params, name, rows, cols, err);
}

static int layout(model *m, gp_error *err)
{
    const model_config *c = &m->cfg;
    int H = c->hidden, Hh = c->head_hidden, De = c->device_dim;
    char name[PARAMS_NAME_MAX];
#define ADD(dst, nm, r, cc)                                  \
    do {                                                     \
        if (((dst) = add(m, (nm), (r), (cc), err)) < 0) return -1; \
    } while (0)
    ADD(m->w_in, "in.w", c->in_dim, H);
    ADD(m->b_in, "in.b", 1, H);
    for (int l = 0; l < c->n_layers; l++) {
        layer_params *lp = &m->layer[l];
        lp->wc = lp->eps = lp->w2 = lp->b2 = lp->gamma = lp->beta = -1;
#define LADD(dst, suffix, r, cc)                                   \
    do {                                                           \
        snprintf(name, sizeof name, "layer%d.%s", l, suffix);      \
        ADD(dst, name, r, cc);                                     \
    } while (0)
        if (c->layer == LAYER_GIN) {
            LADD(lp->ws, "w1", H, H);
            LADD(lp->b, "b1", 1, H);
            LADD(lp->w2, "w2", H, H);
            LADD(lp->b2, "b2", 1, H);
            LADD(lp->eps, "eps", 1, 1);
            lp->wp = -1;
        } else {
            LADD(lp->ws, "w_self", H, H);
            LADD(lp->wp, "w_pred", H, H);
            if (c->layer == LAYER_DIRECTED) LADD(lp->wc, "w_succ", H, H);
            LADD(lp->b, "b", 1, H);
        }
        if (c->norm) {
            LADD(lp->gamma, "norm.gamma", 1, H);
            LADD(lp->beta, "norm.beta", 1, H);
        }
#undef LADD
    }
    ADD(m->dev_emb, "device.embedding", c->n_devices, De);
    m->desc_w = m->desc_b = -1;
    if (c->n_descriptors) {
        ADD(m->desc_w, "device.desc.w", c->n_descriptors, De);
        ADD(m->desc_b, "device.desc.b", 1, De);
    }
    m->nh_w1x = m->gh_w1x = m->att_w = -1;
    if (c->n_node_targets) {
        ADD(m->nh_w1x, "node_head.w1x", H, Hh);
        ADD(m->nh_w1e, "node_head.w1e", De, Hh);
        ADD(m->nh_b1, "node_head.b1", 1, Hh);
        ADD(m->nh_w2, "node_head.w2", Hh, c->n_node_targets);
        ADD(m->nh_b2, "node_head.b2", 1, c->n_node_targets);
    }
    if (c->n_graph_targets) {
        if (c->pool == POOL_ATTENTION) {
            ADD(m->att_w, "pool.att.w", 1, H);
            ADD(m->att_b, "pool.att.b", 1, 1);
        }
        ADD(m->gh_w1x, "graph_head.w1x", H, Hh);
        ADD(m->gh_w1e, "graph_head.w1e", De, Hh);
        ADD(m->gh_b1, "graph_head.b1", 1, Hh);
        ADD(m->gh_w2, "graph_head.w2", Hh, c->n_graph_targets);
        ADD(m->gh_b2, "graph_head.b2", 1, c->n_graph_targets);
    }
#undef ADD
    return 0;
}

/* Biases and eps start at 0, norm gains at 1, the attention vector at 0
 * (uniform attention: a mean pool to start from), everything else Glorot. */
static void initialise(model *m)
{
    rng r;
    rng_seed(&r, m->cfg.seed);
    param_store *p = &m->params;
    for (int i = 0; i < p->n_tensors; i++) {
        const char *n = p->t[i].name;
        size_t len = strlen(n);
        int is_bias = len >= 3 && (strcmp(n + len - 2, ".b") == 0 || strcmp(n + len - 3, ".b1") == 0 ||
                                   strcmp(n + len - 3, ".b2") == 0);
        if (strstr(n, "gamma")) params_fill(p, i, 1.0f);
        else if (is_bias || strstr(n, "beta") || strstr(n, ".eps") || i == m->att_w) params_fill(p, i, 0.0f);
        else params_init_glorot(p, i, &r);
    }
}

void model_neutral_device_rows(model *m, const int8_t *trained)
{
    int De = m->cfg.device_dim;
    float *emb = param_value(&m->params, m->dev_emb);
    for (int k = 0; k < De; k++) {
        double sum = 0.0;
        int n = 0;
        for (int32_t d = 0; d < m->cfg.n_devices; d++)
            if (trained[d]) {
                sum += emb[(int64_t)d * De + k];
                n++;
            }
        if (!n) return;
        for (int32_t d = 0; d < m->cfg.n_devices; d++)
            if (!trained[d]) emb[(int64_t)d * De + k] = (float)(sum / n);
    }
}

int model_build(model *m, const model_config *cfg, const model_limits *lim, gp_error *err)
{
    memset(m, 0, sizeof *m);
    params_init(&m->params);
    if (model_config_validate(cfg, err) != 0) return -1;
    if (lim->max_nodes < 1 || lim->max_graphs < 1 || lim->max_devices < 1 || lim->max_edges < 0)
        return gp_errorf(err, "model limits: batches need at least one node, graph and device");
    m->cfg = *cfg;
    m->lim = *lim;
    const model_config *c = &m->cfg;
    int H = c->hidden, Hh = c->head_hidden, De = c->device_dim;
    if (layout(m, err) != 0 || params_alloc(&m->params, err) != 0) goto fail;
    initialise(m);

    if (gemm_plan_init(&m->plan_in, c->in_dim, H, err) || gemm_plan_init(&m->plan_hh, H, H, err) ||
        gemm_plan_init(&m->plan_hx, H, Hh, err) || gemm_plan_init(&m->plan_ex, De, Hh, err) ||
        (c->n_descriptors && gemm_plan_init(&m->plan_desc, c->n_descriptors, De, err)) ||
        (c->n_node_targets && gemm_plan_init(&m->plan_node_out, Hh, c->n_node_targets, err)) ||
        (c->n_graph_targets && gemm_plan_init(&m->plan_graph_out, Hh, c->n_graph_targets, err)))
        goto fail;

    /* Workspace: count, then carve one allocation. Each buffer is padded to
     * 16 floats so every one starts on a cache line. */
    int64_t N = lim->max_nodes, G = lim->max_graphs, D = lim->max_devices, L = c->n_layers;
    int64_t Tn = c->n_node_targets, Tg = c->n_graph_targets;
    int64_t NH = N * H;
    /* rows the graph head's MLP runs on: graphs, or nodes when additive */
    const int additive = c->pool == POOL_ADDITIVE;
    int64_t Rg = additive ? (N > G ? N : G) : G, NA = additive ? N : 0;
    int64_t sizes[] = {
        m->params.size,                /* wt */
        (L + 1) * NH,                  /* h */
        L * NH * 6,                    /* pre_norm, agg_p, agg_s, act, gin_m, xhat */
        L * N,                         /* rstd */
        D * De * 3,                    /* dev_vec, desc_hidden, ddev */
        N * Hh + D * Hh + N * D * Hh + N * D * Tn, /* node head */
        G * H + N + G * H * 2,         /* pooled, alpha, pool_arg (int64 = 2 floats) */
        Rg * Hh + D * Hh + Rg * D * Hh + G * D * Tg, /* graph head */
        3 * NA * D * Tg,               /* graph_z, graph_p, graph_dz */
        6 * NH,                        /* dh, dh2, dtmp, dz, dagg, dgin */
        N * D * Hh + N * Hh + D * Hh,  /* du_node, dA_node, dB */
        Rg * D * Hh + Rg * Hh + G * H, /* du_graph, dA_graph, dpooled */
        N * D * Tn + G * D * Tg,       /* d_node_out, d_graph_out */
        0,                             /* fused-layer scratch, set below */
        layernorm_partial_floats(N, H), /* ln_partial */
        attention_partial_floats(G, H), /* att_partial */
        pair_head_partial_floats(N > G ? N : G, D, Hh), /* pair_partial */
    };
    int fused_threads = kernels_threads();
    if (fused_threads > KERNELS_MAX_THREADS) fused_threads = KERNELS_MAX_THREADS;
    if (fused_threads < 1) fused_threads = 1;
    sizes[sizeof sizes / sizeof sizes[0] - 4] = fused_threads * mp_fused_scratch_floats(H);
    int64_t total = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) total += sizes[k];
    total += 80 * 16 + L * 16 * 8; /* per-buffer padding */
    m->ws_floats = total;
    m->ws_mem = aligned_alloc(64, (size_t)((total * 4 + 63) / 64 * 64));
    if (!m->ws_mem) {
        gp_errorf(err, "out of memory: workspace of %lld MB for batches of %lld nodes", (long long)(total >> 18),
                  (long long)N);
        goto fail;
    }
    memset(m->ws_mem, 0, (size_t)total * 4);
    float *cur = m->ws_mem;
#define TAKE(dst, count)                          \
    do {                                          \
        (dst) = cur;                              \
        cur += ((int64_t)(count) + 15) / 16 * 16; \
    } while (0)
    TAKE(m->wt, m->params.size);
    for (int l = 0; l <= L; l++) TAKE(m->h[l], NH);
    for (int l = 0; l < L; l++) {
        TAKE(m->pre_norm[l], NH);
        TAKE(m->agg_p[l], NH);
        TAKE(m->agg_s[l], NH);
        TAKE(m->act[l], NH);
        TAKE(m->gin_m[l], NH);
        TAKE(m->xhat[l], NH);
        TAKE(m->rstd[l], N);
    }
    TAKE(m->dev_vec, D * De);
    TAKE(m->desc_hidden, D * De);
    TAKE(m->ddev, D * De);
    TAKE(m->node_A, N * Hh);
    TAKE(m->node_B, D * Hh);
    TAKE(m->node_u, N * D * Hh);
    TAKE(m->node_out, N * D * Tn);
    TAKE(m->pooled, G * H);
    TAKE(m->alpha, N);
    float *arg;
    TAKE(arg, G * H * 2);
    m->pool_arg = (int64_t *)arg;
    TAKE(m->graph_A, Rg * Hh);
    TAKE(m->graph_B, D * Hh);
    TAKE(m->graph_u, Rg * D * Hh);
    TAKE(m->graph_out, G * D * Tg);
    TAKE(m->graph_z, NA * D * Tg);
    TAKE(m->graph_p, NA * D * Tg);
    TAKE(m->graph_dz, NA * D * Tg);
    TAKE(m->dh, NH);
    TAKE(m->dh2, NH);
    TAKE(m->dtmp, NH);
    TAKE(m->dz, NH);
    TAKE(m->dagg, NH);
    TAKE(m->dgin, NH);
    TAKE(m->du_node, N * D * Hh);
    TAKE(m->dA_node, N * Hh);
    TAKE(m->dB, D * Hh);
    TAKE(m->du_graph, Rg * D * Hh);
    TAKE(m->dA_graph, Rg * Hh);
    TAKE(m->dpooled, G * H);
    TAKE(m->d_node_out, N * D * Tn);
    TAKE(m->d_graph_out, G * D * Tg);
    TAKE(m->fused_scratch, fused_threads * mp_fused_scratch_floats(H));
    m->fused_threads = fused_threads;
    TAKE(m->ln_partial, layernorm_partial_floats(N, H));
    TAKE(m->att_partial, attention_partial_floats(G, H));
    TAKE(m->pair_partial, pair_head_partial_floats(N > G ? N : G, D, Hh));
#undef TAKE
    if (cur - m->ws_mem > total) {
        gp_errorf(err, "internal error: workspace carving overran its count");
        goto fail;
    }
    return 0;
fail:
    model_free(m);
    return -1;
}

void model_free(model *m)
{
    params_free(&m->params);
    gemm_plan_free(&m->plan_in);
    gemm_plan_free(&m->plan_hh);
    gemm_plan_free(&m->plan_hx);
    gemm_plan_free(&m->plan_ex);
    gemm_plan_free(&m->plan_desc);
    gemm_plan_free(&m->plan_node_out);
    gemm_plan_free(&m->plan_graph_out);
    free(m->ws_mem);
    memset(m, 0, sizeof *m);
}

void model_prepare_training(model *m)
{
    m->training = 1;
    gemm_plan *plans[] = {&m->plan_in, &m->plan_hh, &m->plan_hx, &m->plan_ex, &m->plan_desc, &m->plan_node_out,
                          &m->plan_graph_out};
    for (size_t k = 0; k < sizeof plans / sizeof plans[0]; k++)
        if (plans[k]->K > 0) gemm_plan_prepare_all(plans[k]);
}

#define PV(i) param_value(&m->params, (i))
#define PG(i) param_grad(&m->params, (i))
#define PT(i) (m->wt + m->params.t[(i)].offset)

int model_forward(model *m, const gnn_batch *b, gp_error *err)
{
    const model_config *c = &m->cfg;
    int64_t N = b->n_nodes, G = b->n_graphs, D = b->n_dev;
    int H = c->hidden, Hh = c->head_hidden, De = c->device_dim;
    if (N > m->lim.max_nodes || G > m->lim.max_graphs || D > m->lim.max_devices || b->n_edges > m->lim.max_edges ||
        D < 1 || N < 0 || G < 0)
        return gp_errorf(err, "batch of %lld nodes, %lld edges, %lld graphs, %lld devices exceeds the model's "
                              "workspace (%lld, %lld, %lld, %d)",
                         (long long)N, (long long)b->n_edges, (long long)G, (long long)D,
                         (long long)m->lim.max_nodes, (long long)m->lim.max_edges, (long long)m->lim.max_graphs,
                         m->lim.max_devices);
    for (int64_t d = 0; d < D; d++)
        if (b->dev_ids[d] < 0 || b->dev_ids[d] >= c->n_devices)
            return gp_errorf(err, "batch device %lld has id %d, outside the table of %d devices", (long long)d,
                             b->dev_ids[d], c->n_devices);
    m->cur_nodes = N;
    m->cur_graphs = G;
    m->cur_dev = (int32_t)D;

    dense_forward(m->h[0], b->x, PV(m->w_in), PV(m->b_in), N, 1, &m->plan_in);
    for (int l = 0; l < c->n_layers; l++) {
        const layer_params *lp = &m->layer[l];
        if (c->layer != LAYER_GIN) {
            /* saved tensors only when a backward pass may follow */
            const int save = m->training;
            mp_fused_args fa = {
                .y = m->h[l + 1],
                .saved = {.agg_p = save ? m->agg_p[l] : NULL,
                          .agg_s = save && lp->wc >= 0 ? m->agg_s[l] : NULL,
                          .a = save ? m->act[l] : NULL,
                          .xhat = save && c->norm ? m->xhat[l] : NULL,
                          .rstd = save && c->norm ? m->rstd[l] : NULL},
                .h = m->h[l], .Ws = PV(lp->ws), .Wp = PV(lp->wp), .Wc = lp->wc >= 0 ? PV(lp->wc) : NULL,
                .b = PV(lp->b), .gamma = c->norm ? PV(lp->gamma) : NULL, .beta = c->norm ? PV(lp->beta) : NULL,
                .g = &b->csr, .H = H, .agg = c->layer == LAYER_SAGE_SUM ? AGG_SUM : AGG_MEAN,
                .residual = c->residual, .p = &m->plan_hh};
            mp_fused_forward(&fa, m->fused_scratch, m->fused_threads);
            continue;
        }
        /* GIN: its two-layer MLP is not fused (it always saves its tensors) */
        float *out = c->norm ? m->pre_norm[l] : m->h[l + 1];
        gin_forward(out, m->agg_p[l], m->gin_m[l], m->act[l], m->h[l], PV(lp->eps)[0], PV(lp->ws), PV(lp->b),
                    PV(lp->w2), PV(lp->b2), &b->csr, H, c->residual, &m->plan_hh);
        if (c->norm)
            layernorm_forward(m->h[l + 1], m->xhat[l], m->rstd[l], out, PV(lp->gamma), PV(lp->beta), N, H);
    }
    const float *hL = m->h[c->n_layers];

    for (int64_t d = 0; d < D; d++)
        memcpy(m->dev_vec + d * De, PV(m->dev_emb) + (int64_t)b->dev_ids[d] * De, (size_t)De * sizeof(float));
    if (c->n_descriptors) {
        dense_forward(m->desc_hidden, b->descriptors, PV(m->desc_w), PV(m->desc_b), D, 1, &m->plan_desc);
        for (int64_t k = 0; k < D * De; k++) m->dev_vec[k] += m->desc_hidden[k];
    }

    if (c->n_node_targets)
        pair_head_forward(m->node_out, m->node_A, m->node_B, m->node_u, hL, m->dev_vec, PV(m->nh_w1x),
                          PV(m->nh_w1e), PV(m->nh_b1), PV(m->nh_w2), PV(m->nh_b2), N, D, Hh, &m->plan_hx,
                          &m->plan_ex, &m->plan_node_out);
    if (c->n_graph_targets && c->pool == POOL_ADDITIVE) {
        int Tg = c->n_graph_targets;
        pair_head_forward(m->graph_z, m->graph_A, m->graph_B, m->graph_u, hL, m->dev_vec, PV(m->gh_w1x),
                          PV(m->gh_w1e), PV(m->gh_b1), PV(m->gh_w2), PV(m->gh_b2), N, D, Hh, &m->plan_hx,
                          &m->plan_ex, &m->plan_graph_out);
        additive_readout_forward(m->graph_out, m->graph_p, m->graph_z, b->readout_lw, b->graph_sigma, b->graph_off,
                                 G, D, Tg);
        segment_mean_forward(m->pooled, hL, b->graph_off, G, H);
    } else if (c->n_graph_targets) {
        switch (c->pool) {
        case POOL_SUM: segment_sum_forward(m->pooled, hL, b->graph_off, G, H); break;
        case POOL_MEAN: segment_mean_forward(m->pooled, hL, b->graph_off, G, H); break;
        case POOL_MAX: segment_max_forward(m->pooled, m->pool_arg, hL, b->graph_off, G, H); break;
        default:
            attention_pool_forward(m->pooled, m->alpha, hL, PV(m->att_w), PV(m->att_b), b->graph_off, G, H);
        }
        pair_head_forward(m->graph_out, m->graph_A, m->graph_B, m->graph_u, m->pooled, m->dev_vec, PV(m->gh_w1x),
                          PV(m->gh_w1e), PV(m->gh_b1), PV(m->gh_w2), PV(m->gh_b2), G, D, Hh, &m->plan_hx,
                          &m->plan_ex, &m->plan_graph_out);
    }
    return 0;
}

void model_backward(model *m, const gnn_batch *b)
{
    const model_config *c = &m->cfg;
    int64_t N = m->cur_nodes, G = m->cur_graphs, D = m->cur_dev;
    int H = c->hidden, Hh = c->head_hidden, De = c->device_dim;
    const param_store *p = &m->params;

    /* Transposed weights for the data gradients, once per step; 1-wide ones
     * too: a head with one target uses its W2 (Hh x 1) transposed. */
    for (int i = 0; i < p->n_tensors; i++)
        transpose(PT(i), PV(i), p->t[i].rows, p->t[i].cols);

    const float *hL = m->h[c->n_layers];
    float *dh = m->dh;
    memset(dh, 0, (size_t)(N * H) * sizeof(float));
    memset(m->ddev, 0, (size_t)(D * De) * sizeof(float));
    if (c->n_node_targets)
        pair_head_backward(dh, m->ddev, PG(m->nh_w1x), PG(m->nh_w1e), PG(m->nh_b1), PG(m->nh_w2), PG(m->nh_b2),
                           m->d_node_out, m->du_node, m->dA_node, m->dB, m->node_u, hL, m->dev_vec, PT(m->nh_w1x),
                           PT(m->nh_w1e), PT(m->nh_w2), N, D, Hh, &m->plan_hx, &m->plan_ex, &m->plan_node_out,
                           m->pair_partial);
    if (c->n_graph_targets && c->pool == POOL_ADDITIVE) {
        additive_readout_backward(m->graph_dz, m->d_graph_out, m->graph_p, b->graph_off, G, D, c->n_graph_targets);
        pair_head_backward(dh, m->ddev, PG(m->gh_w1x), PG(m->gh_w1e), PG(m->gh_b1), PG(m->gh_w2), PG(m->gh_b2),
                           m->graph_dz, m->du_graph, m->dA_graph, m->dB, m->graph_u, hL, m->dev_vec, PT(m->gh_w1x),
                           PT(m->gh_w1e), PT(m->gh_w2), N, D, Hh, &m->plan_hx, &m->plan_ex, &m->plan_graph_out,
                           m->pair_partial);
    } else if (c->n_graph_targets) {
        memset(m->dpooled, 0, (size_t)(G * H) * sizeof(float));
        pair_head_backward(m->dpooled, m->ddev, PG(m->gh_w1x), PG(m->gh_w1e), PG(m->gh_b1), PG(m->gh_w2),
                           PG(m->gh_b2), m->d_graph_out, m->du_graph, m->dA_graph, m->dB, m->graph_u, m->pooled,
                           m->dev_vec, PT(m->gh_w1x), PT(m->gh_w1e), PT(m->gh_w2), G, D, Hh, &m->plan_hx,
                           &m->plan_ex, &m->plan_graph_out, m->pair_partial);
        switch (c->pool) {
        case POOL_SUM: segment_sum_backward(dh, m->dpooled, b->graph_off, G, H); break;
        case POOL_MEAN: segment_mean_backward(dh, m->dpooled, b->graph_off, G, H); break;
        case POOL_MAX: segment_max_backward(dh, m->dpooled, m->pool_arg, G, H); break;
        default:
            if (!m->frozen_trunk)
                attention_pool_backward(dh, PG(m->att_w), PG(m->att_b), m->dpooled, m->alpha, hL, PV(m->att_w),
                                        b->graph_off, G, H, m->att_partial);
        }
    }

    /* Device vectors: the embedding rows used, and the descriptor network. */
    for (int64_t d = 0; d < D; d++) {
        float *g = PG(m->dev_emb) + (int64_t)b->dev_ids[d] * De;
        for (int k = 0; k < De; k++) g[k] += m->ddev[d * De + k];
    }
    if (c->n_descriptors)
        dense_backward(NULL, PG(m->desc_w), PG(m->desc_b), m->ddev, m->desc_hidden, b->descriptors, NULL, D, 1,
                       &m->plan_desc);
    if (m->frozen_trunk) return;

    /* Layers in exact reverse. Three (N, H) buffers rotate: one holds the
     * gradient of the layer output, the other two take the pre-norm
     * gradient and the layer-input gradient. */
    float *const rot[3] = {m->dh, m->dh2, m->dtmp};
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const layer_params *lp = &m->layer[l];
        float *other[2];
        for (int j = 0, k = 0; j < 3; j++)
            if (rot[j] != dh) other[k++] = rot[j];
        float *g_pre = dh;
        if (c->norm) {
            g_pre = other[0];
            memset(g_pre, 0, (size_t)(N * H) * sizeof(float));
            layernorm_backward(g_pre, PG(lp->gamma), PG(lp->beta), dh, m->xhat[l], m->rstd[l], PV(lp->gamma), N,
                               H, m->ln_partial);
        }
        float *d_in = other[1];
        memset(d_in, 0, (size_t)(N * H) * sizeof(float));
        if (c->layer == LAYER_GIN)
            gin_backward(d_in, PG(lp->eps), PG(lp->ws), PG(lp->b), PG(lp->w2), PG(lp->b2), g_pre, m->dz, m->dagg,
                         m->dgin, m->agg_p[l], m->gin_m[l], m->act[l], m->h[l], PV(lp->eps)[0], PT(lp->ws),
                         PT(lp->w2), &b->csr, H, c->residual, &m->plan_hh);
        else
            mp_backward(d_in, PG(lp->ws), PG(lp->wp), lp->wc >= 0 ? PG(lp->wc) : NULL, PG(lp->b), g_pre, m->dz,
                        m->dagg, m->agg_p[l], m->agg_s[l], m->act[l], m->h[l], PT(lp->ws), PT(lp->wp),
                        lp->wc >= 0 ? PT(lp->wc) : NULL, &b->csr, H,
                        c->layer == LAYER_SAGE_SUM ? AGG_SUM : AGG_MEAN, c->residual, &m->plan_hh);
        dh = d_in;
    }
    dense_backward(NULL, PG(m->w_in), PG(m->b_in), dh, m->h[0], b->x, NULL, N, 1, &m->plan_in);
}
