#!/usr/bin/env bash
# Every test, unit and integration. The integration tests' global setup installs (once per machine,
# cached in ~/.cache/slipway) and starts a real Temporal dev server and a real MinIO.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# No BLAS package is installed here on purpose: the install's native build provisions OpenBLAS
# itself when the system has no usable one (native/blas-gemm/build.js), and CI tests that path.
# The console's browser tests (test/browser) drive Debian's chromium through playwright-core. Where
# this runs as root with apt, install it when missing, so a fresh CI machine runs them too.
if [[ ! -x "${SLIPWAY_CHROMIUM:-/usr/bin/chromium}" ]] && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
  echo "slipway: installing chromium for the console's browser tests..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
    || echo "slipway: could not install chromium; the browser tests will fail to launch it" >&2
fi
bash infra/scripts/ensure-deps.sh
# The linter first: it takes a second and fails before minutes of services and training do.
node_modules/.bin/biome check . >&2
# node_modules may predate the native trainer or CSV scanner: build the addons now if one (or its BLAS record, which
# builds with the trainer write) is missing. Never fails; the tests then say what is missing.
[[ -f native/blas-gemm/build/Release/blas_gemm.node && -f native/blas-gemm/build/blas.json ]] \
  || node native/blas-gemm/build.js >&2
[[ -f native/csv-scan/build/Release/csv_scan.node ]] || node native/csv-scan/build.js >&2
exec node_modules/.bin/vitest run "$@"
