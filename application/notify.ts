import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  modelEvent,
  NOTIFICATION_SCHEMA,
  type NotificationEvent,
  namespaceOfModel,
} from '../domain/notify/events';
import { wantsEvent } from '../domain/notify/targets';
import { DEFAULT_NAMESPACE, modelNameProblem } from '../domain/registry/modelName';
import type { deliverNotification, NotificationReport } from '../workflows/notify';
import { notificationWorkflowId } from '../workflows/notifyIds';
import type { TemporalAccess } from './temporal';
import type { Workspace } from './workspace';

/**
 * `slipway notify test`: a `test` event to every webhook of the namespace (and the installation's),
 * delivered by the workers as every notification is (their environment holds the secrets), with a
 * few quick attempts and no dead letter: the answer comes back to the person who asked.
 */
export async function sendTestNotification(
  ws: Workspace,
  connect: () => Promise<TemporalAccess>,
  namespace: string,
  attempts: number,
): Promise<NotificationReport> {
  const problem = namespace === DEFAULT_NAMESPACE ? undefined : modelNameProblem(`${namespace}/x`);
  if (problem !== undefined) {
    throw new Error(`Invalid namespace "${namespace}": ${problem.replace('its namespace', 'it')}.`);
  }
  const event: NotificationEvent = {
    schema: NOTIFICATION_SCHEMA,
    id: `test/${namespace}/${randomUUID()}`,
    type: 'test',
    occurredAt: new Date().toISOString(),
    namespace,
    summary: `a test notification for namespace ${namespace}, sent by ${ws.identity}`,
    details: { sentBy: ws.identity },
  };
  const temporal = await connect();
  return temporal.client.workflow.execute<typeof deliverNotification>('deliverNotification', {
    taskQueue: temporal.config.taskQueue,
    workflowId: notificationWorkflowId(event.id),
    args: [{ event, retry: { attempts, initialSeconds: 1, maxIntervalSeconds: 5 }, deadLetter: false }],
  });
}

/**
 * `apply --monitor` found drift: the `drift.detected` event, delivered by the workers like the
 * pipeline's (a deliverNotification workflow, started and not waited for; the event id names the
 * batch, so recording it again does not notify twice). Nothing is started, and Temporal is not
 * even reached, when no webhook could want it: none of the namespace's takes drift.detected and
 * SLIPWAY_WEBHOOK_URL is unset here. Returns the delivery workflow's id, or undefined.
 */
export async function notifyMonitoredDrift(
  ws: Workspace,
  connect: () => Promise<TemporalAccess>,
  monitored: {
    model: string;
    version: number;
    batchId: string;
    recordedAt: string;
    input: string;
    drifted: string[];
    reasons: string[];
  },
): Promise<string | undefined> {
  const policy = await ws.access.policy(namespaceOfModel(monitored.model));
  const listening =
    ws.config.env.SLIPWAY_WEBHOOK_URL !== undefined ||
    (policy?.webhooks ?? []).some((w) => wantsEvent(w, 'drift.detected'));
  if (!listening) return undefined;
  const event = modelEvent({
    type: 'drift.detected',
    model: monitored.model,
    version: monitored.version,
    occurredAt: monitored.recordedAt,
    summary: `a batch ${monitored.model} v${monitored.version} scored (${monitored.input}) drifted from its training data: ${monitored.reasons.join('; ')}`,
    details: {
      source: 'monitor',
      features: monitored.drifted,
      batch: monitored.batchId,
      input: monitored.input,
    },
    idSuffix: `v${monitored.version}/${monitored.batchId}`,
  });
  const temporal = await connect();
  const workflowId = notificationWorkflowId(event.id);
  await temporal.client.workflow
    .start<typeof deliverNotification>('deliverNotification', {
      taskQueue: temporal.config.taskQueue,
      workflowId,
      args: [{ event }],
    })
    .catch((err: unknown) => {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    });
  return workflowId;
}
