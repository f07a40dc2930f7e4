#!/usr/bin/env bash
# Runs the gateway with the demo AsyncAPI spec in front of the local broker that `make demo`
# started (scripts/kafka.sh up 1). Ctrl-C stops the gateway; `make kafka-down` stops the broker.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build
# The HTTP door writes only to topics that exist; the Kafka door's kcat examples create theirs.
scripts/kafka.sh topics --bootstrap-server 127.0.0.1:9092 --create --if-not-exists \
  --topic external-orders --partitions 1 --replication-factor 1 >/dev/null
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

Publish over HTTP (README, Publishing over HTTP):
  KEY=$(curl -s -X PUT http://127.0.0.1:5000/api-keys/orders-system -H 'content-type: application/json' \
    -d '{"grants": {"topics": ["external-orders"], "sources": ["com.external.orders"]}}' | sed -E 's/.*"secret":"([^"]+)".*/\1/')
  curl -s http://127.0.0.1:5000/events -H "X-API-Key: $KEY" -H 'content-type: application/json' \
    -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: com.external.orders' \
    -H 'ce-type: com.external.orders.OrderCancelled' -d '{"orderId": "ORD-42", "reason": "out-of-stock"}'

Stop with Ctrl-C; `make kafka-down` stops the broker.

MSG
exec node dist/cli.js --config config/gateway.example.yaml
