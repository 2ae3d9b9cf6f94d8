import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/env';
import { referenceModelSpec } from '../domain/ml/modelSpec';
import { createWorkers } from '../worker/worker';
import type { trainToDeploy } from '../workflows/trainToDeploy';
import { median, secondsSince } from './lib/stats';

export interface OrchestrationRun {
  workflowId: string;
  wallSeconds: number;
  activitySeconds: number;
  overheadSeconds: number;
  activities: number;
  steps: number;
}

export interface OrchestrationReport {
  source: string;
  epochs: number;
  artifacts: string;
  /** The first run (worker start-up, workflow bundle, backend loading) is a warm-up, not counted. */
  warmUp: OrchestrationRun;
  runs: OrchestrationRun[];
  medianOverheadSeconds: number;
  medianWallSeconds: number;
  /** The last run's workflow id (finished, kept on the server: the CLI start-up timing asks about it). */
  lastWorkflowId: string;
}

let quietRuntime = false;

/**
 * The full trainToDeploy pipeline on a small generated dataset through a real Temporal dev
 * server, with in-process workers and artifacts in a local folder, step cache off. Overhead =
 * wall time the client waits (start to result) minus the time activities ran (from each
 * activity's Started to its Completed event in the workflow's history): scheduling, task
 * dispatch, workflow tasks and payload round trips.
 */
export async function measureOrchestration(options: {
  temporalAddress: string;
  dir: string;
  runs: number;
  rows: number;
  epochs: number;
}): Promise<OrchestrationReport> {
  // The bench prints tables; the workers report only warnings and errors (once per process).
  if (!quietRuntime) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    quietRuntime = true;
  }
  const queue = `bench-${randomUUID()}`;
  const config = loadConfig({
    SLIPWAY_TEMPORAL_ADDRESS: options.temporalAddress,
    SLIPWAY_TASK_QUEUE: queue,
    SLIPWAY_TRAINING_TASK_QUEUE: `${queue}-training`,
    SLIPWAY_STATE_DIR: options.dir,
    SLIPWAY_ARTIFACTS: `file://${join(options.dir, 'artifacts')}`,
  });
  const source = `synthetic:fraud?rows=${options.rows}&seed=7`;
  const workers = await createWorkers(config, { identity: 'bench' });
  const running = workers.run();
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection });
  try {
    const runOnce = async (i: number): Promise<OrchestrationRun> => {
      const workflowId = `bench-overhead-${i}-${randomUUID()}`;
      const started = performance.now();
      const result = await client.workflow.execute<typeof trainToDeploy>('trainToDeploy', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [
          {
            source,
            modelName: `bench-overhead-${i}`,
            spec: { ...referenceModelSpec, epochs: options.epochs },
            trainingTaskQueue: config.trainingTaskQueue,
            createdBy: 'bench',
            cache: false,
          },
        ],
      });
      const wallSeconds = secondsSince(started);
      const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const startedAt = new Map<string, number>();
      for (const e of events) {
        if (e.activityTaskStartedEventAttributes) startedAt.set(String(e.eventId), tsToMs(e.eventTime));
      }
      let activityMs = 0;
      let activities = 0;
      for (const e of events) {
        const done = e.activityTaskCompletedEventAttributes;
        if (!done) continue;
        const from = startedAt.get(String(done.startedEventId));
        if (from === undefined)
          throw new Error(`history of ${workflowId}: a completed activity without its start`);
        activityMs += tsToMs(e.eventTime) - from;
        activities++;
      }
      return {
        workflowId,
        wallSeconds,
        activitySeconds: activityMs / 1000,
        overheadSeconds: wallSeconds - activityMs / 1000,
        activities,
        steps: result.steps.filter((s) => s.status === 'done').length,
      };
    };
    const warmUp = await runOnce(0);
    const runs: OrchestrationRun[] = [];
    for (let i = 1; i <= options.runs; i++) runs.push(await runOnce(i));
    return {
      source,
      epochs: options.epochs,
      artifacts: 'local folder',
      warmUp,
      runs,
      medianOverheadSeconds: median(runs.map((r) => r.overheadSeconds)),
      medianWallSeconds: median(runs.map((r) => r.wallSeconds)),
      lastWorkflowId: (runs.at(-1) ?? warmUp).workflowId,
    };
  } finally {
    workers.shutdown();
    await running;
    await connection.close();
  }
}
