#define _GNU_SOURCE
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_file_in_place(const char *path)
{
    static const char *const fd_names[] = {"/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/"};
    for (size_t k = 0; k < sizeof fd_names / sizeof fd_names[0]; k++) {
        size_t n = strlen(fd_names[k]);
        if (fd_names[k][n - 1] == '/' ? !strncmp(path, fd_names[k], n) : !strcmp(path, fd_names[k])) return 1;
    }
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

int atomic_file_begin(atomic_file *af, const char *final_path, gp_error *err)
{
    size_t n = strlen(final_path);
    if (n == 0 || n >= sizeof af->final_path)
        return gp_errorf(err, "%s: output path is empty or too long", final_path);
    memcpy(af->final_path, final_path, n + 1);
    af->direct = 0;
    struct stat st;
    if (stat(final_path, &st) == 0 && S_ISDIR(st.st_mode))
        return gp_errorf(err, "%s: is a directory, not an output file", final_path);
    if (atomic_file_in_place(final_path)) {
        af->direct = 1;
        memcpy(af->tmp_path, final_path, n + 1);
        return 0;
    }
    /* The temporary lives beside the target: same directory, hidden name. */
    const char *slash = strrchr(final_path, '/');
    size_t dir_len = slash ? (size_t)(slash - final_path + 1) : 0;
    snprintf(af->tmp_path, sizeof af->tmp_path, "%.*s.%s.tmpXXXXXX", (int)dir_len, final_path,
             final_path + dir_len);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        af->tmp_path[0] = '\0';
        return gp_errorf(err, "%s: cannot create a temporary file beside it: %s", final_path, strerror(e));
    }
    /* mkstemp makes 0600; outputs are ordinary shareable files. */
    int bad = fchmod(fd, 0644) != 0;
    int e = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(af->tmp_path);
        af->tmp_path[0] = '\0';
        return gp_errorf(err, "%s: cannot prepare a temporary file beside it: %s", final_path, strerror(e));
    }
    return 0;
}

int atomic_file_commit(atomic_file *af, gp_error *err)
{
    if (af->direct) {
        af->tmp_path[0] = '\0';
        return 0;
    }
    /* The data must be on disk before the rename makes it visible, or a
     * crash could leave an empty file under the final name. */
    int fd = open(af->tmp_path, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        atomic_file_abort(af);
        return gp_errorf(err, "%s: cannot flush the finished file to disk: %s", af->final_path, strerror(e));
    }
    close(fd);
    if (rename(af->tmp_path, af->final_path) != 0) {
        int e = errno;
        atomic_file_abort(af);
        return gp_errorf(err, "%s: cannot move the finished file into place: %s", af->final_path, strerror(e));
    }
    af->tmp_path[0] = '\0';
    /* Persist the rename itself: fsync the directory (best effort; some
     * file systems refuse directory fsync and the rename already happened). */
    char dir[sizeof af->final_path];
    snprintf(dir, sizeof dir, "%s", af->final_path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
    else snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

void atomic_file_abort(atomic_file *af)
{
    if (af->tmp_path[0] && !af->direct) unlink(af->tmp_path);
    af->tmp_path[0] = '\0';
}

int atomic_file_write_text(const char *path, const char *text, gp_error *err)
{
    atomic_file af;
    if (atomic_file_begin(&af, path, err) != 0) return -1;
    FILE *f = fopen(af.tmp_path, "w");
    if (!f) {
        atomic_file_abort(&af);
        return gp_errorf(err, "%s: cannot write", path);
    }
    int bad = fputs(text, f) < 0;
    if (fclose(f) != 0 || bad) {
        atomic_file_abort(&af);
        return gp_errorf(err, "%s: write failed (disk full?)", path);
    }
    return atomic_file_commit(&af, err);
}
