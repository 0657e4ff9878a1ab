/* report: the metrics table both programs print — per target and device,
 * MAPE, RMSE of log, Spearman rho, Kendall tau and the share within 5% and
 * 10% — as text for people and as JSON for scripts. */
#ifndef GP_REPORT_H
#define GP_REPORT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "../gnn/metrics.h"
#include "../datasets/dataset.h"
#include "../gnn/predict.h"

typedef struct report_names {
    char *const *device_names;     /* (n_dev) of the predictions */
    char *const *node_t_names, *const *node_t_units;
    char *const *graph_t_names, *const *graph_t_units;
} report_names;

/* Prints the table for every target that has labels; returns a cJSON array
 * of rows {target, level, unit, device, n, mape, rmse_log, spearman,
 * kendall, within5, within10} (caller deletes), or NULL on no memory.
 * title goes above the table (e.g. "test graphs (120)"). */
cJSON *report_metrics(FILE *f, const char *title, const predictions *p, const report_names *names);

/* Every prediction as CSV rows "graph,node,op,device,target,predicted,measured"
 * (node and op empty for whole-graph rows; measured empty when unlabelled),
 * and a last column spread_ln for an ensemble's predictions. */
void report_write_csv(FILE *f, const dataset *d, const predictions *p, const report_names *names);

/* metrics of one (level, target, device) column; returns n used. */
int64_t report_column(metrics *out, const predictions *p, int level_graph, int t, int32_t dev);

#endif
