import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareVersions, type VersionComparison } from '../../application/compare';
import { listRuns } from '../../application/runs';
import { openWorkspace } from '../../application/workspace';
import { importanceSchema } from '../../domain/explain/permutationImportance';
import { upstreamLineage } from '../../domain/lineage/query';
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
  /** The runs-b versions each seed registered (the two runs race for version 1). */
  const versions: { seed42?: number; seed7?: number } = {};

  beforeAll(async () => {
    world = await startPipelineWorld('runs-view');
    const start = (name: string, source: string, model: string, seed?: number) =>
      world.client.workflow.start('trainToDeploy', {
        taskQueue: world.config.taskQueue,
        workflowId: `runs-view-${name}-${randomUUID()}`,
        args: [
          {
            source,
            modelName: model,
            spec: { ...referenceModelSpec, epochs: 1, ...(seed === undefined ? {} : { seed }) },
            trainingTaskQueue: world.config.trainingTaskQueue,
            createdBy: 'runs-test',
          },
        ],
      });
    const good = await start('good', 'synthetic:fraud?rows=3000&seed=4', 'runs-a');
    const bad = await start('bad', BAD_CSV, 'runs-a');
    const other = await start('other', 'synthetic:fraud?rows=3000&seed=5', 'runs-b');
    // A second version of runs-b on the same data, trained from another seed, for `compare`.
    const reseeded = await start('reseeded', 'synthetic:fraud?rows=3000&seed=5', 'runs-b', 7);
    ids.good = good.workflowId;
    ids.bad = bad.workflowId;
    ids.other = other.workflowId;
    ids.reseeded = reseeded.workflowId;
    const [, , o, r] = await Promise.allSettled([
      good.result(),
      bad.result(),
      other.result(),
      reseeded.result(),
    ]);
    if (o.status === 'fulfilled' && r.status === 'fulfilled') {
      versions.seed42 = (o.value as { version: number }).version;
      versions.seed7 = (r.value as { version: number }).version;
    }
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
    expect(all.map((r) => r.workflowId)).toContain(ids.reseeded);

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

  it('compares two versions trained on different seeds: settings, data, metrics as stored, the same rows', async () => {
    const ws = openWorkspace(world.config);
    const [a, b] = [versions.seed42 as number, versions.seed7 as number];
    expect([a, b].sort()).toEqual([1, 2]);
    const refs = [`runs-b@${a}`, `runs-b@${b}`];
    const [v1, v2] = await Promise.all([
      ws.registry.getVersion('runs-b', a),
      ws.registry.getVersion('runs-b', b),
    ]);
    const newer = v1.createdAt > v2.createdAt ? v1 : v2;
    // Issue 29: every evaluated version has its importance, stored, linked in lineage and in its card.
    for (const v of [v1, v2]) {
      const ref = v.artifacts.importance;
      expect(ref?.kind).toBe('importance');
      const importance = importanceSchema.parse(
        JSON.parse((await ws.store.getBytes(ref as NonNullable<typeof ref>)).toString('utf8')),
      );
      expect(importance.features.map((f) => f.feature).sort()).toEqual([...v.features].sort());
      expect(v.importance?.ranking.map((f) => f.feature)).toEqual(importance.features.map((f) => f.feature));
      expect(await ws.registry.getModelCard('runs-b', v.version)).toContain('## Feature importance');
    }
    const lineage = await upstreamLineage(ws.store, 'runs-b', b);
    expect(JSON.stringify(lineage)).toContain(v2.artifacts.importance?.sha256);

    const out = await slipwayAs('dana', world.env, ['compare', ...refs, '--json']);
    expect(out.code, out.stderr).toBe(0);
    const printed = JSON.parse(out.stdout) as VersionComparison;
    // The same as the application layer gives, and each version's figures as stored.
    expect(printed).toEqual(JSON.parse(JSON.stringify(await compareVersions(ws, refs))));
    expect(printed.versions.map((v) => v.metrics)).toEqual([v1.metrics, v2.metrics]);
    for (const m of printed.metrics) {
      const key = m.metric as keyof NonNullable<typeof v1.metrics>;
      expect(m.values).toEqual([v1.metrics?.[key], v2.metrics?.[key]]);
      expect(m.deltaFromFirst[1]).toBeCloseTo(
        (v2.metrics?.[key] as number) - (v1.metrics?.[key] as number),
        12,
      );
    }
    expect(printed.settings.map((d) => d.key)).toContain('training.modelSpec.seed');
    expect(printed.settings.find((d) => d.key === 'training.modelSpec.seed')?.values).toEqual([42, 7]);
    expect(printed.data).toMatchObject({ sameSnapshot: true, sameSchema: true });
    // Both scored on the newer's held-out split; the newer's own figures come back exactly.
    if ('why' in printed.sameRows) throw new Error(printed.sameRows.why);
    expect(printed.sameRows.basis.ref).toBe(`runs-b@${newer.version}`);
    expect(printed.sameRows.basis.rows).toBe(newer.training?.split.testRows);
    const results = printed.sameRows.results;
    expect(results.every((r) => r.comparable)).toBe(true);
    const own = results.find((r) => r.ref === `runs-b@${newer.version}`);
    if (own?.comparable) expect(own.metrics).toEqual(newer.metrics);

    const human = await slipwayAs('dana', world.env, ['compare', ...refs]);
    expect(human.stdout).toContain('training.modelSpec.seed');
    expect(human.stdout).toContain('On the same rows');
    // An unknown version names the ones that exist; one version is a usage error.
    const unknown = await slipwayAs('dana', world.env, ['compare', 'runs-b@1', 'runs-b@9']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/runs-b.*9/);
    const alone = await slipwayAs('dana', world.env, ['compare', 'runs-b@1']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('compare needs two or more versions');
  });
});
