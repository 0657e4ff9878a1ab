#define _GNU_SOURCE
#include "output_check.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"

/* Where writing path would put the data: its directory resolved, plus its
 * own name unresolved (the rename replaces a link, not what it points to).
 * 0 on success; -1 when it cannot be told (the probe then reports why) or
 * the path is an existing non-regular file, written in place. */
static int output_target(const char *path, char *buf, size_t n)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) return -1;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[PATH_MAX];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    char rdir[PATH_MAX];
    if (!*base || !realpath(dir, rdir)) return -1;
    int w = snprintf(buf, n, "%s/%s", strcmp(rdir, "/") ? rdir : "", base);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

int output_check(const output_slot *outs, int n_out, const char *const *inputs, int n_in, gp_error *err)
{
    for (int i = 0; i < n_out; i++) {
        if (!outs[i].path) continue;
        char oi[PATH_MAX + NAME_MAX + 2];
        if (output_target(outs[i].path, oi, sizeof oi) == 0) {
            for (int k = 0; k < n_in; k++) {
                char in[PATH_MAX];
                if (inputs[k] && realpath(inputs[k], in) && !strcmp(in, oi)) {
                    gp_errorf(err, "%s %s is also an input (%s); writing it would replace that input", outs[i].option,
                              outs[i].path, inputs[k]);
                    return OUTPUT_CONFLICT;
                }
            }
            for (int j = 0; j < i; j++) {
                char oj[PATH_MAX + NAME_MAX + 2];
                if (outs[j].path && output_target(outs[j].path, oj, sizeof oj) == 0 && !strcmp(oi, oj)) {
                    gp_errorf(err, "%s %s and %s %s are the same file; give each output its own path",
                              outs[j].option, outs[j].path, outs[i].option, outs[i].path);
                    return OUTPUT_CONFLICT;
                }
            }
        }
        atomic_file af;
        if (atomic_file_begin(&af, outs[i].path, err) != 0) {
            gp_error_prefix(err, "%s", outs[i].option);
            return -1;
        }
        atomic_file_abort(&af);
    }
    return 0;
}
