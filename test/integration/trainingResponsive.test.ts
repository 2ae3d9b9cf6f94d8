import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressQuery } from '../../contracts/messages';
import { backendNames } from '../../domain/ml/backend';
import { type ModelSpec, referenceModelSpec } from '../../domain/ml/modelSpec';
import { runningTrainingThreads } from '../../domain/ml/trainInThread';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

const EPOCHS = 30;
/** Longest a progress query may take while training runs (the bar for `slipway status`). */
const QUERY_BUDGET_MS = 2_000;

/**
 * Training runs in the same process as the workflow worker (as `slipway worker` and the
 * background worker run both queues), on plain WASM so that each epoch takes seconds. Were
 * training on the worker's event loop, every query would wait for the epoch in progress and the
 * loop would stall for whole epochs; here it runs in a thread and neither happens.
 */
describe('a worker that trains stays responsive', () => {
  let world: PipelineWorld;

  beforeAll(async () => {
    world = await startPipelineWorld('responsive-it', { env: { SLIPWAY_TF_BACKEND: 'wasm' } });
  });

  afterAll(() => world?.close());

  it('answers every progress query within 2 s while the epoch curve advances', {
    timeout: 600_000,
  }, async () => {
    await watchTraining(world, {
      source: 'synthetic:fraud?rows=40000&seed=7',
      // Narrower than the reference network: a few seconds per epoch on WASM, not half a minute.
      spec: {
        ...referenceModelSpec,
        layers: referenceModelSpec.layers.map((l) =>
          l.type === 'dense' && l.units > 1 ? { ...l, units: 64 } : l,
        ),
        epochs: EPOCHS,
      },
    });
  });

  it('reports bad input from the training thread as the same non-retryable failure', {
    timeout: 300_000,
  }, async () => {
    const bad = await startPipelineWorld('badbackend-it', { env: { SLIPWAY_TF_BACKEND: 'abacus' } });
    try {
      const handle = await bad.client.workflow.start('trainToDeploy', {
        taskQueue: bad.config.taskQueue,
        workflowId: `bad-backend-${randomUUID()}`,
        args: [
          {
            source: 'synthetic:fraud?rows=2000&seed=3',
            modelName: 'fraud-bad-backend',
            spec: { ...referenceModelSpec, epochs: 1 },
            trainingTaskQueue: bad.config.trainingTaskQueue,
            cache: false,
          },
        ],
      });
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const activity = (err as WorkflowFailedError).cause as ActivityFailure;
      expect(activity).toBeInstanceOf(ActivityFailure);
      expect(activity.activityType).toBe('trainModel');
      const cause = activity.cause as ApplicationFailure;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause.type).toBe('BackendUnavailable');
      expect(cause.nonRetryable).toBe(true);
      expect(cause.message).toBe(`Unknown backend "abacus": use one of ${backendNames.join(', ')}.`);
      expect(await trainingAttempts(handle)).toEqual([1]);
    } finally {
      await bad.close();
    }
  });
});

/**
 * The native trainer on both cores (SLIPWAY_TRAINER_THREADS=2: two busy training threads on a
 * 2-core machine) at the reference network's full width: the worker's event loop still gets its
 * turn, so queries and `slipway status` answer in time.
 */
describe('a worker that trains on the native trainer, on every core, stays responsive', () => {
  let world: PipelineWorld;

  beforeAll(async () => {
    world = await startPipelineWorld('responsive-native-it', {
      env: { SLIPWAY_TF_BACKEND: 'native', SLIPWAY_TRAINER_THREADS: '2' },
    });
  });

  afterAll(() => world?.close());

  it('answers every progress query within 2 s while the epoch curve advances', {
    timeout: 600_000,
  }, async () => {
    // About a second per epoch at native speed; the run is stopped once the curve has advanced.
    await watchTraining(world, {
      source: 'synthetic:fraud?rows=150000&seed=7',
      spec: { ...referenceModelSpec, epochs: 200 },
    });
  });
});

/**
 * Starts a training run on `world`'s worker, waits for the train step, then queries progress every
 * 250 ms until the epoch curve has advanced twice and `slipway status` has answered: every query
 * must answer within QUERY_BUDGET_MS and the worker's event loop must never stall for an epoch.
 */
async function watchTraining(world: PipelineWorld, run: { source: string; spec: ModelSpec }): Promise<void> {
  const { client, config } = world;
  const epochs = run.spec.epochs;
  const workflowId = `responsive-${randomUUID()}`;
  const handle = await client.workflow.start('trainToDeploy', {
    taskQueue: config.taskQueue,
    workflowId,
    args: [
      {
        source: run.source,
        modelName: 'fraud-responsive',
        spec: run.spec,
        trainingTaskQueue: config.trainingTaskQueue,
        // Shorter than an epoch: a worker whose event loop training blocks would miss it.
        trainingHeartbeatTimeoutSeconds: 6,
        cache: false,
      },
    ],
  });
  try {
    await until(async () => (await boundedQuery(handle)).current === 'train', 300_000);

    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const latencies: number[] = [];
    /** Epochs reported so far, as seen by each query made while training ran. */
    const curve: number[] = [];
    let epochSeconds: number[] = [];
    let cli: Promise<{ stdout: string; ms: number; epochs: number }> | undefined;
    let cliDone = false;
    let cliMs = Number.NaN;
    // Watch until the curve has advanced twice and the CLI has answered, or give up (and fail below).
    const watchUntil = Date.now() + 300_000;
    while (!(cliDone && new Set(curve).size >= 3) && Date.now() < watchUntil) {
      const started = performance.now();
      const progress = await boundedQuery(handle).catch(() => undefined);
      latencies.push(performance.now() - started);
      if (!progress) continue; // counted as a query that took its whole bound
      expect(progress.current).toBe('train');
      const seen = progress.training.epochs.length;
      curve.push(seen);
      epochSeconds = progress.training.epochs.map((e) => e.seconds);
      // The CLI's path (a separate process querying the same workflow), once the first epoch is in.
      if (!cli && seen >= 1) {
        cli = statusFromCli(world, workflowId, seen, epochs);
        cli.then(
          (shown) => {
            cliDone = true;
            cliMs = shown.ms;
          },
          () => {
            cliDone = true; // its error is thrown where it is awaited below
          },
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    loop.disable();

    const sorted = [...latencies].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    const max = sorted.at(-1) as number;
    console.log(
      `progress queries during training: ${latencies.length}, median ${median.toFixed(0)} ms, max ${max.toFixed(0)} ms; ` +
        `event loop delay max ${(loop.max / 1e6).toFixed(0)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms; ` +
        `epochs seen ${[...new Set(curve)].join(',')} (${epochSeconds.map((t) => t.toFixed(1)).join(', ')} s each); slipway status took ${cliMs.toFixed(0)} ms`,
    );
    expect(max).toBeLessThan(QUERY_BUDGET_MS);
    if (!cli) throw new Error('no epoch was reported while we watched');
    const shown = await cli;
    // An epoch takes seconds; a loop that stalled for one would show it here.
    expect(loop.max / 1e6).toBeLessThan(1_000);
    // The curve advanced while we watched, one epoch at a time, and training is still going.
    expect(new Set(curve).size).toBeGreaterThanOrEqual(3);
    expect(curve).toEqual([...curve].sort((a, b) => a - b));
    expect(curve.at(-1)).toBeLessThan(epochs);
    // `slipway status` showed the epoch reached when it ran, not a bare RUNNING.
    expect(shown.stdout).toContain(`${workflowId}: RUNNING, running train`);
    expect(shown.epochs).toBeGreaterThanOrEqual(1);
    expect(shown.epochs).toBeLessThan(epochs);
    // Heartbeats kept flowing: the first attempt never timed out.
    const activity = (await handle.describe()).raw.pendingActivities?.find(
      (a) => a.activityType?.name === 'trainModel',
    );
    expect(activity?.attempt).toBe(1);

    // A run stopped mid-training cancels the activity at its next heartbeat, which ends the thread.
    await handle.terminate('responsiveness test done');
    await until(async () => runningTrainingThreads() === 0, 60_000);
  } finally {
    // Whatever failed above, stop the run rather than leave it training until the worker stops.
    await handle.terminate('responsiveness test over').catch(() => undefined);
  }
}

/** `slipway status <id>` in a child process: its output, how long it took, the epoch it showed. */
async function statusFromCli(world: PipelineWorld, workflowId: string, atLeast: number, epochs: number) {
  const started = performance.now();
  const result = await slipwayAs('responsive-test', world.env, ['status', workflowId]);
  const ms = performance.now() - started;
  if (result.code !== 0) throw new Error(`slipway status failed (${result.code}): ${result.stderr}`);
  const match = /training: epoch (\d+)\/(\d+)/.exec(result.stdout);
  if (!match) throw new Error(`slipway status showed no epoch:\n${result.stdout}`);
  expect(Number(match[2])).toBe(epochs);
  expect(Number(match[1])).toBeGreaterThanOrEqual(atLeast);
  return { stdout: result.stdout, ms, epochs: Number(match[1]) };
}

/** The progress query, bounded: a worker that cannot answer must fail the test, not hang it. */
function boundedQuery(handle: WorkflowHandle) {
  return Promise.race([
    handle.query(progressQuery),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the progress query got no answer in 20 s')), 20_000),
    ),
  ]);
}

/** The attempts of trainModel that started, as the history records them. */
async function trainingAttempts(handle: WorkflowHandle): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel',
  );
  return events
    .filter(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled?.eventId),
    )
    .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
