import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../config/repoRoot';

export interface ServiceProcess {
  /** Leader of the service's own process group: stopProcessGroup(pid) ends everything in it. */
  pid: number;
  logFile: string;
  child?: ChildProcess;
}

/**
 * Runs a service under a small bash guard holding a pipe from this process, so the service dies
 * with this process however it ends (see the script for how).
 */
const SERVICE_GUARD = join(REPO_ROOT, 'infra', 'scripts', 'service-guard.sh');

// The parent's ends of the guards' pipes, held for the life of this process: closing one stops its service.
const lifelines = new Set<unknown>();

/**
 * Starts a service in its own process group with output to a log file. By default it dies with this
 * process (tests); `outliveParent` lets it keep running after this process exits (the embedded
 * stack between commands). Either way stopProcessGroup() ends it and everything it spawned.
 */
export function startService(
  command: string,
  args: string[],
  options: {
    logFile: string;
    env?: NodeJS.ProcessEnv;
    outliveParent?: boolean;
  },
): ServiceProcess {
  const fd = openSync(options.logFile, 'a');
  try {
    const env = { ...process.env, ...options.env };
    const child = options.outliveParent
      ? spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env })
      : spawn('bash', [SERVICE_GUARD, command, ...args], {
          detached: true,
          stdio: ['pipe', fd, fd],
          env,
        });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    if (child.stdin) {
      child.stdin.on('error', () => {});
      lifelines.add(child.stdin);
      child.on('exit', () => lifelines.delete(child.stdin));
      // Neither the guard nor its pipe keeps this process alive; its exit is what stops the service.
      // (stdio pipes are sockets at run time, typed as plain Writables)
      (child.stdin as unknown as { unref(): void }).unref();
    }
    child.unref();
    return { pid: child.pid, logFile: options.logFile, child };
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by an init that is slow or absent) answers signal 0 but is gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * True while any live (non-zombie) process belongs to process group `pgid`. Reads /proc on Linux;
 * elsewhere asks the kernel, which also counts zombies.
 */
export function isGroupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // After "(comm)": state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

/** SIGTERM to the whole group, then SIGKILL after a grace period, so no child is orphaned. */
export async function stopProcessGroup(pid: number, graceMs = 10_000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const running = () => isAlive(pid) || isGroupAlive(pid);
  if (!running()) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (running() && Date.now() < deadline) await sleep(100);
  if (running()) signal('SIGKILL');
  // Bounded: a pid owned by another user stays "alive" (EPERM) however long we wait.
  const killDeadline = Date.now() + 5_000;
  while (running() && Date.now() < killDeadline) await sleep(50);
  if (running())
    throw new Error(
      `process group ${pid} is still running after SIGKILL; stop it by hand (kill -9 -${pid}).`,
    );
}

/**
 * The command line of a running process (Linux /proc), to tell our own service from an unrelated
 * process that reused a recorded pid. Undefined where /proc is not available.
 */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The last lines of a log, to put in an error message when a service fails to start. */
export function logTail(logFile: string, lines = 20): string {
  try {
    const text = readFileSync(logFile, 'utf8').trimEnd();
    return text === '' ? '(the log is empty)' : text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log output)';
  }
}

/** Polls `check` until it resolves true, the process dies, or the timeout passes. */
export async function waitUntilHealthy(options: {
  name: string;
  service: ServiceProcess;
  check: () => Promise<boolean>;
  timeoutMs: number;
}): Promise<void> {
  const { name, service, check, timeoutMs } = options;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(service.pid) || (service.child && service.child.exitCode !== null)) {
      throw new Error(
        `${name} exited during startup. Last lines of ${service.logFile}:\n${logTail(service.logFile)}`,
      );
    }
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  await stopProcessGroup(service.pid);
  throw new Error(
    `${name} did not become healthy within ${timeoutMs / 1000} s. Last lines of ${service.logFile}:\n${logTail(service.logFile)}`,
  );
}

/**
 * True when nothing holds `port` on 127.0.0.1: a listener binds it (with SO_REUSEADDR, as the
 * services' own listeners do, so a closed connection lingering in TIME_WAIT does not count).
 */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Waits until `port` is free, at most `timeoutMs`; true when it is. A port can stay taken for a
 * moment after its service was killed, and any process may take a free one meanwhile: an
 * outgoing connection's local port comes from the same range the OS hands out for `freePort()`.
 */
export async function waitForFreePort(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isPortFree(port)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

/** The port a service failed to bind, when its error (or log tail) says "bind: address already in use". */
export function portInUse(message: string): number | undefined {
  const matches = [...message.matchAll(/:(\d+): bind: address already in use/g)];
  const port = Number(matches.at(-1)?.[1]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
