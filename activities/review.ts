import { ModelAccess } from '../domain/access/modelAccess';
import { AuditLog } from '../domain/audit/auditLog';
import { parseModelName } from '../domain/registry/modelName';
import { ModelRegistry } from '../domain/registry/registry';
import {
  type DecisionSignature,
  decisionStatement,
  judgeDecision,
  type SignedDecision,
} from '../domain/review/decisionSignature';
import { recordReview as writeReview } from '../domain/review/records';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';

export interface RecordReviewParams {
  name: string;
  version: number;
  decision: 'approved' | 'rejected';
  approver: string;
  reason: string;
  timedOut: boolean;
  workflowId: string;
  runId: string;
  /** The verified signature of a signed decision; absent: unsigned (or the deadline's). */
  signature?: SignedDecision;
}

/** Keeps a person's decision (or the deadline's) beside the version it is about. */
export function recordReviewActivity(deps: ActivityDeps) {
  return async function recordReview(params: RecordReviewParams): Promise<{ created: boolean }> {
    return withFailureMapping(async () => {
      const { signature, ...fields } = params;
      const { record, created, key, sha256 } = await writeReview(new ModelRegistry(deps.store), {
        ...fields,
        at: new Date().toISOString(),
        signed: signature !== undefined,
        ...(signature ? { signature } : {}),
      });
      await new AuditLog(deps.store).append({
        type: params.decision === 'approved' ? 'approval' : 'rejection',
        model: params.name,
        version: params.version,
        actor: params.approver,
        reason: params.reason,
        at: record.at,
        details: {
          timedOut: params.timedOut,
          workflowId: params.workflowId,
          runId: params.runId,
          // `audit verify` re-checks the signature and that the stored review still has these bytes.
          signed: record.signed === true,
          ...(record.signature ? { signature: record.signature } : {}),
          reviewDocument: { key, sha256 },
        },
        idempotencyKey: `${params.workflowId}/${params.runId}/review`,
      });
      return { created };
    });
  };
}

export interface VerifyReviewDecisionParams {
  name: string;
  version: number;
  workflowId: string;
  runId: string;
  decision: 'approved' | 'rejected';
  approver: string;
  reason: string;
  signature?: DecisionSignature;
}

/**
 * Judges a decision before the run takes it (called by the approve/reject Update's handler, since
 * a validator can run no activity and the workflow sandbox has no crypto): its signature must be
 * by a key the namespace's policy registers for the approver, over this run, this version's ONNX
 * file and gate verdict as the registry holds them, the decision and the reason; unsigned only
 * where the policy allows it. Refusals are non-retryable SigningErrors.
 */
export function verifyReviewDecisionActivity(deps: ActivityDeps) {
  return async function verifyReviewDecision(
    params: VerifyReviewDecisionParams,
  ): Promise<{ signed: boolean; record?: SignedDecision }> {
    return withFailureMapping(async () => {
      const registry = new ModelRegistry(deps.store);
      const metadata = await registry.getVersion(params.name, params.version);
      const policy = await new ModelAccess(registry).policy(parseModelName(params.name).namespace);
      const statement = decisionStatement(metadata, params, {
        ...params,
        signedAt: params.signature?.signedAt ?? new Date().toISOString(),
      });
      const verdict = judgeDecision(policy, statement, params.signature);
      return verdict.signed ? { signed: true, record: verdict.record } : { signed: false };
    });
  };
}
