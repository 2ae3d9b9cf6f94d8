import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ExportParityError, type OnnxExportError } from '../../domain/onnx/errors';
import { encodeChecked } from '../../domain/onnx/exporter';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { checkParity, exportedNetwork } from '../../domain/onnx/parity';
import { judgeParity } from '../../domain/onnx/parityVerdict';
import { referenceScores, SAFETY_FACTOR, sigmoid } from '../../domain/onnx/reference';
import { architectures, exportedModel, parityOnAllRows, wildData } from '../support/onnxFixtures';
import { useTfCpuBackend } from '../support/tfCpuBackend';

useTfCpuBackend();

const data = wildData(1000);
const spec = architectures['elu-selu-dropout'] as (typeof architectures)[string];

async function exported() {
  return exportedModel(spec, data);
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
  expect(e.message).toContain('Nothing was written');
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
  it('catches a model changed after export (one perturbed weight): the engines disagree beyond both bounds', async () => {
    const { model, scaler, bytes, layers } = await exported();
    const weights = model.getWeights();
    const kernel = (weights[0] as tf.Tensor).dataSync().slice();
    kernel[3 * 32] = (kernel[3 * 32] as number) + 0.05; // feature "unit", first unit
    model.setWeights([tf.tensor(kernel, (weights[0] as tf.Tensor).shape), ...weights.slice(1)]);
    const err = await parityError(
      checkParity({ onnxBytes: bytes, layers, model, scaler, rawX: data.x, nRows: 1000, nFeatures: 5 }),
    );
    const f = err.failure;
    // The file is what was exported, so onnxruntime stays within its bound; the trainer does not.
    expect(f.engine).toBe('both');
    expect(f.check).toBe('bound');
    expect(f.rowsCompared).toBe(1000);
    expect(f.boundUsed).toBeGreaterThan(1);
    expect(err.message).toContain(`disagree at held-out row ${f.worstRow} of 1000`);
    expect(err.message).toContain(
      `onnxruntime gives probability ${f.onnxValue} and the trained model ${f.tfjsValue}`,
    );
    expect(err.message).toContain(`${f.boundUsed.toExponential(3)} x both float32 rounding bounds together`);
    expect(err.details).toMatchObject({ worstRow: f.worstRow, engine: 'both' });
    model.dispose();
  });

  it('catches a broken file: a perturbed kernel weight, a perturbed bias, a perturbed scaler', async () => {
    const file = await exported();
    const { model, bytes, layers, scaler } = file;
    const gate = (onnxBytes: Uint8Array) => parityOnAllRows(file, data, { onnxBytes, threshold: 0.5 });
    // The untouched file passes, so each failure below is the perturbation's doing.
    const clean = await gate(bytes);
    expect(clean.onnx.boundUsed).toBeLessThan(1);
    expect(clean.trainer.boundUsed).toBeLessThan(1);
    expect(clean.disagreementBoundUsed).toBeLessThan(1);
    expect(clean.safetyFactor).toBe(SAFETY_FACTOR);

    const kernel = await parityError(gate(perturbInitializer(bytes, 'dense_2_kernel', 5, 1e-2)));
    expect(kernel.failure.engine).toBe('onnxruntime');
    expect(kernel.message).toMatch(
      /^The ONNX file leaves its float32 bound of the exact model at held-out row \d+ of 1000: onnxruntime gives probability/,
    );
    expect(kernel.message).toContain(
      `x its float32 rounding bound ${kernel.failure.logitBound.toExponential(3)}`,
    );

    // The last bias shifts every logit by the same amount: refused when the shift is well above
    // the largest bound, let through when it is a fraction of the smallest (a rounding-size change).
    const { logitBound } = referenceScores(exportedNetwork(layers, scaler), data.x, 1000, 5);
    const largest = Math.max(...logitBound);
    const smallest = Math.min(...logitBound);
    const bias = await parityError(gate(perturbInitializer(bytes, 'dense_3_bias', 0, 4 * largest)));
    expect(bias.failure.engine).toBe('onnxruntime');
    const roundoff = await gate(perturbInitializer(bytes, 'dense_3_bias', 0, 0.25 * smallest));
    expect(roundoff.onnx.boundUsed).toBeLessThan(1);
    expect(roundoff.onnx.boundUsed).toBeGreaterThan(clean.onnx.boundUsed);

    // A 0.1 % error in the std of the 1e5-scale column: the scaler is inside the comparison.
    const hugeStd = scaler.std[1] as number;
    await parityError(gate(perturbInitializer(bytes, 'scaler_std', 1, Math.fround(hugeStd * 1e-3))));
    const hugeMean = scaler.mean[1] as number;
    await parityError(
      gate(perturbInitializer(bytes, 'scaler_mean', 1, Math.fround(hugeStd * 1e-3 + hugeMean * 1e-3))),
    );
    model.dispose();
  });

  it('treats NaN as a failure, not as a difference that compares false', async () => {
    const { model, scaler, bytes, layers } = await exported();
    const rawX = data.x.slice(0, 10 * 5);
    rawX[3 * 5 + 1] = Number.NaN;
    const err = await parityError(
      checkParity({ onnxBytes: bytes, layers, model, scaler, rawX, nRows: 10, nFeatures: 5 }),
    );
    expect(err.failure.worstRow).toBe(3);
    expect(err.failure.boundUsed).toBe(Number.POSITIVE_INFINITY);
    expect(err.message).toMatch(
      /onnxruntime gives probability NaN .* the exact \(float64\) model gives no finite value/,
    );
    model.dispose();
  });

  it('refuses to pass over no rows or a matrix of the wrong size', async () => {
    const { model, scaler, bytes, layers } = await exported();
    const run = (rawX: Float32Array, nRows: number, nFeatures = 5) =>
      checkParity({ onnxBytes: bytes, layers, model, scaler, rawX, nRows, nFeatures }).catch(
        (e: unknown) => e,
      );
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

describe('the parity verdict on labels and saturation', () => {
  const reference = (logit: number[], bound: number) => ({
    logit: Float64Array.from(logit),
    logitBound: Float64Array.from(logit, () => bound),
  });
  const f32 = (values: number[]) => Float32Array.from(values);

  it('lets labels differ on a row whose exact probability is within the bound of the threshold', () => {
    // Exact probability 0.5 + 2.5e-6; both engines within a 1e-4 logit bound, on either side of 0.5.
    const ref = reference([1e-5, 3], 1e-4);
    const onnx = f32([0.500_01, sigmoid(3)]);
    const trainer = f32([0.499_99, sigmoid(3)]);
    const report = judgeParity({
      reference: ref,
      onnxProbability: onnx,
      trainerProbability: trainer,
      onnxLabel: BigInt64Array.from([1n, 1n]),
      threshold: 0.5,
    });
    expect(report.labelDisagreements).toBe(1);
    expect(report.onnx.boundUsed).toBeLessThan(1);
  });

  it('refuses a label that does not follow its own probability', () => {
    const err = (() => {
      try {
        judgeParity({
          reference: reference([3], 1e-4),
          onnxProbability: f32([sigmoid(3)]),
          trainerProbability: f32([sigmoid(3)]),
          onnxLabel: BigInt64Array.from([0n]),
          threshold: 0.5,
        });
      } catch (e) {
        return e as ExportParityError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err).toBeInstanceOf(ExportParityError);
    expect(err.failure.check).toBe('label');
    expect(err.message).toMatch(/Row 0: the ONNX label 0 does not follow its own probability/);
  });

  it('accepts a probability saturated at 0 or 1 in float32 when the exact one rounds there, not otherwise', () => {
    // Exact logit 40: p = 1 - 4e-18, which any float32 engine gives as 1.
    const saturated = judgeParity({
      reference: reference([40, -40], 1e-3),
      onnxProbability: f32([1, 0]),
      trainerProbability: f32([1, 0]),
    });
    expect(saturated.onnx.boundUsed).toBe(0);
    // Exact logit 5 (p = 0.9933): 1 is far outside the bound.
    expect(() =>
      judgeParity({
        reference: reference([5], 1e-3),
        onnxProbability: f32([1]),
        trainerProbability: f32([sigmoid(5)]),
      }),
    ).toThrow(/leaves its float32 bound of the exact model at held-out row 0 of 1/);
  });

  it('reports a trainer that alone leaves its bound while agreeing with onnxruntime within both bounds', () => {
    const z = 0.5;
    const bound = 1e-4;
    // onnxruntime at +0.9 of the bound, the trainer at -1.05: out of its own bound, but the two
    // differ by 1.95 bounds, within both together.
    const report = judgeParity({
      reference: reference([z], bound),
      onnxProbability: Float64Array.of(sigmoid(z + 0.9 * bound)),
      trainerProbability: Float64Array.of(sigmoid(z - 1.05 * bound)),
    });
    expect(report.trainer.boundUsed).toBeGreaterThan(1);
    expect(report.onnx.boundUsed).toBeLessThan(1);
    expect(report.disagreementBoundUsed).toBeLessThan(1);
  });
});
