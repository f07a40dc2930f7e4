#!/usr/bin/env bash
# What the gateway costs on the wire: Kafka's own ProducerPerformance and ConsumerPerformance,
# once straight at the broker and once through the gateway, round after round in the same run.
# The gateway runs from the built CLI (node dist/cli.js) in processes of its own (a launcher and
# the gateway as its child), so their CPU time (utime+stime from /proc/<pid>/stat) and peak RSS
# (VmHWM, summed) are the gateway's and nobody else's. It runs with no middlewares: this is the
# cost of pass-through; bench/validation.bench.ts measures the cost of checking records.
#
#   scripts/with-kafka.sh bench/proxy-throughput.sh      (or via `make bench`, which runs all of bench/)
#
# Produce: each run sends BENCH_RECORDS into a fresh topic. Consume: one topic of
# BENCH_CONSUME_RECORDS, written once up front, is read whole by every run (a new consumer group
# each time), so each run spends seconds fetching rather than starting a JVM and joining a group;
# the rate reported is ConsumerPerformance's own fetch rate (after the join), with the rate over
# the whole run beside it.
#
# Environment: KAFKA_BOOTSTRAP (127.0.0.1:9092), BENCH_RECORDS (200000), BENCH_CONSUME_RECORDS
# (1000000), BENCH_RECORD_SIZE (1024), BENCH_PARTITIONS (3), BENCH_ROUNDS (5; the median run of
# each kind and the median of the per-round gateway/direct ratios are reported),
# BENCH_GATEWAY_PORT (23300; broker N on +N, HTTP on +90), BENCH_PRODUCER_PROPS (acks=1 linger.ms=5),
# BENCH_WARMUP_SECONDS (90; the untimed warm-up goes on until the gateway has been up this long),
# BENCH_SKIP_BUILD=1 to reuse dist/.
# Writes the result tables to bench/results/latest.md and stdout. Numbers depend on the machine:
# broker, load generator and gateway share its cores, so compare runs on the same host only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
RECORDS="${BENCH_RECORDS:-200000}"
CONSUME_RECORDS="${BENCH_CONSUME_RECORDS:-1000000}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
PARTITIONS="${BENCH_PARTITIONS:-3}"
ROUNDS="${BENCH_ROUNDS:-5}"
GW_PORT="${BENCH_GATEWAY_PORT:-23300}"
GW_HTTP_PORT=$((GW_PORT + 90))
GW_BOOTSTRAP="127.0.0.1:$GW_PORT"
read -r -a PRODUCER_PROPS <<<"${BENCH_PRODUCER_PROPS:-acks=1 linger.ms=5}"
RESULTS="$ROOT/bench/results/latest.md"

log() { printf 'proxy-throughput: %s\n' "$*" >&2; }
# shellcheck source=bench/support/perf-tools.sh
source "$ROOT/bench/support/perf-tools.sh"
die() {
  log "error: $*"
  exit 1
}

work="$(mktemp -d)"
gw_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$gw_pid" ]] && kill -0 "$gw_pid" 2>/dev/null; then
    kill -TERM "$gw_pid" 2>/dev/null || true
    wait "$gw_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Gateway process

start_gateway() {
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 || ! -f "$ROOT/dist/cli.js" ]]; then
    log "building the gateway (npm run build)"
    (cd "$ROOT" && npm run --silent build) >&2
  fi
  cat >"$work/gateway.yaml" <<EOF
kafka:
  bootstrapServers: ["$BOOTSTRAP"]
listeners:
  bindHost: 127.0.0.1
  bootstrapPort: $GW_PORT
  brokerPortBase: $GW_PORT
http:
  host: 127.0.0.1
  port: $GW_HTTP_PORT
pipeline:
  middlewares: []
logging:
  level: info
EOF
  node "$ROOT/dist/cli.js" --config "$work/gateway.yaml" >"$work/gateway.log" 2>&1 &
  gw_pid=$!
  local deadline=$((SECONDS + 30))
  until curl -fsS "http://127.0.0.1:$GW_HTTP_PORT/readyz" >/dev/null 2>&1; do
    kill -0 "$gw_pid" 2>/dev/null || die "the gateway exited during startup: $(cat "$work/gateway.log")"
    ((SECONDS < deadline)) || die "the gateway was not ready within 30 s: $(cat "$work/gateway.log")"
    sleep 0.2
  done
  log "gateway pid $gw_pid listening on $GW_BOOTSTRAP (broker $BOOTSTRAP)"
}

# CPU seconds (user + system) the gateway's processes have used so far: gw_pid is the launcher,
# the gateway its child.
gateway_cpu() { tree_cpu_seconds "$gw_pid"; }

# Peak resident set size of the gateway's processes so far (launcher and gateway, summed), in MiB.
gateway_peak_rss() {
  local pid hwm kib=0
  for pid in $(tree_pids "$gw_pid"); do
    hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
    kib=$((kib + ${hwm:-0}))
  done
  awk -v kib="$kib" 'BEGIN { printf "%.0f", kib / 1024 }'
}

# ---------------------------------------------------------------------------------------------
# Load

create_topic() {
  "$KAFKA" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$1" \
    --partitions "$PARTITIONS" --replication-factor 1 >/dev/null
}

target_of() { if [[ "$1" == gateway ]]; then echo "$GW_BOOTSTRAP"; else echo "$BOOTSTRAP"; fi; }

# The gateway idles during direct runs: its CPU column stays empty there.
gateway_column() { if [[ "$1" == gateway ]]; then echo "$2"; fi; }

cpu_delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

start_gateway
perf_tools_init

run_id="$(date +%s)-$$"
topic_seq=0
# Creates a fresh topic and leaves its name in TOPIC (not printed: a subshell would lose the count).
new_topic() {
  topic_seq=$((topic_seq + 1))
  TOPIC="bench-$1-$run_id-$topic_seq"
  create_topic "$TOPIC"
}

# Untimed: the broker's and the gateway's JIT warm up, and the log directory has been used once;
# repeated until the gateway has been up BENCH_WARMUP_SECONDS (warm_up_until_up).
warm_up_pass() {
  local side
  log "warming up, pass $WARMUP_PASSES (RECORDS/4 records each way)"
  for side in direct gateway; do
    new_topic warmup
    perf_produce "$(target_of "$side")" "$TOPIC" $((RECORDS / 4)) "$RECORD_SIZE" "${PRODUCER_PROPS[@]}" >/dev/null
  done
}
warm_up_until_up 1 "$gw_pid" warm_up_pass || die "the gateway exited during the warm-up: $(tail -20 "$work/gateway.log")"
log "warmed up: $WARMUP_PASSES passes, the gateway up $WARMUP_AGE s"

# Rows of the detail table, and per kind/side/round the records/s and the gateway's CPU.
declare -A rps=() cpu=() line=()
detail=()

# record KIND SIDE ROUND CPU-BEFORE RECORDS/S MB/S SUMMARY-COLUMNS DETAIL: keeps one run's numbers.
record() {
  local kind="$1" side="$2" round="$3" used
  used="$(cpu_delta "$4" "$(gateway_cpu)")"
  rps[$kind,$side,$round]=$5
  cpu[$kind,$side,$round]=$used
  line[$kind,$side,$round]=$7
  detail+=("| $kind, $side | $round | $5 | $6 | $8 | $(gateway_column "$side" "$used") |")
}

# Alternates who goes first, so that neither side always gets the quieter moment.
sides_of_round() { if (($1 % 2 == 0)); then echo gateway direct; else echo direct gateway; fi; }

for ((round = 1; round <= ROUNDS; round++)); do
  for side in $(sides_of_round "$round"); do
    new_topic "$side"
    log "round $round/$ROUNDS: produce, $side ($RECORDS x $RECORD_SIZE B)"
    before="$(gateway_cpu)"
    # Through a variable: a failing run must stop the script, not yield blanks.
    result="$(perf_produce "$(target_of "$side")" "$TOPIC" "$RECORDS" "$RECORD_SIZE" "${PRODUCER_PROPS[@]}")"
    read -r r mbs avg p50 p99 <<<"$result"
    record produce "$side" "$round" "$before" "$r" "$mbs" "$r | $mbs | $avg | $p50 | $p99" \
      "$avg ms avg, $p50 ms p50, $p99 ms p99"
  done
done
rss_after_produce="$(gateway_peak_rss)"

new_topic consume
consume_topic="$TOPIC"
log "writing $CONSUME_RECORDS records for the consume rounds (untimed)"
perf_produce "$BOOTSTRAP" "$consume_topic" "$CONSUME_RECORDS" "$RECORD_SIZE" "${PRODUCER_PROPS[@]}" >/dev/null
perf_consume "$GW_BOOTSTRAP" "$consume_topic" $((CONSUME_RECORDS / 10)) "bench-warmup-$run_id" >/dev/null

for ((round = 1; round <= ROUNDS; round++)); do
  for side in $(sides_of_round "$round"); do
    log "round $round/$ROUNDS: consume, $side ($CONSUME_RECORDS records)"
    before="$(gateway_cpu)"
    result="$(perf_consume "$(target_of "$side")" "$consume_topic" "$CONSUME_RECORDS" "bench-$side-$run_id-$round")"
    read -r r whole mbs join latency <<<"$result"
    record consume "$side" "$round" "$before" "$r" "$mbs" "$r | $whole | $mbs | $join | $latency" \
      "$whole records/s with the join ($join ms), fetch latency $latency ms"
  done
done
rss_peak="$(gateway_peak_rss)"

kill -0 "$gw_pid" 2>/dev/null || die "the gateway died during the run: $(tail -20 "$work/gateway.log")"
if grep -q '"level":5[0-9]' "$work/gateway.log"; then
  log "the gateway logged errors during the run:"
  grep '"level":5[0-9]' "$work/gateway.log" | head -20 >&2
fi

# The round whose records/s is the median of KIND/SIDE's rounds.
median_round() {
  local kind="$1" side="$2" r
  for ((r = 1; r <= ROUNDS; r++)); do echo "${rps[$kind,$side,$r]} $r"; done |
    sort -g | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) { print $2 }'
}

# Gateway/direct within each round (the two runs of a round are a minute apart at most, so they
# share the machine's mood), as "median (rounds: a, b, ...)".
round_ratios() {
  local kind="$1" r list=()
  for ((r = 1; r <= ROUNDS; r++)); do list+=("$(ratio "${rps[$kind,gateway,$r]}" "${rps[$kind,direct,$r]}")"); done
  local joined
  joined="$(printf '%s, ' "${list[@]}")"
  printf '**%s** (rounds: %s)' "$(median "${list[@]}")" "${joined%, }"
}

mean_cpu() {
  local kind="$1" r sum=0
  for ((r = 1; r <= ROUNDS; r++)); do sum="$(awk -v a="$sum" -v b="${cpu[$kind,gateway,$r]}" 'BEGIN { print a + b }')"; done
  awk -v s="$sum" -v n="$ROUNDS" 'BEGIN { printf "%.2f", s / n }'
}

kafka_version="$(sed -n 's/^C_VERSION=//p' "$ROOT/.kafka/run/default/cluster.env" 2>/dev/null || true)"
pd="$(median_round produce direct)" pg="$(median_round produce gateway)"
cd_="$(median_round consume direct)" cg="$(median_round consume gateway)"

mkdir -p "$(dirname "$RESULTS")"
{
  echo "# Gateway throughput: direct vs through the gateway"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) · load average $(cut -d' ' -f1-3 /proc/loadavg) · Node $(node --version) · Kafka ${kafka_version:-?} at $BOOTSTRAP"
  echo
  echo "$ROUNDS rounds after an untimed warm-up of $WARMUP_PASSES passes (until the gateway had been up $WARMUP_AGE s), direct and gateway alternating which goes first. Each row shows the median run of its kind; the ratio is the median of the ratios within each round."
  echo "Gateway: \`node dist/cli.js\` in processes of its own (launcher and gateway), no middlewares (pass-through); CPU = utime+stime of both per run (mean over rounds), peak RSS = their VmHWM summed."
  echo
  echo "## Produce"
  echo
  echo "ProducerPerformance --throughput -1, ${PRODUCER_PROPS[*]}, $RECORDS records of $RECORD_SIZE B into a fresh $PARTITIONS-partition topic per run."
  echo
  echo "| Run | records/s | MB/s | avg latency ms | p50 ms | p99 ms |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "| direct | ${line[produce,direct,$pd]} |"
  echo "| via gateway | ${line[produce,gateway,$pg]} |"
  echo
  echo "Gateway/direct: $(round_ratios produce). Gateway CPU per run $(mean_cpu produce) s; peak RSS $rss_after_produce MiB."
  echo
  echo "## Consume"
  echo
  echo "ConsumerPerformance with default fetch settings, reading all $CONSUME_RECORDS records of one $PARTITIONS-partition topic as a new group per run. records/s is the fetch rate once the group is joined; the rate over the whole run, the join and the consumer's average fetch latency follow."
  echo
  echo "| Run | records/s | records/s with the join | MB/s | join ms | fetch latency ms |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "| direct | ${line[consume,direct,$cd_]} |"
  echo "| via gateway | ${line[consume,gateway,$cg]} |"
  echo
  echo "Gateway/direct: $(round_ratios consume). Gateway CPU per run $(mean_cpu consume) s; peak RSS $rss_peak MiB."
  echo
  echo "<details><summary>Every run</summary>"
  echo
  echo "| Run | round | records/s | MB/s | more | gateway CPU s |"
  echo "|---|---:|---:|---:|---|---:|"
  printf '%s\n' "${detail[@]}"
  echo
  echo "</details>"
} >"$work/table.md"

cp "$work/table.md" "$RESULTS"
# The file is committed with the rest of the repository, so it gets the same formatting (aligned
# tables) that `npm run format:check` expects.
(cd "$ROOT" && npx --no-install prettier --write "$RESULTS" >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
cat "$RESULTS"
log "written to ${RESULTS#"$ROOT"/}"
