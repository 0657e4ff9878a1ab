#define _GNU_SOURCE
#include "output_check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

/* Where renaming a finished temporary onto path puts the data: its directory
 * resolved, plus its own name unresolved (the rename replaces a link, not
 * what it points to). 0 on success; -1 when it cannot be told (the probe
 * then reports why). */
static int rename_target(const char *path, char *buf, size_t n)
{
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

/* Whether writing output o would replace the data of the existing file at
 * `other` (an input, or another output's destination). */
static int writes_over(const output_slot *o, const char *other)
{
    struct stat a, b;
    if (stat(other, &b) != 0) return 0;
    if (o->in_place) return stat(o->path, &a) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    char target[PATH_MAX + NAME_MAX + 2], resolved[PATH_MAX];
    return rename_target(o->path, target, sizeof target) == 0 && realpath(other, resolved) &&
           !strcmp(target, resolved);
}

/* Whether two outputs that do not exist yet would be created as one file. */
static int same_new_file(const char *p, const char *q)
{
    char a[PATH_MAX + NAME_MAX + 2], b[PATH_MAX + NAME_MAX + 2];
    return rename_target(p, a, sizeof a) == 0 && rename_target(q, b, sizeof b) == 0 && !strcmp(a, b);
}

/* Opens an in-place output as it will be opened (for writing, nothing
 * truncated), removing it again when this made it. */
static int probe_in_place(const char *path, gp_error *err)
{
    struct stat st;
    int existed = stat(path, &st) == 0;
    if (!existed && lstat(path, &st) == 0) return 0; /* a dangling link: opening creates its target */
    int fd = open(path, O_WRONLY | O_APPEND | (existed ? 0 : O_CREAT | O_EXCL), 0644);
    if (fd < 0) return gp_errorf(err, "%s: cannot write: %s", path, strerror(errno));
    close(fd);
    if (!existed) unlink(path);
    return 0;
}

int output_check(const output_slot *outs, int n_out, const char *const *inputs, int n_in, gp_error *err)
{
    for (int i = 0; i < n_out; i++) {
        const output_slot *o = &outs[i];
        if (!o->path) continue;
        struct stat st;
        if (stat(o->path, &st) == 0 && S_ISDIR(st.st_mode)) {
            gp_errorf(err, "%s %s: is a directory, not an output file", o->option, o->path);
            return -1;
        }
        if (atomic_file_in_place(o->path)) {
            if (o->hdf5) {
                gp_errorf(err, "%s %s: not a regular file; an HDF5 output must be a file", o->option, o->path);
                return -1;
            }
            continue;
        }
        for (int k = 0; k < n_in; k++) {
            if (inputs[k] && writes_over(o, inputs[k])) {
                gp_errorf(err, "%s %s is also an input (%s); writing it would replace that input", o->option, o->path,
                          inputs[k]);
                return OUTPUT_CONFLICT;
            }
        }
        for (int j = 0; j < i; j++) {
            const output_slot *q = &outs[j];
            if (!q->path || atomic_file_in_place(q->path)) continue;
            if (writes_over(o, q->path) || writes_over(q, o->path) || same_new_file(o->path, q->path)) {
                gp_errorf(err, "%s %s and %s %s are the same file; give each output its own path", q->option, q->path,
                          o->option, o->path);
                return OUTPUT_CONFLICT;
            }
        }
        if (o->in_place) {
            if (probe_in_place(o->path, err) != 0) {
                gp_error_prefix(err, "%s", o->option);
                return -1;
            }
            continue;
        }
        atomic_file af;
        if (atomic_file_begin(&af, o->path, err) != 0) {
            gp_error_prefix(err, "%s", o->option);
            return -1;
        }
        atomic_file_abort(&af);
    }
    return 0;
}
