import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExportParityError, OnnxExportError } from '../../domain/onnx/errors';
import { encodeChecked, exportToOnnx } from '../../domain/onnx/exporter';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { checkParity } from '../../domain/onnx/parity';
import { architectures, testMetadata, trainedModel, wildData } from '../support/onnxFixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const data = wildData(1000);
const spec = architectures['elu-selu-dropout'] as (typeof architectures)[string];

async function exported() {
  const { model, scaler } = await trainedModel(spec, data);
  const bytes = exportToOnnx({ model, spec, scaler, threshold: 0.5, metadata: testMetadata(data.features) });
  return { model, scaler, bytes };
}

async function parityError(run: Promise<unknown>): Promise<ExportParityError> {
  const err = await run.then(
    () => {
      throw new Error('the parity gate was expected to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExportParityError);
  const e = err as ExportParityError;
  expect(e.type).toBe('ExportParityError');
  expect(e.retryable).toBe(false);
  return e;
}

/** Adds `delta` to one float of a named initializer in encoded ONNX bytes. */
function perturbInitializer(bytes: Uint8Array, name: string, index: number, delta: number): Uint8Array {
  const decoded = decodeModel(bytes);
  const tensor = decoded.graph.initializer.find((t) => t.name === name);
  if (!tensor?.rawData) throw new Error(`no initializer ${name}`);
  const values = new Float32Array(Uint8Array.from(tensor.rawData).buffer);
  values[index] = (values[index] as number) + delta;
  tensor.rawData = new Uint8Array(values.buffer);
  return encodeChecked(decoded);
}

describe('the parity gate', () => {
  it('catches a model changed after export (one perturbed weight), naming the row and both values', async () => {
    const { model, scaler, bytes } = await exported();
    const weights = model.getWeights();
    const kernel = (weights[0] as tf.Tensor).dataSync().slice();
    kernel[3 * 32] = (kernel[3 * 32] as number) + 0.05; // feature "unit", first unit
    model.setWeights([tf.tensor(kernel, (weights[0] as tf.Tensor).shape), ...weights.slice(1)]);
    const err = await parityError(
      checkParity({ onnxBytes: bytes, model, scaler, rawX: data.x, nRows: 1000, nFeatures: 5 }),
    );
    const f = err.failure;
    expect(f.rowsCompared).toBe(1000);
    const worstDiff = Math.abs(f.onnxValue - f.tfjsValue);
    expect(worstDiff).toBeGreaterThan(1e-5 + 1e-4 * Math.abs(f.tfjsValue));
    expect(f.maxAbsDiff).toBeGreaterThanOrEqual(worstDiff);
    expect(err.message).toContain(
      `at held-out row ${f.worstRow} of 1000: ONNX ${f.onnxValue}, tfjs ${f.tfjsValue}`,
    );
    expect(err.message).toContain(`|difference| ${worstDiff.toExponential(3)} > 0.00001 + 0.0001 x`);
    expect(err.message).toContain(`max |difference| over all rows ${f.maxAbsDiff.toExponential(3)}`);
    expect(err.message).toContain('Nothing was written');
    expect(err.details).toMatchObject({ maxAbsDiff: f.maxAbsDiff, worstRow: f.worstRow });
    model.dispose();
  });

  it('catches a broken file: a perturbed kernel weight, a perturbed bias, a perturbed scaler', async () => {
    const { model, scaler, bytes } = await exported();
    const gate = (onnxBytes: Uint8Array, tolerance?: number) =>
      checkParity({ onnxBytes, model, scaler, rawX: data.x, nRows: 1000, nFeatures: 5, tolerance });
    // The untouched file passes, so each failure below is the perturbation's doing.
    expect((await gate(bytes)).maxAbsDiff).toBeLessThanOrEqual(1e-5);

    const kernel = perturbInitializer(bytes, 'dense_2_kernel', 5, 1e-2);
    const k = await parityError(gate(kernel));
    expect(k.failure.maxAbsDiff).toBeGreaterThan(1e-5);
    // The tolerance is configurable: a loose one lets the same file through and reports the gap.
    const loose = await gate(kernel, 0.5);
    expect(loose.maxAbsDiff).toBe(k.failure.maxAbsDiff);
    expect(loose.tolerance).toBe(0.5);

    await parityError(gate(perturbInitializer(bytes, 'dense_3_bias', 0, 1e-3)));
    // A logit shift the size of a float32 summation-order difference between two runtimes
    // (1.5e-4; 1.8e-4 was seen on a legitimate 60k-row model) is not a broken file.
    const roundoff = await gate(perturbInitializer(bytes, 'dense_3_bias', 0, 1.5e-4));
    expect(roundoff.worstAllowanceUsed).toBeLessThan(1);
    // ... although it moves probabilities near 0.5 by more than the 1e-5 absolute gate alone allowed.
    expect(roundoff.maxAbsDiff).toBeGreaterThan(1e-5);
    // A 0.1 % error in the std of the 1e5-scale column: the scaler is inside the comparison.
    const hugeStd = scaler.std[1] as number;
    await parityError(gate(perturbInitializer(bytes, 'scaler_std', 1, hugeStd * 1e-3)));
    model.dispose();
  });

  it('treats NaN as a failure, not as a difference that compares false', async () => {
    const { model, scaler, bytes } = await exported();
    const rawX = data.x.slice(0, 10 * 5);
    rawX[3 * 5 + 1] = Number.NaN;
    const err = await parityError(
      checkParity({ onnxBytes: bytes, model, scaler, rawX, nRows: 10, nFeatures: 5 }),
    );
    expect(err.failure.worstRow).toBe(3);
    expect(err.failure.maxAbsDiff).toBe(Number.POSITIVE_INFINITY);
    expect(err.message).toMatch(/ONNX NaN, tfjs NaN/);
    model.dispose();
  });

  it('refuses to pass over no rows or a matrix of the wrong size', async () => {
    const { model, scaler, bytes } = await exported();
    const run = (rawX: Float32Array, nRows: number, nFeatures = 5) =>
      checkParity({ onnxBytes: bytes, model, scaler, rawX, nRows, nFeatures }).catch((e: unknown) => e);
    const empty = (await run(new Float32Array(0), 0)) as OnnxExportError;
    expect(empty.type).toBe('ParityDataMismatch');
    expect(empty.message).toMatch(/needs at least one held-out row, got 0/);
    expect(((await run(data.x.slice(0, 49), 10)) as Error).message).toMatch(
      /has 49 values, not 10 rows x 5 features/,
    );
    expect(((await run(data.x.slice(0, 40), 10, 4)) as Error).message).toMatch(
      /have 4 features, the scaler 5/,
    );
    model.dispose();
  });
});
