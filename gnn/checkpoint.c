#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/atomic_file.h"
#include "../common/h5util.h"
#include "../graph/featurize.h"
#include "../graph/ops.h"

static void free_strings(char **s, int64_t n)
{
    if (!s) return;
    for (int64_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

void checkpoint_meta_free(checkpoint_meta *m)
{
    free(m->run_config);
    free(m->fingerprint);
    free(m->feat_mean);
    free(m->feat_std);
    free(m->feat_max);
    free(m->dev_trained);
    free_strings(m->device_names, m->n_devices);
    free_strings(m->desc_names, m->n_desc);
    free(m->desc_raw);
    free(m->prior_rates);
    free(m->desc_mean);
    free(m->desc_std);
    free_strings(m->node_t_names, m->n_node_t);
    free_strings(m->node_t_units, m->n_node_t);
    free_strings(m->graph_t_names, m->n_graph_t);
    free_strings(m->graph_t_units, m->n_graph_t);
    free(m->node_mu);
    free(m->node_sigma);
    free(m->graph_mu);
    free(m->graph_sigma);
    stack_free(m->stack);
    source_heads_free(&m->heads);
    free(m->dev_source_heads);
    memset(m, 0, sizeof *m);
}

/* Model configuration fields, stored as integer attributes of /model. */
#define CFG_FIELDS(X)                                                                                          \
    X(in_dim) X(hidden) X(n_layers) X(layer) X(residual) X(norm) X(pool) X(head_hidden) X(n_devices) X(device_dim) \
        X(n_descriptors) X(n_node_targets) X(n_graph_targets)

static int write_floats(h5w *w, const char *path, const float *v, int64_t n)
{
    hid_t ds = h5w_array(w, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, n, 0, v);
    if (ds < 0) return -1;
    H5Dclose(ds);
    return 0;
}

static int write_strings(h5w *w, const char *path, char *const *s, int64_t n)
{
    hid_t ds = h5w_strings(w, path, s, n);
    if (ds < 0) return -1;
    H5Dclose(ds);
    return 0;
}

static int write_ints(h5w *w, const char *path, const int32_t *v, int64_t n)
{
    hid_t ds = h5w_array(w, path, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, 0, v);
    if (ds < 0) return -1;
    H5Dclose(ds);
    return 0;
}

static int write_doubles(h5w *w, const char *path, const double *v, int rank, int64_t d0, int64_t d1)
{
    hid_t ds = h5w_array(w, path, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, d0, d1, v);
    if (ds < 0) return -1;
    H5Dclose(ds);
    return 0;
}

/* The optional /stack group (gnn/stack.h); op classes by name, so that the
 * file stays readable when the op vocabulary grows. */
static int write_stack(h5w *w, const graph_stack *s)
{
    hid_t g = h5w_group(w, "/stack", 0);
    if (g < 0) return -1;
    int rc = h5w_attr_string(w, g, "/stack", "device", s->device);
    H5Gclose(g);
    if (rc) return -1;
    char **kinds = calloc((size_t)s->n_cls + 1, sizeof(char *)), **fns = calloc((size_t)s->n_cls + 1, sizeof(char *));
    if (!kinds || !fns) {
        free(kinds);
        free(fns);
        return h5w_fail(w, "/stack", "out of memory");
    }
    for (int32_t k = 0; k < s->n_cls; k++) {
        kinds[k] = (char *)op_kind_name(s->cls_kind[k]);
        fns[k] = (char *)op_fn_name(s->cls_fn[k]);
    }
    rc = write_ints(w, "/stack/sources", s->src, s->n_src) || write_strings(w, "/stack/class_kind", kinds, s->n_cls) ||
         write_strings(w, "/stack/class_fn", fns, s->n_cls) ||
         write_ints(w, "/stack/class_kernel", s->cls_kernel, s->n_cls) ||
         write_doubles(w, "/stack/coef", s->coef, 2, s->n_t, 1 + stack_n_features(s)) ||
         write_doubles(w, "/stack/alpha", s->alpha, 1, s->n_t, 0) ||
         write_doubles(w, "/stack/loo_rmse", s->loo_rmse, 1, s->n_t, 0) ||
         write_ints(w, "/stack/n_shots", s->n_shots, s->n_t) ||
         write_doubles(w, "/stack/model_share", s->model_share, 1, s->n_t, 0);
    free(kinds);
    free(fns);
    return rc ? -1 : 0;
}

/* The optional source heads (gnn/source_heads.h) and their device flags. */
static int write_source_heads(h5w *w, const checkpoint_meta *m)
{
    const source_heads *h = &m->heads;
    hid_t g = h5w_group(w, "/source_heads", 0);
    if (g < 0) return -1;
    H5Gclose(g);
    if (write_strings(w, "/source_head_names", h->names, h->n)) return -1;
    for (int32_t k = 0; k < h->n; k++) {
        char path[160];
        snprintf(path, sizeof path, "/source_heads/%s", h->names[k]);
        if (write_floats(w, path, h->values[k], h->counts[k])) return -1;
    }
    hid_t ds = h5w_array(w, "/devices/source_heads", H5T_STD_I8LE, H5T_NATIVE_INT8, 1, m->n_devices, 0,
                         m->dev_source_heads);
    if (ds < 0) return -1;
    H5Dclose(ds);
    return 0;
}

static int write_all(h5w *w, const checkpoint_meta *m, const param_store *p, int with_opt)
{
    hid_t root = H5Gopen2(w->fid, "/", H5P_DEFAULT);
    if (root < 0) return h5w_fail(w, "/", "cannot open the root group");
    int rc = 0;
    rc |= h5w_attr_string(w, root, "/", "format", CHECKPOINT_FORMAT_NAME);
    rc |= h5w_attr_int(w, root, "/", "format_version", CHECKPOINT_FORMAT_VERSION);
    rc |= h5w_attr_int(w, root, "/", "featurizer_version", FEATURIZER_VERSION);
    rc |= h5w_attr_int(w, root, "/", "step", m->step);
    rc |= h5w_attr_int(w, root, "/", "epoch", m->epoch);
    rc |= h5w_attr_int(w, root, "/", "best_epoch", m->best_epoch);
    char best[64];
    snprintf(best, sizeof best, "%.17g", m->best_val);
    rc |= h5w_attr_string(w, root, "/", "best_val", best);
    rc |= h5w_attr_string(w, root, "/", "run_config", m->run_config ? m->run_config : "{}");
    rc |= h5w_attr_string(w, root, "/", "fingerprint", m->fingerprint ? m->fingerprint : "");
    H5Gclose(root);
    if (rc) return -1;

    hid_t g = h5w_group(w, "/model", 0);
    if (g < 0) return -1;
#define WRITE_CFG(f) rc |= h5w_attr_int(w, g, "/model", #f, m->cfg.f);
    CFG_FIELDS(WRITE_CFG)
#undef WRITE_CFG
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)m->cfg.seed);
    rc |= h5w_attr_string(w, g, "/model", "seed", seed);
    H5Gclose(g);
    if (rc) return -1;

    /* Vocabularies: what the featurizer knew, so predictions can name op
     * kinds the model never saw. */
    const char *names[OP_KIND_COUNT + FN_COUNT + DT_COUNT + 1];
    if ((g = h5w_group(w, "/vocab", 0)) < 0) return -1;
    H5Gclose(g);
    for (int k = 0; k < OP_KIND_COUNT; k++) names[k] = op_kind_name(k);
    if (write_strings(w, "/vocab/op_kinds", (char *const *)names, OP_KIND_COUNT)) return -1;
    for (int k = 0; k < FN_COUNT; k++) names[k] = op_fn_name(k);
    if (write_strings(w, "/vocab/fns", (char *const *)names, FN_COUNT)) return -1;

    if ((g = h5w_group(w, "/features", 0)) < 0) return -1;
    H5Gclose(g);
    if (write_floats(w, "/features/mean", m->feat_mean, m->F) || write_floats(w, "/features/std", m->feat_std, m->F) ||
        write_floats(w, "/features/max", m->feat_max, m->F))
        return -1;
    {
        const char **cols = malloc((size_t)(m->F > 0 ? m->F : 1) * sizeof(char *));
        if (!cols) return h5w_fail(w, "/features/names", "out of memory");
        for (int j = 0; j < m->F; j++) cols[j] = featurize_name(j);
        int r = write_strings(w, "/features/names", (char *const *)cols, m->F);
        free(cols);
        if (r) return -1;
    }

    if ((g = h5w_group(w, "/devices", 0)) < 0) return -1;
    H5Gclose(g);
    if (write_strings(w, "/devices/names", m->device_names, m->n_devices) ||
        write_strings(w, "/devices/descriptor_names", m->desc_names, m->n_desc))
        return -1;
    hid_t ds = h5w_array(w, "/devices/trained", H5T_STD_I8LE, H5T_NATIVE_INT8, 1, m->n_devices, 0, m->dev_trained);
    if (ds < 0) return -1;
    H5Dclose(ds);
    ds = h5w_array(w, "/devices/descriptors", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, m->n_devices, m->n_desc,
                         m->desc_raw);
    if (ds < 0) return -1;
    H5Dclose(ds);
    if (write_floats(w, "/devices/descriptor_mean", m->desc_mean, m->n_desc) ||
        write_floats(w, "/devices/descriptor_std", m->desc_std, m->n_desc))
        return -1;

    if ((g = h5w_group(w, "/targets", 0)) < 0) return -1;
    H5Gclose(g);
    if (write_strings(w, "/targets/node_names", m->node_t_names, m->n_node_t) ||
        write_strings(w, "/targets/node_units", m->node_t_units, m->n_node_t) ||
        write_floats(w, "/targets/node_mu", m->node_mu, m->n_node_t) ||
        write_floats(w, "/targets/node_sigma", m->node_sigma, m->n_node_t) ||
        write_strings(w, "/targets/graph_names", m->graph_t_names, m->n_graph_t) ||
        write_strings(w, "/targets/graph_units", m->graph_t_units, m->n_graph_t) ||
        write_floats(w, "/targets/graph_mu", m->graph_mu, m->n_graph_t) ||
        write_floats(w, "/targets/graph_sigma", m->graph_sigma, m->n_graph_t))
        return -1;

    if (m->prior.kind != PRIOR_NONE) {
        char floor_ms[64];
        snprintf(floor_ms, sizeof floor_ms, "%.17g", m->prior.floor_ms);
        if ((g = h5w_group(w, "/prior", 0)) < 0) return -1;
        rc = h5w_attr_string(w, g, "/prior", "kind", prior_kind_name(m->prior.kind));
        rc |= h5w_attr_string(w, g, "/prior", "peak_descriptor", m->prior.peak);
        rc |= h5w_attr_string(w, g, "/prior", "bandwidth_descriptor", m->prior.bw);
        rc |= h5w_attr_string(w, g, "/prior", "floor_ms", floor_ms);
        H5Gclose(g);
        if (rc) return -1;
        ds = h5w_array(w, "/prior/rates", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, m->n_devices, 2, m->prior_rates);
        if (ds < 0) return -1;
        H5Dclose(ds);
    }

    if (m->stack && write_stack(w, m->stack) != 0) return -1;
    if (m->heads.n > 0 && write_source_heads(w, m) != 0) return -1;

    const char *slabs[3] = {"/params", "/adam_m", "/adam_v"};
    const float *base[3] = {p->value, p->adam_m, p->adam_v};
    for (int s = 0; s < (with_opt ? 3 : 1); s++) {
        if ((g = h5w_group(w, slabs[s], 1)) < 0) return -1;
        H5Gclose(g);
        for (int i = 0; i < p->n_tensors; i++) {
            char path[128];
            snprintf(path, sizeof path, "%s/%s", slabs[s], p->t[i].name);
            ds = h5w_array(w, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, p->t[i].rows, p->t[i].cols,
                           base[s] + p->t[i].offset);
            if (ds < 0) return -1;
            H5Dclose(ds);
        }
    }
    return 0;
}

int checkpoint_write(const char *path, const checkpoint_meta *meta, const param_store *p, int with_optimizer,
                     gp_error *err)
{
    h5_quiet();
    atomic_file af;
    h5w w;
    if (h5w_create(&w, &af, path, err) != 0) return -1;
    int rc = write_all(&w, meta, p, with_optimizer);
    if (H5Fclose(w.fid) < 0 && rc == 0) rc = gp_errorf(err, "%s: cannot finish writing the file", path);
    if (rc == 0) return atomic_file_commit(&af, err);
    atomic_file_abort(&af);
    return -1;
}

static float *load_floats(h5r *r, const char *path, int64_t n)
{
    return h5r_load(r, path, H5C_FLOAT, H5T_NATIVE_FLOAT, sizeof(float), 1, n, H5R_ANY, NULL, NULL, 1, NULL);
}

/* The optional /prior group; absent means no prior. */
static int read_prior(h5r *r, checkpoint_meta *m)
{
    cost_prior_defaults(&m->prior);
    hid_t g;
    int have = h5r_open_object(r, "/prior", H5I_GROUP, 0, &g);
    if (have <= 0) return have;
    char *kind = NULL, *peak = NULL, *bw = NULL, *floor_ms = NULL;
    int rc = -1;
    if (h5r_attr_string(r, g, "/prior", "kind", 1, &kind) != 1 ||
        h5r_attr_string(r, g, "/prior", "peak_descriptor", 1, &peak) != 1 ||
        h5r_attr_string(r, g, "/prior", "bandwidth_descriptor", 1, &bw) != 1 ||
        h5r_attr_string(r, g, "/prior", "floor_ms", 1, &floor_ms) != 1)
        goto done;
    if ((m->prior.kind = prior_kind_from_name(kind)) <= PRIOR_NONE) {
        h5r_fail(r, "/prior", "kind '%s' is not a prior this build knows (roofline, roofline_sum)", kind);
        goto done;
    }
    if (!peak[0] || !bw[0] || strlen(peak) >= PRIOR_NAME_MAX || strlen(bw) >= PRIOR_NAME_MAX) {
        h5r_fail(r, "/prior", "descriptor names must have 1 to %d characters", PRIOR_NAME_MAX - 1);
        goto done;
    }
    snprintf(m->prior.peak, sizeof m->prior.peak, "%s", peak);
    snprintf(m->prior.bw, sizeof m->prior.bw, "%s", bw);
    char *end;
    m->prior.floor_ms = strtod(floor_ms, &end);
    if (end == floor_ms || *end || cost_prior_validate(&m->prior, NULL) != 0) {
        h5r_fail(r, "/prior", "floor_ms '%s' is not a positive number", floor_ms);
        goto done;
    }
    if (!(m->prior_rates = h5r_load(r, "/prior/rates", H5C_FLOAT, H5T_NATIVE_DOUBLE, sizeof(double), 2, m->n_devices,
                                    2, NULL, NULL, 1, NULL)))
        goto done;
    rc = 0;
done:
    free(kind);
    free(peak);
    free(bw);
    free(floor_ms);
    H5Gclose(g);
    return rc;
}

/* Kept source-model tensors under group (names in names_path), into h:
 * finite values under names a parameter store can hold. Whether the model
 * has them is checked where they are used. Returns 1 when read, 0 when the
 * group is absent. */
static int read_heads_at(h5r *r, const char *group, const char *names_path, source_heads *h)
{
    hid_t g;
    int have = h5r_open_object(r, group, H5I_GROUP, 0, &g);
    if (have <= 0) return have;
    H5Gclose(g);
    int64_t n = 0;
    char **names = h5r_load_strings(r, names_path, H5R_ANY, &n);
    if (!names) return -1;
    int rc = 0;
    for (int64_t k = 0; k < n && rc == 0; k++) {
        char path[160];
        if (!names[k][0] || strlen(names[k]) >= 100 || strchr(names[k], '/')) {
            rc = h5r_fail(r, names_path, "entry %lld is not a tensor name", (long long)k);
            break;
        }
        snprintf(path, sizeof path, "%s/%s", group, names[k]);
        int64_t count = 0;
        float *v = h5r_load(r, path, H5C_FLOAT, H5T_NATIVE_FLOAT, sizeof(float), 1, H5R_ANY, H5R_ANY, &count, NULL, 1,
                            NULL);
        if (!v) {
            rc = -1;
            break;
        }
        for (int64_t i = 0; i < count && rc == 0; i++)
            if (!isfinite(v[i])) rc = h5r_fail(r, path, "entry %lld is not finite", (long long)i);
        gp_error e;
        if (rc == 0 && source_heads_add(h, names[k], v, count, &e) != 0) rc = h5r_fail(r, path, "%s", e.msg);
        free(v);
    }
    h5_free_strings(names, n);
    if (rc == 0 && n == 0) rc = h5r_fail(r, names_path, "no tensors named");
    return rc == 0 ? 1 : -1;
}

/* The optional source heads and their per-device flags. Blend checkpoints
 * of the ninth session kept them as /stack/source_params, used only for
 * the stack's sources; read as the same heads for every trained device
 * but the stack's (which is what those sources were). */
static int read_source_heads(h5r *r, checkpoint_meta *m)
{
    int have = read_heads_at(r, "/source_heads", "/source_head_names", &m->heads);
    if (have < 0) return -1;
    if (have) {
        if (!(m->dev_source_heads = h5r_load(r, "/devices/source_heads", H5C_INT, H5T_NATIVE_INT8, 1, 1,
                                             m->n_devices, H5R_ANY, NULL, NULL, 1, NULL)))
            return -1;
        for (int32_t d = 0; d < m->n_devices; d++)
            if (m->dev_source_heads[d] != 0 && m->dev_source_heads[d] != 1)
                return h5r_fail(r, "/devices/source_heads", "entry %d is %d, not 0 or 1", (int)d,
                                (int)m->dev_source_heads[d]);
        return 0;
    }
    if (!m->stack) return 0;
    have = read_heads_at(r, "/stack/source_params", "/stack/source_param_names", &m->heads);
    if (have <= 0) return have;
    if (!(m->dev_source_heads = calloc((size_t)m->n_devices + 1, 1))) return h5r_fail(r, "/stack", "out of memory");
    for (int32_t d = 0; d < m->n_devices; d++)
        m->dev_source_heads[d] = m->dev_trained[d] && strcmp(m->device_names[d], m->stack->device);
    return 0;
}

/* The optional /stack group; absent means none. */
static int read_stack(h5r *r, checkpoint_meta *m)
{
    hid_t g;
    int have = h5r_open_object(r, "/stack", H5I_GROUP, 0, &g);
    if (have <= 0) return have;
    char *device = NULL, **kinds = NULL, **fns = NULL;
    int32_t *src = NULL, *ker = NULL, *shots = NULL;
    double *coef = NULL, *alpha = NULL, *loo = NULL, *share = NULL;
    int64_t n_src = 0, n_cls = 0, nf = 0;
    int share_absent = 0;
    int rc = -1;
    graph_stack *s = NULL;
    if (h5r_attr_string(r, g, "/stack", "device", 1, &device) != 1) goto done;
    if (!(src = h5r_load(r, "/stack/sources", H5C_INT, H5T_NATIVE_INT32, sizeof(int32_t), 1, H5R_ANY, H5R_ANY, &n_src,
                         NULL, 1, NULL)) ||
        !(kinds = h5r_load_strings(r, "/stack/class_kind", H5R_ANY, &n_cls)) ||
        !(fns = h5r_load_strings(r, "/stack/class_fn", n_cls, &nf)) ||
        !(ker = h5r_load(r, "/stack/class_kernel", H5C_INT, H5T_NATIVE_INT32, sizeof(int32_t), 1, n_cls, H5R_ANY,
                         NULL, NULL, 1, NULL)) ||
        !(coef = h5r_load(r, "/stack/coef", H5C_FLOAT, H5T_NATIVE_DOUBLE, sizeof(double), 2, m->n_graph_t,
                          1 + n_src + STACK_N_COST + n_cls, NULL, NULL, 1, NULL)) ||
        !(alpha = h5r_load(r, "/stack/alpha", H5C_FLOAT, H5T_NATIVE_DOUBLE, sizeof(double), 1, m->n_graph_t,
                           H5R_ANY, NULL, NULL, 1, NULL)) ||
        !(loo = h5r_load(r, "/stack/loo_rmse", H5C_FLOAT, H5T_NATIVE_DOUBLE, sizeof(double), 1, m->n_graph_t,
                         H5R_ANY, NULL, NULL, 1, NULL)) ||
        !(shots = h5r_load(r, "/stack/n_shots", H5C_INT, H5T_NATIVE_INT32, sizeof(int32_t), 1, m->n_graph_t,
                           H5R_ANY, NULL, NULL, 1, NULL)))
        goto done;
    /* Absent in stacks written before blends existed: the stack alone. */
    share = h5r_load(r, "/stack/model_share", H5C_FLOAT, H5T_NATIVE_DOUBLE, sizeof(double), 1, m->n_graph_t, H5R_ANY,
                     NULL, NULL, 0, &share_absent);
    if (!share && !share_absent) goto done;
    if (n_src > m->n_devices) {
        h5r_fail(r, "/stack/sources", "%lld sources where the model has %d devices", (long long)n_src,
                 (int)m->n_devices);
        goto done;
    }
    if (!(s = stack_create(device, src, (int32_t)n_src, m->n_graph_t))) {
        h5r_fail(r, "/stack", "out of memory");
        goto done;
    }
    s->n_cls = (int32_t)n_cls;
    s->cls_kind = malloc((size_t)(n_cls + 1) * sizeof(int32_t));
    s->cls_fn = malloc((size_t)(n_cls + 1) * sizeof(int32_t));
    if (!s->cls_kind || !s->cls_fn) {
        h5r_fail(r, "/stack", "out of memory");
        goto done;
    }
    for (int64_t k = 0; k < n_cls; k++) {
        s->cls_kind[k] = op_kind_from_name(kinds[k]);
        s->cls_fn[k] = op_fn_from_name(fns[k]);
        if (s->cls_kind[k] < 0 || s->cls_fn[k] < 0) {
            h5r_fail(r, "/stack/class_kind",
                     "op class %lld ('%s', '%s') is not in this build's vocabulary: upgrade gnnperf", (long long)k,
                     kinds[k], fns[k]);
            goto done;
        }
    }
    s->cls_kernel = ker;
    ker = NULL;
    free(s->coef);
    s->coef = coef;
    coef = NULL;
    memcpy(s->alpha, alpha, (size_t)m->n_graph_t * sizeof(double));
    memcpy(s->loo_rmse, loo, (size_t)m->n_graph_t * sizeof(double));
    memcpy(s->n_shots, shots, (size_t)m->n_graph_t * sizeof(int32_t));
    if (share) memcpy(s->model_share, share, (size_t)m->n_graph_t * sizeof(double));
    gp_error e;
    if (stack_validate(s, m->n_devices, m->n_graph_t, &e) != 0) {
        h5r_fail(r, "/stack", "%s", e.msg);
        goto done;
    }
    m->stack = s;
    s = NULL;
    rc = 0;
done:
    stack_free(s);
    free(device);
    h5_free_strings(kinds, n_cls);
    h5_free_strings(fns, nf);
    free(src);
    free(ker);
    free(shots);
    free(coef);
    free(alpha);
    free(loo);
    free(share);
    H5Gclose(g);
    return rc;
}

int checkpoint_read_meta(const char *path, checkpoint_meta *m, gp_error *err)
{
    memset(m, 0, sizeof *m);
    h5r r;
    if (h5r_open(&r, path, err) != 0) return -1;
    int rc = -1;
    hid_t root = -1, g = -1;
    char *s = NULL;
    int64_t v;
    if (h5r_open_object(&r, "/", H5I_GROUP, 1, &root) != 1) goto done;
    if (h5r_attr_string(&r, root, "/", "format", 1, &s) != 1) goto done;
    if (strcmp(s, CHECKPOINT_FORMAT_NAME) != 0) {
        h5r_fail(&r, NULL, "format is '%s', expected '%s' (is this a dataset rather than a checkpoint?)", s,
                 CHECKPOINT_FORMAT_NAME);
        goto done;
    }
    free(s);
    s = NULL;
    if (h5r_attr_int(&r, root, "/", "format_version", 1, &v) != 1) goto done;
    if (v != CHECKPOINT_FORMAT_VERSION) {
        h5r_fail(&r, NULL, "format_version %lld, this build reads %d", (long long)v, CHECKPOINT_FORMAT_VERSION);
        goto done;
    }
    if (h5r_attr_int(&r, root, "/", "featurizer_version", 1, &v) != 1) goto done;
    if (v != FEATURIZER_VERSION) {
        h5r_fail(&r, NULL, "trained with featurizer version %lld, this build has %d: retrain the model", (long long)v,
                 FEATURIZER_VERSION);
        goto done;
    }
    if (h5r_attr_int(&r, root, "/", "step", 1, &m->step) != 1 ||
        h5r_attr_int(&r, root, "/", "epoch", 1, &m->epoch) != 1 ||
        h5r_attr_int(&r, root, "/", "best_epoch", 1, &m->best_epoch) != 1 ||
        h5r_attr_string(&r, root, "/", "best_val", 1, &s) != 1 ||
        h5r_attr_string(&r, root, "/", "run_config", 1, &m->run_config) != 1 ||
        h5r_attr_string(&r, root, "/", "fingerprint", 1, &m->fingerprint) != 1)
        goto done;
    m->best_val = strtod(s, NULL);
    free(s);
    s = NULL;

    if (h5r_open_object(&r, "/model", H5I_GROUP, 1, &g) != 1) goto done;
#define READ_CFG(f)                                                    \
    if (h5r_attr_int(&r, g, "/model", #f, 1, &v) != 1) goto done;      \
    if (v < -2147483647LL || v > 2147483647LL) {                       \
        h5r_fail(&r, "/model", "attribute " #f " out of range");       \
        goto done;                                                     \
    }                                                                  \
    m->cfg.f = (int)v;
    CFG_FIELDS(READ_CFG)
#undef READ_CFG
    if (h5r_attr_string(&r, g, "/model", "seed", 1, &s) != 1) goto done;
    m->cfg.seed = strtoull(s, NULL, 10);
    free(s);
    s = NULL;
    if (model_config_validate(&m->cfg, err) != 0) {
        gp_error_prefix(err, "%s: /model", path);
        goto done;
    }

    int64_t n;
    m->F = featurize_dim();
    if (!(m->feat_mean = load_floats(&r, "/features/mean", m->F)) ||
        !(m->feat_std = load_floats(&r, "/features/std", m->F)) ||
        !(m->feat_max = load_floats(&r, "/features/max", m->F)))
        goto done;
    if (m->cfg.in_dim != m->F) {
        h5r_fail(&r, "/model", "in_dim %d differs from the featurizer's %d columns", m->cfg.in_dim, m->F);
        goto done;
    }
    if (!(m->device_names = h5r_load_strings(&r, "/devices/names", m->cfg.n_devices, &n))) goto done;
    m->n_devices = (int32_t)n;
    if (!(m->dev_trained = h5r_load(&r, "/devices/trained", H5C_INT, H5T_NATIVE_INT8, 1, 1, m->n_devices, H5R_ANY,
                                    NULL, NULL, 1, NULL)))
        goto done;
    if (!(m->desc_names = h5r_load_strings(&r, "/devices/descriptor_names", m->cfg.n_descriptors, &n))) goto done;
    m->n_desc = (int32_t)n;
    if (!(m->desc_raw = h5r_load(&r, "/devices/descriptors", H5C_FLOAT, H5T_NATIVE_DOUBLE, sizeof(double), 2,
                                 m->n_devices, m->n_desc, NULL, NULL, 1, NULL)) ||
        !(m->desc_mean = load_floats(&r, "/devices/descriptor_mean", m->n_desc)) ||
        !(m->desc_std = load_floats(&r, "/devices/descriptor_std", m->n_desc)))
        goto done;
    /* std 0 marks a column no trained device knew (read as 0 everywhere) */
    for (int k = 0; k < m->n_desc; k++)
        if (!(m->desc_std[k] >= 0) || !isfinite(m->desc_std[k]) || !isfinite(m->desc_mean[k])) {
            h5r_fail(&r, "/devices/descriptor_std", "descriptor %d has a negative or non-finite scale or mean", k);
            goto done;
        }
    m->n_node_t = m->cfg.n_node_targets;
    m->n_graph_t = m->cfg.n_graph_targets;
    if (!(m->node_t_names = h5r_load_strings(&r, "/targets/node_names", m->n_node_t, &n)) ||
        !(m->node_t_units = h5r_load_strings(&r, "/targets/node_units", m->n_node_t, &n)) ||
        !(m->node_mu = load_floats(&r, "/targets/node_mu", m->n_node_t)) ||
        !(m->node_sigma = load_floats(&r, "/targets/node_sigma", m->n_node_t)) ||
        !(m->graph_t_names = h5r_load_strings(&r, "/targets/graph_names", m->n_graph_t, &n)) ||
        !(m->graph_t_units = h5r_load_strings(&r, "/targets/graph_units", m->n_graph_t, &n)) ||
        !(m->graph_mu = load_floats(&r, "/targets/graph_mu", m->n_graph_t)) ||
        !(m->graph_sigma = load_floats(&r, "/targets/graph_sigma", m->n_graph_t)))
        goto done;
    for (int k = 0; k < m->n_node_t; k++)
        if (!(m->node_sigma[k] > 0) || !isfinite(m->node_mu[k])) {
            h5r_fail(&r, "/targets/node_sigma", "target %d has a non-positive or non-finite scale", k);
            goto done;
        }
    for (int k = 0; k < m->n_graph_t; k++)
        if (!(m->graph_sigma[k] > 0) || !isfinite(m->graph_mu[k])) {
            h5r_fail(&r, "/targets/graph_sigma", "target %d has a non-positive or non-finite scale", k);
            goto done;
        }
    if (read_prior(&r, m) != 0) goto done;
    if (read_stack(&r, m) != 0) goto done;
    if (read_source_heads(&r, m) != 0) goto done;
    rc = 0;
done:
    free(s);
    if (g >= 0) H5Gclose(g);
    if (root >= 0) H5Gclose(root);
    h5r_close(&r);
    if (rc != 0) {
        /* Keep the message, drop whatever was read. */
        checkpoint_meta_free(m);
    }
    return rc;
}

int checkpoint_read_params(const char *path, param_store *p, int with_optimizer, gp_error *err)
{
    h5r r;
    if (h5r_open(&r, path, err) != 0) return -1;
    const char *slabs[3] = {"/params", "/adam_m", "/adam_v"};
    float *base[3] = {p->value, p->adam_m, p->adam_v};
    int rc = 0;
    for (int s = 0; s < (with_optimizer ? 3 : 1) && rc == 0; s++) {
        hid_t g;
        if (h5r_open_object(&r, slabs[s], H5I_GROUP, 1, &g) != 1) {
            rc = -1;
            break;
        }
        H5G_info_t info;
        if (H5Gget_info(g, &info) < 0 || info.nlinks != (hsize_t)p->n_tensors)
            rc = h5r_fail(&r, slabs[s], "holds %llu tensors, the model has %d (a checkpoint of another model?)",
                          (unsigned long long)info.nlinks, p->n_tensors);
        H5Gclose(g);
        for (int i = 0; i < p->n_tensors && rc == 0; i++) {
            char obj[128];
            snprintf(obj, sizeof obj, "%s/%s", slabs[s], p->t[i].name);
            float *v = h5r_load(&r, obj, H5C_FLOAT, H5T_NATIVE_FLOAT, sizeof(float), 2, p->t[i].rows,
                                p->t[i].cols, NULL, NULL, 1, NULL);
            if (!v) {
                rc = -1;
                break;
            }
            int64_t count = (int64_t)p->t[i].rows * p->t[i].cols;
            for (int64_t k = 0; k < count; k++)
                if (!isfinite(v[k])) {
                    rc = h5r_fail(&r, obj, "entry %lld is not finite", (long long)k);
                    break;
                }
            memcpy(base[s] + p->t[i].offset, v, (size_t)count * sizeof(float));
            free(v);
        }
    }
    h5r_close(&r);
    return rc;
}
