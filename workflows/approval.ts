import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

/** What a person sends to approve or reject a run that waits for review. */
export interface ReviewRequest {
  approver: string;
  reason: string;
}

export interface ReviewDecision {
  decision: 'approved' | 'rejected';
  approver: string;
  reason: string;
  /** Workflow time (ms since the epoch) of the decision. */
  decidedAt: number;
  timedOut: boolean;
}

export const approveUpdate = defineUpdate<ReviewDecision, [ReviewRequest]>('approve');
export const rejectUpdate = defineUpdate<ReviewDecision, [ReviewRequest]>('reject');

/** The person or process the deadline speaks for, in records of a review that timed out. */
export const DEADLINE_APPROVER = 'slipway (deadline)';

export interface ReviewPolicy {
  model: string;
  version: number;
  /** Who may decide; empty means nobody can, so a run that needs review must name someone. */
  approvers: string[];
  /** Who started the run: never their own reviewer (four eyes). */
  requestedBy: string;
  timeoutMs: number;
}

/**
 * Registers the approve/reject Updates at the start of a run (so an early one is refused at once
 * rather than buffered), and later waits for one, or for the deadline. The validators refuse,
 * before anything is written to history, a decision nobody waits for, an approver off the
 * allow-list, the run's own starter and an empty reason; each refusal says what to do instead.
 */
export function reviewGate() {
  let policy: ReviewPolicy | undefined;
  let decided: ReviewDecision | undefined;
  let notWaiting = 'the pipeline has not reached its review yet';

  const validate = (request: ReviewRequest) => {
    const approver = request?.approver?.trim() ?? '';
    if (decided && policy) {
      throw new Error(
        `version ${policy.version} of ${policy.model} was already ${decided.decision} by ${decided.approver}; ` +
          'a decision cannot be changed. Start a new run to review again.',
      );
    }
    if (!policy) throw new Error(`This run is not waiting for review: ${notWaiting}.`);
    if (approver === '') throw new Error('Say who decides: pass --as <name>.');
    if (!policy.approvers.includes(approver)) {
      throw new Error(
        `${approver} may not review ${policy.model}: the allow-list is ${policy.approvers.join(', ')}. ` +
          'Ask one of them, or change the approvers in the gate settings.',
      );
    }
    if (approver === policy.requestedBy) {
      throw new Error(
        `${approver} started this run, so ${approver} cannot review it: a second person on the allow-list must (four eyes).`,
      );
    }
    if ((request.reason ?? '').trim() === '') {
      throw new Error('Give a reason with --reason "<text>"; it goes into the audit log.');
    }
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
