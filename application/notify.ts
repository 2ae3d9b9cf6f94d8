import { randomUUID } from 'node:crypto';
import { NOTIFICATION_SCHEMA, type NotificationEvent } from '../domain/notify/events';
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
