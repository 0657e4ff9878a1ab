"""Machine facts that need no torch: CPU name, cache sizes, core count."""

import glob
import os
import re


def _read(path):
    with open(path) as f:
        return f.read().strip()


def cache_sizes_mb():
    """(L2 per core, L3 total) in MB from sysfs, None where unknown."""
    l2 = l3 = None
    for d in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            level = int(_read(os.path.join(d, "level")))
            typ = _read(os.path.join(d, "type"))
            size = _read(os.path.join(d, "size"))
        except (OSError, ValueError):
            continue
        if typ not in ("Unified", "Data"):
            continue
        mult = {"K": 1.0 / 1024, "M": 1.0, "G": 1024.0}.get(size[-1:], 1.0 / (1024 * 1024))
        try:
            mb = float(size.rstrip("KMG")) * mult
        except ValueError:
            continue
        if level == 2:
            l2 = mb
        elif level == 3:
            l3 = mb
    return l2, l3


def cpu_model():
    """The "model name" line of /proc/cpuinfo ('' when unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_short_name():
    """'AMD EPYC 7B13 64-Core Processor' -> 'amd_epyc_7b13'."""
    model = cpu_model()
    model = re.sub(r"\((r|tm|R|TM)\)", " ", model)
    model = re.sub(r"@.*$", " ", model)
    model = re.sub(r"\b\d+-core\b", " ", model, flags=re.I)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", model.lower()) if w]
    drop = {"processor", "cpu", "with", "radeon", "graphics"}
    words = [w for w in words if w not in drop]
    return "_".join(words[:4]) or "unknown"


def cores():
    """Online CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
