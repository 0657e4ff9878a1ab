/* fuzz_checks: the contracts of the HDF5 readers, shared by the byte-level
 * harnesses (fuzz_dataset_h5, fuzz_checkpoint) and the structure-aware ones
 * (fuzz_dataset_edit, fuzz_checkpoint_edit). Each reads the file at path the
 * way the programs do and calls fuzz_fail when a contract is broken. */
#ifndef GP_FUZZ_CHECKS_H
#define GP_FUZZ_CHECKS_H

#include "graph/graph.h"

/* Featurizes s (finished) and fails on a NaN or infinite feature, which
 * would poison training. */
void fuzz_check_features(const graph_set *s);

/* dataset_read_h5: a refused file leaves the dataset empty and says why; an
 * accepted file passes dataset_validate and featurizes to finite numbers.
 * With verbose, prints the reader's verdict. */
void fuzz_check_dataset_file(const char *path, int verbose);

/* checkpoint_read_meta, then model_build from its configuration (small batch
 * limits) and checkpoint_read_params, as infer/from_checkpoint.c does: every
 * refusal says why. With verbose, prints the verdict. */
void fuzz_check_checkpoint_file(const char *path, int verbose);

#endif
