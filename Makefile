# Event Gateway — developer entry points. Every target installs what it needs itself.
SHELL := /bin/bash
BROKERS ?= 1
KAFKA := scripts/kafka.sh
REGISTRY := scripts/registry.sh

.PHONY: demo test test-lts test-unit test-integration install build lint format kafka-fetch kafka-up kafka-down kafka-status registry-fetch registry-up registry-down registry-status codegen bench clean

# --strict-allow-scripts: a dependency whose install script package.json's allowScripts neither
# approves nor denies fails the install here, instead of being skipped silently by npm 12 (which
# left zstd-napi without its native binding, so the gateway could not start).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --strict-allow-scripts
	@touch $@

install: node_modules/.installed

build: install
	npm run build

# Runs the gateway with its demo spec in front of a local single broker.
demo: install
	$(KAFKA) ensure-kcat
	$(KAFKA) up 1
	scripts/demo.sh

# The whole suite: lint, types, unit tests, then integration tests against a real broker and a
# real schema registry.
test: install
	$(KAFKA) fetch
	$(KAFKA) ensure-kcat
	$(REGISTRY) fetch
	scripts/ensure-chromium.sh
	npm run typecheck
	npm run lint
	npm run test:unit
	scripts/with-kafka.sh scripts/with-registry.sh npm run test:integration

# The same suite on the current Node.js LTS (installed into .node/ on first use).
test-lts: install
	$(KAFKA) fetch
	$(KAFKA) ensure-kcat
	$(REGISTRY) fetch
	scripts/ensure-chromium.sh
	scripts/with-node-lts.sh npm run test:unit
	scripts/with-node-lts.sh scripts/with-kafka.sh scripts/with-registry.sh npm run test:integration

test-unit: install
	npm run test:unit

test-integration: install
	scripts/ensure-chromium.sh
	scripts/with-kafka.sh scripts/with-registry.sh npm run test:integration

lint: install
	npm run lint
	npm run format:check

format: install
	npm run format

kafka-fetch:
	$(KAFKA) fetch

kafka-up:
	$(KAFKA) up $(BROKERS)

kafka-down:
	$(KAFKA) down

kafka-status:
	$(KAFKA) status

# A schema registry (Apicurio Registry) on 127.0.0.1, port REGISTRY_PORT (8081); docs/schema-registry.md.
registry-fetch:
	$(REGISTRY) fetch

registry-up:
	$(REGISTRY) up

registry-down:
	$(REGISTRY) down

registry-status:
	$(REGISTRY) status

codegen: install
	scripts/codegen.sh

bench: install
	$(KAFKA) fetch
	$(REGISTRY) fetch
	scripts/with-kafka.sh scripts/with-registry.sh bench/run.sh $(BENCH)

clean:
	rm -rf dist coverage
