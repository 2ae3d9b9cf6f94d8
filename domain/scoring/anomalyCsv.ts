import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { featureRowPlan, readCsvRows } from '../data/csvRows';
import { datasetError } from '../data/errors';
import { ANOMALY_SCORE_OUTPUT, PREDICTED_OUTLIER_OUTPUT } from '../import/anomalyConvention';
import { categoricalInputsOf, openAnomalyScorer } from './anomalyScorer';
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
 * both as the model's graph computes them. Columns are matched by feature name. Rows are read by
 * the one CSV reader of apply and extraction (domain/data/csvRows.ts: the byte scanner for plain
 * lines, csv-parse from the first line it cannot take), so a bad cell, a ragged row or broken
 * quoting is refused with the same message, row and column as for a classifier, and a plain line
 * is written back byte for byte (a record csv-parse read, as csv-stringify writes it). The output
 * goes to a temporary file beside it, renamed into place at the end: a failure leaves nothing.
 * One thread: these models are small (scoring is not what sets the pace). A categorical feature
 * (a string input of the graph) is read as its trimmed text and encoded by the graph itself, so a
 * category never seen in training scores (as the rarest) rather than failing.
 */
export async function scoreAnomalyCsv(options: ScoreAnomalyCsvOptions): Promise<ScoreAnomalyCsvResult> {
  const started = performance.now();
  const { features, inputPath, outputPath } = options;
  const batchRows = options.batchRows ?? 4096;
  // Categorical features (the model's string inputs) are read as text, the others as numbers.
  const categorical = categoricalInputsOf(options.onnx, features);
  const numeric = features.filter((f) => !categorical.includes(f));
  const nF = numeric.length;
  const columns = { score: ANOMALY_SCORE_OUTPUT, outlier: PREDICTED_OUTLIER_OUTPUT };
  const scorer = await openAnomalyScorer(options.onnx, nF, categorical);
  const temp = join(dirname(outputPath), `.${basename(outputPath)}.${randomUUID()}.tmp`);
  const out = createWriteStream(temp, { flags: 'wx' });
  // Seen by the next write (a full disk) rather than as an unhandled event; after a failure the
  // stream is destroyed, and what it still held is dropped with the temporary file.
  let writeError: Error | undefined;
  out.on('error', (error) => {
    writeError ??= error;
  });
  const write = async (text: Buffer | string) => {
    if (writeError) throw writeError;
    if (!out.write(text)) await once(out, 'drain');
  };
  let rowsScored = 0;
  let outliers = 0;
  // The batch: its feature values and each row's own text, kept until its scores are known.
  const x = new Float32Array(batchRows * nF);
  const categories = categorical.map(() => [] as string[]);
  const texts: Array<Buffer | string[]> = [];
  const flush = async () => {
    const n = texts.length;
    if (n === 0) return;
    const { score, outlier } = await scorer.score(x.subarray(0, n * nF), n, categories);
    for (const column of categories) column.length = 0;
    const lines: Buffer[] = [];
    for (let r = 0; r < n; r++) {
      const added = `${String(score[r])},${String(outlier[r])}`;
      if ((outlier[r] as number) < 0) outliers++;
      const text = texts[r] as Buffer | string[];
      lines.push(
        Buffer.isBuffer(text)
          ? Buffer.concat([text, Buffer.from(`,${added}\n`)])
          : Buffer.from(stringify([[...text, String(score[r]), String(outlier[r])]])),
      );
    }
    await write(Buffer.concat(lines));
    rowsScored += n;
    texts.length = 0;
  };
  try {
    const read = await readCsvRows({
      stream: createReadStream(inputPath),
      file: inputPath,
      onHeader(cells) {
        const featureIndex = matchFeatureColumns(cells, features, inputPath, {
          predicted: columns.outlier,
          probability: columns.score,
        });
        out.write(stringify([[...cells, columns.score, columns.outlier]]));
        return featureRowPlan(cells.length, features, featureIndex, categorical);
      },
      onRow(values, _label, _row, source) {
        x.set(values, texts.length * nF);
        for (let c = 0; c < categories.length; c++)
          (categories[c] as string[]).push(source.texts[c] as string);
        texts.push(
          source.record
            ? [...source.record]
            : Buffer.from((source.buffer as Buffer).subarray(source.start, source.end)),
        );
        // A promise only when the batch is full: the reader awaits it before reading on.
        return texts.length === batchRows ? flush() : undefined;
      },
    });
    if (!read.header)
      throw datasetError('EmptyFile', `${inputPath} is empty: expected a header row.`, { file: inputPath });
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
