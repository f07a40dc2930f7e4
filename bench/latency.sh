#!/usr/bin/env bash
# Produce latency at a fixed rate well below saturation, straight at the broker, through a bare TCP
# relay and through the gateway with no middlewares (bench/support/hop-setup.sh), in the same run:
# what a producer at its usual load feels, rather than what the hop costs at full speed.
#
#   bench/latency.sh        (also run by `make bench`; writes bench/results/latency.md and
#                            latency-*.svg)
#
# Two rates: BENCH_LATENCY_RATE (5000 records/s) and half of the direct maximum, measured first in
# the same run (one full-speed direct run of 1 KiB records, the same producer settings). Each run
# is ProducerPerformance --throughput RATE for BENCH_LATENCY_SECONDS (5) worth of records, acks=1,
# linger.ms=0, after BENCH_LATENCY_WARMUP_SECONDS (2) worth that are left out of the figures
# (--warmup-records); it reports p50, p95, p99 and p99.9 of each send's latency in whole ms.
# Nine rounds at the fixed rate, whose added p99 has a target, and five at half the maximum, which
# is only reported: in whole milliseconds, rounds added 1 ms about half the time and 0 or 2 ms most
# of the rest, so a median of five moved between 1 and 2 ms from one run of the same code to the next.
# Environment: BENCH_ROUNDS (9; rounds at BENCH_LATENCY_RATE), BENCH_HALF_MAX_ROUNDS (5),
# BENCH_RECORD_SIZE (1024), BENCH_SKIP_BUILD=1, and the ports and flags of
# bench/support/hop-setup.sh (BENCH_HOP_PORT, 27500).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
RATE="${BENCH_LATENCY_RATE:-5000}"
SECONDS_PER_RUN="${BENCH_LATENCY_SECONDS:-5}"
WARMUP_SECONDS="${BENCH_LATENCY_WARMUP_SECONDS:-2}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
ROUNDS="${BENCH_ROUNDS:-9}"
HALF_MAX_ROUNDS="${BENCH_HALF_MAX_ROUNDS:-5}"
PROPS=(acks=1 linger.ms=0)

log() { printf 'latency: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
# shellcheck source=bench/support/perf-tools.sh
source "$ROOT/bench/support/perf-tools.sh"
# shellcheck source=bench/support/hop-setup.sh
source "$ROOT/bench/support/hop-setup.sh"
trap 'rc=$?; hop_cleanup; exit $rc' EXIT
hop_setup

runs="$HOP_WORK/runs"
: >"$runs"
warm_up_pass() {
  local path
  for path in gateway relay; do
    new_topic latency-warmup
    perf_produce_at "${bootstrap_of[$path]}" "$TOPIC" $((RATE * 2)) "$RECORD_SIZE" "$RATE" 0 "${PROPS[@]}" >/dev/null
  done
}
log "warming up, then measuring the direct maximum"
hop_warm_up 1 warm_up_pass
new_topic latency-max
max="$(perf_produce_at "$DIRECT" "$TOPIC" 200000 "$RECORD_SIZE" -1 0 "${PROPS[@]}")"
max="${max%% *}"
half=$((max / 2))
log "direct maximum $max records/s; half: $half"

for rate in "$RATE" "$half"; do
  rounds="$ROUNDS"
  [[ "$rate" == "$RATE" ]] || rounds="$HALF_MAX_ROUNDS"
  for round in $(seq 1 "$rounds"); do
    log "$rate records/s, round $round/$rounds"
    for path in $(order_of_round "$round"); do
      new_topic "latency-$path"
      before="$(cpu_seconds "${pid_of[$path]}")"
      result="$(perf_produce_at "${bootstrap_of[$path]}" "$TOPIC" $((rate * (WARMUP_SECONDS + SECONDS_PER_RUN))) "$RECORD_SIZE" "$rate" $((rate * WARMUP_SECONDS)) "${PROPS[@]}")"
      read -r achieved _ avg p50 p95 p99 p999 worst <<<"$result"
      cpu="$(awk -v a="$before" -v b="$(cpu_seconds "${pid_of[$path]}")" 'BEGIN { printf "%.2f", b - a }')"
      echo "$rate $path $round $achieved $avg $p50 $p95 $p99 $p999 $worst $cpu" >>"$runs"
      log "  $path: p50 $p50 ms, p99 $p99 ms, p99.9 $p999 ms"
    done
  done
done
kill -0 "$GW_PID" 2>/dev/null || die "the gateway died during the run: $(tail -20 "$HOP_WORK/gateway.log")"

export HOP_ENVIRONMENT HOP_SETTINGS
HOP_ENVIRONMENT="$(environment_line bench/latency.sh)"
HOP_SETTINGS="ProducerPerformance --throughput RATE, $SECONDS_PER_RUN s worth of $RECORD_SIZE B records per run after $WARMUP_SECONDS s worth left out of the figures (--warmup-records), ${PROPS[*]}, a fresh 3-partition topic per run. Rates: $RATE records/s and $half records/s, half of the direct maximum of $max records/s measured at the start of this run with the same settings. $ROUNDS rounds at $RATE records/s and $HALF_MAX_ROUNDS at $half after an untimed warm-up of $WARMUP_PASSES passes (until the gateway had been up ${BENCH_WARMUP_SECONDS:-90} s), the order of the paths rotating; the tables give the median over rounds of each figure, the added latency is the median of the differences within each round. ProducerPerformance reports percentiles in whole milliseconds."
(cd "$ROOT" && npx --no-install tsx bench/support/hop-report.ts latency "$runs")
(cd "$ROOT" && npx --no-install prettier --write bench/results/latency.md >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
