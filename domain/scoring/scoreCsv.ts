import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvError, type Options as ParseOptions, parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { parseFeatureCell } from '../data/cells';
import { asMalformedCsv } from '../data/csvReader';
import { datasetError, where } from '../data/errors';
import { openBinaryScorer } from './binaryScorer';
import { type AddedColumns, addedColumns, matchFeatureColumns } from './columns';
import { ScoringError } from './errors';

/** Rows per onnxruntime call: 4096 x 30 features is 480 KiB of input, and one output chunk. */
export const DEFAULT_SCORING_BATCH_ROWS = 4096;
// One record may not exceed this: an unclosed quote would otherwise swallow the rest of the file
// into a single field held in memory (the same bound domain/data uses).
const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export interface ScoreCsvOptions {
  /**
   * A CSV path, or a stream of CSV bytes. A stream is consumed, and destroyed if scoring stops
   * early; name it in messages with `inputName`.
   */
  input?: string | Readable;
  /** The same as a path given as `input` (the first callers' spelling). */
  inputPath?: string;
  /**
   * A path: written whole or not at all (rows go to a temporary file beside it, renamed into
   * place at the end; on failure it is removed). A stream: ended when done, destroyed with the
   * error on failure, so a consumer such as an upload can discard what it received.
   */
  output?: string | Writable;
  /** The same as a path given as `output`. */
  outputPath?: string;
  /** What to call a stream input in messages (default "input"). */
  inputName?: string;
  /** ONNX bytes, e.g. from ArtifactStore.getBytes of a version's ONNX artifact. */
  onnx: Uint8Array;
  /** The model's input columns in the order its graph expects them (the version's metadata). */
  features: string[];
  target: string;
  /** predicted is 1 when the probability is >= threshold (the rule the exported label follows). */
  threshold: number;
  /**
   * Which model output holds the probability. Default: "probability" (Slipway's exports) when the
   * model has it, else its first float32 output; a [N, 2] output gives class 1's column.
   */
  outputName?: string;
  /** Name of the probability column; default `probability(<target>)`. */
  probabilityColumn?: string;
  batchRows?: number;
  /** Aborting stops reading and writing; the call rejects with an AbortError, leaving no output. */
  signal?: AbortSignal;
  /** Called after each batch with the rows scored so far (heartbeats, progress bars). */
  onProgress?(rowsScored: number): void;
}

export interface ScoreCsvResult {
  rowsScored: number;
  /** Rows with predicted = 1. */
  positives: number;
  durationMs: number;
  /** durationMs / 1000. */
  seconds: number;
  /** The model output the probabilities came from. */
  outputName: string;
  columns: AddedColumns;
}

/** A parsed record and the line it starts on as an editor numbers them (header = 1). */
interface Entry {
  cells: string[];
  row: number;
}

/**
 * Scores a CSV with an ONNX model the way the operations platform's `apply` does: columns are
 * matched by feature name (their order in the file does not matter), and every input row is
 * written back unchanged, every column kept, with `predicted(<target>)` (0/1) and the
 * probability appended. It streams: csv-parse in, the model in batches of `batchRows`,
 * csv-stringify out, with backpressure from the output, so memory stays bounded by one batch
 * whatever the file size. A bad cell stops it with a DatasetError naming the row (as an editor
 * numbers lines, header = 1) and the column.
 */
export async function scoreCsv(options: ScoreCsvOptions): Promise<ScoreCsvResult> {
  const started = performance.now();
  const input = options.input ?? options.inputPath;
  const output = options.output ?? options.outputPath;
  const batchRows = options.batchRows ?? DEFAULT_SCORING_BATCH_ROWS;
  checkOptions(options, input, output, batchRows);
  const file = typeof input === 'string' ? input : (options.inputName ?? 'input');
  if (typeof input === 'string') await checkInputFile(input);
  if (typeof output === 'string') await checkOutputPath(output);
  options.signal?.throwIfAborted();

  const added = addedColumns(options.target, options.probabilityColumn);
  const { features, threshold } = options;
  const nF = features.length;
  const scorer = await openBinaryScorer(options.onnx, nF, options.outputName);
  const counts = { rows: 0, positives: 0 };
  // Line where the next record starts: after the previous record's last line and any blank lines.
  const at = { lastLine: 0, lastEmpty: 0 };

  async function* scoreRecords(entries: AsyncIterable<Entry>): AsyncGenerator<string> {
    let columns: number[] | undefined;
    let width = 0;
    let batch: string[][] = [];
    const x = new Float32Array(batchRows * nF);
    const scoreBatch = async (): Promise<string> => {
      const p = await scorer.score(x, batch.length);
      for (let i = 0; i < batch.length; i++) {
        const probability = p[i] as number;
        const label = probability >= threshold ? 1 : 0;
        counts.positives += label;
        // Nine significant digits always read back as the same float32; the double's full
        // expansion (17 digits) would only add noise the model never computed.
        (batch[i] as string[]).push(String(label), String(Number(probability.toPrecision(9))));
      }
      counts.rows += batch.length;
      options.onProgress?.(counts.rows);
      const text = stringify(batch);
      batch = [];
      return text;
    };

    for await (const { cells: record, row } of entries) {
      // A line of spaces is as blank as an empty one (skip_empty_lines only skips truly empty lines).
      if (record.length === 1 && (record[0] as string).trim() === '') continue;
      if (!columns) {
        columns = matchFeatureColumns(record, features, file, added);
        width = record.length;
        yield stringify([[...record, added.predicted, added.probability]]);
        continue;
      }
      if (record.length !== width) {
        throw datasetError(
          'RaggedRow',
          `${where(file, row)}: ${record.length} field${record.length === 1 ? '' : 's'} where the header has ` +
            `${width}. Check for an unquoted comma, a missing value or a cut-off line.`,
          { file, row },
        );
      }
      const base = batch.length * nF;
      for (let j = 0; j < nF; j++) {
        x[base + j] = parseFeatureCell(record[columns[j] as number] as string, {
          file,
          row,
          column: features[j] as string,
        });
      }
      batch.push(record);
      if (batch.length === batchRows) yield await scoreBatch();
    }
    if (!columns) throw datasetError('EmptyFile', `${file} is empty: expected a header row.`, { file });
    if (batch.length > 0) yield await scoreBatch();
  }

  const tmp =
    typeof output === 'string'
      ? join(dirname(output), `.${basename(output)}.${randomUUID().slice(0, 8)}.tmp`)
      : undefined;
  const parserOptions: ParseOptions<Entry, string[]> = {
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
    // Runs as the parser reads, ahead of scoring, so `at` is current when the parser fails.
    on_record: (cells, info) => {
      const row = at.lastLine + 1 + (info.empty_lines - at.lastEmpty);
      at.lastLine = info.lines;
      at.lastEmpty = info.empty_lines;
      return { cells, row };
    },
  };
  try {
    await pipeline(
      typeof input === 'string' ? createReadStream(input) : (input as Readable),
      // csv-parse types on_record only for the columns form; the stream yields Entry objects.
      parse(parserOptions as unknown as ParseOptions),
      scoreRecords,
      tmp ? createWriteStream(tmp, { flags: 'wx' }) : (output as Writable),
      { signal: options.signal },
    );
    if (tmp) await rename(tmp, output as string);
  } catch (error) {
    if (tmp) await rm(tmp, { force: true });
    const blank = (error as { empty_lines?: number }).empty_lines ?? at.lastEmpty;
    throw asMalformedCsv(error, file, at.lastLine + 1 + (blank - at.lastEmpty)) ?? error;
  } finally {
    await scorer.release();
  }
  const durationMs = performance.now() - started;
  return {
    rowsScored: counts.rows,
    positives: counts.positives,
    durationMs,
    seconds: durationMs / 1000,
    outputName: scorer.outputName,
    columns: added,
  };
}

function checkOptions(options: ScoreCsvOptions, input: unknown, output: unknown, batchRows: number): void {
  const bad = (message: string): never => {
    throw new ScoringError('InvalidScoringOptions', message);
  };
  if (input === undefined) bad('No input: give a CSV path or stream.');
  if (output === undefined) bad('No output: give a path or stream to write the scored CSV to.');
  const { features, threshold, target } = options;
  if (features.length === 0) bad('The feature list is empty; the model version records its features.');
  const repeated = features.find((f, i) => features.indexOf(f) !== i);
  if (repeated !== undefined) bad(`The feature "${repeated}" is listed twice.`);
  if (!target.trim()) bad('The target name is empty.');
  if (!(threshold >= 0 && threshold <= 1))
    bad(`The threshold ${threshold} is not a probability: use 0 to 1.`);
  if (!Number.isInteger(batchRows) || batchRows < 1) bad(`batchRows ${batchRows} is not a positive integer.`);
}

async function checkInputFile(path: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw datasetError('SourceNotFound', `${path} does not exist. Check the --input path.`, { file: path });
    }
    throw error;
  });
  if (!info.isFile()) {
    throw datasetError('SourceNotFound', `${path} is not a file (a folder?). Give the CSV file itself.`, {
      file: path,
    });
  }
}

async function checkOutputPath(path: string): Promise<void> {
  const folder = await stat(dirname(path)).catch(() => undefined);
  if (!folder?.isDirectory()) {
    throw new ScoringError(
      'OutputFolderMissing',
      `Cannot write ${path}: the folder ${dirname(path)} does not exist. Create it first.`,
    );
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new ScoringError('InvalidScoringOptions', `The output ${path} is a folder; give a file path.`);
  }
}
