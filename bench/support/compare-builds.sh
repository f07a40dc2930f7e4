#!/usr/bin/env bash
# Before/after for a change to the gateway: two builds side by side in the same run, against the
# same broker, with the bare relay beside them (bench/support/hop-setup.sh), produce runs in
# alternating order, and the CPU each proxy process used per run. Not part of `make bench`.
#
#   git stash && npm run build && rm -rf dist/base && cp -r dist /tmp/gateway-base &&
#     mv /tmp/gateway-base dist/base && git stash pop && npm run build
#   bench/support/compare-builds.sh dist/base        (the other build is dist/)
#
# The base build must sit inside the repository, so that it finds node_modules; under dist/ it is
# ignored by git and the linter, and the build leaves it alone. Prints one line per
# run: round, path (base, gateway = dist/, relay), records/s, proxy CPU s. Environment:
# BENCH_COMPARE_MODE (produce, or fetch: one topic written directly once, then read whole by each
# path as a new consumer group, records/s being the fetch rate once joined),
# BENCH_COMPARE_RATE (produce only: records/s to cap each run at, the first tenth of its records
# left out of the figures; the line then ends with p50, p99 and p99.9 in whole ms),
# BENCH_COMPARE_RECORDS (200000), BENCH_COMPARE_RECORD_SIZE (1024), BENCH_COMPARE_PROPS
# ("acks=1 linger.ms=5"), BENCH_ROUNDS (3), and those of hop-setup.sh. The base gateway listens
# at BENCH_HOP_PORT + 20 (broker N at +20+N, HTTP at +22).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
BASE="${1:?usage: compare-builds.sh BASE-DIST-DIR}"
RECORDS="${BENCH_COMPARE_RECORDS:-200000}"
RECORD_SIZE="${BENCH_COMPARE_RECORD_SIZE:-1024}"
read -r -a PROPS <<<"${BENCH_COMPARE_PROPS:-acks=1 linger.ms=5}"
ROUNDS="${BENCH_ROUNDS:-3}"
MODE="${BENCH_COMPARE_MODE:-produce}"
RATE="${BENCH_COMPARE_RATE:-}"

log() { printf 'compare-builds: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
# shellcheck source=bench/support/perf-tools.sh
source "$ROOT/bench/support/perf-tools.sh"
# shellcheck source=bench/support/hop-setup.sh
source "$ROOT/bench/support/hop-setup.sh"
trap 'rc=$?; hop_cleanup; exit $rc' EXIT
[[ -f "$BASE/cli.js" ]] || die "$BASE/cli.js does not exist"
hop_require_free_ports $((HOP_PORT + 20)) $((HOP_PORT + 21)) $((HOP_PORT + 22))
hop_setup

sed -e "s/$((HOP_PORT + 10))/$((HOP_PORT + 20))/g; s/$((HOP_PORT + 12))/$((HOP_PORT + 22))/" \
  "$HOP_WORK/gateway.yaml" >"$HOP_WORK/base.yaml"
node "$BASE/cli.js" --config "$HOP_WORK/base.yaml" >"$HOP_WORK/base.log" 2>&1 &
base_pid=$!
hop_pids+=("$base_pid")
deadline=$((SECONDS + 30))
until curl -fsS "http://127.0.0.1:$((HOP_PORT + 22))/readyz" >/dev/null 2>&1; do
  kill -0 "$base_pid" 2>/dev/null || die "the base gateway exited during startup: $(cat "$HOP_WORK/base.log")"
  ((SECONDS < deadline)) || die "the base gateway was not ready within 30 s: $(cat "$HOP_WORK/base.log")"
  sleep 0.2
done
bootstrap_of[base]="127.0.0.1:$((HOP_PORT + 20))"
pid_of[base]="$base_pid"

# run PATH ROUND: one timed run through PATH, printed as "round path records/s proxy-CPU-s".
run() {
  local path="$1" round="$2" before result
  if [[ "$MODE" == fetch ]]; then
    before="$(cpu_seconds "${pid_of[$path]}")"
    result="$(perf_consume "${bootstrap_of[$path]}" "$fetch_topic" "$RECORDS" "compare-$path-$round-$RANDOM$RANDOM")"
  else
    new_topic compare
    before="$(cpu_seconds "${pid_of[$path]}")"
    if [[ -n "$RATE" ]]; then
      result="$(perf_produce_at "${bootstrap_of[$path]}" "$TOPIC" "$RECORDS" "$RECORD_SIZE" "$RATE" $((RECORDS / 10)) "${PROPS[@]}")"
    else
      result="$(perf_produce "${bootstrap_of[$path]}" "$TOPIC" "$RECORDS" "$RECORD_SIZE" "${PROPS[@]}")"
    fi
  fi
  local latency=""
  # perf_produce_at prints: records/s MB/s avg p50 p95 p99 p99.9 max
  [[ -n "$RATE" && "$MODE" == produce ]] && latency=" $(awk '{ print $4, $6, $7 }' <<<"$result")"
  echo "$round $path ${result%% *} $(awk -v a="$before" -v b="$(cpu_seconds "${pid_of[$path]}")" 'BEGIN { printf "%.2f", b - a }')$latency"
}

case "$MODE" in
  produce)
    for path in base gateway relay; do
      new_topic compare-warmup
      perf_produce "${bootstrap_of[$path]}" "$TOPIC" $((RECORDS / 4)) "$RECORD_SIZE" "${PROPS[@]}" >/dev/null
    done
    ;;
  fetch)
    new_topic compare-fetch
    fetch_topic="$TOPIC"
    perf_produce "$DIRECT" "$fetch_topic" "$RECORDS" "$RECORD_SIZE" "${PROPS[@]}" >/dev/null
    for path in base gateway relay; do
      perf_consume "${bootstrap_of[$path]}" "$fetch_topic" $((RECORDS / 4)) "compare-warmup-$path-$RANDOM" >/dev/null
    done
    ;;
  *) die "BENCH_COMPARE_MODE is produce or fetch, not $MODE" ;;
esac
for round in $(seq 1 "$ROUNDS"); do
  order=(base gateway relay)
  ((round % 2 == 0)) && order=(relay gateway base)
  for path in "${order[@]}"; do run "$path" "$round"; done
done
