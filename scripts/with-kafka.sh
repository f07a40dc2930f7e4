#!/usr/bin/env bash
# Runs a command against a local single-node Kafka broker: starts it unless it already runs,
# and stops it afterwards only if this script started it, so a broker a developer keeps running
# between test runs is left alone. Exits with the command's exit code.
#
#   scripts/with-kafka.sh npx jest --selectProjects integration --runInBand
set -euo pipefail

[[ $# -gt 0 ]] || {
  echo "usage: scripts/with-kafka.sh COMMAND [ARGS...]" >&2
  exit 2
}

KAFKA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka.sh"
export KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:${KAFKA_PORT:-9092}}"

started=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((started)); then
    "$KAFKA" down || echo "with-kafka.sh: stopping the broker failed; try: scripts/kafka.sh down" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
# Without these the shell would die on the signal before running the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

if "$KAFKA" healthy 1 2>/dev/null; then
  echo "with-kafka.sh: using the broker already running at $KAFKA_BOOTSTRAP" >&2
else
  # Set before `up` so that a half-started broker is cleaned up as well.
  started=1
  "$KAFKA" up 1
fi

set +e
"$@"
rc=$?
set -e
exit "$rc"
