import { AuditLog } from '../domain/audit/auditLog';
import { ModelRegistry } from '../domain/registry/registry';
import { recordReview as writeReview } from '../domain/review/records';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

export interface RecordReviewParams {
  name: string;
  version: number;
  decision: 'approved' | 'rejected';
  approver: string;
  reason: string;
  timedOut: boolean;
  workflowId: string;
  runId: string;
}

/** Keeps a person's decision (or the deadline's) beside the version it is about. */
export function recordReviewActivity(deps: ActivityDeps) {
  return async function recordReview(params: RecordReviewParams): Promise<{ created: boolean }> {
    return withFailureMapping(async () => {
      const { record, created } = await writeReview(new ModelRegistry(deps.store), {
        ...params,
        at: new Date().toISOString(),
      });
      await new AuditLog(deps.store).append({
        type: params.decision === 'approved' ? 'approval' : 'rejection',
        model: params.name,
        version: params.version,
        actor: params.approver,
        reason: params.reason,
        at: record.at,
        details: { timedOut: params.timedOut, workflowId: params.workflowId, runId: params.runId },
        idempotencyKey: `${params.workflowId}/${params.runId}/review`,
      });
      return { created };
    });
  };
}
