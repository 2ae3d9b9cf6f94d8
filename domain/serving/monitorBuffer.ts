import { stringify } from 'csv-stringify/sync';
import type { ScoredRows } from './scoringServer';
import type { ClassifierVersion } from './servedModel';

/** Defaults of `serve --monitor`: a batch every 10,000 answered rows or 5 minutes, whichever comes first. */
export const DEFAULT_MONITOR_ROWS = 10_000;
export const DEFAULT_MONITOR_SECONDS = 300;

/** The rows one version answered since its last monitored batch. */
export interface PendingBatch {
  loaded: ClassifierVersion;
  x: Float32Array[];
  probabilities: Float32Array[];
  rows: number;
  /** When the first and the last of its rows were answered (ms since the epoch). */
  firstAt: number;
  lastAt: number;
}

/**
 * `serve --monitor`'s accumulator: a service answers many small requests, and a monitored batch
 * needs enough rows for its drift figures, so rows are kept per served version and handed out as
 * one batch once there are `maxRows` of them, once the oldest is `maxAgeMs` old, or at shutdown.
 * Rows are copied: a request's buffers are not kept alive by it.
 */
export class MonitorBuffer {
  private readonly pending = new Map<string, PendingBatch>();

  constructor(
    readonly maxRows: number,
    readonly maxAgeMs: number,
  ) {}

  /** Adds one request's rows; returns its version's batch when it is full (and starts a new one). */
  add(scored: ScoredRows, now: number): PendingBatch | undefined {
    const { loaded } = scored;
    const key = `${loaded.model}\u0000${loaded.version}`;
    let batch = this.pending.get(key);
    if (!batch) {
      batch = { loaded, x: [], probabilities: [], rows: 0, firstAt: now, lastAt: now };
      this.pending.set(key, batch);
    }
    const n = scored.probabilities.length;
    batch.x.push(scored.x.slice(0, n * loaded.features.length));
    batch.probabilities.push(scored.probabilities.slice());
    batch.rows += n;
    batch.lastAt = now;
    if (batch.rows < this.maxRows) return undefined;
    this.pending.delete(key);
    return batch;
  }

  /** Removes and returns the batches whose first row is `maxAgeMs` old or older. */
  due(now: number): PendingBatch[] {
    return this.take((b) => now - b.firstAt >= this.maxAgeMs);
  }

  /** Removes and returns every batch with rows (shutdown). */
  drainAll(): PendingBatch[] {
    return this.take(() => true);
  }

  private take(which: (b: PendingBatch) => boolean): PendingBatch[] {
    const out: PendingBatch[] = [];
    for (const [key, batch] of this.pending) {
      if (!which(batch)) continue;
      this.pending.delete(key);
      out.push(batch);
    }
    return out;
  }
}

/**
 * A batch as the scored CSV `apply --monitor` reads back (application/monitor.ts): the version's
 * features and its probability column, one line per answered row.
 */
export function pendingBatchCsv(batch: PendingBatch): Buffer {
  const { features, columns } = batch.loaded;
  const F = features.length;
  const lines = [stringify([[...features, columns.probability]])];
  batch.x.forEach((x, part) => {
    const p = batch.probabilities[part] as Float32Array;
    for (let i = 0; i < p.length; i++) {
      let line = '';
      for (let j = 0; j < F; j++) line += `${x[i * F + j]},`;
      lines.push(`${line}${p[i]}\n`);
    }
  });
  return Buffer.from(lines.join(''));
}
