#!/usr/bin/env bash
# Runs a command with the current Node.js LTS first on PATH, installed from the npm registry (the
# `node` package) into .node/ on first use. The gateway supports Node 20 and the LTS; this is how
# the suite is run on the LTS:   scripts/with-node-lts.sh make test
#   NODE_LTS=24 (the major version to use)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAJOR="${NODE_LTS:-24}"
PREFIX="$ROOT/.node/$MAJOR"
BIN="$PREFIX/node_modules/.bin"

if [[ ! -x "$BIN/node" ]]; then
  echo "with-node-lts: installing node@$MAJOR into ${PREFIX#"$ROOT"/}" >&2
  mkdir -p "$PREFIX"
  # The node package fetches its binary in an install script, which npm 12 runs only when the
  # project approves it; the prefix is a project of its own, so the approval goes in its manifest.
  echo '{ "private": true, "allowScripts": { "node": true } }' >"$PREFIX/package.json"
  npm install --prefix "$PREFIX" --no-audit --no-fund --no-save "node@$MAJOR" >&2
fi
version="$("$BIN/node" --version)"
[[ "$version" == "v$MAJOR."* ]] || { echo "with-node-lts: expected Node $MAJOR, got $version" >&2; exit 1; }
echo "with-node-lts: running with Node $version" >&2
PATH="$BIN:$PATH" exec "$@"
