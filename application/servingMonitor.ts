import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MonitorBuffer,
  monitoredScoreColumn,
  type PendingBatch,
  pendingBatchCsv,
} from '../domain/serving/monitorBuffer';
import type { ScoredRows } from '../domain/serving/scoringServer';
import { recordMonitoredBatch } from './monitor';
import type { Workspace } from './workspace';

/** What became of one monitored batch of the service. */
export type MonitorOutcome =
  | { kind: 'monitored'; model: string; version: number; rows: number; key: string; drifted: string[] }
  | { kind: 'monitor-failed'; model: string; version: number; rows: number; message: string };

/**
 * `serve --monitor`: the rows each served version answered (a classifier's probabilities, an
 * anomaly version's anomaly_score; categorical features as their text), recorded as the monitored batches
 * `apply --monitor` writes (application/monitor.ts recordMonitoredBatch, read back from a
 * temporary scored CSV), one every `rows` rows or `seconds` seconds per version, and the rest at
 * stop. A batch that cannot be recorded is reported, and the service keeps answering.
 */
export class ServingMonitor {
  private readonly buffer: MonitorBuffer;
  private readonly writing = new Set<Promise<void>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ws: Workspace,
    options: { rows: number; seconds: number },
    private readonly report: (outcome: MonitorOutcome) => void,
  ) {
    this.buffer = new MonitorBuffer(options.rows, options.seconds * 1000);
    const everyMs = Math.min(1000, options.seconds * 1000);
    this.timer = setInterval(() => this.flush(this.buffer.due(Date.now())), everyMs);
    this.timer.unref();
  }

  /** The rows one request's answering version scored (scoringServer onScored). */
  record(scored: ScoredRows): void {
    const full = this.buffer.add(scored, Date.now());
    if (full) this.flush([full]);
  }

  /** Records what is left (after the requests have drained) and waits for every batch being written. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.flush(this.buffer.drainAll());
    while (this.writing.size > 0) await Promise.all(this.writing);
  }

  private flush(batches: PendingBatch[]): void {
    for (const batch of batches) {
      const writing = this.write(batch).finally(() => this.writing.delete(writing));
      this.writing.add(writing);
    }
  }

  private async write(batch: PendingBatch): Promise<void> {
    const { model, version, threshold } = batch.loaded;
    const dir = await mkdtemp(join(tmpdir(), 'slipway-serve-monitor-'));
    try {
      const scoredPath = join(dir, 'scored.csv');
      await writeFile(scoredPath, pendingBatchCsv(batch));
      const first = new Date(batch.firstAt).toISOString();
      const last = new Date(batch.lastAt).toISOString();
      const { batch: recorded, key } = await recordMonitoredBatch(this.ws, {
        model,
        version,
        scoredPath,
        input: `slipway serve: ${batch.rows} rows answered from ${first} to ${last}`,
        scoreColumn: monitoredScoreColumn(batch.loaded),
        threshold,
        recordedAt: new Date().toISOString(),
        // An anomaly version's scores are unbounded: histogrammed over their own range, as apply --monitor does.
        scoreRange: batch.loaded.kind === 'anomaly' ? 'observed' : 'probability',
      });
      this.report({ kind: 'monitored', model, version, rows: batch.rows, key, drifted: recorded.drifted });
    } catch (error) {
      this.report({
        kind: 'monitor-failed',
        model,
        version,
        rows: batch.rows,
        message: (error as Error).message,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
