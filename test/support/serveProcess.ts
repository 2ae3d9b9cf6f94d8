import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');

/** A `slipway serve` child process, its address once it listens, and everything it printed. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, then the exit code once it has drained and stopped. */
  stop(): Promise<number | null>;
}

/** Starts the real `slipway serve <args>` with `env` and waits for the line naming its address. */
export async function startServeProcess(
  env: Record<string, string>,
  args: string[],
  timeoutMs = 120_000,
): Promise<ServeProcess> {
  const child = spawn(SLIPWAY, ['serve', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`serve did not start in ${timeoutMs} ms:\n${out}\n${err}`)),
      timeoutMs,
    );
    const look = () => {
      const match = /on (http:\/\/\S+?)[;\s]/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        done(match[1]);
      }
    };
    child.stdout?.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`serve exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
