import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The real `slipway` in a child process as the person `user` (SLIPWAY_USER), with `env` (e.g. a
 * pipeline world's settings). Asynchronous, so workers in the test process keep running meanwhile.
 */
export async function slipwayAs(
  user: string,
  env: Record<string, string>,
  args: string[],
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(SLIPWAY, args, {
      env: { ...process.env, ...env, SLIPWAY_USER: user },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout,
      stderr: failed.stderr,
    };
  }
}
