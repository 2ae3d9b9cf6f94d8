import { RetryState } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { SlipwayActivities } from '../activities';
import type { NotificationEvent } from '../domain/notify/events';
import type { WebhookRetry, WebhookTarget } from '../domain/notify/targets';
import { notificationWorkflowId } from './notifyIds';

/** The marker of runs that notify: runs started before it replay without the new commands. */
export const NOTIFICATIONS_PATCH = 'webhook-notifications';

/**
 * Reading the targets and writing a dead letter: a store read or one audit record, retried a few
 * times only, so a notification never holds a pipeline up for long.
 */
const bookkeeping = proxyActivities<SlipwayActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

export interface NotificationInput {
  event: NotificationEvent;
  /** Where to send it; absent: read from the namespace's policy and the workers' environment. */
  targets?: WebhookTarget[];
  /** The retries of each delivery; absent: the workers' settings (SLIPWAY_WEBHOOK_ATTEMPTS...). */
  retry?: WebhookRetry;
  /** False for `slipway notify test`, whose failure is shown to the person who asked instead. */
  deadLetter?: boolean;
}

export interface NotificationReport {
  eventId: string;
  deliveries: Array<
    | { target: string; delivered: true; status: number; attempt: number }
    | { target: string; delivered: false; error: string; auditSeq?: number }
  >;
}

/**
 * Delivers one event to each of its webhooks, each delivery an activity whose retry policy is the
 * bounded backoff (so retries survive a worker restart); a delivery that runs out of attempts, or
 * meets a failure no retry fixes, is written to the audit log as a dead letter. A workflow of its
 * own, started by the run that had something to say (detached from it: see notify below).
 */
export async function deliverNotification(input: NotificationInput): Promise<NotificationReport> {
  const { event } = input;
  let targets = input.targets;
  let retry = input.retry;
  if (targets === undefined) {
    const found = await bookkeeping.notificationTargets({ namespace: event.namespace, type: event.type });
    targets = found.targets;
    retry ??= found.retry;
  }
  const policy = retry ?? { attempts: 12, initialSeconds: 5, maxIntervalSeconds: 900 };
  const delivery = proxyActivities<SlipwayActivities>({
    startToCloseTimeout: '30 seconds',
    retry: {
      initialInterval: Math.round(policy.initialSeconds * 1000),
      backoffCoefficient: 2,
      maximumInterval: Math.round(Math.max(policy.maxIntervalSeconds, policy.initialSeconds) * 1000),
      maximumAttempts: policy.attempts,
    },
  });
  const { workflowId } = workflowInfo();
  const deliveries = await Promise.all(
    targets.map(async (target, index): Promise<NotificationReport['deliveries'][number]> => {
      const label = target.url ?? `$${target.urlEnv}`;
      try {
        const done = await delivery.deliverWebhook({ event, target });
        return { target: done.target, delivered: true, status: done.status, attempt: done.attempt };
      } catch (err) {
        const failure = err instanceof ActivityFailure ? err : undefined;
        const cause = failure?.cause instanceof ApplicationFailure ? failure.cause : undefined;
        const error = cause?.message ?? (err as Error).message;
        const gaveUp =
          failure?.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED
            ? `all ${policy.attempts} attempts failed`
            : `not retried (${cause?.type ?? failure?.retryState ?? 'failed'})`;
        if (input.deadLetter === false)
          return { target: label, delivered: false, error: `${gaveUp}: ${error}` };
        const recorded = await bookkeeping.recordUndeliveredNotification({
          event,
          target,
          gaveUp,
          error,
          at: new Date(Date.now()).toISOString(), // workflow time: deterministic on replay
          idempotencyKey: `${workflowId}/${index}/undelivered`,
        });
        return { target: label, delivered: false, error: `${gaveUp}: ${error}`, auditSeq: recorded.seq };
      }
    }),
  );
  return { eventId: event.id, deliveries };
}

/**
 * Tells the namespace's webhooks (and the installation's) about an event of this run: best-effort
 * for the run, durable for the delivery. The run reads where the event goes (one quick activity)
 * and, when anywhere, starts deliverNotification as a detached child (ABANDON on close and on
 * cancellation) and goes on at once: a receiver that is down neither fails nor holds up the
 * pipeline, and its retries outlive the run. The child's id is the event's, so the same event is
 * never delivered by two workflows. Nothing here may fail the run.
 */
export async function notify(build: () => NotificationEvent): Promise<void> {
  if (!patched(NOTIFICATIONS_PATCH)) return;
  const event = build();
  let found: Awaited<ReturnType<typeof bookkeeping.notificationTargets>>;
  try {
    found = await bookkeeping.notificationTargets({ namespace: event.namespace, type: event.type });
  } catch {
    return; // the store could not be read: this event goes untold, the run goes on
  }
  if (found.targets.length === 0) return;
  try {
    await startChild(deliverNotification, {
      workflowId: notificationWorkflowId(event.id),
      args: [{ event, targets: found.targets, retry: found.retry }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      workflowExecutionTimeout: '7 days',
    });
  } catch {
    // Already started under this id (the same event): its delivery is under way.
  }
}
