#!/usr/bin/env bash
# Runs every test of one build directory: Catch2 unit tests, then the
# end-to-end suite against that build's binary. Ends with the line
# "N passed, N failed" (test cases) and a non-zero status on any failure.
set -uo pipefail
build=${1:-build}
passed=0
failed=0

unit_log=$(mktemp)
"$build/unit_tests" --reporter compact 2>&1 | tee "$unit_log" | grep -v '^Passed' | tail -n 40
unit_status=${PIPESTATUS[0]}
# Catch2's summary: "Passed all 57 test cases with 900 assertions." or
# "Failed 2 test cases, failed 3 assertions."
total=$("$build/unit_tests" --list-test-names-only 2>/dev/null | grep -c .)
unit_failed=$(sed -n 's/^Failed \([0-9]*\) test case.*/\1/p' "$unit_log" | tail -n 1)
unit_failed=${unit_failed:-0}
if [ "$unit_status" -ne 0 ] && [ "$unit_failed" -eq 0 ]; then unit_failed=1; fi
passed=$((passed + total - unit_failed))
failed=$((failed + unit_failed))
echo "unit: $((total - unit_failed)) passed, $unit_failed failed"
rm -f "$unit_log"

e2e_log=$(mktemp)
python3 tests/e2e/run.py --binary "$build/sesame" 2>&1 | tee "$e2e_log"
e2e_status=${PIPESTATUS[0]}
line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$e2e_log" | tail -n 1)
e2e_passed=$(echo "$line" | sed -n 's/^e2e: \([0-9]*\) passed.*/\1/p')
e2e_failed=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
e2e_passed=${e2e_passed:-0}
e2e_failed=${e2e_failed:-0}
if [ "$e2e_status" -ne 0 ] && [ "$e2e_failed" -eq 0 ]; then e2e_failed=1; fi
passed=$((passed + e2e_passed))
failed=$((failed + e2e_failed))
rm -f "$e2e_log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
