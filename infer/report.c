#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t report_column(metrics *out, const predictions *p, int level_graph, int t, int32_t dev)
{
    int64_t rows = level_graph ? p->n_graphs : p->n_nodes;
    int T = level_graph ? p->Tg : p->Tn;
    const double *pred = level_graph ? p->graph_pred : p->node_pred;
    const double *yt = level_graph ? p->graph_true : p->node_true;
    double *a = malloc((size_t)(rows + 1) * sizeof(double)), *b = malloc((size_t)(rows + 1) * sizeof(double));
    int64_t n = 0;
    if (a && b) {
        for (int64_t r = 0; r < rows; r++) {
            size_t k = (size_t)((r * p->n_dev + dev) * T + t);
            if (isnan(yt[k])) continue;
            a[n] = pred[k];
            b[n] = yt[k];
            n++;
        }
        metrics_compute(out, a, b, n);
    }
    free(a);
    free(b);
    return n;
}

static cJSON *num(double v) { return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v); }

cJSON *report_metrics(FILE *f, const char *title, const predictions *p, const report_names *names)
{
    cJSON *rows = cJSON_CreateArray();
    if (!rows) return NULL;
    int printed_header = 0;
    for (int level = 1; level >= 0; level--) {
        int T = level ? p->Tg : p->Tn;
        for (int t = 0; t < T; t++) {
            const char *tn = level ? names->graph_t_names[t] : names->node_t_names[t];
            const char *un = level ? names->graph_t_units[t] : names->node_t_units[t];
            for (int32_t d = 0; d < p->n_dev; d++) {
                metrics m;
                if (report_column(&m, p, level, t, d) == 0) continue;
                if (f && !printed_header) {
                    fprintf(f, "\n%s\n", title);
                    fprintf(f, "  %-22s %-5s %-24s %7s %8s %8s %8s %8s %7s %7s\n", "target", "level", "device", "n",
                            "MAPE%", "RMSElog", "rho", "tau", "<=5%", "<=10%");
                    printed_header = 1;
                }
                if (f)
                    fprintf(f, "  %-22s %-5s %-24s %7lld %8.2f %8.4f %8.4f %8.4f %6.1f%% %6.1f%%\n", tn,
                            level ? "graph" : "node", names->device_names[d], (long long)m.n, m.mape, m.rmse_log,
                            m.spearman, m.kendall, m.within5, m.within10);
                if (f && m.n_nan)
                    fprintf(f, "  %-22s %-5s %-24s %7lld predicted NaN (the model diverged on them)\n", "", "",
                            "", (long long)m.n_nan);
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "target", tn);
                cJSON_AddStringToObject(o, "level", level ? "graph" : "node");
                cJSON_AddStringToObject(o, "unit", un);
                cJSON_AddStringToObject(o, "device", names->device_names[d]);
                cJSON_AddNumberToObject(o, "n", (double)m.n);
                cJSON_AddNumberToObject(o, "n_nan", (double)m.n_nan);
                cJSON_AddItemToObject(o, "mape", num(m.mape));
                cJSON_AddItemToObject(o, "rmse_log", num(m.rmse_log));
                cJSON_AddItemToObject(o, "spearman", num(m.spearman));
                cJSON_AddItemToObject(o, "kendall", num(m.kendall));
                cJSON_AddItemToObject(o, "within5", num(m.within5));
                cJSON_AddItemToObject(o, "within10", num(m.within10));
                cJSON_AddItemToArray(rows, o);
            }
        }
    }
    if (f && !printed_header) fprintf(f, "\n%s: no labels to compare with\n", title);
    return rows;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* ",value," with the value empty when it is not a finite number, as a
 * missing label is: "inf" or "nan" would break readers expecting numbers. */
static void csv_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, ",%.9g,", v);
    else fputs(",,", f);
}

void report_write_csv(FILE *f, const dataset *d, const predictions *p, const report_names *names)
{
    const graph_set *s = &d->graphs;
    fprintf(f, "graph,node,op,device,target,predicted,measured%s\n", p->graph_spread ? ",spread_ln" : "");
    for (int64_t k = 0; k < p->n_graphs; k++) {
        int64_t g = p->graph_ids[k], first = p->node_first[k], cnt = p->node_first[k + 1] - first;
        for (int32_t dv = 0; dv < p->n_dev; dv++) {
            for (int t = 0; t < p->Tg; t++) {
                size_t i = (size_t)((k * p->n_dev + dv) * p->Tg + t);
                csv_field(f, s->graph_names[g]);
                fputs(",,,", f);
                csv_field(f, names->device_names[dv]);
                fputc(',', f);
                csv_field(f, names->graph_t_names[t]);
                csv_number(f, p->graph_pred[i]);
                if (!isnan(p->graph_true[i])) fprintf(f, "%.9g", p->graph_true[i]);
                if (p->graph_spread) {
                    fputc(',', f);
                    if (!isnan(p->graph_spread[i])) fprintf(f, "%.6g", p->graph_spread[i]);
                }
                fputc('\n', f);
            }
            for (int64_t v = 0; v < cnt; v++)
                for (int t = 0; t < p->Tn; t++) {
                    size_t i = (size_t)(((first + v) * p->n_dev + dv) * p->Tn + t);
                    csv_field(f, s->graph_names[g]);
                    fputc(',', f);
                    csv_field(f, s->node_names[s->node_off[g] + v]);
                    fprintf(f, ",%s,", op_kind_name(s->nodes[s->node_off[g] + v].kind));
                    csv_field(f, names->device_names[dv]);
                    fputc(',', f);
                    csv_field(f, names->node_t_names[t]);
                    csv_number(f, p->node_pred[i]);
                    if (!isnan(p->node_true[i])) fprintf(f, "%.9g", p->node_true[i]);
                    if (p->node_spread) {
                        fputc(',', f);
                        if (!isnan(p->node_spread[i])) fprintf(f, "%.6g", p->node_spread[i]);
                    }
                    fputc('\n', f);
                }
        }
    }
}
