import { proxyActivities } from '@temporalio/workflow';
import type { z } from 'zod';
import type { SlipwayActivities } from '../activities';
import type { GateDecision } from '../activities/gate';
import type { Promotion } from '../activities/promote';
import type { gateSettingsSchema } from '../contracts/inputs';
import type { PipelineProgress, PipelineStep, StepStatus } from '../contracts/progress';
import type { ReviewDecision } from '../contracts/review';
import { modelEvent, type NotificationEvent } from '../domain/notify/events';
import { notify } from './notify';
import { activityRetry } from './retryPolicy';
import type { reviewGate } from './review';

/** The activities of the main task queue, as every pipeline workflow calls them. */
export const light = proxyActivities<SlipwayActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '5 minutes',
  retry: activityRetry,
});

/**
 * The light steps with the run's heartbeat timeout: a run may shorten it (the fault suite does), so
 * a worker that died in one of the steps before the review is noticed sooner than after five minutes.
 */
export function lightStepsFor(params: { stepHeartbeatTimeoutSeconds?: number }): typeof light {
  return params.stepHeartbeatTimeoutSeconds === undefined
    ? light
    : proxyActivities<SlipwayActivities>({
        startToCloseTimeout: '30 minutes',
        heartbeatTimeout: params.stepHeartbeatTimeoutSeconds * 1000,
        retry: activityRetry,
      });
}

/**
 * promoted: the alias now points at this version; blocked: the metric gate said no;
 * rejected / timed-out: the review said no, or nobody answered in time; registered: promotion
 * was not asked for; superseded: the alias moved while this run waited, so it was left alone.
 */
export interface ReleaseOutcome {
  outcome: 'promoted' | 'blocked' | 'rejected' | 'timed-out' | 'registered' | 'superseded';
  review?: ReviewDecision;
  promotion?: Promotion;
}

/** The split as a registered version records it: the settings it was drawn with and the rows on each side. */
export function splitRecord(
  split: { testFraction: number; seed: number; stratify: boolean },
  rows: { trainRows: number; testRows: number },
) {
  return {
    testFraction: split.testFraction,
    seed: split.seed,
    stratified: split.stratify,
    trainRows: rows.trainRows,
    testRows: rows.testRows,
  };
}

/** The exported file's size as a registered version records it. */
export function sizeRecord(size: { bytes: number; base64Bytes: number; limitBytes: number }) {
  return { bytes: size.bytes, base64Bytes: size.base64Bytes, limit: size.limitBytes };
}

/** Runs a step body and keeps its status, timing and cache use in the progress the query returns. */
export function stepTracker(progress: PipelineProgress) {
  return async function step<T>(name: PipelineStep, body: () => Promise<T>): Promise<T> {
    const status = progress.steps.find((s) => s.step === name) as StepStatus;
    progress.current = name;
    status.status = 'running';
    status.startedAt = Date.now(); // workflow time: deterministic on replay
    try {
      const result = await body();
      status.status = 'done';
      status.cache = (result as { cache?: { status: StepStatus['cache'] } }).cache?.status;
      return result;
    } catch (err) {
      status.status = 'failed';
      throw err;
    } finally {
      status.durationMs = Date.now() - status.startedAt;
    }
  };
}

export interface ReleaseContext {
  progress: PipelineProgress;
  step: ReturnType<typeof stepTracker>;
  review: ReturnType<typeof reviewGate>;
  modelName: string;
  createdBy: string;
  gateSettings: z.output<typeof gateSettingsSchema>;
  gate: GateDecision;
  workflowId: string;
  runId: string;
}

/**
 * After registration: a blessed version is promoted, after a person's approval where the gate
 * settings ask for one. Every decision is recorded with the version before the alias moves.
 */
export async function reviewAndPromote(ctx: ReleaseContext, version: number): Promise<ReleaseOutcome> {
  const { progress, step, review, gateSettings: settings } = ctx;
  const skip = (...names: PipelineStep[]) => {
    for (const name of names) (progress.steps.find((s) => s.step === name) as StepStatus).status = 'skipped';
  };
  const event =
    (fields: Pick<NotificationEvent, 'type' | 'summary' | 'details'>): (() => NotificationEvent) =>
    () =>
      modelEvent({
        ...fields,
        model: ctx.modelName,
        version,
        occurredAt: new Date(Date.now()).toISOString(), // workflow time: deterministic on replay
        workflowId: ctx.workflowId,
        runId: ctx.runId,
      });
  if (!ctx.gate.blessed) {
    review.close(`the metric gate blocked version ${version}`);
    skip('review', 'promote');
    const failed = ctx.gate.checks.filter((c) => !c.passed);
    await notify(
      event({
        type: 'version.blocked',
        summary: `the metric gate blocked ${ctx.modelName} v${version}: ${failed.map((c) => c.message).join('; ')}`,
        details: { failedChecks: failed, champion: ctx.gate.champion?.version ?? null },
      }),
    );
    const drifted = failed.filter((c) => c.check.startsWith('drift.'));
    if (drifted.length > 0) {
      await notify(
        event({
          type: 'drift.detected',
          summary: `${ctx.modelName} v${version} was trained on data that drifted from the champion's: ${drifted
            .map((c) => c.message)
            .join('; ')}`,
          details: {
            source: 'gate',
            features: drifted.map((c) => c.check.slice('drift.'.length)),
            checks: drifted,
            champion: ctx.gate.champion?.version ?? null,
          },
        }),
      );
    }
    return { outcome: 'blocked' };
  }
  if (!settings.promote) {
    review.close('this run registers without promoting (gate.promote is false)');
    skip('review', 'promote');
    return { outcome: 'registered' };
  }
  let decision: ReviewDecision | undefined;
  if (settings.review.required) {
    decision = await step('review', async () => {
      progress.review = {
        model: ctx.modelName,
        version,
        approvers: settings.review.approvers,
        requestedBy: ctx.createdBy,
        deadline: Date.now() + settings.review.timeoutSeconds * 1000,
      };
      const deadline = new Date(progress.review.deadline).toISOString();
      const approvers = settings.review.approvers;
      const policy = {
        model: ctx.modelName,
        version,
        approvers: settings.review.approvers,
        requestedBy: ctx.createdBy,
        timeoutMs: settings.review.timeoutSeconds * 1000,
      };
      review.open(policy);
      await notify(
        event({
          type: 'review.requested',
          summary: `${ctx.modelName} v${version} waits for review by ${
            approvers.length ? approvers.join(', ') : 'an approver'
          } until ${deadline} (run started by ${ctx.createdBy})`,
          details: { approvers, requestedBy: ctx.createdBy, deadline, alias: settings.alias },
        }),
      );
      try {
        return await review.wait(policy);
      } finally {
        progress.review = undefined;
      }
    });
    await light.recordReview({
      name: ctx.modelName,
      version,
      decision: decision.decision,
      approver: decision.approver,
      reason: decision.reason,
      timedOut: decision.timedOut,
      workflowId: ctx.workflowId,
      runId: ctx.runId,
      ...(decision.signature ? { signature: decision.signature } : {}),
    });
    const decided = decision;
    await notify(
      event(
        decided.timedOut
          ? {
              type: 'review.timed_out',
              summary: `nobody reviewed ${ctx.modelName} v${version} in time: it is not promoted`,
              details: { approvers: settings.review.approvers, alias: settings.alias },
            }
          : {
              type: 'review.decided',
              summary: `${ctx.modelName} v${version} ${decided.decision} by ${decided.approver} (${
                decided.signed ? 'signed' : 'unsigned'
              }): ${decided.reason}`,
              details: {
                decision: decided.decision,
                approver: decided.approver,
                reason: decided.reason,
                signed: decided.signed === true,
                ...(decided.signature ? { keyFingerprint: decided.signature.keyFingerprint } : {}),
                alias: settings.alias,
              },
            },
      ),
    );
    if (decision.decision === 'rejected') {
      skip('promote');
      return { outcome: decision.timedOut ? 'timed-out' : 'rejected', review: decision };
    }
  } else {
    review.close('this run promotes without review (gate.review.required is false)');
    skip('review');
  }
  const promoted = await step('promote', () =>
    light.promoteModel({
      name: ctx.modelName,
      version,
      alias: settings.alias,
      // The champion the gate compared with: if the alias moved since, this version was not
      // judged against what it would replace, and is not promoted.
      expectedCurrent: ctx.gate.champion?.version ?? null,
      actor: decision?.approver ?? ctx.createdBy,
      reason: decision ? `approved: ${decision.reason}` : 'passed the metric gate',
      idempotencyKey: `${ctx.workflowId}/${ctx.runId}/promote`,
    }),
  );
  if (promoted.promoted) {
    await notify(
      event({
        type: 'version.promoted',
        summary: `${ctx.modelName} v${version} is now ${promoted.alias}${
          promoted.previous === null ? '' : ` (was v${promoted.previous})`
        }${decision ? `, approved by ${decision.approver}` : ''}`,
        details: {
          alias: promoted.alias,
          previous: promoted.previous,
          approvedBy: decision?.approver ?? null,
        },
      }),
    );
  }
  return {
    outcome: promoted.promoted ? 'promoted' : 'superseded',
    ...(decision ? { review: decision } : {}),
    promotion: promoted,
  };
}
