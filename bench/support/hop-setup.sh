# The three paths the hop benchmarks compare, set up once per script: a one-node broker of its own,
# a bare TCP relay (bench/support/tcp-relay.js) in front of an extra broker listener advertised at
# the relay's port (so clients bootstrapping at the relay keep using it), and the gateway with no
# middlewares. Sourced by bench/relay-floor.sh, bench/small-records.sh and bench/latency.sh; the
# caller defines log() and die() and sources bench/support/perf-tools.sh first.
#
# Every port is derived from BENCH_HOP_PORT (27500), so that one setting moves the whole set:
#   +0 broker, +1 its controller, +2 the relay listener, +5 the relay, +10 the gateway (broker N
#   on +10+N), +12 the gateway's HTTP port.
# BENCH_KEEP_CLUSTER=1 leaves the broker running at exit (for repeated runs while developing);
# BENCH_WARMUP_SECONDS (90) is how long the gateway must have been up before measuring
# (hop_warm_up); BENCH_SKIP_BUILD=1 reuses dist/; BENCH_GATEWAY_NODE_ARGS passes node flags to the
# gateway (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"); BENCH_GATEWAY_MIDDLEWARES ("[]") is the
# gateway's pipeline.middlewares as a YAML flow list, for comparing builds on a path that reads
# records (e.g. '[{ module: /tmp/read-every-record.js }]'). The hop benchmarks leave it unset.
#
# After hop_setup: DIRECT, RELAY, GATEWAY (bootstraps), RELAY_PID, GW_PID, PATHS (direct relay
# gateway), bootstrap_of[path], pid_of[path] (empty for direct), HOP_WORK (a scratch directory).

HOP_PORT="${BENCH_HOP_PORT:-27500}"
export KAFKA_CLUSTER="${BENCH_HOP_CLUSTER:-bench-hop}" KAFKA_PORT="$HOP_PORT"
DIRECT="127.0.0.1:$HOP_PORT"
RELAY="127.0.0.1:$((HOP_PORT + 5))"
GATEWAY="127.0.0.1:$((HOP_PORT + 10))"
PATHS=(direct relay gateway)
declare -A bootstrap_of=([direct]="$DIRECT" [relay]="$RELAY" [gateway]="$GATEWAY")
declare -A pid_of=([direct]="")
HOP_WORK="$(mktemp -d)"
hop_pids=()

hop_cleanup() {
  local pid
  for pid in "${hop_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${hop_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ "${BENCH_KEEP_CLUSTER:-0}" == 1 ]] || "$KAFKA" down --purge >/dev/null 2>&1 || true
  rm -rf "$HOP_WORK"
}

# hop_require_free_ports PORT...: dies when something listens on one of them. A relay or gateway
# left over from an interrupted run would answer in place of the one about to start (its
# readiness check included) and be measured instead of it.
hop_require_free_ports() {
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "127.0.0.1:$port is already taken (a relay or gateway of an earlier run?): $(ss -ltnp "sport = :$port" 2>/dev/null | tail -n +2)"
    fi
  done
}

hop_setup() {
  hop_require_free_ports $((HOP_PORT + 5)) $((HOP_PORT + 10)) $((HOP_PORT + 11)) $((HOP_PORT + 12))
  # The controller is moved next to the broker so that the whole set stays within one port range.
  cat >"$HOP_WORK/extra.properties" <<EOF
listeners=CONTROLLER://127.0.0.1:$((HOP_PORT + 1)),RELAY://127.0.0.1:$((HOP_PORT + 2))
controller.quorum.voters=1@127.0.0.1:$((HOP_PORT + 1))
advertised.listeners=RELAY://127.0.0.1:$((HOP_PORT + 5))
listener.security.protocol.map=RELAY:PLAINTEXT
EOF
  # kafka.sh compares the extra file by path and content: a fixed copy lets a kept cluster be reused.
  mkdir -p "${KAFKA_HOME_DIR:-$ROOT/.kafka}/run"
  local extra="${KAFKA_HOME_DIR:-$ROOT/.kafka}/run/$KAFKA_CLUSTER.extra.properties"
  cmp -s "$HOP_WORK/extra.properties" "$extra" 2>/dev/null || cp "$HOP_WORK/extra.properties" "$extra"
  KAFKA_EXTRA_CONFIG="$extra" "$KAFKA" up 1 >&2

  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 || ! -f "$ROOT/dist/cli.js" ]]; then
    (cd "$ROOT" && npm run --silent build) >&2
  fi
  cat >"$HOP_WORK/gateway.yaml" <<EOF
kafka: { bootstrapServers: ["$DIRECT"] }
listeners: { bindHost: 127.0.0.1, bootstrapPort: $((HOP_PORT + 10)), brokerPortBase: $((HOP_PORT + 10)) }
http: { host: 127.0.0.1, port: $((HOP_PORT + 12)) }
pipeline: { middlewares: ${BENCH_GATEWAY_MIDDLEWARES:-[]} }
logging: { level: warn }
EOF
  node "$ROOT/bench/support/tcp-relay.js" "$((HOP_PORT + 5))" "127.0.0.1:$((HOP_PORT + 2))" &
  RELAY_PID=$!
  hop_pids+=("$RELAY_PID")
  local node_args=()
  read -r -a node_args <<<"${BENCH_GATEWAY_NODE_ARGS:-}"
  node "${node_args[@]}" "$ROOT/dist/cli.js" --config "$HOP_WORK/gateway.yaml" >"$HOP_WORK/gateway.log" 2>&1 &
  GW_PID=$!
  hop_pids+=("$GW_PID")
  pid_of[relay]="$RELAY_PID"
  pid_of[gateway]="$GW_PID"
  local deadline=$((SECONDS + 30))
  until curl -fsS "http://127.0.0.1:$((HOP_PORT + 12))/readyz" >/dev/null 2>&1; do
    kill -0 "$GW_PID" 2>/dev/null || die "the gateway exited during startup: $(cat "$HOP_WORK/gateway.log")"
    ((SECONDS < deadline)) || die "the gateway was not ready within 30 s: $(cat "$HOP_WORK/gateway.log")"
    sleep 0.2
  done
  perf_tools_init
}

# hop_warm_up MIN_PASSES COMMAND...: warm_up_until_up (bench/support/perf-tools.sh) for the
# gateway, which leaves the count of passes in WARMUP_PASSES.
hop_warm_up() {
  local min_passes="$1"
  shift
  warm_up_until_up "$min_passes" "$GW_PID" "$@" ||
    die "the gateway exited during the warm-up: $(tail -20 "$HOP_WORK/gateway.log")"
  log "warmed up: $WARMUP_PASSES passes, the gateway up $WARMUP_AGE s"
}

# Ends the gateway with SIGINT (so that --cpu-prof writes its profile) before the cleanup.
hop_stop_gateway() {
  kill -INT "$GW_PID" 2>/dev/null || true
  wait "$GW_PID" 2>/dev/null || true
}

# cpu_seconds PID: user + system CPU seconds so far of PID and its descendants (0 for no pid): the
# gateway's pid is that of its launcher, the gateway itself being the launcher's child.
cpu_seconds() {
  [[ -n "$1" ]] || {
    echo 0
    return
  }
  tree_cpu_seconds "$1"
}

# The order of the paths in round R: rotated, so that no path always gets the quietest moment.
order_of_round() {
  local i
  for i in 0 1 2; do echo "${PATHS[$((($1 + i) % 3))]}"; done
}

# new_topic PREFIX [PARTITIONS]: creates a fresh topic and leaves its name in TOPIC.
new_topic() {
  TOPIC="$1-$RANDOM$RANDOM"
  "$KAFKA" topics --bootstrap-server "$DIRECT" --create --topic "$TOPIC" --partitions "${2:-3}" >/dev/null 2>&1 ||
    die "could not create topic $TOPIC"
}

# environment_line SCRIPT: one line about where and when the figures were taken.
environment_line() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) · $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) · load average before the run $HOP_LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg) · Node $(node --version) · Kafka ${KAFKA_VERSION:-4.3.1} · written by $1"
}
HOP_LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
