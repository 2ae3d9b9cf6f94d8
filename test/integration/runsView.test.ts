import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../application/runs';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

const BAD_CSV = resolve(__dirname, '../fixtures/csv/bad/text-in-numeric.csv');

/**
 * The runs view (issue 29): every run of a model, whatever its end, newest first, with its
 * duration, the version it registered and its figures; filtered by model and outcome, through the
 * application layer and the CLI.
 */
describe('slipway runs', () => {
  let world: PipelineWorld;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    world = await startPipelineWorld('runs-view');
    const start = (name: string, source: string, model: string) =>
      world.client.workflow.start('trainToDeploy', {
        taskQueue: world.config.taskQueue,
        workflowId: `runs-view-${name}-${randomUUID()}`,
        args: [
          {
            source,
            modelName: model,
            spec: { ...referenceModelSpec, epochs: 1 },
            trainingTaskQueue: world.config.trainingTaskQueue,
            createdBy: 'runs-test',
          },
        ],
      });
    const good = await start('good', 'synthetic:fraud?rows=3000&seed=4', 'runs-a');
    const bad = await start('bad', BAD_CSV, 'runs-a');
    const other = await start('other', 'synthetic:fraud?rows=3000&seed=5', 'runs-b');
    ids.good = good.workflowId;
    ids.bad = bad.workflowId;
    ids.other = other.workflowId;
    await Promise.allSettled([good.result(), bad.result(), other.result()]);
  }, 300_000);
  afterAll(() => world?.close());

  it('lists every run of a model with its outcome, duration, version and figures, or its cause', async () => {
    const runs = await listRuns(world.client, world.config.taskQueue, { model: 'runs-a' });
    expect(runs.map((r) => r.workflowId).sort()).toEqual([ids.good, ids.bad].sort());
    const good = runs.find((r) => r.workflowId === ids.good);
    expect(good?.outcome).toBe('promoted');
    expect(good?.version).toBe(1);
    expect(good?.figures?.prAuc).toBeGreaterThanOrEqual(0);
    expect(good?.seconds).toBeGreaterThan(0);
    const bad = runs.find((r) => r.workflowId === ids.bad);
    expect(bad?.outcome).toBe('failed');
    expect(bad?.failure?.type).toBe('NonNumericValue');
    expect(bad?.failure?.step).toBe('extract');
    // Newest first.
    const started = runs.map((r) => r.startedAt);
    expect([...started].sort().reverse()).toEqual(started);
  });

  it('filters by outcome, and the CLI prints the same runs', async () => {
    const failed = await listRuns(world.client, world.config.taskQueue, {
      model: 'runs-a',
      outcomes: ['failed'],
    });
    expect(failed.map((r) => r.workflowId)).toEqual([ids.bad]);
    const all = await listRuns(world.client, world.config.taskQueue, {});
    expect(all.map((r) => r.workflowId)).toContain(ids.other);

    const out = await slipwayAs('dana', world.env, ['runs', '--model', 'runs-a', '--json']);
    expect(out.code, out.stderr).toBe(0);
    const printed = JSON.parse(out.stdout) as Array<{ workflowId: string; outcome: string }>;
    expect(printed.map((r) => [r.workflowId, r.outcome]).sort()).toEqual(
      [
        [ids.good, 'promoted'],
        [ids.bad, 'failed'],
      ].sort(),
    );
    const refused = await slipwayAs('dana', world.env, ['runs', '--outcome', 'exploded']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--outcome exploded: not an outcome');
  });
});
