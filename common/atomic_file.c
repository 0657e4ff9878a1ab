#define _GNU_SOURCE
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int atomic_file_begin(atomic_file *af, const char *final_path, gp_error *err)
{
    size_t n = strlen(final_path);
    if (n == 0 || n >= sizeof af->final_path)
        return gp_errorf(err, "%s: output path is empty or too long", final_path);
    memcpy(af->final_path, final_path, n + 1);
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
    fchmod(fd, 0644);
    close(fd);
    return 0;
}

int atomic_file_commit(atomic_file *af, gp_error *err)
{
    int fd = open(af->tmp_path, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rename(af->tmp_path, af->final_path) != 0) {
        int e = errno;
        atomic_file_abort(af);
        return gp_errorf(err, "%s: cannot move the finished file into place: %s", af->final_path, strerror(e));
    }
    af->tmp_path[0] = '\0';
    return 0;
}

void atomic_file_abort(atomic_file *af)
{
    if (af->tmp_path[0]) unlink(af->tmp_path);
    af->tmp_path[0] = '\0';
}
