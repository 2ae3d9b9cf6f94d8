import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { approveUpdate, DEADLINE_APPROVER, type ReviewDecision, rejectUpdate } from '../contracts/review';
import { type ReviewPolicy, type ReviewRequest, reviewRefusal } from '../domain/review/rules';

/**
 * Registers the approve/reject Updates at the start of a run (so an early one is refused at once
 * rather than buffered), and later waits for one, or for the deadline. The validators refuse,
 * before anything is written to history, what the review rules refuse (domain/review/rules);
 * the failure's type names the rule, so each client can phrase its own hint.
 */
export function reviewGate() {
  let policy: ReviewPolicy | undefined;
  let decided: ReviewDecision | undefined;
  let notWaiting = 'the pipeline has not reached its review yet';

  const validate = (request: ReviewRequest) => {
    const refusal = reviewRefusal({ policy, decided, notWaiting }, request);
    if (refusal) throw ApplicationFailure.create({ type: refusal.kind, message: refusal.message });
  };
  const decide = (decision: ReviewDecision['decision']) => (request: ReviewRequest) => {
    decided = {
      decision,
      approver: request.approver.trim(),
      reason: request.reason.trim(),
      decidedAt: Date.now(),
      timedOut: false,
    };
    return decided;
  };
  setHandler(approveUpdate, decide('approved'), { validator: validate });
  setHandler(rejectUpdate, decide('rejected'), { validator: validate });

  return {
    /** Why an Update sent now would be refused, once the run knows it will never wait. */
    close(reason: string): void {
      notWaiting = reason;
    },
    /** Opens the review and resolves with the decision, or a rejection "timed out" at the deadline. */
    async wait(review: ReviewPolicy): Promise<ReviewDecision & { deadline: number }> {
      const deadline = Date.now() + review.timeoutMs;
      policy = review;
      const inTime = await condition(() => decided !== undefined, review.timeoutMs);
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
