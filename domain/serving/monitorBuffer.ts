import { stringify } from 'csv-stringify/sync';
import { ANOMALY_SCORE_OUTPUT } from '../import/anomalyConvention';
import type { ScoredRows } from './scoringServer';
import { type LoadedVersion, textFeatures } from './servedModel';

/** Defaults of `serve --monitor`: a batch every 10,000 answered rows or 5 minutes, whichever comes first. */
export const DEFAULT_MONITOR_ROWS = 10_000;
export const DEFAULT_MONITOR_SECONDS = 300;

/** The rows one version answered since its last monitored batch. */
export interface PendingBatch {
  loaded: LoadedVersion;
  /** Per request: its numeric features, its categorical ones' text, and its scores (ScoredRows). */
  x: Float32Array[];
  texts: string[][][];
  scores: Float32Array[];
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
      batch = { loaded, x: [], texts: [], scores: [], rows: 0, firstAt: now, lastAt: now };
      this.pending.set(key, batch);
    }
    const n = scored.scores.length;
    const nNumeric = loaded.features.length - textFeatures(loaded).length;
    batch.x.push(scored.x.slice(0, n * nNumeric));
    batch.texts.push(scored.texts.map((t) => t.slice(0, n)));
    batch.scores.push(scored.scores.slice());
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
 * The score column of a version's monitored batches, as apply names it: a classifier's
 * probability(<target>), an anomaly version's anomaly_score.
 */
export function monitoredScoreColumn(loaded: LoadedVersion): string {
  return loaded.kind === 'anomaly' ? ANOMALY_SCORE_OUTPUT : loaded.columns.probability;
}

/**
 * A batch as the scored CSV `apply --monitor` reads back (application/monitor.ts): the version's
 * features (categorical ones as their text) and its score column, one line per answered row.
 */
export function pendingBatchCsv(batch: PendingBatch): Buffer {
  const { features } = batch.loaded;
  const categorical = textFeatures(batch.loaded);
  // Where each feature's value is: its column among the numeric ones, or -(1 + its text column).
  let nNumeric = 0;
  let nText = 0;
  const slots = features.map((f) => (categorical.includes(f) ? -1 - nText++ : nNumeric++));
  const lines = [stringify([[...features, monitoredScoreColumn(batch.loaded)]])];
  batch.x.forEach((x, part) => {
    const p = batch.scores[part] as Float32Array;
    const texts = batch.texts[part] as string[][];
    for (let i = 0; i < p.length; i++) {
      let line = '';
      for (const slot of slots) {
        line +=
          slot >= 0
            ? `${x[i * nNumeric + slot]},`
            : `${csvText((texts[-1 - slot] as string[])[i] as string)},`;
      }
      lines.push(`${line}${p[i]}\n`);
    }
  });
  return Buffer.from(lines.join(''));
}

/** A category as one CSV cell: quoted when it holds a comma, a quote or a line break (JSON bodies may). */
function csvText(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
