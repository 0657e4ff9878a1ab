/* watchdog: a deadline and a crash guard on reading one input file, for the
 * programs only (train/, infer/, datasets/gnndata.c), never library code.
 *
 * Why: Debian 12's libhdf5 (1.10.8) can loop forever on some corrupt files:
 * its global-heap parser, reached when a variable-length string is read,
 * trusts sizes taken from the file (hardened upstream in 2023, after that
 * release). The fuzz harnesses found such a file in minutes (one flipped bit
 * in a dataset; tests/data/h5/heap_loop.h5). The library call cannot be
 * interrupted and returns nothing, so the program sets a deadline around it:
 * when it passes, the program writes
 *   "<prog>: error: <path>: still reading after N s: the file is corrupt or
 *    not an HDF5 file libhdf5 can parse (limit: GNNPERF_LOAD_TIMEOUT)"
 * to stderr and exits with status 1 (_exit: nothing else runs; outputs are
 * only ever written through temporary files, so none is left half-written).
 *
 * The same files can make libhdf5 read or copy out of bounds (its global-
 * heap reader again; tests/data/cli/hdf5_heap_crash.h5 crashes 1.10.8).
 * While armed, a crash signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL) writes
 * "<prog>: error: <path>: the reader crashed on this file: it is corrupt
 * ..." and exits with status 1 instead of dumping core. It cannot undo a
 * stray write that did not fault; under AddressSanitizer such reads are
 * reported before any signal.
 *
 * The deadline is 60 s plus 1 s per MB of the file (reading runs at about
 * 20 MB/s here), or $GNNPERF_LOAD_TIMEOUT seconds when that is set (0: no
 * deadline). One deadline at a time; not thread-safe (SIGALRM). */
#ifndef GP_WATCHDOG_H
#define GP_WATCHDOG_H

/* The program's name for the message (main calls it once; default "gnnperf"). */
void watchdog_program(const char *prog);

/* Starts the deadline for reading path. */
void watchdog_arm(const char *path);

/* Cancels it; call as soon as the read returns, successful or not. */
void watchdog_disarm(void);

static inline int watchdog_done(int rc)
{
    watchdog_disarm();
    return rc;
}

/* Evaluates call (an int-returning read of path) under the deadline:
 *   if (WATCHED(path, dataset_read_h5(&d, path, &err)) != 0) ... */
#define WATCHED(path, call) (watchdog_arm(path), watchdog_done(call))

#endif
