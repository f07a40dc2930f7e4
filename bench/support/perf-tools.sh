# Kafka's load generators, run once and reduced to numbers. Sourced by the benchmarks under bench/;
# expects KAFKA (scripts/kafka.sh), a log() and a die() that reports and exits. Call
# perf_tools_init once, outside any subshell, before the first run.

# Asks the Kafka tools once what they call things: 4.x renamed ConsumerPerformance's --messages to
# --num-records (and warns about the old name); 3.9 knows only --messages.
perf_tools_init() {
  local help
  # Through a variable: with pipefail, grep -q leaving early could fail the tool's side of a pipe.
  help="$("$KAFKA" consumer-perf --help 2>&1 || true)"
  PERF_CONSUMER_COUNT_FLAG=--messages
  if grep -q -- '--num-records' <<<"$help"; then PERF_CONSUMER_COUNT_FLAG=--num-records; fi
}

# perf_produce BOOTSTRAP TOPIC RECORDS RECORD_SIZE PROP...: one ProducerPerformance run at full speed.
# Its summary line reads e.g. "200000 records sent, 51234.5 records/sec (50.03 MB/sec), 310.20 ms
# avg latency, 812.00 ms max latency, 290 ms 50th, 700 ms 95th, 780 ms 99th, 805 ms 99.9th."
# Prints: records/s MB/s avg-latency-ms p50-ms p99-ms
perf_produce() {
  local bootstrap="$1" topic="$2" records="$3" record_size="$4" out summary parsed
  shift 4
  out="$("$KAFKA" producer-perf --topic "$topic" --num-records "$records" --record-size "$record_size" \
    --throughput -1 --producer-props "bootstrap.servers=$bootstrap" "$@" 2>&1)" ||
    die "producer-perf against $bootstrap failed:"$'\n'"$out"
  summary="$(grep -E "^$records records sent" <<<"$out" | tail -1)"
  parsed="$(sed -nE 's/^[0-9]+ records sent, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\), ([0-9.]+) ms avg latency, [0-9.]+ ms max latency, ([0-9]+) ms 50th, [0-9]+ ms 95th, ([0-9]+) ms 99th.*/\1 \2 \3 \4 \5/p' <<<"$summary")"
  [[ -n "$parsed" ]] || die "no summary from producer-perf against $bootstrap:"$'\n'"$out"
  awk '{ printf "%.0f %.2f %.1f %s %s", $1, $2, $3, $4, $5 }' <<<"$parsed"
}

# perf_produce_at BOOTSTRAP TOPIC RECORDS RECORD_SIZE RATE WARMUP PROP...: one ProducerPerformance
# run capped at RATE records/s (-1: full speed), reporting every latency figure it prints (whole
# ms). With WARMUP > 0 the first WARMUP records are left out of the figures (--warmup-records: the
# JVM's first seconds would otherwise weigh on the high percentiles).
# Prints: records/s MB/s avg-ms p50 p95 p99 p99.9 max
perf_produce_at() {
  local bootstrap="$1" topic="$2" records="$3" record_size="$4" rate="$5" warmup="$6" out summary parsed
  local extra=() line="^$records records sent"
  shift 6
  if ((warmup > 0)); then
    extra=(--warmup-records "$warmup")
    line="^$((records - warmup)) steady state records sent"
  fi
  out="$("$KAFKA" producer-perf --topic "$topic" --num-records "$records" --record-size "$record_size" \
    --throughput "$rate" "${extra[@]}" --producer-props "bootstrap.servers=$bootstrap" "$@" 2>&1)" ||
    die "producer-perf against $bootstrap failed:"$'\n'"$out"
  summary="$(grep -E "$line" <<<"$out" | tail -1)"
  parsed="$(sed -nE 's/^[0-9]+ (steady state )?records sent, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\), ([0-9.]+) ms avg latency, ([0-9.]+) ms max latency, ([0-9]+) ms 50th, ([0-9]+) ms 95th, ([0-9]+) ms 99th, ([0-9]+) ms 99.9th.*/\2 \3 \4 \6 \7 \8 \9 \5/p' <<<"$summary")"
  [[ -n "$parsed" ]] || die "no summary from producer-perf against $bootstrap:"$'\n'"$out"
  awk '{ printf "%.0f %.2f %.2f %s %s %s %s %.0f", $1, $2, $3, $4, $5, $6, $7, $8 }' <<<"$parsed"
}

# perf_consume BOOTSTRAP TOPIC RECORDS GROUP: one ConsumerPerformance run reading RECORDS records
# (all of them, or it fails) as a new consumer group.
# Prints: fetch-records/s records/s MB/s join-ms fetch-latency-avg-ms
#   fetch-records/s  the rate once the group is joined (ConsumerPerformance's fetch.nMsg.sec)
#   records/s        the rate over the whole run, joining the group included (nMsg.sec)
#   join-ms          time to join the group before the first fetch (rebalance.time.ms)
#   fetch-latency    the consumer's own fetch-latency-avg: request sent to response read, in ms
perf_consume() {
  local bootstrap="$1" topic="$2" records="$3" group="$4" out data consumed latency
  [[ -n "${PERF_CONSUMER_COUNT_FLAG:-}" ]] || die "perf_tools_init was not called"
  out="$("$KAFKA" consumer-perf --bootstrap-server "$bootstrap" --topic "$topic" "$PERF_CONSUMER_COUNT_FLAG" "$records" \
    --timeout 30000 --group "$group" --print-metrics 2>&1)" ||
    die "consumer-perf against $bootstrap failed:"$'\n'"$out"
  # The data line follows a header: start.time, end.time, data.consumed.in.MB, MB.sec,
  # data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  data="$(grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' <<<"$out" | tail -1)"
  [[ -n "$data" ]] || die "no result from consumer-perf against $bootstrap:"$'\n'"$out"
  consumed="$(awk -F', *' '{ print $5 }' <<<"$data")"
  ((consumed >= records)) || die "consumer-perf against $bootstrap read $consumed of $records records"
  latency="$(sed -nE 's/^consumer-fetch-manager-metrics:fetch-latency-avg:\{client-id=[^,}]*\} *: *([0-9.]+).*/\1/p' <<<"$out" | head -1)"
  awk -F', *' -v latency="${latency:-0}" '{ printf "%.0f %.0f %.2f %.0f %.2f", $10, $6, $4, $7, latency }' <<<"$data"
}

# delete_topics BOOTSTRAP REGEX: deletes the topics whose names match REGEX, so that runs already
# measured do not fill the disk and the page cache; a failure is logged, not fatal (expects log()).
delete_topics() {
  "$KAFKA" topics --bootstrap-server "$1" --delete --topic "$2" >/dev/null 2>&1 ||
    log "could not delete the topics matching $2"
}

# tree_pids PID: PID and all its descendants, one per line (nothing for an empty PID). The gateway's
# CLI runs the gateway as a child of a small launcher (and, with workers, the workers below that),
# so the pid a benchmark starts is only the top of the gateway's processes.
tree_pids() {
  [[ -n "${1:-}" ]] || return 0
  local child
  echo "$1"
  # pgrep exits 1 when PID has no children (or is gone).
  for child in $(pgrep -P "$1" || true); do tree_pids "$child"; done
}

# tree_cpu_seconds PID: user + system CPU seconds so far of PID and its descendants, a process gone
# meanwhile counting 0 (0.00 for none). Fields 14 and 15 of /proc/PID/stat, counted after the ')'
# that ends the command name, which may contain spaces.
tree_cpu_seconds() {
  local pid stats=""
  for pid in $(tree_pids "${1:-}"); do
    stats+="$(cat "/proc/$pid/stat" 2>/dev/null || true)"$'\n'
  done
  awk -v t="$(getconf CLK_TCK)" '
    { sub(/.*\) /, ""); if (NF >= 13) ticks += $12 + $13 }
    END { printf "%.2f", ticks / t }' <<<"$stats"
}

# warm_up_until_up MIN_PASSES "PID..." COMMAND...: runs COMMAND (one untimed warm-up pass over the
# paths) at least MIN_PASSES times, and again until every PID has been up BENCH_WARMUP_SECONDS (90).
# About 25 s after start V8's memory reducer makes a Node process drop the optimised code of some
# 50 functions, and it recompiles them over its next few runs (docs/benchmarks.md, "Tenth round"):
# a benchmark whose first rounds fell in that phase measured the compiler. bench/support/warm-up.ts
# is the same rule for the TypeScript benchmarks. Leaves the count in WARMUP_PASSES and the
# youngest process's age in WARMUP_AGE; returns 1 when one of the processes is gone.
warm_up_until_up() {
  local min_passes="$1" pids="$2" pid age
  shift 2
  WARMUP_PASSES=0
  while :; do
    WARMUP_AGE=""
    for pid in $pids; do
      age="$(ps -o etimes= -p "$pid")" || return 1
      if [[ -z "$WARMUP_AGE" ]] || ((age < WARMUP_AGE)); then WARMUP_AGE=$((age)); fi
    done
    if ((WARMUP_PASSES >= min_passes && WARMUP_AGE >= ${BENCH_WARMUP_SECONDS:-90})); then return 0; fi
    WARMUP_PASSES=$((WARMUP_PASSES + 1))
    "$@"
  done
}

# ratio A B: A/B with two decimals ("n/a" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# median VALUE...: the middle value (the lower middle for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
