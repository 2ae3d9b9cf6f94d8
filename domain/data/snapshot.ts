import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { RecordBatchFileWriter, tableFromArrays, tableFromIPC } from 'apache-arrow';
import { datasetError } from './errors';

/**
 * Snapshots are Apache Arrow IPC files rather than Parquet: the JS writer streams record batches
 * with no native dependency, and the columns come back as Float32Arrays ready for training without
 * a decode step. Features are float32 (what training uses), the target uint8.
 */
export const SNAPSHOT_MEDIA_TYPE = 'application/vnd.apache.arrow.file';
const BATCH_ROWS = 65_536;

export class SnapshotWriter {
  private readonly writer = new RecordBatchFileWriter();
  private readonly out: WriteStream;
  private readonly done: Promise<void>;
  private columns: Float32Array[];
  private labels: Uint8Array;
  private filled = 0;

  constructor(
    filePath: string,
    private readonly features: string[],
    private readonly target: string,
  ) {
    this.out = createWriteStream(filePath);
    this.writer.pipe(this.out);
    this.done = finished(this.out);
    this.columns = features.map(() => new Float32Array(BATCH_ROWS));
    this.labels = new Uint8Array(BATCH_ROWS);
  }

  add(values: ArrayLike<number>, label: 0 | 1): void {
    for (let j = 0; j < this.columns.length; j++)
      (this.columns[j] as Float32Array)[this.filled] = values[j] as number;
    this.labels[this.filled] = label;
    this.filled++;
    if (this.filled === BATCH_ROWS) this.flush();
  }

  private flush(): void {
    if (this.filled === 0) return;
    const arrays: Record<string, Float32Array | Uint8Array> = {};
    this.features.forEach((name, j) => {
      arrays[name] = (this.columns[j] as Float32Array).slice(0, this.filled);
    });
    arrays[this.target] = this.labels.slice(0, this.filled);
    // Batches, not tables: writing a Table makes the writer finish the file after it.
    for (const batch of tableFromArrays(arrays).batches) this.writer.write(batch);
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

/** Reads a snapshot back into one row-major float32 matrix and a label vector. */
export function readSnapshot(bytes: Uint8Array, target: string): DatasetMatrix {
  let table: ReturnType<typeof tableFromIPC>;
  try {
    table = tableFromIPC(bytes);
  } catch (err) {
    throw datasetError(
      'CorruptSnapshot',
      `The dataset snapshot cannot be read as Arrow IPC: ${(err as Error).message}`,
    );
  }
  const names = table.schema.fields.map((f) => f.name);
  if (!names.includes(target)) {
    throw datasetError(
      'CorruptSnapshot',
      `The dataset snapshot has no target column "${target}" (columns: ${names.join(', ')}).`,
    );
  }
  const features = names.filter((n) => n !== target);
  const nRows = table.numRows;
  const nCols = features.length;
  const x = new Float32Array(nRows * nCols);
  features.forEach((name, j) => {
    const column = table.getChild(name)?.toArray() as Float32Array;
    for (let i = 0; i < nRows; i++) x[i * nCols + j] = column[i] as number;
  });
  const y = Uint8Array.from(table.getChild(target)?.toArray() as Uint8Array);
  return { features, target, x, y, nRows, nCols };
}
