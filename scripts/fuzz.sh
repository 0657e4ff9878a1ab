#!/usr/bin/env bash
# Fuzzes the loaders (tests/fuzz: the JSON graph reader, the label and device
# tables, the HDF5 dataset reader, the checkpoint reader) with libFuzzer,
# under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [HARNESS...]
#
# HARNESS: graph_json label_csv dataset_h5 dataset_edit checkpoint
# checkpoint_edit (default: all, one after the other, N seconds each; default
# 300; the *_edit harnesses edit a valid file through the HDF5 API rather
# than flipping bytes, tests/fuzz/h5_edit.h). Builds build-fuzz/ with clang
# (installs Debian's clang if missing), then runs fuzz_<HARNESS> on a working
# corpus in out/fuzz/<HARNESS>/corpus that starts from the seeds CTest
# replays (tests/fuzz/corpus/<HARNESS> and the tests/data folders named in
# tests/fuzz/CMakeLists.txt) and grows across runs. An input that crashes,
# leaks, times out (10 s) or breaks a harness's contract is saved as
# out/fuzz/<HARNESS>/crash-*, leak-*, timeout-* or oom-*. The byte-level HDF5
# harnesses (dataset_h5, checkpoint) go on past such inputs (libhdf5 1.10.8 loops and reads out of bounds on
# some corrupt files; the programs guard against that, common/watchdog.h),
# and each is then put down to libhdf5 or to gnnperf by its stack traces
# (those put down to libhdf5 are listed in out/fuzz/<HARNESS>/libhdf5.txt).
# Exit status 1 when any input fails in gnnperf's code (each is named).
# After a fix, copy the file into tests/fuzz/corpus/<HARNESS>/ so that CTest
# replays it from then on.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds=300
jobs=1
harnesses=()
all="graph_json label_csv dataset_h5 dataset_edit checkpoint checkpoint_edit"
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
        --jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) case " $all " in
               *" $1 "*) harnesses+=("$1"); shift ;;
               *) echo "fuzz.sh: unknown harness '$1' (one of: $all)" >&2; exit 2 ;;
           esac ;;
    esac
done
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "fuzz.sh: --seconds must be a positive integer" >&2; exit 2; }
[[ "$jobs" =~ ^[0-9]+$ && "$jobs" -gt 0 ]] || { echo "fuzz.sh: --jobs must be a positive integer" >&2; exit 2; }
[ ${#harnesses[@]} -gt 0 ] || read -r -a harnesses <<<"$all"

gp_ensure_packages clang libomp-dev
CC=clang gp_build "$GP_ROOT/build-fuzz" -DGNNPERF_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo

# the seed folders of each harness, those tests/fuzz/CMakeLists.txt names (libFuzzer
# takes folders only: for graph_json all of tests/data/cli, of which CTest passes the
# two graph files)
seeds_of() {
    local h="$1" data="$GP_ROOT/tests/data"
    case "$h" in
        graph_json) echo "$GP_ROOT/tests/fuzz/corpus/$h $data/json $data/cli" ;;
        dataset_h5) echo "$GP_ROOT/tests/fuzz/corpus/$h $data/h5" ;;
        *) echo "$GP_ROOT/tests/fuzz/corpus/$h" ;;
    esac
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$GP_ROOT/tests/fuzz/lsan.supp:print_suppressions=0"

# Where a failing input fails, run alone. The report's stack traces (the
# failing access, where the memory was allocated, each leak) are read one by
# one; in each, the first frame that is either libhdf5's (H5*) or in this
# project's C sources (file:line:column) decides. "libhdf5" only when every
# trace that decides says libhdf5 and none passes through the edit harnesses'
# own HDF5 writing (h5_edit.c); "none" when the input does not fail alone
# (fork mode runs many inputs per process, and libhdf5 keeps state between
# them); else "gnnperf". A "libhdf5" verdict is a heuristic (gnnperf could
# hand libhdf5 a bad buffer): those inputs are listed for a person to check.
failure_site() {
    local bin="$1" input="$2" report
    report=$(timeout 60 "$bin" -timeout=10 "$input" 2>&1) || true
    if ! grep -qE '^==[0-9]+==[ ]?ERROR|fuzz contract broken|runtime error' <<<"$report"; then
        echo none
        return
    fi
    /usr/bin/python3 -c '
import re, sys
stacks, cur = [], []
for line in sys.stdin:
    m = re.match(r"\s+#(\d+) ", line)
    if not m:
        continue
    if m.group(1) == "0" and cur:
        stacks.append(cur)
        cur = []
    cur.append(line)
if cur:
    stacks.append(cur)
verdicts = []
for st in stacks:
    if any("h5_edit.c" in f for f in st):
        verdicts.append("gnnperf")
        continue
    for f in st:
        if " in H5" in f:
            verdicts.append("libhdf5")
            break
        if re.search(r"\.c:\d+:\d+", f):
            verdicts.append("gnnperf")
            break
print("libhdf5" if verdicts and all(v == "libhdf5" for v in verdicts) else "gnnperf")
' <<<"$report"
}

status=0
for h in "${harnesses[@]}"; do
    out="$GP_ROOT/out/fuzz/$h"
    bin="$GP_ROOT/build-fuzz/tests/fuzz/fuzz_$h"
    mkdir -p "$out/corpus"
    # failing inputs of an earlier run are kept, out of this run's count
    old=$(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null || true)
    if [ -n "$old" ]; then
        keep="$out/earlier-$(date +%Y%m%d-%H%M%S)"
        mkdir -p "$keep"
        # shellcheck disable=SC2086
        mv $old "$keep"/
        echo "    $h: failing inputs of the previous run moved to $keep" >&2
    fi
    gp_log "fuzzing $h for $seconds s ($jobs job(s)); corpus $out/corpus"
    # -max_len: HDF5 seeds are tens of kB; libFuzzer would otherwise cap
    # mutations at the largest seed it was started with
    max_len=65536
    # libhdf5 1.10.8 loops and reads out of bounds on some corrupt files (common/watchdog.h):
    # for the byte-level HDF5 harnesses fuzzing goes on past a failure (fork mode), and each
    # failing input is then put down to libhdf5 or to this project by its stack traces
    keep_going=0
    case "$h" in dataset_h5|checkpoint) max_len=262144; keep_going=1 ;; esac
    # shellcheck disable=SC2046
    (cd "$out" && "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len="$max_len" \
        -fork="$jobs" -ignore_timeouts="$keep_going" -ignore_crashes="$keep_going" -ignore_ooms=0 \
        -print_final_stats=1 -artifact_prefix="$out/" corpus $(seeds_of "$h") >"$out/fuzz.log" 2>&1) || true
    ours=0 theirs=0 alone=0
    : >"$out/libhdf5.txt"
    for f in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
        [ -e "$f" ] || continue
        case "$(failure_site "$bin" "$f")" in
            libhdf5) theirs=$((theirs + 1)); echo "$f" >>"$out/libhdf5.txt" ;;
            none) alone=$((alone + 1)) ;;
            *) ours=$((ours + 1))
               echo "fuzz.sh: $h: FAILING INPUT $f (stack: $bin $f; log: $out/fuzz.log)" >&2 ;;
        esac
    done
    [ "$theirs" -eq 0 ] || echo "    $h: $theirs failing input(s) inside libhdf5 itself, listed in $out/libhdf5.txt" >&2
    [ "$alone" -eq 0 ] || echo "    $h: $alone input(s) that failed only after others in one process (kept in $out)" >&2
    runs=$(grep -E '^#[0-9]+: cov' "$out/fuzz.log" | tail -n 1 |
        sed -E 's/^#([0-9]+): cov: ([0-9]+).*/\1 inputs run, \2 coverage points/') || true
    if [ "$ours" -gt 0 ]; then
        status=1
    elif [ -z "$runs" ]; then
        echo "fuzz.sh: $h: libFuzzer printed no statistics; it may not have run (log: $out/fuzz.log)" >&2
        status=1
    else
        gp_log "$h: no crash, leak, hang or broken contract of gnnperf in $seconds s ($runs); corpus $(ls "$out/corpus" | wc -l) inputs"
    fi
done
exit "$status"
