import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SlipwayActivities } from '../activities';
import type { GarbageCollectionResult } from '../activities/gc';
import { type GarbageCollectionInput, garbageCollectionInputSchema } from '../contracts/inputs';
import { activityRetry } from './retryPolicy';
import { parseWorkflowInput } from './validation';

const gc = proxyActivities<SlipwayActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '5 minutes',
  retry: activityRetry,
});

/**
 * `slipway gc` and its schedule: one activity that decides from the registry, lineage, the audit
 * log, the step cache and the runs Temporal says are running what nothing needs, records each
 * deletion in the audit log and deletes it (or, dry, only lists it). A worker does it, like every
 * other write to the audit log.
 */
export async function collectGarbage(input: GarbageCollectionInput): Promise<GarbageCollectionResult> {
  const params = parseWorkflowInput(garbageCollectionInputSchema, input, 'collectGarbage');
  const { workflowId, runId } = workflowInfo();
  return gc.collectGarbage({ ...params, runKey: `${workflowId}/${runId}` });
}
