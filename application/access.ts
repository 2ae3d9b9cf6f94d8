import { type GateSettingsInput, gateSettingsSchema } from '../contracts/inputs';
import type { NamespacePolicy, Sharing, Visibility } from '../domain/access/policy';
import { reviewForNamespace } from '../domain/review/rules';
import type { Workspace } from './workspace';

/** A namespace's policy, or undefined when it has none. */
export function namespacePolicy(ws: Workspace, namespace: string): Promise<NamespacePolicy | undefined> {
  return ws.access.policy(namespace);
}

/** Creates or changes a namespace's policy, as this person (its admins only; audited). */
export function setNamespacePolicy(
  ws: Workspace,
  namespace: string,
  people: { admins: string[]; members: string[]; importers?: string[]; approvers?: string[] },
): Promise<NamespacePolicy> {
  return ws.access.setPolicy(namespace, people, ws.identity, new Date().toISOString());
}

/** Sets who may see and use a model, as this person (namespace admins decide; audited). */
export function shareModel(ws: Workspace, model: string, visibility: Visibility): Promise<Sharing> {
  return ws.access.setVisibility(model, visibility, ws.identity, new Date().toISOString());
}

/**
 * The gate settings a run of `model` starts with: its review checked against the namespace's
 * approvers (domain/review/rules), the one place that rule is applied before a run starts.
 */
export async function gateForModel(
  ws: Workspace,
  model: string,
  gate: GateSettingsInput,
  reviewByDefault = false,
): Promise<GateSettingsInput> {
  const review = await reviewForNamespace(ws.access, model, gate.review, reviewByDefault);
  return review === gate.review ? gate : gateSettingsSchema.parse({ ...gate, review });
}

/** Refuses, with the reason, an import into a namespace this person may not import into. */
export function assertCanImport(ws: Workspace, model: string): Promise<void> {
  return ws.access.assertCanImport(model, ws.identity);
}
