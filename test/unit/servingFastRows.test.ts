import { afterEach, describe, expect, it } from 'vitest';
import { nativeCsvScan } from '../../domain/data/nativeCsvScan';
import { addedColumns } from '../../domain/scoring/columns';
import { readJsonRowBytes } from '../../domain/serving/jsonRowBytes';
import { DEFAULT_LIMITS } from '../../domain/serving/limits';
import { readCsvRows, readJsonRows } from '../../domain/serving/requestRows';

/** What the general reader makes of a valid body: JSON.parse, then each number to float32. */
function viaJsonParse(text: string): Float32Array {
  return Float32Array.from((JSON.parse(text) as { rows: number[][] }).rows.flat());
}

const FEATURES = ['a', 'b', 'c'];
const fast = (text: string, features = FEATURES) =>
  readJsonRowBytes(Buffer.from(text), features, DEFAULT_LIMITS.maxRows);

/** The general reader's answer for a body: the same rows behind a first key the byte reader does not take. */
function viaGeneralReader(text: string, features = FEATURES) {
  try {
    return readJsonRows(Buffer.from(text.replace('{', '{"first":0,')), features, DEFAULT_LIMITS);
  } catch (error) {
    return error as Error;
  }
}

const signed = (x: Float32Array | undefined) => Array.from(x ?? []).map((v) => (Object.is(v, -0) ? '-0' : v));

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
      expect(signed(read?.x)).toEqual(signed(expected));
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
    expect(readJsonRowBytes(Buffer.from('{"rows":[[1,2,3],[4,5,6]]}'), FEATURES, 1)).toBeUndefined();
  });
});

describe('JSON rows as objects by feature name, read from the bytes', () => {
  it('gives the values the general reader gives: any key order, other keys ignored, the last of a repeated key', () => {
    const bodies = [
      '{"rows":[{"a":1,"b":2,"c":3}]}',
      '{"rows":[{"c":3,"a":-0.25,"b":0}, {"b":2, "a":1, "c":3}]}',
      ' { "rows" : [ { "id" : "tx-7" , "a" : 1.5 , "ok" : true , "b" : -0 , "note" : null , "c" : 7 , "n" : false , "m" : 12 } ] } ',
      '{"rows":[{"a":1,"b":2,"c":3,"a":4}]}',
      '{"rows":[[1,2,3],{"a":4,"b":5,"c":6},[7,8,9]]}',
      '{"rows":[{"montant €":2.5,"b":1,"c":0}]}',
      `{"rows":[${Array.from({ length: 1500 }, (_, i) => `{"c":${-i},"a":${(i / 7).toFixed(6)},"b":${(i * 1.25).toFixed(5)},"x":"${i}"}`).join(',')}]}`,
    ];
    for (const text of bodies) {
      const features = text.includes('montant') ? ['montant €', 'b', 'c'] : FEATURES;
      const read = fast(text, features);
      expect(read, text.slice(0, 60)).toBeDefined();
      const general = viaGeneralReader(text, features);
      if (general instanceof Error) throw general;
      expect(read?.nRows).toBe(general.nRows);
      expect(signed(read?.x)).toEqual(signed(general.x));
    }
  });

  it('hands the rest to the general reader, which gives the value or names the field', () => {
    for (const text of [
      '{"rows":[{"a":1,"b":2}]}',
      '{"rows":[{}]}',
      '{"rows":[{"a":1,"b":"2","c":3}]}',
      '{"rows":[{"a":1,"b":null,"c":3}]}',
      '{"rows":[{"a":1,"b":2e0,"c":3}]}',
      '{"rows":[{"a":1,"b":2,"c":3,}]}',
      '{"rows":[{"a":1,"b":2,"c":3,"x":{"y":1}}]}',
      '{"rows":[{"a":1,"b":2,"c":3,"x":[1]}]}',
      '{"rows":[{"a":1,"b":2,"c":3,"x":"say \\"hi\\""}]}',
      '{"rows":[{"\\u0061":1,"b":2,"c":3}]}',
      '{"rows":[{"a":1,"b":2,"c":3,"\u00e9t\u00e9":1}]}',
      '{"rows":[{"a":1,"b":2,"c":3,"ok":tru}]}',
      '{"rows":[{"a":1,"b":2,"c":3}',
      '{"rows":[{"a":1 "b":2,"c":3}]}',
      '{"rows":[{"a":1,"b":2,"c":3,"a":"x"}]}',
    ]) {
      expect(fast(text), text).toBeUndefined();
    }
    // What the general reader then says, by field.
    expect(() =>
      readJsonRows(Buffer.from('{"rows":[{"a":1,"b":"2","c":3}]}'), FEATURES, DEFAULT_LIMITS),
    ).toThrow(/rows\[0\]\.b is the string "2", not a number/);
    expect(() => readJsonRows(Buffer.from('{"rows":[{"a":1,"b":2}]}'), FEATURES, DEFAULT_LIMITS)).toThrow(
      /rows\[0\]\.c is missing/,
    );
    expect(() =>
      readJsonRows(Buffer.from('{"rows":[{"a":1,"b":2,"c":3,"a":"x"}]}'), FEATURES, DEFAULT_LIMITS),
    ).toThrow(/rows\[0\]\.a is the string "x"/);
  });

  it('reads generated bodies as the general reader does, row shape, spacing and key order varied', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const space = () => [' ', '', '\n', '\t', '  '][Math.floor(random() * 5)] as string;
    const number = () => {
      const v = (random() - 0.5) * 10 ** Math.floor(random() * 8);
      return random() < 0.2 ? String(Math.round(v)) : v.toFixed(Math.floor(random() * 9));
    };
    for (let body = 0; body < 200; body++) {
      const rows = Array.from({ length: 1 + Math.floor(random() * 20) }, () => {
        if (random() < 0.3)
          return `[${space()}${[number(), number(), number()].join(`${space()},${space()}`)}${space()}]`;
        const members = FEATURES.map((f) => `"${f}"${space()}:${space()}${number()}`);
        if (random() < 0.3)
          members.push(`"other"${space()}:${space()}${random() < 0.5 ? '"text"' : number()}`);
        members.sort(() => random() - 0.5);
        return `{${space()}${members.join(`${space()},${space()}`)}${space()}}`;
      });
      const text = `{${space()}"rows"${space()}:${space()}[${rows.join(',')}]${space()}}`;
      const general = viaGeneralReader(text);
      if (general instanceof Error) throw general;
      const read = fast(text);
      expect(read, text).toBeDefined();
      expect(signed(read?.x), text).toEqual(signed(general.x));
    }
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
