import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { approveUpdate } from '../../contracts/review';
import { LocalArtifactStore } from '../../domain/storage/localStore';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import type { FaultLab, FaultReport } from './harness';

export interface FaultSize {
  /** Pipelines run at once in the concurrency scenario (the issue asks for 20). */
  concurrent: number;
  /** How long MinIO stays down mid-run (default 30 s; CI 25 s, to keep its time). */
  outageSeconds?: number;
}

export type Scenario = (lab: FaultLab, size: FaultSize) => Promise<FaultReport>;

/** The causes of a failed run, outermost first, each as "type: message". */
function causeChain(error: unknown): string {
  const chain: string[] = [];
  for (let c = error as (Error & { type?: string }) | undefined; c; c = c.cause as typeof c) {
    chain.push(`${c.type ?? c.name}: ${c.message}`);
  }
  return chain.join(' <- ');
}

async function results(handles: WorkflowHandle[], notes: string[]): Promise<PipelineResult[]> {
  const settled = await Promise.allSettled(handles.map((h) => h.result() as Promise<PipelineResult>));
  for (const s of settled) if (s.status === 'rejected') notes.push(`run failed: ${causeChain(s.reason)}`);
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}

/** Every run must have been promoted (the gate lets every version through; see startPipeline). */
function notPromoted(done: PipelineResult[], notes: string[]): void {
  for (const r of done)
    if (r.outcome !== 'promoted') notes.push(`${r.model}@${r.version} ended ${r.outcome}`);
}

/**
 * Training long enough that a heartbeat with a checkpoint reaches the server (the SDK sends at most
 * one per 80 % of the 10 s heartbeat timeout) well before it ends. Sized for the native trainer
 * (2.25 million samples: about half a minute on 2 cores), which finished 60,000 rows x 10 epochs
 * before any checkpoint reached the server.
 */
const LONG_TRAINING = { rows: 100_000, epochs: 30 };
/** Enough held-out rows (25,000) that the export's parity gate takes seconds, long enough to kill in. */
const LONG_EXPORT = { rows: 100_000, epochs: 2 };

/** SIGKILL the worker process that is training; a replacement finishes from the checkpoint. */
export async function workerKilledMidTraining(lab: FaultLab): Promise<FaultReport> {
  const notes: string[] = [];
  const handle = await lab.startPipeline('faults-kill', 1, LONG_TRAINING);
  const victim = await lab.waitForTraining(handle);
  await lab.killWorker(victim, 'SIGKILL');
  lab.startWorker(`${victim}-replacement`);
  const done = await results([handle], notes);
  const resumedFrom = done.map((r) => r.resumedFromEpoch);
  if (done[0] && done[0].resumedFromEpoch === 0) notes.push('training restarted from epoch 0');
  notPromoted(done, notes);
  return lab.verify('worker SIGKILL during training', done, 1, notes, { resumedFrom });
}

/** SIGKILL the worker process running `activity`; a replacement runs the step again and the run completes. */
async function workerKilledIn(
  lab: FaultLab,
  scenario: string,
  activity: string,
  [model, seed]: [string, number],
  size: { rows: number; epochs: number },
): Promise<FaultReport> {
  const notes: string[] = [];
  const handle = await lab.startPipeline(model, seed, size);
  await lab.killWorkerDuring(handle, activity);
  const done = await results([handle], notes);
  notPromoted(done, notes);
  return lab.verify(scenario, done, 1, notes);
}

export const workerKilledDuringExport: Scenario = (lab) =>
  workerKilledIn(lab, 'worker SIGKILL during export', 'exportOnnx', ['faults-kill-export', 21], LONG_EXPORT);

export const workerKilledDuringRegistration: Scenario = (lab) =>
  workerKilledIn(lab, 'worker SIGKILL during registration', 'registerModel', ['faults-kill-register', 31], {
    rows: 3000,
    epochs: 2,
  });

/** SIGKILL the Temporal dev server mid-pipeline and start it again on the same database. */
export const temporalKilled: Scenario = (lab) =>
  outageMidTraining(lab, 'Temporal SIGKILL and restart, same database', ['faults-restart', 2], () =>
    lab.killTemporal(3_000),
  );

/** Take MinIO away for 30 s while steps read and write artifacts. */
export const storageOutage: Scenario = (lab) =>
  outageMidTraining(lab, 'MinIO stopped for 30 s mid-run', ['faults-outage', 4], () =>
    lab.restartMinio(30_000),
  );

/**
 * Two pipelines (a long one, seed `seed`, and a short one, seed `seed + 1`); once the long one is
 * training, `outage` takes a service away and back; both must still end well.
 */
async function outageMidTraining(
  lab: FaultLab,
  scenario: string,
  [prefix, seed]: [string, number],
  outage: () => Promise<unknown>,
): Promise<FaultReport> {
  const notes: string[] = [];
  const handles = [
    await lab.startPipeline(prefix, seed, LONG_TRAINING),
    await lab.startPipeline(prefix, seed + 1, { rows: 3000, epochs: 2 }),
  ];
  await lab.waitForTraining(handles[0] as WorkflowHandle);
  await outage();
  const done = await results(handles, notes);
  return lab.verify(scenario, done, handles.length, notes);
}

/**
 * MinIO stopped during promotion: the run waits for its review, MinIO stops, the approval comes,
 * and the review record and the alias move meet a store that is down for 30 s. The run must be
 * promoted once MinIO is back, with the alias and audit log whole.
 */
export const storageOutageDuringPromotion: Scenario = async (lab) => {
  const notes: string[] = [];
  const handle = await lab.startPipeline('faults-outage-promote', 41, {
    rows: 3000,
    epochs: 2,
    approvers: ['ops'],
  });
  await lab.waitForReviewOpen(handle);
  await lab.stopMinio();
  const stoppedAt = Date.now();
  await handle.executeUpdate(approveUpdate, { args: [{ approver: 'ops', reason: 'fault suite' }] });
  await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - stoppedAt))));
  const stillRunning = (await handle.describe()).status.name === 'RUNNING';
  if (!stillRunning) notes.push('the run ended while MinIO was down: the promotion did not meet the outage');
  await lab.startMinioAgain();
  const done = await results([handle], notes);
  notPromoted(done, notes);
  return lab.verify('MinIO stopped for 30 s during promotion', done, 1, notes);
};

/**
 * The local artifact store's disk fills up mid-run: a 6 MiB tmpfs holds the snapshot and a few
 * training checkpoints, then ENOSPC. The run must fail at once (not retried) naming the full disk,
 * with nothing half-written: every stored object re-hashes and no temp file is left. With room
 * again, the next run on the same store completes. Needs root (mount); without it the scenario
 * fails saying so.
 */
export const diskFull: Scenario = async (lab) => {
  const notes: string[] = [];
  const mountPoint = join(lab.dir, `tiny-${randomUUID().slice(0, 8)}`);
  await mkdir(mountPoint, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `the disk-full scenario mounts a small tmpfs and needs root: ${(error as Error).message}`,
    );
  }
  const queues = { main: `faults-disk-${randomUUID()}`, training: `faults-disk-training-${randomUUID()}` };
  const worker = `disk-${randomUUID().slice(0, 6)}`;
  lab.startWorker(worker, {
    SLIPWAY_ARTIFACTS: `file://${mountPoint}`,
    SLIPWAY_TASK_QUEUE: queues.main,
    SLIPWAY_TRAINING_TASK_QUEUE: queues.training,
  });
  const store = new LocalArtifactStore(mountPoint);
  let failedCleanly = 0;
  try {
    const full = await lab.startPipeline('faults-disk', 51, { rows: 20_000, epochs: 10, queues });
    const failure = await full.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    const chain = causeChain(failure);
    if (failure === undefined) notes.push('the run completed on a full disk: the fault did not happen');
    else if (!/LocalStoreAccess.*disk is full/.test(chain))
      notes.push(`failed, but not for the full disk: ${chain}`);
    else failedCleanly++;
    const attempts = (await full.fetchHistory()).events?.filter((e) => e.activityTaskStartedEventAttributes);
    const retried = attempts?.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    if (retried) notes.push('a step was retried on a full disk instead of failing at once');
    const leftovers = await readdir(join(mountPoint, '.tmp')).catch(() => []);
    if (leftovers.length > 0) notes.push(`temp files left behind: ${leftovers.join(', ')}`);
    // Room again: the same store takes the next run.
    execFileSync('mount', ['-o', 'remount,size=256m', mountPoint], { stdio: 'pipe' });
    const next = await lab.startPipeline('faults-disk', 52, { rows: 3000, epochs: 2, queues });
    const done = await results([next], notes);
    notPromoted(done, notes);
    return await lab.verify('disk full on the local store', done, 2, notes, { failedCleanly, store });
  } finally {
    await lab.killWorker(worker, 'SIGTERM').catch(() => {});
    try {
      execFileSync('umount', [mountPoint], { stdio: 'pipe' });
    } catch {}
    await rm(mountPoint, { recursive: true, force: true });
  }
};

/** Many pipelines for one model at once over the two worker processes: versions stay unique. */
export const manyAtOnce: Scenario = async (lab, size) => {
  const notes: string[] = [];
  const handles = await Promise.all(
    Array.from({ length: size.concurrent }, (_, i) => lab.startPipeline('faults-crowd', 100 + i)),
  );
  const done = await results(handles, notes);
  const versions = done.map((r) => r.version).sort((a, b) => a - b);
  const expected = Array.from({ length: done.length }, (_, i) => i + 1);
  if (JSON.stringify(versions) !== JSON.stringify(expected)) notes.push(`versions ${versions.join(',')}`);
  return lab.verify(`${size.concurrent} pipelines at once, 2 workers`, done, size.concurrent, notes);
};

/**
 * What CI runs besides the core scenarios (kill-training, temporal-kill, a crowd of 6): one of
 * these a day, in turn (UTC day number modulo 5), so the CI time stays what it was while every
 * scenario runs in CI every five days; SLIPWAY_FAULTS_CI=<name> picks one.
 */
export const rotatingInCi = ['minio-run', 'minio-promote', 'kill-export', 'kill-register', 'disk-full'];

export function ciRotation(now = new Date(), forced = process.env.SLIPWAY_FAULTS_CI): string {
  if (forced) return forced;
  // The full disk needs root (it mounts a tmpfs); elsewhere its day goes to the MinIO outage.
  const turn = rotatingInCi[Math.floor(now.getTime() / 86_400_000) % rotatingInCi.length] as string;
  return turn === 'disk-full' && process.getuid?.() !== 0 ? 'minio-run' : turn;
}

/** Every scenario of `npm run test:faults`, in the order it runs them. */
export const allScenarios: Array<[string, Scenario]> = [
  ['kill-training', workerKilledMidTraining],
  ['kill-export', workerKilledDuringExport],
  ['kill-register', workerKilledDuringRegistration],
  ['temporal-kill', temporalKilled],
  ['minio-run', storageOutage],
  ['minio-promote', storageOutageDuringPromotion],
  ['disk-full', diskFull],
  ['crowd', manyAtOnce],
];
