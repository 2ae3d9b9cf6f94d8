#!/usr/bin/env bash
# Every test, unit and integration. The integration tests' global setup installs (once per machine,
# cached in ~/.cache/slipway) and starts a real Temporal dev server and a real MinIO.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# Fast training needs the system BLAS (see native/blas-gemm/README.md). Where this runs as root
# with apt, install it, so a new machine tests the same backend as the reference figures; without
# it the install still works and training falls back to plain WASM (slower, ~10 min for the
# reference test).
if ! dpkg -s libopenblas-dev >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]] \
  && [[ "${SLIPWAY_NATIVE_GEMM:-}" != off ]]; then
  echo "slipway: installing libopenblas-dev for the native matrix multiply..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev; } >&2 \
    || echo "slipway: could not install libopenblas-dev; training will use plain WASM" >&2
fi
# The console's browser tests (test/browser) drive Debian's chromium through playwright-core. Where
# this runs as root with apt, install it when missing, so a fresh CI machine runs them too.
if [[ ! -x "${SLIPWAY_CHROMIUM:-/usr/bin/chromium}" ]] && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
  echo "slipway: installing chromium for the console's browser tests..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
    || echo "slipway: could not install chromium; the browser tests will fail to launch it" >&2
fi
bash infra/scripts/ensure-deps.sh
# node_modules may predate the BLAS package: build the addon now if it is missing (never fails).
[[ -f native/blas-gemm/build/Release/blas_gemm.node ]] || node native/blas-gemm/build.js >&2
exec node_modules/.bin/vitest run "$@"
