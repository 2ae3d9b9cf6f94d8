import type { Readable } from 'node:stream';
import { featureRowPlan, readCsvRows } from '../data/csvRows';
import { didYouMean } from '../data/didYouMean';
import { datasetError, where } from '../data/errors';
import type { DatasetMatrix } from '../data/snapshot';
import type { DriftColumn } from './datasetDrift';
import { sortFloat32 } from './distribution';
import { categoryCounts } from './drift';

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
  /** Features read as text: each comes back as its counts per category (categoryCounts, capped). */
  categorical?: readonly string[];
}): Promise<{ rows: number; columns: DriftColumn[] }> {
  const { file, features } = options;
  const categorical = features.filter((f) => options.categorical?.includes(f));
  const numeric = features.filter((f) => !categorical.includes(f));
  const columns = numeric.map(() => new Column());
  const texts = categorical.map(() => [] as string[]);
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
      return featureRowPlan(cells.length, features, featureIndex, categorical);
    },
    onRow(values, _label, _row, source) {
      for (let j = 0; j < columns.length; j++) (columns[j] as Column).push(values[j] as number);
      for (let c = 0; c < texts.length; c++) (texts[c] as string[]).push(source.texts[c] as string);
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
  const sorted = columns.map((c) => c.sorted());
  const counted = texts.map((t) => categoryCounts(t).counts);
  return {
    rows: read.rows,
    columns: features.map((f) =>
      categorical.includes(f)
        ? (counted[categorical.indexOf(f)] as Map<string, number>)
        : (sorted[numeric.indexOf(f)] as Float64Array),
    ),
  };
}

/** A categorical feature's counts per category over all rows of a snapshot, from its summary's dictionary. */
export function dictionaryCounts(dictionary: { values: string[]; counts: number[] }): Map<string, number> {
  return new Map(dictionary.values.map((v, k) => [v, dictionary.counts[k] ?? 0]));
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
