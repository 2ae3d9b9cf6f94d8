import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SlipwayConfig } from '../config/env';
import { temporalConnectionSettings } from '../infra/temporalConnection';
import type { SlipwayWorkers } from './worker';

/**
 * Runs workers until they stop, and when the Temporal TLS files change on disk (a renewed client
 * certificate, a rotated CA), starts workers on a new connection with the new files and lets the
 * old ones finish their running tasks and stop. The SDK cannot change a connection's TLS in place.
 * New files that do not check out (unreadable, expired, a key that does not match) are refused and
 * the running connection is kept, with the reason logged.
 */
export async function runReloadingCertificates(
  config: SlipwayConfig,
  start: () => Promise<SlipwayWorkers>,
  log: (message: string) => void,
  onStarted: () => void,
): Promise<void> {
  const env = config.env;
  const files = [
    env.SLIPWAY_TEMPORAL_TLS_CA,
    env.SLIPWAY_TEMPORAL_TLS_CERT,
    env.SLIPWAY_TEMPORAL_TLS_KEY,
  ].filter((f): f is string => f !== undefined);
  // Taken before the first connection reads the files: a renewal while it starts is then seen as a
  // change (at worst one needless reload), never mistaken for the files it connected with.
  let seen = files.length === 0 ? '' : fingerprint(files);
  let current = await start();
  let currentRun = current.run();
  onStarted();
  if (files.length === 0) return currentRun;

  const stopped: Array<Promise<void>> = [];
  let reloading = false;
  const timer = setInterval(async () => {
    const now = fingerprint(files);
    if (now === seen || reloading) return;
    reloading = true;
    seen = now;
    try {
      temporalConnectionSettings(config); // the new files check out before anything is replaced
      const replacement = await start();
      const [old, oldRunning] = [current, currentRun];
      current = replacement;
      currentRun = replacement.run();
      old.shutdown();
      stopped.push(oldRunning);
      log('slipway worker: the Temporal TLS files changed; polling on a new connection, the old one drains');
    } catch (err) {
      log(
        `slipway worker: the Temporal TLS files changed but were refused; keeping the running connection: ${(err as Error).message}`,
      );
    } finally {
      reloading = false;
    }
  }, env.SLIPWAY_TEMPORAL_TLS_RELOAD_SECONDS * 1000);
  timer.unref();

  try {
    // A reload replaces the current run; the process ends when the run that is current ends.
    for (;;) {
      const running = currentRun;
      await running;
      if (running === currentRun) break;
    }
  } finally {
    clearInterval(timer);
    await Promise.allSettled(stopped);
  }
}

/** Changes when any file's bytes change (or it appears or disappears); mtimes miss same-second renewals. */
function fingerprint(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      hash.update(readFileSync(file));
    } catch {
      hash.update(`missing:${file}`);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}
