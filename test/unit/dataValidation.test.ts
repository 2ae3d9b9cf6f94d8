import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetError, type DatasetErrorType } from '../../domain/data/errors';
import { extractDataset } from '../../domain/data/extract';
import { useTempStore } from '../support/tempStore';

/** Every bad-CSV fixture fails with its stable type, not retryable, naming file, row and column. */
const FIXTURES = resolve(__dirname, '../fixtures/csv');

const temp = useTempStore('slipway-data-validation-', 'artifacts', { perFile: true });

async function failure(
  source: string,
  options: { features?: string[]; target?: string; limits?: { maxBytes?: number; maxColumns?: number } } = {},
): Promise<DatasetError> {
  const err = await extractDataset({
    source,
    store: temp.store,
    workDir: join(temp.root, 'work'),
    ...options,
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${source} should have been refused`).toBeInstanceOf(DatasetError);
  const e = err as DatasetError;
  expect(e.retryable).toBe(false);
  expect(e.name).toBe(e.type);
  return e;
}

interface Case {
  file: string;
  type: DatasetErrorType;
  row?: number;
  column?: string;
  /** Further things the message must say. */
  says?: RegExp[];
  features?: string[];
}

const cases: Case[] = [
  { file: 'empty.csv', type: 'EmptyFile', says: [/is empty/] },
  { file: 'blank-lines.csv', type: 'EmptyFile' },
  { file: 'header-only.csv', type: 'NoDataRows', row: 2, says: [/no data rows/] },
  { file: 'no-header.csv', type: 'MissingHeader', row: 1, says: [/looks like data/, /Add a header row/] },
  { file: 'duplicate-header.csv', type: 'DuplicateColumn', row: 1, column: 'a', says: [/columns 1 and 3/] },
  { file: 'empty-column-name.csv', type: 'EmptyColumnName', row: 1, says: [/column 2 of the header/] },
  { file: 'semicolon.csv', type: 'WrongDelimiter', row: 1, says: [/looks ";"-separated/, /comma-separated/] },
  { file: 'tab.tsv', type: 'WrongDelimiter', row: 1, says: [/looks tab-separated/] },
  {
    file: 'missing-target.csv',
    type: 'MissingTargetColumn',
    row: 1,
    column: 'Class',
    says: [/no target column "Class"/, /Columns found: a, b, Label/, /--target/],
  },
  {
    file: 'target-not-binary.csv',
    type: 'TargetNotBinary',
    row: 4,
    column: 'Class',
    says: [/"2" is not 0 or 1/],
  },
  { file: 'target-text.csv', type: 'TargetNotBinary', row: 3, column: 'Class', says: [/"yes"/] },
  { file: 'target-nan.csv', type: 'TargetNotBinary', row: 3, column: 'Class', says: [/"NaN"/] },
  {
    file: 'text-in-numeric.csv',
    type: 'NonNumericValue',
    row: 3,
    column: 'b',
    says: [/"abc" is not a number/],
  },
  {
    file: 'missing-marker.csv',
    type: 'NonNumericValue',
    row: 4,
    column: 'a',
    says: [/missing-value marker/],
  },
  { file: 'nan.csv', type: 'NonFiniteValue', row: 3, column: 'a', says: [/"NaN" is not a finite number/] },
  { file: 'inf.csv', type: 'NonFiniteValue', row: 2, column: 'b', says: [/"Inf"/] },
  { file: 'negative-inf.csv', type: 'NonFiniteValue', row: 3, column: 'b', says: [/"-inf"/] },
  { file: 'float64-overflow.csv', type: 'NonFiniteValue', row: 2, column: 'b', says: [/64-bit float/] },
  { file: 'float32-range.csv', type: 'ValueOutOfRange', row: 3, column: 'a', says: [/float32 range/] },
  { file: 'empty-cell.csv', type: 'EmptyValue', row: 2, column: 'b', says: [/empty/] },
  { file: 'empty-target.csv', type: 'EmptyValue', row: 2, column: 'Class' },
  { file: 'ragged-short.csv', type: 'RaggedRow', row: 3, says: [/2 fields where the header has 3/] },
  { file: 'ragged-long.csv', type: 'RaggedRow', row: 3, says: [/4 fields where the header has 3/] },
  {
    file: 'one-class.csv',
    type: 'TooFewRowsOfClass',
    column: 'Class',
    says: [/class 1 \(positive\) has 0 rows/, /3 negative, 0 positive/],
  },
  {
    file: 'one-positive.csv',
    type: 'TooFewRowsOfClass',
    column: 'Class',
    says: [/1 \(positive\) has 1 row /],
  },
  { file: 'unclosed-quote.csv', type: 'MalformedCsv', row: 4, says: [/Quote Not Closed/i, /quoting/] },
  { file: 'target-only.csv', type: 'NoFeatures', row: 1, says: [/only column is the target/] },
  // A quoted field spanning two lines and a blank line both count, as in an editor.
  { file: 'multiline-then-text.csv', type: 'NonNumericValue', row: 5, column: 'a', features: ['a'] },
  { file: 'text-in-multiline-record.csv', type: 'NonNumericValue', row: 3, column: 'a', features: ['a'] },
];

describe('bad CSV fixtures', () => {
  it.each(cases)('$file -> $type', async ({ file, type, row, column, says = [], features }) => {
    const path = join(FIXTURES, 'bad', file);
    const e = await failure(path, { features });
    expect(e.type).toBe(type);
    expect(e.details?.file).toBe(path);
    expect(e.details?.row).toBe(row);
    expect(e.details?.column).toBe(column);
    // The message itself names the place, the way a person reads it.
    expect(e.message).toContain(path);
    if (row !== undefined) expect(e.message).toContain(`row ${row}`);
    if (column !== undefined) expect(e.message).toContain(`"${column}"`);
    for (const part of says) expect(e.message).toMatch(part);
  });

  it('covers every fixture in the folder', async () => {
    expect((await readdir(join(FIXTURES, 'bad'))).sort()).toEqual(cases.map((c) => c.file).sort());
  });
});

describe('feature lists', () => {
  const basic = join(FIXTURES, 'good', 'basic.csv');
  it('an unknown feature lists the columns found', async () => {
    const e = await failure(basic, { features: ['a', 'zz'] });
    expect(e.type).toBe('UnknownFeature');
    expect(e.details).toMatchObject({ row: 1, column: 'zz' });
    expect(e.message).toMatch(/"zz" not in the header\. Columns found: a, b, Class/);
  });
  it('the target cannot be a feature', async () => {
    expect((await failure(basic, { features: ['a', 'Class'] })).type).toBe('UnknownFeature');
  });
  it('a feature named twice', async () => {
    const e = await failure(basic, { features: ['a', 'b', 'a'] });
    expect(e.type).toBe('DuplicateFeature');
    expect(e.details?.column).toBe('a');
  });
  it('an empty feature list', async () => {
    expect((await failure(basic, { features: [] })).type).toBe('NoFeatures');
  });
  it('another target name', async () => {
    const e = await failure(basic, { target: 'label' });
    expect(e.type).toBe('MissingTargetColumn');
    expect(e.details?.column).toBe('label');
  });
});

describe('limits', () => {
  it('refuses a 10,001-column header by default, naming the limit', async () => {
    const path = join(temp.root, 'wide.csv');
    const header = [...Array.from({ length: 10_000 }, (_, i) => `c${i}`), 'Class'].join(',');
    await writeFile(path, `${header}\n${'1,'.repeat(10_000)}0\n`);
    const e = await failure(path);
    expect(e.type).toBe('TooManyColumns');
    expect(e.message).toMatch(/10001 columns, more than the limit of 2000/);
    expect(e.details?.row).toBe(1);
  });
  it('maxColumns is configurable', async () => {
    const e = await failure(join(FIXTURES, 'good', 'basic.csv'), { limits: { maxColumns: 2 } });
    expect(e.type).toBe('TooManyColumns');
  });
  it('a file over maxBytes is refused before reading', async () => {
    const e = await failure(join(FIXTURES, 'good', 'basic.csv'), { limits: { maxBytes: 10 } });
    expect(e.type).toBe('SourceTooLarge');
    expect(e.message).toMatch(/is \d+ bytes, over the limit of 10 bytes/);
  });
  it('a stream of unknown length is cut off once it passes maxBytes', async () => {
    const e = await failure('synthetic:fraud?rows=5000&seed=1', { limits: { maxBytes: 100_000 } });
    expect(e.type).toBe('SourceTooLarge');
    expect(e.message).toMatch(/synthetic:fraud\?rows=5000&seed=1 is at least \d+ bytes/);
  });
  it('limits must be positive integers', async () => {
    await expect(
      extractDataset({
        source: join(FIXTURES, 'good', 'basic.csv'),
        store: temp.store,
        workDir: join(temp.root, 'work'),
        limits: { maxColumns: 0 },
      }),
    ).rejects.toThrow(/maxColumns/);
  });
});

describe('sources that cannot be read', () => {
  it('a missing file', async () => {
    const e = await failure(join(temp.root, 'nope.csv'));
    expect(e.type).toBe('SourceNotFound');
    expect(e.message).toContain(join(temp.root, 'nope.csv'));
  });
  it('a directory', async () => {
    expect((await failure(temp.root)).type).toBe('SourceNotFound');
  });
  it('an s3:// source without S3 settings', async () => {
    const e = await failure('s3://data-bucket/fraud.csv');
    expect(e.type).toBe('InvalidSource');
    expect(e.message).toMatch(/SLIPWAY_S3_ENDPOINT/);
  });
});
