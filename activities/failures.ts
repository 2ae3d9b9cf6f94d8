import { ApplicationFailure } from '@temporalio/common';

/**
 * Domain code throws plain errors carrying a stable `type` and a `retryable` flag (it knows
 * nothing of Temporal). This turns them into what Temporal understands: bad input becomes a
 * non-retryable ApplicationFailure whose type names the problem, so it is never retried forever;
 * anything else is rethrown untouched and retried by the activity's retry policy.
 */
export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof Error && typeof (err as { type?: unknown }).type === 'string') {
    const { type, retryable, details } = err as Error & {
      type: string;
      retryable?: boolean;
      details?: unknown;
    };
    return ApplicationFailure.create({
      message: err.message,
      type,
      nonRetryable: retryable !== true,
      details: details === undefined ? [] : [details],
      cause: err,
    });
  }
  return err;
}

/** Runs an activity body, translating domain errors on the way out. */
export async function withFailureMapping<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toApplicationFailure(err);
  }
}
