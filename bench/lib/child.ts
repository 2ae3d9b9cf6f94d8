import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../config/env';

/** node with tsx's entry points by path, as bin/slipway starts the CLI: a TS file in a fresh process. */
export function tsxCommand(file: string, args: string[]): [string, string[]] {
  return [
    process.execPath,
    [
      '--require',
      join(REPO_ROOT, 'node_modules/tsx/dist/preflight.cjs'),
      '--import',
      `file://${join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')}`,
      file,
      ...args,
    ],
  ];
}

/**
 * Runs a bench helper that prints one JSON object as its last stdout line, and returns it.
 * Its stderr goes through to ours line by line (prefixed), so a long run shows progress; a
 * failure names the command, exit code and the last lines it wrote.
 */
export function runJsonChild<T>(
  label: string,
  command: string,
  args: string[],
  options: { timeoutSeconds: number; env?: NodeJS.ProcessEnv },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutSeconds * 1000,
    });
    let stdout = '';
    const stderrTail: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
        process.stderr.write(`  [${label}] ${line}\n`);
      }
    });
    child.on('error', (err) => reject(new Error(`${label}: could not start ${command}: ${err.message}`)));
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0) {
        try {
          resolve(JSON.parse(last) as T);
          return;
        } catch {
          reject(new Error(`${label}: the last line of its output is not JSON: ${last.slice(0, 200)}`));
          return;
        }
      }
      const why = signal
        ? `was stopped by ${signal} (timeout ${options.timeoutSeconds} s?)`
        : `exited with ${code}`;
      reject(new Error(`${label} ${why}: ${stderrTail.slice(-5).join(' | ') || 'no output'}`));
    });
  });
}
