import { randomUUID } from 'node:crypto';
import {
  type NamespacePolicyChangeInput,
  namespacePolicyChangeInputSchema,
  type PromoteVersionInput,
  promoteVersionInputSchema,
  visibilityChangeInputSchema,
} from '../contracts/inputs';
import type { NamespacePolicy, Sharing, Visibility } from '../domain/access/policy';
import type { AuditEntry } from '../domain/audit/record';
import type { AliasEntry } from '../domain/registry/aliases';
import type {
  changeNamespacePolicy,
  changeVisibility,
  promoteVersion,
  recordChange,
  rollbackAlias,
} from '../workflows/manualChanges';
import { modelOfRun } from './runs';
import type { TemporalAccess } from './temporal';
import type { Workspace } from './workspace';

/**
 * Runs one of the workflows of changes made by hand (workflows/manualChanges.ts) to its end; the
 * domain's refusal inside it comes back as the typed error it was raised as.
 */
async function executeChange<T>(
  temporal: TemporalAccess,
  idPrefix: string,
  execute: (options: { taskQueue: string; workflowId: string }) => Promise<T>,
): Promise<T> {
  const options = {
    taskQueue: temporal.config.taskQueue,
    workflowId: `${idPrefix.replace('/', '.')}-${randomUUID().slice(0, 8)}`,
  };
  return execute(options).catch((err: unknown) => {
    throw refusalOf(err) ?? err;
  });
}

/**
 * Moves an alias (default production) back to the version its current one replaced, through the
 * rollbackAlias workflow (the alias log and the audit log are written by an activity). Checked as
 * the configured identity first, before Temporal is even connected to (`connect`): `actor` names
 * who acts, it does not grant rights.
 */
export async function rollback(
  ws: Workspace,
  connect: () => Promise<TemporalAccess>,
  request: { model: string; alias: string; actor: string; reason: string },
): Promise<AliasEntry> {
  await ws.access.assertCanMoveAliases(request.model, ws.identity, request.alias);
  const temporal = await connect();
  const input = {
    modelName: request.model,
    alias: request.alias,
    actor: request.actor,
    reason: request.reason,
  };
  return executeChange(temporal, `rollback-${request.model}`, (options) =>
    temporal.client.workflow.execute<typeof rollbackAlias>('rollbackAlias', { ...options, args: [input] }),
  );
}

/**
 * Moves an alias to a registered version by hand, through the promoteVersion workflow (after the
 * shadow gate when `shadow` is set). Checked as the configured identity first, as a rollback is.
 */
export async function promote(
  ws: Workspace,
  connect: () => Promise<TemporalAccess>,
  request: Omit<PromoteVersionInput, 'alias'> & { alias: string },
): Promise<Awaited<ReturnType<typeof promoteVersion>>> {
  const input = promoteVersionInputSchema.parse(request);
  await ws.access.assertCanMoveAliases(input.modelName, ws.identity, input.alias);
  await ws.registry.getVersion(input.modelName, input.version);
  const temporal = await connect();
  return executeChange(temporal, `promote-${input.modelName}`, (options) =>
    temporal.client.workflow.execute<typeof promoteVersion>('promoteVersion', { ...options, args: [input] }),
  );
}

/**
 * Creates or changes (merges into) a namespace's policy, as this person (its admins only), through the
 * changeNamespacePolicy workflow. Settings that cannot be are refused before anything starts.
 */
export async function setNamespacePolicy(
  ws: Workspace,
  connect: () => Promise<TemporalAccess>,
  namespace: string,
  people: NamespacePolicyChangeInput['people'],
  /** Settings to remove before `people` is merged in. */
  clear: NamespacePolicyChangeInput['clear'] = [],
): Promise<NamespacePolicy> {
  const input = namespacePolicyChangeInputSchema.parse({ namespace, people, clear, actor: ws.identity });
  const temporal = await connect();
  return executeChange(temporal, `namespace-${namespace}`, (options) =>
    temporal.client.workflow.execute<typeof changeNamespacePolicy>('changeNamespacePolicy', {
      ...options,
      args: [input],
    }),
  );
}

/** Sets who may see and use a model, as this person (namespace admins decide), through changeVisibility. */
export async function shareModel(
  ws: Workspace,
  connect: () => Promise<TemporalAccess>,
  model: string,
  visibility: Visibility,
): Promise<Sharing> {
  const input = visibilityChangeInputSchema.parse({ model, visibility, actor: ws.identity });
  const temporal = await connect();
  return executeChange(temporal, `share-${model}`, (options) =>
    temporal.client.workflow.execute<typeof changeVisibility>('changeVisibility', {
      ...options,
      args: [input],
    }),
  );
}

/**
 * The domain's refusal inside a failed workflow (nothing to roll back, an unknown alias), as the
 * typed, non-retryable error it was raised as, so a caller reports it as bad input, not as a failure.
 */
function refusalOf(err: unknown): Error | undefined {
  // The first non-retryable ApplicationFailure under the workflow and activity wrappers.
  for (
    let cause = err instanceof Error ? err.cause : undefined;
    cause instanceof Error;
    cause = cause.cause
  ) {
    const failure = cause as Error & { type?: unknown; nonRetryable?: unknown };
    if (typeof failure.type === 'string' && failure.nonRetryable === true)
      return Object.assign(new Error(failure.message), { type: failure.type, retryable: false });
  }
  return undefined;
}

/**
 * Records a schedule change, a cancellation or a version a scoring service refused in the audit
 * log, through the recordChange workflow.
 */
export async function auditChange(
  temporal: TemporalAccess,
  entry: AuditEntry & { type: 'schedule-change' | 'cancellation' | 'serving-refusal' | 'serve-report' },
): Promise<void> {
  await executeChange(temporal, `audit-${entry.type}`, (options) =>
    temporal.client.workflow.execute<typeof recordChange>('recordChange', { ...options, args: [entry] }),
  );
}

/**
 * Asks Temporal to cancel a run (the reason travels with the request, and `status` shows it) and
 * records who and why in the audit log. Checked as the configured identity, as a rollback is:
 * `actor` names who acts. A model with no version yet belongs to nobody: there is nothing to check.
 */
export async function cancelRun(
  ws: Workspace,
  temporal: TemporalAccess,
  run: { workflowId: string; runId?: string; workflowType: string },
  request: { actor: string; reason: string },
): Promise<void> {
  const model = await modelOfRun(temporal.client, run.workflowId);
  const known = model ? await ws.registry.listVersions(model).catch(() => []) : [];
  if (model && known.length > 0) await ws.access.assertCanUse(model, ws.identity);
  await temporal.client.workflowService.requestCancelWorkflowExecution({
    namespace: temporal.config.namespace,
    workflowExecution: { workflowId: run.workflowId, runId: run.runId },
    identity: request.actor,
    requestId: randomUUID(),
    reason: request.reason,
  });
  await auditChange(temporal, {
    type: 'cancellation',
    ...(model && known.length > 0 ? { model } : {}),
    actor: request.actor,
    reason: request.reason,
    at: new Date().toISOString(),
    details: {
      workflowId: run.workflowId,
      runId: run.runId,
      workflowType: run.workflowType,
      ...(model ? { modelName: model } : {}),
    },
    idempotencyKey: `${run.workflowId}/${run.runId}/cancel`,
  });
}
