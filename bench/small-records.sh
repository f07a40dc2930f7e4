#!/usr/bin/env bash
# Small records, where requests per second bound the load rather than bytes: several concurrent
# ProducerPerformance processes send 100-byte records with linger.ms=0 and acks=1, straight at the
# broker, through a bare TCP relay and through the gateway with no middlewares
# (bench/support/hop-setup.sh), in the same run. Big batches hide what each request costs the
# gateway; this load shows it.
#
#   bench/small-records.sh      (also run by `make bench`; writes bench/results/small-records.md and
#                                small-records.svg)
#
# records/s of a run is the sum of the producers' own rates (each over its own sending time; they
# start together and send the same count). Environment: BENCH_SMALL_PRODUCERS (4),
# BENCH_SMALL_RECORDS (100000 per producer), BENCH_SMALL_RECORD_SIZE (100), BENCH_ROUNDS (5),
# BENCH_SKIP_BUILD=1, and the ports and flags of bench/support/hop-setup.sh (BENCH_HOP_PORT, 27500).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
PRODUCERS="${BENCH_SMALL_PRODUCERS:-4}"
RECORDS="${BENCH_SMALL_RECORDS:-100000}"
RECORD_SIZE="${BENCH_SMALL_RECORD_SIZE:-100}"
ROUNDS="${BENCH_ROUNDS:-5}"
PROPS=(acks=1 linger.ms=0)

log() { printf 'small-records: %s\n' "$*" >&2; }
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

# producers BOOTSTRAP TOPIC COUNT: runs PRODUCERS load generators at once; prints the sum of their
# records/s. Each writes its result to a file: a failing one fails the run.
producers() {
  local bootstrap="$1" topic="$2" count="$3" i pids=() sum=0 rate
  for ((i = 1; i <= PRODUCERS; i++)); do
    (perf_produce "$bootstrap" "$topic" "$count" "$RECORD_SIZE" "${PROPS[@]}" >"$HOP_WORK/producer-$i") &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || die "producer $((i + 1)) against $bootstrap failed"; done
  for ((i = 1; i <= PRODUCERS; i++)); do
    rate="$(cut -d' ' -f1 "$HOP_WORK/producer-$i")"
    sum=$((sum + rate))
  done
  echo "$sum"
}

runs="$HOP_WORK/runs"
: >"$runs"
# A whole run's worth per path at least, as in relay-floor.sh: V8 is still optimising after less.
warm_up_pass() {
  local path
  for path in direct gateway relay; do
    new_topic small-warmup
    producers "${bootstrap_of[$path]}" "$TOPIC" "$RECORDS" >/dev/null
  done
}
log "warming up"
hop_warm_up 1 warm_up_pass
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS"
  for path in $(order_of_round "$round"); do
    new_topic "small-$path"
    before="$(cpu_seconds "${pid_of[$path]}")"
    rate="$(producers "${bootstrap_of[$path]}" "$TOPIC" "$RECORDS")"
    cpu="$(awk -v a="$before" -v b="$(cpu_seconds "${pid_of[$path]}")" 'BEGIN { printf "%.2f", b - a }')"
    echo "$path $round $rate $cpu $((RECORDS * PRODUCERS)) $PRODUCERS" >>"$runs"
    log "  $path: $rate records/s"
  done
done
kill -0 "$GW_PID" 2>/dev/null || die "the gateway died during the run: $(tail -20 "$HOP_WORK/gateway.log")"

export HOP_ENVIRONMENT HOP_SETTINGS
HOP_ENVIRONMENT="$(environment_line bench/small-records.sh)"
HOP_SETTINGS="$PRODUCERS ProducerPerformance processes at once per run, each sending $RECORDS records of $RECORD_SIZE B at full speed (--throughput -1, ${PROPS[*]}) into one fresh 3-partition topic; records/s is the sum of their rates. $ROUNDS rounds after an untimed warm-up of $WARMUP_PASSES runs per path (until the gateway had been up ${BENCH_WARMUP_SECONDS:-90} s), the order of the paths rotating; ratios are medians of the ratios within each round. CPU: utime+stime of the proxy's processes (for the gateway, launcher and gateway) during the run, per record."
(cd "$ROOT" && npx --no-install tsx bench/support/hop-report.ts small "$runs")
(cd "$ROOT" && npx --no-install prettier --write bench/results/small-records.md >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
