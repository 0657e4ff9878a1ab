/* fuzz_target: the contract every loader fuzz harness in tests/fuzz follows.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput, the entry point of
 * libFuzzer (clang -fsanitize=fuzzer, built by scripts/fuzz.sh), which feeds
 * it generated inputs. The same harness links with replay_main.c into
 * replay_<name>, which feeds it the files of tests/fuzz/corpus/<name>/ (the
 * seeds plus every input that once broke something): CTest runs those, under
 * AddressSanitizer in the sanitizer build, with any compiler.
 *
 * A harness returns 0 for every input, accepted or refused. It calls
 * fuzz_fail, which aborts, when a loader breaks its documented contract in a
 * way no sanitizer sees: a refused input that changed its destination (the
 * loaders are all-or-nothing), an accepted input that does not validate, or
 * a written graph that does not read back the same. */
#ifndef GP_FUZZ_TARGET_H
#define GP_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn, format(printf, 1, 2))) static inline void fuzz_fail(const char *fmt, ...);

#include <stdarg.h>
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz contract broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Writes size bytes to a scratch file of this process (created on first use
 * under $TMPDIR or /tmp, removed at exit) and returns its path, or NULL when
 * the file cannot be written (the harness then skips the input). For loaders
 * that read only from a path. suffix distinguishes several files (at most 8
 * per process). Files are left behind when the process dies by a signal. */
const char *fuzz_scratch_file(const char *suffix, const uint8_t *data, size_t size);

#endif
