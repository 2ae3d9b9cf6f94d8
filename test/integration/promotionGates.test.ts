import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlipwayConfig } from '../../config/env';
import type { TrainToDeployInput } from '../../contracts/inputs';
import { progressQuery } from '../../contracts/messages';
import { approveUpdate, rejectUpdate } from '../../contracts/review';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import { readReview } from '../../domain/review/records';
import { openArtifactStore } from '../../domain/storage/openStore';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/**
 * Issue 6's story on the real stack: the metric gate, a person's review with its refusals and
 * deadline, promotion to production, and rollback.
 */
describe('promotion gates, review and aliases', () => {
  let world: PipelineWorld;
  let config: SlipwayConfig;
  let client: Client;
  let aliases: ModelAliases;
  let registry: ModelRegistry;
  const model = 'fraud-gated';

  beforeAll(async () => {
    world = await startPipelineWorld('gates-it');
    ({ config, client } = world);
    registry = new ModelRegistry(openArtifactStore(config));
    aliases = new ModelAliases(registry);
  });

  afterAll(() => world?.close());

  const good = { ...referenceModelSpec, epochs: 8 };
  // Same architecture, a learning rate too small to learn anything in one epoch: clearly worse.
  const bad = { ...referenceModelSpec, epochs: 1, learningRate: 1e-7 };
  const review = (extra: object = {}) => ({
    // A deadline well past the test's pace, so a wrong turn fails instead of hanging.
    review: { required: true, approvers: ['alice', 'carol'], timeoutSeconds: 300, ...extra },
  });

  async function start(input: Partial<TrainToDeployInput>): Promise<WorkflowHandle> {
    return client.workflow.start('trainToDeploy', {
      taskQueue: config.taskQueue,
      workflowId: `gates-${randomUUID()}`,
      args: [
        {
          source: 'synthetic:fraud?rows=60000&seed=7',
          modelName: model,
          spec: good,
          createdBy: 'carol',
          trainingTaskQueue: config.trainingTaskQueue,
          ...input,
        },
      ],
    });
  }

  async function waitForReview(handle: WorkflowHandle) {
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.review) return progress.review;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => 'accepted',
      (err: Error) => (err.cause instanceof Error ? err.cause.message : err.message),
    );

  it('promotes an approved version, blocks a worse one, honours rejections and deadlines, and rolls back', {
    timeout: 900_000,
  }, async () => {
    // 1. A first version waits for review; strangers and the starter are refused, a peer approves.
    const first = await start({ gate: review() });
    const pending = await waitForReview(first);
    expect(pending).toMatchObject({ model, version: 1, requestedBy: 'carol', approvers: ['alice', 'carol'] });
    expect(
      await refusal(first.executeUpdate(approveUpdate, { args: [{ approver: 'mallory', reason: 'ok' }] })),
    ).toMatch(/mallory may not review fraud-gated: the allow-list is alice, carol/);
    expect(
      await refusal(first.executeUpdate(approveUpdate, { args: [{ approver: 'carol', reason: 'mine' }] })),
    ).toMatch(/carol started this run, so carol cannot review it/);
    expect(
      await refusal(first.executeUpdate(approveUpdate, { args: [{ approver: 'alice', reason: '' }] })),
    ).toMatch(/Give a reason/);
    const decision = await first.executeUpdate(approveUpdate, {
      args: [{ approver: 'alice', reason: 'recall and FPR look right' }],
    });
    expect(decision).toMatchObject({ decision: 'approved', approver: 'alice' });
    // A second decision is refused, whether the run still waits or has finished.
    expect(
      await refusal(
        first.executeUpdate(rejectUpdate, { args: [{ approver: 'carol', reason: 'changed my mind' }] }),
      ),
    ).not.toBe('accepted');
    const promoted = (await first.result()) as PipelineResult;
    expect(promoted.outcome).toBe('promoted');
    console.log(
      `gates: champion v1 PR-AUC ${promoted.metrics.prAuc.toFixed(3)}, recall ${promoted.metrics.recall.toFixed(3)}`,
    );
    expect(promoted.review?.approver).toBe('alice');
    expect(await aliases.resolve(model, 'production')).toBe(1);
    expect(await readReview(registry, model, 1)).toMatchObject({ decision: 'approved', approver: 'alice' });

    // 2. A worse version is stopped by the metric gate: registered, never reviewed, production stays.
    const worse = (await (await start({ spec: bad, gate: review() })).result()) as PipelineResult;
    expect(worse.outcome).toBe('blocked');
    expect(worse.version).toBe(2);
    expect(worse.gate.blessed).toBe(false);
    expect(worse.gate.champion).toMatchObject({ version: 1, comparable: true });
    // (The default baseline may block it too: it is no better than a trivial scorer.)
    const failed = worse.gate.checks.find((c) => c.check === 'champion.prAuc');
    expect(failed?.passed).toBe(false);
    expect(failed?.message).toMatch(/prAuc .* vs champion v1 .* on the same held-out rows \(worse by/);
    expect(worse.steps.find((s) => s.step === 'review')?.status).toBe('skipped');
    const stored = await registry.getVersion(model, 2);
    expect(stored.gate?.blessed).toBe(false);
    // Its report overlays the champion's curves, scored on the same rows, and shows the failed check.
    const report = (await registry.store.getBytes(worse.report)).toString('utf8');
    expect(report).toContain('data-series="champion v1"');
    expect(report).toContain('Metric gate: <span class="no">blocked</span>');
    expect(await aliases.resolve(model, 'production')).toBe(1);

    // 3. A good version rejected by a person does not move production.
    const third = await start({ gate: review() });
    await waitForReview(third);
    await third.executeUpdate(rejectUpdate, {
      args: [{ approver: 'alice', reason: 'wait for the Q4 data' }],
    });
    const rejected = (await third.result()) as PipelineResult;
    expect(rejected.outcome).toBe('rejected');
    expect(await readReview(registry, model, 3)).toMatchObject({
      decision: 'rejected',
      reason: 'wait for the Q4 data',
    });
    expect(await aliases.resolve(model, 'production')).toBe(1);

    // 4. Nobody answers before the deadline: a rejection with the reason "timed out".
    const silent = await start({ gate: review({ timeoutSeconds: 2 }) });
    const late = (await silent.result()) as PipelineResult;
    expect(late.outcome).toBe('timed-out');
    expect(late.review).toMatchObject({ decision: 'rejected', reason: 'timed out', timedOut: true });
    expect(
      await refusal(silent.executeUpdate(approveUpdate, { args: [{ approver: 'alice', reason: 'sorry' }] })),
    ).not.toBe('accepted');
    expect(await readReview(registry, model, 4)).toMatchObject({ reason: 'timed out', timedOut: true });
    expect(await aliases.resolve(model, 'production')).toBe(1);

    // 5. Without a review a blessed version is promoted at once; rollback restores the one it replaced.
    const auto = (await (await start({})).result()) as PipelineResult;
    expect(auto.outcome).toBe('promoted');
    expect(auto.promotion).toMatchObject({ alias: 'production', version: 5, previous: 1 });
    expect(await aliases.resolve(model, 'production')).toBe(5);
    const back = await aliases.rollback(model, 'production', {
      actor: 'alice',
      reason: 'v5 misbehaves',
      at: new Date().toISOString(),
    });
    expect(back.entry).toMatchObject({ version: 1, previous: 5, action: 'rollback' });
    expect(await aliases.resolve(model, 'production')).toBe(1);
  });
});
