#!/usr/bin/env bash
# Runs a command with a local schema registry (Apicurio Registry, scripts/registry.sh): starts it
# unless it already runs, and stops it afterwards only if this script started it, so a registry a
# developer keeps running between test runs is left alone. The command sees SCHEMA_REGISTRY_URL,
# the base of its Confluent-compatible API. With SCHEMA_REGISTRY_URL already set, nothing is
# started: the command uses that registry. Exits with the command's exit code.
#
#   scripts/with-registry.sh npx jest --selectProjects integration --runInBand
set -euo pipefail

[[ $# -gt 0 ]] || {
  echo "usage: scripts/with-registry.sh COMMAND [ARGS...]" >&2
  exit 2
}

if [[ -n "${SCHEMA_REGISTRY_URL:-}" ]]; then
  echo "with-registry.sh: using the registry at $SCHEMA_REGISTRY_URL" >&2
  exec "$@"
fi

REGISTRY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/registry.sh"

started=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((started)); then
    "$REGISTRY" down || echo "with-registry.sh: stopping the registry failed; try: scripts/registry.sh down" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
# Without these the shell would die on the signal before running the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

if "$REGISTRY" healthy 2>/dev/null && [[ "$("$REGISTRY" url)" == "http://127.0.0.1:${REGISTRY_PORT:-8081}/"* ]]; then
  echo "with-registry.sh: using the registry already running at $("$REGISTRY" url)" >&2
else
  # Set before `up` so that a half-started registry is cleaned up as well.
  started=1
  "$REGISTRY" up
fi
SCHEMA_REGISTRY_URL="$("$REGISTRY" url)"
export SCHEMA_REGISTRY_URL

set +e
"$@"
rc=$?
set -e
exit "$rc"
