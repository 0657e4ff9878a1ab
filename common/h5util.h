/* h5util: checked HDF5 access for every file gnnperf reads or writes in
 * HDF5 (datasets, checkpoints, embeddings). Only these helpers and the
 * modules built on them include HDF5.
 *
 * The read side treats every file as hostile. Before anything is read:
 *  - each component of an object's path must be a hard link (soft and
 *    external links are refused: they could point into other files), and
 *    the object must be the expected kind (group or dataset);
 *  - a dataset's class (integer, float, string), rank and exact dimensions
 *    must match what the caller derived from counts already read;
 *  - its storage must be plain: contiguous, chunked or compact, no external
 *    raw files, no virtual layout, and only the gzip, shuffle and fletcher32
 *    filters, so HDF5 never goes looking for a filter plugin;
 *  - the memory it needs must be plausible for the bytes the file holds
 *    (see H5R_MAX_EXPANSION), so a dataset that claims 2^40 elements but
 *    stores nothing is an error, not an out-of-memory crash.
 * Integer reads convert to the caller's native type; a value that does not
 * fit is an error, never silently clamped.
 *
 * Every failure fills err with "file: /hdf5/path: problem" and returns -1
 * (or NULL); nothing is printed. */
#ifndef GP_H5UTIL_H
#define GP_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

#include "../common/atomic_file.h"
#include "../common/gp_error.h"

/* deflate cannot expand data by more than about 1032:1, so a dataset whose
 * memory size exceeds 4096 x its stored bytes (capped at the file size) is
 * not a real compressed dataset. The slack lets tiny datasets that are
 * legitimately left unwritten (fill values) through. */
#define H5R_MAX_EXPANSION 4096
#define H5R_SLACK_BYTES ((uint64_t)1 << 20)
/* Our writer uses chunks of about 256 KiB; anything past this is hostile. */
#define H5R_MAX_CHUNK_BYTES ((uint64_t)64 << 20)
/* Longest fixed-length string type accepted. */
#define H5R_MAX_FIXED_STRING 65536

/* Pass as a dimension to accept any length. */
#define H5R_ANY (-1)

typedef enum h5_class { H5C_INT = 0, H5C_FLOAT, H5C_STRING } h5_class;

typedef struct h5r {
    const char *file; /* as given by the caller, for messages */
    hid_t fid;
    hid_t xfer;       /* aborts on out-of-range integer conversion; vlen strings via malloc */
    uint64_t file_size;
    int overflow;     /* set by the conversion callback */
    gp_error *err;
} h5r;

/* Silences HDF5's own error printing (process-wide; idempotent). */
void h5_quiet(void);

/* Opens path read-only. Fails with "file: cannot open: ..." or
 * "file: not an HDF5 file or truncated". */
int h5r_open(h5r *r, const char *path, gp_error *err);
void h5r_close(h5r *r);

/* Sets "file: obj: <message>" and returns -1. obj may be NULL. */
int h5r_fail(h5r *r, const char *obj, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Opens the object at an absolute path, checking each link on the way.
 * want is H5I_GROUP or H5I_DATASET. Returns 1 and sets *id, 0 when the
 * path does not exist and required is 0, -1 on error (message set). */
int h5r_open_object(h5r *r, const char *path, H5I_type_t want, int required, hid_t *id);

/* Length of the first dimension of the dataset at path, or -1 when it is
 * missing or not at least 1-D (no message: the caller's full check will
 * say what is wrong). Used to say "offsets end at X but /nodes/names has
 * Y entries" instead of a less helpful error later. */
int64_t h5r_length(h5r *r, const char *path);

/* Checks and reads a whole numeric dataset of the given rank (1 or 2).
 * d0/d1 are the expected dimensions or H5R_ANY; the actual ones are stored
 * in *n0 and *n1 when non-NULL. mem_type is a native type of elem_size bytes.
 * Returns a malloc'd buffer (never NULL on success, even when empty) or NULL
 * on error. When required is 0 and the dataset is absent, returns NULL with
 * *absent set to 1 and err untouched. */
void *h5r_load(h5r *r, const char *path, h5_class cls, hid_t mem_type, size_t elem_size, int rank, int64_t d0,
               int64_t d1, int64_t *n0, int64_t *n1, int required, int *absent);

/* Checks an open dataset without reading it (used for cached data the
 * reader does not need). Same dimension conventions as h5r_load. */
int h5r_check(h5r *r, hid_t ds, const char *path, h5_class cls, int rank, int64_t d0, int64_t d1, int64_t *n0,
              int64_t *n1);

/* Reads a 1-D string dataset (variable or fixed length, any character set)
 * of n entries (or H5R_ANY) into a malloc'd array of malloc'd strings; a
 * missing (null) entry becomes "". *n_out receives the length. */
char **h5r_load_strings(h5r *r, const char *path, int64_t n, int64_t *n_out);

/* Attribute readers on an open object (objpath is for messages). Return 1
 * when read, 0 when absent and required is 0, -1 on error. A scalar or a
 * one-element 1-D attribute is accepted where one value is expected. */
int h5r_attr_string(h5r *r, hid_t obj, const char *objpath, const char *name, int required, char **out);
int h5r_attr_int(h5r *r, hid_t obj, const char *objpath, const char *name, int required, int64_t *out);
/* A 1-D string attribute of at most max entries. */
int h5r_attr_strings(h5r *r, hid_t obj, const char *objpath, const char *name, int required, int64_t max,
                     char ***out, int64_t *n_out);

/* Frees an array of n strings (entries may be NULL) and the array. */
void h5_free_strings(char **s, int64_t n);

/* ---- writing ---- */

typedef struct h5w {
    const char *file; /* final path, for messages */
    hid_t fid;
    gp_error *err;
} h5w;

int h5w_fail(h5w *w, const char *obj, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Starts writing the HDF5 file path through a temporary beside it
 * (atomic_file.h; commit or abort af after closing w->fid). An existing
 * path that is not a regular file (/dev/null, a pipe) is refused: HDF5
 * needs a seekable file, and a failed create on a device leaks inside
 * libhdf5. Fills w (w->file = path); returns 0, or -1 with err set and
 * nothing left behind. */
int h5w_create(h5w *w, atomic_file *af, const char *path, gp_error *err);

/* Creates a group at an absolute path whose parent exists. track_order
 * records link creation order, so readers can list children in the order
 * they were written. Returns the group id or a negative value. */
hid_t h5w_group(h5w *w, const char *path, int track_order);

/* Writes a whole 1-D or 2-D numeric array. Arrays of 64 KiB or more are
 * chunked (about 256 KiB per chunk, whole rows) and compressed with
 * shuffle + gzip 4; smaller or empty ones are contiguous. Returns the open
 * dataset id (the caller adds attributes, then closes it) or a negative
 * value. */
hid_t h5w_array(h5w *w, const char *path, hid_t file_type, hid_t mem_type, int rank, int64_t d0, int64_t d1,
                const void *buf);

/* Writes a 1-D array of UTF-8 variable-length strings (NULL entries are
 * written as ""). Returns the open dataset id or a negative value. */
hid_t h5w_strings(h5w *w, const char *path, char *const *s, int64_t n);

int h5w_attr_string(h5w *w, hid_t obj, const char *objpath, const char *name, const char *value);
int h5w_attr_int(h5w *w, hid_t obj, const char *objpath, const char *name, int64_t value);
int h5w_attr_strings(h5w *w, hid_t obj, const char *objpath, const char *name, const char *const *s, int64_t n);

#endif
