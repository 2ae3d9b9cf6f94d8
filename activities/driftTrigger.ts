import { AuditLog } from '../domain/audit/auditLog';
import { ModelAliases } from '../domain/registry/aliases';
import { ModelNotFoundError } from '../domain/registry/errors';
import { ModelRegistry } from '../domain/registry/registry';
import { monitoredBatchSchema, monitoringPrefix } from '../domain/validation/monitoring';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

export type DriftTrigger =
  | { drifted: false; reason: string }
  | { drifted: true; version: number; reason: string; recordedAt: string; features: string[] };

/**
 * For a schedule that retrains on drift: did the newest batch the champion (the version behind
 * `alias`) scored with `apply --monitor` drift from its training data? Reads only.
 */
export function driftTriggerActivity(deps: ActivityDeps) {
  return async function driftTrigger(params: { modelName: string; alias: string }): Promise<DriftTrigger> {
    return withFailureMapping(async () => {
      const registry = new ModelRegistry(deps.store);
      const version = await new ModelAliases(registry)
        .resolve(params.modelName, params.alias)
        .catch((err) => {
          if (err instanceof ModelNotFoundError) return undefined;
          throw err;
        });
      if (version === undefined) {
        return {
          drifted: false,
          reason: `no ${params.alias} version of ${params.modelName}: nothing is monitored`,
        };
      }
      const keys = await deps.store.list(monitoringPrefix(params.modelName, version));
      const newest = keys.at(-1);
      const body = newest ? await deps.store.getDocument(newest.key) : undefined;
      if (!body) {
        return {
          drifted: false,
          reason: `v${version} has no monitored batch yet (apply --monitor records them)`,
        };
      }
      const batch = monitoredBatchSchema.parse(JSON.parse(body.toString('utf8')));
      if (batch.drifted.length === 0) {
        return {
          drifted: false,
          reason: `no drift: the newest monitored batch of v${version} (${batch.recordedAt}) drifted on no feature`,
        };
      }
      const figures = batch.features
        .filter((f) => f.drifted)
        .map((f) => `${f.feature} (${f.reason})`)
        .join('; ');
      return {
        drifted: true,
        version,
        recordedAt: batch.recordedAt,
        features: batch.drifted,
        reason: `the batch v${version} scored at ${batch.recordedAt} (${batch.input}) drifted: ${figures}`,
      };
    });
  };
}

/** The audit record of a retrain a schedule started because of drift. */
export function recordDriftRetrainActivity(deps: ActivityDeps) {
  return async function recordDriftRetrain(params: {
    modelName: string;
    version: number;
    scheduleId: string;
    reason: string;
    features: string[];
    at: string;
    idempotencyKey: string;
  }): Promise<{ seq: number }> {
    return withFailureMapping(async () => {
      const { record } = await new AuditLog(deps.store).append({
        type: 'drift-retrain',
        model: params.modelName,
        version: params.version,
        actor: `schedule:${params.scheduleId}`,
        reason: params.reason,
        at: params.at,
        details: { scheduleId: params.scheduleId, drifted: params.features },
        idempotencyKey: params.idempotencyKey,
      });
      return { seq: record.seq };
    });
  };
}
