#!/usr/bin/env bash
# What the gateway costs on the wire: Kafka's own ProducerPerformance and ConsumerPerformance,
# once straight at the broker and once through the gateway, in the same run, each against a fresh
# topic. The gateway runs as a separate process from the built CLI (node dist/cli.js), so its CPU
# time (utime+stime from /proc/<pid>/stat) and peak RSS (VmHWM) are its own and nobody else's.
#
#   scripts/with-kafka.sh bench/proxy-throughput.sh      (or via `make bench`, which runs all of bench/)
#
# Environment: KAFKA_BOOTSTRAP (127.0.0.1:9092), BENCH_RECORDS (200000), BENCH_RECORD_SIZE (1024),
# BENCH_PARTITIONS (3), BENCH_ROUNDS (3; the best run of each kind and the median of the per-round
# ratios are reported),
# BENCH_GATEWAY_PORT (23300; broker N on +N, HTTP on +90), BENCH_PRODUCER_PROPS (acks=1 linger.ms=5),
# BENCH_SKIP_BUILD=1 to reuse dist/.
# Writes the result table to bench/results/latest.md and stdout. Numbers depend on the machine:
# broker, load generator and gateway share its cores, so compare runs on the same host only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
RECORDS="${BENCH_RECORDS:-200000}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
PARTITIONS="${BENCH_PARTITIONS:-3}"
ROUNDS="${BENCH_ROUNDS:-3}"
GW_PORT="${BENCH_GATEWAY_PORT:-23300}"
GW_HTTP_PORT=$((GW_PORT + 90))
GW_BOOTSTRAP="127.0.0.1:$GW_PORT"
read -r -a PRODUCER_PROPS <<<"${BENCH_PRODUCER_PROPS:-acks=1 linger.ms=5}"
RESULTS="$ROOT/bench/results/latest.md"

log() { printf 'proxy-throughput: %s\n' "$*" >&2; }
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

# CPU seconds (user + system) the gateway has used so far. Fields 14 and 15 of /proc/PID/stat,
# counted after the ')' that ends the command name, which may itself contain spaces.
gateway_cpu() {
  local stat
  stat="$(cat "/proc/$gw_pid/stat")"
  awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / tck }' <<<"${stat##*) }"
}

# Peak resident set size of the gateway so far, in MiB.
gateway_peak_rss() {
  awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$gw_pid/status"
}

# ---------------------------------------------------------------------------------------------
# Load

create_topic() {
  "$KAFKA" topics --bootstrap-server "$BOOTSTRAP" --create --topic "$1" \
    --partitions "$PARTITIONS" --replication-factor 1 >/dev/null
}

# ProducerPerformance's summary line, e.g. "200000 records sent, 51234.5 records/sec (50.03 MB/sec),
# 310.20 ms avg latency, 812.00 ms max latency, 290 ms 50th, 700 ms 95th, 780 ms 99th, 805 ms 99.9th."
# Prints: records/s MB/s avg p50 p99
producer_run() {
  local bootstrap="$1" topic="$2" out
  out="$("$KAFKA" producer-perf --topic "$topic" --num-records "$RECORDS" --record-size "$RECORD_SIZE" \
    --throughput -1 --producer-props "bootstrap.servers=$bootstrap" "${PRODUCER_PROPS[@]}" 2>&1)" ||
    die "producer-perf against $bootstrap failed:"$'\n'"$out"
  local summary parsed
  summary="$(grep -E "^$RECORDS records sent" <<<"$out" | tail -1)"
  parsed="$(sed -nE 's/^[0-9]+ records sent, ([0-9.]+) records\/sec \(([0-9.]+) MB\/sec\), ([0-9.]+) ms avg latency, [0-9.]+ ms max latency, ([0-9]+) ms 50th, [0-9]+ ms 95th, ([0-9]+) ms 99th.*/\1 \2 \3 \4 \5/p' <<<"$summary")"
  [[ -n "$parsed" ]] || die "no summary from producer-perf against $bootstrap:"$'\n'"$out"
  awk '{ printf "%.0f %.2f %.1f %s %s", $1, $2, $3, $4, $5 }' <<<"$parsed"
}

# ConsumerPerformance's data line (after its header): ..., MB.sec, nMsg, nMsg.sec, ...
# Prints: records/s MB/s
consumer_run() {
  local bootstrap="$1" topic="$2" out count_flag=--messages
  # 4.x renamed --messages (and warns about it); 3.9 only knows the old name.
  if grep -q -- '--num-records' <<<"$CONSUMER_PERF_HELP"; then count_flag=--num-records; fi
  out="$("$KAFKA" consumer-perf --bootstrap-server "$bootstrap" --topic "$topic" "$count_flag" "$RECORDS" \
    --timeout 30000 --group "bench-$topic" 2>&1)" || die "consumer-perf against $bootstrap failed:"$'\n'"$out"
  local data
  data="$(grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' <<<"$out" | tail -1)"
  [[ -n "$data" ]] || die "no result from consumer-perf against $bootstrap:"$'\n'"$out"
  local consumed
  consumed="$(awk -F', *' '{ print $5 }' <<<"$data")"
  ((consumed >= RECORDS)) || die "consumer-perf against $bootstrap read $consumed of $RECORDS records"
  awk -F', *' '{ printf "%.0f %.2f", $6, $4 }' <<<"$data"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# ---------------------------------------------------------------------------------------------

start_gateway
CONSUMER_PERF_HELP="$("$KAFKA" consumer-perf --help 2>&1 || true)"

run_id="$(date +%s)-$$"
topic_seq=0
# Creates a fresh topic and leaves its name in TOPIC (not printed: a subshell would lose the count).
new_topic() {
  topic_seq=$((topic_seq + 1))
  TOPIC="bench-$1-$run_id-$topic_seq"
  create_topic "$TOPIC"
}

# Untimed: the broker's and the gateway's JIT warm up, and the log directory has been used once.
log "warming up (RECORDS/4 records each way)"
warm_records=$((RECORDS / 4))
for target in "$BOOTSTRAP" "$GW_BOOTSTRAP"; do
  new_topic warmup
  "$KAFKA" producer-perf --topic "$TOPIC" --num-records "$warm_records" --record-size "$RECORD_SIZE" \
    --throughput -1 --producer-props "bootstrap.servers=$target" "${PRODUCER_PROPS[@]}" >/dev/null 2>&1 ||
    die "warm-up against $target failed"
done

# Per kind ("produce direct", ...): the best run's numbers, and the gateway's CPU summed over runs.
declare -A best_rps=() best_line=() cpu_sum=() run_count=() round_rps=()
all_runs=()

# measure produce|consume direct|gateway TOPIC ROUND
measure() {
  local kind="$1" side="$2" topic="$3" round="$4" target="$BOOTSTRAP" result cpu_before cpu_after cpu rps mbs avg p50 p99 line
  if [[ "$side" == gateway ]]; then target="$GW_BOOTSTRAP"; fi
  log "round $round: $kind, $side ($RECORDS x $RECORD_SIZE B)"
  cpu_before="$(gateway_cpu)"
  # Through a variable rather than `< <(...)`: a failing run must stop the script, not yield blanks.
  if [[ "$kind" == produce ]]; then
    result="$(producer_run "$target" "$topic")"
    read -r rps mbs avg p50 p99 <<<"$result"
  else
    result="$(consumer_run "$target" "$topic")"
    read -r rps mbs <<<"$result"
    avg="" p50="" p99=""
  fi
  cpu_after="$(gateway_cpu)"
  cpu="$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')"
  local key="$kind, $side"
  line="$rps | $mbs | $avg | $p50 | $p99"
  # The gateway idles during direct runs; its CPU column is left empty there.
  local cpu_column=""
  if [[ "$side" == gateway ]]; then cpu_column="$cpu"; fi
  all_runs+=("| $key | $round | $line | $cpu_column |")
  cpu_sum[$key]="$(awk -v a="${cpu_sum[$key]:-0}" -v b="$cpu" 'BEGIN { printf "%.2f", a + b }')"
  run_count[$key]=$((${run_count[$key]:-0} + 1))
  round_rps[$kind,$side,$round]=$rps
  if ((rps > ${best_rps[$key]:-0})); then
    best_rps[$key]=$rps
    best_line[$key]="$line"
  fi
}

declare -A produced=()
for ((round = 1; round <= ROUNDS; round++)); do
  # Alternate who goes first, so that neither side always gets the quieter moment.
  sides=(direct gateway)
  if ((round % 2 == 0)); then sides=(gateway direct); fi
  for side in "${sides[@]}"; do
    new_topic "$side"
    produced[$side]="$TOPIC"
    measure produce "$side" "${produced[$side]}" "$round"
  done
  for side in "${sides[@]}"; do
    measure consume "$side" "${produced[$side]}" "$round"
  done
  if ((round == 1)); then rss_after_produce="$(gateway_peak_rss)"; fi
done
rss_peak="$(gateway_peak_rss)"

kill -0 "$gw_pid" 2>/dev/null || die "the gateway died during the run: $(tail -20 "$work/gateway.log")"
if grep -q '"level":5[0-9]' "$work/gateway.log"; then
  log "the gateway logged errors during the run:"
  grep '"level":5[0-9]' "$work/gateway.log" | head -20 >&2
fi

# Gateway/direct per round (the two runs of a round are minutes apart at most, so they share the
# machine's mood), then the median over rounds: steadier than a ratio of two bests.
round_ratios() {
  local kind="$1" r list=()
  for ((r = 1; r <= ROUNDS; r++)); do
    list+=("$(ratio "${round_rps[$kind,gateway,$r]}" "${round_rps[$kind,direct,$r]}")")
  done
  printf '%s\n' "${list[@]}" | sort -n | awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; printf "median %s (rounds: ", m }'
  local joined
  joined="$(printf '%s, ' "${list[@]}")"
  printf '%s)' "${joined%, }"
}

kafka_version="$(sed -n 's/^C_VERSION=//p' "$ROOT/.kafka/run/default/cluster.env" 2>/dev/null || true)"
cpu_per_run() { awk -v s="${cpu_sum[$1]}" -v n="${run_count[$1]}" 'BEGIN { printf "%.2f", s / n }'; }

mkdir -p "$(dirname "$RESULTS")"
{
  echo "# Gateway throughput: direct vs through the gateway"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) · load average $(cut -d' ' -f1-3 /proc/loadavg) · Node $(node --version) · Kafka ${kafka_version:-?} at $BOOTSTRAP"
  echo
  echo "$RECORDS records of $RECORD_SIZE B per run, $PARTITIONS partitions, a fresh topic per run, best of $ROUNDS rounds (order alternating) after an untimed warm-up."
  echo "Producer: ProducerPerformance --throughput -1, ${PRODUCER_PROPS[*]}. Consumer: ConsumerPerformance, default fetch settings, reading what the same round produced."
  echo "Gateway: \`node dist/cli.js\` in its own process; CPU = utime+stime per run (mean), peak RSS = VmHWM (after the first produce round / at the end)."
  echo
  echo "| Run | records/s | MB/s | avg latency ms | p50 ms | p99 ms | gateway/direct | gateway CPU s | gateway peak RSS MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  echo "| produce, direct | ${best_line[produce, direct]} | | | |"
  echo "| produce, via gateway | ${best_line[produce, gateway]} | $(ratio "${best_rps[produce, gateway]}" "${best_rps[produce, direct]}") | $(cpu_per_run "produce, gateway") | $rss_after_produce |"
  echo "| consume, direct | ${best_line[consume, direct]} | | | |"
  echo "| consume, via gateway | ${best_line[consume, gateway]} | $(ratio "${best_rps[consume, gateway]}" "${best_rps[consume, direct]}") | $(cpu_per_run "consume, gateway") | $rss_peak |"
  echo
  echo "Gateway/direct within each round: produce $(round_ratios produce); consume $(round_ratios consume)."
  echo
  echo "<details><summary>Every run</summary>"
  echo
  echo "| Run | round | records/s | MB/s | avg latency ms | p50 ms | p99 ms | gateway CPU s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${all_runs[@]}"
  echo
  echo "</details>"
} >"$work/table.md"

cp "$work/table.md" "$RESULTS"
# The file is committed with the rest of the repository, so it gets the same formatting (aligned
# tables) that `npm run format:check` expects.
(cd "$ROOT" && npx --no-install prettier --write "$RESULTS" >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
cat "$RESULTS"
log "written to ${RESULTS#"$ROOT"/}"
