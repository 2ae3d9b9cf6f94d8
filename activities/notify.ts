import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ModelAccess } from '../domain/access/modelAccess';
import { AuditLog } from '../domain/audit/auditLog';
import type { NotificationEvent, NotificationEventType } from '../domain/notify/events';
import {
  ENV_WEBHOOK_SECRET,
  targetLabel,
  type WebhookRetry,
  type WebhookTarget,
  wantsEvent,
  webhookBody,
} from '../domain/notify/targets';
import { signedHeaders } from '../domain/notify/webhookSignature';
import { ModelRegistry } from '../domain/registry/registry';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

/** A receiver gets this long to answer one attempt; a hung one costs an attempt, not the run. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface NotificationTargets {
  targets: WebhookTarget[];
  retry: WebhookRetry;
}

/**
 * Where an event goes: the namespace policy's webhooks that want it, and the installation's own
 * (SLIPWAY_WEBHOOK_URL of the worker's environment), with the workers' retry settings. Reads only;
 * returns URLs and variable names, never a secret (this result is in the run's history).
 */
export function notificationTargetsActivity(deps: ActivityDeps) {
  return async function notificationTargets(params: {
    namespace: string;
    type: NotificationEventType;
  }): Promise<NotificationTargets> {
    return withFailureMapping(async () => {
      const env = deps.config.env;
      const policy = await new ModelAccess(new ModelRegistry(deps.store)).policy(params.namespace);
      const targets = (policy?.webhooks ?? []).filter((t) => wantsEvent(t, params.type));
      if (env.SLIPWAY_WEBHOOK_URL !== undefined) {
        targets.push({
          url: env.SLIPWAY_WEBHOOK_URL,
          format: env.SLIPWAY_WEBHOOK_FORMAT,
          // Named even when unset, so a JSON webhook without its secret is dead-lettered with the reason.
          secretEnv: ENV_WEBHOOK_SECRET,
        });
      }
      return {
        targets,
        retry: {
          attempts: env.SLIPWAY_WEBHOOK_ATTEMPTS,
          initialSeconds: env.SLIPWAY_WEBHOOK_RETRY_SECONDS,
          maxIntervalSeconds: 900,
        },
      };
    });
  };
}

/** A secret or URL from the worker's environment: Slipway's own variables as loaded, others as set. */
function fromEnvironment(deps: ActivityDeps, name: string): string | undefined {
  const own = (deps.config.env as Record<string, unknown>)[name];
  const value = typeof own === 'string' ? own : process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

export interface Delivery {
  status: number;
  attempt: number;
  target: string;
}

/**
 * One attempt to POST an event to one webhook, signed now (see domain/notify/webhookSignature.ts).
 * A 2xx answer is a delivery; anything else (an error status, a refused connection, no answer in
 * 10 s) fails the attempt and the retry policy tries again, with the same event id. What a retry
 * cannot fix (a missing secret variable, 410 Gone) fails for good at once.
 */
export function deliverWebhookActivity(deps: ActivityDeps) {
  return async function deliverWebhook(params: {
    event: NotificationEvent;
    target: WebhookTarget;
  }): Promise<Delivery> {
    const { event, target } = params;
    const label = targetLabel(target);
    const url = target.url ?? fromEnvironment(deps, target.urlEnv as string);
    if (url === undefined) {
      throw ApplicationFailure.nonRetryable(
        `The webhook URL variable ${target.urlEnv} is not set on this worker; set it where workers run.`,
        'WebhookUrlMissing',
      );
    }
    const secret = target.secretEnv === undefined ? undefined : fromEnvironment(deps, target.secretEnv);
    if (target.secretEnv !== undefined && secret === undefined) {
      throw ApplicationFailure.nonRetryable(
        `The secret of webhook ${label} is not set: the variable ${target.secretEnv} is empty or missing on this worker. ` +
          'Set it in the environment of every worker (never in a policy or a file in the store).',
        'WebhookSecretMissing',
      );
    }
    const body = webhookBody(event, target.format);
    const headers =
      secret === undefined
        ? {
            'content-type': 'application/json',
            'slipway-event-id': event.id,
            'slipway-event-type': event.type,
          }
        : signedHeaders(secret, body, event, Date.now());
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'user-agent': 'slipway-webhooks/1' },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      // The message of a fetch error names the cause (ECONNREFUSED, a timeout), never the headers.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw ApplicationFailure.retryable(
        `Webhook ${label} could not be reached: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        'WebhookUnreachable',
      );
    }
    // Read and drop the answer, so the connection is released.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { status: response.status, attempt: activityInfo().attempt, target: label };
    const message = `Webhook ${label} answered ${response.status} ${response.statusText}`.trim();
    if (response.status === 410) {
      throw ApplicationFailure.nonRetryable(`${message} (gone: not retried)`, 'WebhookGone');
    }
    throw ApplicationFailure.retryable(message, 'WebhookRejected');
  };
}

/**
 * The dead letter: an event no attempt delivered, with the whole payload, in the audit log (once,
 * by its idempotency key), so it is seen by `audit log` and can be sent again by hand.
 */
export function recordUndeliveredNotificationActivity(deps: ActivityDeps) {
  return async function recordUndeliveredNotification(params: {
    event: NotificationEvent;
    target: WebhookTarget;
    /** Why delivery stopped: all attempts failed, or a failure no retry can fix. */
    gaveUp: string;
    error: string;
    at: string;
    idempotencyKey: string;
  }): Promise<{ seq: number }> {
    return withFailureMapping(async () => {
      const { event } = params;
      const { record } = await new AuditLog(deps.store).append({
        type: 'notification-undelivered',
        ...(event.model ? { model: event.model } : {}),
        ...(event.version ? { version: event.version } : {}),
        actor: 'slipway:notify',
        reason: params.error.slice(0, 4000),
        at: params.at,
        details: {
          eventId: event.id,
          eventType: event.type,
          namespace: event.namespace,
          target: targetLabel(params.target),
          format: params.target.format,
          gaveUp: params.gaveUp,
          event,
        },
        idempotencyKey: params.idempotencyKey,
      });
      return { seq: record.seq };
    });
  };
}
