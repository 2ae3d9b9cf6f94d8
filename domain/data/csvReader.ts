import type { Readable } from 'node:stream';
import { z } from 'zod';
import { checkCategoricalColumns, FeatureRowReader } from './categories';
import { type CsvParserChoice, readCsvRows } from './csvRows';
import { datasetError, where } from './errors';
import { type CsvLayout, planLayout } from './layout';

export type { CsvLayout } from './layout';

export const csvLimitsSchema = z.object({
  /** Largest source accepted, in bytes (checked up front when the size is known, and while streaming). */
  maxBytes: z.number().int().positive(),
  /** Widest header accepted; a 10,000-column file is almost always a mistake (a transposed export). */
  maxColumns: z.number().int().positive(),
});
export type CsvLimits = z.infer<typeof csvLimitsSchema>;

export const defaultCsvLimits: CsvLimits = { maxBytes: 2 * 1024 ** 3, maxColumns: 2_000 };

/** Limits with defaults filled in; a bad value is a programming or configuration error. */
export function resolveCsvLimits(limits?: Partial<CsvLimits>): CsvLimits {
  return csvLimitsSchema.parse({ ...defaultCsvLimits, ...limits });
}

export interface CsvReadResult {
  layout: CsvLayout;
  rows: number;
  classCounts: { negative: number; positive: number };
  /** Data rows the byte scanner read; the others went through csv-parse (see csvRows.ts). */
  fastRows: number;
}

/**
 * Streams a CSV, validating every cell, and hands each row to `onRow` as feature values plus a
 * 0/1 label. Memory stays flat whatever the file size: only the current record is held, and the
 * `values` array passed to onRow is reused (copy it to keep it).
 *
 * Row numbers are lines as an editor shows them (header = row 1, blank lines counted); a record
 * whose quoted field spans lines is reported at the line it starts on.
 */
export async function readValidatedCsv(options: {
  stream: Readable;
  file: string;
  target: string;
  features?: string[];
  limits?: Partial<CsvLimits>;
  /** 'general' reads every line with csv-parse (the byte scanner's reference); default 'auto'. */
  parser?: CsvParserChoice;
  /** Features read as text categories (each cell handed out as its code; see categories.ts). */
  categorical?: string[];
  onLayout?(layout: CsvLayout, categories: FeatureRowReader): void;
  /** Each row's features in feature order (categories as codes; the array is reused). */
  onRow(values: Float32Array, label: 0 | 1, row: number): void;
}): Promise<CsvReadResult> {
  const { file, target } = options;
  const limits = resolveCsvLimits(options.limits);
  let layout: CsvLayout | undefined;
  let reader: FeatureRowReader | undefined;
  let row32 = new Float32Array(0);
  const counts = { negative: 0, positive: 0 };
  const read = await readCsvRows({
    stream: options.stream,
    file,
    parser: options.parser,
    onHeader(record, row) {
      if (record.length > limits.maxColumns) {
        throw datasetError(
          'TooManyColumns',
          `${where(file, row)}: the header has ${record.length} columns, more than the limit of ${limits.maxColumns}. ` +
            // --features does not help here: the limit guards reading the header itself.
            'A file this wide is usually transposed (one row per feature) or an export of the wrong table: ' +
            'check the export, and keep only the columns the model needs.',
          { file, row },
        );
      }
      const planned = planLayout(record, file, target, options.features);
      checkCategoricalColumns(planned.features, options.categorical ?? [], file);
      layout = planned;
      reader = new FeatureRowReader(planned.features, options.categorical ?? [], planned.featureIndex, file);
      row32 = new Float32Array(planned.features.length);
      options.onLayout?.(planned, reader);
      return {
        width: planned.header.length,
        ...reader.plan(),
        target: { index: planned.targetIndex, name: target },
      };
    },
    onRow(values, label, row, source) {
      if (label === 1) counts.positive++;
      else counts.negative++;
      // Round once, so the summary describes exactly the values the snapshot holds.
      (reader as FeatureRowReader).compose(values, source, row, row32);
      options.onRow(row32, label, row);
    },
  });
  const rows = read.rows;
  if (!layout) {
    throw datasetError(
      'EmptyFile',
      `${file} is empty: expected a header row and data rows. Check that the export finished and that this is the right file.`,
      { file },
    );
  }
  if (rows === 0) {
    throw datasetError(
      'NoDataRows',
      `${where(file, 2)}: the file ends after the header: no data rows. Export the data with its rows.`,
      { file, row: 2 },
    );
  }
  for (const [name, count] of [
    ['0 (negative)', counts.negative],
    ['1 (positive)', counts.positive],
  ] as const) {
    if (count < 2) {
      throw datasetError(
        'TooFewRowsOfClass',
        `${where(file, undefined, target)}: class ${name} has ${count} row${count === 1 ? '' : 's'} ` +
          `(${counts.negative} negative, ${counts.positive} positive in ${rows} rows); at least 2 of each ` +
          'are needed to train and evaluate. Check the target column, or use more data.',
        { file, column: target },
      );
    }
  }
  return { layout, rows, classCounts: counts, fastRows: read.fastRows };
}
