import { Context } from '@temporalio/activity';
import { AuditLog } from '../domain/audit/auditLog';
import type { AuditEntry } from '../domain/audit/record';
import { type AliasEntry, ModelAliases } from '../domain/registry/aliases';
import { AliasConflictError } from '../domain/registry/errors';
import { ModelRegistry } from '../domain/registry/registry';
import { recordReview as writeReview } from '../domain/registry/reviews';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

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
    return withFailureMapping(async () => {
      Context.current().heartbeat();
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
        await auditAliasMove(deps, 'promotion', params.name, entry, `${params.idempotencyKey}/audit`);
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

export interface RollbackModelParams {
  name: string;
  alias: string;
  actor: string;
  reason: string;
  /** Makes a retried attempt move the alias once. */
  idempotencyKey: string;
}

/**
 * Moves an alias back to the version its current one replaced (`slipway rollback`): the same
 * compare-and-set on the alias log, and the same audit record shape, as a promotion.
 */
export function rollbackModelActivity(deps: ActivityDeps) {
  return async function rollbackModel(params: RollbackModelParams): Promise<AliasEntry> {
    return withFailureMapping(async () => {
      Context.current().heartbeat();
      const { entry } = await new ModelAliases(new ModelRegistry(deps.store)).rollback(
        params.name,
        params.alias,
        {
          actor: params.actor,
          reason: params.reason,
          at: new Date().toISOString(),
          idempotencyKey: params.idempotencyKey,
        },
      );
      await auditAliasMove(deps, 'rollback', params.name, entry, `alias-log/${params.name}/${entry.seq}`);
      return entry;
    });
  };
}

/** The audit record of an alias move: who moved which alias from which version to which, and why. */
async function auditAliasMove(
  deps: ActivityDeps,
  type: 'promotion' | 'rollback',
  model: string,
  entry: AliasEntry,
  idempotencyKey: string,
): Promise<void> {
  await new AuditLog(deps.store).append({
    type,
    model,
    version: entry.version,
    actor: entry.actor,
    reason: entry.reason,
    at: entry.at,
    details: { alias: entry.alias, from: entry.previous, to: entry.version, aliasLogSeq: entry.seq },
    idempotencyKey,
  });
}

/**
 * Records a change people make outside a pipeline run (a schedule changed, a run cancelled) in the
 * audit log, from a worker like every other record.
 */
export function recordChangeActivity(deps: ActivityDeps) {
  return async function recordChange(
    entry: AuditEntry & { type: 'schedule-change' | 'cancellation' },
  ): Promise<{ seq: number }> {
    return withFailureMapping(async () => {
      const { record } = await new AuditLog(deps.store).append(entry);
      return { seq: record.seq };
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
