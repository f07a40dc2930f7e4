#!/usr/bin/env bash
# Runs the gateway with the demo AsyncAPI spec in front of the local broker that `make demo`
# started (scripts/kafka.sh up 1). Ctrl-C stops the gateway; `make kafka-down` stops the broker.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build
cat <<'MSG'

Event Gateway demo
  bootstrap for clients   127.0.0.1:20472   (the broker stays at 127.0.0.1:9092)
  HTTP (health, metrics, specs)  http://127.0.0.1:5000

Try, in another terminal:
  kcat -b 127.0.0.1:20472 -L
  echo '{"lumens": 100}'  | kcat -b 127.0.0.1:20472 -t event-gateway-demo -P
  echo '{"lumens": true}' | kcat -b 127.0.0.1:20472 -t event-gateway-demo -P
  kcat -b 127.0.0.1:20472 -t event-gateway-demo -C -e -f '%s  %h\n'
  curl -s http://127.0.0.1:5000/specs
  curl -s http://127.0.0.1:5000/metrics | grep event_gateway_records

Stop with Ctrl-C; `make kafka-down` stops the broker.

MSG
exec node dist/cli.js --config config/gateway.example.yaml
