import { describe, expect, it } from 'vitest';
import { DatasetError } from '../../domain/data/errors';
import { parseDatasetSource } from '../../domain/data/sourceUri';

function refused(input: string): DatasetError {
  try {
    parseDatasetSource(input, '/data');
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).type).toBe('InvalidSource');
    return err as DatasetError;
  }
  throw new Error(`${input} was accepted`);
}

describe('parseDatasetSource', () => {
  it('resolves paths to absolute, percent-encoded file URIs', () => {
    expect(parseDatasetSource('in/tx.csv', '/data')).toEqual({
      kind: 'file',
      path: '/data/in/tx.csv',
      uri: 'file:///data/in/tx.csv',
    });
    expect(parseDatasetSource('/abs/a b#1.csv')).toEqual({
      kind: 'file',
      path: '/abs/a b#1.csv',
      uri: 'file:///abs/a%20b%231.csv',
    });
  });

  it('round-trips its own file URIs', () => {
    const first = parseDatasetSource('/abs/a b#1?.csv');
    expect(parseDatasetSource(first.uri)).toEqual(first);
    expect(parseDatasetSource('file://localhost/abs/x.csv')).toMatchObject({ path: '/abs/x.csv' });
  });

  it('splits s3 URIs into bucket and key', () => {
    expect(parseDatasetSource('s3://data-bucket/fraud/2024.csv')).toEqual({
      kind: 's3',
      uri: 's3://data-bucket/fraud/2024.csv',
      bucket: 'data-bucket',
      key: 'fraud/2024.csv',
    });
  });

  it('spells out synthetic defaults, so every spelling of one source has one URI', () => {
    const canonical = { kind: 'synthetic', generator: 'fraud', rows: 284_807, seed: 42 };
    expect(parseDatasetSource('synthetic:fraud')).toEqual({
      ...canonical,
      uri: 'synthetic:fraud?rows=284807&seed=42',
    });
    expect(parseDatasetSource('synthetic:fraud?seed=42&rows=284807').uri).toBe(
      'synthetic:fraud?rows=284807&seed=42',
    );
    expect(parseDatasetSource(' synthetic:fraud?rows=1e3 ')).toMatchObject({ rows: 1000, seed: 42 });
  });

  it.each([
    ['', /No source given/],
    ['synthetic:iris', /Unknown synthetic generator "iris"/],
    ['synthetic:fraud?rows=5', /rows: Too small/],
    ['synthetic:fraud?rows=2.5', /rows/],
    ['synthetic:fraud?rows=abc', /rows/],
    ['synthetic:fraud?seed=-1', /seed/],
    ['synthetic:fraud?rows=100&rows=200', /rows: given more than once/],
    ['synthetic:fraud?row=100', /Unrecognized key: "row"/],
    ['s3://bucket-only', /names a bucket, not an object/],
    ['s3://Upper/key.csv', /not a valid s3:\/\/ URI/],
    ['https://example.org/data.csv', /Unsupported source/],
    ['file://otherhost/x.csv', /Invalid file URI/],
  ])('refuses %j', (input, message) => {
    expect(refused(input).message).toMatch(message);
  });
});
