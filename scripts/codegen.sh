#!/usr/bin/env bash
# Regenerates src/protocol/messages/generated from the Kafka message definitions that ship inside
# the kafka-clients jar (common/message/*.json), so the codecs track exactly the release we pin.
#   KAFKA_VERSION=4.3.1 scripts/codegen.sh
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTPUT="$ROOT/src/protocol/messages/generated"
M2_REPO="${M2_REPO:-$HOME/.m2/repository}"
JAR="$M2_REPO/org/apache/kafka/kafka-clients/$KAFKA_VERSION/kafka-clients-$KAFKA_VERSION.jar"

if [[ ! -f "$JAR" ]]; then
  echo "fetching kafka-clients $KAFKA_VERSION into $M2_REPO" >&2
  mvn -B -q dependency:get -Dartifact="org.apache.kafka:kafka-clients:$KAFKA_VERSION" -Dtransitive=false
fi
[[ -f "$JAR" ]] || { echo "kafka-clients jar not found at $JAR" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
unzip -q "$JAR" 'common/message/*.json' -d "$WORK"

cd "$ROOT"
npx --no-install tsx scripts/codegen/generate.ts \
  --input "$WORK/common/message" --output "$OUTPUT" --kafka-version "$KAFKA_VERSION"
# .prettierignore lists the generated tree (format:check must not fight the generator), so point
# prettier at an empty ignore file here. schemas.json keeps its one-field-per-line layout.
npx --no-install prettier --log-level warn --ignore-path /dev/null --write "$OUTPUT"/*.ts
