import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../cli/errors';
import { loadConfig } from '../../config/env';
import type { TrainToDeployInput } from '../../contracts/inputs';
import { progressQuery } from '../../contracts/messages';
import { approveUpdate } from '../../contracts/review';
import { syntheticCsvStream } from '../../domain/data/sourceStream';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import type { SlipwayWorkers } from '../../worker/worker';
import { createWorkers } from '../../worker/worker';
import { type BadInputCase, type BadInputContext, badInputCases } from '../support/badInputCases';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

const EventType = temporal.api.enums.v1.EventType;
const MODEL = 'bad-input-base';
const FIXTURES = resolve(__dirname, '../fixtures/csv/bad');

/**
 * Issue 9's bad-input matrix on the real services: each row of test/support/badInputCases.ts is
 * handed to Slipway the way a person would (the CLI in a child process, or a workflow started
 * with the Temporal client), and must be refused with a message that names the problem and the
 * fix, without a retry loop, leaving the artifact store (registry, aliases, audit log, artifacts)
 * exactly as it was.
 */
describe('bad input matrix', () => {
  let world: PipelineWorld;
  let store: ArtifactStore;
  const extraWorkers: Array<{ workers: SlipwayWorkers; running: Promise<void> }> = [];
  let ctx: BadInputContext;
  let waiting: WorkflowHandle;
  const timings: Array<{ id: string; seconds: number }> = [];

  beforeAll(async () => {
    world = await startPipelineWorld('bad-input');
    store = openArtifactStore(world.config);
    const { client, config } = world;
    // Workers of their own for the rows about a worker's settings: a tiny size limit, a wrong secret.
    const extraQueue = async (name: string, settings: Record<string, string>) => {
      const queue = `${config.taskQueue}-${name}`;
      const extra = loadConfig({ ...world.env, ...settings, SLIPWAY_TASK_QUEUE: queue });
      const workers = await createWorkers(extra, { identity: `bad-input-${name}`, queues: ['main'] });
      extraWorkers.push({ workers, running: workers.run() });
      return queue;
    };
    const queues = {
      smallLimit: await extraQueue('small-limit', { SLIPWAY_MAX_SOURCE_BYTES: '64' }),
      wrongSecret: await extraQueue('wrong-secret', { SLIPWAY_S3_SECRET_KEY: 'wrong-secret-f00dfeed' }),
    };

    // A production version to score with, and reviews in each state the approval rows need.
    const base: TrainToDeployInput = {
      source: 'synthetic:fraud?rows=4000&seed=3',
      modelName: MODEL,
      // Two epochs: one leaves this tiny model no better than a trivial scorer, which the default
      // gate (rightly) does not promote.
      spec: { ...referenceModelSpec, epochs: 2 },
      createdBy: 'carol',
      trainingTaskQueue: config.trainingTaskQueue,
    };
    const start = (input: TrainToDeployInput) =>
      client.workflow.start('trainToDeploy', {
        taskQueue: config.taskQueue,
        workflowId: `bad-input-${randomUUID()}`,
        args: [input],
      });
    await (await start(base)).result();
    const reviewed = (timeoutSeconds: number): TrainToDeployInput => ({
      ...base,
      gate: { review: { required: true, approvers: ['alice', 'bob', 'carol'], timeoutSeconds } },
    });
    waiting = await start(reviewed(900));
    const decided = await start(reviewed(900));
    const timedOut = await start(reviewed(1));
    await Promise.all([waitForReview(waiting), waitForReview(decided)]);
    await decided.executeUpdate(approveUpdate, { args: [{ approver: 'alice', reason: 'looks right' }] });
    await Promise.all([decided.result(), timedOut.result()]);

    const dir = join(world.dir, 'inputs');
    await mkdir(dir, { recursive: true });
    const scoringCsv = join(dir, 'to-score.csv');
    await pipeline(syntheticCsvStream(20, 11), createWriteStream(scoringCsv));
    const registry = new ModelRegistry(store);
    const onnxFile = join(dir, 'model.onnx');
    await writeFile(onnxFile, await store.getBytes((await registry.getVersion(MODEL, 1)).artifacts.onnx));
    ctx = {
      dir,
      fixture: (name) => join(FIXTURES, name),
      async write(name, text) {
        const path = join(dir, name);
        await writeFile(path, text);
        return path;
      },
      missing: (name) => join(dir, 'absent', name),
      model: MODEL,
      scoringCsv,
      onnxFile,
      runs: { waiting: waiting.workflowId, decided: decided.workflowId, timedOut: timedOut.workflowId },
      s3: {
        endpoint: world.env.SLIPWAY_S3_ENDPOINT as string,
        bucket: world.env.SLIPWAY_ARTIFACTS as string,
      },
      queues,
    };
  }, 600_000);

  afterAll(async () => {
    await waiting?.terminate('bad-input test finished').catch(() => undefined);
    for (const extra of extraWorkers) extra.workers.shutdown();
    await Promise.all(extraWorkers.map((extra) => extra.running));
    await world?.close();
    if (timings.length > 0) {
      const slowest = [...timings].sort((a, b) => b.seconds - a.seconds).slice(0, 3);
      console.log(
        `bad input: ${timings.length} cases, ${timings.reduce((s, t) => s + t.seconds, 0).toFixed(1)} s in all; ` +
          `slowest ${slowest.map((t) => `${t.id} ${t.seconds.toFixed(1)} s`).join(', ')}`,
      );
    }
  });

  async function waitForReview(handle: WorkflowHandle) {
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.review) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Every object in the world's store with its size and the sha256 of its content (registry,
   * aliases, audit, lineage, artifacts): an object rewritten with other bytes of the same size
   * counts as changed.
   */
  async function storeState(): Promise<string[]> {
    const objects = await store.list('');
    return Promise.all(
      objects.map(async (o) => {
        const bytes = (await store.getDocument(o.key)) ?? Buffer.alloc(0);
        return `${o.key} ${o.bytes} ${createHash('sha256').update(bytes).digest('hex')}`;
      }),
    );
  }

  /**
   * Objects added, removed or changed, except what lineage keeps on purpose about a failed step:
   * the execution record (outcome "failed", no outputs linked) and the context of its run
   * (lineage/runs/<R>.json, R the prefix of that execution's ID), nothing else.
   */
  async function unexpectedChanges(before: string[], after: string[]): Promise<string[]> {
    const unexpected = before.filter((o) => !after.includes(o)).map((o) => `removed or changed: ${o}`);
    const keyOf = (object: string) => object.split(' ')[0] as string;
    const added = after.filter((o) => !before.includes(o)).map(keyOf);
    const failedRuns = new Set<string>();
    for (const key of added.filter((k) => k.startsWith('lineage/executions/'))) {
      const execution = JSON.parse(String(await store.getDocument(key)));
      if (execution.outcome === 'failed')
        failedRuns.add(key.slice('lineage/executions/'.length).split('.')[0] as string);
      else unexpected.push(`added: ${key} (outcome ${execution.outcome})`);
    }
    for (const key of added) {
      if (key.startsWith('lineage/executions/')) continue;
      const run = /^lineage\/runs\/([^/.]+)\.json$/.exec(key)?.[1];
      if (run !== undefined && failedRuns.has(run)) continue;
      unexpected.push(`added: ${key}`);
    }
    return unexpected;
  }

  /** The message a person sees, and whether the command or workflow succeeded. */
  async function runCase(c: BadInputCase): Promise<{ ok: boolean; message: string }> {
    if (c.run.kind === 'cli') {
      const env = { ...world.env, ...c.run.env?.(ctx) };
      const out = await slipwayAs(c.run.user ?? 'dana', env, await c.run.args(ctx));
      return { ok: out.code === 0, message: out.code === 0 ? out.stdout : out.stderr };
    }
    const handle = await world.client.workflow.start(c.run.workflowType, {
      taskQueue: world.config.taskQueue,
      workflowId: `bad-input-${c.id}-${randomUUID()}`,
      args: [c.run.input(ctx)],
    });
    return handle.result().then(
      () => ({ ok: true, message: '' }),
      (err: unknown) => ({ ok: false, message: describeError(err) }),
    );
  }

  /** Workflows this world's queues started at or after `since`. */
  async function workflowsSince(since: Date) {
    const queues = [world.config.taskQueue, ...Object.values(ctx.queues)]
      .map((q) => `TaskQueue = '${q}'`)
      .join(' OR ');
    const found = [];
    for await (const wf of world.client.workflow.list({
      query: `(${queues}) AND StartTime >= '${since.toISOString()}'`,
    }))
      found.push(wf);
    return found;
  }

  /** The failing activity ran once (attempt 1, scheduled once) and nothing was retried. */
  async function expectFailedFast(c: BadInputCase, since: Date) {
    const reaches = c.reaches as { workflow: string; activity?: string };
    let runs = await workflowsSince(since);
    for (let i = 0; i < 100 && !runs.some((r) => r.type === reaches.workflow && r.closeTime); i++) {
      await new Promise((r) => setTimeout(r, 150));
      runs = await workflowsSince(since);
    }
    const mine = runs.filter((r) => r.type === reaches.workflow);
    expect(mine, `${c.id}: one ${reaches.workflow} run`).toHaveLength(1);
    const run = mine[0] as (typeof mine)[number];
    expect(run.status.name).toBe('FAILED');
    const history = await world.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map<number, string>();
    const started: Array<{ activity: string; attempt: number }> = [];
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        scheduled.set(Number(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const a = e.activityTaskStartedEventAttributes;
        started.push({
          activity: scheduled.get(Number(a?.scheduledEventId)) ?? '',
          attempt: a?.attempt ?? 0,
        });
      }
    }
    expect(
      started.filter((s) => s.attempt !== 1),
      `${c.id}: no activity retried`,
    ).toEqual([]);
    if (reaches.activity) {
      const failed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
      expect(failed, `${c.id}: one failed activity`).toHaveLength(1);
      const failedActivity = scheduled.get(
        Number(failed[0]?.activityTaskFailedEventAttributes?.scheduledEventId),
      );
      expect(failedActivity).toBe(reaches.activity);
      expect(started.filter((s) => s.activity === reaches.activity)).toHaveLength(1);
      expect(
        failed[0]?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.nonRetryable,
      ).toBe(true);
    } else {
      expect(started, `${c.id}: refused before any activity`).toEqual([]);
    }
  }

  it('has at least 25 cases with unique ids, covering every area', () => {
    expect(badInputCases.length).toBeGreaterThanOrEqual(25);
    expect(new Set(badInputCases.map((c) => c.id)).size).toBe(badInputCases.length);
    const areas = new Set(badInputCases.map((c) => c.area));
    for (const area of [
      'CSV file',
      'configuration',
      'CLI arguments',
      'workflow input',
      'approval',
      'apply input',
    ])
      expect(areas).toContain(area);
  });

  for (const c of badInputCases) {
    it(`${c.id}: ${c.input}`, { timeout: 120_000 }, async () => {
      const before = await storeState();
      // Visibility's StartTime is the server's clock (the same machine); a little slack for rounding.
      const since = new Date(Date.now() - 5);
      const began = performance.now();
      const { ok, message } = await runCase(c);
      const seconds = (performance.now() - began) / 1000;
      timings.push({ id: c.id, seconds });

      // 1. The message names the problem (and where) and says what to do.
      expect(ok, message).toBe(c.outcome === 'warned');
      for (const fragment of [...c.problem, c.hint]) expect(message).toContain(fragment);
      // Credentials are never part of an answer, right or wrong.
      expect(message).not.toContain(world.env.SLIPWAY_S3_SECRET_KEY);
      expect(message).not.toContain('wrong-secret-f00dfeed');

      if (c.outcome === 'warned') return;
      // 2. No retry loop: refused where it entered, or by one attempt of one activity; and no hang
      // (the slowest row waits out the Temporal client's connection deadline, about 10 s).
      expect(seconds).toBeLessThan(40);
      if (c.reaches) await expectFailedFast(c, since);
      else expect((await workflowsSince(since)).map((r) => r.type)).toEqual([]);
      // 3. No partial state: the store is as it was, and no half-written output file is left.
      expect(await unexpectedChanges(before, await storeState())).toEqual([]);
      if (c.run.kind === 'cli' && c.run.output) expect(existsSync(c.run.output(ctx))).toBe(false);
    });
  }
});
