import type { Readable } from 'node:stream';
import { readCsvRows } from '../data/csvRows';
import { didYouMean } from '../data/didYouMean';
import { datasetError, where } from '../data/errors';
import type { DatasetMatrix } from '../data/snapshot';
import { sortFloat32 } from './distribution';

/**
 * A growable column (doubling), so reading a CSV of unknown length copies O(n) in all. Float32:
 * values are rounded as the model sees them and the snapshot stores them.
 */
class Column {
  private data = new Float32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  sorted(): Float64Array {
    return sortFloat32(this.data.subarray(0, this.length));
  }
}

/**
 * The model's feature columns of a CSV, each sorted ascending, for a drift comparison. Columns are
 * found by name (any order; other columns, the label or apply's added columns among them, are
 * ignored). Cells are read by the same reader and rules as extraction and apply, so an empty or
 * non-numeric cell fails with its file, row and column.
 */
export async function readSortedFeatureColumns(options: {
  stream: Readable;
  file: string;
  features: readonly string[];
}): Promise<{ rows: number; columns: Float64Array[] }> {
  const { file, features } = options;
  const columns = features.map(() => new Column());
  const read = await readCsvRows({
    stream: options.stream,
    file,
    onHeader(cells, row) {
      const names = cells.map((c) => c.trim());
      const featureIndex = features.map((f) => names.indexOf(f));
      const missing = features.filter((_, j) => featureIndex[j] === -1);
      if (missing.length > 0) {
        throw datasetError(
          'UnknownFeature',
          `${where(file, row)}: the file lacks the model's feature${missing.length === 1 ? '' : 's'} ${missing.join(', ')}.` +
            `${didYouMean(missing, names)} The model was trained on ${features.join(', ')}; column order does not matter, names must match.`,
          { file, row, column: missing[0] },
        );
      }
      return { width: cells.length, featureIndex, features: [...features] };
    },
    onRow(values) {
      for (let j = 0; j < columns.length; j++) (columns[j] as Column).push(values[j] as number);
    },
  });
  if (!read.header) {
    throw datasetError('EmptyFile', `${file} is empty: expected a header row and data rows.`, { file });
  }
  if (read.rows === 0) {
    throw datasetError(
      'NoDataRows',
      `${where(file, 2)}: the file ends after the header: no data rows to compare.`,
      {
        file,
        row: 2,
      },
    );
  }
  return { rows: read.rows, columns: columns.map((c) => c.sorted()) };
}

/** Each named feature of a snapshot matrix as a sorted column. */
export function sortedSnapshotColumns(matrix: DatasetMatrix, features: readonly string[]): Float64Array[] {
  return features.map((name) => {
    const j = matrix.features.indexOf(name);
    if (j < 0) {
      throw datasetError(
        'CorruptSnapshot',
        `The reference snapshot has no column "${name}" (it has ${matrix.features.join(', ')}).`,
      );
    }
    const column = new Float32Array(matrix.nRows);
    for (let i = 0, k = j; i < matrix.nRows; i++, k += matrix.nCols) column[i] = matrix.x[k] as number;
    return sortFloat32(column);
  });
}
