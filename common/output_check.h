/* output_check: what a command checks about its output paths before it does
 * any work, so that a long run does not end in "cannot write", and an
 * output path that names an input does not replace that input.
 *
 * Most outputs are written to a temporary beside them and renamed into
 * place (atomic_file.h). Such an output conflicts with an input when the
 * rename would replace the input's data: the output's directory (links
 * resolved) plus its name equals the input's fully resolved path. An output
 * that is itself a symbolic link does not conflict (the rename replaces the
 * link, not the file). An output written where it is
 * (atomic_file_in_place: /dev/null, a pipe, /dev/stdout even when redirected
 * to a file) is left alone, unless it is to hold HDF5, which needs a file; a
 * directory is an error. Outputs written in place by the program itself (a
 * log, appended to as the run goes) are compared with the inputs as files,
 * links followed. Two outputs conflict when they are the same file. Each
 * output is then probed the way it will be written (a temporary created
 * beside it and removed, or the file opened for appending, nothing
 * truncated), so a missing or read-only directory is found at once. */
#ifndef GP_OUTPUT_CHECK_H
#define GP_OUTPUT_CHECK_H

#include "gp_error.h"

typedef struct output_slot {
    const char *path;   /* NULL: this output was not asked for */
    const char *option; /* how the user named it, for messages: "-o", "--metrics" */
    int in_place;       /* 1: opened and written where it is (no temporary and rename) */
    int hdf5;           /* 1: an HDF5 file, which cannot go to a device or pipe */
} output_slot;

#define OUTPUT_CONFLICT 2

/* 0 when every output can be written and none names an input or another
 * output; OUTPUT_CONFLICT (a usage error: the command line names one file
 * twice) or -1 (an output cannot be written), with the message in err.
 * inputs: paths the command reads (NULL entries are skipped). */
int output_check(const output_slot *outs, int n_out, const char *const *inputs, int n_in, gp_error *err);

#endif
