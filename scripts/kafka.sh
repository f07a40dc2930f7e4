#!/usr/bin/env bash
# Real Apache Kafka brokers (KRaft, combined broker+controller nodes) for development, tests and
# benchmarks. The jars come from Maven Central through scripts/kafka/pom.xml, so a JDK (17+) and
# Maven are all it needs: no tarball, no system-wide install (only `ensure-kcat` uses apt-get).
#
#   scripts/kafka.sh fetch                 download the jars (no-op when already present)
#   scripts/kafka.sh up [N]                start (or reuse) an N-node cluster, default 1
#   scripts/kafka.sh down [--all] [--purge]
#                                          stop the cluster (--all: every cluster under
#                                          $KAFKA_HOME_DIR/run; --purge: also delete its data)
#   scripts/kafka.sh stop-node I | start-node I
#   scripts/kafka.sh status                nodes, ports, pids; exit 0 only if all nodes run
#   scripts/kafka.sh healthy [N]           exit 0 if the cluster answers with N (default: all) brokers
#   scripts/kafka.sh logs [I]              tail node I's broker log (default 1)
#   scripts/kafka.sh ensure-kcat           install kcat with apt-get when missing
#   scripts/kafka.sh tool CLASS [ARGS]     run any Java main class from the Kafka jars
#   scripts/kafka.sh topics|console-producer|console-consumer|consumer-groups|producer-perf|
#                    consumer-perf|metadata-quorum|broker-api-versions [ARGS]
#                                          the usual CLI tools; --bootstrap-server defaults to
#                                          this cluster where the tool accepts it
#
# Environment: KAFKA_VERSION (4.3.1; 3.9.x works too), KAFKA_PORT (9092, first broker port;
# broker i listens on KAFKA_PORT+i-1, its controller 10000 above), KAFKA_CLUSTER (default),
# KAFKA_HOME_DIR (<repo>/.kafka), KAFKA_UP_TIMEOUT (60 s), KAFKA_HEAP_OPTS and KAFKA_JVM_OPTS (broker
# JVM flags), KAFKA_CDS (1; 0 disables the class-data sharing archive), KAFKA_TOOL_HEAP_OPTS.
# KAFKA_EXTRA_CONFIG: a properties file merged into every node's server.properties (later keys
# win; listeners, advertised.listeners and listener.security.protocol.map merge entry by entry,
# by listener name, so the generated PLAINTEXT and CONTROLLER listeners stay unless redefined;
# fixed ports in it suit a single-node cluster); `up` restarts a running cluster when it changed.
# KAFKA_SCRAM_USERS: whitespace-separated `--add-scram` values for the storage format, e.g.
# 'SCRAM-SHA-256=[name=alice,password=alice-secret]'; changing them recreates the cluster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONF_DIR="$ROOT/scripts/kafka"
KAFKA_HOME_DIR="${KAFKA_HOME_DIR:-$ROOT/.kafka}"
KAFKA_CLUSTER="${KAFKA_CLUSTER:-default}"
UP_TIMEOUT="${KAFKA_UP_TIMEOUT:-60}"
STOP_TIMEOUT=20
CONTROLLER_OFFSET=10000

# A running cluster keeps the version and port it was created with (cluster.env), so that
# `down`, `status`, `stop-node` work without repeating KAFKA_PORT/KAFKA_VERSION. `up` compares
# them with the requested ones instead.
REQ_VERSION="${KAFKA_VERSION:-4.3.1}"
REQ_PORT="${KAFKA_PORT:-9092}"
REQ_EXTRA="${KAFKA_EXTRA_CONFIG:-}"
REQ_SCRAM="${KAFKA_SCRAM_USERS:-}"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

case "$KAFKA_CLUSTER" in
  '' | *[!A-Za-z0-9._-]* | .*) die "KAFKA_CLUSTER must be a plain name, got '$KAFKA_CLUSTER'" ;;
esac
case "$REQ_PORT" in
  '' | *[!0-9]*) die "KAFKA_PORT must be a number, got '$REQ_PORT'" ;;
esac
if [[ -n "$REQ_EXTRA" ]]; then
  [[ -f "$REQ_EXTRA" ]] || die "KAFKA_EXTRA_CONFIG names no file: '$REQ_EXTRA'"
  # The path is kept in cluster.env for later start-node calls, made from any directory.
  REQ_EXTRA="$(realpath "$REQ_EXTRA")"
fi

cluster_dir() { printf '%s/run/%s' "$KAFKA_HOME_DIR" "${1:-$KAFKA_CLUSTER}"; }
dist_dir() { printf '%s/dist/%s' "$KAFKA_HOME_DIR" "$1"; }

# ---------------------------------------------------------------------------------------------
# Jars

fetch() {
  local version="$1" dist lib
  dist="$(dist_dir "$version")"
  lib="$dist/lib"
  [[ -f "$dist/.complete" ]] && return 0
  command -v java >/dev/null || die "java (17+) is required"
  command -v mvn >/dev/null || die "mvn is required to fetch Kafka $version from Maven Central"
  mkdir -p "$dist"
  # Concurrent first runs (make test and a benchmark, say) would otherwise copy over each other.
  exec 8>"$dist/.lock"
  flock 8
  if [[ ! -f "$dist/.complete" ]]; then
    log "fetching Kafka $version jars into $lib"
    rm -rf "$lib"
    local -a mvn_args=(-B -q -Dstyle.color=never -f "$CONF_DIR/pom.xml" "-Dkafka.version=$version"
      dependency:copy-dependencies "-DoutputDirectory=$lib" -DincludeScope=runtime)
    # Offline first: with a warm ~/.m2 this needs no network and takes a few seconds.
    if ! mvn -o "${mvn_args[@]}" >/dev/null 2>&1; then
      rm -rf "$lib"
      mvn "${mvn_args[@]}" || die "mvn could not fetch Kafka $version (is it published on Maven Central?)"
    fi
    [[ -f "$lib/kafka_2.13-$version.jar" ]] || die "kafka_2.13-$version.jar missing in $lib"
    # Tools moved between packages across releases; an index lets `main_class` pick the right one.
    local jar
    for jar in "$lib"/kafka*.jar; do
      unzip -Z1 "$jar" 2>/dev/null || jar tf "$jar"
    done | sed -n 's|\.class$||p' | tr / . | sort -u >"$dist/classes.txt"
    touch "$dist/.complete"
  fi
  exec 8>&-
}

# First candidate that exists in the given version's jars.
main_class() {
  local version="$1" c
  shift
  for c in "$@"; do
    if grep -qxF "$c" "$(dist_dir "$version")/classes.txt"; then
      printf '%s' "$c"
      return 0
    fi
  done
  die "none of $* exists in Kafka $version"
}

# ---------------------------------------------------------------------------------------------
# Cluster state

# Loads cluster.env into C_NODES, C_PORT, C_VERSION, C_ID, C_EXTRA, C_EXTRA_SUM, C_SCRAM_SUM;
# returns 1 if the cluster was never set up.
load_cluster() {
  local dir
  dir="$(cluster_dir "${1:-}")"
  C_NODES=0 C_PORT="" C_VERSION="" C_ID="" C_EXTRA="" C_EXTRA_SUM="" C_SCRAM_SUM=""
  [[ -f "$dir/cluster.env" ]] || return 1
  # shellcheck disable=SC1091
  source "$dir/cluster.env"
}

node_dir() { printf '%s/node-%s' "$(cluster_dir "${2:-}")" "$1"; }
broker_port() { echo $((C_PORT + $1 - 1)); }
controller_port() { echo $((C_PORT + $1 - 1 + CONTROLLER_OFFSET)); }
bootstrap() {
  local i out=""
  for ((i = 1; i <= C_NODES; i++)); do out+="${out:+,}127.0.0.1:$(broker_port "$i")"; done
  printf '%s' "$out"
}

# Pid of node I's JVM, or nothing. The pid file is checked against the process's command line so
# a recycled pid is never mistaken for a broker; a JVM whose pid file was lost is still found.
node_pid() {
  local dir props pid
  dir="$(node_dir "$1" "${2:-}")"
  props="$dir/server.properties"
  if [[ -f "$dir/kafka.pid" ]]; then
    pid="$(<"$dir/kafka.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $props"; then
      printf '%s' "$pid"
      return 0
    fi
  fi
  pgrep -f -- "kafka\.Kafka $(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$props")\$" | head -n 1 || true
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Number of brokers the cluster reports in its metadata (0 when it does not answer).
registered_brokers() {
  local out i listening=0
  # kcat waits out its whole timeout on a refused connection; a TCP probe answers at once.
  for ((i = 1; i <= C_NODES; i++)); do
    if port_in_use "$(broker_port "$i")"; then
      listening=1
      break
    fi
  done
  if ((!listening)); then
    echo 0
    return 0
  fi
  if command -v kcat >/dev/null; then
    out="$(timeout 10 kcat -L -b "$(bootstrap)" -m 2 2>/dev/null)" || true
    sed -n 's/^ \([0-9][0-9]*\) brokers:$/\1/p' <<<"$out" | head -n 1 | grep . || echo 0
  else
    local cls
    cls="$(main_class "$C_VERSION" org.apache.kafka.tools.BrokerApiVersionsCommand kafka.admin.BrokerApiVersionsCommand)"
    java_cmd "$C_VERSION" "$cls" --bootstrap-server "$(bootstrap)"
    out="$(timeout 30 "${JCMD[@]}" 2>/dev/null)" || true
    grep -c '(id: [0-9]* rack' <<<"$out" || true
  fi
}

# Exit 0 if every node's JVM runs and the metadata lists `want` brokers.
is_healthy() {
  local want="${1:-}" i
  load_cluster || return 1
  [[ -z "$want" || "$want" == "$C_NODES" ]] || return 1
  for ((i = 1; i <= C_NODES; i++)); do
    [[ -n "$(node_pid "$i")" ]] || return 1
  done
  [[ "$(registered_brokers)" == "$C_NODES" ]]
}

write_cluster_env() {
  local dir
  dir="$(cluster_dir)"
  mkdir -p "$dir"
  printf 'C_NODES=%s\nC_PORT=%s\nC_VERSION=%s\nC_ID=%s\nC_EXTRA=%q\nC_EXTRA_SUM=%s\nC_SCRAM_SUM=%s\n' \
    "$C_NODES" "$C_PORT" "$C_VERSION" "$C_ID" "$C_EXTRA" "$C_EXTRA_SUM" "$C_SCRAM_SUM" >"$dir/cluster.env.tmp"
  mv "$dir/cluster.env.tmp" "$dir/cluster.env"
}

# Fingerprints of what `up` was given, so a change is noticed: empty when nothing was given, as
# in a cluster.env from before these settings. Passwords stay out of the file.
extra_sum() { [[ -z "$1" ]] || { printf '%s\n' "$1" && cat "$1"; } | sha256sum | cut -c1-16; }
scram_sum() { [[ -z "$1" ]] || printf '%s' "$1" | sha256sum | cut -c1-16; }

random_cluster_id() {
  local id
  # Kafka's own generator never returns ids starting with '-', which CLI parsers take for options.
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
    [[ "$id" == -* ]] || break
  done
  printf '%s' "$id"
}

write_properties() {
  local i="$1" dir voters="" j rf
  dir="$(node_dir "$i")"
  for ((j = 1; j <= C_NODES; j++)); do voters+="${voters:+,}$j@127.0.0.1:$(controller_port "$j")"; done
  rf=$((C_NODES < 3 ? C_NODES : 3))
  mkdir -p "$dir/data" "$dir/logs"
  cat >"$dir/server.properties" <<EOF
# Generated by scripts/kafka.sh for cluster '$KAFKA_CLUSTER' (Kafka $C_VERSION); rewritten on every start.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(broker_port "$i"),CONTROLLER://127.0.0.1:$(controller_port "$i")
advertised.listeners=PLAINTEXT://127.0.0.1:$(broker_port "$i")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data

num.partitions=1
default.replication.factor=$rf
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$((rf < 2 ? 1 : 2))
# The internal topics default to 50 partitions each; creating them would dominate the first
# consumer-group join and every restart on a small machine.
offsets.topic.num.partitions=8
transaction.state.log.num.partitions=8

# Sized for a laptop or a 2-core CI runner, several nodes per machine.
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
EOF
  if [[ "${C_VERSION%%.*}" -ge 4 ]]; then
    cat >>"$dir/server.properties" <<EOF
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$((rf < 2 ? 1 : 2))
share.coordinator.state.topic.num.partitions=8
EOF
  fi
  if [[ -n "$C_EXTRA" ]]; then
    [[ -f "$C_EXTRA" ]] || die "KAFKA_EXTRA_CONFIG $C_EXTRA of cluster '$KAFKA_CLUSTER' is gone; run up again"
    { cat "$dir/server.properties" && printf '\n# From %s:\n' "$C_EXTRA" && cat "$C_EXTRA"; } |
      merge_properties >"$dir/server.properties.tmp"
    mv "$dir/server.properties.tmp" "$dir/server.properties"
  fi
}

# One line per key, the last value winning where the key first appeared, so the file reads as
# what the broker gets (java.util.Properties would take the last duplicate silently). Continuation
# lines are joined first. Listener lists merge by listener name instead: an added SASL listener
# must not drop the PLAINTEXT one that health checks and replication use.
merge_properties() {
  awk '
    function listener(entry) { sub(/^[ \t]+/, "", entry); sub(/:.*/, "", entry); return toupper(entry) }
    function merge_list(old, new, a, b, na, nb, i, j, out, taken) {
      na = split(old, a, /[ \t]*,[ \t]*/)
      nb = split(new, b, /[ \t]*,[ \t]*/)
      out = ""
      for (i = 1; i <= na; i++) {
        for (j = 1; j <= nb; j++) {
          if (!(j in taken) && listener(a[i]) == listener(b[j])) {
            a[i] = b[j]
            taken[j] = 1
          }
        }
        if (a[i] != "") out = out (out == "" ? "" : ",") a[i]
      }
      for (j = 1; j <= nb; j++) if (!(j in taken) && b[j] != "") out = out (out == "" ? "" : ",") b[j]
      return out
    }
    BEGIN { lists["listeners"]; lists["advertised.listeners"]; lists["listener.security.protocol.map"] }
    {
      line = $0
      while (line ~ /\\$/ && (getline more) > 0) {
        sub(/\\$/, "", line)
        sub(/^[ \t]+/, "", more)
        line = line more
      }
      if (line ~ /^[ \t]*([#!]|$)/) {
        text[++n] = line
        next
      }
      key = line
      sub(/^[ \t]+/, "", key)
      sub(/[ \t]*[=:].*$/, "", key)
      value = line
      if (!sub(/^[^=:]*[=:][ \t]*/, "", value)) value = ""
      if ((key in lists) && (key in values)) value = merge_list(values[key], value)
      if (!(key in at)) at[key] = ++n
      values[key] = value
      text[at[key]] = key "=" value
    }
    END { for (i = 1; i <= n; i++) print text[i] }
  '
}

format_nodes() {
  local i pids=() rc=0 user
  local -a users scram=()
  read -r -a users <<<"$REQ_SCRAM"
  for user in "${users[@]}"; do scram+=(--add-scram "$user"); done
  for ((i = 1; i <= C_NODES; i++)); do
    local dir
    dir="$(node_dir "$i")"
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    java_tool "$C_VERSION" kafka.tools.StorageTool format -t "$C_ID" -c "$dir/server.properties" \
      "${scram[@]}" >"$dir/format.out" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      rc=1
      log "formatting node $((i + 1)) failed:"
      cat "$(node_dir $((i + 1)))/format.out" >&2
    fi
  done
  [[ $rc -eq 0 ]] || die "could not format the storage of cluster '$KAFKA_CLUSTER'"
  touch "$(cluster_dir)/.formatted"
}

jvm_opts() {
  # -Xms small so idle test nodes stay cheap; G1 with short pauses as in Kafka's own start script.
  printf '%s\n' ${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m} \
    ${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent} \
    -XX:-UsePerfData -Djava.awt.headless=true
}

# Class-data sharing: mapping an archive of the broker's ~9000 classes cuts JVM start-up from
# about 3.3 s to 1.9 s on a 2-core machine, which adds up over test runs and failover tests. Node 1
# of the first cluster started without an archive writes one when it exits; it is only adopted
# once the JVM accepts it, so a truncated or JDK-incompatible file is dropped instead of used.
cds_archive() { printf '%s/broker.jsa' "$(dist_dir "$C_VERSION")"; }
cds_pending() { printf '%s/broker.jsa.%s' "$(dist_dir "$C_VERSION")" "$KAFKA_CLUSTER"; }

cds_opts() {
  [[ "${KAFKA_CDS:-1}" == 1 ]] || return 0
  if [[ -f "$(cds_archive)" ]]; then
    echo "-XX:SharedArchiveFile=$(cds_archive)"
  elif [[ "$1" == 1 ]]; then
    echo "-XX:ArchiveClassesAtExit=$(cds_pending)"
  fi
}

cds_adopt() {
  local pending archive
  pending="$(cds_pending)"
  archive="$(cds_archive)"
  [[ -e "$pending" ]] || return 0
  local -a opts
  mapfile -t opts < <(jvm_opts)
  if [[ ! -f "$archive" && -s "$pending" ]] &&
    java "${opts[@]}" -XX:SharedArchiveFile="$pending" -Xshare:on \
      -cp "$(dist_dir "$C_VERSION")/lib/*" -version >/dev/null 2>&1; then
    mv -f "$pending" "$archive"
  else
    rm -f "$pending"
  fi
}

start_node_process() {
  local i="$1" dir lib bport cport p
  dir="$(node_dir "$i")"
  lib="$(dist_dir "$C_VERSION")/lib"
  bport="$(broker_port "$i")"
  cport="$(controller_port "$i")"
  if [[ -n "$(node_pid "$i")" ]]; then
    return 0
  fi
  for p in "$bport" "$cport"; do
    port_in_use "$p" && die "port $p (node $i of '$KAFKA_CLUSTER') is already in use by another process"
  done
  write_properties "$i"
  [[ "$i" == 1 ]] && cds_adopt
  local -a opts
  mapfile -t opts < <(jvm_opts; cds_opts "$i")
  rm -f "$dir/kafka.pid"
  # setsid: the broker must outlive the shell that started it and not receive its Ctrl-C.
  # Closing fds 8/9 matters: a broker inheriting the lock would block every later kafka.sh call.
  setsid bash -c 'echo $$ >"$1/kafka.pid"; shift; exec "$@"' _ "$dir" \
    java "${opts[@]}" -Dkafka.logs.dir="$dir/logs" \
    -Dlog4j2.configurationFile="$CONF_DIR/log4j2.properties" \
    -cp "$lib/*" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$dir/logs/stdout.log" 2>&1 8>&- 9>&- &
  disown $! 2>/dev/null || true
}

print_failure_logs() {
  local i dir
  for ((i = 1; i <= C_NODES; i++)); do
    dir="$(node_dir "$i")"
    for f in "$dir/logs/stdout.log" "$dir/logs/server.log"; do
      [[ -s "$f" ]] || continue
      printf '\n----- node %s: tail of %s -----\n' "$i" "$f" >&2
      tail -n 40 "$f" >&2
    done
  done
}

# Wait until the metadata lists `want` brokers; fails early if one of the given nodes' JVM exits.
wait_for_brokers() {
  local want="$1" deadline=$((SECONDS + UP_TIMEOUT)) i
  shift
  while ((SECONDS < deadline)); do
    for i in "$@"; do
      if [[ -z "$(node_pid "$i")" ]]; then
        print_failure_logs
        die "node $i of cluster '$KAFKA_CLUSTER' exited during start-up"
      fi
    done
    [[ "$(registered_brokers)" == "$want" ]] && return 0
    sleep 0.25
  done
  print_failure_logs
  # Half-started JVMs would hold the ports and make the next attempt fail differently.
  local pids=() pid
  for i in "$@"; do
    pid="$(node_pid "$i")"
    [[ -n "$pid" ]] && pids+=("$pid")
  done
  stop_pids "${pids[@]}"
  die "cluster '$KAFKA_CLUSTER' did not report $want broker(s) within ${UP_TIMEOUT}s;" \
    "stopped node(s) $*; logs are in $(cluster_dir)/node-*/logs (raise KAFKA_UP_TIMEOUT on a slow machine)"
}

stop_pids() {
  local -a pids=("$@")
  local deadline=$((SECONDS + STOP_TIMEOUT)) p alive
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  while ((SECONDS < deadline)); do
    alive=()
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
    ((${#alive[@]})) || return 0
    sleep 0.2
  done
  log "still running after ${STOP_TIMEOUT}s, killing: ${alive[*]}"
  kill -KILL "${alive[@]}" 2>/dev/null || true
  for p in "${alive[@]}"; do
    while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  done
}

# Stops every node of the currently loaded cluster; --quiet when nothing running is expected.
stop_cluster() {
  local i pids=() pid quiet="${1:-}"
  for ((i = 1; i <= C_NODES; i++)); do
    pid="$(node_pid "$i")"
    [[ -n "$pid" ]] && pids+=("$pid")
  done
  if ((${#pids[@]})); then
    log "stopping cluster '$KAFKA_CLUSTER' (pids ${pids[*]})"
    stop_pids "${pids[@]}"
    cds_adopt
  elif [[ "$quiet" != --quiet ]]; then
    log "cluster '$KAFKA_CLUSTER' is not running"
  fi
  for ((i = 1; i <= C_NODES; i++)); do rm -f "$(node_dir "$i")/kafka.pid"; done
}

lock_cluster() {
  mkdir -p "$(cluster_dir)"
  exec 9>"$(cluster_dir)/.lock"
  flock 9
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_up() {
  local n="${1:-1}" i p reformat=0
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "usage: kafka.sh up [NODES]"
  fetch "$REQ_VERSION"
  lock_cluster
  local extra scram
  extra="$(extra_sum "$REQ_EXTRA")"
  scram="$(scram_sum "$REQ_SCRAM")"
  if load_cluster; then
    if [[ "$C_NODES" != "$n" || "$C_PORT" != "$REQ_PORT" || "$C_VERSION" != "$REQ_VERSION" ]]; then
      log "cluster '$KAFKA_CLUSTER' exists with $C_NODES node(s), port $C_PORT, Kafka $C_VERSION;" \
        "recreating with $n node(s), port $REQ_PORT, Kafka $REQ_VERSION"
      stop_cluster
      rm -rf "$(cluster_dir)"/node-* "$(cluster_dir)/.formatted"
      reformat=1
    elif [[ "$C_SCRAM_SUM" != "$scram" ]]; then
      # Credentials only enter at format time.
      log "cluster '$KAFKA_CLUSTER' was formatted with other KAFKA_SCRAM_USERS; recreating it"
      stop_cluster --quiet
      rm -rf "$(cluster_dir)"/node-* "$(cluster_dir)/.formatted"
      reformat=1
    elif [[ "$C_EXTRA" != "$REQ_EXTRA" || "$C_EXTRA_SUM" != "$extra" ]]; then
      log "KAFKA_EXTRA_CONFIG of cluster '$KAFKA_CLUSTER' changed; restarting it"
      stop_cluster --quiet
    elif is_healthy "$n"; then
      log "cluster '$KAFKA_CLUSTER' is already up: $n node(s), bootstrap $(bootstrap)"
      return 0
    fi
  else
    reformat=1
  fi
  [[ -f "$(cluster_dir)/.formatted" ]] || reformat=1
  C_NODES="$n" C_PORT="$REQ_PORT" C_VERSION="$REQ_VERSION"
  C_EXTRA="$REQ_EXTRA" C_EXTRA_SUM="$extra" C_SCRAM_SUM="$scram"
  for ((i = 1; i <= C_NODES; i++)); do
    [[ -z "$(node_pid "$i")" ]] || continue
    for p in "$(broker_port "$i")" "$(controller_port "$i")"; do
      port_in_use "$p" && die "port $p (node $i of '$KAFKA_CLUSTER') is already in use by another process"
    done
  done
  if ((reformat)); then
    # A stale JVM on the old layout would keep the ports and the data directories busy.
    stop_cluster --quiet
    C_ID="$(random_cluster_id)"
    write_cluster_env
    for ((i = 1; i <= C_NODES; i++)); do write_properties "$i"; done
    log "formatting $n node(s) of cluster '$KAFKA_CLUSTER' (Kafka $C_VERSION, cluster id $C_ID)"
    format_nodes
  else
    write_cluster_env
  fi
  log "starting cluster '$KAFKA_CLUSTER': $n node(s), Kafka $C_VERSION"
  local -a nodes=()
  for ((i = 1; i <= C_NODES; i++)); do
    start_node_process "$i"
    nodes+=("$i")
  done
  wait_for_brokers "$n" "${nodes[@]}"
  log "cluster '$KAFKA_CLUSTER' is up in ${SECONDS}s: bootstrap $(bootstrap)"
  for ((i = 1; i <= C_NODES; i++)); do
    log "  node $i: broker 127.0.0.1:$(broker_port "$i"), log $(node_dir "$i")/logs/server.log"
  done
}

cmd_down() {
  local all=0 purge=0 arg name
  for arg in "$@"; do
    case "$arg" in
      --all) all=1 ;;
      --purge) purge=1 ;;
      *) die "usage: kafka.sh down [--all] [--purge]" ;;
    esac
  done
  local -a names=("$KAFKA_CLUSTER")
  if ((all)); then
    names=()
    for d in "$KAFKA_HOME_DIR"/run/*/; do
      [[ -d "$d" ]] && names+=("$(basename "$d")")
    done
  fi
  for name in "${names[@]}"; do
    KAFKA_CLUSTER="$name"
    if [[ ! -d "$(cluster_dir)" ]]; then
      ((all)) || log "cluster '$name' is not running"
      continue
    fi
    lock_cluster
    if load_cluster; then
      stop_cluster
    fi
    if ((purge)); then
      rm -rf "$(cluster_dir)"
      log "removed cluster '$name' and its data"
    fi
    exec 9>&-
  done
  return 0
}

require_cluster() {
  load_cluster || die "cluster '$KAFKA_CLUSTER' does not exist; start it with: kafka.sh up"
}

node_arg() {
  [[ "${1:-}" =~ ^[1-9][0-9]*$ && "$1" -le "$C_NODES" ]] ||
    die "node must be 1..$C_NODES for cluster '$KAFKA_CLUSTER'"
}

cmd_stop_node() {
  require_cluster
  node_arg "${1:-}"
  lock_cluster
  local pid
  pid="$(node_pid "$1")"
  if [[ -n "$pid" ]]; then
    log "stopping node $1 of '$KAFKA_CLUSTER' (pid $pid)"
    stop_pids "$pid"
    [[ "$1" == 1 ]] && cds_adopt
  else
    log "node $1 of '$KAFKA_CLUSTER' is not running"
  fi
  rm -f "$(node_dir "$1")/kafka.pid"
}

cmd_start_node() {
  require_cluster
  node_arg "${1:-}"
  [[ -f "$(cluster_dir)/.formatted" ]] || die "cluster '$KAFKA_CLUSTER' was never formatted; run kafka.sh up"
  fetch "$C_VERSION"
  lock_cluster
  local i running=0
  start_node_process "$1"
  for ((i = 1; i <= C_NODES; i++)); do [[ -n "$(node_pid "$i")" ]] && running=$((running + 1)); done
  wait_for_brokers "$running" "$1"
  log "node $1 of '$KAFKA_CLUSTER' is up at 127.0.0.1:$(broker_port "$1") ($running of $C_NODES running)"
}

cmd_status() {
  if ! load_cluster; then
    echo "cluster '$KAFKA_CLUSTER': not created"
    return 3
  fi
  local i pid running=0
  echo "cluster '$KAFKA_CLUSTER': $C_NODES node(s), Kafka $C_VERSION, bootstrap $(bootstrap)"
  for ((i = 1; i <= C_NODES; i++)); do
    pid="$(node_pid "$i")"
    if [[ -n "$pid" ]]; then
      running=$((running + 1))
      printf '  node %s: running  pid %-7s broker 127.0.0.1:%s  controller 127.0.0.1:%s\n' \
        "$i" "$pid" "$(broker_port "$i")" "$(controller_port "$i")"
    else
      printf '  node %s: stopped              broker 127.0.0.1:%s  controller 127.0.0.1:%s\n' \
        "$i" "$(broker_port "$i")" "$(controller_port "$i")"
    fi
  done
  return $((running == C_NODES ? 0 : 3))
}

cmd_logs() {
  require_cluster
  local i="${1:-1}" f
  node_arg "$i"
  f="$(node_dir "$i")/logs/server.log"
  [[ -f "$f" ]] || die "no log yet at $f"
  if [[ -t 1 ]]; then
    exec tail -n 200 -F "$f"
  fi
  tail -n 200 "$f"
}

cmd_ensure_kcat() {
  command -v kcat >/dev/null && return 0
  local -a sudo=()
  [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
  log "installing kcat with apt-get"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat
  command -v kcat >/dev/null || die "kcat still missing after apt-get install"
}

# Sets JCMD to run a main class from the given version's jars, logging WARN+ to stderr only.
java_cmd() {
  local version="$1"
  shift
  # C1 only: CLI tools are short-lived, and start-up dominates their run time.
  local -a jit=(-XX:TieredStopAtLevel=1)
  # ...except the benchmarks, whose numbers would otherwise measure the interpreter.
  case "$1" in *Performance | *EndToEndLatency) jit=() ;; esac
  local -a heap
  read -r -a heap <<<"${KAFKA_TOOL_HEAP_OPTS:--Xmx512m}"
  JCMD=(java "${heap[@]}" "${jit[@]}" -XX:-UsePerfData -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$CONF_DIR/log4j2.properties"
    -Dkafka.log.appender=STDERR -Dkafka.log.level=WARN -Dkafka.logs.dir="$KAFKA_HOME_DIR"
    -cp "$(dist_dir "$version")/lib/*" "$@")
}

java_tool() {
  java_cmd "$@"
  "${JCMD[@]}"
}

cmd_tool() {
  local version="$REQ_VERSION"
  # Against an existing cluster, use the tools of the version it runs.
  if [[ -z "${KAFKA_VERSION:-}" ]] && load_cluster; then version="$C_VERSION"; fi
  fetch "$version"
  local cls="${1:-}"
  [[ -n "$cls" ]] || die "usage: kafka.sh tool CLASS [ARGS...]"
  shift
  java_tool "$version" "$cls" "$@"
}

# Named tools: resolve the class for the version in use and default --bootstrap-server.
cmd_named_tool() {
  local name="$1" version="$REQ_VERSION" cls bootstrap_flag=1
  shift
  if [[ -z "${KAFKA_VERSION:-}" ]] && load_cluster; then version="$C_VERSION"; fi
  fetch "$version"
  case "$name" in
    topics) cls="$(main_class "$version" org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand)" ;;
    console-producer) cls="$(main_class "$version" org.apache.kafka.tools.ConsoleProducer kafka.tools.ConsoleProducer)" ;;
    console-consumer)
      cls="$(main_class "$version" org.apache.kafka.tools.consumer.ConsoleConsumer kafka.tools.ConsoleConsumer)"
      ;;
    consumer-groups)
      cls="$(main_class "$version" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand kafka.admin.ConsumerGroupCommand)"
      ;;
    producer-perf)
      cls="$(main_class "$version" org.apache.kafka.tools.ProducerPerformance)"
      bootstrap_flag=0
      ;;
    consumer-perf) cls="$(main_class "$version" org.apache.kafka.tools.ConsumerPerformance kafka.tools.ConsumerPerformance)" ;;
    metadata-quorum) cls="$(main_class "$version" org.apache.kafka.tools.MetadataQuorumCommand)" ;;
    broker-api-versions)
      cls="$(main_class "$version" org.apache.kafka.tools.BrokerApiVersionsCommand kafka.admin.BrokerApiVersionsCommand)"
      ;;
  esac
  local -a extra=()
  if ((bootstrap_flag)) && [[ " $* " != *" --bootstrap-server"* && " $* " != *" --bootstrap-controller"* ]]; then
    if load_cluster; then
      extra=(--bootstrap-server "$(bootstrap)")
    else
      extra=(--bootstrap-server "127.0.0.1:$REQ_PORT")
    fi
  fi
  # In front: argparse-based tools (metadata-quorum) take global options only before the subcommand.
  java_tool "$version" "$cls" "${extra[@]}" "$@"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    fetch) fetch "$REQ_VERSION" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    stop-node) cmd_stop_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    status) cmd_status ;;
    healthy) is_healthy "${1:-}" ;;
    logs) cmd_logs "$@" ;;
    ensure-kcat) cmd_ensure_kcat ;;
    tool) cmd_tool "$@" ;;
    topics | console-producer | console-consumer | consumer-groups | producer-perf | consumer-perf | \
      metadata-quorum | broker-api-versions) cmd_named_tool "$cmd" "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
