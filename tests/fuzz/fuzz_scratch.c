/* Scratch files for harnesses whose loader takes a path (fuzz_target.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_target.h"

#define MAX_SCRATCH 8

static char scratch_path[MAX_SCRATCH][512];
static const char *scratch_suffix[MAX_SCRATCH];
static int n_scratch;

static void remove_scratch(void)
{
    for (int i = 0; i < n_scratch; i++)
        unlink(scratch_path[i]);
}

const char *fuzz_scratch_file(const char *suffix, const uint8_t *data, size_t size)
{
    int slot = -1;
    for (int i = 0; i < n_scratch && slot < 0; i++)
        if (strcmp(scratch_suffix[i], suffix) == 0)
            slot = i;
    if (slot < 0) {
        if (n_scratch == MAX_SCRATCH) /* a harness bug, not an I/O error: every input would be skipped */
            fuzz_fail("more than %d scratch files", MAX_SCRATCH);
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/tmp";
        slot = n_scratch;
        snprintf(scratch_path[slot], sizeof scratch_path[slot], "%s/gnnperf-fuzz-%ld-%d%s", dir, (long)getpid(),
                 slot, suffix);
        scratch_suffix[slot] = suffix;
        if (n_scratch++ == 0)
            atexit(remove_scratch);
    }
    FILE *f = fopen(scratch_path[slot], "wb");
    if (!f)
        return NULL;
    size_t put = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || put != size)
        return NULL;
    return scratch_path[slot];
}
