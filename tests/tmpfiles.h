/* tmpfiles: a scratch folder per test suite and files written into it, for
 * the suites that feed readers from disk (label tables, split files,
 * merged datasets). Header-only; each suite includes it once. */
#ifndef GP_TEST_TMPFILES_H
#define GP_TEST_TMPFILES_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[64];

/* A fresh folder /tmp/<prefix>XXXXXX (Check fixture: tcase_add_checked_fixture). */
static inline void tmpdir_create(const char *prefix)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%sXXXXXX", prefix);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static inline void tmpdir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes len bytes of text (strlen when len is 0) to tmpdir/name; returns
 * the path, valid until the next call. */
static inline const char *write_tmp(const char *name, const char *text, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(text, 1, len ? len : strlen(text), f);
    fclose(f);
    return path;
}

#endif
