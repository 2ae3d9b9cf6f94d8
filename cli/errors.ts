import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { ConfigError } from '../config/env';
import { EXIT } from './exitCodes';
import { UsageError } from './usageError';

export { UsageError };

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
  if (err instanceof UsageError) return `error: ${err.message}\n(run with --help for usage)`;
  if (err instanceof Error && typeof (err as { type?: unknown }).type === 'string') {
    return `error (${(err as Error & { type: string }).type}): ${err.message}`;
  }
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}

/**
 * The exit code for an error that ended a command: bad input (arguments, configuration, a file or
 * name the command refused before starting anything) or a failure (see cli/exitCodes.ts).
 */
export function exitCodeForError(err: unknown): number {
  if (err instanceof WorkflowFailedError) return EXIT.failed;
  if (err instanceof ZodError || err instanceof ConfigError || err instanceof UsageError)
    return EXIT.badInput;
  // Domain errors carry a type and say whether retrying could help; one that cannot is bad input,
  // except a refusal for want of rights (the input was fine; the person may not do it).
  const typed = err as { type?: unknown; retryable?: unknown };
  if (err instanceof Error && typeof typed.type === 'string' && typed.retryable === false)
    return typed.type === 'AccessDenied' ? EXIT.failed : EXIT.badInput;
  return EXIT.failed;
}
