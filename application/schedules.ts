import type { ScheduleDescription, ScheduleOptions } from '@temporalio/client';
import type { ScheduledRetrainInput } from '../contracts/inputs';
import { checkSourceHeader } from '../domain/data/sourceHeader';
import type { DatasetSource } from '../domain/data/sourceUri';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
import { auditChange } from './changes';
import type { ScheduledRetrainResult } from './results';
import { type RunView, runView } from './runs';
import type { TemporalAccess } from './temporal';
import type { Workspace } from './workspace';

/**
 * Retraining on a schedule (Temporal Schedules): each change is made on the server and then
 * recorded in the audit log by an activity, like every other decision about a model.
 */

/** Temporal's client, loaded when first needed (`--help` needs none of it). */
const temporalClient = () => import('@temporalio/client');

export async function recordScheduleChange(
  temporal: TemporalAccess,
  scheduleId: string,
  change: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await auditChange(temporal, {
    type: 'schedule-change',
    actor: temporal.config.identity,
    reason: change,
    at: new Date().toISOString(),
    details: { scheduleId, change, ...details },
  });
}

/**
 * Refuses now, with the message extraction would give, a source whose header lacks the target or a
 * feature: every run of the schedule would fail on it.
 */
export async function checkScheduledSource(
  ws: Workspace,
  request: { source: DatasetSource; target: string; features?: string[] },
): Promise<void> {
  await checkSourceHeader({
    ...request,
    s3: ws.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(ws.config) : undefined,
  });
}

/** Creates a schedule that starts scheduledRetrain with `input`; its runs never overlap. */
export async function createSchedule(
  temporal: TemporalAccess,
  request: {
    scheduleId: string;
    spec: ScheduleOptions['spec'];
    catchupWindowMs?: number;
    paused: boolean;
    note: string;
    input: ScheduledRetrainInput;
    /** What the audit record says about it beyond its ID. */
    details: Record<string, unknown>;
  },
): Promise<void> {
  await temporal.client.schedule.create({
    scheduleId: request.scheduleId,
    spec: request.spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledRetrain',
      taskQueue: temporal.config.taskQueue,
      workflowId: `${request.scheduleId}-run`,
      args: [request.input],
    },
    policies: {
      overlap: (await temporalClient()).ScheduleOverlapPolicy.SKIP,
      catchupWindow: request.catchupWindowMs,
    },
    state: { paused: request.paused, note: request.note },
  });
  await recordScheduleChange(temporal, request.scheduleId, 'created', request.details);
}

export interface ScheduleSummary {
  scheduleId: string;
  paused: boolean;
  next?: string;
  note?: string;
}

export async function listSchedules(temporal: TemporalAccess): Promise<ScheduleSummary[]> {
  const schedules: ScheduleSummary[] = [];
  for await (const s of temporal.client.schedule.list()) {
    schedules.push({
      scheduleId: s.scheduleId,
      paused: s.state.paused,
      next: s.info.nextActionTimes[0]?.toISOString(),
      note: s.state.note,
    });
  }
  return schedules;
}

/** A schedule, the input its runs start with, and how each recent run stands or ended. */
export async function describeSchedule(
  temporal: TemporalAccess,
  scheduleId: string,
): Promise<{
  description: ScheduleDescription;
  input?: ScheduledRetrainInput;
  recent: Array<{ at: string; view: RunView; result?: ScheduledRetrainResult }>;
}> {
  const description = await temporal.client.schedule.getHandle(scheduleId).describe();
  const input = (description.action as { args?: ScheduledRetrainInput[] }).args?.[0];
  const recent = await Promise.all(
    description.info.recentActions.map(async (a) => {
      const view = await runView(
        temporal.client,
        a.action.workflow.workflowId,
        a.action.workflow.firstExecutionRunId,
      );
      return { at: a.takenAt.toISOString(), view, result: view.result as ScheduledRetrainResult | undefined };
    }),
  );
  return { description, input, recent };
}

export type ScheduleChange = 'pause' | 'unpause' | 'trigger' | 'delete';

/** Pauses, unpauses, triggers (once, now) or deletes a schedule; returns the change as recorded. */
export async function changeSchedule(
  temporal: TemporalAccess,
  scheduleId: string,
  change: ScheduleChange,
): Promise<string> {
  const handle = temporal.client.schedule.getHandle(scheduleId);
  const identity = temporal.config.identity;
  if (change === 'pause') await handle.pause(`paused by ${identity}`);
  else if (change === 'unpause') await handle.unpause(`unpaused by ${identity}`);
  else if (change === 'trigger')
    await handle.trigger((await temporalClient()).ScheduleOverlapPolicy.ALLOW_ALL);
  else await handle.delete();
  const recorded = change === 'trigger' ? 'triggered' : `${change}d`;
  await recordScheduleChange(temporal, scheduleId, recorded);
  return recorded;
}
