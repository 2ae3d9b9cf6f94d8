import { z } from 'zod';
import { describeCancellation, type RunOutcome, type RunView, runView } from '../application/runs';
import { exitCodeFor, exitWith } from './exitCodes';
import type { AwaitingReview } from './followRun';
import { type OutputOptions, printResult } from './output';
import { describeAwaitingReview } from './pipelineRun';
import { openSession, type Session } from './session';

/** The flags of every command that starts a run and follows it: --no-cache, --wait, --json. */
export const followFlagsSchema = z.object({
  cache: z.boolean().default(true),
  wait: z.boolean().optional(),
  json: z.boolean().optional(),
});

/**
 * The life of a command that starts a run and follows it: opens a session, lets `follow` start
 * the run (telling its workflow ID through `onStart`) and follow it, then ends the command by how
 * the run went: a review it waits for is printed (exit 0), a result goes to `printEnd` and sets
 * the exit code of its outcome, and a run's failure is reported by `reportRunFailure`. The
 * session is closed in every case.
 */
export async function followRunToEnd<R extends { outcome: RunOutcome }>(
  opts: OutputOptions,
  follow: (session: Session, onStart: (workflowId: string) => void) => Promise<R | AwaitingReview>,
  printEnd: (result: R, session: Session) => void,
): Promise<void> {
  const session = await openSession();
  let workflowId: string | undefined;
  try {
    const result = await follow(session, (id) => {
      workflowId = id;
    });
    if ('awaitingReview' in result) {
      printResult(opts, awaitingReviewJson(result), () => describeAwaitingReview(result));
      return;
    }
    printEnd(result, session);
    exitWith(result.outcome);
  } catch (err) {
    if (workflowId === undefined) throw err;
    await reportRunFailure(session, workflowId, err, opts);
  } finally {
    await session.close();
  }
}

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
