import { statSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { codeVersion } from '../config/codeVersion';
import type { SlipwayConfig } from '../config/env';
import { REPO_ROOT } from '../config/repoRoot';
import { CSV_SCAN_ADDON_PATH } from '../domain/data/nativeCsvScan';
import { ADDON_PATH } from '../domain/ml/nativeAddonPath';
import { commandLine, isAlive, startService, stopProcessGroup, waitUntilHealthy } from './processes';

/**
 * The embedded stack's worker: a detached `slipway worker` process that keeps polling between
 * commands, so a pipeline waiting for a person (or running while its command's shell is closed)
 * always has a worker. Recorded in worker.json beside stack.json.
 */
const IDENTITY_MARKER = 'slipway-dev-worker';
const READY_LINE = 'slipway worker: polling';

const workerStateSchema = z.object({
  pid: z.number().int(),
  logFile: z.string(),
  /** The code it runs: a checkout that moved on needs a fresh worker. */
  codeVersion: z.string(),
  /**
   * The native addons it loaded, trainer and CSV scanner (size and modification time, or "none"): `npm run
   * build:native` changes no tracked file, yet the worker must pick up the new build.
   */
  nativeAddon: z.string().default('unknown'),
  /** What it connects to: a command with other settings must not rely on it. */
  temporalAddress: z.string(),
  namespace: z.string(),
  taskQueue: z.string(),
  trainingTaskQueue: z.string(),
  artifactsUri: z.string(),
  startedAt: z.string(),
});
export type BackgroundWorker = z.infer<typeof workerStateSchema>;

export interface BackgroundWorkerStatus {
  running: boolean;
  /** Running, and serving this configuration with this code. */
  current: boolean;
  worker?: BackgroundWorker;
}

const paths = (config: SlipwayConfig) => ({
  state: join(config.stateDir, 'worker.json'),
  log: join(config.stateDir, 'worker.log'),
});

/** Identity of the addon file the worker would load now: a rebuilt one differs. */
export function nativeAddonIdentity(path = ADDON_PATH): string {
  try {
    const info = statSync(path);
    return `${info.size}:${Math.round(info.mtimeMs)}`;
  } catch {
    return 'none';
  }
}

function settingsOf(config: SlipwayConfig) {
  return {
    codeVersion: codeVersion(),
    nativeAddon: `${nativeAddonIdentity()} ${nativeAddonIdentity(CSV_SCAN_ADDON_PATH)}`,
    temporalAddress: config.temporalAddress,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    trainingTaskQueue: config.trainingTaskQueue,
    artifactsUri: config.artifactsUri,
  };
}

async function readWorkerState(config: SlipwayConfig): Promise<BackgroundWorker | undefined> {
  try {
    return workerStateSchema.parse(JSON.parse(await readFile(paths(config).state, 'utf8')));
  } catch {
    return undefined;
  }
}

function isOurWorker(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd === undefined || cmd.includes(IDENTITY_MARKER);
}

export async function backgroundWorkerStatus(config: SlipwayConfig): Promise<BackgroundWorkerStatus> {
  const worker = await readWorkerState(config);
  if (!worker || !isOurWorker(worker.pid)) return { running: false, current: false, worker };
  const wanted = settingsOf(config);
  const current = (Object.keys(wanted) as Array<keyof typeof wanted>).every((k) => worker[k] === wanted[k]);
  return { running: true, current, worker };
}

/**
 * Starts the background worker unless one serving this configuration with this code is running;
 * replaces one that is out of date (its in-flight activities are retried by the new one).
 * Call it under the stack lock.
 */
export async function ensureBackgroundWorker(
  config: SlipwayConfig,
): Promise<{ worker: BackgroundWorker; started: boolean; replaced: boolean }> {
  const status = await backgroundWorkerStatus(config);
  if (status.running && status.current && status.worker) {
    return { worker: status.worker, started: false, replaced: false };
  }
  if (status.running && status.worker) await stopProcessGroup(status.worker.pid);
  const p = paths(config);
  // The same entry point a person types (bin/slipway execs node in place, so the pid stays ours).
  const service = startService(
    join(REPO_ROOT, 'bin', 'slipway'),
    ['worker', '--identity', `${IDENTITY_MARKER}@${config.stateDir}`],
    {
      logFile: p.log,
      outliveParent: true,
      // The worker must see exactly the configuration this command resolved.
      env: {
        SLIPWAY_TEMPORAL_ADDRESS: config.temporalAddress,
        SLIPWAY_TEMPORAL_NAMESPACE: config.namespace,
        SLIPWAY_TASK_QUEUE: config.taskQueue,
        SLIPWAY_TRAINING_TASK_QUEUE: config.trainingTaskQueue,
        SLIPWAY_ARTIFACTS: config.artifactsUri,
        SLIPWAY_STATE_DIR: config.stateDir,
      },
    },
  );
  const logStart = await readFile(p.log, 'utf8').then(
    (t) => t.length,
    () => 0,
  );
  await waitUntilHealthy({
    name: 'the background worker',
    service,
    timeoutMs: 120_000,
    check: async () => (await readFile(p.log, 'utf8')).slice(logStart).includes(READY_LINE),
  });
  const worker: BackgroundWorker = {
    pid: service.pid,
    logFile: p.log,
    ...settingsOf(config),
    startedAt: new Date().toISOString(),
  };
  await writeFile(`${p.state}.tmp`, `${JSON.stringify(worker, null, 2)}\n`);
  await rename(`${p.state}.tmp`, p.state);
  return { worker, started: true, replaced: status.running };
}

/** Stops the background worker (SIGTERM lets in-flight tasks finish within the grace period). */
export async function stopBackgroundWorker(config: SlipwayConfig): Promise<boolean> {
  const worker = await readWorkerState(config);
  const running = worker !== undefined && isOurWorker(worker.pid);
  if (running) await stopProcessGroup(worker.pid, 30_000);
  await rm(paths(config).state, { force: true });
  return running;
}
