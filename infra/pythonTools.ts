import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The ONNX project's own checker, pinned, for an independent opinion on exported files. */
export const PYTHON_ONNX_VERSION = '1.19.1';

/** Either a python that has the pinned packages, or why there is none. */
export type PythonOnnx = { python: string } | { missing: string };

/**
 * A Python virtual environment with the `onnx` package, built once per machine in the binary
 * cache (outside the work tree) and reused. Never throws: a machine without python3 or without
 * the package index gets `{ missing: reason }`.
 */
export async function ensurePythonOnnx(binCache: string): Promise<PythonOnnx> {
  const venv = await ensurePythonVenv({
    dir: join(binCache, `py-onnx-${PYTHON_ONNX_VERSION}`),
    packages: [`onnx==${PYTHON_ONNX_VERSION}`],
    probe: 'import onnx.checker',
  });
  return 'python' in venv
    ? venv
    : { missing: `Python's onnx ${PYTHON_ONNX_VERSION} is not available: ${venv.missing}` };
}

export interface PythonVenvSpec {
  /** Where the venv lives; a folder named after the pinned versions, so a new pin builds anew. */
  dir: string;
  /** pip requirement strings, pinned exactly. */
  packages: string[];
  /** Python code that must run in the venv before it is published, e.g. an import. */
  probe: string;
  /** Seconds pip may take (default 15 minutes). */
  timeoutSeconds?: number;
}

/**
 * A Python virtual environment with pinned packages from the package index, built once and
 * reused. Concurrent callers each build in their own scratch folder; the first to finish wins and
 * the others use its result. Never throws: a machine without python3 or without the package
 * index gets `{ missing: reason }`.
 */
export function ensurePythonVenv(spec: PythonVenvSpec): Promise<PythonOnnx> {
  const python = join(spec.dir, 'bin', 'python');
  // existsSync follows the venv's symlink, so a venv whose base python is gone is rebuilt.
  if (existsSync(python)) return Promise.resolve({ python });
  // Callers in one process share one build.
  let pending = building.get(spec.dir);
  if (!pending) {
    pending = build(spec, python).finally(() => building.delete(spec.dir));
    building.set(spec.dir, pending);
  }
  return pending;
}

const building = new Map<string, Promise<PythonOnnx>>();

async function build(spec: PythonVenvSpec, python: string): Promise<PythonOnnx> {
  const { dir, packages, probe } = spec;
  const partial = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  const timeout = (spec.timeoutSeconds ?? 15 * 60) * 1000;
  try {
    await mkdir(dirname(dir), { recursive: true });
    await rm(partial, { recursive: true, force: true });
    await step('python3 -m venv', 'python3', ['-m', 'venv', partial], timeout);
    await step(
      `pip install ${packages.join(' ')}`,
      join(partial, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', ...packages],
      timeout,
    );
    // Prove the packages work before publishing the folder.
    await step(probe, join(partial, 'bin', 'python'), ['-c', probe], timeout);
    await publish(partial, dir, python);
    // A moved venv still works when run through its interpreter (`python -m pip`, `python -c`);
    // only the shebangs of its console scripts name the scratch path, and nothing uses them.
    return { python };
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    return { missing: (err as Error).message };
  }
}

async function publish(partial: string, dir: string, python: string): Promise<void> {
  try {
    await rename(partial, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    // Someone else published first: keep theirs if it works, else replace a broken leftover.
    if (existsSync(python)) {
      await rm(partial, { recursive: true, force: true });
      return;
    }
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
  }
}

/** Runs one setup step; a failure names the step and the last line the tool printed. */
async function step(what: string, file: string, args: string[], timeout: number): Promise<void> {
  try {
    await run(file, args, { maxBuffer: 16 * 1024 * 1024, timeout });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${what}: ${file} was not found (install Python 3 with venv)`);
    const lines = `${e.stderr ?? ''}`.trim().split('\n').filter(Boolean);
    throw new Error(`${what} failed: ${lines[lines.length - 1] ?? e.message.split('\n')[0]}`);
  }
}
