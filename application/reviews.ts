import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { progressQuery } from '../contracts/messages';
import type { PipelineProgress } from '../contracts/progress';
import { approveUpdate, type ReviewDecision, rejectUpdate } from '../contracts/review';
import type { PipelineResult } from './results';

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
 * Sends the approve or reject Update for `approver`. The workflow's validator decides; its refusal
 * arrives as a WorkflowUpdateFailedError whose message `refusalReason` extracts.
 */
export async function decideReview(
  client: Client,
  workflowId: string,
  action: ReviewAction,
  request: { approver: string; reason: string },
): Promise<ReviewDecision> {
  return client.workflow
    .getHandle(workflowId)
    .executeUpdate(action === 'approve' ? approveUpdate : rejectUpdate, { args: [request] })
    .catch(async (err: unknown) => {
      // Temporal answers "not found" both for an unknown ID and for a run that has finished.
      if (err instanceof WorkflowNotFoundError) throw await notWaiting(client, workflowId);
      throw err;
    });
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
