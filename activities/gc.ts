import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import type { garbageCollectionInputSchema } from '../contracts/inputs';
import { executeGcPlan } from '../domain/gc/execute';
import { collectGcInventory, type RunningRun } from '../domain/gc/inventory';
import { type KeepReason, planGarbageCollection } from '../domain/gc/plan';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';

/** Objects listed in a result: a workflow result must stay small; the audit log has every one. */
const LISTED_IN_RESULT = 5_000;

export interface GarbageCollectionResult {
  dryRun: boolean;
  /** Objects written after this were kept whatever else held (the grace period). */
  cutoff: string;
  /** What was (or, dry, would be) deleted, by key; at most 5,000 listed, `objectCount` counts all. */
  objects: Array<{ key: string; sha256: string; bytes: number }>;
  objectCount: number;
  /**
   * Older versions a versioned bucket kept of artifacts that stay (at most 5,000 listed,
   * `versionCount` counts all) and the bytes they held; empty elsewhere.
   */
  versions: Array<{ key: string; versionId: string; bytes: number }>;
  versionCount: number;
  versionBytesFreed: number;
  cacheEntries: string[];
  bytesFreed: number;
  kept: Record<KeepReason, number>;
  /** Runs Temporal said were running, whose inputs and outputs were kept. */
  runningRuns: number;
  /** Audit records listing the deletions (none for a dry run). */
  auditSeqs: number[];
}

/**
 * Retention (domain/gc): asks Temporal which runs of this Slipway's task queue are running, reads
 * the store, decides, and unless dry records and deletes. The decision is made at once from one
 * reading, so a dry run lists exactly what a real run in the same state deletes.
 */
export function collectGarbageActivity(deps: ActivityDeps) {
  return async function collectGarbage(
    input: z.output<typeof garbageCollectionInputSchema> & { runKey: string },
  ): Promise<GarbageCollectionResult> {
    return heartbeating(async () => {
      const context = Context.current();
      const running = await runningRuns(context, deps.config.taskQueue);
      const inventory = await collectGcInventory(deps.store, { running, keepLast: input.keepLast });
      const now = new Date().toISOString();
      const plan = planGarbageCollection(inventory, {
        now,
        olderThanMs: input.olderThanMs,
        cacheTtlMs: input.cacheTtlMs,
        keepLast: input.keepLast,
      });
      const execution = input.dryRun
        ? undefined
        : await executeGcPlan(deps.store, plan, {
            actor: input.actor,
            at: now,
            reason: `retention: older than ${input.olderThanMs / 1000}s, cache TTL ${input.cacheTtlMs / 1000}s, keep last ${input.keepLast} runs`,
            runKey: input.runKey,
          });
      context.log.info(
        `gc${input.dryRun ? ' (dry run)' : ''}: ${execution?.deleted.length ?? plan.deleteObjects.length} objects, ` +
          `${plan.deleteVersions.length} older versions, ${plan.deleteCacheEntries.length} cache entries; ${running.length} running runs` +
          (execution?.rewritten ? `; ${execution.rewritten} stored again meanwhile, kept` : ''),
      );
      // A real run deletes the plan but for objects stored again since the reading (young again).
      const gone = execution?.deleted ?? plan.deleteObjects;
      return {
        dryRun: input.dryRun,
        cutoff: plan.cutoff,
        objects: gone.slice(0, LISTED_IN_RESULT).map(({ key, sha256, bytes }) => ({ key, sha256, bytes })),
        objectCount: gone.length,
        versions: plan.deleteVersions
          .slice(0, LISTED_IN_RESULT)
          .map(({ key, versionId, bytes }) => ({ key, versionId, bytes })),
        versionCount: plan.deleteVersions.length,
        versionBytesFreed: plan.versionBytesFreed,
        cacheEntries: plan.deleteCacheEntries.slice(0, LISTED_IN_RESULT),
        bytesFreed: gone.reduce((sum, o) => sum + o.bytes, 0),
        kept: { ...plan.kept, young: plan.kept.young + (execution?.rewritten ?? 0) },
        runningRuns: running.length,
        auditSeqs: execution?.auditSeqs ?? [],
      };
    });
  };
}

/** Running workflows on this Slipway's task queue, except the one collecting garbage. */
async function runningRuns(context: Context, taskQueue: string): Promise<RunningRun[]> {
  const self = context.info.workflowExecution?.workflowId;
  const found: RunningRun[] = [];
  const query = `ExecutionStatus = "Running" AND TaskQueue = "${taskQueue.replace(/["\\]/g, '')}"`;
  for await (const execution of context.client.workflow.list({ query })) {
    if (execution.workflowId === self) continue;
    found.push({
      workflowId: execution.workflowId,
      runId: execution.runId,
      startedAt: execution.startTime.toISOString(),
    });
  }
  return found;
}
