import { ModelAccess } from '../domain/access/modelAccess';
import type { NamespacePolicy, Sharing, Visibility } from '../domain/access/policy';
import type { PolicyChange, PolicySettings } from '../domain/access/policyChanges';
import { ModelRegistry } from '../domain/registry/registry';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

/** An access change made now, by `params.actor`, audited once per idempotency key. */
function accessChange<P extends { actor: string; idempotencyKey: string }, R>(
  deps: ActivityDeps,
  change: (access: ModelAccess, params: P, at: string) => Promise<R>,
) {
  return (params: P): Promise<R> =>
    withFailureMapping(() =>
      change(new ModelAccess(new ModelRegistry(deps.store)), params, new Date().toISOString()),
    );
}

export interface SetNamespacePolicyParams {
  namespace: string;
  /** The settings to set (merged into the current policy; runs before merging sent whole policies). */
  people: Partial<PolicySettings>;
  /** The settings to remove first. */
  clear?: PolicyChange['clear'];
  actor: string;
  idempotencyKey: string;
}

/** Creates or changes a namespace's policy (its admins only). */
export const setNamespacePolicyActivity = (deps: ActivityDeps) =>
  accessChange(
    deps,
    (access, p: SetNamespacePolicyParams, at): Promise<NamespacePolicy> =>
      access.setPolicy(p.namespace, { set: p.people, clear: p.clear }, p.actor, at, p.idempotencyKey),
  );

export interface SetVisibilityParams {
  model: string;
  visibility: Visibility;
  actor: string;
  idempotencyKey: string;
}

/** Sets who may see and use a model (namespace admins decide). */
export const setVisibilityActivity = (deps: ActivityDeps) =>
  accessChange(
    deps,
    (access, p: SetVisibilityParams, at): Promise<Sharing> =>
      access.setVisibility(p.model, p.visibility, p.actor, at, p.idempotencyKey),
  );
