#!/usr/bin/env bash
# A real schema registry (Apicurio Registry, a Quarkus application) for development and tests.
# It comes from Maven Central like the Kafka jars: the release's `all` tar.gz holds the packaged
# application (quarkus-run.jar and its lib/), so Maven and a Java 21+ runtime are all it needs.
# It serves the Confluent-compatible API at /apis/ccompat/v7 and its own at /apis/registry/v3.
#
#   scripts/registry.sh fetch              download and unpack the registry (no-op when present)
#   scripts/registry.sh up                 start (or reuse) the registry, wait until it answers
#   scripts/registry.sh down [--purge]     stop it (--purge: also delete its stored schemas)
#   scripts/registry.sh status             pid, port, url; exit 0 only if it runs
#   scripts/registry.sh healthy            exit 0 if the Confluent-compatible API answers
#   scripts/registry.sh url                print the base URL of the Confluent-compatible API
#   scripts/registry.sh logs               tail the registry's log
#
# Storage is an H2 database file under the instance's directory, so schemas and their ids survive
# a `down` followed by an `up` (as they would with a real deployment); `down --purge` forgets them.
#
# Environment: REGISTRY_VERSION (3.3.3), REGISTRY_PORT (8081; loopback only),
# REGISTRY_NAME (default; several named instances can run side by side on different ports),
# REGISTRY_HOME_DIR (<repo>/.registry: dist/ holds the unpacked releases, run/NAME/ an instance's
# pid, log and data), REGISTRY_UP_TIMEOUT (120 s), REGISTRY_HEAP_OPTS (-Xms64m -Xmx384m),
# REGISTRY_JAVA (a java binary of version 21 or later; found on PATH, in JAVA_HOME or in
# /usr/lib/jvm otherwise), REGISTRY_CDS (1; 0 disables the class-data sharing archive).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGISTRY_HOME_DIR="${REGISTRY_HOME_DIR:-$ROOT/.registry}"
REGISTRY_NAME="${REGISTRY_NAME:-default}"
UP_TIMEOUT="${REGISTRY_UP_TIMEOUT:-120}"
# Writing the class-data sharing archive at the first stop takes a few seconds more.
STOP_TIMEOUT=40
REQ_VERSION="${REGISTRY_VERSION:-3.3.3}"
REQ_PORT="${REGISTRY_PORT:-8081}"
MIN_JAVA=21

log() { printf 'registry.sh: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

case "$REGISTRY_NAME" in
  '' | *[!A-Za-z0-9._-]* | .*) die "REGISTRY_NAME must be a plain name, got '$REGISTRY_NAME'" ;;
esac
case "$REQ_PORT" in
  '' | *[!0-9]*) die "REGISTRY_PORT must be a number, got '$REQ_PORT'" ;;
esac
case "$REQ_VERSION" in
  '' | *[!A-Za-z0-9._-]*) die "REGISTRY_VERSION must be a plain version, got '$REQ_VERSION'" ;;
esac

dist_dir() { printf '%s/dist/%s' "$REGISTRY_HOME_DIR" "$1"; }
run_dir() { printf '%s/run/%s' "$REGISTRY_HOME_DIR" "$REGISTRY_NAME"; }

# ---------------------------------------------------------------------------------------------
# Java: Apicurio Registry 3.x is compiled for Java 21; the default JDK may be older.

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

find_java() {
  local j major
  local -a candidates=()
  if [[ -n "${REGISTRY_JAVA:-}" ]]; then
    major="$(java_major "$REGISTRY_JAVA")"
    [[ -n "$major" && "$major" -ge $MIN_JAVA ]] ||
      die "REGISTRY_JAVA=$REGISTRY_JAVA is not a Java $MIN_JAVA+ runtime (found version '${major:-none}')"
    printf '%s' "$REGISTRY_JAVA"
    return 0
  fi
  command -v java >/dev/null && candidates+=("$(command -v java)")
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
  # Newest first, so a machine with several JDKs picks the most recent one.
  while IFS= read -r j; do candidates+=("$j"); done < <(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV)
  for j in "${candidates[@]}"; do
    [[ -x "$j" ]] || continue
    major="$(java_major "$j")"
    if [[ -n "$major" && "$major" -ge $MIN_JAVA ]]; then
      printf '%s' "$j"
      return 0
    fi
  done
  die "Apicurio Registry $REQ_VERSION needs Java $MIN_JAVA or later; none found on PATH, in JAVA_HOME" \
    "or in /usr/lib/jvm (set REGISTRY_JAVA to one)"
}

# ---------------------------------------------------------------------------------------------
# Distribution

fetch() {
  local version="$1" dist archive
  dist="$(dist_dir "$version")"
  [[ -f "$dist/.complete" ]] && return 0
  command -v mvn >/dev/null || die "mvn is required to fetch Apicurio Registry $version from Maven Central"
  mkdir -p "$dist"
  exec 8>"$dist/.lock"
  flock 8
  if [[ ! -f "$dist/.complete" ]]; then
    log "fetching Apicurio Registry $version into $dist"
    local artifact="io.apicurio:apicurio-registry-app:$version:tar.gz:all"
    local -a mvn_args=(-B -q -Dstyle.color=never
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy "-Dartifact=$artifact"
      "-DoutputDirectory=$dist" -Dmdep.stripVersion=false -Dmdep.overWriteReleases=true)
    archive="$dist/apicurio-registry-app-$version-all.tar.gz"
    # Offline first: with a warm ~/.m2 this needs no network. Run from the distribution directory
    # so no project pom around the repository is picked up.
    if ! (cd "$dist" && mvn -o "${mvn_args[@]}") >/dev/null 2>&1; then
      (cd "$dist" && mvn "${mvn_args[@]}") || die "mvn could not fetch $artifact (is it published on Maven Central?)"
    fi
    [[ -f "$archive" ]] || die "$archive missing after mvn dependency:copy"
    rm -rf "$dist/quarkus-app.tmp"
    mkdir -p "$dist/quarkus-app.tmp"
    tar -xzf "$archive" -C "$dist/quarkus-app.tmp" || die "could not unpack $archive"
    [[ -f "$dist/quarkus-app.tmp/quarkus-run.jar" ]] || die "$archive holds no quarkus-run.jar"
    rm -rf "$dist/quarkus-app"
    mv "$dist/quarkus-app.tmp" "$dist/quarkus-app"
    # ~/.m2 keeps the archive for the next fetch; a second copy here would only take space.
    rm -f "$archive"
    touch "$dist/.complete"
  fi
  exec 8>&-
}

# ---------------------------------------------------------------------------------------------
# Instance state

# Loads registry.env into R_PORT, R_VERSION; returns 1 if the instance was never started.
load_instance() {
  R_PORT="" R_VERSION=""
  [[ -f "$(run_dir)/registry.env" ]] || return 1
  # shellcheck disable=SC1091
  source "$(run_dir)/registry.env"
}

write_instance_env() {
  mkdir -p "$(run_dir)"
  printf 'R_PORT=%s\nR_VERSION=%s\n' "$R_PORT" "$R_VERSION" >"$(run_dir)/registry.env.tmp"
  mv "$(run_dir)/registry.env.tmp" "$(run_dir)/registry.env"
}

# The JVM carries its instance directory as a system property: the pid file is checked against
# the command line so a recycled pid is never taken for the registry, and a JVM whose pid file
# was lost is still found.
marker() { printf -- '-Devent-gateway.registry.instance=%s' "$(run_dir)"; }

registry_pid() {
  local pid mark
  mark="$(marker)"
  if [[ -f "$(run_dir)/registry.pid" ]]; then
    pid="$(<"$(run_dir)/registry.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | grep -qxF -- "$mark"; then
      printf '%s' "$pid"
      return 0
    fi
  fi
  pgrep -f -- "$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$mark")( |\$)" | head -n 1 || true
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

api_url() { printf 'http://127.0.0.1:%s/apis/ccompat/v7' "$1"; }

# HTTP status of a GET, or 000 when nothing answers. Plain bash, so no curl is needed.
http_status() {
  local port="$1" path="$2" line
  line="$(
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
    timeout 5 head -n 1 <&3
  )" || true
  [[ "$line" =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] && printf '%s' "${BASH_REMATCH[1]}" || printf '000'
}

answers() { [[ "$(http_status "$1" /apis/ccompat/v7/subjects)" == 200 ]]; }

is_healthy() {
  load_instance || return 1
  [[ -n "$(registry_pid)" ]] || return 1
  answers "$R_PORT"
}

# ---------------------------------------------------------------------------------------------
# Start and stop

# Class-data sharing: an archive of the classes the registry loads cuts its start from about 20 s
# to about 5 s on a 2-core machine. The first instance to run without one writes it when it exits;
# it is adopted only once the JVM accepts it, so a truncated or JDK-specific file is dropped.
cds_archive() { printf '%s/registry.jsa' "$(dist_dir "$1")"; }
cds_pending() { printf '%s/registry.jsa.%s' "$(dist_dir "$1")" "$REGISTRY_NAME"; }

cds_opts() {
  local version="$1"
  [[ "${REGISTRY_CDS:-1}" == 1 ]] || return 0
  # The archive's own warnings about classes it skips would fill the log at every stop.
  echo "-Xlog:cds=off"
  echo "-Xlog:cds+dynamic=off"
  if [[ -f "$(cds_archive "$version")" ]]; then
    echo "-XX:SharedArchiveFile=$(cds_archive "$version")"
  else
    echo "-XX:ArchiveClassesAtExit=$(cds_pending "$version")"
  fi
}

cds_adopt() {
  local version="$1" java pending archive
  pending="$(cds_pending "$version")"
  archive="$(cds_archive "$version")"
  [[ -e "$pending" ]] || return 0
  java="$(find_java)"
  if [[ ! -f "$archive" && -s "$pending" ]] &&
    (cd "$(dist_dir "$version")/quarkus-app" &&
      "$java" -XX:SharedArchiveFile="$pending" -Xshare:on -Xlog:cds=off -Xlog:cds+dynamic=off \
      -cp quarkus-run.jar -version) >/dev/null 2>&1; then
    mv -f "$pending" "$archive"
  else
    rm -f "$pending"
  fi
}

start_process() {
  local version="$R_VERSION" port="$R_PORT" dir java
  dir="$(run_dir)"
  java="$(find_java)"
  mkdir -p "$dir/data"
  local -a heap cds
  read -r -a heap <<<"${REGISTRY_HEAP_OPTS:--Xms64m -Xmx384m}"
  mapfile -t cds < <(cds_opts "$version")
  rm -f "$dir/registry.pid"
  log "starting Apicurio Registry $version '$REGISTRY_NAME' on 127.0.0.1:$port ($java)"
  # Quarkus reads these system properties as configuration. The management interface (health,
  # metrics) would bind 0.0.0.0:9000; it goes to loopback on a free port instead. The connection
  # pool defaults (20 to 100) suit a server, not an embedded database on a laptop.
  # setsid: the registry must outlive the shell that started it and not receive its Ctrl-C;
  # fd 8/9 closed so it never holds a lock of this script.
  (
    cd "$dist_app"
    exec setsid bash -c 'echo $$ >"$1/registry.pid"; shift; exec "$@"' _ "$dir" \
      "$java" "${heap[@]}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
      -Djava.awt.headless=true "${cds[@]}" "$(marker)" \
      -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
      -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port=0 \
      -Dapicurio.datasource.url="jdbc:h2:file:$dir/data/registry" \
      -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
      -Dapicurio.datasource.jdbc.max-size=20 \
      -jar quarkus-run.jar
  ) </dev/null >>"$dir/registry.log" 2>&1 8>&- 9>&- &
  disown $! 2>/dev/null || true
}

wait_until_up() {
  local deadline=$((SECONDS + UP_TIMEOUT)) seen_pid=0
  while ((SECONDS < deadline)); do
    if [[ -n "$(registry_pid)" ]]; then
      seen_pid=1
      answers "$R_PORT" && return 0
    elif ((seen_pid)) || ((SECONDS > 10)); then
      tail -n 40 "$(run_dir)/registry.log" >&2 || true
      die "Apicurio Registry '$REGISTRY_NAME' exited during start-up; log: $(run_dir)/registry.log"
    fi
    sleep 0.25
  done
  tail -n 40 "$(run_dir)/registry.log" >&2 || true
  stop_instance --quiet
  die "Apicurio Registry '$REGISTRY_NAME' did not answer on port $R_PORT within ${UP_TIMEOUT}s; stopped it;" \
    "log: $(run_dir)/registry.log (raise REGISTRY_UP_TIMEOUT on a slow machine)"
}

stop_pid() {
  local pid="$1" deadline=$((SECONDS + STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || true
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "still running after ${STOP_TIMEOUT}s, killing pid $pid"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

stop_instance() {
  local pid
  pid="$(registry_pid)"
  if [[ -n "$pid" ]]; then
    log "stopping Apicurio Registry '$REGISTRY_NAME' (pid $pid)"
    stop_pid "$pid"
    [[ -n "$R_VERSION" ]] && cds_adopt "$R_VERSION"
  elif [[ "${1:-}" != --quiet ]]; then
    log "registry '$REGISTRY_NAME' is not running"
  fi
  rm -f "$(run_dir)/registry.pid"
}

lock_instance() {
  mkdir -p "$(run_dir)"
  exec 9>"$(run_dir)/.lock"
  flock 9
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_up() {
  fetch "$REQ_VERSION"
  find_java >/dev/null
  lock_instance
  if load_instance && [[ -n "$(registry_pid)" ]]; then
    if [[ "$R_PORT" == "$REQ_PORT" && "$R_VERSION" == "$REQ_VERSION" ]]; then
      if answers "$R_PORT"; then
        log "registry '$REGISTRY_NAME' is already up: $(api_url "$R_PORT")"
        return 0
      fi
      # Running but not answering yet: another `up` started it a moment ago.
      wait_until_up
      log "registry '$REGISTRY_NAME' is up: $(api_url "$R_PORT")"
      return 0
    fi
    log "registry '$REGISTRY_NAME' runs on port $R_PORT with $R_VERSION; restarting on port $REQ_PORT with $REQ_VERSION"
    stop_instance --quiet
  fi
  if [[ -n "$R_VERSION" && "$R_VERSION" != "$REQ_VERSION" ]]; then
    # A database written by another release may not open with this one.
    log "registry '$REGISTRY_NAME' stored schemas with $R_VERSION; starting $REQ_VERSION with empty storage"
    rm -rf "$(run_dir)/data"
  fi
  port_in_use "$REQ_PORT" && die "port $REQ_PORT is already in use by another process (set REGISTRY_PORT)"
  R_PORT="$REQ_PORT" R_VERSION="$REQ_VERSION"
  write_instance_env
  dist_app="$(dist_dir "$R_VERSION")/quarkus-app"
  start_process
  wait_until_up
  log "registry '$REGISTRY_NAME' is up in ${SECONDS}s: $(api_url "$R_PORT"), log $(run_dir)/registry.log"
}

cmd_down() {
  local purge=0 arg
  for arg in "$@"; do
    case "$arg" in
      --purge) purge=1 ;;
      *) die "usage: registry.sh down [--purge]" ;;
    esac
  done
  if [[ ! -d "$(run_dir)" ]]; then
    log "registry '$REGISTRY_NAME' is not running"
    return 0
  fi
  lock_instance
  load_instance || true
  stop_instance
  if ((purge)); then
    rm -rf "$(run_dir)/data" "$(run_dir)/registry.env" "$(run_dir)/registry.log"
    log "removed the stored schemas of registry '$REGISTRY_NAME'"
  fi
  return 0
}

cmd_status() {
  if ! load_instance; then
    echo "registry '$REGISTRY_NAME': not created"
    return 3
  fi
  local pid
  pid="$(registry_pid)"
  if [[ -z "$pid" ]]; then
    echo "registry '$REGISTRY_NAME': stopped  Apicurio Registry $R_VERSION  $(api_url "$R_PORT")"
    return 3
  fi
  if answers "$R_PORT"; then
    echo "registry '$REGISTRY_NAME': running  pid $pid  Apicurio Registry $R_VERSION  $(api_url "$R_PORT")"
    return 0
  fi
  echo "registry '$REGISTRY_NAME': starting pid $pid  Apicurio Registry $R_VERSION  $(api_url "$R_PORT")"
  return 3
}

cmd_logs() {
  local f
  f="$(run_dir)/registry.log"
  [[ -f "$f" ]] || die "no log yet at $f"
  if [[ -t 1 ]]; then
    exec tail -n 200 -F "$f"
  fi
  tail -n 200 "$f"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    fetch) fetch "$REQ_VERSION" ;;
    up) cmd_up ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    healthy) is_healthy ;;
    url)
      if load_instance; then api_url "$R_PORT"; else api_url "$REQ_PORT"; fi
      echo
      ;;
    logs) cmd_logs ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
