#!/usr/bin/env bash
# The floor of proxying on this machine: Kafka's ProducerPerformance and ConsumerPerformance straight
# at a broker, through a bare TCP relay (bench/support/tcp-relay.js: a read/write loop, no protocol
# awareness) and through the gateway with no middlewares, in the same run (bench/support/hop-setup.sh
# sets the three up). The gap between relay and gateway is what the gateway's own work costs; the
# gap between direct and relay is what any extra hop costs when broker, client and proxy share the
# cores. Besides records/s, the CPU each proxy used per run (utime+stime from /proc/<pid>/stat of
# its processes: the relay's one, the gateway's launcher and gateway) is reported per GB carried.
#
#   bench/relay-floor.sh        (also run by `make bench`; writes bench/results/relay-floor.md and
#                                relay-floor-*.svg)
#
# Produce runs send BENCH_RECORDS into a fresh topic each and report the rate after the first
# BENCH_WARMUP_RECORDS (ProducerPerformance's steady state); consume runs each read the same topic
# of BENCH_CONSUME_RECORDS whole and report the fetch rate.
# Environment: BENCH_RECORDS (600000), BENCH_WARMUP_RECORDS (100000), BENCH_CONSUME_RECORDS
# (3000000), BENCH_RECORD_SIZE (1024), BENCH_ROUNDS (9; the medians of per-round ratios are
# reported), BENCH_WARMUP_RUNS (3 untimed produce runs per path before the first round, and more
# until the gateway has been up BENCH_WARMUP_SECONDS, 90: hop_warm_up),
# BENCH_SKIP_BUILD=1 to reuse dist/, and the ports and flags of bench/support/hop-setup.sh
# (BENCH_HOP_PORT, 27500).
#
# Why runs this long: a run of 200,000 records (1,000,000 to consume) is mostly the client JVM
# warming up. ProducerPerformance sent about 70,000 records/s over such a run and 120,000-130,000
# through either proxy once warm, and only then is the hop what limits it; consume runs of
# 3,000,000 records weigh the consumer's first second a third as much (docs/benchmarks.md, "Ninth
# round").
# Nine rounds: single rounds still range by up to ±15 % on 2 shared cores, and a median of five
# moved by more than the targets' margins between two runs of the same code ("Seventh round").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
RECORDS="${BENCH_RECORDS:-600000}"
WARMUP_RECORDS="${BENCH_WARMUP_RECORDS:-100000}"
CONSUME_RECORDS="${BENCH_CONSUME_RECORDS:-3000000}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
ROUNDS="${BENCH_ROUNDS:-9}"
WARMUP_RUNS="${BENCH_WARMUP_RUNS:-3}"
WARMUP_RUN_RECORDS=200000

log() { printf 'relay-floor: %s\n' "$*" >&2; }
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
# measure KIND PATH ROUND TOPIC: one run, appended to the runs file as
# "kind path round records/s MB/s proxy-CPU-s bytes".
measure() {
  local kind="$1" path="$2" round="$3" topic="$4" before result rate mbs records
  before="$(cpu_seconds "${pid_of[$path]}")"
  if [[ "$kind" == produce ]]; then
    result="$(perf_produce_at "${bootstrap_of[$path]}" "$topic" "$RECORDS" "$RECORD_SIZE" -1 "$WARMUP_RECORDS" acks=1 linger.ms=5)"
    rate="${result%% *}"
    records="$RECORDS"
  else
    result="$(perf_consume "${bootstrap_of[$path]}" "$topic" "$CONSUME_RECORDS" "relay-floor-$path-$round-$RANDOM$RANDOM")"
    rate="${result%% *}"
    records="$CONSUME_RECORDS"
  fi
  # From the rate compared, for both kinds (ConsumerPerformance's own MB/s includes the group join).
  # CPU is that of the whole run, warm-up included, and so per byte of the whole run.
  mbs="$(awk -v r="$rate" -v s="$RECORD_SIZE" 'BEGIN { printf "%.2f", r * s / 1048576 }')"
  echo "$kind $path $round $rate $mbs $(awk -v a="$before" -v b="$(cpu_seconds "${pid_of[$path]}")" 'BEGIN { printf "%.2f", b - a }') $((records * RECORD_SIZE))" >>"$runs"
  log "  $kind $path: $rate records/s"
}

# At least WARMUP_RUNS runs of WARMUP_RUN_RECORDS per path, and more until the gateway has been up
# BENCH_WARMUP_SECONDS (hop_warm_up). A freshly started gateway used 89, 69, 59, 53, 54 and 49 CPU
# ticks in its first six runs (the relay 80, 55, 52, 44, 55, 44) while V8 finished optimising its
# read path, and 75 and 33 ms of compiler time in the first two measured runs after three warm-up
# runs per path, recompiling after V8's memory reducer (docs/benchmarks.md, "Tenth round").
warm_up_pass() {
  local path
  for path in direct gateway relay; do
    new_topic warmup
    perf_produce "${bootstrap_of[$path]}" "$TOPIC" "$WARMUP_RUN_RECORDS" "$RECORD_SIZE" acks=1 linger.ms=5 >/dev/null
  done
}
log "warming up"
hop_warm_up "$WARMUP_RUNS" warm_up_pass
delete_topics "$DIRECT" 'warmup-.*'
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS: produce"
  for path in $(order_of_round "$round"); do
    new_topic "relay-floor-$path"
    measure produce "$path" "$round" "$TOPIC"
  done
  delete_topics "$DIRECT" 'relay-floor-(direct|relay|gateway)-.*'
done
new_topic relay-floor-consume
consume_topic="$TOPIC"
log "writing $CONSUME_RECORDS records for the consume rounds (untimed)"
perf_produce "$DIRECT" "$consume_topic" "$CONSUME_RECORDS" "$RECORD_SIZE" acks=1 linger.ms=5 >/dev/null
for path in gateway relay; do
  perf_consume "${bootstrap_of[$path]}" "$consume_topic" $((CONSUME_RECORDS / 10)) "relay-floor-warmup-$path-$RANDOM" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS: consume"
  for path in $(order_of_round "$round"); do measure consume "$path" "$round" "$consume_topic"; done
done
kill -0 "$GW_PID" 2>/dev/null || die "the gateway died during the run: $(tail -20 "$HOP_WORK/gateway.log")"
[[ -n "${RELAY_FLOOR_RUNS:-}" ]] && cp "$runs" "$RELAY_FLOOR_RUNS"

export HOP_ENVIRONMENT HOP_SETTINGS
HOP_ENVIRONMENT="$(environment_line bench/relay-floor.sh)"
HOP_SETTINGS="$RECORDS records of $RECORD_SIZE B per produce run (ProducerPerformance --throughput -1, acks=1 linger.ms=5, a fresh 3-partition topic each), records/s being its steady-state rate after the first $WARMUP_RECORDS (--warmup-records); each consume run reads all $CONSUME_RECORDS records of one topic (ConsumerPerformance, default settings, a new group each), records/s being its fetch rate once the group is joined. $ROUNDS rounds after an untimed warm-up of $WARMUP_PASSES produce runs of $WARMUP_RUN_RECORDS records per path (until the gateway had been up ${BENCH_WARMUP_SECONDS:-90} s), the order of the paths rotating. Ratios are medians of the ratios within each round. CPU: utime+stime of the relay's process or of the gateway's processes (launcher and gateway) during the run (/proc/<pid>/stat), per GB of record bytes carried."
(cd "$ROOT" && npx --no-install tsx bench/support/hop-report.ts floor "$runs")
(cd "$ROOT" && npx --no-install prettier --write bench/results/relay-floor.md >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
