#!/usr/bin/env bash
# Installs Debian's chromium with apt-get when it is missing: the console's integration test
# drives it with playwright-core, which would otherwise download a browser of its own.
# CHROMIUM_PATH names another executable (the test reads it too).
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] && exit 0
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  echo "ensure-chromium: CHROMIUM_PATH=$CHROMIUM is not an executable" >&2
  exit 1
fi
sudo=()
[[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
echo "ensure-chromium: installing chromium with apt-get" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
[[ -x "$CHROMIUM" ]] || {
  echo "ensure-chromium: $CHROMIUM still missing after apt-get install" >&2
  exit 1
}
