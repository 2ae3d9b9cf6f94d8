import { workflowInfo } from '@temporalio/workflow';
import type { Promotion } from '../activities/promote';
import {
  type NamespacePolicyChangeInput,
  namespacePolicyChangeInputSchema,
  type PromoteVersionInput,
  promoteVersionInputSchema,
  type RollbackInput,
  recordedChangeInputSchema,
  rollbackInputSchema,
  type VisibilityChangeInput,
  visibilityChangeInputSchema,
} from '../contracts/inputs';
import type { NamespacePolicy, Sharing } from '../domain/access/policy';
import type { GateDecision } from '../domain/gate/metricGate';
import { modelEvent, type NotificationEvent } from '../domain/notify/events';
import type { AliasEntry } from '../domain/registry/aliases';
import { notify } from './notify';
import { light } from './release';
import { parseWorkflowInput } from './validation';

/**
 * Changes people make by hand, outside a pipeline run. Each is a workflow of one activity, so the
 * alias log, the access settings and the audit log are written by workers only, with the same
 * retries as a promotion (each activity appends its audit record once, by an idempotency key).
 */

/** `slipway rollback`: the alias goes back to the version its current one replaced. */
export async function rollbackAlias(input: RollbackInput): Promise<AliasEntry> {
  const params = parseWorkflowInput(rollbackInputSchema, input, 'rollbackAlias');
  const { workflowId } = workflowInfo();
  const entry = await light.rollbackModel({
    name: params.modelName,
    alias: params.alias,
    actor: params.actor,
    reason: params.reason,
    idempotencyKey: `${workflowId}/rollback`,
  });
  await notify(
    changeEvent(params.modelName, entry.version, {
      type: 'alias.rolled_back',
      summary: `${entry.alias} of ${params.modelName} went back to v${entry.version}${
        entry.previous === null ? '' : ` from v${entry.previous}`
      }, by ${params.actor}: ${params.reason}`,
      details: {
        alias: entry.alias,
        from: entry.previous,
        to: entry.version,
        actor: params.actor,
        reason: params.reason,
      },
    }),
  );
  return entry;
}

/**
 * `slipway promote <model>@<version>`: a registered version (one that served in shadow, say) moved
 * to an alias by a person. With shadow settings, the shadow gate judges the latest serve-report of
 * it in shadow of the alias's version first: blocked, nothing moves; passed, the alias moves only
 * if it still points where the report's answering version was.
 */
export async function promoteVersion(
  input: PromoteVersionInput,
): Promise<{ outcome: 'promoted' | 'blocked' | 'superseded'; gate?: GateDecision; promotion?: Promotion }> {
  const params = parseWorkflowInput(promoteVersionInputSchema, input, 'promoteVersion');
  const gate = params.shadow
    ? await light.evaluateShadowGate({
        modelName: params.modelName,
        version: params.version,
        alias: params.alias,
        settings: params.shadow,
      })
    : undefined;
  const { workflowId } = workflowInfo();
  if (gate && !gate.decision.blessed) {
    const failed = gate.decision.checks.filter((c) => !c.passed);
    await notify(
      changeEvent(params.modelName, params.version, {
        type: 'version.blocked',
        summary: `the shadow gate blocked ${params.modelName} v${params.version} for ${params.alias}: ${failed
          .map((c) => c.message)
          .join('; ')}`,
        details: {
          alias: params.alias,
          failedChecks: failed,
          champion: gate.decision.champion?.version ?? null,
        },
      }),
    );
    return { outcome: 'blocked', gate: gate.decision };
  }
  const promotion = await light.promoteModel({
    name: params.modelName,
    version: params.version,
    alias: params.alias,
    ...(gate ? { expectedCurrent: gate.champion } : {}),
    actor: params.actor,
    reason: params.reason,
    idempotencyKey: `${workflowId}/promote`,
    byHand: true,
  });
  if (promotion.promoted) {
    await notify(
      changeEvent(params.modelName, params.version, {
        type: 'version.promoted',
        summary: `${params.modelName} v${params.version} is now ${promotion.alias}${
          promotion.previous === null ? '' : ` (was v${promotion.previous})`
        }, promoted by ${params.actor}: ${params.reason}`,
        details: {
          alias: promotion.alias,
          previous: promotion.previous,
          approvedBy: null,
          actor: params.actor,
          reason: params.reason,
        },
      }),
    );
  }
  return {
    outcome: promotion.promoted ? 'promoted' : 'superseded',
    ...(gate ? { gate: gate.decision } : {}),
    promotion,
  };
}

/** A schedule changed or a run cancelled: one audit record. */
export async function recordChange(
  entry: Parameters<typeof light.recordChange>[0],
): Promise<{ seq: number }> {
  parseWorkflowInput(recordedChangeInputSchema, entry, 'recordChange');
  return light.recordChange(entry);
}

/** `slipway namespace set`: a namespace's policy, created or changed by one of its admins. */
export async function changeNamespacePolicy(input: NamespacePolicyChangeInput): Promise<NamespacePolicy> {
  const params = parseWorkflowInput(namespacePolicyChangeInputSchema, input, 'changeNamespacePolicy');
  return light.setNamespacePolicy({ ...params, idempotencyKey: `${workflowInfo().workflowId}/policy` });
}

/** `slipway share`: who may see and use a model. */
export async function changeVisibility(input: VisibilityChangeInput): Promise<Sharing> {
  const params = parseWorkflowInput(visibilityChangeInputSchema, input, 'changeVisibility');
  return light.setVisibility({ ...params, idempotencyKey: `${workflowInfo().workflowId}/visibility` });
}

/**
 * The notification of a change made by hand: this workflow's ids, at workflow time (deterministic
 * on replay), built when notify asks for it.
 */
function changeEvent(
  model: string,
  version: number,
  fields: Pick<NotificationEvent, 'type' | 'summary' | 'details'>,
): () => NotificationEvent {
  const { workflowId, runId } = workflowInfo();
  return () =>
    modelEvent({
      type: fields.type,
      model,
      version,
      occurredAt: new Date(Date.now()).toISOString(),
      summary: fields.summary,
      details: fields.details,
      workflowId,
      runId,
    });
}
