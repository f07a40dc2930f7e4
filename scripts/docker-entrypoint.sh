#!/bin/sh
# The container's listeners bind every interface, and clients must be handed a name they can
# reach instead: unless the operator names one, that is the container's host name, which other
# containers on the same network resolve.
set -eu
if [ -z "${EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST:-}" ]; then
  EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST="$(hostname)"
  export EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST
fi
exec node /app/dist/cli.js "$@"
