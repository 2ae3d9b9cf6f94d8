import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { parseFeatureCell } from '../data/cells';
import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from '../import/anomalyConvention';
import { openAnomalyScorer } from './anomalyScorer';
import { matchFeatureColumns } from './columns';

export interface ScoreAnomalyCsvOptions {
  inputPath: string;
  outputPath: string;
  onnx: Uint8Array;
  features: string[];
  batchRows?: number;
}

export interface ScoreAnomalyCsvResult {
  rowsScored: number;
  /** Rows with predicted_outlier < 0. */
  outliers: number;
  seconds: number;
  columns: { score: string; outlier: string };
}

/**
 * `apply` for an anomaly version: every input row written back with every column, plus
 * `anomaly_score` (higher is more anomalous) and `predicted_outlier` (negative for outliers),
 * both as the model's graph computes them. Columns are matched by feature name. The output is
 * written to a temporary file beside it and renamed into place, so a failure leaves nothing.
 * Kept apart from scoreCsv's threaded fast path (classifiers): it reads with csv-parse on one thread.
 */
export async function scoreAnomalyCsv(options: ScoreAnomalyCsvOptions): Promise<ScoreAnomalyCsvResult> {
  const started = performance.now();
  const { features, inputPath, outputPath } = options;
  const batchRows = options.batchRows ?? 4096;
  const file = basename(inputPath);
  const columns = { score: ANOMALY_SCORE_OUTPUT, outlier: PREDICTED_OUTLIER_OUTPUT };
  const scorer = await openAnomalyScorer(options.onnx, features.length);
  const temp = join(dirname(outputPath), `.${basename(outputPath)}.${randomUUID()}.tmp`);
  const out = createWriteStream(temp);
  let rowsScored = 0;
  let outliers = 0;
  try {
    const parser = createReadStream(inputPath).pipe(parse({ relax_column_count: false, bom: true }));
    let indices: number[] | undefined;
    let header: string[] = [];
    let pending: string[][] = [];
    let firstRow = 2;
    const x = new Float32Array(batchRows * features.length);
    const flush = async () => {
      if (pending.length === 0) return;
      pending.forEach((record, r) => {
        (indices as number[]).forEach((c, j) => {
          x[r * features.length + j] = parseFeatureCell(record[c] ?? '', {
            file,
            row: firstRow + r,
            column: header[c] as string,
          });
        });
      });
      const { score, outlier } = await scorer.score(x, pending.length);
      const lines = pending.map((record, r) => {
        if ((outlier[r] as number) < 0) outliers++;
        return [...record, String(score[r]), String(outlier[r])];
      });
      if (!out.write(stringify(lines))) await once(out, 'drain');
      rowsScored += pending.length;
      firstRow += pending.length;
      pending = [];
    };
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!indices) {
        header = record;
        indices = matchFeatureColumns(record, features, file, {
          predicted: columns.outlier,
          probability: columns.score,
        });
        out.write(stringify([[...record, columns.score, columns.outlier]]));
        continue;
      }
      pending.push(record);
      if (pending.length === batchRows) await flush();
    }
    await flush();
    out.end();
    await once(out, 'finish');
    await rename(temp, outputPath);
  } catch (error) {
    out.destroy();
    await rm(temp, { force: true });
    throw error;
  } finally {
    await scorer.release();
  }
  return { rowsScored, outliers, seconds: (performance.now() - started) / 1000, columns };
}
