import { Context } from '@temporalio/activity';
import { withFailureMapping } from './failures';

/**
 * The one way a long activity runs its body: it heartbeats at once and every `everyMs` while the
 * body runs, so a lost worker is noticed within the heartbeat timeout instead of the (much longer)
 * start-to-close timeout, and domain errors are translated on the way out (withFailureMapping).
 * `details` is what each heartbeat carries: a retry resumes from the last one, so an activity that
 * resumes must always send them (a bare heartbeat would clear them).
 */
export async function heartbeating<T>(
  body: () => Promise<T>,
  options: { everyMs?: number; details?: () => unknown } = {},
): Promise<T> {
  const context = Context.current();
  const beat = () => context.heartbeat(options.details?.());
  beat();
  const timer = setInterval(beat, options.everyMs ?? 5_000);
  try {
    return await withFailureMapping(body);
  } finally {
    clearInterval(timer);
  }
}
