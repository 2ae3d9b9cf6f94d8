import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateSettingsInput, TrainToDeployInput } from '../../contracts/inputs';
import { progressQuery } from '../../contracts/messages';
import { rejectUpdate } from '../../contracts/review';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import type { ScheduledRetrainResult } from '../../workflows/scheduledRetrain';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { slipwayAs } from '../support/cli';
import { smallNetworkSpec } from '../support/modelSpecs';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/**
 * Issue 23's validation story on the real stack: a version is promoted; a scheduled retrain on a
 * source whose Amount was rescaled by 100 fails validation naming Amount and the figures (policy
 * fail), waits for a person (review) or goes on with the findings in the metadata (warn); an
 * unchanged source passes.
 */
describe('data validation before training', () => {
  let world: PipelineWorld;
  let registry: ModelRegistry;
  const model = 'fraud-validated';
  // The tiny network trained here would not pass the default baseline; the test is about the data.
  const passing: GateSettingsInput = {
    metric: { thresholds: { maxFpr: 1 }, champion: { maxRegression: 1 } },
  };

  async function csv(name: string, seed: number, amountFactor = 1): Promise<string> {
    const amount = SYNTHETIC_FRAUD_COLUMNS.indexOf('Amount');
    const lines = [SYNTHETIC_FRAUD_COLUMNS.join(',')];
    for (const row of syntheticFraudRows({ rows: 6000, seed })) {
      lines.push(row.map((v, j) => (j === amount ? Math.round(v * amountFactor * 100) / 100 : v)).join(','));
    }
    const path = join(world.dir, name);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  }

  function pipeline(source: string, gate: GateSettingsInput): TrainToDeployInput {
    return {
      source,
      modelName: model,
      spec: smallNetworkSpec(16, { epochs: 1, batchSize: 512, seed: 1 }),
      createdBy: 'carol',
      trainingTaskQueue: world.config.trainingTaskQueue,
      gate,
    };
  }

  const retrain = (source: string, gate: GateSettingsInput) =>
    world.client.workflow.execute('scheduledRetrain', {
      taskQueue: world.config.taskQueue,
      workflowId: `validated-${randomUUID()}`,
      args: [{ scheduleId: 'fraud-nightly', pipeline: pipeline(source, gate) }],
    }) as Promise<ScheduledRetrainResult>;

  beforeAll(async () => {
    world = await startPipelineWorld('validation-it');
    registry = new ModelRegistry(openArtifactStore(world.config));
    const first = (await world.client.workflow.execute('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `validated-${randomUUID()}`,
      args: [pipeline(await csv('champion.csv', 7), passing)],
    })) as PipelineResult;
    expect(first.outcome).toBe('promoted');
    // A first version has nothing to compare with, and says so.
    expect(first.dataValidation).toMatchObject({
      anomalies: [],
      note: expect.stringMatching(/nothing to compare/),
    });
  }, 600_000);

  afterAll(() => world?.close());

  it('fails a scheduled retrain on Amount x 100 naming Amount and the figures; unchanged data passes', {
    timeout: 600_000,
  }, async () => {
    const rescaled = await csv('amount-x100.csv', 8, 100);
    const failure = await retrain(rescaled, { ...passing, data: { onAnomaly: 'fail' } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const chain: string[] = [];
    for (let e = failure as Error | undefined; e; e = e.cause as Error | undefined) chain.push(e.message);
    const message = chain.join(' <- ');
    expect(message).toMatch(
      /Data validation failed: .*amount-x100\.csv against the training data of fraud-validated v1/,
    );
    expect(message).toMatch(
      /\[range\] Amount: at least 1 % of the new rows lie outside the champion's range \[\d/,
    );
    expect(message).toMatch(/\[scale\] Amount: standard deviation [\d.]+ -> [\d.e+]+ \(x\d+/);
    expect(message).not.toMatch(/\bV\d+:|Time:/);
    expect((await registry.latestVersion(model)).version).toBe(1);

    const unchanged = await retrain(await csv('unchanged.csv', 9), {
      ...passing,
      data: { onAnomaly: 'fail' },
    });
    expect(unchanged.version).toBe(2);
    const v2 = await registry.getVersion(model, 2);
    expect(v2.dataValidation).toEqual({ champion: 1, anomalies: [] });
  });

  it('warn records the findings in the metadata; review makes the version wait for a person', {
    timeout: 600_000,
  }, async () => {
    const rescaled = await csv('amount-x100-b.csv', 10, 100);
    const warned = (await world.client.workflow.execute('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `validated-${randomUUID()}`,
      args: [pipeline(rescaled, { ...passing, promote: false })],
    })) as PipelineResult;
    const metadata = await registry.getVersion(model, warned.version);
    expect(metadata.dataValidation?.anomalies.map((a) => [a.check, a.column, a.policy])).toEqual([
      ['range', 'Amount', 'warn'],
      ['scale', 'Amount', 'warn'],
    ]);
    expect(metadata.dataValidation?.anomalies[1]?.figures.ratio).toBeGreaterThan(50);

    const handle = await world.client.workflow.start('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `validated-${randomUUID()}`,
      args: [
        pipeline(rescaled, { ...passing, review: { approvers: ['alice'] }, data: { onAnomaly: 'review' } }),
      ],
    });
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.review) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await handle.executeUpdate(rejectUpdate, {
      args: [{ approver: 'alice', reason: 'Amount is in cents now' }],
    });
    expect(((await handle.result()) as PipelineResult).outcome).toBe('rejected');
  });

  it('refuses --on-anomaly review without approvers, and an unknown policy, before starting anything', {
    timeout: 120_000,
  }, async () => {
    const source = join(world.dir, 'champion.csv');
    const review = await slipwayAs('carol', world.env, [
      'run',
      '--source',
      source,
      '--model',
      model,
      '--on-anomaly',
      'review',
    ]);
    expect(review.code).toBe(2);
    expect(review.stderr).toMatch(/a data anomaly can only wait for review when someone may review/);
    const unknown = await slipwayAs('carol', world.env, [
      'run',
      '--source',
      source,
      '--model',
      model,
      '--on-anomaly',
      'stop',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--on-anomaly "stop" is not a policy: use fail, review, warn/);
  });
});
