#!/usr/bin/env bash
# Runs every benchmark under bench/: the shell ones (bench/*.sh but this file) against the broker
# scripts/with-kafka.sh provides, and the TypeScript ones (bench/*.bench.ts) with tsx. `make bench`
# calls it as `scripts/with-kafka.sh bench/run.sh`. One failing benchmark does not hide the others'
# numbers; the exit code says whether all of them ran.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
shopt -s nullglob

failed=()
run() {
  printf '\n=== %s\n\n' "$*"
  "$@" || failed+=("$*")
}

for script in bench/*.sh; do
  [[ "$(basename "$script")" == run.sh ]] && continue
  run "$script"
done
for bench in bench/*.bench.ts; do
  run npx tsx "$bench"
done

if ((${#failed[@]} > 0)); then
  printf '\nbench/run.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
