import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { datasetError, where } from './errors';

export interface CsvLimits {
  /** Largest source accepted, in bytes (counted while streaming). */
  maxBytes: number;
  /** Widest table accepted; a 10,000-column file is almost always a mistake (a transposed export). */
  maxColumns: number;
}

export const defaultCsvLimits: CsvLimits = { maxBytes: 2 * 1024 ** 3, maxColumns: 2_000 };

export interface CsvLayout {
  header: string[];
  features: string[];
  target: string;
  /** Position of each feature in a record, in feature order. */
  featureIndex: number[];
  targetIndex: number;
}

export interface CsvReadResult {
  layout: CsvLayout;
  rows: number;
  classCounts: { negative: number; positive: number };
}

// A plain decimal or scientific number; Number() alone would accept '', ' ', '0x1F' and 'Infinity'.
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** Checks the header against the target and feature list; row numbers start at 1 for the header. */
export function planLayout(header: string[], file: string, target: string, features?: string[]): CsvLayout {
  const names = header.map((h) => h.trim());
  names.forEach((name, i) => {
    if (name === '') {
      throw datasetError(
        'EmptyColumnName',
        `${where(file, 1)}: column ${i + 1} of the header has no name. Give every column a name.`,
        {
          file,
          row: 1,
        },
      );
    }
  });
  if (names.length === 1) {
    const only = names[0] ?? '';
    const delimiter = [';', '\t', '|'].find((d) => only.includes(d));
    if (delimiter) {
      const shown = delimiter === '\t' ? 'tab' : `"${delimiter}"`;
      throw datasetError(
        'WrongDelimiter',
        `${where(file, 1)}: the header is one column containing ${shown}, so the file looks ${shown}-separated. ` +
          'Slipway reads comma-separated CSV: export the file with commas as separators.',
        { file, row: 1 },
      );
    }
  }
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const first = seen.get(name);
    if (first !== undefined) {
      throw datasetError(
        'DuplicateColumn',
        `${where(file, 1, name)}: the column name appears twice (columns ${first + 1} and ${i + 1}). Rename one of them.`,
        { file, row: 1, column: name },
      );
    }
    seen.set(name, i);
  });
  const targetIndex = seen.get(target);
  if (targetIndex === undefined) {
    throw datasetError(
      'MissingTargetColumn',
      `${where(file, 1)}: no target column "${target}". Columns found: ${names.join(', ')}. ` +
        'Name the label column with --target.',
      { file, row: 1, column: target },
    );
  }
  const chosen = features ?? names.filter((n) => n !== target);
  const unknown = chosen.filter((f) => !seen.has(f));
  if (unknown.length > 0) {
    throw datasetError(
      'UnknownFeature',
      `${where(file, 1)}: feature${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} not in the header. ` +
        `Columns found: ${names.join(', ')}.`,
      { file, row: 1, column: unknown[0] },
    );
  }
  if (chosen.includes(target)) {
    throw datasetError(
      'UnknownFeature',
      `${where(file, 1, target)}: the target cannot also be a feature. Remove it from the feature list.`,
      {
        file,
        row: 1,
        column: target,
      },
    );
  }
  return {
    header: names,
    features: chosen,
    target,
    featureIndex: chosen.map((f) => seen.get(f) as number),
    targetIndex,
  };
}

function parseCell(raw: string, file: string, row: number, column: string, label: string): number {
  const text = raw.trim();
  if (text === '') {
    throw datasetError(
      'EmptyValue',
      `${where(file, row, column)}: the ${label} is empty. Fill or drop rows with missing values.`,
      {
        file,
        row,
        column,
      },
    );
  }
  if (NON_FINITE.test(text)) {
    throw datasetError(
      'NonFiniteValue',
      `${where(file, row, column)}: "${text}" is not a finite number. Replace NaN and infinite values before training.`,
      { file, row, column },
    );
  }
  if (!NUMBER.test(text)) {
    throw datasetError(
      'NonNumericValue',
      `${where(file, row, column)}: "${text.slice(0, 40)}" is not a number. Every feature must be numeric: encode ` +
        'categories as numbers or leave the column out of the feature list.',
      { file, row, column },
    );
  }
  const value = Number(text);
  if (!Number.isFinite(value)) {
    throw datasetError('NonFiniteValue', `${where(file, row, column)}: "${text}" overflows a 64-bit float.`, {
      file,
      row,
      column,
    });
  }
  return value;
}

/**
 * Streams a CSV, validating every cell, and hands each row to `onRow` as feature values plus a
 * 0/1 label. Memory stays flat whatever the file size: nothing is kept but the current record.
 */
export async function readValidatedCsv(options: {
  stream: Readable;
  file: string;
  target: string;
  features?: string[];
  limits?: Partial<CsvLimits>;
  onLayout?(layout: CsvLayout): void;
  onRow(values: Float64Array, label: 0 | 1): void;
}): Promise<CsvReadResult> {
  const { file, target } = options;
  const limits = { ...defaultCsvLimits, ...options.limits };
  const parser = options.stream.pipe(
    parse({
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      max_record_size: 16 * 1024 * 1024,
    }),
  );
  options.stream.on('error', (err) => parser.destroy(err));

  let layout: CsvLayout | undefined;
  let values = new Float64Array(0);
  let rows = 0;
  const counts = { negative: 0, positive: 0 };
  try {
    for await (const entry of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record, info } = entry;
      const row = info.lines;
      if (!layout) {
        if (record.length > limits.maxColumns) {
          throw datasetError(
            'TooManyColumns',
            `${where(file, 1)}: ${record.length} columns, more than the limit of ${limits.maxColumns}. ` +
              'Select the features you need (--features) or raise the limit.',
            { file, row: 1 },
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
          `${where(file, row)}: ${record.length} fields where the header has ${layout.header.length}. ` +
            'Check for an unquoted comma or a missing value.',
          { file, row },
        );
      }
      for (let j = 0; j < layout.featureIndex.length; j++) {
        const column = layout.features[j] as string;
        values[j] = parseCell(record[layout.featureIndex[j] as number] as string, file, row, column, 'value');
      }
      const labelValue = parseCell(record[layout.targetIndex] as string, file, row, target, 'target');
      if (labelValue !== 0 && labelValue !== 1) {
        throw datasetError(
          'TargetNotBinary',
          `${where(file, row, target)}: target value "${(record[layout.targetIndex] as string).trim()}" is not 0 or 1. ` +
            'Slipway trains binary classifiers: map the positive class to 1 and the rest to 0.',
          { file, row, column: target },
        );
      }
      if (labelValue === 1) counts.positive++;
      else counts.negative++;
      rows++;
      options.onRow(values, labelValue as 0 | 1);
    }
  } catch (err) {
    if (err instanceof Error && (err as { code?: string }).code?.startsWith('CSV_')) {
      const lines = (err as { lines?: number }).lines;
      throw datasetError(
        'MalformedCsv',
        `${where(file, lines)}: ${err.message}. Fix the quoting on that line.`,
        {
          file,
          row: lines,
        },
      );
    }
    throw err;
  }
  if (!layout)
    throw datasetError('EmptyFile', `${file} is empty: expected a header row and data rows.`, { file });
  if (rows === 0) {
    throw datasetError('NoDataRows', `${file} has a header but no data rows.`, { file, row: 2 });
  }
  for (const [name, count] of [
    ['0 (negative)', counts.negative],
    ['1 (positive)', counts.positive],
  ] as const) {
    if (count < 2) {
      throw datasetError(
        'TooFewRowsOfClass',
        `${where(file, undefined, target)}: class ${name} has ${count} row${count === 1 ? '' : 's'} ` +
          `(${counts.negative} negative, ${counts.positive} positive); at least 2 of each are needed to train and evaluate.`,
        { file, column: target },
      );
    }
  }
  return { layout, rows, classCounts: counts };
}
