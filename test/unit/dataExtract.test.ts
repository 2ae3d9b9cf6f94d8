import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../domain/data/errors';
import { extractDataset } from '../../domain/data/extract';
import { readSnapshot } from '../../domain/data/snapshot';
import { datasetSummarySchema } from '../../domain/data/summary';
import { LocalArtifactStore } from '../../domain/storage/localStore';

let dir: string;
let store: LocalArtifactStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-data-'));
  store = new LocalArtifactStore(join(dir, 'artifacts'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function csv(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function extractText(name: string, text: string, target = 'Class', features?: string[]) {
  return extractDataset({
    source: await csv(name, text),
    target,
    features,
    store,
    workDir: join(dir, 'work'),
  });
}

async function expectFailure(name: string, text: string, type: string, parts: RegExp[], features?: string[]) {
  const err = await extractText(name, text, 'Class', features).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  const e = err as DatasetError;
  expect(e.type).toBe(type);
  expect(e.retryable).toBe(false);
  for (const part of parts) expect(e.message).toMatch(part);
  return e;
}

const good = 'a,b,Class\n1,2.5,0\n3,-4e-1,1\n5,6,0\n7,8,1\n';

describe('extractDataset on CSV files', () => {
  it('round-trips a good CSV through the Arrow snapshot, with a summary computed by hand', async () => {
    const result = await extractText('good.csv', good);
    const bytes = await store.getBytes(result.snapshot);
    const m = readSnapshot(bytes, 'Class');
    expect(m.features).toEqual(['a', 'b']);
    expect(m.nRows).toBe(4);
    expect(Array.from(m.x)).toEqual([1, 2.5, 3, Math.fround(-0.4), 5, 6, 7, 8]);
    expect(Array.from(m.y)).toEqual([0, 1, 0, 1]);
    const summary = datasetSummarySchema.parse(JSON.parse((await store.getBytes(result.summary)).toString()));
    expect(summary.classCounts).toEqual({ negative: 2, positive: 2 });
    const a = summary.columns[0];
    expect(a).toMatchObject({ name: 'a', min: 1, max: 7, mean: 4 });
    // population std of 1,3,5,7 = sqrt(5)
    expect(a?.std).toBeCloseTo(Math.sqrt(5), 12);
    expect(summary.snapshotSha256).toBe(result.snapshot.sha256);
  });

  it('gives byte-identical artifacts for the same source (so a retry writes nothing new)', async () => {
    const first = await extractText('same1.csv', good);
    const second = await extractText('same2.csv', good);
    expect(second.snapshot).toEqual(first.snapshot);
    expect(second.summaryDoc.sourceSha256).toBe(first.summaryDoc.sourceSha256);
  });

  it('honours an explicit feature order and handles quotes, CRLF and a BOM', async () => {
    const result = await extractText(
      'quoted.csv',
      '\ufeff"x","y",Class\r\n"1",2,0\r\n3,"4",1\r\n5,6,0\r\n7,8,1\r\n',
      'Class',
      ['y', 'x'],
    );
    const m = readSnapshot(await store.getBytes(result.snapshot), 'Class');
    expect(m.features).toEqual(['y', 'x']);
    expect(Array.from(m.x.slice(0, 2))).toEqual([2, 1]);
  });

  it('writes a synthetic source larger than one record batch and reads every row back', async () => {
    const result = await extractDataset({
      source: 'synthetic:fraud?rows=70000&seed=5',
      store,
      workDir: join(dir, 'work'),
    });
    const m = readSnapshot(await store.getBytes(result.snapshot), 'Class');
    expect(m.nRows).toBe(70_000);
    expect(m.nCols).toBe(30);
    expect(m.y.reduce((a, b) => a + b, 0)).toBe(result.summaryDoc.classCounts.positive);
    expect(result.summaryDoc.classCounts.positive).toBe(Math.round(70_000 * (492 / 284_807)));
  });

  it('lists constant features in the summary without failing', async () => {
    const result = await extractText('constant.csv', 'a,k,Class\n1,3,0\n2,3,1\n3,3,0\n4,3,1\n');
    expect(result.summaryDoc.constantFeatures).toEqual(['k']);
  });
});

describe('bad CSVs fail clearly, with file, row and column', () => {
  it('empty file', () => expectFailure('empty.csv', '', 'EmptyFile', [/empty\.csv/]));
  it('header only', () => expectFailure('header.csv', 'a,b,Class\n', 'NoDataRows', [/no data rows/]));
  it('missing target', () =>
    expectFailure('notarget.csv', 'a,b,Label\n1,2,0\n', 'MissingTargetColumn', [
      /"Class"/,
      /Columns found: a, b, Label/,
      /--target/,
    ]));
  it('text in a numeric column', () =>
    expectFailure('text.csv', 'a,b,Class\n1,2,0\n3,abc,1\n', 'NonNumericValue', [
      /text\.csv, row 3, column "b"/,
      /"abc"/,
    ]));
  it('NaN', () =>
    expectFailure('nan.csv', 'a,b,Class\n1,2,0\nNaN,2,1\n', 'NonFiniteValue', [/row 3, column "a"/]));
  it('Inf', () => expectFailure('inf.csv', 'a,b,Class\n1,-inf,0\n', 'NonFiniteValue', [/row 2, column "b"/]));
  it('empty cell', () => expectFailure('hole.csv', 'a,b,Class\n1,,0\n', 'EmptyValue', [/row 2, column "b"/]));
  it('one class only', () =>
    expectFailure('oneclass.csv', 'a,Class\n1,0\n2,0\n3,0\n', 'TooFewRowsOfClass', [
      /1 \(positive\) has 0 rows/,
      /3 negative, 0 positive/,
    ]));
  it('target not binary', () =>
    expectFailure('notbinary.csv', 'a,Class\n1,0\n2,2\n', 'TargetNotBinary', [
      /row 3, column "Class"/,
      /"2"/,
    ]));
  it('wrong delimiter', () =>
    expectFailure('semi.csv', 'a;b;Class\n1;2;0\n', 'WrongDelimiter', [/";"-separated/, /row 1/]));
  it('duplicate header', () =>
    expectFailure('dup.csv', 'a,a,Class\n1,2,0\n', 'DuplicateColumn', [/column "a"/, /columns 1 and 2/]));
  it('ragged row', () =>
    expectFailure('ragged.csv', 'a,b,Class\n1,2,0\n1,2\n', 'RaggedRow', [
      /row 3/,
      /2 fields where the header has 3/,
    ]));
  it('unknown feature', () =>
    expectFailure(
      'unknown.csv',
      'a,b,Class\n1,2,0\n',
      'UnknownFeature',
      [/"zz"/, /Columns found/],
      ['a', 'zz'],
    ));
  it('too many columns', async () => {
    const header = [...Array.from({ length: 10_000 }, (_, i) => `c${i}`), 'Class'].join(',');
    await expectFailure('wide.csv', `${header}\n`, 'TooManyColumns', [/10001 columns/, /limit of 2000/]);
  });
  it('missing file', async () => {
    const err = await extractDataset({
      source: join(dir, 'nope.csv'),
      store,
      workDir: join(dir, 'work'),
    }).catch((e) => e);
    expect(err).toMatchObject({ type: 'SourceNotFound' });
  });
  it('a file over the size limit', async () => {
    const err = await extractDataset({
      source: await csv('big.csv', good),
      store,
      workDir: join(dir, 'work'),
      limits: { maxBytes: 10 },
    }).catch((e) => e);
    expect(err).toMatchObject({ type: 'SourceTooLarge' });
  });

  it('leaves no scratch file and no extra object behind after failures', async () => {
    const before = (await store.list('dataset/')).length;
    await expectFailure('late.csv', 'a,Class\n1,0\n2,1\n3,0\nx,1\n', 'NonNumericValue', [/row 5/]);
    expect((await store.list('dataset/')).length).toBe(before);
    expect(await readdir(join(dir, 'work'))).toEqual([]);
  });
});
