import { type NamespacePolicy, namespacePolicySchema } from '../access/policy';
import { DEFAULT_NAMESPACE, parseModelName } from '../registry/modelName';
import {
  type SignedDecision,
  signaturesRequired,
  signedDecisionProblem,
  signedDecisionSchema,
} from '../review/decisionSignature';
import type { ArtifactStore } from '../storage/artifactStore';
import { sha256Hex } from '../storage/hashing';
import { mapLimited } from './auditLog';
import { recordKey } from './layout';
import type { AuditRecord } from './record';

export type DecisionProblemType = 'signature-invalid' | 'unsigned-decision' | 'document-mismatch';

export interface DecisionProblem {
  seq: number;
  key: string;
  problem: DecisionProblemType;
  detail: string;
}

/**
 * What `audit verify` checks beyond the chain for review decisions and the documents records name:
 * - every signed approval or rejection: the signature verifies over its statement, the statement
 *   is about what the record says (model, version, decision, approver, reason, run), and the key was
 *   registered for the approver by the namespace's policy in force then (the latest namespace-change
 *   record before it);
 * - an unsigned decision (not the deadline's) where that policy required signatures;
 * - every document a record names by key and sha256 (the stored review, a model's signature
 *   bundle) still has those bytes, so one altered byte of a stored review fails its record.
 */
export async function decisionProblems(
  store: ArtifactStore,
  records: AuditRecord[],
  concurrency: number,
): Promise<{ signaturesChecked: number; documentsChecked: number; problems: DecisionProblem[] }> {
  const problems: DecisionProblem[] = [];
  const policies = new Map<string, NamespacePolicy>();
  let signaturesChecked = 0;
  const documents: Array<{ seq: number; key: string; sha256: string; what: string }> = [];
  for (const record of [...records].sort((a, b) => a.seq - b.seq)) {
    const problem = (kind: DecisionProblemType, detail: string) =>
      problems.push({
        seq: record.seq,
        key: recordKey(record.seq),
        problem: kind,
        detail: `record ${record.seq} ${detail}`,
      });
    if (record.type === 'namespace-change') {
      const parsed = namespacePolicySchema.safeParse(record.details.policy);
      if (parsed.success) policies.set(parsed.data.namespace, parsed.data);
      continue;
    }
    for (const [field, what] of [
      ['reviewDocument', 'the stored review'],
      ['signatureDocument', "the version's signature bundle"],
    ] as const) {
      const doc = record.details[field] as { key?: unknown; sha256?: unknown } | undefined;
      if (doc && typeof doc.key === 'string' && typeof doc.sha256 === 'string') {
        documents.push({ seq: record.seq, key: doc.key, sha256: doc.sha256, what });
      }
    }
    if (record.type !== 'approval' && record.type !== 'rejection') continue;
    const namespace = record.model ? parseModelName(record.model).namespace : DEFAULT_NAMESPACE;
    const policy = policies.get(namespace);
    if (record.details.signature === undefined) {
      if (record.details.timedOut !== true && signaturesRequired(policy)) {
        problem(
          'unsigned-decision',
          `is an unsigned ${record.type} by ${record.actor}, but the policy of namespace ${namespace} in force then required signed decisions`,
        );
      }
      continue;
    }
    signaturesChecked++;
    const parsed = signedDecisionSchema.safeParse(record.details.signature);
    if (!parsed.success) {
      problem('signature-invalid', 'has a signature that is not a signed decision (the record was altered)');
      continue;
    }
    const why = signatureProblem(record, parsed.data, policy);
    if (why) problem('signature-invalid', why);
  }
  const found = await mapLimited(documents, concurrency, async (doc) => {
    const bytes = await store.getDocument(doc.key);
    if (bytes === undefined) return { ...doc, detail: `names ${doc.what} ${doc.key}, which is gone` };
    const actual = sha256Hex(bytes);
    if (actual === doc.sha256) return undefined;
    return {
      ...doc,
      detail: `names ${doc.what} ${doc.key} with sha256 ${doc.sha256}, but it now hashes to ${actual}: it was altered`,
    };
  });
  for (const doc of found) {
    if (doc)
      problems.push({
        seq: doc.seq,
        key: recordKey(doc.seq),
        problem: 'document-mismatch',
        detail: `record ${doc.seq} ${doc.detail}`,
      });
  }
  return { signaturesChecked, documentsChecked: documents.length, problems };
}

/** Why a signed decision's record does not hold up, or undefined when it does. */
function signatureProblem(
  record: AuditRecord,
  signed: SignedDecision,
  policy: NamespacePolicy | undefined,
): string | undefined {
  const registered = policy?.approverKeys?.[signed.statement.approver];
  return signedDecisionProblem(
    signed,
    {
      model: record.model,
      version: record.version,
      decision: record.type === 'approval' ? 'approved' : 'rejected',
      approver: record.actor,
      reason: record.reason ?? '',
      workflowId: record.details.workflowId,
      runId: record.details.runId,
    },
    policy && registered !== undefined
      ? { keys: registered, policy: `the policy of namespace ${policy.namespace} in force then` }
      : undefined,
  );
}
