import { afterEach, describe, expect, it } from 'vitest';
import { nativeCsvScan } from '../../domain/data/nativeCsvScan';
import { addedColumns } from '../../domain/scoring/columns';
import { readJsonArrayRows } from '../../domain/serving/jsonArrayRows';
import { DEFAULT_LIMITS } from '../../domain/serving/limits';
import { readCsvRows } from '../../domain/serving/requestRows';

/** What the general reader makes of a valid body: JSON.parse, then each number to float32. */
function viaJsonParse(text: string): Float32Array {
  return Float32Array.from((JSON.parse(text) as { rows: number[][] }).rows.flat());
}

const fast = (text: string, n = 3) => readJsonArrayRows(Buffer.from(text), n, DEFAULT_LIMITS.maxRows);

describe('JSON rows as arrays, read from the bytes (the fast path of a batch)', () => {
  it('gives the float32 values JSON.parse gives, whitespace and all', () => {
    const bodies = [
      '{"rows":[[1,2,3],[-0.5,0,7]]}',
      ' {\n "rows" : [ [ 0.1 , -0.000123 , 123456789012345 ] ,\r\n [0,-0,3.40282346] ] }\n',
      `{"rows":[${Array.from({ length: 2500 }, (_, i) => `[${(i / 7).toFixed(6)},${-i},${(i * 1.25).toFixed(5)}]`).join(',')}]}`,
    ];
    for (const text of bodies) {
      const read = fast(text);
      expect(read, text.slice(0, 60)).toBeDefined();
      const expected = viaJsonParse(text);
      expect(read?.nRows).toBe(expected.length / 3);
      expect(Array.from(read?.x ?? []).map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual(
        Array.from(expected).map((v) => (Object.is(v, -0) ? '-0' : v)),
      );
    }
  });

  it('hands everything else to the general reader: bad JSON, other shapes, numbers it cannot read exactly', () => {
    for (const text of [
      '{"rows":[[01,2,3]]}',
      '{"rows":[[1.,2,3]]}',
      '{"rows":[[.5,2,3]]}',
      '{"rows":[[-,2,3]]}',
      '{"rows":[[1,2,3],]}',
      '{"rows":[[1,2,3]],}',
      '{"rows":[[1,2,3]]} x',
      '{"rows":[[1,2]]}',
      '{"rows":[[1,2,3,4]]}',
      '{"rows":[]}',
      '{"rows":[{"a":1,"b":2,"c":3}]}',
      '{"rows":[[1,"2",3]]}',
      '{"rows":[[1,null,3]]}',
      '{"rows":[[1e3,2,3]]}',
      '{"rows":[[0.12345678901234567,2,3]]}',
      '{"rows":[[1,2,340282350000000000000000000000000000000000]]}',
      '{"other":1,"rows":[[1,2,3]]}',
      '[[1,2,3]]',
    ]) {
      expect(fast(text), text).toBeUndefined();
    }
  });

  it('leaves a batch over the row limit to the general reader (its 413)', () => {
    expect(readJsonArrayRows(Buffer.from('{"rows":[[1,2,3],[4,5,6]]}'), 3, 1)).toBeUndefined();
  });
});

describe('a CSV body through the native scanner and without it', () => {
  const previous = process.env.SLIPWAY_CSV_SCAN;
  afterEach(() => {
    if (previous === undefined) delete process.env.SLIPWAY_CSV_SCAN;
    else process.env.SLIPWAY_CSV_SCAN = previous;
  });
  it.skipIf(nativeCsvScan() === undefined)('reads the same values, rows and lines', () => {
    const features = ['a', 'b', 'c'];
    const lines = Array.from({ length: 300 }, (_, i) => `${i / 3},x${i},${-i}.5,${i % 7}`);
    // A line the scanner hands back (an exponent), a CRLF one and a last line without a break.
    lines[150] = '1e3,y,2,3';
    lines[200] = '4,z,5,6\r';
    const body = Buffer.from(`a,name,b,c\n${lines.join('\n')}`);
    const columns = addedColumns('Class');
    const native = readCsvRows(body, features, columns, DEFAULT_LIMITS);
    process.env.SLIPWAY_CSV_SCAN = 'off';
    const plain = readCsvRows(body, features, columns, DEFAULT_LIMITS);
    expect(native.nRows).toBe(300);
    expect(Array.from(native.x)).toEqual(Array.from(plain.x));
    expect(native.csv).toEqual(plain.csv);
  });
});
