import type { Context } from '@temporalio/activity';

/**
 * Keeps an activity visibly alive while a long domain call runs, so a lost worker is noticed
 * within the heartbeat timeout instead of the (much longer) start-to-close timeout.
 */
export async function whileHeartbeating<T>(
  context: Context,
  body: () => Promise<T>,
  everyMs = 5_000,
): Promise<T> {
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
