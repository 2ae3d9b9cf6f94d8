import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

/**
 * A failure as a person wants to read it: the innermost cause that says what went wrong, with its
 * type, instead of the layers of Temporal wrappers around it. Shared by the CLI and the console.
 */
export function describeError(err: unknown): string {
  if (err instanceof WorkflowFailedError || err instanceof ActivityFailure) {
    let cause: unknown = err.cause;
    while ((cause instanceof ActivityFailure || cause instanceof WorkflowFailedError) && cause.cause)
      cause = cause.cause;
    if (cause instanceof ApplicationFailure)
      return `error (${cause.type ?? 'ApplicationFailure'}): ${cause.message}`;
    if (cause instanceof Error) return `error: ${cause.message}`;
  }
  if (err instanceof WorkflowUpdateFailedError) {
    // A validator's refusal: its message already says why and what to do.
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return `refused: ${cause}`;
  }
  if (err instanceof Error && typeof (err as { type?: unknown }).type === 'string') {
    return `error (${(err as Error & { type: string }).type}): ${err.message}`;
  }
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}
