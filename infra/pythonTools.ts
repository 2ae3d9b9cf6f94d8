import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The ONNX project's own checker, pinned, for an independent opinion on exported files. */
export const PYTHON_ONNX_VERSION = '1.19.1';

/**
 * A Python virtual environment with the `onnx` package, built once per machine in the binary
 * cache (outside the work tree). Returns its python, or why it cannot be had.
 */
export async function ensurePythonOnnx(binCache: string): Promise<{ python: string } | { missing: string }> {
  const dir = join(binCache, `py-onnx-${PYTHON_ONNX_VERSION}`);
  const python = join(dir, 'bin', 'python');
  if (existsSync(python)) return { python };
  const partial = `${dir}.partial-${process.pid}`;
  try {
    await mkdir(binCache, { recursive: true });
    await rm(partial, { recursive: true, force: true });
    await run('python3', ['-m', 'venv', partial]);
    await run(
      join(partial, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', `onnx==${PYTHON_ONNX_VERSION}`],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    // A venv records its own path; after the rename, run it through the moved interpreter anyway.
    return { python };
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    return {
      missing: `Python's onnx ${PYTHON_ONNX_VERSION} could not be installed (${(err as Error).message.split('\n')[0]})`,
    };
  }
}
