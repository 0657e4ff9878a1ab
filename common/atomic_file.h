/* atomic_file: write-to-temporary-then-rename, so that an interrupted or
 * failed write never leaves a half-written output under the final name and
 * never destroys a previous good file.
 *
 * Usage: atomic_file_begin() picks a unique temporary name in the same
 * directory as the final path (rename is only atomic within one file
 * system); write the temporary; then atomic_file_commit() (fsync + rename)
 * or atomic_file_abort() (unlink). */
#ifndef GP_ATOMIC_FILE_H
#define GP_ATOMIC_FILE_H

#include "gp_error.h"

typedef struct atomic_file {
    char final_path[4096];
    char tmp_path[4096 + 32];
    /* Set when the target exists and is not a regular file (/dev/null, a
     * FIFO, a terminal): it is written in place, since renaming over it
     * would replace the device node itself. */
    int direct;
} atomic_file;

/* Whether path is written where it is rather than through a temporary: an
 * existing file that is not a regular file or directory (/dev/null, a pipe,
 * a terminal), or a name of one of the process's descriptors (/dev/stdout,
 * /dev/stderr, /dev/fd/N, /proc/self/fd/N), which may be a redirect to a
 * regular file that a rename would not reach. */
int atomic_file_in_place(const char *path);

/* Fills af with the final and a fresh temporary path; creates the temporary
 * as an empty file with mode 0644 so the name is reserved. When the target
 * is written in place (atomic_file_in_place), tmp_path is the target itself
 * (direct); a directory is an error.
 * Returns 0 or -1. */
int atomic_file_begin(atomic_file *af, const char *final_path, gp_error *err);

/* fsyncs the temporary and renames it over the final path. Returns 0 or -1
 * (and then removes the temporary). */
int atomic_file_commit(atomic_file *af, gp_error *err);

/* Writes a whole text file atomically (begin, write, commit). */
int atomic_file_write_text(const char *path, const char *text, gp_error *err);

/* Removes the temporary. Safe to call twice. */
void atomic_file_abort(atomic_file *af);

#endif
