import type { Readable } from 'node:stream';
import { type CsvError, parse } from 'csv-parse';
import { z } from 'zod';
import { parseFeatureCell, parseLabelCell } from './cells';
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

// One record may not exceed this many bytes: an unclosed quote would otherwise swallow the rest
// of the file into a single field and hold it in memory.
const MAX_RECORD_BYTES = 16 * 1024 * 1024;

export interface CsvReadResult {
  layout: CsvLayout;
  rows: number;
  classCounts: { negative: number; positive: number };
}

interface Entry {
  record: string[];
  info: { lines: number; empty_lines: number };
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
  onLayout?(layout: CsvLayout): void;
  onRow(values: Float64Array, label: 0 | 1, row: number): void;
}): Promise<CsvReadResult> {
  const { file, target } = options;
  const limits = resolveCsvLimits(options.limits);
  const parser = parse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  options.stream.on('error', (err) => parser.destroy(err));
  options.stream.pipe(parser);

  let layout: CsvLayout | undefined;
  let values = new Float64Array(0);
  let rows = 0;
  const counts = { negative: 0, positive: 0 };
  // Line where the next record starts: after the previous record's last line and any blank lines.
  let lastLine = 0;
  let lastEmpty = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<Entry>) {
      const row = lastLine + 1 + (info.empty_lines - lastEmpty);
      lastLine = info.lines;
      lastEmpty = info.empty_lines;
      // A line of spaces is as blank as an empty one (skip_empty_lines only skips truly empty lines).
      if (record.length === 1 && (record[0] as string).trim() === '') continue;
      if (!layout) {
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
        layout = planLayout(record, file, target, options.features);
        values = new Float64Array(layout.features.length);
        options.onLayout?.(layout);
        continue;
      }
      if (record.length !== layout.header.length) {
        throw datasetError(
          'RaggedRow',
          `${where(file, row)}: ${record.length} field${record.length === 1 ? '' : 's'} where the header has ` +
            `${layout.header.length}. Check for an unquoted comma, a missing value or a cut-off line.`,
          { file, row },
        );
      }
      const { features, featureIndex } = layout;
      for (let j = 0; j < featureIndex.length; j++) {
        values[j] = parseFeatureCell(record[featureIndex[j] as number] as string, {
          file,
          row,
          column: features[j] as string,
        });
      }
      const label = parseLabelCell(record[layout.targetIndex] as string, { file, row, column: target });
      if (label === 1) counts.positive++;
      else counts.negative++;
      rows++;
      options.onRow(values, label, row);
    }
  } catch (err) {
    const blank = (err as { empty_lines?: number }).empty_lines ?? lastEmpty;
    throw asMalformedCsv(err, file, lastLine + 1 + (blank - lastEmpty)) ?? err;
  } finally {
    // Stop reading the source too (a file descriptor, an HTTP response) when we stop early.
    parser.destroy();
    options.stream.destroy();
  }
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
  return { layout, rows, classCounts: counts };
}

/** csv-parse's own errors (CSV_*) as a MalformedCsv naming the line the bad record starts on. */
export function asMalformedCsv(err: unknown, file: string, startLine: number) {
  const code = (err as Partial<CsvError>)?.code;
  if (!(err instanceof Error) || typeof code !== 'string' || !code.startsWith('CSV_')) return undefined;
  const hint =
    code === 'CSV_MAX_RECORD_SIZE'
      ? `a record is longer than ${MAX_RECORD_BYTES} bytes, usually because a quote is never closed`
      : // csv-parse counts lines its own way; the row above is the one an editor shows.
        err.message.replace(/ at line \d+/g, '').replace(/\.$/, '');
  return datasetError(
    'MalformedCsv',
    `${where(file, startLine)}: the record starting here cannot be parsed: ${hint}. Fix the quoting on that line ` +
      '(a field containing commas, quotes or line breaks must be wrapped in double quotes, with inner quotes doubled).',
    { file, row: startLine },
  );
}
