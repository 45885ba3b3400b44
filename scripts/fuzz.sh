#!/usr/bin/env bash
# Runs each libFuzzer binary for SECONDS on a scratch copy of its checked-in
# corpus (so tests/fuzz/corpus/ is never modified); fails if any fuzzer fails.
# Usage: scripts/fuzz.sh SECONDS build-fuzz/NAME...
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SECONDS BIN..." >&2
  exit 2
fi
seconds=$1
shift

failed=()
for bin in "$@"; do
  name=$(basename "$bin")
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$name" ]; then
    cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  fi
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="build-fuzz/$name-")
  if [ -f "tests/fuzz/$name.dict" ]; then
    args+=(-dict="tests/fuzz/$name.dict")
  fi
  echo "== fuzzing $name for ${seconds}s"
  if ! "$bin" "${args[@]}" "$corpus"; then
    echo "!! $name failed; the reproducer is build-fuzz/$name-*" >&2
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzers failed: ${failed[*]}" >&2
  exit 1
fi
echo "all fuzzers ran clean"
