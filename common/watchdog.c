#define _POSIX_C_SOURCE 200809L
#include "watchdog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* Under AddressSanitizer its own report of a bad access is worth more than
 * this guard's message (and the guard would hide it). */
#if defined(__SANITIZE_ADDRESS__)
#define WATCHDOG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WATCHDOG_SANITIZED 1
#endif
#endif
#ifndef WATCHDOG_SANITIZED
#define WATCHDOG_SANITIZED 0
#endif

/* Written before anything is armed: the handlers may only call write and _exit. */
static char watchdog_msg[1024], watchdog_crash_msg[1024];
static size_t watchdog_len, watchdog_crash_len;
static const char *watchdog_prog = "gnnperf";

static const int GUARDED_SIGNALS[] = {SIGALRM, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define N_GUARDED ((int)(sizeof GUARDED_SIGNALS / sizeof GUARDED_SIGNALS[0]))
static struct sigaction watchdog_saved[N_GUARDED];
static int watchdog_installed[N_GUARDED];
static int watchdog_timer;

static void watchdog_fire(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, watchdog_msg, watchdog_len);
    (void)w;
    _exit(1);
}

static void watchdog_crash(int sig)
{
    (void)sig;
    ssize_t w = write(STDERR_FILENO, watchdog_crash_msg, watchdog_crash_len);
    (void)w;
    _exit(WATCHDOG_CRASH_STATUS);
}

static size_t clamp_len(int n, size_t cap) { return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1; }

static double watchdog_seconds(const char *path)
{
    const char *env = getenv("GNNPERF_LOAD_TIMEOUT");
    if (env && *env) {
        char *end;
        double s = strtod(env, &end);
        if (end != env && *end == '\0' && s >= 0 && s < 1e7) return s;
        static int warned;
        if (!warned++)
            fprintf(stderr, "%s: warning: GNNPERF_LOAD_TIMEOUT='%s' is not a number of seconds (0 to 1e7); "
                    "using the default\n", watchdog_prog, env);
    }
    struct stat st;
    double mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0.0;
    return 60.0 + mb;
}

void watchdog_program(const char *prog) { watchdog_prog = prog; }

static void install(int i, void (*handler)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    if (!watchdog_installed[i] && sigaction(GUARDED_SIGNALS[i], &sa, &watchdog_saved[i]) == 0)
        watchdog_installed[i] = 1;
}

void watchdog_arm(const char *path)
{
    double s = watchdog_seconds(path);
    /* _exit skips stdio: whatever earlier files printed must be out first */
    fflush(NULL);
    int n = snprintf(watchdog_msg, sizeof watchdog_msg,
                     "%s: error: %s: still reading after %g s: the file is corrupt or not an HDF5 file libhdf5 can "
                     "parse (limit: GNNPERF_LOAD_TIMEOUT)\n",
                     watchdog_prog, path, s);
    watchdog_len = clamp_len(n, sizeof watchdog_msg);
    n = snprintf(watchdog_crash_msg, sizeof watchdog_crash_msg,
                 "%s: error: %s: crashed while reading this file: it is probably corrupt (libhdf5 does not check "
                 "every size it reads); if it is not, this is a bug of gnnperf\n",
                 watchdog_prog, path);
    watchdog_crash_len = clamp_len(n, sizeof watchdog_crash_msg);
    for (int i = 1; i < N_GUARDED && !WATCHDOG_SANITIZED; i++) install(i, watchdog_crash, SA_RESETHAND);
    if (!(s > 0)) return;
    install(0, watchdog_fire, 0);
    struct itimerval t;
    memset(&t, 0, sizeof t);
    t.it_value.tv_sec = (time_t)s;
    t.it_value.tv_usec = (suseconds_t)((s - (double)(time_t)s) * 1e6);
    if (t.it_value.tv_sec == 0 && t.it_value.tv_usec == 0) t.it_value.tv_usec = 1;
    if (setitimer(ITIMER_REAL, &t, NULL) == 0) watchdog_timer = 1;
}

void watchdog_disarm(void)
{
    if (watchdog_timer) {
        struct itimerval t;
        memset(&t, 0, sizeof t);
        setitimer(ITIMER_REAL, &t, NULL);
        watchdog_timer = 0;
    }
    for (int i = 0; i < N_GUARDED; i++)
        if (watchdog_installed[i]) {
            sigaction(GUARDED_SIGNALS[i], &watchdog_saved[i], NULL);
            watchdog_installed[i] = 0;
        }
}
