/**
 * The error a promise rejects with, for tests that inspect it field by field (type, retryable,
 * details); a promise that resolves fails the test.
 */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection, got success');
}

/** The error a call throws, for tests that inspect it field by field; a call that returns fails the test. */
export function thrownBy(call: () => unknown): Error & Record<string, unknown> {
  try {
    call();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected an error, got a return');
}
