"""Process environment for timing: thread counts and malloc behaviour.

Must run before torch is imported (OpenMP and OpenBLAS read their thread
counts when they load; /work/shared/TOOLCHAIN.md).  The profiler therefore
runs one worker process per thread setting.
"""

import ctypes
import ctypes.util
import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "GOTO_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024   # glibc's upper limit on 64-bit


def thread_env(threads, base=None):
    """A copy of base (default os.environ) with every thread count set."""
    env = dict(os.environ if base is None else base)
    for v in THREAD_VARS:
        env[v] = str(threads)
    return env


def set_threads_here(threads):
    """Sets the thread variables in this process (call before importing torch)."""
    for v in THREAD_VARS:
        os.environ[v] = str(threads)


def tune_malloc():
    """Keeps freed activations in the heap instead of returning them to the OS.

    By default glibc serves blocks >= 128 KiB (adaptively up to 32 MiB) with
    mmap and gives them back on free, so every run of a model page-faults its
    activations again.  Raising the mmap threshold to its maximum and never
    trimming makes repeated runs reuse the same memory, as a long-running
    inference server does.  Returns True when glibc accepted both settings.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        ok1 = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
        ok2 = libc.mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1)
    except (OSError, AttributeError):
        return False
    return bool(ok1) and bool(ok2)
