import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { progressQuery } from '../contracts/messages';
import type { PipelineProgress } from '../contracts/progress';
import { approveUpdate, type ReviewDecision, rejectUpdate } from '../contracts/review';
import { parseModelName } from '../domain/registry/modelName';
import {
  chooseSigner,
  type DecisionSignature,
  type DecisionSigner,
  decisionStatement,
  judgeDecision,
  type SignerChoice,
  signDecisionWith,
} from '../domain/review/decisionSignature';
import type { PipelineResult } from './results';
import type { Workspace } from './workspace';

/**
 * What people do about runs waiting for review, shared by the CLI (`slipway pending | approve |
 * reject`) and the web console, so both go through the same Update and the same validator rules
 * (allow-list, four eyes, a reason, one decision per run).
 */
export interface PendingRun {
  workflowId: string;
  runId: string;
  model: string;
  version: number;
  requestedBy: string;
  approvers: string[];
  deadline: string;
}

export type ReviewAction = 'approve' | 'reject';

/** No run waits at that ID (wrong ID, or the run finished): says which, and where to look instead. */
export class RunNotWaitingError extends Error {
  override name = 'RunNotWaiting';
  readonly type = 'RunNotWaiting';
  constructor(
    message: string,
    /** True when the run exists and has finished; false when there is no run by that ID. */
    readonly finished: boolean,
  ) {
    super(message);
  }
}

/**
 * Runs that wait for a person: running trainToDeploy and importModel workflows whose progress
 * says so, soonest deadline first. `taskQueue` keeps the answer to one Slipway (a shared Temporal
 * namespace may hold other installations' runs, whose workers may be gone, so their queries hang).
 */
export async function pendingReviews(
  client: Client,
  options: { taskQueue?: string } = {},
): Promise<PendingRun[]> {
  const queue =
    options.taskQueue === undefined ? '' : ` AND TaskQueue = '${options.taskQueue.replace(/'/g, "\\'")}'`;
  const found: PendingRun[] = [];
  for await (const run of client.workflow.list({
    query: `(WorkflowType = 'trainToDeploy' OR WorkflowType = 'importModel') AND ExecutionStatus = 'Running'${queue}`,
  })) {
    const progress: PipelineProgress | undefined = await client.workflow
      .getHandle(run.workflowId, run.runId)
      .query(progressQuery)
      .catch(() => undefined);
    const review = progress?.review;
    if (review) {
      found.push({
        workflowId: run.workflowId,
        runId: run.runId,
        model: review.model,
        version: review.version,
        requestedBy: review.requestedBy,
        approvers: review.approvers,
        deadline: new Date(review.deadline).toISOString(),
      });
    }
  }
  return found.sort((a, b) => a.deadline.localeCompare(b.deadline));
}

/**
 * Sends the approve or reject Update for `approver`. The workflow's validator and handler decide;
 * their refusal arrives as a WorkflowUpdateFailedError whose message `refusalReason` extracts.
 *
 * With `sign` the decision is signed here with the person's Ed25519 key (the key stays in this
 * process: only the public key and the signature travel) over the statement the run will check:
 * this run, the version's ONNX sha256 and gate verdict as the registry holds them, the decision,
 * the reason and the time. It is judged against the namespace's policy before anything is sent, so
 * a wrong key or a missing signature is refused at once, with what to do; the run checks it again.
 * A `SignerChoice` (an SSH agent holding several keys) signs with the one key the policy registers
 * for the approver.
 */
export async function decideReview(
  client: Client,
  workflowId: string,
  action: ReviewAction,
  request: { approver: string; reason: string },
  sign?: { ws: Workspace; signer?: DecisionSigner | SignerChoice },
): Promise<ReviewDecision> {
  const signature = sign ? await signedLocally(client, workflowId, action, request, sign) : undefined;
  return client.workflow
    .getHandle(workflowId)
    .executeUpdate(action === 'approve' ? approveUpdate : rejectUpdate, {
      args: [{ ...request, ...(signature ? { signature } : {}) }],
    })
    .catch(async (err: unknown) => {
      // Temporal answers "not found" both for an unknown ID and for a run that has finished.
      if (err instanceof WorkflowNotFoundError) throw await notWaiting(client, workflowId);
      throw err;
    });
}

/**
 * The signature of a decision on the run's version, checked against the namespace's policy (or,
 * without a key, whether the policy lets an unsigned decision through). Undefined when the run
 * does not wait for review: the run's own refusal then says why.
 */
async function signedLocally(
  client: Client,
  workflowId: string,
  action: ReviewAction,
  request: { approver: string; reason: string },
  sign: { ws: Workspace; signer?: DecisionSigner | SignerChoice },
): Promise<DecisionSignature | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  const [description, progress] = await Promise.all([
    handle.describe().catch(() => undefined),
    handle.query(progressQuery).catch(() => undefined),
  ]);
  const review = progress?.review;
  if (!description || !review) return undefined;
  const metadata = await sign.ws.registry.getVersion(review.model, review.version);
  const statement = decisionStatement(
    metadata,
    { workflowId, runId: description.runId },
    {
      decision: action === 'approve' ? 'approved' : 'rejected',
      approver: request.approver,
      reason: request.reason,
      signedAt: new Date().toISOString(),
    },
  );
  const policy = await sign.ws.access.policy(parseModelName(review.model).namespace);
  const signer =
    sign.signer && 'candidates' in sign.signer
      ? chooseSigner(sign.signer, policy, statement.approver)
      : sign.signer;
  const signature = signer ? await signDecisionWith(statement, signer) : undefined;
  judgeDecision(policy, statement, signature);
  return signature;
}

/** Why nothing at `workflowId` can take a decision: no such run, or it finished (and how it was decided). */
async function notWaiting(client: Client, workflowId: string): Promise<RunNotWaitingError> {
  const handle = client.workflow.getHandle(workflowId);
  const status = await handle.describe().then(
    (d) => d.status.name,
    () => undefined,
  );
  if (status === undefined || status === 'RUNNING')
    return new RunNotWaitingError(`No workflow ${workflowId}: check the ID with \`slipway pending\`.`, false);
  const result = (await handle.result().catch(() => undefined)) as Partial<PipelineResult> | undefined;
  const review = result?.review;
  const decided = review
    ? `: version ${result?.version} of ${result?.model} was already ${review.decision} by ${review.approver} (${review.reason})`
    : '';
  return new RunNotWaitingError(
    `Run ${workflowId} has finished (${status.toLowerCase()})${decided}. Nothing there waits for a decision; ` +
      '`slipway pending` lists the runs that do.',
    true,
  );
}

/**
 * The validator's refusal when an Update was refused: its words (why, and what to do) and the rule
 * that refused (domain/review/rules: ReviewNeedsReason...), so an adapter can add its own hint.
 */
export function reviewRefusal(err: unknown): { kind?: string; message: string } | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause as (Error & { type?: unknown }) | undefined;
  if (!(cause instanceof Error)) return { message: err.message };
  return { ...(typeof cause.type === 'string' ? { kind: cause.type } : {}), message: cause.message };
}
