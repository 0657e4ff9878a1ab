/* label_csv: reads the two CSV tables that gnndata packs beside JSON graphs:
 * the label table (measured values, long form) and the device table
 * (optional hardware descriptors). Formats: docs/label-table.md.
 *
 * Both readers are all-or-nothing: on failure the dataset is unchanged and
 * err names the file, the line, the column and the problem. */
#ifndef GP_LABEL_CSV_H
#define GP_LABEL_CSV_H

#include "dataset.h"

/* Files larger than this are refused rather than read into memory. */
#define LABEL_CSV_MAX_BYTES ((long long)1 << 31)

/* Reads "device,<descriptor>,..." into d's device table. d must have no
 * devices yet. Empty cells mean unknown (NaN). */
int devices_csv_read(dataset *d, const char *path, gp_error *err);

/* Reads "graph,node,device,target,value[,unit]" rows and adds one target per
 * (target, level) found: level node where the node column is set, graph
 * where it is empty. d->graphs must be finished and d must have no targets.
 * Unmeasured cells become NaN. If d has no devices yet, devices are created
 * in order of first appearance; otherwise every device must be known. */
int labels_csv_read(dataset *d, const char *path, gp_error *err);

/* Splits one CSV line in place (RFC 4180 quoting, no embedded newlines).
 * Returns the number of fields (at most max) or -1 on an unterminated quote
 * or more than max fields. Exposed for tests. */
int csv_split_line(char *line, char **fields, int max);

#endif
