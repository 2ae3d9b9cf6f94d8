import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  approveUpdate,
  DEADLINE_APPROVER,
  type ReviewDecision,
  rejectUpdate,
  SIGNED_DECISIONS_PATCH,
} from '../contracts/review';
import { type ReviewPolicy, type ReviewRequest, reviewRefusal } from '../domain/review/rules';
import { light } from './release';

/**
 * Registers the approve/reject Updates at the start of a run (so an early one is refused at once
 * rather than buffered), and later waits for one, or for the deadline. The validators refuse,
 * before anything is written to history, what the review rules refuse (domain/review/rules);
 * the failure's type names the rule, so each client can phrase its own hint.
 *
 * A validator must be synchronous and deterministic and cannot run activities, and the workflow
 * sandbox has no crypto, so the signature is judged by the handler: it calls the
 * verifyReviewDecision activity (the namespace's policy and the version's ONNX sha256 and gate
 * verdict come from the store) and takes the decision only if that accepts it. A refusal fails the
 * Update, not the run, which goes on waiting.
 */
export function reviewGate() {
  let policy: ReviewPolicy | undefined;
  let decided: ReviewDecision | undefined;
  let notWaiting = 'the pipeline has not reached its review yet';
  let openedAt = 0;

  const refuse = (request: ReviewRequest) => {
    const refusal = reviewRefusal({ policy, decided, notWaiting }, request);
    if (refusal) throw ApplicationFailure.create({ type: refusal.kind, message: refusal.message });
  };
  const decide = (decision: ReviewDecision['decision']) => async (request: ReviewRequest) => {
    const approver = request.approver.trim();
    const reason = request.reason.trim();
    let verdict: Pick<ReviewDecision, 'signed' | 'signature'> = {};
    if (policy && patched(SIGNED_DECISIONS_PATCH)) {
      const { workflowId, runId } = workflowInfo();
      const checked = await light
        .verifyReviewDecision({
          name: policy.model,
          version: policy.version,
          workflowId,
          runId,
          decision,
          approver,
          reason,
          ...(request.signature ? { signature: request.signature } : {}),
        })
        .catch((err: unknown) => {
          throw refusalOf(err);
        });
      // Another decision may have been taken while this one was being checked.
      refuse(request);
      verdict = { signed: checked.signed, ...(checked.record ? { signature: checked.record } : {}) };
    }
    decided = { decision, approver, reason, decidedAt: Date.now(), timedOut: false, ...verdict };
    return decided;
  };
  const open = (review: ReviewPolicy): void => {
    if (policy) return;
    policy = review;
    openedAt = Date.now();
  };
  setHandler(approveUpdate, decide('approved'), { validator: refuse });
  setHandler(rejectUpdate, decide('rejected'), { validator: refuse });

  return {
    /** Why an Update sent now would be refused, once the run knows it will never wait. */
    close(reason: string): void {
      notWaiting = reason;
    },
    /**
     * Opens the review: decisions are taken from now on. Opened before the run tells anyone
     * (the review.requested webhook), so a person who answers the notification at once is not
     * refused as too early.
     */
    open,
    /** Opens the review if not yet, and resolves with the decision, or a rejection "timed out" at the deadline. */
    async wait(review: ReviewPolicy): Promise<ReviewDecision & { deadline: number }> {
      open(review);
      const deadline = openedAt + review.timeoutMs;
      const inTime = await condition(() => decided !== undefined, Math.max(deadline - Date.now(), 1));
      if (!inTime || !decided) {
        decided = {
          decision: 'rejected',
          approver: DEADLINE_APPROVER,
          reason: 'timed out',
          decidedAt: Date.now(),
          timedOut: true,
        };
      }
      return { ...decided, deadline };
    },
  };
}

/** The activity's refusal as the Update's own failure, with its type (SignatureInvalid...) and words. */
function refusalOf(err: unknown): ApplicationFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    return ApplicationFailure.create({ type: cause.type ?? 'ReviewRefused', message: cause.message });
  }
  return ApplicationFailure.create({
    type: 'ReviewNotChecked',
    message: `The decision could not be checked (${(cause as Error)?.message ?? String(cause)}); send it again.`,
  });
}
