import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import {
  Field,
  Float32,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  type Table,
  tableFromIPC,
  Uint8,
} from 'apache-arrow';
import { datasetError } from './errors';

/**
 * Snapshots are Apache Arrow IPC files rather than Parquet:
 * - the JS Arrow writer streams record batches in pure JavaScript, with no native dependency
 *   (the JS Parquet writers either hold the table in memory or need a native/WASM codec);
 * - a column comes back as a Float32Array view of the file's bytes, ready for training with
 *   no decode step; Parquet's encodings and compression would need decoding on every read;
 * - the size cost (no compression) is small for dense float data, which compresses poorly.
 *
 * Features are stored as float32, which is what training and the ONNX input use: float64 would
 * double the size and every reader would convert anyway. The summary's statistics are computed
 * over the stored float32 values, so they describe the snapshot exactly. The target is uint8.
 *
 * The schema carries `slipway.snapshot` (format version) and `slipway.target` as metadata, and
 * no timestamps: the same rows give the same bytes, so content-addressed keys dedupe retries.
 */
export const SNAPSHOT_MEDIA_TYPE = 'application/vnd.apache.arrow.file';
export const SNAPSHOT_FORMAT_VERSION = '1';
const META_VERSION = 'slipway.snapshot';
const META_TARGET = 'slipway.target';
/** Rows per record batch: 64k x 30 float32 columns is about 8 MB held while a batch fills. */
export const SNAPSHOT_BATCH_ROWS = 65_536;

export class SnapshotWriter {
  private readonly writer = new RecordBatchFileWriter();
  private readonly out: WriteStream;
  private readonly done: Promise<void>;
  private readonly schema: Schema;
  private readonly columns: Float32Array[];
  private readonly labels: Uint8Array;
  private filled = 0;
  private written = 0;

  constructor(
    filePath: string,
    features: string[],
    target: string,
    private readonly batchRows = SNAPSHOT_BATCH_ROWS,
  ) {
    this.schema = new Schema(
      [
        ...features.map((name) => new Field(name, new Float32(), false)),
        new Field(target, new Uint8(), false),
      ],
      new Map([
        [META_VERSION, SNAPSHOT_FORMAT_VERSION],
        [META_TARGET, target],
      ]),
    );
    this.out = createWriteStream(filePath);
    this.writer.pipe(this.out);
    this.done = finished(this.out);
    this.columns = features.map(() => new Float32Array(batchRows));
    this.labels = new Uint8Array(batchRows);
  }

  /** Rows added so far. */
  get rows(): number {
    return this.written + this.filled;
  }

  /** Adds one row; values are rounded to float32. */
  add(values: ArrayLike<number>, label: 0 | 1): void {
    for (let j = 0; j < this.columns.length; j++)
      (this.columns[j] as Float32Array)[this.filled] = values[j] as number;
    this.labels[this.filled] = label;
    this.filled++;
    if (this.filled === this.batchRows) this.flush();
  }

  private flush(): void {
    const length = this.filled;
    if (length === 0) return;
    const children = [
      ...this.columns.map((c) => makeData({ type: new Float32(), length, data: c.slice(0, length) })),
      makeData({ type: new Uint8(), length, data: this.labels.slice(0, length) }),
    ];
    const struct = makeData({ type: new Struct(this.schema.fields), length, children });
    this.writer.write(new RecordBatch(this.schema, struct));
    this.written += length;
    this.filled = 0;
  }

  async close(): Promise<void> {
    this.flush();
    this.writer.finish();
    await this.done;
  }

  /** Stops writing after a failure; the caller removes the file. */
  async abort(): Promise<void> {
    // Destroying the file stream (rather than aborting the Arrow writer, whose pending reads
    // reject unhandled) is enough: nothing more is written and the caller deletes the file.
    this.out.destroy();
    await this.done.catch(() => undefined);
  }
}

export interface DatasetMatrix {
  features: string[];
  target: string;
  /** Row-major nRows x nCols. */
  x: Float32Array;
  y: Uint8Array;
  nRows: number;
  nCols: number;
}

function corrupt(message: string) {
  return datasetError(
    'CorruptSnapshot',
    `${message} Re-run the extraction to write a fresh snapshot (and check that the reference points at a dataset).`,
  );
}

/**
 * Reads a snapshot into one row-major float32 matrix and a label vector. `target` defaults to
 * the one recorded in the snapshot. Column data is read batch by batch from views of `bytes`;
 * the only copy is the row-major matrix itself.
 */
export function readSnapshot(bytes: Uint8Array, target?: string): DatasetMatrix {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    throw corrupt(`The dataset snapshot cannot be read as an Arrow IPC file: ${(err as Error).message}.`);
  }
  const names = table.schema.fields.map((f) => f.name);
  const recorded = table.schema.metadata.get(META_TARGET);
  const label = target ?? recorded;
  if (label === undefined) {
    throw corrupt(`The dataset snapshot records no target column (columns: ${names.join(', ')}).`);
  }
  if (!names.includes(label)) {
    throw corrupt(`The dataset snapshot has no target column "${label}" (columns: ${names.join(', ')}).`);
  }
  for (const field of table.schema.fields) {
    const expected = field.name === label ? 'Uint8' : 'Float32';
    if (String(field.type) !== expected) {
      throw corrupt(
        `Column "${field.name}" of the dataset snapshot is ${String(field.type)}, expected ${expected}.`,
      );
    }
  }
  const features = names.filter((n) => n !== label);
  const featureAt = features.map((n) => names.indexOf(n));
  const labelAt = names.indexOf(label);
  const nRows = table.numRows;
  const nCols = features.length;
  const x = new Float32Array(nRows * nCols);
  const y = new Uint8Array(nRows);
  let offset = 0;
  for (const batch of table.batches) {
    const n = batch.numRows;
    for (const [j, at] of featureAt.entries()) {
      const column = batch.getChildAt(at);
      if (!column || column.nullCount > 0) throw corrupt(`Column "${features[j]}" has missing values.`);
      const values = column.toArray() as Float32Array;
      for (let i = 0, k = offset * nCols + j; i < n; i++, k += nCols) x[k] = values[i] as number;
    }
    const labels = batch.getChildAt(labelAt);
    if (!labels || labels.nullCount > 0) throw corrupt(`Column "${label}" has missing values.`);
    const batchLabels = labels.toArray() as Uint8Array;
    for (let i = 0; i < n; i++) {
      if ((batchLabels[i] as number) > 1)
        throw corrupt(`Target "${label}" holds ${batchLabels[i]}, not 0 or 1.`);
    }
    y.set(batchLabels, offset);
    offset += n;
  }
  return { features, target: label, x, y, nRows, nCols };
}

/** readSnapshot over a local file (for example one fetched with ArtifactStore.getToFile). */
export async function readSnapshotFile(filePath: string, target?: string): Promise<DatasetMatrix> {
  return readSnapshot(await readFile(filePath), target);
}
