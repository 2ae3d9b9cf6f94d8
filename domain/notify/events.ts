import { z } from 'zod';

/**
 * What Slipway tells people about (webhooks): a review opened, decided or left to time out, a
 * version the metric gate blocked, an alias moved forward (promoted) or back (rolled back), drift
 * found (by the gate's drift check, or in the newest monitored batch before a scheduled retrain),
 * and `test` (sent by `slipway notify test`). Pure: workflows build events from this module.
 */
export const notificationEventTypes = [
  'review.requested',
  'review.decided',
  'review.timed_out',
  'version.blocked',
  'version.promoted',
  'alias.rolled_back',
  'drift.detected',
  'test',
] as const;
export type NotificationEventType = (typeof notificationEventTypes)[number];

/** Bumped when the payload changes incompatibly; receivers can switch on it. */
export const NOTIFICATION_SCHEMA = 'slipway.notification/v1';

export const notificationEventSchema = z.object({
  schema: z.literal(NOTIFICATION_SCHEMA),
  /**
   * Stable for one event: every retry (and every target) carries the same id, so a receiver that
   * keeps the ids it has handled processes each event once even when a response was lost.
   */
  id: z.string().min(1).max(512),
  type: z.enum(notificationEventTypes),
  /** When it happened (workflow time), ISO 8601. Not the time of sending: see the timestamp header. */
  occurredAt: z.iso.datetime({ offset: true }),
  /** The model's namespace ("default" for models named without one): whose policy's webhooks get it. */
  namespace: z.string().min(1),
  model: z.string().min(1).optional(),
  version: z.number().int().min(1).optional(),
  /** One line for people (the Slack format's text). */
  summary: z.string().min(1).max(4000),
  /** The facts of this type of event (approvers, decision, alias, gate checks, drifted features...). */
  details: z.record(z.string(), z.unknown()),
  /** The run it came from, when one did. */
  workflowId: z.string().optional(),
  runId: z.string().optional(),
});
export type NotificationEvent = z.infer<typeof notificationEventSchema>;

/** The namespace part of "<namespace>/<model>" (no import of the registry: this module stays tiny). */
export function namespaceOfModel(model: string): string {
  const slash = model.indexOf('/');
  return slash < 0 ? 'default' : model.slice(0, slash);
}

/**
 * An event about a model, its id made from where it happened: a run and a type happen once per run
 * (`<workflowId>/<runId>/<type>`), so a replayed or retried workflow builds the same id again.
 */
export function modelEvent(
  fields: Omit<NotificationEvent, 'schema' | 'id' | 'namespace'> & { model: string; idSuffix?: string },
): NotificationEvent {
  const { idSuffix, ...rest } = fields;
  const origin = fields.workflowId ? `${fields.workflowId}/${fields.runId ?? '-'}` : fields.model;
  return {
    ...rest,
    schema: NOTIFICATION_SCHEMA,
    id: `${origin}/${fields.type}${idSuffix ? `/${idSuffix}` : ''}`,
    namespace: namespaceOfModel(fields.model),
  };
}

const typeLabels: Record<NotificationEventType, string> = {
  'review.requested': 'Review requested',
  'review.decided': 'Review decided',
  'review.timed_out': 'Review timed out',
  'version.blocked': 'Version blocked',
  'version.promoted': 'Promoted',
  'alias.rolled_back': 'Rolled back',
  'drift.detected': 'Drift detected',
  test: 'Test notification',
};

/**
 * The Slack-compatible body (an incoming webhook's `{text, blocks}`): `text` is what notifications
 * and clients without blocks show, the blocks add the facts as fields. Other chat tools that take
 * Slack's format (Mattermost, Rocket.Chat) read `text`.
 */
export function slackMessage(event: NotificationEvent): {
  text: string;
  blocks: Array<Record<string, unknown>>;
} {
  const subject = event.model
    ? `${event.model}${event.version ? ` v${event.version}` : ''}`
    : event.namespace;
  const text = `[slipway] ${typeLabels[event.type]}: ${event.summary}`;
  const fields = [
    ['Model', subject],
    ['Event', event.type],
    ['When', event.occurredAt],
    ...(event.workflowId ? [['Run', event.workflowId]] : []),
  ].map(([title, value]) => ({ type: 'mrkdwn', text: `*${title}*\n${escapeSlack(String(value))}` }));
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: escapeSlack(text) } },
      { type: 'section', fields },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `event id ${escapeSlack(event.id)}` }] },
    ],
  };
}

/** Slack's three control characters in message text (its "escaping text" rules). */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
