import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExportParityError } from '../../domain/onnx/errors';
import { encodeChecked } from '../../domain/onnx/exporter';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { rowsForReference } from '../../domain/onnx/referenceRows';
import { mulberry32 } from '../../domain/random';
import { architectures, exportedModel, parityOnAllRows, wildData } from '../support/onnxFixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const count = (mask: Uint8Array) => mask.reduce((a, b) => a + b, 0);

describe('rowsForReference', () => {
  it('judges every row of a split no larger than the limit', () => {
    const p = new Float32Array(100).fill(0.3);
    expect(count(rowsForReference(p, p, 0.5, 100))).toBe(100);
  });

  it('picks exactly the limit, with every label disagreement, the widest disagreements and rows from all over', () => {
    const random = mulberry32(3);
    const n = 20_000;
    const onnx = Float32Array.from({ length: n }, () => random());
    const trainer = Float32Array.from(onnx, (p) => p * (1 + 1e-7));
    // Three rows whose labels differ and one far-off row: all must be judged.
    for (const r of [17, 9_000, 19_999]) {
      onnx[r] = 0.4999;
      trainer[r] = 0.5001;
    }
    trainer[12_345] = Math.fround((onnx[12_345] as number) * 0.9);
    const mask = rowsForReference(onnx, trainer, 0.5, 256);
    expect(count(mask)).toBe(256);
    for (const r of [17, 9_000, 19_999, 12_345]) expect(mask[r]).toBe(1);
    // Evenly spaced picks: every tenth of the split has some.
    for (let tenth = 0; tenth < 10; tenth++) {
      const slice = mask.subarray((tenth * n) / 10, ((tenth + 1) * n) / 10);
      expect(count(slice)).toBeGreaterThan(5);
    }
  });

  it('puts a NaN output among the judged rows', () => {
    const p = new Float32Array(1000).fill(0.2);
    const q = p.slice();
    q[777] = Number.NaN;
    expect(rowsForReference(p, q, undefined, 10)[777]).toBe(1);
  });
});

describe('the parity gate on a selection of rows', () => {
  const data = wildData(1000);
  const spec = architectures['elu-selu-dropout'] as (typeof architectures)[string];

  it('passes a correct file judging 64 rows, and still refuses a broken one', async () => {
    const file = await exportedModel(spec, data);
    const clean = await parityOnAllRows(file, data, { threshold: 0.5, referenceRows: 64 });
    expect(clean.rowsCompared).toBe(1000);
    expect(clean.rowsJudged).toBe(64);
    expect(clean.onnx.boundUsed).toBeLessThan(1);
    // One kernel weight of the file moved: the rows where it shows are the rows the engines disagree on.
    const decoded = decodeModel(file.bytes);
    const tensor = decoded.graph.initializer.find((t) => t.name === 'dense_2_kernel');
    if (!tensor?.rawData) throw new Error('no dense_2_kernel');
    const values = new Float32Array(Uint8Array.from(tensor.rawData).buffer);
    values[5] = (values[5] as number) + 1e-2;
    tensor.rawData = new Uint8Array(values.buffer);
    const broken = await parityOnAllRows(file, data, {
      onnxBytes: encodeChecked(decoded),
      threshold: 0.5,
      referenceRows: 64,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(broken).toBeInstanceOf(ExportParityError);
    expect((broken as ExportParityError).failure.engine).toBe('onnxruntime');
    file.model.dispose();
  });
});
