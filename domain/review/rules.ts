import { AccessError } from '../access/errors';
import type { ModelAccess } from '../access/modelAccess';

/** What a person sends to approve or reject a version that waits for review. */
export interface ReviewRequest {
  approver: string;
  reason: string;
  /**
   * The person's Ed25519 signature of the decision (domain/review/decisionSignature), checked by
   * an activity against the namespace's policy before the run takes the decision.
   */
  signature?: { publicKey: string; signature: string; signedAt: string };
}

/** The review a run has opened: who may decide and who may not. */
export interface ReviewPolicy {
  model: string;
  version: number;
  /** Who may decide; empty means nobody can, so a run that needs review must name someone. */
  approvers: string[];
  /** Who started the run: never their own reviewer (four eyes). */
  requestedBy: string;
  timeoutMs: number;
}

/** Why a decision is refused, by kind, so each adapter can phrase its own hint (a flag, a field). */
export type ReviewRefusalKind =
  | 'ReviewAlreadyDecided'
  | 'ReviewNotOpen'
  | 'ReviewNeedsApprover'
  | 'ApproverNotAllowed'
  | 'ReviewOwnRun'
  | 'ReviewNeedsReason';

export interface ReviewRefusal {
  kind: ReviewRefusalKind;
  /** What is wrong and what to do, in words that name no command or flag. */
  message: string;
}

/**
 * The rules of a review, in one place: a decision nobody waits for, a second decision, an approver
 * off the allow-list, the run's own starter and an empty reason are refused. Undefined: allowed.
 */
export function reviewRefusal(
  state: {
    policy?: ReviewPolicy;
    decided?: { decision: string; approver: string };
    /** Why the run does not wait (yet, or any more), when it has no policy. */
    notWaiting: string;
  },
  request: ReviewRequest,
): ReviewRefusal | undefined {
  const { policy, decided } = state;
  const approver = request?.approver?.trim() ?? '';
  if (decided && policy) {
    return {
      kind: 'ReviewAlreadyDecided',
      message:
        `version ${policy.version} of ${policy.model} was already ${decided.decision} by ${decided.approver}; ` +
        'a decision cannot be changed. Start a new run to review again.',
    };
  }
  if (!policy)
    return { kind: 'ReviewNotOpen', message: `This run is not waiting for review: ${state.notWaiting}.` };
  if (approver === '')
    return { kind: 'ReviewNeedsApprover', message: 'Say who decides: an approver is required.' };
  if (!policy.approvers.includes(approver)) {
    return {
      kind: 'ApproverNotAllowed',
      message:
        `${approver} may not review ${policy.model}: the allow-list is ${policy.approvers.join(', ')}. ` +
        'Ask one of them, or change the approvers in the gate settings.',
    };
  }
  if (approver === policy.requestedBy) {
    return {
      kind: 'ReviewOwnRun',
      message: `${approver} started this run, so ${approver} cannot review it: a second person on the allow-list must (four eyes).`,
    };
  }
  if ((request.reason ?? '').trim() === '')
    return { kind: 'ReviewNeedsReason', message: 'Give a reason; it goes into the audit log.' };
  return undefined;
}

/** The review part of a run's gate settings, as the settings schema reads it. */
export interface ReviewSettings {
  required?: boolean;
  approvers?: string[];
  timeoutSeconds?: number;
}

/**
 * The review settings of a run of `model`, checked against its namespace's approvers: a run may
 * name only them, and when it names nobody but needs a review, they are the allow-list. With
 * `reviewByDefault` (an import without evaluation data) a namespace with approvers always gets a review.
 * A run that would promote to a protected alias (`promotesTo`) always gets one: the pipeline moves a
 * protected alias only after an approved review.
 */
export async function reviewForNamespace(
  access: ModelAccess,
  model: string,
  review: ReviewSettings | undefined,
  reviewByDefault = false,
  promotesTo?: string,
): Promise<ReviewSettings | undefined> {
  const approvers = await access.approversFor(model, review?.approvers ?? []);
  const protectedAlias =
    promotesTo !== undefined && (await access.aliasMovers(model, promotesTo)) !== undefined;
  const required = review?.required === true || (reviewByDefault && approvers.length > 0) || protectedAlias;
  if (required && approvers.length === 0 && protectedAlias) {
    throw new AccessError(
      'AccessDenied',
      `${promotesTo} of ${model} is protected: the pipeline promotes to it only after an approved review, and ` +
        'this run names no approver. Give --approvers (or register approvers in the namespace policy), or --no-promote.',
    );
  }
  if (!required || approvers.length === 0) return review;
  return { ...review, required: true, approvers };
}
