#!/usr/bin/env bash
# The floor of proxying on this machine: Kafka's ProducerPerformance straight at a broker, through
# a bare TCP relay (bench/support/tcp-relay.js: Node pipe(), no protocol awareness) and through the
# gateway with no middlewares, in the same run. The broker gets an extra listener advertised at the
# relay's port, so clients bootstrapping there keep using the relay. The gap between relay and
# gateway is what the gateway's own work costs; the gap between direct and relay is what any extra
# process in the path costs when broker, client and proxy share the cores.
#
#   bench/relay-floor.sh        (also run by `make bench`)
#
# Environment: BENCH_RECORDS (200000), BENCH_RECORD_SIZE (1024), BENCH_ROUNDS (2),
# BENCH_SKIP_BUILD=1 to reuse dist/. Starts and removes its own one-node cluster on port 9692.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
RECORDS="${BENCH_RECORDS:-200000}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
ROUNDS="${BENCH_ROUNDS:-2}"
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

run() { # name bootstrap pid-or-empty
  local topic="relay-floor-$1-$RANDOM$RANDOM" before after line
  "$KAFKA" topics --create --topic "$topic" --partitions 3 >/dev/null 2>&1
  before=$([[ -n "$3" ]] && cpu_seconds "$3" || echo 0)
  line=$("$KAFKA" producer-perf --topic "$topic" --num-records "$RECORDS" --record-size "$RECORD_SIZE" \
    --throughput -1 --producer-props bootstrap.servers="$2" acks=1 linger.ms=5 2>/dev/null | tail -1)
  after=$([[ -n "$3" ]] && cpu_seconds "$3" || echo 0)
  printf '%s %s %s\n' "$1" "$(sed -E 's/^[0-9]+ records sent, ([0-9.]+) records\/sec.*/\1/' <<<"$line")" \
    "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')"
}

log "warming up"
run warmup "$DIRECT" "" >/dev/null
: >"$work/runs"
for round in $(seq 1 "$ROUNDS"); do
  log "round $round"
  run direct "$DIRECT" "" >>"$work/runs"
  run relay "127.0.0.1:$RELAY_PORT" "$relay_pid" >>"$work/runs"
  run gateway "127.0.0.1:$GW_PORT" "$gw_pid" >>"$work/runs"
done

awk -v records="$RECORDS" '
  { if ($2 > best[$1]) { best[$1] = $2; cpu[$1] = $3 } }
  END {
    print "| path | records/s (best) | ratio to direct | proxy CPU s per run |"
    print "| --- | ---: | ---: | ---: |"
    printf "| direct | %.0f | | |\n", best["direct"]
    printf "| bare TCP relay | %.0f | %.2f | %s |\n", best["relay"], best["relay"] / best["direct"], cpu["relay"]
    printf "| gateway, no middlewares | %.0f | %.2f | %s |\n", best["gateway"], best["gateway"] / best["direct"], cpu["gateway"]
    printf "\n%d records per run; ProducerPerformance acks=1 linger.ms=5, 3 partitions.\n", records
  }' "$work/runs"
