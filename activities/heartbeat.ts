import { Context } from '@temporalio/activity';
import { withFailureMapping } from './failures';

/**
 * The one way a long activity runs its body: it heartbeats at once (see below) and every `everyMs` while the
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
  // An activity that resumes and has nothing to resume from yet skips the beat at once: the SDK
  // sends the first heartbeat immediately and holds later ones for most of the heartbeat
  // timeout, so the first checkpoint (training's first epoch) then reaches the server as it is
  // made, instead of seconds later or, for a short training, never (issue 25).
  if (options.details === undefined || options.details() !== undefined) beat();
  const timer = setInterval(beat, options.everyMs ?? 5_000);
  try {
    return await withFailureMapping(body);
  } finally {
    clearInterval(timer);
  }
}
