import type { RetryPolicy } from '@temporalio/common';

/**
 * The one retry policy of every activity a workflow calls: quick first retries for blips, backing
 * off to a minute for a restarting server, ten attempts in all. Errors a retry cannot fix are
 * raised non-retryable by the activities (activities/failures.ts) and are not retried at all.
 */
export const activityRetry: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 10,
};
