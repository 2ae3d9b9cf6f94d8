import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { ConfigError } from '../config/env';

/**
 * A failure as a person wants to read it: the innermost cause that says what went wrong, with its
 * type, instead of the layers of Temporal wrappers around it.
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
  if (err instanceof ZodError) {
    const lines = err.issues.map((i) => `  ${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`);
    return `error: invalid arguments:\n${lines.join('\n')}\n(run with --help for usage)`;
  }
  if (err instanceof ConfigError) return `configuration error: ${err.message}`;
  if (err instanceof Error && typeof (err as { type?: unknown }).type === 'string') {
    return `error (${(err as Error & { type: string }).type}): ${err.message}`;
  }
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}
