#!/usr/bin/env node
// Builds the optional native GEMM addon (run by the root package's postinstall and by
// `npm run build:native`). The addon is an accelerator, never a requirement: whatever goes
// wrong here prints one notice line and exits 0, so installing Slipway cannot fail because of it.

const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const ADDON_DIR = __dirname;
const BUILD_DIR = join(ADDON_DIR, 'build');
const ADDON_FILE = join(BUILD_DIR, 'Release', 'blas_gemm.node');
const LOG_FILE = join(ADDON_DIR, 'build.log');
const HOW_TO =
  process.platform === 'darwin'
    ? 'install the Xcode command line tools, then run `npm run build:native`'
    : 'install the system BLAS headers (`apt-get install libopenblas-dev`, or openblas-devel on Fedora/RHEL), then run `npm run build:native`';

function notice(message) {
  console.log(`slipway: ${message}`);
}

function skip(reason, howTo = HOW_TO) {
  // A stale addon from an earlier build would contradict the notice, so it goes too.
  rmSync(BUILD_DIR, { recursive: true, force: true });
  notice(
    `native GEMM not built (${reason}); training on WASM will run without it. For the fast path, ${howTo}.`,
  );
}

/** Directory holding cblas.h, or undefined. Accelerate on macOS needs no header search. */
function findBlasInclude() {
  if (process.env.SLIPWAY_BLAS_INCLUDE) {
    const dir = resolve(process.env.SLIPWAY_BLAS_INCLUDE);
    return existsSync(join(dir, 'cblas.h')) ? dir : undefined;
  }
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch] ?? process.arch;
  const candidates = [
    `/usr/include/${arch}-linux-gnu`,
    `/usr/include/${arch}-linux-gnu/openblas-pthread`,
    '/usr/include/openblas',
    '/usr/include',
    '/usr/local/include',
    '/usr/local/opt/openblas/include',
    '/opt/homebrew/opt/openblas/include',
  ];
  return candidates.find((dir) => existsSync(join(dir, 'cblas.h')));
}

/** node-gyp ships inside npm; prefer the copy npm points us at, then the one beside node. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package; fall through to npm's bundled copy
  }
  const prefix = resolve(dirname(process.execPath), '..');
  candidates.push(
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  candidates.push(
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  );
  return candidates.find((p) => existsSync(p));
}

/**
 * Local Node headers, so node-gyp does not try to download them (which fails on networks that
 * only mirror package registries). npm passes its own `nodedir` setting through the environment.
 */
function findNodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** Loads the fresh build and multiplies two tiny matrices, so a broken link shows up now. */
function smokeTest() {
  const addon = require(ADDON_FILE);
  const heap = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
  addon.gemm(heap, 2, 2, 2, false, false, new Float64Array([0, 4, 8]), null, 0, 0, 0, 0, null, 0, 0);
  const got = Array.from(heap.subarray(8));
  if (got.join(',') !== '19,22,43,50')
    throw new Error(`smoke test computed ${got.join(',')}, expected 19,22,43,50`);
  return addon.info();
}

function main() {
  const mode = (process.env.SLIPWAY_NATIVE_GEMM ?? 'auto').trim().toLowerCase();
  if (['off', '0', 'false', 'no'].includes(mode))
    return skip(`SLIPWAY_NATIVE_GEMM=${mode}`, 'unset it and run `npm run build:native`');

  const env = { ...process.env };
  if (process.platform !== 'darwin') {
    const include = findBlasInclude();
    if (!include) {
      const where = process.env.SLIPWAY_BLAS_INCLUDE
        ? ` in SLIPWAY_BLAS_INCLUDE=${process.env.SLIPWAY_BLAS_INCLUDE}`
        : '';
      return skip(`no cblas.h found${where}`);
    }
    env.SLIPWAY_BLAS_INCLUDE = include;
  }

  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return skip('node-gyp not found (it ships with npm)');
  const args = [nodeGyp, 'rebuild', `--directory=${ADDON_DIR}`];
  const nodeDir = findNodeDir();
  if (nodeDir) args.push(`--nodedir=${nodeDir}`);

  mkdirSync(ADDON_DIR, { recursive: true });
  const run = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 10 * 60_000 });
  writeFileSync(
    LOG_FILE,
    `${process.execPath} ${args.join(' ')}\n\n${run.stdout ?? ''}\n${run.stderr ?? ''}\n`,
  );
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : `node-gyp exited with ${run.status}`;
    return skip(`${why}; details in ${LOG_FILE}`);
  }

  try {
    const info = smokeTest();
    notice(
      `native GEMM built over ${info.config.trim()} (${info.threads} threads); the WASM backend will use it.`,
    );
  } catch (err) {
    skip(`the build does not load: ${err instanceof Error ? err.message : String(err)}`);
  }
}

try {
  main();
} catch (err) {
  notice(
    `native GEMM build skipped after an unexpected error: ${err instanceof Error ? err.message : String(err)}`,
  );
}
process.exitCode = 0;
