#!/usr/bin/env bash
# Every test, unit and integration. The integration tests' global setup installs (once per machine,
# cached in ~/.cache/slipway) and starts a real Temporal dev server and a real MinIO.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
bash infra/scripts/ensure-deps.sh
exec node_modules/.bin/vitest run "$@"
