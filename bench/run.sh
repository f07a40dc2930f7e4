#!/usr/bin/env bash
# Runs the benchmarks under bench/: the shell ones (bench/*.sh but this file) and the TypeScript
# ones (bench/*.bench.ts, with tsx), against the broker scripts/with-kafka.sh provides (the hop
# benchmarks start a broker of their own). `make bench` calls it as `scripts/with-kafka.sh
# scripts/with-registry.sh bench/run.sh` (the registry serves avro-gateway's registry route);
# `make bench BENCH="latency small-records"` passes names on.
#
#   bench/run.sh                  the default set (below), about 40 to 50 minutes on 2 shared cores
#   bench/run.sh NAME...          only these, by file name without .sh / .bench.ts
#   bench/run.sh --list           the names
#
# The default set leaves out proxy-throughput: relay-floor measures the same direct and
# pass-through gateway runs, with a bare relay beside them, in the same time. One failing
# benchmark does not hide the others' numbers; the exit code says whether all of them ran.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
shopt -s nullglob

DEFAULT=(relay-floor small-records latency validation produce-path binary-validation avro-gateway workers ingest-http subscriptions record-batch state-startup)

names=()
for script in bench/*.sh bench/*.bench.ts; do
  name="$(basename "$script")"
  name="${name%.sh}"
  name="${name%.bench.ts}"
  [[ "$name" == run ]] || names+=("$name")
done
if [[ "${1:-}" == --list ]]; then
  printf '%s\n' "${names[@]}"
  exit 0
fi
wanted=("$@")
((${#wanted[@]} > 0)) || wanted=("${DEFAULT[@]}")

failed=()
run() {
  printf '\n=== %s\n\n' "$*"
  local started=$SECONDS
  "$@" || failed+=("$*")
  printf '\n=== %s: %d s\n' "$*" $((SECONDS - started))
}

# Built once here; every benchmark then reuses dist/.
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  npm run --silent build || exit 1
fi
export BENCH_SKIP_BUILD=1
for name in "${wanted[@]}"; do
  if [[ -f "bench/$name.sh" ]]; then
    run "bench/$name.sh"
  elif [[ -f "bench/$name.bench.ts" ]]; then
    run npx tsx "bench/$name.bench.ts"
  else
    printf 'bench/run.sh: no benchmark named %s (bench/run.sh --list)\n' "$name" >&2
    failed+=("$name")
  fi
done

if ((${#failed[@]} > 0)); then
  printf '\nbench/run.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
