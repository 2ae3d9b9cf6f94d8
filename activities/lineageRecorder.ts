import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import { codeVersion } from '../config/codeVersion';
import type { StepCacheInfo } from '../contracts/progress';
import { LineageStore } from '../domain/lineage/lineageStore';
import type { ArtifactInput, ExecutionOutcome } from '../domain/lineage/schema';
import type { ActivityDeps } from './deps';

/** Which worker ran an attempt, as lineage records it. */
function workerIdentity(context: Context): string {
  return `${hostname()}:${process.pid}:${context.info.taskQueue}`;
}

export interface StepLineage {
  step: string;
  params: unknown;
  inputs: Record<string, ArtifactInput>;
  outputs?: Record<string, ArtifactInput>;
  startedAt: string;
  outcome: ExecutionOutcome;
  error?: unknown;
  cache?: StepCacheInfo;
  registered?: { name: string; version: number };
}

/**
 * Records one attempt of a step as an MLMD-style execution with its input and output artifacts.
 * Idempotent (same keys, same bytes), so a retried activity may record again.
 */
export async function recordStepLineage(deps: ActivityDeps, lineage: StepLineage): Promise<void> {
  const context = Context.current();
  const execution = context.info.workflowExecution;
  if (!execution) return; // a standalone activity belongs to no pipeline run
  const error = lineage.error as { type?: string; message?: string } | undefined;
  await new LineageStore(deps.store).recordExecution({
    workflowId: execution.workflowId,
    runId: execution.runId,
    step: lineage.step,
    attempt: context.info.attempt,
    worker: workerIdentity(context),
    codeVersion: codeVersion(),
    params: lineage.params ?? null,
    startedAt: lineage.startedAt,
    endedAt: new Date().toISOString(),
    outcome: lineage.outcome,
    ...(error
      ? {
          error: {
            type: error.type ?? (error as Error).name ?? 'Error',
            message: String(error.message ?? error),
          },
        }
      : {}),
    ...(lineage.cache?.key
      ? {
          cache: {
            key: lineage.cache.key,
            ...(lineage.cache.reusedFrom
              ? {
                  reusedFrom: {
                    workflowId: lineage.cache.reusedFrom.workflowId,
                    runId: lineage.cache.reusedFrom.runId,
                  },
                }
              : {}),
          },
        }
      : {}),
    inputs: lineage.inputs,
    ...(lineage.outputs ? { outputs: lineage.outputs } : {}),
    ...(lineage.registered ? { registered: lineage.registered } : {}),
  });
}
