import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/errors';
import { parseNumberOption } from '../../cli/numberOption';
import { closestName, didYouMean } from '../../domain/data/didYouMean';
import { DatasetError } from '../../domain/data/errors';
import { planLayout } from '../../domain/data/layout';
import { checkSourceHeader } from '../../domain/data/sourceHeader';
import { parseDatasetSource } from '../../domain/data/sourceUri';
import { addedColumns, matchFeatureColumns } from '../../domain/scoring/columns';
import { nativeAddonIdentity } from '../../infra/backgroundWorker';

/** The small input checks a new user meets first (issue 20): numbers, column names, headers. */
describe('numeric options', () => {
  it('refuses text where a whole number goes, naming the option and the value', () => {
    expect(() => parseNumberOption('abc', '--epochs', { integer: true, min: 1 })).toThrow(
      new UsageError('--epochs must be a whole number, got "abc"'),
    );
    expect(() => parseNumberOption('2.5', '--epochs', { integer: true })).toThrow(/whole number, got "2.5"/);
    expect(() => parseNumberOption('', '--rows', { integer: true })).toThrow(/--rows must be a whole number/);
    expect(() => parseNumberOption('0.5x', '--threshold')).toThrow(
      '--threshold must be a number, got "0.5x"',
    );
  });

  it('checks the bounds and says which one', () => {
    expect(() => parseNumberOption('0', '--epochs', { integer: true, min: 1 })).toThrow(
      '--epochs must be at least 1, got 0',
    );
    expect(() => parseNumberOption('1.5', '--threshold', { above: 0, below: 1 })).toThrow(
      '--threshold must be less than 1, got 1.5',
    );
    expect(() => parseNumberOption('0', '--threshold', { above: 0, below: 1 })).toThrow(/greater than 0/);
    expect(() => parseNumberOption('70000', '--port', { integer: true, max: 65535 })).toThrow(
      /at most 65535/,
    );
    expect(parseNumberOption(' 20 ', '--epochs', { integer: true, min: 1 })).toBe(20);
    expect(parseNumberOption('1e3', '--rows', { integer: true })).toBe(1000);
  });
});

describe('did you mean', () => {
  it('finds a name that differs in case, or by a typo or two', () => {
    expect(closestName('isfraud', ['Time', 'Amount', 'IsFraud'])).toBe('IsFraud');
    expect(closestName('Amuont', ['Time', 'Amount', 'IsFraud'])).toBe('Amount');
    expect(closestName('Label', ['Time', 'Amount', 'IsFraud'])).toBeUndefined();
    expect(closestName('V2', ['V1', 'V3'])).toBeUndefined(); // short names: two edits reach anything
  });

  it('says it in the missing-target and unknown-feature errors of extraction', () => {
    const header = ['Time', 'V1', 'Amount', 'IsFraud'];
    const target = (() => {
      try {
        planLayout(header, 'tx.csv', 'isfraud');
      } catch (err) {
        return err as DatasetError;
      }
    })();
    expect(target).toBeInstanceOf(DatasetError);
    expect(target?.type).toBe('MissingTargetColumn');
    expect(target?.message).toMatch(/no target column "isfraud"\. Did you mean "IsFraud"\? Columns found/);
    expect(() => planLayout(header, 'tx.csv', 'IsFraud', ['v1', 'Amount'])).toThrow(
      /feature "v1" not in the header\. Did you mean "V1"\?/,
    );
    expect(didYouMean(['amount', 'nope'], header)).toBe(' Did you mean "Amount" for "amount"?');
  });

  it('says it when a file to score lacks a feature by case', () => {
    expect(() =>
      matchFeatureColumns(
        ['Time', 'v1', 'Amount'],
        ['Time', 'V1', 'Amount'],
        'score.csv',
        addedColumns('Class'),
      ),
    ).toThrow(/lacks the model's feature V1\. Did you mean "v1"\?/);
  });
});

describe('checking a source header before scheduling', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-header-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads only the header and refuses a wrong target or feature as extraction would', async () => {
    const file = join(dir, 'tx.csv');
    await writeFile(file, '\uFEFFTime,V1,Amount,IsFraud\n1,2,3,0\n');
    const source = parseDatasetSource(file);
    const layout = await checkSourceHeader({ source, target: 'IsFraud' });
    expect(layout.features).toEqual(['Time', 'V1', 'Amount']);
    await expect(checkSourceHeader({ source, target: 'Class' })).rejects.toThrow(
      /tx\.csv, row 1: no target column "Class"\. Columns found: Time, V1, Amount, IsFraud/,
    );
    await expect(checkSourceHeader({ source, target: 'IsFraud', features: ['V2'] })).rejects.toThrow(
      /feature "V2" not in the header/,
    );
    await expect(
      checkSourceHeader({ source: parseDatasetSource(join(dir, 'none.csv')), target: 'Class' }),
    ).rejects.toThrow(/does not exist/);
    await writeFile(join(dir, 'empty.csv'), '');
    await expect(
      checkSourceHeader({ source: parseDatasetSource(join(dir, 'empty.csv')), target: 'Class' }),
    ).rejects.toThrow(/is empty/);
  });

  it('knows the synthetic source header without generating its rows', async () => {
    const layout = await checkSourceHeader({
      source: parseDatasetSource('synthetic:fraud?rows=284807&seed=1'),
      target: 'Class',
    });
    expect(layout.features).toHaveLength(30);
  });
});

describe('the background worker fingerprint', () => {
  it('changes when the native addon is rebuilt, so the worker is replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-addon-'));
    try {
      const file = join(dir, 'blas_gemm.node');
      expect(nativeAddonIdentity(file)).toBe('none');
      await writeFile(file, 'first build');
      const first = nativeAddonIdentity(file);
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(file, 'second build!');
      expect(nativeAddonIdentity(file)).not.toBe(first);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
