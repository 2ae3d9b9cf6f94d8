import { AuditLog } from '../domain/audit/auditLog';
import type { AuditEntry } from '../domain/audit/record';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

/**
 * Records a change people make outside a pipeline run (a schedule changed, a run cancelled, a version a scoring service refused) in the
 * audit log, from a worker like every other record.
 */
export function recordChangeActivity(deps: ActivityDeps) {
  return async function recordChange(
    entry: AuditEntry & { type: 'schedule-change' | 'cancellation' | 'serving-refusal' | 'serve-report' },
  ): Promise<{ seq: number }> {
    return withFailureMapping(async () => {
      const { record } = await new AuditLog(deps.store).append(entry);
      return { seq: record.seq };
    });
  };
}
