import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainedModel, TrainingHeartbeat } from '../../activities';
import { createConsoleApp } from '../../console/server';
import type { PipelineProgress, TrialProgress } from '../../contracts/progress';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactRef } from '../../domain/storage/artifactRef';
import { openArtifactStore } from '../../domain/storage/openStore';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { WorkerProcesses } from '../support/workerProcesses';

/**
 * 12 trials, successive halving with eta 3 up to 60 epochs (rungs: 12 trials x 1 epoch, the best 4
 * continue to epoch 3, the best of those to epoch 60), on small data and a small network, at most
 * 4 at once. The last rung is long enough (57 epochs, each waiting for its stored checkpoint) for
 * the test to see a checkpoint on the server and kill the worker before the trial ends.
 */
const PIPELINE = `version: 1
model: tuned-fraud
source: "synthetic:fraud?rows=3000&seed=3"
split: { testFraction: 0.3, seed: 5 }
spec:
  layers:
    - { type: dense, units: 16, activation: relu }
    - { type: dropout, rate: 0.2 }
    - { type: dense, units: 1, activation: sigmoid }
  batchSize: 128
  epochs: 60
  seed: 11
classWeights: balanced
gate:
  promote: false
tune:
  method: halving
  trials: 12
  parallel: 4
  seed: 9
  halving: { eta: 3, minEpochs: 1 }
  space:
    spec.learningRate: { range: [0.0005, 0.05], scale: log }
    spec.layers[0].units: [8, 16, 32]
    spec.layers[1].rate: { range: [0.0, 0.4] }
`;

/** Who ran a trial's training (the worker identity of its last attempt) and which attempt that was. */
async function trainingAttempt(world: PipelineWorld, workflowId: string) {
  const history = await world.client.workflow.getHandle(workflowId).fetchHistory();
  const started = (history.events ?? [])
    .map((e) => e.activityTaskStartedEventAttributes)
    .filter((a) => a !== null && a !== undefined);
  const last = started[started.length - 1];
  return { identity: last?.identity ?? '', attempt: last?.attempt ?? 0 };
}

describe('slipway tune over three training worker processes', () => {
  let world: PipelineWorld;
  let workers: WorkerProcesses;

  beforeAll(async () => {
    // Every worker a process of its own (this one only starts and checks): the main queue (the
    // search, extract, evaluate, register...) in one, training in three.
    world = await startPipelineWorld('tune-it', {
      queues: [],
      env: { SLIPWAY_TRAINING_HEARTBEAT_TIMEOUT: '5' },
    });
    workers = new WorkerProcesses(world);
    // One first: it keeps the workflow bundle beside the build, which the others then load.
    const started = Date.now();
    await workers.start('tw1');
    await workers.polling(['tw1'], world.config.trainingTaskQueue);
    await Promise.all([
      workers.start('main', { queues: ['main'] }),
      workers.start('tw2'),
      workers.start('tw3'),
    ]);
    await workers.polling(['tw1', 'tw2', 'tw3'], world.config.trainingTaskQueue);
    await workers.polling(['main'], world.config.taskQueue);
    console.log(`workers polling after ${Date.now() - started} ms`);
  }, 90_000);
  afterAll(async () => {
    await workers?.stopAll();
    await world?.close();
  });

  it('spreads 12 halving trials over the workers, survives a killed worker, registers the best as one version', {
    timeout: 300_000,
  }, async () => {
    const file = join(world.dir, 'slipway.yaml');
    await writeFile(file, PIPELINE);
    const tune = slipwayAs('pat', world.env, ['tune', '-f', file, '--json']);

    // Once a trial's training has a checkpoint on the server and epochs still to go, kill the
    // worker training it (SIGKILL, mid-trial): its retry must resume from that checkpoint.
    const handle = await searchHandle(world);
    const victim = await trainingWorkerWithACheckpoint(world, handle);
    await workers.kill(victim.identity);

    const done = await tune;
    const parentHistory = await handle.fetchHistory();
    const at = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
      Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
    const events = parentHistory.events ?? [];
    const first = at(events[0] ?? {});
    console.log(
      'tune timeline (s from start):',
      events
        .filter(
          (e) =>
            e.childWorkflowExecutionStartedEventAttributes ||
            e.childWorkflowExecutionCompletedEventAttributes ||
            e.activityTaskCompletedEventAttributes,
        )
        .map(
          (e) =>
            `${(at(e) - first).toFixed(1)}${e.childWorkflowExecutionStartedEventAttributes ? 's' : e.childWorkflowExecutionCompletedEventAttributes ? 'c' : 'a'}`,
        )
        .join(' '),
    );
    expect(done.code, done.stderr).toBe(0);
    const result = JSON.parse(done.stdout);
    expect(result).toMatchObject({ model: 'tuned-fraud', version: 1, outcome: 'registered' });
    const trials = result.tune.trials as TrialProgress[];
    expect(trials).toHaveLength(12);
    // Halving: 12 -> 4 -> 1; every trial completed or stopped (with its reason), none failed.
    expect(trials.filter((t) => t.status === 'completed')).toHaveLength(1);
    const stopped = trials.filter((t) => t.status === 'stopped');
    expect(stopped).toHaveLength(11);
    for (const t of stopped) expect(t.stopReason).toMatch(/^halving rung \d \(epoch \d+\): validation loss/);
    expect(trials.filter((t) => t.epochsRun === 3)).toHaveLength(3);
    const best = trials.find((t) => t.trial === result.tune.best);
    expect(best?.status).toBe('completed');
    expect(best?.epochsRun).toBe(60);
    expect(best?.curve.map((e) => e.epoch)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));

    // Trials ran on every worker; the killed worker's trial finished on another, as a retry.
    const attempts = await Promise.all(
      trials.flatMap((t) => t.workflowIds).map((id) => trainingAttempt(world, id)),
    );
    // (The victim's own attempt is not in its trial's history, whose retry finished elsewhere.)
    const ranOn = new Set([victim.identity, ...attempts.map((a) => a.identity)]);
    expect([...ranOn].sort()).toEqual(['tw1', 'tw2', 'tw3']);
    expect(new Set(attempts.map((a) => a.identity)).size).toBeGreaterThanOrEqual(2);
    const retried = await trainingAttempt(world, victim.workflowId);
    expect(retried.attempt).toBeGreaterThan(1);
    expect(retried.identity).not.toBe(victim.identity);
    // ... and resumed from the checkpoint the server held when the worker died: not from epoch 0,
    // nor from where its rung began.
    const resumed = (await world.client.workflow.getHandle(victim.workflowId).result()) as TrainedModel;
    console.log(
      `killed ${victim.identity} with epoch ${victim.checkpoint.epoch} of ${victim.checkpoint.epochs} on the server; ` +
        `the retry on ${retried.identity} resumed after epoch ${resumed.resumedFromEpoch}`,
    );
    expect(resumed.resumedFromEpoch).toBeGreaterThanOrEqual(victim.checkpoint.epoch);
    expect(resumed.resumedFromEpoch).toBeGreaterThan(victim.rungStartEpoch);
    expect(resumed.resumedFromEpoch).toBeLessThan(victim.checkpoint.epochs);
    expect(resumed.history.map((e) => e.epoch)).toEqual(
      Array.from({ length: victim.checkpoint.epochs }, (_, i) => i + 1),
    );

    // The console shows the search as status does (application/searches.ts): every child workflow
    // with the worker that trained it, the victim's retry as such, and the winner.
    const consoleApp = createConsoleApp({ config: world.config, client: world.client }, () => undefined);
    const list = await consoleApp.request('/searches');
    expect(await list.text()).toContain(`href="/searches/${handle.workflowId}"`);
    const page = await (await consoleApp.request(`/searches/${handle.workflowId}`)).text();
    expect(page).toContain(`data-winner="${best?.trial}"`);
    for (const id of trials.flatMap((t) => t.workflowIds)) expect(page).toContain(`data-child="${id}"`);
    expect(page).toContain(
      `data-child="${victim.workflowId}"><code>${victim.workflowId}</code> on <strong data-worker>${retried.identity}</strong> <span class="muted">(attempt ${retried.attempt})</span>`,
    );

    // One version, trained with the best trial's settings, whose record lists every trial.
    const registry = new ModelRegistry(openArtifactStore(world.config));
    const v1 = await registry.getVersion('tuned-fraud', 1);
    expect(await registry.listVersions('tuned-fraud')).toHaveLength(1);
    expect(v1.tuning).toMatchObject({
      method: 'halving',
      trials: 12,
      completed: 1,
      stopped: 11,
      failed: 0,
      bestTrial: best?.trial,
    });
    expect(v1.training?.modelSpec.learningRate).toBe(best?.settings['spec.learningRate']);
    expect(v1.artifacts.tuning?.sha256).toBe(result.tune.record.sha256);
    const record = JSON.parse(
      (await openArtifactStore(world.config).getBytes(v1.artifacts.tuning as ArtifactRef)).toString('utf8'),
    );
    expect(record.trials.map((t: { workflowIds: string[] }) => t.workflowIds.length).sort()).toEqual([
      1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3,
    ]);
  });
});

/** The search the CLI started (the only tune workflow on this world's queue). */
async function searchHandle(world: PipelineWorld): Promise<WorkflowHandle> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for await (const wf of world.client.workflow.list({
      query: `WorkflowType = 'tuneToDeploy' AND TaskQueue = '${world.config.taskQueue}'`,
    })) {
      return world.client.workflow.getHandle(wf.workflowId);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the search did not start');
}

/**
 * A trial whose training has a checkpoint on the server (its heartbeat details) with epochs still
 * to go: its child workflow, the worker training it, that checkpoint's epoch, and the epoch its
 * rung started from (the halving rung before's, or 0).
 */
async function trainingWorkerWithACheckpoint(world: PipelineWorld, handle: WorkflowHandle) {
  const deadline = Date.now() + 200_000;
  let seen = 'nothing yet';
  while (Date.now() < deadline) {
    const progress = (await handle.query('progress').catch(() => undefined)) as PipelineProgress | undefined;
    seen = `rung ${(progress?.tune?.rung ?? -1) + 1}, trials running: ${progress?.tune?.trials
      .filter((t) => t.status === 'running')
      .map((t) => t.trial)
      .join(', ')}`;
    if (progress?.tune?.best !== undefined) break; // the search is past training: too late
    const running = (progress?.tune?.trials ?? []).filter((t) => t.status === 'running');
    for (const trial of running) {
      const workflowId = trial.workflowIds[trial.workflowIds.length - 1] as string;
      const description = await world.client.workflow
        .getHandle(workflowId)
        .describe()
        .catch(() => undefined);
      const training = description?.raw.pendingActivities?.find((a) => a.activityType?.name === 'trainModel');
      const payload = training?.heartbeatDetails?.payloads?.[0];
      const checkpoint = payload
        ? defaultPayloadConverter.fromPayload<TrainingHeartbeat | undefined>(payload)
        : undefined;
      if (training?.lastWorkerIdentity && checkpoint && checkpoint.epoch < checkpoint.epochs) {
        return {
          workflowId,
          identity: training.lastWorkerIdentity,
          checkpoint,
          rungStartEpoch: trial.epochsRun,
        };
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no trial had a checkpoint on the server while it still trained (last seen: ${seen})`);
}
