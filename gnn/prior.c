#include "prior.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[PRIOR_KIND_COUNT] = {"none", "roofline", "roofline_sum"};

void cost_prior_defaults(cost_prior *p)
{
    memset(p, 0, sizeof *p);
    p->kind = PRIOR_NONE;
    snprintf(p->peak, sizeof p->peak, "%s", "peak_gflops");
    snprintf(p->bw, sizeof p->bw, "%s", "mem_bw_gbs");
    p->floor_ms = 0.002;
}

const char *prior_kind_name(int k) { return k >= 0 && k < PRIOR_KIND_COUNT ? kind_names[k] : "?"; }

int prior_kind_from_name(const char *name)
{
    for (int k = 0; k < PRIOR_KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k])) return k;
    return -1;
}

int cost_prior_validate(const cost_prior *p, gp_error *err)
{
    if (p->kind < 0 || p->kind >= PRIOR_KIND_COUNT) return gp_errorf(err, "prior kind %d is unknown", p->kind);
    if (p->kind == PRIOR_NONE) return 0;
    if (!p->peak[0]) return gp_errorf(err, "prior: no peak FLOP/s descriptor named");
    if (!p->bw[0]) return gp_errorf(err, "prior: no bandwidth descriptor named");
    if (!(p->floor_ms > 0) || !isfinite(p->floor_ms))
        return gp_errorf(err, "prior: floor_ms must be positive and finite (got %g)", p->floor_ms);
    return 0;
}

int prior_applies(const cost_prior *p, const char *unit)
{
    return p && p->kind != PRIOR_NONE && unit && !strcmp(unit, "ms");
}

static double named(char *const *names, int n, const double *row, const char *want)
{
    for (int j = 0; j < n; j++)
        if (!strcmp(names[j], want)) return row[j];
    return NAN;
}

void prior_device_rates(const cost_prior *p, char *const *desc_names, int n_desc, const double *desc_row,
                        double rates[2])
{
    double peak = named(desc_names, n_desc, desc_row, p->peak), bw = named(desc_names, n_desc, desc_row, p->bw);
    /* GFLOP/s = 1e6 FLOP per ms; GB/s = 1e6 bytes per ms. */
    rates[0] = peak > 0 && isfinite(peak) ? peak * 1e6 : NAN;
    rates[1] = bw > 0 && isfinite(bw) ? bw * 1e6 : NAN;
}

int prior_check_rates(const cost_prior *p, const double rates[2], const char *device, gp_error *err)
{
    if (p->kind == PRIOR_NONE) return 0;
    if (!(rates[0] > 0 && isfinite(rates[0])))
        return gp_errorf(err, "device '%s' has no positive peak rate (descriptor '%s', GFLOP/s), which the %s prior needs", device,
                         p->peak, prior_kind_name(p->kind));
    if (!(rates[1] > 0 && isfinite(rates[1])))
        return gp_errorf(err, "device '%s' has no positive bandwidth (descriptor '%s', GB/s), which the %s prior needs", device,
                         p->bw, prior_kind_name(p->kind));
    return 0;
}

double prior_cost_ms(const cost_prior *p, const node_cost *c, const double rates[2])
{
    double compute = c->flops / rates[0], memory = node_cost_bytes(c) / rates[1];
    double ms = p->kind == PRIOR_ROOFLINE_SUM ? compute + memory : (compute > memory ? compute : memory);
    ms += p->floor_ms;
    return isfinite(ms) ? (ms < 1e12 ? ms : 1e12) : 1e12; /* a day in ms bounds any real op */
}

static double node_ms(const cost_prior *p, const graph_set *s, int64_t i, const double rates[2])
{
    node_cost c;
    graph_node_cost(s, i, &c);
    return prior_cost_ms(p, &c, rates);
}

double prior_node_log(const cost_prior *p, const graph_set *s, int64_t i, const double rates[2])
{
    return log(node_ms(p, s, i, rates));
}

double prior_graph_log(const cost_prior *p, const graph_set *s, int64_t g, const double rates[2])
{
    double sum = 0.0;
    for (int64_t v = s->node_off[g]; v < s->node_off[g + 1]; v++) sum += node_ms(p, s, v, rates);
    return log(sum > 0 ? sum : p->floor_ms); /* an empty graph */
}
