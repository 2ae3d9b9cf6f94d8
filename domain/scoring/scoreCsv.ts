import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { type CsvParserChoice, featureRowPlan, type RowPlan, readCsvRows } from '../data/csvRows';
import { datasetError } from '../data/errors';
import { explanationColumns, openRowExplainer } from '../explain/rowExplainer';
import { categoricalInputsOf } from './anomalyScorer';
import { type BinaryScorer, openBinaryScorer } from './binaryScorer';
import { ChunkScorer } from './chunkScorer';
import { scoreInChunks } from './chunkScoring';
import { ChunkScoringPool } from './chunkScoringPool';
import { type AddedColumns, addedColumns, matchFeatureColumns } from './columns';
import { ScoringError } from './errors';
import { OutputSink } from './outputSink';
import { ScoringBatch } from './scoringBatch';
import { openThreadedScorer } from './threadedScorer';

/**
 * Rows per onnxruntime call, chosen by measurement (bench/applyCsv.ts --sweep): large enough
 * that each call's fixed cost is small, small enough that two batches (8,192 x 30 float32 plus
 * their text, about 6 MiB) keep memory flat and the first output comes early.
 */
export const DEFAULT_SCORING_BATCH_ROWS = 8192;
/**
 * onnxruntime intra-op threads, chosen by measurement: the main thread reads the next batch
 * while the model scores the current one, so one model thread per spare core.
 */
export const DEFAULT_SCORING_THREADS = 1;
const READ_CHUNK_BYTES = 256 * 1024;
/**
 * Threads that each read, score and write whole chunks of a plain CSV (chunkScoring.ts), the
 * calling thread included, one per core: every stage runs on every thread, so the cores share
 * the work whatever its mix (a cheaper parser or a bigger model change nothing). The calling
 * thread is one of them because reading and writing leave it mostly idle, and it saves starting
 * a thread (a few hundred milliseconds of CPU) and warming its code. At most 4: memory grows with each.
 */
export const DEFAULT_CHUNK_THREADS = Math.min(4, availableParallelism());
/**
 * Rows per onnxruntime call in the chunk threads, chosen by measurement: with one intra-op thread,
 * CPU time per row of the reference network (30-256-256-256-1) was lowest at 1,024 rows
 * (2.4-2.7 us against 2.8-3.8 us at 8,192 on an AVX-512 Xeon core): the layers' activations
 * (1,024 x 256 float32, 1 MiB) stay in the core's L2 cache.
 */
export const DEFAULT_CHUNK_BATCH_ROWS = 1024;
/**
 * Bytes per chunk (about 950 rows of the 31-column reference CSV: one onnxruntime call each),
 * chosen by measurement: 300,000 rows on 2 shared cores (load 12 to 16), 2 to 4 runs per size,
 * CPU s 3.4 to 3.9 at 256 KiB against 3.7 to 4.4 at 1 MiB and 4.0 at 4 MiB, and the lowest peak
 * RSS (188 to 224 MiB against 207 to 212 and 282 to 300); 128 and 512 KiB were no better.
 */
export const DEFAULT_CHUNK_BYTES = 256 * 1024;

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
  /** Rows per onnxruntime call; default DEFAULT_SCORING_BATCH_ROWS, or DEFAULT_CHUNK_BATCH_ROWS in chunks. */
  batchRows?: number;
  /** onnxruntime intra-op threads (of each session); default DEFAULT_SCORING_THREADS. */
  intraOpThreads?: number;
  /**
   * Threads reading, scoring and writing chunks of a plain CSV in parallel, this one included
   * (default DEFAULT_CHUNK_THREADS); 0 reads the whole file on this thread, scoring on one model thread.
   * A file of less than one chunk, or without a plain header, is always read on this thread.
   */
  chunkThreads?: number;
  /** Bytes per chunk (default DEFAULT_CHUNK_BYTES): tests use small ones to cut files often. */
  chunkBytes?: number;
  /**
   * 'auto' (default): plain numeric lines are read by the byte scanner and written back byte
   * for byte, anything else by csv-parse and csv-stringify. 'general': csv-parse for every line
   * (the same output, slower): the reference the fast path is tested against.
   */
  parser?: CsvParserChoice;
  /**
   * Per-row explanations (apply --explain, domain/explain/rowExplainer.ts): the explainer graph
   * and how many features to name per row. The file is then read by the single reader, with the
   * explainer on this thread beside the model's own thread.
   */
  explain?: { graph: Uint8Array; k: number };
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
  /** Rows the chunk threads read, scored and wrote (the rest went through the single reader). */
  chunkedRows: number;
}

/**
 * Scores a CSV with an ONNX model the way the operations platform's `apply` does: columns are
 * matched by feature name (their order in the file does not matter), and every input row is
 * written back unchanged, every column kept, with `predicted(<target>)` (0/1) and the
 * probability appended. A bad cell stops it with a DatasetError naming the row (as an editor
 * numbers lines, header = 1) and the column.
 *
 * It streams, with reading, scoring and writing overlapped, in one of two ways:
 * - In chunks (the default for a plain CSV of more than one chunk, domain/scoring/chunkScoring.ts):
 *   this thread reads the file in chunks of whole lines (256 KiB), counts their lines and writes
 *   their outputs in file order; each chunk is read, scored and written by one of the chunk
 *   threads (this one included), each with its own onnxruntime session on one core. Every core
 *   does every stage, so none waits on another's. From a chunk with a line the byte scanner does
 *   not take (a quote, CR, a BOM, non-ASCII), the rest of the file goes to the single reader.
 * - The single reader (a file of less than one chunk, `chunkThreads: 0`, `parser: 'general'`,
 *   and the rest of a file after such a chunk): rows are read (domain/data/csvRows.ts: the byte
 *   scanner for plain lines, csv-parse from the first line it cannot take) into one batch while
 *   onnxruntime scores the previous one on a thread of its own.
 * Either way a row is written as the input line's own bytes plus the two new fields (a record
 * csv-parse read is written as csv-stringify writes it), so the output is the same byte for byte;
 * rows and errors (file, row, column, wording) are those of the single reader, since a chunk's
 * error is raised only after every earlier chunk is written. Output waits for a slow consumer
 * (backpressure), and memory is a few chunks or two batches, whatever the file size.
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
  const { signal } = options;
  signal?.throwIfAborted();

  const added: AddedColumns = {
    ...addedColumns(options.target, options.probabilityColumn),
    ...(options.explain ? { explanation: explanationColumns(options.target, options.explain.k) } : {}),
  };
  const { features, threshold } = options;
  // Categorical features (the model's string inputs, exports with --categorical) are read as
  // text by the single reader and scored on this thread (the chunk threads and the scoring
  // thread take float rows only); the explainer takes them as the model does.
  const categorical = categoricalInputsOf(options.onnx, features);
  const nF = features.length - categorical.length;
  const intraOpThreads = options.intraOpThreads ?? DEFAULT_SCORING_THREADS;
  const threads = { intraOpThreads };
  // Checks the model (its errors come before any output) and scores a file of one batch; the
  // scoring thread starts only for a file of more, where overlapping pays for starting it.
  const scorer = await openBinaryScorer(
    options.onnx,
    nF,
    options.outputName,
    categorical.length > 0 ? { ...threads, categorical } : threads,
  );
  let threaded: BinaryScorer | undefined;
  const scorerFor = (last: boolean): BinaryScorer => {
    if (categorical.length > 0 || (last && !threaded)) return scorer;
    threaded ??= openThreadedScorer(options.onnx, nF, scorer, threads);
    return threaded;
  };
  const explainer = options.explain
    ? await openRowExplainer(options.explain.graph, features, options.explain.k, categorical)
    : undefined;
  const chunkThreads =
    options.parser === 'general' || explainer || categorical.length > 0
      ? 0
      : (options.chunkThreads ?? DEFAULT_CHUNK_THREADS);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let pool: ChunkScoringPool | undefined;
  const chunkSetup = {
    nFeatures: nF,
    batchRows: options.batchRows ?? DEFAULT_CHUNK_BATCH_ROWS,
    threshold,
    file,
  };
  // This thread is one of the chunk threads: it scores with the session that checked the model.
  const startPool = () =>
    (pool ??= new ChunkScoringPool(
      chunkThreads - 1,
      {
        ...chunkSetup,
        onnx: options.onnx,
        inputName: scorer.inputName,
        outputName: scorer.outputName,
        intraOpThreads,
      },
      new ChunkScorer(chunkSetup, (x, n) => scorer.score(x, n)),
    ));
  // A file of more than one chunk is read in chunks: the threads start now, while the header is read.
  if (chunkThreads > 0 && typeof input === 'string' && (await stat(input)).size > 2 * chunkBytes) startPool();
  const counts = { rows: 0, positives: 0, chunked: 0 };
  const tmp =
    typeof output === 'string'
      ? join(dirname(output), `.${basename(output)}.${randomUUID().slice(0, 8)}.tmp`)
      : undefined;
  const source: Readable =
    typeof input === 'string'
      ? createReadStream(input, { highWaterMark: chunkThreads > 0 ? chunkBytes : READ_CHUNK_BYTES })
      : (input as Readable);
  const sink = new OutputSink(tmp ? createWriteStream(tmp, { flags: 'wx' }) : (output as Writable));
  const stopOnAbort = () => source.destroy(signal?.reason);
  signal?.addEventListener('abort', stopOnAbort, { once: true });
  const onHeader = (cells: string[]): RowPlan => {
    const columns = matchFeatureColumns(cells, features, file, added);
    sink.writeNow(
      Buffer.from(stringify([[...cells, added.predicted, added.probability, ...(added.explanation ?? [])]])),
    );
    return categorical.length > 0
      ? featureRowPlan(cells.length, features, columns, categorical)
      : { width: cells.length, featureIndex: columns, features };
  };

  const batches = [
    new ScoringBatch(batchRows, nF, categorical.length),
    new ScoringBatch(batchRows, nF, categorical.length),
  ] as const;
  let filling: ScoringBatch = batches[0];
  // The batch being scored and written, if any; its buffers are reused once it settles.
  let inFlight: Promise<void> = Promise.resolve();
  const scoreAndWrite = async (batch: ScoringBatch, last: boolean): Promise<void> => {
    // The model scores on its own thread while the explainer runs on this one.
    const [probabilities, extra] = await Promise.all([
      scorerFor(last).score(batch.x, batch.rows, batch.categories),
      explainer?.explain(batch.x, batch.rows, undefined, batch.categories),
    ]);
    const bytes = batch.render(probabilities, threshold, counts, extra);
    counts.rows += batch.rows;
    batch.clear();
    options.onProgress?.(counts.rows);
    await sink.write(bytes);
  };
  const submit = async (last: boolean): Promise<void> => {
    const batch = filling;
    await inFlight;
    signal?.throwIfAborted();
    inFlight = scoreAndWrite(batch, last);
    // Its failure is seen when it is next awaited; until then it must not count as unhandled.
    inFlight.catch(() => undefined);
    filling = batch === batches[0] ? batches[1] : batches[0];
  };
  /** The single reader: rows in batches, scored while the next batch is read (see above). */
  const scoreInBatches = async (stream: Readable, resume?: { plan: RowPlan; line: number }) => {
    const read = await readCsvRows({
      stream,
      file,
      parser: options.parser,
      resume,
      onHeader,
      onRow(values, _label, _row, row) {
        filling.add(values, row);
        if (filling.rows === batchRows) return submit(false);
      },
    });
    if (!read.header) throw datasetError('EmptyFile', `${file} is empty: expected a header row.`, { file });
    if (filling.rows > 0) await submit(true);
    await inFlight;
  };

  try {
    const handOver =
      chunkThreads === 0
        ? { stream: source }
        : await scoreInChunks({
            source,
            chunkBytes,
            // Two chunks ahead for each scoring thread, one for this thread.
            maxInFlight: 2 * (chunkThreads - 1) + 1,
            pool: startPool,
            onHeader,
            signal,
            async write(bytes, rows, positives) {
              counts.rows += rows;
              counts.chunked += rows;
              counts.positives += positives;
              options.onProgress?.(counts.rows);
              await sink.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
            },
          });
    if (handOver) {
      // The threads are not needed any more: free their memory for the single reader.
      await pool?.release();
      await scoreInBatches(handOver.stream, handOver.resume);
    }
    signal?.throwIfAborted();
    await sink.end();
    if (tmp) await rename(tmp, output as string);
  } catch (error) {
    // Never release the session while it still runs a batch.
    await inFlight.catch(() => undefined);
    await sink.destroy(error as Error);
    if (tmp) await rm(tmp, { force: true });
    throw error;
  } finally {
    signal?.removeEventListener('abort', stopOnAbort);
    source.destroy();
    await pool?.release();
    await threaded?.release();
    await scorer.release();
    await explainer?.release();
  }
  const durationMs = performance.now() - started;
  return {
    rowsScored: counts.rows,
    positives: counts.positives,
    durationMs,
    seconds: durationMs / 1000,
    outputName: scorer.outputName,
    columns: added,
    chunkedRows: counts.chunked,
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
