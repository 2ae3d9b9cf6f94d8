/**
 * The allocation loop of every numbered create-if-absent log (registry versions, alias moves,
 * audit records). Each attempt proposes the next number and creates its document only if it is
 * absent (ArtifactStore.putDocument with ifAbsent); an attempt that loses its number to a writer
 * running at the same time reports 'lost', and the next attempt starts from what the winner left.
 * After `maxAttempts` losses in a row, the caller's contention error (a retryable one) is raised.
 */
export async function allocateNumbered<T>(options: {
  maxAttempts: number;
  attempt: () => Promise<{ won: T } | 'lost'>;
  contention: () => Error;
}): Promise<T> {
  for (let i = 0; i < options.maxAttempts; i++) {
    const outcome = await options.attempt();
    if (outcome !== 'lost') return outcome.won;
  }
  throw options.contention();
}
