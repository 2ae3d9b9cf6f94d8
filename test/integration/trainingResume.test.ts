import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingHeartbeat } from '../../activities';
import type { SlipwayConfig } from '../../config/env';
import { progressQuery } from '../../contracts/messages';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');

/**
 * A training worker is a separate `slipway worker --queues training` process, killed with SIGKILL
 * in the middle of training; a second one must finish the same run from the last checkpoint.
 */
describe('training survives a killed worker', () => {
  let world: PipelineWorld;
  let env: Record<string, string>;
  let config: SlipwayConfig;
  let client: Client;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // Workflows and light steps run here; training only in the child processes.
    world = await startPipelineWorld('resume-it', { queues: ['main'] });
    ({ env, config, client } = world);
  });

  afterAll(async () => {
    for (const child of children) killGroup(child, 'SIGKILL');
    await world?.close();
  });

  function startTrainingWorker(identity: string): ChildProcess {
    const child = spawn(SLIPWAY, ['worker', '--queues', 'training', '--identity', identity], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // its own process group, so the kill takes node and the wrapper alike
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM')
        console.error(`training worker ${identity} exited ${code ?? signal}:\n${stderr}`);
    });
    children.push(child);
    return child;
  }

  it('resumes from the last checkpoint, not from epoch 0', { timeout: 600_000 }, async () => {
    // Long enough on the native trainer (about a second an epoch here) for checkpoints to reach the
    // server well before the end: 40,000 rows x 8 epochs finished first.
    const epochs = 30;
    const workflowId = `resume-${randomUUID()}`;
    const first = startTrainingWorker('doomed-trainer');
    const handle = await client.workflow.start('trainToDeploy', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [
        {
          source: 'synthetic:fraud?rows=100000&seed=5',
          modelName: 'fraud-resume',
          spec: { ...referenceModelSpec, epochs },
          trainingTaskQueue: config.trainingTaskQueue,
          // A killed worker sends no more heartbeats: after this long the attempt is retried.
          trainingHeartbeatTimeoutSeconds: 5,
          cache: false,
        },
      ],
    });

    // Wait until the server holds a heartbeat with a checkpoint (the SDK throttles heartbeats, so
    // the server's view lags the epochs the worker has finished), then kill the worker.
    const deadline = Date.now() + 300_000;
    let checkpointed = 0;
    while (checkpointed < 2) {
      if (Date.now() > deadline) throw new Error('no checkpoint reached the server in time');
      await new Promise((r) => setTimeout(r, 200));
      checkpointed = (await serverHeartbeat(handle))?.epoch ?? 0;
    }
    killGroup(first, 'SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(checkpointed).toBeLessThan(epochs);

    startTrainingWorker('rescuer');
    const result = (await handle.result()) as PipelineResult;

    expect(result.epochsRun).toBe(epochs);
    expect(result.backend).toBe('native'); // the default path: the install builds the native trainer
    expect(result.resumedFromEpoch).toBeGreaterThanOrEqual(checkpointed);
    expect(result.resumedFromEpoch).toBeLessThan(epochs);

    // The history tells the same story: a second attempt of trainModel, started after a heartbeat
    // timeout, whose first reported epoch is the one after the checkpoint.
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const trainingScheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel',
    );
    const started = events.filter(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(trainingScheduled?.eventId),
    );
    expect(started).toHaveLength(1); // only the last attempt's start is written
    expect(started[0]?.activityTaskStartedEventAttributes?.attempt).toBe(2);
    expect(started[0]?.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(
      4, // HEARTBEAT
    );

    const progress = await handle.query(progressQuery);
    const byAttempt = (attempt: number) =>
      progress.training.epochs.filter((e) => e.attempt === attempt).map((e) => e.epoch);
    expect(byAttempt(1).length).toBeGreaterThanOrEqual(checkpointed);
    expect(byAttempt(2)[0]).toBe(result.resumedFromEpoch + 1);
    expect(progress.training.epochs.map((e) => e.epoch)).toEqual(
      Array.from({ length: epochs }, (_, i) => i + 1),
    );
  });
});

/** The training heartbeat as the server last received it. */
async function serverHeartbeat(handle: WorkflowHandle): Promise<TrainingHeartbeat | undefined> {
  const description = await handle.describe();
  for (const activity of description.raw.pendingActivities ?? []) {
    const payload = activity.heartbeatDetails?.payloads?.[0];
    if (activity.activityType?.name === 'trainModel' && payload) {
      return defaultPayloadConverter.fromPayload<TrainingHeartbeat | undefined>(payload);
    }
  }
  return undefined;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
