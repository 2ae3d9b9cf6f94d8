import type { NamespacePolicy } from '../domain/access/policy';
import { parseModelName } from '../domain/registry/modelName';
import { readVersionSignature, verifyStoredVersion } from '../domain/registry/versionSignature';
import { signaturesRequired, signedDecisionProblem } from '../domain/review/decisionSignature';
import type { ReviewRecord } from '../domain/review/records';
import { SigningError } from '../domain/signing/errors';
import { installationPublicKey } from '../domain/signing/installationKey';
import { keyFingerprint, storedKeyFingerprint } from '../domain/signing/keys';
import type { Workspace } from './workspace';

/**
 * Whether a version's review can be trusted, as the console shows it: a signed decision re-verified
 * from the stored review (the signature over its statement, the statement against the review, the
 * key against the approver's keys in the namespace's policy now); an unsigned one with the policy's
 * word on unsigned decisions; the deadline's rejection, which nobody signs.
 */
export type ReviewTrust =
  | { kind: 'signed'; fingerprint: string; verified: boolean; registered: boolean; detail: string }
  | { kind: 'unsigned'; allowed: boolean; detail: string }
  | { kind: 'deadline'; detail: string };

export function reviewTrust(review: ReviewRecord, policy: NamespacePolicy | undefined): ReviewTrust {
  const namespace = parseModelName(review.name).namespace;
  const where = policy ? `namespace ${namespace}'s policy` : `namespace ${namespace}, which has no policy,`;
  if (review.timedOut) {
    return { kind: 'deadline', detail: 'nobody decided before the deadline, which counts as a rejection' };
  }
  if (review.signature === undefined) {
    if (!signaturesRequired(policy)) {
      return {
        kind: 'unsigned',
        allowed: true,
        detail: !policy
          ? `unsigned, as allowed: namespace ${namespace} has no policy, so no approver keys are registered`
          : policy.allowUnsigned
            ? `unsigned, as ${where} allows (--allow-unsigned)`
            : `unsigned, as ${where} allows: it registers no approver keys`,
      };
    }
    return {
      kind: 'unsigned',
      allowed: false,
      detail:
        `unsigned, but ${where} now requires signed decisions (keys were registered after this decision, ` +
        'or the review was altered: `slipway audit verify` checks it against the policy in force then)',
    };
  }
  const registeredKeys = policy?.approverKeys?.[review.approver] ?? [];
  const facts = {
    model: review.name,
    version: review.version,
    decision: review.decision,
    approver: review.approver,
    reason: review.reason,
    workflowId: review.workflowId,
    runId: review.runId,
  };
  const fingerprint = review.signature.keyFingerprint;
  const problem = signedDecisionProblem(review.signature, facts);
  if (problem !== undefined) {
    return {
      kind: 'signed',
      fingerprint,
      verified: false,
      registered: false,
      detail: `does not verify: the stored review ${problem}`,
    };
  }
  const registered =
    signedDecisionProblem(review.signature, facts, { keys: registeredKeys, policy: where }) === undefined;
  return {
    kind: 'signed',
    fingerprint,
    verified: true,
    registered,
    detail: registered
      ? `signed with ${fingerprint}, verified; ${where} registers that key for ${review.approver}`
      : `signed with ${fingerprint}, verified, but ${where} no longer registers that key for ${review.approver} ` +
        `(registered now: ${registeredKeys.length ? registeredKeys.map(storedKeyFingerprint).join(', ') : 'none'})`,
  };
}

/**
 * Whether a decision on `model` must be signed now (its namespace's policy registers approver keys
 * and does not allow unsigned decisions): the console, which holds no private key, then says to
 * decide with the CLI instead of offering a decision the run would refuse.
 */
export async function decisionsMustBeSigned(ws: Workspace, model: string): Promise<boolean> {
  return signaturesRequired(await ws.access.policy(parseModelName(model).namespace));
}

/** The review's trust under the namespace's policy as it is now (see reviewTrust). */
export async function reviewTrustOf(ws: Workspace, review: ReviewRecord): Promise<ReviewTrust> {
  return reviewTrust(review, await ws.access.policy(parseModelName(review.name).namespace));
}

/**
 * Whether a version's ONNX file (with the package signed beside it: the .mlmodel lookup, UPLOAD.txt
 * and the model card) is signed with the installation's key and still matches: what `slipway verify
 * <model>@<version>` says, as a value rather than a refusal.
 */
export type ModelSignatureStatus =
  | { state: 'verified'; signer: string; files: string[]; detail: string }
  | { state: 'mismatch'; signer: string; detail: string; problems: string[] }
  | { state: 'invalid'; detail: string }
  | { state: 'unsigned'; detail: string }
  | { state: 'unverifiable'; detail: string };

export async function modelSignatureStatus(
  ws: Workspace,
  name: string,
  version: number,
): Promise<ModelSignatureStatus> {
  await ws.access.assertCanUse(name, ws.identity);
  let stored: Awaited<ReturnType<typeof readVersionSignature>>;
  try {
    stored = await readVersionSignature(ws.store, name, version);
  } catch (error) {
    if (!(error instanceof SigningError)) throw error;
    return { state: 'invalid', detail: `the stored signature is not one: ${error.message}` };
  }
  if (stored === undefined) {
    return { state: 'unsigned', detail: 'not signed: registered before Slipway signed versions' };
  }
  const key = await installationPublicKey(ws.config.modelSigningKeyPath);
  if (key === undefined) {
    return {
      state: 'unverifiable',
      detail:
        `signed, but not checked here: no public key at ${ws.config.modelSigningKeyPath} (SLIPWAY_MODEL_SIGNING_KEY); ` +
        '`slipway verify` with --public-key checks it where the key is',
    };
  }
  const metadata = await ws.registry.getVersion(name, version);
  try {
    const checked = await verifyStoredVersion(ws.store, metadata, stored.bundle, [key]);
    const signer = keyFingerprint(checked.key);
    if (checked.problems.length > 0) {
      return {
        state: 'mismatch',
        signer,
        detail: `signed by ${signer}, but the stored files differ from what was signed`,
        problems: checked.problems,
      };
    }
    return {
      state: 'verified',
      signer,
      files: checked.files.map((f) => f.name),
      detail: `signed by ${signer} (this installation's key), verified against the stored files`,
    };
  } catch (error) {
    if (!(error instanceof SigningError)) throw error;
    return { state: 'invalid', detail: `the signature does not verify: ${error.message}` };
  }
}
