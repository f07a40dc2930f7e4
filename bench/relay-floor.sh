#!/usr/bin/env bash
# The floor of proxying on this machine: Kafka's ProducerPerformance and ConsumerPerformance straight
# at a broker, through a bare TCP relay (bench/support/tcp-relay.js: a read/write loop, no protocol
# awareness) and through the gateway with no middlewares, in the same run. The broker gets an extra
# listener advertised at the relay's port, so clients bootstrapping there keep using the relay. The
# gap between relay and gateway is what the gateway's own work costs; the gap between direct and
# relay is what any extra hop in the path costs when broker, client and proxy share the cores.
#
#   bench/relay-floor.sh        (also run by `make bench`; writes bench/results/relay-floor.md)
#
# Produce runs send BENCH_RECORDS into a fresh topic each; consume runs each read the same topic of
# BENCH_CONSUME_RECORDS whole, as bench/proxy-throughput.sh does, and report the fetch rate.
# Environment: BENCH_RECORDS (200000), BENCH_CONSUME_RECORDS (1000000), BENCH_RECORD_SIZE (1024),
# BENCH_ROUNDS (5; the median run and the median of per-round ratios are reported),
# BENCH_SKIP_BUILD=1 to reuse dist/. Starts and removes its own one-node cluster on port 9692.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA="$ROOT/scripts/kafka.sh"
RECORDS="${BENCH_RECORDS:-200000}"
CONSUME_RECORDS="${BENCH_CONSUME_RECORDS:-1000000}"
RECORD_SIZE="${BENCH_RECORD_SIZE:-1024}"
ROUNDS="${BENCH_ROUNDS:-5}"
export KAFKA_CLUSTER=bench-relay KAFKA_PORT=9692
DIRECT=127.0.0.1:9692
RELAY_PORT=19695
GW_PORT=23600

log() { printf 'relay-floor: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
# shellcheck source=bench/support/perf-tools.sh
source "$ROOT/bench/support/perf-tools.sh"

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

cpu_seconds() { if [[ -n "$1" ]]; then awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; else echo 0; fi; }

declare -A bootstrap_of=([direct]="$DIRECT" [relay]="127.0.0.1:$RELAY_PORT" [gateway]="127.0.0.1:$GW_PORT")
declare -A pid_of=([direct]="" [relay]="$relay_pid" [gateway]="$gw_pid")
paths=(direct relay gateway)
# The order of the paths in ROUND: rotated, so that no path always gets the quietest moment.
order_of_round() { local i; for i in 0 1 2; do echo "${paths[$((($1 + i) % 3))]}"; done; }

# measure KIND PATH ROUND TOPIC: one run, appended to the runs file as
# "kind path round records/s proxy-CPU-s fetch-latency-ms" (latency 0 for produce).
measure() {
  local kind="$1" path="$2" round="$3" topic="$4" before result rate latency=0
  before="$(cpu_seconds "${pid_of[$path]}")"
  if [[ "$kind" == produce ]]; then
    result="$(perf_produce "${bootstrap_of[$path]}" "$topic" "$RECORDS" "$RECORD_SIZE" acks=1 linger.ms=5)"
    rate="${result%% *}"
  else
    result="$(perf_consume "${bootstrap_of[$path]}" "$topic" "$CONSUME_RECORDS" "relay-floor-$path-$round-$RANDOM$RANDOM")"
    read -r rate _ _ _ latency <<<"$result"
  fi
  echo "$kind $path $round $rate $(awk -v a="$before" -v b="$(cpu_seconds "${pid_of[$path]}")" 'BEGIN { printf "%.2f", b - a }') $latency" >>"$work/runs"
}

new_topic() {
  TOPIC="relay-floor-$1-$RANDOM$RANDOM"
  "$KAFKA" topics --create --topic "$TOPIC" --partitions 3 >/dev/null 2>&1
}

perf_tools_init
log "warming up"
for path in direct gateway relay; do
  new_topic warmup
  perf_produce "${bootstrap_of[$path]}" "$TOPIC" $((RECORDS / 4)) "$RECORD_SIZE" acks=1 linger.ms=5 >/dev/null
done
: >"$work/runs"
for round in $(seq 1 "$ROUNDS"); do
  log "round $round/$ROUNDS: produce"
  for path in $(order_of_round "$round"); do
    new_topic "$path"
    measure produce "$path" "$round" "$TOPIC"
  done
done
new_topic consume
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
[[ -n "${RELAY_FLOOR_RUNS:-}" ]] && cp "$work/runs" "$RELAY_FLOOR_RUNS"

RESULTS="$ROOT/bench/results/relay-floor.md"
{
  echo "# Proxying floor: direct, bare TCP relay, gateway"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) CPUs · load average $(cut -d' ' -f1-3 /proc/loadavg) · Node $(node --version) · written by bench/relay-floor.sh"
  echo
  awk -v rounds="$ROUNDS" '
    { key = $1 " " $2; n[key]++; rate[key, n[key]] = $4; cpu[key, n[key]] = $5; lat[key, n[key]] = $6
      byround[$1, $2, $3] = $4 }
    function sort(a, m,   i, j, t) { for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } }
    function med(arr, key,   i, v, m) { m = n[key]; for (i = 1; i <= m; i++) v[i] = arr[key, i]; sort(v, m); return v[int((m + 1) / 2)] }
    # PATH/BASE within each round of KIND: "median | r1, r2, ..."
    function roundratio(kind, path, base,   r, v, list) {
      list = ""
      for (r = 1; r <= rounds; r++) { v[r] = byround[kind, path, r] / byround[kind, base, r]; list = list (r > 1 ? ", " : "") sprintf("%.2f", v[r]) }
      sort(v, rounds)
      return sprintf("%.2f | %s", v[int((rounds + 1) / 2)], list)
    }
    END {
      print "| kind | path | records/s (median run) | ratio to direct (median of rounds) | per round | proxy CPU s (median) | fetch latency ms (median) |"
      print "| --- | --- | ---: | ---: | --- | ---: | ---: |"
      split("produce consume", kinds, " "); split("direct relay gateway", paths, " ")
      names["direct"] = "direct"; names["relay"] = "bare TCP relay"; names["gateway"] = "gateway, no middlewares"
      for (k = 1; k <= 2; k++) for (p = 1; p <= 3; p++) {
        kind = kinds[k]; path = paths[p]; key = kind " " path
        printf "| %s | %s | %.0f | %s | %s | %s |\n", kind, names[path], med(rate, key),
          path == "direct" ? " | " : roundratio(kind, path, "direct"),
          path == "direct" ? "" : med(cpu, key), kind == "consume" ? sprintf("%.2f", med(lat, key)) : ""
      }
      # What the gateway costs beyond the hop itself.
      printf "\nGateway/relay within each round: "
      for (k = 1; k <= 2; k++) {
        split(roundratio(kinds[k], "gateway", "relay"), parts, " \\| ")
        printf "%s median **%s** (rounds: %s)%s", kinds[k], parts[1], parts[2], k == 1 ? "; " : ".\n"
      }
    }' "$work/runs"
  echo
  echo "$RECORDS records of $RECORD_SIZE B per produce run (ProducerPerformance acks=1 linger.ms=5, a fresh 3-partition topic each); each consume run reads all $CONSUME_RECORDS records of one topic (ConsumerPerformance, default settings, a new group each), records/s being its fetch rate once the group is joined. $ROUNDS rounds, the order of the paths rotating."
  echo
  echo "<details><summary>Every run (kind, path, round, records/s, proxy CPU s, fetch latency ms)</summary>"
  echo
  echo '```'
  cat "$work/runs"
  echo '```'
  echo
  echo "</details>"
} >"$RESULTS"
(cd "$ROOT" && npx --no-install prettier --write "$RESULTS" >/dev/null 2>&1) || log "prettier unavailable; table left unformatted"
cat "$RESULTS"
