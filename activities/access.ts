import { ModelAccess } from '../domain/access/modelAccess';
import type { NamespacePolicy, Sharing, Visibility } from '../domain/access/policy';
import { ModelRegistry } from '../domain/registry/registry';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

export interface SetNamespacePolicyParams {
  namespace: string;
  people: Pick<NamespacePolicy, 'admins' | 'members' | 'importers' | 'approvers'>;
  actor: string;
  idempotencyKey: string;
}

/** Creates or changes a namespace's policy (its admins only), audited. */
export function setNamespacePolicyActivity(deps: ActivityDeps) {
  return async function setNamespacePolicy(params: SetNamespacePolicyParams): Promise<NamespacePolicy> {
    return withFailureMapping(() =>
      new ModelAccess(new ModelRegistry(deps.store)).setPolicy(
        params.namespace,
        params.people,
        params.actor,
        new Date().toISOString(),
        params.idempotencyKey,
      ),
    );
  };
}

export interface SetVisibilityParams {
  model: string;
  visibility: Visibility;
  actor: string;
  idempotencyKey: string;
}

/** Sets who may see and use a model (namespace admins decide), audited. */
export function setVisibilityActivity(deps: ActivityDeps) {
  return async function setVisibility(params: SetVisibilityParams): Promise<Sharing> {
    return withFailureMapping(() =>
      new ModelAccess(new ModelRegistry(deps.store)).setVisibility(
        params.model,
        params.visibility,
        params.actor,
        new Date().toISOString(),
        params.idempotencyKey,
      ),
    );
  };
}
