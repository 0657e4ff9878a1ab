#!/usr/bin/env bash
# Every shell entry point answers --help with its usage and exit status 0,
# before it installs, builds or writes anything, and the README's two
# commands refuse arguments they do not take (status 2).
set -u
ROOT="$1"
failures=0
passed=0
for f in "$ROOT"/scripts/*.sh "$ROOT"/bench/*.sh; do
    case "$(basename "$f")" in lib.sh) continue ;; esac
    out=$(cd /tmp && timeout 20 bash "$f" --help 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -ge 2 ] && ! printf '%s' "$out" | grep -q '^==> '; then
        passed=$((passed + 1))
    else
        echo "FAIL: $f --help: status $rc, output: $(printf '%s' "$out" | head -3)"
        failures=$((failures + 1))
    fi
done
for args in "scripts/test.sh foo" "scripts/demo.sh --out" "scripts/profile_my_machine.sh --models"; do
    set -- $args
    (cd /tmp && timeout 20 bash "$ROOT/$1" "$2" >/dev/null 2>&1)
    rc=$?
    if [ $rc -eq 2 ]; then passed=$((passed + 1)); else echo "FAIL: $args: status $rc, expected 2"; failures=$((failures + 1)); fi
done
echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
