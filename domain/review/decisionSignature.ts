import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { NamespacePolicy } from '../access/policy';
import { canonicalJson } from '../cache/canonicalJson';
import { SigningError } from '../signing/errors';
import { keyFingerprint, parsePublicKey, publicKeyText } from '../signing/keys';
import { sha256Hex } from '../storage/hashing';

/**
 * What a person signs when they approve or reject a version: the run, the version, the exact ONNX
 * file and gate verdict they looked at, their decision and reason, and when. The signature is
 * Ed25519 over the canonical JSON of this statement (keys sorted, no whitespace), so anyone holding
 * the public key can check it again from the stored record alone.
 */
export const DECISION_STATEMENT_TYPE = 'slipway.review-decision/v1';

export const decisionStatementSchema = z.strictObject({
  type: z.literal(DECISION_STATEMENT_TYPE),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  model: z.string().min(1),
  version: z.number().int().min(1),
  onnxSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha256 of the canonical JSON of the gate verdict stored with the version (see gateDigest). */
  gateSha256: z.string().regex(/^[0-9a-f]{64}$/),
  decision: z.enum(['approved', 'rejected']),
  approver: z.string().min(1),
  reason: z.string(),
  /** ISO time the person signed at (their clock). */
  signedAt: z.iso.datetime({ offset: true }),
});
export type DecisionStatement = z.infer<typeof decisionStatementSchema>;

/** What travels with a signed decision: the public key (its OpenSSH line) and the signature. */
export const decisionSignatureSchema = z.strictObject({
  publicKey: z.string().min(1),
  signature: z.string().min(1),
  signedAt: z.iso.datetime({ offset: true }),
});
export type DecisionSignature = z.infer<typeof decisionSignatureSchema>;

/** A verified signature as records keep it: the statement, the key and its fingerprint, the signature. */
export const signedDecisionSchema = z.strictObject({
  statement: decisionStatementSchema,
  publicKey: z.string().min(1),
  keyFingerprint: z.string().min(1),
  signature: z.string().min(1),
});
export type SignedDecision = z.infer<typeof signedDecisionSchema>;

/** The statement a decision on `metadata`'s version in run `run` signs, from the registry's record of it. */
export function decisionStatement(
  metadata: { name: string; version: number; artifacts: { onnx: { sha256: string } }; gate?: unknown },
  run: { workflowId: string; runId: string },
  decision: { decision: 'approved' | 'rejected'; approver: string; reason: string; signedAt: string },
): DecisionStatement {
  return {
    type: DECISION_STATEMENT_TYPE,
    workflowId: run.workflowId,
    runId: run.runId,
    model: metadata.name,
    version: metadata.version,
    onnxSha256: metadata.artifacts.onnx.sha256,
    gateSha256: gateDigest(metadata.gate),
    decision: decision.decision,
    approver: decision.approver.trim(),
    reason: decision.reason.trim(),
    signedAt: decision.signedAt,
  };
}

/** The gate verdict's digest, as the statement names it (null when a version has no gate verdict). */
export function gateDigest(gate: unknown): string {
  return sha256Hex(canonicalJson(gate ?? null));
}

export function statementBytes(statement: DecisionStatement): Buffer {
  return Buffer.from(canonicalJson(decisionStatementSchema.parse(statement)), 'utf8');
}

/** Signs with a person's Ed25519 private key; the result is what the approve/reject Update carries. */
export function signDecision(statement: DecisionStatement, privateKey: KeyObject): DecisionSignature {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new SigningError('InvalidKey', 'decisions are signed with Ed25519 keys (ssh-keygen -t ed25519)');
  }
  return {
    publicKey: publicKeyText(createPublicKey(privateKey)),
    signature: sign(null, statementBytes(statement), privateKey).toString('base64'),
    signedAt: statement.signedAt,
  };
}

/**
 * Whatever holds the private key: a key file read into this process, or an SSH agent
 * (domain/signing/sshAgent.ts) that signs without the key ever leaving it.
 */
export interface DecisionSigner {
  publicKey: KeyObject;
  sign(data: Buffer): Promise<Buffer>;
}

/** Signs with a signer (a key in this process or an agent's); the same signature signDecision makes. */
export async function signDecisionWith(
  statement: DecisionStatement,
  signer: DecisionSigner,
): Promise<DecisionSignature> {
  if (signer.publicKey.asymmetricKeyType !== 'ed25519') {
    throw new SigningError('InvalidKey', 'decisions are signed with Ed25519 keys (ssh-keygen -t ed25519)');
  }
  return {
    publicKey: publicKeyText(signer.publicKey),
    signature: (await signer.sign(statementBytes(statement))).toString('base64'),
    signedAt: statement.signedAt,
  };
}

/**
 * Several keys that could sign, as an SSH agent offers them (`approve --agent` with more than one
 * Ed25519 key in the agent): the one the namespace's policy registers for the approver signs.
 */
export interface SignerChoice {
  candidates: DecisionSigner[];
  /** Where the keys are, for messages: "the SSH agent at /tmp/ssh-XXX/agent.123". */
  source: string;
}

/**
 * The candidate whose public key the policy registers for `approver` (matched by fingerprint).
 * None, or more than one, is refused with the candidates' fingerprints and the registered ones, so
 * the person knows which key to add to the agent or to name with `--key <its .pub file>`.
 */
export function chooseSigner(
  choice: SignerChoice,
  policy: NamespacePolicy | undefined,
  approver: string,
): DecisionSigner {
  const where = policy ? `namespace ${policy.namespace}'s policy` : 'the namespace (it has no policy)';
  const registered = new Set(
    (policy?.approverKeys?.[approver] ?? []).map((text) =>
      keyFingerprint(parsePublicKey(text, `the policy of ${where}`)),
    ),
  );
  const offered = choice.candidates.map((c) => keyFingerprint(c.publicKey));
  const matching = choice.candidates.filter((_, i) => registered.has(offered[i] as string));
  if (matching.length === 1) return matching[0] as DecisionSigner;
  if (matching.length === 0) {
    throw new SigningError(
      'SignatureKeyNotRegistered',
      `${choice.source} holds ${offered.length} Ed25519 keys (${offered.join(', ')}), and ${where} registers none of them ` +
        `for ${approver} (registered: ${registered.size ? [...registered].join(', ') : 'none'}). Add ${approver}'s registered key ` +
        `to the agent (ssh-add <key file>), name another with --key <its .pub file>, or ask an admin to register one (slipway namespace set ... --approver-key).`,
    );
  }
  throw new SigningError(
    'SignerAmbiguous',
    `${choice.source} holds ${matching.length} keys that ${where} registers for ${approver} ` +
      `(${matching.map((c) => keyFingerprint(c.publicKey)).join(', ')}): name the one to sign with, --key <its .pub file>.`,
  );
}

/** A private key held by this process, as a signer. */
export function keySigner(privateKey: KeyObject): DecisionSigner {
  return { publicKey: createPublicKey(privateKey), sign: async (data) => sign(null, data, privateKey) };
}

/** True when `signature` (base64) is `publicKey`'s Ed25519 signature of the statement. */
export function signatureMatches(
  statement: DecisionStatement,
  signature: string,
  publicKey: KeyObject,
): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519') return false;
  try {
    return verify(null, statementBytes(statement), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** What a namespace's policy says about signatures on its reviews. */
export function signaturesRequired(policy: NamespacePolicy | undefined): boolean {
  const keys = policy?.approverKeys ?? {};
  return Object.values(keys).some((list) => list.length > 0) && policy?.allowUnsigned !== true;
}

export type DecisionVerdict = { signed: true; record: SignedDecision } | { signed: false };

/**
 * The policy's judgement of a decision: signed by a key the policy registers for that approver and
 * valid over `statement`, or unsigned where the policy allows it. Anything else is refused with a
 * SigningError that says what to do.
 */
export function judgeDecision(
  policy: NamespacePolicy | undefined,
  statement: DecisionStatement,
  signature: DecisionSignature | undefined,
): DecisionVerdict {
  const where = policy ? `namespace ${policy.namespace}` : 'this namespace';
  if (signature === undefined) {
    if (!signaturesRequired(policy)) return { signed: false };
    throw new SigningError(
      'SignatureRequired',
      `${where} requires signed decisions: sign with your key (--key <private key file>, or --key <its .pub file> with the key in an SSH agent); ${statement.approver}'s ` +
        `registered keys: ${registeredKeys(policy, statement.approver)}.`,
    );
  }
  const key = parsePublicKey(signature.publicKey, 'the decision signature');
  const fingerprint = keyFingerprint(key);
  const registered = (policy?.approverKeys?.[statement.approver] ?? []).map((text) =>
    keyFingerprint(parsePublicKey(text, `the policy of ${where}`)),
  );
  if (!registered.includes(fingerprint)) {
    throw new SigningError(
      'SignatureKeyNotRegistered',
      `the decision is signed with key ${fingerprint}, which ${where}'s policy does not register for ` +
        `${statement.approver} (registered: ${registeredKeys(policy, statement.approver)}). ` +
        `Sign with ${statement.approver}'s own key, or ask an admin to register it (slipway namespace set ... --approver-key).`,
    );
  }
  if (signature.signedAt !== statement.signedAt || !signatureMatches(statement, signature.signature, key)) {
    throw new SigningError(
      'SignatureInvalid',
      `the signature by ${fingerprint} does not match this decision (run, version, ONNX file, gate verdict, ` +
        'decision, reason and time): it was made for something else, or altered on the way. Sign again.',
    );
  }
  return {
    signed: true,
    record: {
      statement,
      publicKey: publicKeyText(key),
      keyFingerprint: fingerprint,
      signature: signature.signature,
    },
  };
}

/** What a stored decision says about itself, for checking its signed statement against. */
export interface DecisionFacts {
  model?: string;
  version?: number;
  decision: 'approved' | 'rejected';
  approver: string;
  reason: string;
  workflowId?: unknown;
  runId?: unknown;
}

/**
 * Why a stored signed decision does not hold up, or undefined when it does: its statement is about
 * what the record says, the key is the one it names, the signature verifies over the statement,
 * and (when `registered` is given: the keys a policy registers for the approver) the key is one of
 * them. `audit verify` checks each approval and rejection record with it (against the policy in
 * force then), the console each version's review (against the policy now).
 */
export function signedDecisionProblem(
  signed: SignedDecision,
  facts: DecisionFacts,
  registered?: { keys: readonly string[]; policy: string },
): string | undefined {
  const { statement } = signed;
  for (const [field, value] of Object.entries(facts)) {
    if ((statement as Record<string, unknown>)[field] !== value) {
      return `signs ${field} ${JSON.stringify((statement as Record<string, unknown>)[field])}, but the record says ${JSON.stringify(value)}`;
    }
  }
  let key: KeyObject;
  try {
    key = parsePublicKey(signed.publicKey, 'the signing key');
  } catch (error) {
    return `names a signing key that is not one (${(error as Error).message})`;
  }
  const fingerprint = keyFingerprint(key);
  if (fingerprint !== signed.keyFingerprint) {
    return `says it was signed with ${signed.keyFingerprint}, but its key is ${fingerprint}`;
  }
  if (!signatureMatches(statement, signed.signature, key)) {
    return `has a signature by ${fingerprint} that does not verify over its statement`;
  }
  if (registered !== undefined) {
    const allowed = registered.keys.map((text) => {
      try {
        return keyFingerprint(parsePublicKey(text, 'policy'));
      } catch {
        return '';
      }
    });
    if (!allowed.includes(fingerprint)) {
      return `is signed with ${fingerprint}, which ${registered.policy} did not register for ${statement.approver}`;
    }
  }
  return undefined;
}

function registeredKeys(policy: NamespacePolicy | undefined, approver: string): string {
  const keys = policy?.approverKeys?.[approver] ?? [];
  if (keys.length === 0) return 'none';
  return keys.map((text) => keyFingerprint(parsePublicKey(text, 'the policy'))).join(', ');
}
