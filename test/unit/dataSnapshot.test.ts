import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../domain/data/errors';
import { readSnapshot, readSnapshotFile, SnapshotWriter } from '../../domain/data/snapshot';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-data-snapshot-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `rows` rows (row i, column j = i * 10 + j + 0.5; label i % 2) in batches of `batchRows`. */
async function write(name: string, rows: number, batchRows: number, features = ['f0', 'f1', 'f2']) {
  const path = join(dir, name);
  const writer = new SnapshotWriter(path, features, 'label', batchRows);
  for (let i = 0; i < rows; i++) {
    writer.add(
      features.map((_, j) => i * 10 + j + 0.5),
      (i % 2) as 0 | 1,
    );
  }
  await writer.close();
  return path;
}

function corruptType(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    return (err as DatasetError).type;
  }
  return undefined;
}

describe('Arrow snapshot writer and reader', () => {
  it('reads back every row of a multi-batch snapshot, row-major, with the target from the metadata', async () => {
    const path = await write('multi.arrow', 10, 3);
    const m = await readSnapshotFile(path);
    expect(m).toMatchObject({ features: ['f0', 'f1', 'f2'], target: 'label', nRows: 10, nCols: 3 });
    const expected: number[] = [];
    for (let i = 0; i < 10; i++) expected.push(i * 10 + 0.5, i * 10 + 1.5, i * 10 + 2.5);
    expect(Array.from(m.x)).toEqual(expected);
    expect(Array.from(m.y)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(m.x).toBeInstanceOf(Float32Array);
    expect(m.y).toBeInstanceOf(Uint8Array);
  });

  it('stores features as float32 and the target as uint8, not nullable', async () => {
    const { tableFromIPC } = await import('apache-arrow');
    const table = tableFromIPC(await readFile(await write('types.arrow', 4, 64)));
    expect(table.schema.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual([
      ['f0', 'Float32', false],
      ['f1', 'Float32', false],
      ['f2', 'Float32', false],
      ['label', 'Uint8', false],
    ]);
    expect(table.schema.metadata.get('slipway.target')).toBe('label');
  });

  it('writes the same bytes for the same rows, whatever the file name', async () => {
    const a = await readFile(await write('a.arrow', 100, 7));
    const b = await readFile(await write('b.arrow', 100, 7));
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('rounds to float32 on the way in', async () => {
    const path = join(dir, 'round.arrow');
    const writer = new SnapshotWriter(path, ['v'], 'y');
    writer.add([0.1], 0);
    writer.add([1 / 3], 1);
    await writer.close();
    expect(Array.from((await readSnapshotFile(path)).x)).toEqual([Math.fround(0.1), Math.fround(1 / 3)]);
  });

  it('an explicit target overrides the recorded one', async () => {
    const m = readSnapshot(await readFile(await write('override.arrow', 4, 64)), 'label');
    expect(m.nCols).toBe(3);
  });

  it('reads 284,807 x 30 in well under a second', async () => {
    const features = Array.from({ length: 30 }, (_, j) => `c${j}`);
    const path = join(dir, 'reference.arrow');
    const writer = new SnapshotWriter(path, features, 'Class');
    const row = new Float32Array(30);
    for (let i = 0; i < 284_807; i++) {
      row.fill(i);
      writer.add(row, (i % 577 === 0 ? 1 : 0) as 0 | 1);
    }
    await writer.close();
    const bytes = await readFile(path);
    const started = performance.now();
    const m = readSnapshot(bytes);
    const ms = performance.now() - started;
    expect(m.nRows).toBe(284_807);
    expect(m.x[284_806 * 30 + 29]).toBe(Math.fround(284_806));
    expect(m.y.reduce((a, b) => a + b, 0)).toBe(Math.ceil(284_807 / 577));
    // Measured 70-120 ms on 2 shared cores; the bound only catches an accidental quadratic path.
    expect(ms).toBeLessThan(2_000);
  });

  it('refuses what is not a Slipway snapshot', async () => {
    expect(corruptType(() => readSnapshot(new Uint8Array([1, 2, 3, 4])))).toBe('CorruptSnapshot');
    const bytes = await readFile(await write('x.arrow', 4, 64));
    expect(corruptType(() => readSnapshot(bytes, 'missing'))).toBe('CorruptSnapshot');
    // Arrow written by someone else: float64 features, no recorded target.
    const foreign = tableToIPC(
      tableFromArrays({ a: new Float64Array([1, 2]), y: new Uint8Array([0, 1]) }),
      'file',
    );
    expect(corruptType(() => readSnapshot(foreign))).toBe('CorruptSnapshot');
    expect(corruptType(() => readSnapshot(foreign, 'y'))).toBe('CorruptSnapshot');
    const badLabel = tableToIPC(
      tableFromArrays({ a: new Float32Array([1, 2]), y: new Uint8Array([0, 7]) }),
      'file',
    );
    expect(corruptType(() => readSnapshot(badLabel, 'y'))).toBe('CorruptSnapshot');
    const fine = tableToIPC(
      tableFromArrays({ a: new Float32Array([1, 2]), y: new Uint8Array([0, 1]) }),
      'file',
    );
    expect(Array.from(readSnapshot(fine, 'y').x)).toEqual([1, 2]);
    await writeFile(join(dir, 'garbage.arrow'), 'not arrow');
    await expect(readSnapshotFile(join(dir, 'garbage.arrow'))).rejects.toMatchObject({
      type: 'CorruptSnapshot',
    });
  });
});
