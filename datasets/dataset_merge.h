/* dataset_merge: one dataset from several files, for training on many.
 *
 * Graphs are concatenated (names must stay unique). Devices, descriptor
 * columns and targets are united by name (targets by name and level); a
 * cell that one side does not have becomes NaN ("not measured" /
 * "unknown"). The same device must not carry different known values for
 * the same descriptor in the two datasets, and a target's unit must agree. */
#ifndef GP_DATASET_MERGE_H
#define GP_DATASET_MERGE_H

#include "dataset.h"

/* Appends src to dst (both validated, dst's graphs finished). All or
 * nothing: on failure dst is unchanged. */
int dataset_merge(dataset *dst, const dataset *src, gp_error *err);

#endif
