import { describe, expect, it } from 'vitest';
import { parseFeatureCell, parseLabelCell } from '../../domain/data/cells';
import { ColumnStats } from '../../domain/data/columnStats';
import { DatasetError } from '../../domain/data/errors';
import { mulberry32 } from '../../domain/random';

const place = { file: 'f.csv', row: 7, column: 'c' };

function typeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).details).toEqual(place);
    return (err as DatasetError).type;
  }
  return undefined;
}

describe('feature cells', () => {
  it.each([
    ['0', 0],
    ['-12', -12],
    ['+3.25', 3.25],
    ['.5', 0.5],
    ['5.', 5],
    [' 1e-3 ', 0.001],
    ['2E+2', 200],
    ['3.4e38', 3.4e38],
  ])('reads %j as %d', (text, value) => {
    expect(parseFeatureCell(text, place)).toBe(value);
  });

  it.each([
    ['', 'EmptyValue'],
    ['   ', 'EmptyValue'],
    ['NaN', 'NonFiniteValue'],
    ['nan', 'NonFiniteValue'],
    ['-Infinity', 'NonFiniteValue'],
    ['inf', 'NonFiniteValue'],
    ['1e309', 'NonFiniteValue'],
    ['3.5e38', 'ValueOutOfRange'],
    ['0x1F', 'NonNumericValue'],
    ['1,5', 'NonNumericValue'],
    ['12abc', 'NonNumericValue'],
    ['1 000', 'NonNumericValue'],
    ['N/A', 'NonNumericValue'],
    ['e5', 'NonNumericValue'],
  ])('refuses %j as %s', (text, type) => {
    expect(typeOf(() => parseFeatureCell(text, place))).toBe(type);
  });
});

describe('target cells', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['1.0', 1],
    ['0.000', 0],
    ['-0', 0],
    ['1e0', 1],
    ['true', 1],
    ['TRUE', 1],
    ['False', 0],
    [' false ', 0],
  ])('reads %j as %d', (text, value) => {
    expect(parseLabelCell(text, place)).toBe(value);
  });

  it.each([
    ['', 'EmptyValue'],
    ['2', 'TargetNotBinary'],
    ['-1', 'TargetNotBinary'],
    ['0.5', 'TargetNotBinary'],
    ['yes', 'TargetNotBinary'],
    ['t', 'TargetNotBinary'],
    ['NaN', 'TargetNotBinary'],
  ])('refuses %j as %s', (text, type) => {
    expect(typeOf(() => parseLabelCell(text, place))).toBe(type);
  });
});

describe('ColumnStats (Welford)', () => {
  it('matches a two-pass computation on random data', () => {
    const random = mulberry32(11);
    const rows = Array.from({ length: 1000 }, () => [random() * 100 - 50, random() ** 3, 7]);
    const stats = new ColumnStats(3);
    for (const r of rows) stats.add(r);
    for (let j = 0; j < 3; j++) {
      const column = rows.map((r) => r[j] as number);
      const mean = column.reduce((a, b) => a + b, 0) / column.length;
      const variance = column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length;
      const got = stats.column(j);
      expect(got.min).toBe(Math.min(...column));
      expect(got.max).toBe(Math.max(...column));
      expect(got.mean).toBeCloseTo(mean, 10);
      expect(got.std).toBeCloseTo(Math.sqrt(variance), 10);
    }
    expect(stats.column(2)).toEqual({ min: 7, max: 7, mean: 7, std: 0 });
  });

  it('stays accurate on a large offset, where the sum-of-squares formula loses every digit', () => {
    // Time-like values: 1e9 + {0, 1, 2, 3} has population std sqrt(1.25).
    const stats = new ColumnStats(1);
    for (let i = 0; i < 100_000; i++) stats.add([1e9 + (i % 4)]);
    expect(stats.column(0).mean).toBeCloseTo(1e9 + 1.5, 4);
    expect(stats.column(0).std).toBeCloseTo(Math.sqrt(1.25), 6);
  });
});
