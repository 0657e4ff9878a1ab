#define _POSIX_C_SOURCE 200809L
#include "watchdog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* Written before the timer starts: the handlers may only call write and _exit. */
static char watchdog_msg[1024], watchdog_crash_msg[1024];
static size_t watchdog_len, watchdog_crash_len;
static const char *watchdog_prog = "gnnperf";

static const int CRASH_SIGNALS[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define N_CRASH_SIGNALS ((int)(sizeof CRASH_SIGNALS / sizeof CRASH_SIGNALS[0]))
static struct sigaction watchdog_saved[N_CRASH_SIGNALS];
static int watchdog_armed;

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
    _exit(1);
}

static size_t clamp_len(int n, size_t cap) { return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1; }

static double watchdog_seconds(const char *path)
{
    const char *env = getenv("GNNPERF_LOAD_TIMEOUT");
    if (env && *env) {
        char *end;
        double s = strtod(env, &end);
        if (end != env && *end == '\0' && s >= 0 && s < 1e7) return s;
    }
    struct stat st;
    double mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0.0;
    return 60.0 + mb;
}

void watchdog_program(const char *prog) { watchdog_prog = prog; }

void watchdog_arm(const char *path)
{
    double s = watchdog_seconds(path);
    if (!(s > 0)) return;
    int n = snprintf(watchdog_msg, sizeof watchdog_msg,
                     "%s: error: %s: still reading after %.0f s: the file is corrupt or not an HDF5 file libhdf5 can "
                     "parse (limit: GNNPERF_LOAD_TIMEOUT)\n",
                     watchdog_prog, path, s);
    watchdog_len = clamp_len(n, sizeof watchdog_msg);
    n = snprintf(watchdog_crash_msg, sizeof watchdog_crash_msg,
                 "%s: error: %s: the reader crashed on this file: it is corrupt (libhdf5 does not check every "
                 "size it reads)\n",
                 watchdog_prog, path);
    watchdog_crash_len = clamp_len(n, sizeof watchdog_crash_msg);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = watchdog_crash;
    sa.sa_flags = SA_RESETHAND;
    for (int i = 0; i < N_CRASH_SIGNALS && !watchdog_armed; i++) sigaction(CRASH_SIGNALS[i], &sa, &watchdog_saved[i]);
    watchdog_armed = 1;
    sa.sa_handler = watchdog_fire;
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval t;
    memset(&t, 0, sizeof t);
    t.it_value.tv_sec = (time_t)s;
    t.it_value.tv_usec = (suseconds_t)((s - (double)(time_t)s) * 1e6);
    if (t.it_value.tv_sec == 0 && t.it_value.tv_usec == 0) t.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &t, NULL);
}

void watchdog_disarm(void)
{
    struct itimerval t;
    memset(&t, 0, sizeof t);
    setitimer(ITIMER_REAL, &t, NULL);
    for (int i = 0; i < N_CRASH_SIGNALS && watchdog_armed; i++) sigaction(CRASH_SIGNALS[i], &watchdog_saved[i], NULL);
    watchdog_armed = 0;
}
