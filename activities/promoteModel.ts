import { AuditLog } from '../domain/audit/auditLog';
import { ModelAliases } from '../domain/registry/aliases';
import { AliasConflictError } from '../domain/registry/errors';
import { ModelRegistry } from '../domain/registry/registry';
import { recordReview as writeReview } from '../domain/registry/reviews';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { heartbeating } from './heartbeat';

export interface PromoteModelParams {
  name: string;
  version: number;
  alias: string;
  /** The champion the gate compared with (null: none); a different current one means "superseded". */
  expectedCurrent: number | null;
  actor: string;
  reason: string;
  idempotencyKey: string;
}

export interface Promotion {
  promoted: boolean;
  alias: string;
  version: number;
  /** The version the alias pointed to before (still reachable, and the target of a rollback). */
  previous: number | null;
  /** When not promoted: why. */
  note?: string;
}

/** Pusher, second half: moves the alias to the new version, unless it moved since the gate ran. */
export function promoteModelActivity(deps: ActivityDeps) {
  return async function promoteModel(params: PromoteModelParams): Promise<Promotion> {
    return heartbeating(async () => {
      const aliases = new ModelAliases(new ModelRegistry(deps.store));
      try {
        const { entry } = await aliases.move(params.name, params.alias, {
          version: params.version,
          action: 'promote',
          actor: params.actor,
          reason: params.reason,
          at: new Date().toISOString(),
          expectedCurrent: params.expectedCurrent,
          idempotencyKey: params.idempotencyKey,
        });
        await new AuditLog(deps.store).append({
          type: 'promotion',
          model: params.name,
          version: params.version,
          actor: params.actor,
          reason: params.reason,
          at: entry.at,
          details: { alias: params.alias, from: entry.previous, to: params.version, aliasLogSeq: entry.seq },
          idempotencyKey: `${params.idempotencyKey}/audit`,
        });
        return { promoted: true, alias: params.alias, version: params.version, previous: entry.previous };
      } catch (err) {
        if (!(err instanceof AliasConflictError)) throw err;
        return {
          promoted: false,
          alias: params.alias,
          version: params.version,
          previous: params.expectedCurrent,
          note: err.message,
        };
      }
    });
  };
}

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
