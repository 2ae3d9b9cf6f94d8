import { workflowInfo } from '@temporalio/workflow';
import { type RollbackInput, rollbackInputSchema } from '../contracts/inputs';
import type { AliasEntry } from '../domain/registry/aliases';
import { light } from './release';
import { parseWorkflowInput } from './validation';

/**
 * Changes people make by hand, outside a pipeline run. Each is a workflow of one activity, so the
 * alias log and the audit log are written by workers only, with the same retries as a promotion.
 */

/** `slipway rollback`: the alias goes back to the version its current one replaced. */
export async function rollbackAlias(input: RollbackInput): Promise<AliasEntry> {
  const params = parseWorkflowInput(rollbackInputSchema, input, 'rollbackAlias');
  return light.rollbackModel({
    name: params.modelName,
    alias: params.alias,
    actor: params.actor,
    reason: params.reason,
    idempotencyKey: `${workflowInfo().workflowId}/rollback`,
  });
}

/** A schedule changed or a run cancelled: one audit record. */
export async function recordChange(
  entry: Parameters<typeof light.recordChange>[0],
): Promise<{ seq: number }> {
  return light.recordChange(entry);
}
