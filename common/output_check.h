/* output_check: what a command checks about its output paths before it does
 * any work, so that a long run does not end in "cannot write", and an
 * output path that names an input does not replace that input.
 *
 * An output conflicts with an input when writing it would replace the
 * input's data: the output's directory (symbolic links resolved) plus its
 * name equals the input's fully resolved path. An output that is itself a
 * symbolic link to an input does not conflict (the rename replaces the link,
 * not the file), and nor does an existing non-regular output (/dev/null, a
 * pipe), which is written in place. Two outputs conflict when they resolve
 * to the same path. Each output is then probed: a temporary file is created
 * beside it and removed (atomic_file.h), so a missing or read-only directory
 * is found at once. */
#ifndef GP_OUTPUT_CHECK_H
#define GP_OUTPUT_CHECK_H

#include "gp_error.h"

typedef struct output_slot {
    const char *path;   /* NULL: this output was not asked for */
    const char *option; /* how the user named it, for messages: "-o", "--metrics" */
} output_slot;

#define OUTPUT_CONFLICT 2

/* 0 when every output can be written and none names an input or another
 * output; OUTPUT_CONFLICT (a usage error: the command line names one file
 * twice) or -1 (an output cannot be written), with the message in err.
 * inputs: paths the command reads (NULL entries are skipped). */
int output_check(const output_slot *outs, int n_out, const char *const *inputs, int n_in, gp_error *err);

#endif
