#!/usr/bin/env bash
# Runs the whole test suite: installs missing Debian packages, builds a
# normal and an AddressSanitizer+UndefinedBehaviorSanitizer tree, and runs
# every CTest test in both (Check suites inside, plus the CLI and script tests).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
gp_help "$@"
[ $# -eq 0 ] || { echo "test.sh: takes no arguments (test.sh --help says what it runs)" >&2; exit 2; }
gp_ensure_packages python3-torch python3-torchvision python3-onnx python3-matplotlib
gp_build "$GP_ROOT/build"
gp_log "tests (release build)"
(cd "$GP_ROOT/build" && ctest --output-on-failure --no-tests=error -j "$(nproc)")
gp_build "$GP_ROOT/build-asan" -DGNNPERF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
gp_log "tests (ASan + UBSan build)"
(cd "$GP_ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure --no-tests=error -j "$(nproc)")
gp_log "all tests passed"
