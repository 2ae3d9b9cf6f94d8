import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftOfVersion } from '../../application/drift';
import { openWorkspace } from '../../application/workspace';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import type { ScheduledRetrainResult } from '../../workflows/scheduledRetrain';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { slipwayAs } from '../support/cli';
import { smallNetworkSpec } from '../support/modelSpecs';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Issue 23's drift story on the real stack: a version trained by the pipeline (Temporal, MinIO),
 * then `slipway drift` against new data: one feature shifted by one standard deviation is the one
 * feature flagged; unshifted data from another seed flags none.
 */
describe('slipway drift against the data a version was trained on', () => {
  let world: PipelineWorld;
  const model = 'fraud-drift';
  const PASSING = { metric: { thresholds: { maxFpr: 1 }, champion: { maxRegression: 1 } } };
  let trained: PipelineResult;
  // The installation's webhook (SLIPWAY_WEBHOOK_URL): every event of this world is told to it.
  const hookSecret = randomBytes(16).toString('hex');
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(hookSecret, { failures: 0 });
    world = await startPipelineWorld('drift-it', {
      env: {
        SLIPWAY_WEBHOOK_URL: receiver.url('/hook'),
        SLIPWAY_WEBHOOK_SECRET: hookSecret,
        SLIPWAY_WEBHOOK_RETRY_SECONDS: '0.2',
      },
    });
    trained = await world.client.workflow.execute('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `drift-${randomUUID()}`,
      args: [
        {
          source: 'synthetic:fraud?rows=6000&seed=7',
          modelName: model,
          spec: smallNetworkSpec(16, { epochs: 1, batchSize: 512, seed: 1 }),
          createdBy: 'carol',
          trainingTaskQueue: world.config.trainingTaskQueue,
          // The tiny network would not pass the default baseline; promoted, it is what production scores.
          gate: PASSING,
        },
      ],
    });
    expect(trained.outcome).toBe('promoted');
  }, 600_000);

  afterAll(async () => {
    await world?.close();
    await receiver?.close();
  });

  /** A CSV of synthetic fraud rows (Class included: drift ignores columns the model does not use). */
  async function csv(name: string, seed: number, shift?: { column: string; by: number }): Promise<string> {
    const at = shift ? SYNTHETIC_FRAUD_COLUMNS.indexOf(shift.column) : -1;
    const lines = [SYNTHETIC_FRAUD_COLUMNS.join(',')];
    for (const row of syntheticFraudRows({ rows: 4000, seed })) {
      lines.push(row.map((v, j) => (j === at ? v + (shift?.by ?? 0) : v)).join(','));
    }
    const path = join(world.dir, name);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  }

  it('flags exactly the shifted feature, through the application layer and the CLI', {
    timeout: 300_000,
  }, async () => {
    const ws = openWorkspace(world.config);
    const version = `${model}@${trained.version}`;
    // The standard deviation recorded in the version's own training summary.
    const summary = JSON.parse((await ws.store.getBytes(trained.dataset.summary)).toString('utf8'));
    const v5 = summary.columns.find((c: { name: string }) => c.name === 'V5');
    expect(v5.std).toBeGreaterThan(0.5);
    expect(v5.profile.quantiles).toHaveLength(9);
    // The version's evaluation report shows the training data's statistics.
    const metadata = await ws.registry.getVersion(model, trained.version);
    expect(metadata.artifacts.report).toBeDefined();
    const reportRef = metadata.artifacts.report ?? metadata.artifacts.onnx;
    const evaluationReport = (await ws.store.getBytes(reportRef)).toString('utf8');
    expect(evaluationReport).toContain('data-section="dataset"');
    expect(evaluationReport).toContain('data-chart="hist-V5"');

    const shifted = await csv('shifted.csv', 21, { column: 'V5', by: v5.std });
    const unshifted = await csv('unshifted.csv', 22);

    const flagged = await driftOfVersion(ws, version, shifted);
    expect(flagged.drift.drifted).toEqual(['V5']);
    expect(flagged.drift.referenceRows).toBe(6000);
    expect(flagged.drift.currentRows).toBe(4000);
    expect((await driftOfVersion(ws, version, unshifted)).drift.drifted).toEqual([]);

    const report = join(world.dir, 'drift.html');
    const cli = await slipwayAs('carol', world.env, [
      'drift',
      version,
      '--input',
      shifted,
      '--report',
      report,
      '--json',
    ]);
    expect(cli.code, cli.stderr).toBe(3);
    const json = JSON.parse(cli.stdout);
    expect(json.drift.drifted).toEqual(['V5']);
    expect(json.drift.features.find((f: { feature: string }) => f.feature === 'V5').psi).toBeGreaterThan(
      0.25,
    );
    const html = await readFile(report, 'utf8');
    expect(html).toContain('data-chart="drift-V5"');
    expect(html).toContain('1 feature drifted: V5.');
    expect(html).not.toMatch(/NaN/);

    const calm = await slipwayAs('carol', world.env, [
      'drift',
      version,
      '--input',
      unshifted,
      '--report',
      report,
    ]);
    expect(calm.code, calm.stderr).toBe(0);
    expect(calm.stdout).toContain('No feature drifted.');
    expect(calm.stdout).toMatch(/^V\d+|^Time|^Amount/m);
  });

  it('names the missing feature of a file that lacks one', { timeout: 120_000 }, async () => {
    const path = join(world.dir, 'no-amount.csv');
    await writeFile(path, 'Time,V1\n1,2\n');
    const cli = await slipwayAs('carol', world.env, [
      'drift',
      `${model}@${trained.version}`,
      '--input',
      path,
    ]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/lacks the model's features V2, .*Amount/);
  });

  it('apply --monitor on three batches, the third shifted: slipway monitor shows the third as drifted', {
    timeout: 300_000,
  }, async () => {
    const version = `${model}@${trained.version}`;
    const empty = await slipwayAs('carol', world.env, ['monitor', version]);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(/no monitored batches yet/);
    const ws = openWorkspace(world.config);
    const summary = JSON.parse((await ws.store.getBytes(trained.dataset.summary)).toString('utf8'));
    const v5 = summary.columns.find((c: { name: string }) => c.name === 'V5');
    const batches = [
      await csv('batch-1.csv', 31),
      await csv('batch-2.csv', 32),
      await csv('batch-3.csv', 33, { column: 'V5', by: v5.std }),
    ];
    for (const [i, input] of batches.entries()) {
      const output = join(world.dir, `scored-${i + 1}.csv`);
      const applied = await slipwayAs('carol', world.env, [
        'apply',
        version,
        '--input',
        input,
        '--output',
        output,
        '--monitor',
        '--json',
      ]);
      expect(applied.code, applied.stderr).toBe(0);
      expect(JSON.parse(applied.stdout).monitored.drifted).toEqual(i === 2 ? ['V5'] : []);
    }
    const monitor = await slipwayAs('carol', world.env, ['monitor', version, '--json']);
    expect(monitor.code, monitor.stderr).toBe(3);
    const history = JSON.parse(monitor.stdout);
    expect(history.batches.map((b: { drifted: string[] }) => b.drifted)).toEqual([[], [], ['V5']]);
    expect(history.batches.map((b: { input: string }) => b.input)).toEqual(batches);
    for (const b of history.batches) {
      expect(b.rows).toBe(4000);
      expect(b.score.histogram.counts.reduce((x: number, y: number) => x + y, 0)).toBe(4000);
      expect(b.score.mean).toBeGreaterThan(0);
    }
    const table = await slipwayAs('carol', world.env, ['monitor', version]);
    expect(table.stdout).toMatch(/3 monitored batches, 1 drifted/);
    expect(table.stdout).toMatch(/^3 .* V5$/m);
  });

  it('a schedule that retrains on drift retrains after the drifted batch, with the reason in the audit log', {
    timeout: 300_000,
  }, async () => {
    // Runs after the monitor test: production (v1)'s newest monitored batch drifted on V5.
    const retrain = async (source: string) =>
      (await world.client.workflow.execute('scheduledRetrain', {
        taskQueue: world.config.taskQueue,
        workflowId: `drift-schedule-${randomUUID()}`,
        args: [
          {
            scheduleId: 'fraud-drift-nightly',
            retrainOn: 'drift',
            pipeline: {
              source,
              modelName: model,
              spec: smallNetworkSpec(16, { epochs: 1, batchSize: 512, seed: 1 }),
              createdBy: 'schedule:fraud-drift-nightly',
              trainingTaskQueue: world.config.trainingTaskQueue,
              // The metric gate's drift check: fresh data from another seed stays within it.
              gate: { metric: { ...PASSING.metric, drift: { maxPsi: 0.25 } } },
            },
          },
        ],
      })) as ScheduledRetrainResult;
    const first = await retrain(await csv('fresh-1.csv', 41));
    expect(first).toMatchObject({ outcome: 'promoted', version: trained.version + 1 });
    const ws = openWorkspace(world.config);
    const checks = (await ws.registry.getVersion(model, trained.version + 1)).gate?.checks ?? [];
    expect(checks.find((c) => c.check === 'drift')).toMatchObject({ passed: true, limit: 0.25 });
    expect(checks.find((c) => c.check === 'drift')?.message).toMatch(
      /^no feature beyond PSI 0\.25 between champion v1's training data and this version's \(largest: /,
    );
    const records = (await ws.audit.entries({ model })).flatMap((e) => (e.record ? [e.record] : []));
    const drift = records.filter((r) => r.type === 'drift-retrain');
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ version: trained.version, actor: 'schedule:fraud-drift-nightly' });
    expect(drift[0]?.reason).toMatch(
      /fresh-1\.csv: the batch v1 scored at .*batch-3\.csv\) drifted: V5 \(PSI [\d.]+ >= 0\.25/,
    );
    // The new production version has no monitored batch: nothing has drifted, so the next run skips.
    const second = await retrain(await csv('fresh-2.csv', 42));
    expect(second).toMatchObject({ outcome: 'skipped' });
    expect(second.reason).toMatch(/v2 has no monitored batch yet/);
  });

  it("the metric gate blocks a run whose training data drifted from the champion's, naming the feature (slipway run --max-drift-psi)", {
    timeout: 300_000,
  }, async () => {
    // Runs after the schedule test: production is v2, trained on fresh-1.csv (seed 41).
    const ws = openWorkspace(world.config);
    const production = trained.version + 1;
    const summary = JSON.parse((await ws.store.getBytes(trained.dataset.summary)).toString('utf8'));
    const v5 = summary.columns.find((c: { name: string }) => c.name === 'V5');
    const source = await csv('drifted-training.csv', 51, { column: 'V5', by: v5.std });
    const cli = await slipwayAs('carol', world.env, [
      'run',
      '--source',
      source,
      '--model',
      model,
      '--epochs',
      '1',
      '--max-fpr',
      '1',
      '--max-regression',
      '1',
      '--max-drift-psi',
      '0.25',
      '--json',
    ]);
    expect(cli.code, cli.stderr).toBe(3);
    const run = JSON.parse(cli.stdout);
    expect(run.outcome).toBe('blocked');
    const failed = run.gate.checks.filter((c: { passed: boolean }) => !c.passed);
    expect(failed.map((c: { check: string }) => c.check)).toEqual(['drift.V5']);
    expect(failed[0].message).toMatch(
      new RegExp(
        `^V5 drifted between champion v${production}'s training data and this version's: PSI [\\d.]+ > 0\\.25`,
      ),
    );
    expect(failed[0].actual).toBeGreaterThan(0.25);
    expect(await ws.aliases.resolve(model, 'production')).toBe(production);
  });

  it('told the webhook about each drift: the drifted batch, the retrain it started, the gate that blocked', {
    timeout: 120_000,
  }, async () => {
    type Event = { type: string; version: number; details: Record<string, unknown> };
    const drifts = () =>
      [...receiver.accepted.values()].map((a) => a.body as Event).filter((e) => e.type === 'drift.detected');
    for (let i = 0; i < 240 && drifts().length < 3; i++) await new Promise((r) => setTimeout(r, 250));
    const summary = drifts()
      .map(
        (e) =>
          `${e.details.source} v${e.version} ${(e.details.features as string[]).join(',')}${e.details.scheduleId ? ' schedule' : ''}`,
      )
      .sort();
    expect(summary).toEqual(['gate v3 V5', 'monitor v1 V5', 'monitor v1 V5 schedule']);
    const blocked = [...receiver.accepted.values()]
      .map((a) => a.body as Event)
      .filter((e) => e.type === 'version.blocked');
    expect(blocked.map((e) => e.version)).toEqual([3]);
    expect(receiver.requests.every((r) => r.signature === 'valid' && r.status === 200)).toBe(true);
  });
});
