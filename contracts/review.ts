import { defineUpdate } from '@temporalio/workflow';
import type { SignedDecision } from '../domain/review/decisionSignature';
import type { ReviewRequest } from '../domain/review/rules';

export interface ReviewDecision {
  decision: 'approved' | 'rejected';
  approver: string;
  reason: string;
  /** Workflow time (ms since the epoch) of the decision. */
  decidedAt: number;
  timedOut: boolean;
  /** Whether the decision was signed (absent in runs decided before signatures existed: unsigned). */
  signed?: boolean;
  /** The verified signature of a signed decision. */
  signature?: SignedDecision;
}

/** Marks runs whose approve/reject handlers verify the decision in an activity (see workflows/review.ts). */
export const SIGNED_DECISIONS_PATCH = 'signed-review-decisions';

/** The Updates a person sends to a run that waits for review (validated by the workflow). */
export const approveUpdate = defineUpdate<ReviewDecision, [ReviewRequest]>('approve');
export const rejectUpdate = defineUpdate<ReviewDecision, [ReviewRequest]>('reject');

/** The person or process the deadline speaks for, in records of a review that timed out. */
export const DEADLINE_APPROVER = 'slipway (deadline)';
