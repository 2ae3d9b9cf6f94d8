import { type GateSettingsInput, gateSettingsSchema } from '../contracts/inputs';
import type { NamespacePolicy } from '../domain/access/policy';
import { type ImportSignatureVerdict, judgeImportSignature } from '../domain/import/importSignature';
import { readOnnxSource } from '../domain/import/readOnnxSource';
import { parseModelName } from '../domain/registry/modelName';
import { reviewForNamespace } from '../domain/review/rules';
import { installationPublicKey } from '../domain/signing/installationKey';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
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

/**
 * An import's signature against the namespace's policy, before anything starts: a file whose
 * signature does not verify, or a missing one where the policy requires it, is refused here (and
 * again by the import step), so nothing is stored.
 */
export async function checkImportSignature(
  ws: Workspace,
  model: string,
  source: string,
  signatureText: string | undefined,
): Promise<ImportSignatureVerdict> {
  const policy = await ws.access.policy(parseModelName(model).namespace);
  if (signatureText === undefined && !policy?.requireSignedImports) return {};
  const file = await readOnnxSource(source, {
    maxBytes: 256 * 1024 * 1024,
    s3: ws.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(ws.config) : undefined,
  });
  const ownKey = await installationPublicKey(ws.config.modelSigningKeyPath);
  return judgeImportSignature(policy, file, signatureText, ownKey);
}
