#!/usr/bin/env bash
# The floor of proxying on this machine: Kafka's ProducerPerformance and ConsumerPerformance straight at a broker, through
# a bare TCP relay (bench/support/tcp-relay.js: Node pipe(), no protocol awareness) and through the
# gateway with no middlewares, in the same run. The broker gets an extra listener advertised at the
# relay's port, so clients bootstrapping there keep using the relay. The gap between relay and
# gateway is what the gateway's own work costs; the gap between direct and relay is what any extra
# process in the path costs when broker, client and proxy share the cores.
#
#   bench/relay-floor.sh        (also run by `make bench`; writes bench/results/relay-floor.md)
#
# Environment: BENCH_RECORDS (200000), BENCH_RECORD_SIZE (1024), BENCH_ROUNDS (3; the median run is reported),
# BENCH_SKIP_BUILD=1 to reuse dist/. Starts and removes its own one-node cluster on port 9692.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
RECORDS="${BENCH_RECORDS:-200000}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
ROUNDS="${BENCH_ROUNDS:-3}"
export KAFKA_CLUSTER=bench-relay KAFKA_PORT=9692
DIRECT=127.0.0.1:9692
RELAY_PORT=19695
GW_PORT=23600

log() { printf 'relay-floor: %s\n' "$*" >&2; }

work="$(mktemp -d)"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  "$KAFKA" down --purge >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

cat >"$work/extra.properties" <<EOF2
listeners=RELAY://127.0.0.1:9695
advertised.listeners=RELAY://127.0.0.1:$RELAY_PORT
listener.security.protocol.map=RELAY:PLAINTEXT
EOF2
KAFKA_EXTRA_CONFIG="$work/extra.properties" "$KAFKA" up 1 >&2

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 || ! -f "$ROOT/dist/cli.js" ]]; then
  (cd "$ROOT" && npm run --silent build) >&2
fi
cat >"$work/gateway.yaml" <<EOF2
kafka: { bootstrapServers: ["$DIRECT"] }
listeners: { bootstrapPort: $GW_PORT, brokerPortBase: $GW_PORT }
http: { port: $((GW_PORT + 90)) }
pipeline: { middlewares: [] }
logging: { level: warn }
EOF2
node "$ROOT/bench/support/tcp-relay.js" "$RELAY_PORT" 127.0.0.1:9695 &
relay_pid=$!
pids+=("$relay_pid")
node "$ROOT/dist/cli.js" --config "$work/gateway.yaml" >"$work/gateway.log" 2>&1 &
gw_pid=$!
pids+=("$gw_pid")
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$((GW_PORT + 90))/readyz" >/dev/null && break
  sleep 0.2
done

cpu_seconds() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }

# produce NAME BOOTSTRAP PID-OR-EMPTY: one ProducerPerformance run into a fresh topic (left in TOPIC).
produce() {
  TOPIC="relay-floor-$1-$RANDOM$RANDOM"
  local before after line
  "$KAFKA" topics --create --topic "$TOPIC" --partitions 3 >/dev/null 2>&1
  before=$([[ -n "$3" ]] && cpu_seconds "$3" || echo 0)
  line=$("$KAFKA" producer-perf --topic "$TOPIC" --num-records "$RECORDS" --record-size "$RECORD_SIZE" \
    --throughput -1 --producer-props bootstrap.servers="$2" acks=1 linger.ms=5 2>/dev/null | tail -1)
  after=$([[ -n "$3" ]] && cpu_seconds "$3" || echo 0)
  printf 'produce %s %s %s\n' "$1" "$(sed -E 's/^[0-9]+ records sent, ([0-9.]+) records\/sec.*/\1/' <<<"$line")" \
    "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')"
}

# consume NAME BOOTSTRAP PID-OR-EMPTY TOPIC: one ConsumerPerformance run reading the whole topic.
consume() {
  local before after line
  before=$([[ -n "$3" ]] && cpu_seconds "$3" || echo 0)
  line=$("$KAFKA" consumer-perf --bootstrap-server "$2" --topic "$4" --num-records "$RECORDS" \
    --timeout 30000 --group "relay-floor-$1-$RANDOM$RANDOM" 2>/dev/null | grep -E '^[0-9]{4}-' | tail -1)
  after=$([[ -n "$3" ]] && cpu_seconds "$3" || echo 0)
  printf 'consume %s %s %s\n' "$1" "$(awk -F', *' '{ print ($5 >= '"$RECORDS"') ? $6 : 0 }' <<<"$line")" \
    "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')"
}

log "warming up"
produce warmup "$DIRECT" "" >/dev/null
produce warmup "127.0.0.1:$GW_PORT" "$gw_pid" >/dev/null
: >"$work/runs"
paths=(direct relay gateway)
for round in $(seq 1 "$ROUNDS"); do
  log "round $round"
  # Rotate who goes first, so that no path always gets the quietest moment.
  for i in 0 1 2; do
    name=${paths[$(((round + i) % 3))]}
    case $name in
      direct) produce direct "$DIRECT" "" >>"$work/runs" ;;
      relay) produce relay "127.0.0.1:$RELAY_PORT" "$relay_pid" >>"$work/runs" ;;
      gateway) produce gateway "127.0.0.1:$GW_PORT" "$gw_pid" >>"$work/runs" ;;
    esac
    [[ $name == direct ]] && direct_topic=$TOPIC
  done
  for i in 0 1 2; do
    name=${paths[$(((round + i) % 3))]}
    case $name in
      direct) consume direct "$DIRECT" "" "$direct_topic" >>"$work/runs" ;;
      relay) consume relay "127.0.0.1:$RELAY_PORT" "$relay_pid" "$direct_topic" >>"$work/runs" ;;
      gateway) consume gateway "127.0.0.1:$GW_PORT" "$gw_pid" "$direct_topic" >>"$work/runs" ;;
    esac
  done
done
[[ -n "${RELAY_FLOOR_RUNS:-}" ]] && cp "$work/runs" "$RELAY_FLOOR_RUNS"

# Per kind and path: the median run (robust to the odd stall on a shared machine) and its CPU.
RESULTS="$ROOT/bench/results/relay-floor.md"
{
  echo "# Proxying floor: direct, bare TCP relay, gateway"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) CPUs · load average $(cut -d' ' -f1-3 /proc/loadavg) · Node $(node --version) · written by bench/relay-floor.sh"
  echo
awk -v records="$RECORDS" '
  { key = $1 " " $2; n[key]++; rps[key, n[key]] = $3; cpu[key, n[key]] = $4 }
  function median(key,   i, j, t, v, c, m) {
    m = n[key]
    for (i = 1; i <= m; i++) { v[i] = rps[key, i]; c[i] = cpu[key, i] }
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) {
      t = v[i]; v[i] = v[j]; v[j] = t; t = c[i]; c[i] = c[j]; c[j] = t }
    medcpu[key] = c[int((m + 1) / 2)]
    return v[int((m + 1) / 2)]
  }
  END {
    print "| kind | path | records/s (median) | ratio to direct | proxy CPU s (that run) |"
    print "| --- | --- | ---: | ---: | ---: |"
    split("produce consume", kinds, " ")
    for (k = 1; k <= 2; k++) {
      d = median(kinds[k] " direct"); r = median(kinds[k] " relay"); g = median(kinds[k] " gateway")
      printf "| %s | direct | %.0f | | |\n", kinds[k], d
      printf "| %s | bare TCP relay | %.0f | %.2f | %s |\n", kinds[k], r, r / d, medcpu[kinds[k] " relay"]
      printf "| %s | gateway, no middlewares | %.0f | %.2f | %s |\n", kinds[k], g, g / d, medcpu[kinds[k] " gateway"]
    }
    printf "\n%d records of %d B per run, median of the rounds; ProducerPerformance acks=1 linger.ms=5, 3 partitions; ConsumerPerformance with default settings.\n", records, '"$RECORD_SIZE"'
  }' "$work/runs"
  echo
  echo "<details><summary>Every run (kind, path, records/s, proxy CPU s)</summary>"
  echo
  echo '```'
  cat "$work/runs"
  echo '```'
  echo
  echo "</details>"
} >"$RESULTS"
(cd "$ROOT" && npx --no-install prettier --write "$RESULTS" >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
cat "$RESULTS"
