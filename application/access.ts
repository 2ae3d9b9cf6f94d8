import { type GateSettingsInput, gateSettingsSchema } from '../contracts/inputs';
import type { NamespacePolicy } from '../domain/access/policy';
import { reviewForNamespace } from '../domain/review/rules';
import type { Workspace } from './workspace';

/** A namespace's policy, or undefined when it has none. */
export function namespacePolicy(ws: Workspace, namespace: string): Promise<NamespacePolicy | undefined> {
  return ws.access.policy(namespace);
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
  const promotesTo = gate.promote === false ? undefined : (gate.alias ?? 'production');
  const review = await reviewForNamespace(ws.access, model, gate.review, reviewByDefault, promotesTo);
  return review === gate.review ? gate : gateSettingsSchema.parse({ ...gate, review });
}

/** Refuses, with the reason, an import into a namespace this person may not import into. */
export function assertCanImport(ws: Workspace, model: string): Promise<void> {
  return ws.access.assertCanImport(model, ws.identity);
}
