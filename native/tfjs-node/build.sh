#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node offline (`npm run build:tfjs-node`). Its own install downloads
# libtensorflow from a CDN, which fails on networks that only mirror package registries; the
# TensorFlow CPU wheel on PyPI ships the same C API in libtensorflow_cc.so.2 and
# libtensorflow_framework.so.2. This puts those libraries and the headers the binding needs into
# the package's deps/, records them in scripts/custom-binary.json (a `tf-lib` entry, so the
# package's installer builds from source instead of downloading), and compiles the binding against
# the local Node headers. Optional: nothing else needs it, and the `tensorflow` backend is chosen
# only after the native trainer (it trains the reference network at a fraction of its speed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TFJS_NODE_VERSION="$(node -p 'require("./package.json").optionalDependencies["@tensorflow/tfjs-node"]')"
TF_VERSION="${SLIPWAY_TENSORFLOW_VERSION:-2.21.0}"
PYTHON="${SLIPWAY_PYTHON:-python3}"
CACHE="${SLIPWAY_BIN_CACHE:-$HOME/.cache/slipway}/libtensorflow-cpu-$TF_VERSION"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"

# 1. libtensorflow and its C API headers, from the wheel, cached once per machine.
if [[ ! -f "$CACHE/lib/libtensorflow_cc.so.2" ]]; then
  echo "slipway: fetching the tensorflow-cpu==$TF_VERSION wheel with pip (large, once per machine)..." >&2
  tmp="$(mktemp -d "${CACHE%/*}/.libtensorflow-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  "$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q \
    "tensorflow-cpu==$TF_VERSION" -d "$tmp/wheel"
  "$PYTHON" - "$tmp/wheel" "$tmp/out" <<'PY'
import glob, os, shutil, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0])
out = sys.argv[2]
headers = ("tensorflow/include/tensorflow/c/", "tensorflow/include/tensorflow/core/platform/",
           "tensorflow/include/tsl/", "tensorflow/include/xla/tsl/")
for name in wheel.namelist():
    if name in ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"):
        target = os.path.join(out, "lib", os.path.basename(name))
    elif name.startswith(headers) and not name.endswith("/"):
        target = os.path.join(out, "include", name[len("tensorflow/include/"):])
    else:
        continue
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with wheel.open(name) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  mkdir -p "${CACHE%/*}"
  mv "$tmp/out" "$CACHE" 2>/dev/null || [[ -f "$CACHE/lib/libtensorflow_cc.so.2" ]]
fi

# 2. The package's files, without its download step.
if [[ ! -f "$PKG/package.json" ]]; then
  echo "slipway: installing @tensorflow/tfjs-node@$TFJS_NODE_VERSION without its install script..." >&2
  ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --ignore-scripts --no-audit --no-fund \
    "@tensorflow/tfjs-node@$TFJS_NODE_VERSION" >&2
fi

# 3. deps/ as its binding.gyp expects (-ltensorflow -ltensorflow_framework, rpath deps/lib).
rm -rf "$PKG/deps"
mkdir -p "$PKG/deps/lib"
cp -r "$CACHE/include" "$PKG/deps/include"
cp "$CACHE/lib/libtensorflow_cc.so.2" "$CACHE/lib/libtensorflow_framework.so.2" "$PKG/deps/lib/"
ln -s libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
printf '{\n  "tf-lib": "file://%s/lib/libtensorflow_cc.so.2"\n}\n' "$CACHE" >"$PKG/scripts/custom-binary.json"

# 4. Compile the binding with the local Node headers (never downloaded) and put it where
#    node-pre-gyp looks for it.
NODE_DIR="${npm_config_nodedir:-$(node -p 'require("path").resolve(process.execPath, "../..")')}"
[[ -f "$NODE_DIR/include/node/node_api.h" ]] || NODE_DIR=/usr
NODE_GYP="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
# The variables node-pre-gyp would pass (its binding.gyp copies the result to module_path).
mkdir -p "$PKG/lib/napi-v8"
(cd "$PKG" && npm_config_nodedir="$NODE_DIR" node "$NODE_GYP" rebuild --nodedir="$NODE_DIR" \
  --module_name=tfjs_binding --module_path="$PKG/lib/napi-v8" --napi_build_version=8 \
  >"$ROOT/native/tfjs-node/build.log" 2>&1) \
  || { echo "slipway: tfjs-node build failed; see native/tfjs-node/build.log" >&2; exit 1; }
[[ -f "$PKG/lib/napi-v8/tfjs_binding.node" ]] || cp "$PKG/build/Release/tfjs_binding.node" "$PKG/lib/napi-v8/"
node -e 'const tf = require("@tensorflow/tfjs-node"); console.log(`slipway: tfjs-node ${tf.version["tfjs-node"]} built over TensorFlow ${tf.version["tfjs-core"] ? "'"$TF_VERSION"'" : ""}; SLIPWAY_TF_BACKEND=tensorflow uses it`)'
