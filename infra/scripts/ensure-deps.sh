#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than the lockfile.
# `npm install` rather than `npm ci`: a registry mirror that serves only this platform's packages
# makes `npm ci` refuse a lockfile listing other platforms' optional binaries; `npm install` still
# installs exactly the pinned versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json || package.json -nt node_modules/.package-lock.json ]]; then
  echo "slipway: installing npm dependencies (first run)..." >&2
  # onnxruntime-node's installer would try to download optional GPU files; the CPU build is bundled.
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error >&2
  touch node_modules/.package-lock.json
fi
