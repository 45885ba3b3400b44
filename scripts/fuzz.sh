#!/usr/bin/env bash
# Runs each libFuzzer binary for SECONDS on a scratch copy of its checked-in
# corpus (so tests/fuzz/corpus/ is never modified); fails if any fuzzer fails.
# FUZZ_JOBS fuzzers run at once (default: CPUs), one core each; a fuzzer's
# output is printed in one piece when it ends.
# Usage: scripts/fuzz.sh SECONDS build-fuzz/NAME...
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SECONDS BIN..." >&2
  exit 2
fi
seconds=$1
shift
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

# One fuzzer: prints its whole log, then returns its status.
run_one() {
  local bin=$1 name corpus log status=0
  name=$(basename "$bin")
  corpus=build-fuzz/corpus/$name
  log=build-fuzz/$name.log
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$name" ]; then
    cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  fi
  local args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="build-fuzz/$name-")
  if [ -f "tests/fuzz/$name.dict" ]; then
    args+=(-dict="tests/fuzz/$name.dict")
  fi
  "$bin" "${args[@]}" "$corpus" >"$log" 2>&1 || status=$?
  echo "== fuzzed $name for ${seconds}s (log: $log)"
  cat "$log"
  if [ "$status" -ne 0 ]; then
    echo "!! $name failed; the reproducer is build-fuzz/$name-*" >&2
  fi
  return "$status"
}

declare -A names=()  # pid -> fuzzer name
failed=()
# Reaps one finished fuzzer and records its failure.
reap() {
  local pid status=0
  wait -n -p pid || status=$?
  [ "$status" -eq 0 ] || failed+=("${names[$pid]}")
  unset "names[$pid]"
}

for bin in "$@"; do
  while [ ${#names[@]} -ge "$jobs" ]; do reap; done
  run_one "$bin" &
  names[$!]=$(basename "$bin")
done
while [ ${#names[@]} -gt 0 ]; do reap; done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzers failed: ${failed[*]}" >&2
  exit 1
fi
echo "all fuzzers ran clean"
