import { ModelAccess } from '../domain/access/modelAccess';
import { AuditLog } from '../domain/audit/auditLog';
import { type AliasEntry, ModelAliases } from '../domain/registry/aliases';
import { AliasConflictError } from '../domain/registry/errors';
import type { ServingNotice } from '../domain/registry/moveCoordinator';
import { ModelRegistry } from '../domain/registry/registry';
import { readReview } from '../domain/review/records';
import { ServingFleet } from '../domain/serving/fleet';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';

export interface PromoteModelParams {
  name: string;
  version: number;
  alias: string;
  /**
   * The champion the gate compared with (null: none); a different current one means "superseded".
   * Unset: moved wherever the alias points (a promotion by hand without a gate).
   */
  expectedCurrent?: number | null;
  /** A person's move (`slipway promote`): a protected alias moves only for the people it names. */
  byHand?: boolean;
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
      const registry = new ModelRegistry(deps.store);
      // The running scoring services that follow the alias swap at the move (domain/serving/fleet.ts).
      const aliases = new ModelAliases(registry, undefined, { coordinator: new ServingFleet(deps.store) });
      // A protected alias moves only after an approved review of this version, in this run.
      const review = await readReview(registry, params.name, params.version);
      const approved =
        review?.decision === 'approved' &&
        `${review.workflowId}/${review.runId}/promote` === params.idempotencyKey;
      if (params.byHand) await assertPersonMayMove(registry, params.name, params.alias, params.actor);
      else await new ModelAccess(registry).assertPipelineMayMove(params.name, params.alias, approved);
      try {
        const { entry, serving } = await aliases.move(params.name, params.alias, {
          version: params.version,
          action: 'promote',
          actor: params.actor,
          reason: params.reason,
          at: new Date().toISOString(),
          expectedCurrent: params.expectedCurrent,
          idempotencyKey: params.idempotencyKey,
        });
        await auditAliasMove(
          deps,
          'promotion',
          params.name,
          entry,
          `${params.idempotencyKey}/audit`,
          serving,
        );
        return { promoted: true, alias: params.alias, version: params.version, previous: entry.previous };
      } catch (err) {
        if (!(err instanceof AliasConflictError)) throw err;
        return {
          promoted: false,
          alias: params.alias,
          version: params.version,
          previous: params.expectedCurrent ?? null,
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
    return heartbeating(async () => {
      const registry = new ModelRegistry(deps.store);
      await assertPersonMayMove(registry, params.name, params.alias, params.actor);
      const aliases = new ModelAliases(registry, undefined, { coordinator: new ServingFleet(deps.store) });
      const { entry, serving } = await aliases.rollback(params.name, params.alias, {
        actor: params.actor,
        reason: params.reason,
        at: new Date().toISOString(),
        idempotencyKey: params.idempotencyKey,
      });
      await auditAliasMove(
        deps,
        'rollback',
        params.name,
        entry,
        `alias-log/${params.name}/${entry.seq}`,
        serving,
      );
      return entry;
    });
  };
}

/** Checked here too (the CLI checks first): a protected alias moves by hand only for the people it names. */
async function assertPersonMayMove(registry: ModelRegistry, name: string, alias: string, actor: string) {
  const movers = await new ModelAccess(registry).aliasMovers(name, alias);
  if (movers !== undefined && !movers.includes(actor)) {
    await new ModelAccess(registry).assertCanMoveAliases(name, actor, alias);
  }
}

/**
 * The audit record of an alias move: who moved which alias from which version to which, and why;
 * and, when scoring services follow the alias, which swapped at the move and which were left to
 * catch up on their own (did not answer in time, refused the version), with why.
 */
async function auditAliasMove(
  deps: ActivityDeps,
  type: 'promotion' | 'rollback',
  model: string,
  entry: AliasEntry,
  idempotencyKey: string,
  serving: ServingNotice | undefined,
): Promise<void> {
  await new AuditLog(deps.store).append({
    type,
    model,
    version: entry.version,
    actor: entry.actor,
    reason: entry.reason,
    at: entry.at,
    details: {
      alias: entry.alias,
      from: entry.previous,
      to: entry.version,
      aliasLogSeq: entry.seq,
      ...(serving && serving.services > 0 ? { serving } : {}),
    },
    idempotencyKey,
  });
}
