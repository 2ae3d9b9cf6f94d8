import { randomUUID } from 'node:crypto';
import type { GarbageCollectionResult } from '../activities/gc';
import { type GarbageCollectionInput, garbageCollectionInputSchema } from '../contracts/inputs';
import type { collectGarbage } from '../workflows/gc';
import { recordScheduleChange } from './schedules';
import type { TemporalAccess } from './temporal';

/** Temporal's client, loaded when first needed (`--help` needs none of it). */
const temporalClient = () => import('@temporalio/client');

/**
 * `slipway gc`: runs the collectGarbage workflow to its end (a worker decides, records and
 * deletes; see domain/gc/plan.ts for what is kept) and returns what it deleted, or with `dryRun`
 * what it would delete.
 */
export async function collectGarbageNow(
  temporal: TemporalAccess,
  input: GarbageCollectionInput,
): Promise<GarbageCollectionResult> {
  const args = garbageCollectionInputSchema.parse(input);
  return temporal.client.workflow.execute<typeof collectGarbage>('collectGarbage', {
    taskQueue: temporal.config.taskQueue,
    workflowId: `gc-${args.dryRun ? 'dry-' : ''}${randomUUID().slice(0, 8)}`,
    args: [args],
  });
}

/**
 * `slipway gc --every <age>`: a Temporal schedule that runs collectGarbage with these settings
 * (never two at once); it is listed, paused and deleted with `slipway schedule`, and its creation
 * is in the audit log like any schedule change.
 */
export async function scheduleGarbageCollection(
  temporal: TemporalAccess,
  request: { scheduleId: string; everyMs: number; input: GarbageCollectionInput },
): Promise<void> {
  const input = garbageCollectionInputSchema.parse(request.input);
  await temporal.client.schedule.create({
    scheduleId: request.scheduleId,
    spec: { intervals: [{ every: request.everyMs }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'collectGarbage',
      taskQueue: temporal.config.taskQueue,
      workflowId: `${request.scheduleId}-run`,
      args: [input],
    },
    policies: { overlap: (await temporalClient()).ScheduleOverlapPolicy.SKIP },
    state: { note: `retention every ${request.everyMs / 1000}s` },
  });
  await recordScheduleChange(temporal, request.scheduleId, 'created', {
    workflowType: 'collectGarbage',
    everyMs: request.everyMs,
    olderThanMs: input.olderThanMs,
    cacheTtlMs: input.cacheTtlMs,
    keepLast: input.keepLast,
  });
}
