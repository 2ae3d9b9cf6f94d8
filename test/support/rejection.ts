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
