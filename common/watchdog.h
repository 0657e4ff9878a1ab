/* watchdog: a deadline and a crash guard on reading one input file, for the
 * programs only (train/, infer/, datasets/gnndata.c), never library code.
 *
 * Why: Debian 12's libhdf5 (1.10.8) can loop forever on some corrupt files:
 * its global-heap parser, reached when a variable-length string is read,
 * trusts sizes taken from the file (hardened upstream in 2023, after that
 * release). The fuzz harnesses found such files in minutes (one flipped bit;
 * tests/data/cli/hdf5_heap_loop.h5, checkpoint_heap_loop.h5). The library
 * call cannot be interrupted and returns nothing, so the program sets a
 * deadline around it: when it passes, the program writes
 *   "<prog>: error: <path>: still reading after N s: the file is corrupt or
 *    not an HDF5 file libhdf5 can parse (limit: GNNPERF_LOAD_TIMEOUT)"
 * to stderr and exits with status 1 (_exit: nothing else runs; stdio was
 * flushed when the deadline was set, and outputs are only ever written
 * through temporary files, so none is left half-written). A stopped read
 * ends the whole program run.
 *
 * The same files can make libhdf5 copy out of bounds (its global-heap
 * reader again; tests/data/cli/hdf5_heap_crash.h5 faults 1.10.8). While
 * armed, a crash signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL) writes
 * "<prog>: error: <path>: crashed while reading this file: it is probably
 * corrupt ...; if it is not, this is a bug of gnnperf" and exits with
 * WATCHDOG_CRASH_STATUS, not 1: the guard covers this project's reader code
 * too, so a crash must not pass for a clean refusal (tests check that
 * hostile files end with 1). It cannot undo a stray write that did not
 * fault. Builds with AddressSanitizer leave crash signals alone, so that
 * its report is what one sees.
 *
 * The deadline is 60 s plus 1 s per MB of the file (reading runs at about
 * 20 MB/s here), or $GNNPERF_LOAD_TIMEOUT seconds when that is set (0: no
 * deadline; the crash guard stays; a malformed value is warned about once and
 * the default used). The previous dispositions of SIGALRM and the crash
 * signals are restored on disarm. One read at a time; not thread-safe. */
#ifndef GP_WATCHDOG_H
#define GP_WATCHDOG_H

/* Exit status after a crash inside a watched read (1 is a clean refusal,
 * 2 bad usage). */
#define WATCHDOG_CRASH_STATUS 3

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
