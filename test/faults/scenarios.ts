import type { WorkflowHandle } from '@temporalio/client';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import type { FaultLab, FaultReport } from './harness';

export interface FaultSize {
  /** Pipelines run at once in the concurrency scenario (the issue asks for 20). */
  concurrent: number;
}

async function results(handles: WorkflowHandle[], notes: string[]): Promise<PipelineResult[]> {
  const settled = await Promise.allSettled(handles.map((h) => h.result() as Promise<PipelineResult>));
  for (const s of settled) {
    if (s.status !== 'rejected') continue;
    // The innermost cause says what actually went wrong (the activity's error and its type).
    const chain: string[] = [];
    for (let c = s.reason as (Error & { type?: string }) | undefined; c; c = c.cause as typeof c) {
      chain.push(`${c.type ?? c.name}: ${c.message}`);
    }
    notes.push(`run failed: ${chain.join(' <- ')}`);
  }
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}

/**
 * Training long enough that a heartbeat with a checkpoint reaches the server (the SDK sends at most
 * one per 80 % of the 10 s heartbeat timeout) well before it ends. Sized for the native trainer
 * (2.25 million samples: about half a minute on 2 cores), which finished 60,000 rows x 10 epochs
 * before any checkpoint reached the server.
 */
const LONG_TRAINING = { rows: 100_000, epochs: 30 };

/** SIGKILL the worker process that is training; a replacement finishes from the checkpoint. */
export async function workerKilledMidTraining(lab: FaultLab): Promise<FaultReport> {
  const notes: string[] = [];
  const handle = await lab.startPipeline('faults-kill', 1, LONG_TRAINING);
  const victim = await lab.waitForTraining(handle);
  await lab.killWorker(victim, 'SIGKILL');
  lab.startWorker(`${victim}-replacement`);
  const done = await results([handle], notes);
  if (done[0] && done[0].resumedFromEpoch === 0) notes.push('training restarted from epoch 0');
  return lab.verify('worker SIGKILL mid-training', done, 1, notes);
}

/** Stop the Temporal server (persistent database) mid-pipeline and start it again. */
export function temporalRestarted(lab: FaultLab): Promise<FaultReport> {
  return outageMidTraining(lab, 'Temporal restart mid-pipeline', ['faults-restart', 2], () =>
    lab.restartTemporal(3_000),
  );
}

/** Take MinIO away for 25 s while steps read and write artifacts. */
export function storageOutage(lab: FaultLab): Promise<FaultReport> {
  return outageMidTraining(lab, 'MinIO down for 25 s', ['faults-outage', 4], () => lab.restartMinio(25_000));
}

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
  return lab.verify(scenario, await results(handles, notes), handles.length, notes);
}

/** Many pipelines for one model at once over the two worker processes: versions stay unique. */
export async function manyAtOnce(lab: FaultLab, size: FaultSize): Promise<FaultReport> {
  const notes: string[] = [];
  const handles = await Promise.all(
    Array.from({ length: size.concurrent }, (_, i) => lab.startPipeline('faults-crowd', 100 + i)),
  );
  const done = await results(handles, notes);
  const versions = done.map((r) => r.version).sort((a, b) => a - b);
  const expected = Array.from({ length: done.length }, (_, i) => i + 1);
  if (JSON.stringify(versions) !== JSON.stringify(expected)) notes.push(`versions ${versions.join(',')}`);
  return lab.verify(`${size.concurrent} pipelines at once, 2 workers`, done, size.concurrent, notes);
}
