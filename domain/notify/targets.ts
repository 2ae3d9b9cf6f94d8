import { z } from 'zod';
import {
  type NotificationEvent,
  type NotificationEventType,
  notificationEventTypes,
  slackMessage,
} from './events';

/** The name of an environment variable of the worker: a secret is referred to by it, never held. */
export const envVarName = z
  .string()
  .trim()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable (letters, digits, _)');

export const webhookFormats = ['json', 'slack'] as const;
export type WebhookFormat = (typeof webhookFormats)[number];

/**
 * One webhook as a namespace's policy keeps it. The shared secret is never in the policy (nor in
 * any stored document, history or log): `secretEnv` names the workers' environment variable that
 * holds it, read by the delivery step at each attempt. A Slack incoming webhook's URL is itself a
 * secret, so the URL may come from a variable too (`urlEnv`).
 */
export const webhookTargetSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    urlEnv: envVarName.optional(),
    secretEnv: envVarName.optional(),
    format: z.enum(webhookFormats).default('json'),
    /** Only these events (default: all). */
    events: z.array(z.enum(notificationEventTypes)).min(1).optional(),
  })
  .superRefine((target, ctx) => {
    if ((target.url === undefined) === (target.urlEnv === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'give the URL, or the variable that holds it (not both)',
      });
    }
    if (target.format === 'json' && target.secretEnv === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretEnv'],
        message: 'a JSON webhook is signed: name the environment variable that holds its secret',
      });
    }
  });
export type WebhookTarget = z.infer<typeof webhookTargetSchema>;

/** The installation-wide webhook of the worker's environment (SLIPWAY_WEBHOOK_URL), as a target. */
export const ENV_WEBHOOK_SECRET = 'SLIPWAY_WEBHOOK_SECRET';

/** Where the target sends, for records and messages: the URL, or the variable it comes from. */
export function targetLabel(target: WebhookTarget): string {
  return target.url !== undefined ? redactUrl(target.url) : `$${target.urlEnv}`;
}

/** A URL without its user info and query (where tokens hide), for records and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

export function wantsEvent(target: WebhookTarget, type: NotificationEventType): boolean {
  return type === 'test' || target.events === undefined || target.events.includes(type);
}

/** The request body: the event itself (json), or a Slack-compatible message that also carries it. */
export function webhookBody(event: NotificationEvent, format: WebhookFormat): string {
  return JSON.stringify(format === 'slack' ? slackMessage(event) : event);
}

/**
 * Bounded retries of one delivery: `attempts` in all, the first retry after `initialSeconds`,
 * doubling up to `maxIntervalSeconds`. The defaults span about an hour and a half (12 attempts).
 */
export const webhookRetrySchema = z.object({
  attempts: z.number().int().min(1).max(100).default(12),
  initialSeconds: z.number().min(0.01).max(3600).default(5),
  maxIntervalSeconds: z.number().min(0.01).max(86400).default(900),
});
export type WebhookRetry = z.infer<typeof webhookRetrySchema>;
