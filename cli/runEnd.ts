import { describeCancellation, type RunView, runView } from '../application/runs';
import { exitCodeFor } from './exitCodes';
import type { AwaitingReview } from './followRun';
import { type OutputOptions, printResult } from './output';
import type { Session } from './session';

/**
 * How a command that followed a run ends when the run did not finish well: the cause (type,
 * message, step) or the cancellation (who, why) on stderr, or in the JSON on stdout with
 * --json, and the exit code of that outcome. Anything other than a run's failure is rethrown.
 */
export async function reportRunFailure(
  session: Session,
  workflowId: string,
  err: unknown,
  opts: OutputOptions,
): Promise<void> {
  if (
    !(
      err instanceof
      (require('@temporalio/client') as typeof import('@temporalio/client')).WorkflowFailedError
    )
  )
    throw err;
  const view = await runView(session.client, workflowId);
  process.exitCode = exitCodeFor(view.outcome);
  if (opts.json) {
    printResult(opts, runEndJson(view), () => '');
    return;
  }
  process.stderr.write(`${describeRunEnd(view)}\n`);
}

/** The JSON of a run that failed or was cancelled. */
export function runEndJson(view: RunView) {
  return {
    workflowId: view.workflowId,
    runId: view.runId,
    status: view.status,
    outcome: view.outcome,
    exitCode: exitCodeFor(view.outcome),
    ...(view.failure ? { failure: view.failure } : {}),
    ...(view.cancellation ? { cancellation: view.cancellation } : {}),
  };
}

/** "<id> failed in extract: MissingTargetColumn: ..." or "<id> was cancelled by alice: ...". */
export function describeRunEnd(view: RunView): string {
  if (view.cancellation) return `${view.workflowId} was ${describeCancellation(view.cancellation)}`;
  if (view.failure) {
    const { step, workflowId, ...rest } = view.failure;
    const where = [step ? `in ${step}` : '', workflowId ? `(in ${workflowId})` : ''].filter(Boolean);
    return [
      `${view.workflowId} failed${where.length ? ` ${where.join(' ')}` : ''}`,
      `error (${rest.type}): ${rest.message}`,
    ].join('\n');
  }
  return `${view.workflowId}: ${view.status.toLowerCase()}`;
}

/** The JSON of a run that waits for review; the command has done what it was asked (exit 0). */
export function awaitingReviewJson(waiting: AwaitingReview) {
  return { ...waiting, outcome: 'awaiting-review' as const, exitCode: exitCodeFor('awaiting-review') };
}
