/* h5_edit: hostile content in well-formed HDF5, for the structure-aware
 * harnesses (fuzz_dataset_edit, fuzz_checkpoint_edit).
 *
 * Byte-level mutation of an HDF5 file mostly breaks libhdf5's own structures,
 * so the reader's checks are rarely reached. Here fuzz bytes are a list of 1
 * to 4 edits applied through the HDF5 API to a copy of a valid base file.
 * Each edit picks one dataset or attribute of the base (listed once, in name
 * order) and
 *   - sets one element to an edge value (-1, 0, 2^31, INT64_MIN, NaN, inf,
 *     1e39, "", "/", "..", a duplicate of another name, ...),
 *   - deletes it,
 *   - changes its first dimension by -1, +1, +3 or to 0,
 *   - changes its class (integer <-> float, string -> integer),
 *   - flattens it to one dimension or adds a dimension of 1.
 * With FUZZ_VERBOSE set in the environment every edit is printed. */
#ifndef GP_FUZZ_H5_EDIT_H
#define GP_FUZZ_H5_EDIT_H

#include <stddef.h>
#include <stdint.h>

/* Reads the base file at path and lists its objects; fuzz_fail on failure. */
void h5_edit_load_base(const char *path);

/* Writes a copy of the base to this process's scratch file (suffix, see
 * fuzz_scratch_file), applies the edits data describes and returns its path,
 * or NULL when the scratch file cannot be written. */
const char *h5_edit_make(const uint8_t *data, size_t size, const char *suffix);

/* 1 when FUZZ_VERBOSE is set. */
int h5_edit_verbose(void);

#endif
