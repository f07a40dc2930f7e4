#!/usr/bin/env bash
# Does the work spread over workers? Two gateways run side by side against the one broker, one
# with `workers: 1` and one with `workers: 2`, and take the same load in turn, round after round:
# produce (CLIENTS ProducerPerformance processes at once, each with its own connections, so that
# round robin hands them to different workers) and fetch (CLIENTS ConsumerPerformance processes at
# once, each a group of its own reading the whole topic). Per run: records/s over all clients, and
# the CPU seconds of the gateway's processes (launcher, primary and workers; utime+stime from
# /proc), per worker too, which shows whether the load reached both.
#
#   scripts/with-kafka.sh bench/workers.sh      (or via `make bench`, which runs all of bench/)
#
# Environment: KAFKA_BOOTSTRAP (127.0.0.1:9092), BENCH_WORKERS_RECORDS (200000 per produce run, split
# over the clients), BENCH_WORKERS_CONSUME_RECORDS (300000, read by every consumer), BENCH_RECORD_SIZE
# (1024), BENCH_PARTITIONS (4), BENCH_WORKERS_CLIENTS (2), BENCH_ROUNDS (3), BENCH_WORKERS_PORT
# (23700: the workers-1 gateway there, broker N on +N, HTTP on +90; the workers-2 gateway 20 and 5
# above), BENCH_PRODUCER_PROPS (acks=1 linger.ms=5), BENCH_WARMUP_SECONDS (90; the untimed
# warm-up goes on until both gateways have been up this long), BENCH_SKIP_BUILD=1 to reuse dist/.
# Writes bench/results/workers.md. Broker, load generators and both gateways share the machine's
# cores: on a small host the figures say whether the work spreads, not what more cores would give.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
RECORDS="${BENCH_WORKERS_RECORDS:-200000}"
CONSUME_RECORDS="${BENCH_WORKERS_CONSUME_RECORDS:-300000}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
PARTITIONS="${BENCH_PARTITIONS:-4}"
CLIENTS="${BENCH_WORKERS_CLIENTS:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
BASE_PORT="${BENCH_WORKERS_PORT:-23700}"
read -r -a PRODUCER_PROPS <<<"${BENCH_PRODUCER_PROPS:-acks=1 linger.ms=5}"
RESULTS="$ROOT/bench/results/workers.md"
SIDES=(1 2)

log() { printf 'workers: %s\n' "$*" >&2; }
# shellcheck source=bench/support/perf-tools.sh
source "$ROOT/bench/support/perf-tools.sh"
die() {
  log "error: $*"
  exit 1
}

work="$(mktemp -d)"
run_id="$(date +%s)-$$"
declare -A gw_pid=() gw_port=() gw_http=()
cleanup() {
  local rc=$? w
  for w in "${!gw_pid[@]}"; do
    if kill -0 "${gw_pid[$w]}" 2>/dev/null; then
      kill -TERM "${gw_pid[$w]}" 2>/dev/null || true
      wait "${gw_pid[$w]}" 2>/dev/null || true
    fi
  done
  # The topics of this run hold about 2 GB in the shared broker, whose data outlives it.
  delete_topics "$BOOTSTRAP" "bench-workers-.*-$run_id-.*"
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Gateways

start_gateway() {
  local workers="$1" port="$2" http="$3"
  cat >"$work/gateway-$workers.yaml" <<EOF
kafka:
  bootstrapServers: ["$BOOTSTRAP"]
listeners:
  bindHost: 127.0.0.1
  bootstrapPort: $port
  brokerPortBase: $port
http:
  host: 127.0.0.1
  port: $http
pipeline:
  middlewares: []
workers: $workers
logging:
  level: info
EOF
  node "$ROOT/dist/cli.js" --config "$work/gateway-$workers.yaml" >"$work/gateway-$workers.log" 2>&1 &
  gw_pid[$workers]=$!
  gw_port[$workers]=$port
  gw_http[$workers]=$http
}

wait_ready() {
  local workers="$1" deadline=$((SECONDS + 90))
  until curl -fsS "http://127.0.0.1:${gw_http[$workers]}/readyz" >/dev/null 2>&1; do
    kill -0 "${gw_pid[$workers]}" 2>/dev/null ||
      die "the workers-$workers gateway exited during startup: $(cat "$work/gateway-$workers.log")"
    ((SECONDS < deadline)) || die "the workers-$workers gateway was not ready within 90 s"
    sleep 0.5
  done
  # Every worker, not only the first one to answer.
  if ((workers > 1)); then
    until [[ "$(grep -c '"msg":"worker started"' "$work/gateway-$workers.log")" -ge "$workers" ]]; do
      ((SECONDS < deadline)) || die "not every worker of the workers-$workers gateway started within 90 s"
      sleep 0.5
    done
  fi
  log "workers-$workers gateway: pid ${gw_pid[$workers]} on 127.0.0.1:${gw_port[$workers]}"
}

# CPU seconds (utime+stime) of one process so far; fields 14 and 15 of /proc/PID/stat, counted
# after the ')' that ends the command name.
process_cpu() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || {
    echo 0
    return
  }
  awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / tck }' <<<"${stat##*) }"
}

# The worker processes of a gateway, in pid order; none with workers: 1. gw_pid is the CLI's
# launcher, whose only child is the primary (with workers: 1 the gateway itself), and the workers
# are the primary's children.
worker_pids() {
  (($1 > 1)) || return 0
  local primary
  for primary in $(pgrep -P "${gw_pid[$1]}" || true); do
    pgrep -P "$primary" || true
  done | sort -n
}

# "total w1 w2 ...": CPU seconds of the gateway's processes, the total over all of them (launcher
# and primary included), then each worker's own.
gateway_cpu() {
  local workers="$1" total parts=() pid
  total="$(tree_cpu_seconds "${gw_pid[$workers]}")"
  for pid in $(worker_pids "$workers"); do parts+=("$(process_cpu "$pid")"); done
  echo "$total ${parts[*]}"
}

# The per-worker part of a cpu_between answer, as "w1/w2/..."; "—" for a single process.
per_worker() { if [[ "$1" == *" "* ]]; then tr ' ' '/' <<<"${1#* }"; else echo "—"; fi; }

# "total w1 w2 ...": what was used between two gateway_cpu readings.
cpu_between() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ");
    for (i = 1; i <= n; i++) printf "%s%.2f", (i > 1 ? " " : ""), y[i] - x[i];
  }'
}

# ---------------------------------------------------------------------------------------------
# Load

create_topic() {
  "$KAFKA" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$1" \
    --partitions "$PARTITIONS" --replication-factor 1 >/dev/null
}

topic_seq=0
new_topic() {
  topic_seq=$((topic_seq + 1))
  TOPIC="bench-workers-$1-$run_id-$topic_seq"
  create_topic "$TOPIC"
}

now_ms() { date +%s%3N; }

# produce_run BOOTSTRAP TOPIC: CLIENTS producers at once, RECORDS over all of them. Prints
# "records/s wall-ms p99-max-ms".
produce_run() {
  local bootstrap="$1" topic="$2" each=$((RECORDS / CLIENTS)) c start end pids=()
  start="$(now_ms)"
  for ((c = 1; c <= CLIENTS; c++)); do
    perf_produce "$bootstrap" "$topic" "$each" "$RECORD_SIZE" "${PRODUCER_PROPS[@]}" >"$work/produce-$c" &
    pids+=($!)
  done
  for c in "${pids[@]}"; do wait "$c" || die "a producer against $bootstrap failed"; done
  end="$(now_ms)"
  local p99=0
  for ((c = 1; c <= CLIENTS; c++)); do
    [[ -s "$work/produce-$c" ]] || die "a producer against $bootstrap reported nothing"
    p99="$(awk -v a="$p99" '{ print ($5 > a ? $5 : a) }' "$work/produce-$c")"
  done
  awk -v n="$((each * CLIENTS))" -v ms="$((end - start))" -v p99="$p99" 'BEGIN { printf "%.0f %d %s", n * 1000 / ms, ms, p99 }'
}

# consume_run BOOTSTRAP TOPIC GROUP: CLIENTS consumers at once, each a group of its own reading
# the whole topic. Prints "records/s wall-ms" where records/s is the sum of the consumers' fetch
# rates (ConsumerPerformance's rate once its group is joined).
consume_run() {
  local bootstrap="$1" topic="$2" group="$3" c start end pids=()
  start="$(now_ms)"
  for ((c = 1; c <= CLIENTS; c++)); do
    perf_consume "$bootstrap" "$topic" "$CONSUME_RECORDS" "$group-$c" >"$work/consume-$c" &
    pids+=($!)
  done
  for c in "${pids[@]}"; do wait "$c" || die "a consumer against $bootstrap failed"; done
  end="$(now_ms)"
  local sum=0
  for ((c = 1; c <= CLIENTS; c++)); do
    [[ -s "$work/consume-$c" ]] || die "a consumer against $bootstrap reported nothing"
    sum="$(awk -v a="$sum" '{ print a + $1 }' "$work/consume-$c")"
  done
  printf '%.0f %d' "$sum" "$((end - start))"
}

# ---------------------------------------------------------------------------------------------

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 || ! -f "$ROOT/dist/cli.js" ]]; then
  log "building the gateway (npm run build)"
  (cd "$ROOT" && npm run --silent build) >&2
fi
start_gateway 1 "$BASE_PORT" $((BASE_PORT + 90))
start_gateway 2 $((BASE_PORT + 20)) $((BASE_PORT + 95))
wait_ready 1
wait_ready 2
perf_tools_init

# One untimed produce run through each gateway, repeated until both have been up
# BENCH_WARMUP_SECONDS (warm_up_until_up).
warm_up_pass() {
  local w
  log "warming up, pass $((WARMUP_PASSES)) (untimed)"
  for w in "${SIDES[@]}"; do
    new_topic warmup
    produce_run "127.0.0.1:${gw_port[$w]}" "$TOPIC" >/dev/null
  done
}
warm_up_until_up 1 "${gw_pid[1]} ${gw_pid[2]}" warm_up_pass || die "a gateway exited during the warm-up"
log "warmed up: $WARMUP_PASSES passes, both gateways up $WARMUP_AGE s"
new_topic consume
consume_topic="$TOPIC"
log "writing $CONSUME_RECORDS records for the fetch runs (untimed, straight to the broker)"
perf_produce "$BOOTSTRAP" "$consume_topic" "$CONSUME_RECORDS" "$RECORD_SIZE" "${PRODUCER_PROPS[@]}" >/dev/null

declare -A rate=() cpu=()
detail=()
order_of_round() { if (($1 % 2 == 0)); then echo 2 1; else echo 1 2; fi; }

for ((round = 1; round <= ROUNDS; round++)); do
  for w in $(order_of_round "$round"); do
    new_topic "w$w"
    log "round $round/$ROUNDS: produce through workers: $w"
    before="$(gateway_cpu "$w")"
    read -r r ms p99 <<<"$(produce_run "127.0.0.1:${gw_port[$w]}" "$TOPIC")"
    used="$(cpu_between "$before" "$(gateway_cpu "$w")")"
    rate[produce,$w,$round]=$r
    cpu[produce,$w,$round]="${used%% *}"
    detail+=("| produce | $w | $round | $r | $ms | ${used%% *} | $(per_worker "$used") | p99 $p99 ms |")
  done
  for w in $(order_of_round "$round"); do
    log "round $round/$ROUNDS: fetch through workers: $w"
    before="$(gateway_cpu "$w")"
    read -r r ms <<<"$(consume_run "127.0.0.1:${gw_port[$w]}" "$consume_topic" "bench-workers-$run_id-$w-$round")"
    used="$(cpu_between "$before" "$(gateway_cpu "$w")")"
    rate[fetch,$w,$round]=$r
    cpu[fetch,$w,$round]="${used%% *}"
    detail+=("| fetch | $w | $round | $r | $ms | ${used%% *} | $(per_worker "$used") | |")
  done
done

for w in "${SIDES[@]}"; do
  kill -0 "${gw_pid[$w]}" 2>/dev/null || die "the workers-$w gateway died during the run"
  if grep -q '"level":5[0-9]' "$work/gateway-$w.log"; then
    log "the workers-$w gateway logged errors during the run:"
    grep '"level":5[0-9]' "$work/gateway-$w.log" | head -10 >&2
  fi
done

values_of() {
  local kind="$1" w="$2" what="$3" r list=()
  for ((r = 1; r <= ROUNDS; r++)); do
    if [[ "$what" == rate ]]; then list+=("${rate[$kind,$w,$r]}"); else list+=("${cpu[$kind,$w,$r]}"); fi
  done
  echo "${list[@]}"
}
# CPU seconds per 100,000 records, from the median CPU and the records each run moved.
cpu_per_100k() {
  local kind="$1" w="$2" moved
  # shellcheck disable=SC2046
  if [[ "$kind" == produce ]]; then moved=$(((RECORDS / CLIENTS) * CLIENTS)); else moved=$((CONSUME_RECORDS * CLIENTS)); fi
  awk -v c="$(median $(values_of "$kind" "$w" cpu))" -v n="$moved" 'BEGIN { printf "%.2f", c * 100000 / n }'
}
round_ratio() {
  local kind="$1" r list=()
  for ((r = 1; r <= ROUNDS; r++)); do list+=("$(ratio "${rate[$kind,2,$r]}" "${rate[$kind,1,$r]}")"); done
  local joined
  joined="$(printf '%s, ' "${list[@]}")"
  printf '**%s** (rounds: %s)' "$(median "${list[@]}")" "${joined%, }"
}

kafka_version="$(sed -n 's/^C_VERSION=//p' "${KAFKA_HOME_DIR:-$ROOT/.kafka}/run/default/cluster.env" 2>/dev/null || true)"
{
  echo "# Workers: the same load through \`workers: 1\` and \`workers: 2\`"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) · load average $(cut -d' ' -f1-3 /proc/loadavg) · Node $(node --version) · Kafka ${kafka_version:-?} at $BOOTSTRAP"
  echo
  echo "Two gateways (\`node dist/cli.js\`, no middlewares) side by side against the one broker, taking the same load in turn; $ROUNDS rounds after an untimed warm-up of $WARMUP_PASSES passes (until both had been up $WARMUP_AGE s), the order alternating. Produce: $CLIENTS ProducerPerformance processes at once (${PRODUCER_PROPS[*]}), $RECORDS records of $RECORD_SIZE B in all, into a fresh $PARTITIONS-partition topic per run; records/s over the wall time of the slowest. Fetch: $CLIENTS ConsumerPerformance processes at once, each a new group reading all $CONSUME_RECORDS records of one $PARTITIONS-partition topic; records/s is the sum of their fetch rates. CPU = utime+stime of the gateway's processes during a run (launcher, primary and workers), median over the rounds; per worker in the table of every run."
  echo
  echo "| load | workers | records/s (median) | CPU s per run (median) | CPU s per 100k records |"
  echo "|---|---:|---:|---:|---:|"
  for kind in produce fetch; do
    for w in "${SIDES[@]}"; do
      # shellcheck disable=SC2046
      echo "| $kind | $w | $(median $(values_of "$kind" "$w" rate)) | $(median $(values_of "$kind" "$w" cpu)) | $(cpu_per_100k "$kind" "$w") |"
    done
  done
  echo
  echo "workers 2 / workers 1, records/s: produce $(round_ratio produce); fetch $(round_ratio fetch)."
  echo
  echo "<details><summary>Every run</summary>"
  echo
  echo "| load | workers | round | records/s | wall ms | CPU s | CPU s per worker | more |"
  echo "|---|---:|---:|---:|---:|---:|---|---|"
  printf '%s\n' "${detail[@]}"
  echo
  echo "</details>"
} >"$work/table.md"

mkdir -p "$(dirname "$RESULTS")"
cp "$work/table.md" "$RESULTS"
(cd "$ROOT" && npx --no-install prettier --write "$RESULTS" >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
cat "$RESULTS"
log "written to ${RESULTS#"$ROOT"/}"
