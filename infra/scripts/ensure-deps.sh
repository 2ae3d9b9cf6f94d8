#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or was installed from other
# dependency declarations than the current package.json/package-lock.json, then compiles the CLI
# ahead of time (infra/scripts/build.cjs). Quiet when up to date.
# `npm ci`: exactly the lockfile, which it never rewrites, so a fresh clone stays clean. The lockfile
# records every platform's optional binaries (@biomejs/cli-*, @esbuild/*, @swc/core-*), which
# `npm ci` requires; a lockfile out of step with package.json is refused: run `npm install` to
# update it after editing package.json's dependencies.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STAMP=node_modules/.slipway-deps

# A fingerprint of what decides the install (package.json's dependency sections and the lockfile).
fingerprint() {
  node infra/scripts/deps.cjs fingerprint
}

up_to_date() {
  [[ -f node_modules/.package-lock.json && -f "$STAMP" && "$(cat "$STAMP")" == "$(fingerprint)" ]]
}

up_to_date && exit 0

install() {
  # Checked again under the lock: another command may have installed while this one waited.
  up_to_date && return 0
  echo "slipway: installing npm dependencies (first run, or the lockfile changed)..." >&2
  # onnxruntime-node's installer would try to download optional GPU files; the CPU build is bundled.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2
  fingerprint >"$STAMP"
  # The first command after an install then starts from a build (bin/slipway rebuilds when stale).
  node infra/scripts/build.cjs >/dev/null
}

# Two commands started together (npm test in two terminals) must not install at once.
if command -v flock >/dev/null 2>&1; then
  mkdir -p .slipway
  exec 9>.slipway/npm-install.lock
  flock 9
fi
install
