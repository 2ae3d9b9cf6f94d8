import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Client, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlipwayConfig } from '../../config/env';
import { syntheticCsvStream } from '../../domain/data/sourceStream';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import type { ScheduledRetrainResult } from '../../workflows/scheduledRetrain';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/** Scheduled retraining on the real dev server: runs, skips on unchanged data, pause, trigger. */
describe('scheduled retraining', () => {
  let world: PipelineWorld;
  let dir: string;
  let config: SlipwayConfig;
  let client: Client;
  const scheduleId = `retrain-it-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    world = await startPipelineWorld('schedule-it', { artifacts: 'file' });
    ({ dir, config, client } = world);
  });

  afterAll(async () => {
    await client?.schedule
      .getHandle(scheduleId)
      .delete()
      .catch(() => {});
    await world?.close();
  });

  const source = () => join(dir, 'transactions.csv');
  const writeSource = (seed: number) => pipeline(syntheticCsvStream(3000, seed), createWriteStream(source()));

  /** The results of the schedule's finished runs, oldest first. */
  async function finished(): Promise<ScheduledRetrainResult[]> {
    const d = await client.schedule.getHandle(scheduleId).describe();
    const out: ScheduledRetrainResult[] = [];
    for (const a of d.info.recentActions) {
      const h = client.workflow.getHandle(
        a.action.workflow.workflowId,
        a.action.workflow.firstExecutionRunId,
      );
      if ((await h.describe()).status.name === 'COMPLETED')
        out.push((await h.result()) as ScheduledRetrainResult);
    }
    return out;
  }
  async function waitFor(count: number, timeoutMs = 180_000): Promise<ScheduledRetrainResult[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const done = await finished();
      if (done.length >= count) return done;
      if (Date.now() > deadline)
        throw new Error(`only ${done.length} of ${count} scheduled runs finished in time`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  it('retrains on new data, skips unchanged data, honours pause and trigger', {
    timeout: 600_000,
  }, async () => {
    await writeSource(1);
    const handle = await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '4s' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'scheduledRetrain',
        taskQueue: config.taskQueue,
        workflowId: `${scheduleId}-run`,
        args: [
          {
            scheduleId,
            pipeline: {
              source: `file://${source()}`,
              modelName: 'fraud-scheduled',
              spec: { ...referenceModelSpec, epochs: 2 },
              trainingTaskQueue: config.trainingTaskQueue,
              createdBy: `schedule:${scheduleId}`,
            },
          },
        ],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });

    // The first run trains and promotes; the next finds the same bytes and skips.
    const first = await waitFor(2);
    expect(first[0]).toMatchObject({ outcome: 'promoted', version: 1 });
    expect(first[1]).toMatchObject({ outcome: 'skipped' });
    expect(first[1]?.reason).toMatch(/unchanged data: version 1 was trained on these bytes/);

    // New bytes: the next run makes a new version.
    await writeSource(2);
    const before = first.length;
    let after = await waitFor(before + 1);
    while (!after.slice(before).some((r) => r.outcome !== 'skipped')) after = await waitFor(after.length + 1);
    expect(after.slice(before).find((r) => r.outcome !== 'skipped')).toMatchObject({ version: 2 });

    // Paused: no runs for longer than two intervals.
    await handle.pause('test');
    await new Promise((r) => setTimeout(r, 2_000)); // a run started just before the pause may finish
    const paused = (await handle.describe()).info.recentActions.length;
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await handle.describe()).info.recentActions.length).toBe(paused);

    // Trigger: exactly one run, at once, even while paused.
    await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    const deadline = Date.now() + 60_000;
    while ((await handle.describe()).info.recentActions.length === paused && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await handle.describe()).info.recentActions.length).toBe(paused + 1);
    const triggered = await waitFor((await finished()).length);
    expect(triggered.at(-1)).toMatchObject({ outcome: 'skipped' }); // the data has not changed since v2
  });
});
