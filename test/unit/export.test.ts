import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../domain/ml/modelBuilder';
import { denseActivations, modelSpecSchema } from '../../domain/ml/modelSpec';
import { OnnxExportError } from '../../domain/onnx/errors';
import { type ExportOptions, exportDenseModel, exportToOnnx, MAX_OPSET } from '../../domain/onnx/exporter';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { checkParity, runOnnx, scoreWithOnnx } from '../../domain/onnx/parity';
import {
  architectures,
  parityOnAllRows,
  testMetadata,
  trainedModel,
  wildData,
} from '../support/onnxFixtures';
import { useTfCpuBackend } from '../support/tfCpuBackend';

useTfCpuBackend();

const data = wildData(1000);
const spec = (name: string) => architectures[name] as (typeof architectures)[string];

// Training is the slow part on the CPU backend: each architecture is trained once per file.
// Tests below never change these models' weights (the parity tests that do train their own).
const trained = new Map<string, ReturnType<typeof trainedModel>>();
const trainedFor = (name: string) => {
  if (!trained.has(name)) trained.set(name, trainedModel(spec(name), data));
  return trained.get(name) as ReturnType<typeof trainedModel>;
};
async function exportOptions(name: string, extra: Partial<ExportOptions> = {}): Promise<ExportOptions> {
  const { model, scaler } = await trainedFor(name);
  return { model, spec: spec(name), scaler, threshold: 0.5, metadata: testMetadata(data.features), ...extra };
}

describe('the test architectures', () => {
  it('cover every activation the builder supports, dropout, and several depths and widths', () => {
    const dense = Object.values(architectures).flatMap((s) => s.layers.filter((l) => l.type === 'dense'));
    expect(new Set(dense.map((l) => l.activation))).toEqual(new Set(denseActivations));
    expect(Object.values(architectures).some((s) => s.layers.some((l) => l.type === 'dropout'))).toBe(true);
    const depths = new Set(Object.values(architectures).map((s) => s.layers.length));
    expect(depths.size).toBeGreaterThanOrEqual(3);
  });

  it('have data whose columns differ in scale by 1e8, with a constant column', () => {
    const col = (j: number) =>
      Array.from({ length: data.nRows }, (_, i) => data.x[i * data.nFeatures + j] as number);
    const spread = (j: number) => Math.max(...col(j).map(Math.abs));
    expect(spread(0)).toBeLessThan(1e-3);
    expect(spread(1)).toBeGreaterThan(5e4);
    expect(new Set(col(2)).size).toBe(1);
  });
});

describe.each(Object.keys(architectures))('ONNX export of the %s network', (name) => {
  it('scores raw rows like the exact model within the float32 bound, as tfjs does, for N = 1000 and N = 1', async () => {
    const { model, scaler } = await trainedFor(name);
    // Trained, not just initialised: the first kernel moved away from the seeded initial one.
    const initial = buildModel(spec(name), data.nFeatures);
    const moved = tf.tidy(
      () =>
        tf
          .sub(model.getWeights()[0] as tf.Tensor, initial.getWeights()[0] as tf.Tensor)
          .abs()
          .max()
          .dataSync()[0],
    );
    initial.dispose();
    expect(moved).toBeGreaterThan(1e-3);

    const { bytes, layers } = exportDenseModel(await exportOptions(name));
    const report = await parityOnAllRows({ model, scaler, bytes, layers }, data, { threshold: 0.5 });
    expect(report.rowsCompared).toBe(1000);
    expect(report.onnx.boundUsed).toBeLessThan(1);
    expect(report.trainer.boundUsed).toBeLessThan(1);
    // Labels can only differ for an exact probability within the bound of the threshold.
    expect(report.labelDisagreements).toBeLessThanOrEqual(1);

    // Not a trivial pass: enough rows are away from the saturated ends, where the sigmoid
    // would hide a difference in the logits.
    const scores = await scoreWithOnnx(bytes, data.x, 1000, 5);
    expect(scores.filter((p) => p > 0.01 && p < 0.99).length).toBeGreaterThan(50);

    const one = await checkParity({
      onnxBytes: bytes,
      layers,
      model,
      scaler,
      rawX: data.x.slice(7 * 5, 8 * 5),
      nRows: 1,
      nFeatures: 5,
    });
    expect(one.rowsCompared).toBe(1);
    expect(one.onnx.boundUsed).toBeLessThan(1);
    // Small batches give the same scores as one big batch.
    const all = scores;
    const batched = await scoreWithOnnx(bytes, data.x, 1000, 5, 7);
    for (let i = 0; i < 1000; i++)
      expect(Math.abs((batched[i] as number) - (all[i] as number))).toBeLessThan(1e-6);
    const row7 = await scoreWithOnnx(bytes, data.x.slice(7 * 5, 8 * 5), 1, 5);
    expect(Math.abs((all[7] as number) - (row7[0] as number))).toBeLessThan(1e-6);
  });
});

describe('ONNX file contents', () => {
  it('declares a symbolic batch, both outputs, opset 13, IR 7 and the metadata', async () => {
    const bytes = exportToOnnx(
      await exportOptions('elu-selu-dropout', {
        threshold: 0.35,
        metadata: { ...testMetadata(data.features), extra: { backend: 'cpu' } },
      }),
    );
    const decoded = decodeModel(bytes);
    expect(decoded.producerName).toBe('slipway');
    expect(decoded.producerVersion).toBe('0.1.0');
    // The default domain '' (ai.onnx) is the proto default, so it is not on the wire.
    expect(decoded.opsetImport.map((o) => [o.domain ?? '', o.version])).toEqual([['', 13]]);
    expect(decoded.irVersion).toBe(7);
    expect(decoded.graph.input.map((i) => i.name)).toEqual(['features']);
    expect(decoded.graph.input[0]?.type.tensorType).toEqual({
      elemType: 1,
      shape: { dim: [{ dimParam: 'N' }, { dimValue: 5 }] },
    });
    expect(
      decoded.graph.output.map((o) => [o.name, o.type.tensorType.elemType, o.type.tensorType.shape.dim]),
    ).toEqual([
      ['probability', 1, [{ dimParam: 'N' }, { dimValue: 1 }]],
      ['label', 7, [{ dimParam: 'N' }, { dimValue: 1 }]],
    ]);
    // The scaler on the raw input, Gemm + activation per dense layer, no trace of dropout.
    expect(decoded.graph.node.map((n) => n.opType)).toEqual([
      'Sub',
      'Div',
      'Gemm',
      'Elu',
      'Gemm',
      'Selu',
      'Gemm',
      'Sigmoid',
      'GreaterOrEqual',
      'Cast',
    ]);
    const { scaler } = await trainedFor('elu-selu-dropout');
    const mean = decoded.graph.initializer.find((t) => t.name === 'scaler_mean');
    expect(Array.from(new Float32Array(Uint8Array.from(mean?.rawData ?? []).buffer))).toEqual(
      Array.from(Float32Array.from(scaler.mean)),
    );
    const props = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
    expect(props).toMatchObject({
      'slipway.model_name': 'fraud-test',
      'slipway.target': 'Class',
      'slipway.threshold': '0.35',
      'slipway.dataset_sha256': 'a'.repeat(64),
      'slipway.run_id': 'run-test',
      'slipway.producer': 'slipway',
      'slipway.producer_version': '0.1.0',
      'slipway.backend': 'cpu',
    });
    expect(JSON.parse(props['slipway.features'] as string)).toEqual(data.features);

    // label = probability >= threshold, as int64.
    const out = await runOnnx(bytes, data.x, 1000, 5);
    let positives = 0;
    for (let i = 0; i < 1000; i++) {
      const expected = (out.probability[i] as number) >= 0.35 ? 1n : 0n;
      expect(out.label[i]).toBe(expected);
      if (expected === 1n) positives++;
    }
    // Both labels occur, so the comparison was not trivially one-sided.
    expect(positives).toBeGreaterThan(0);
    expect(positives).toBeLessThan(1000);
  });

  it('accepts opsets 13 to 21 with the same scores, and refuses others', async () => {
    const options = await exportOptions('tanh-shallow');
    const base = await scoreWithOnnx(exportToOnnx(options), data.x, 50, 5);
    for (let opset = 13; opset <= MAX_OPSET; opset++) {
      const bytes = exportToOnnx({ ...options, opset });
      expect(decodeModel(bytes).opsetImport[0]?.version).toBe(opset);
      expect(await scoreWithOnnx(bytes, data.x, 50, 5)).toEqual(base);
    }
    for (const opset of [12, 22, 13.5]) {
      expect(() => exportToOnnx({ ...options, opset })).toThrow(
        new RegExp(`Opset ${opset} is not supported`),
      );
    }
  });
});

function exportError(options: ExportOptions): OnnxExportError {
  try {
    exportToOnnx(options);
  } catch (err) {
    expect(err).toBeInstanceOf(OnnxExportError);
    expect((err as OnnxExportError).retryable).toBe(false);
    return err as OnnxExportError;
  }
  throw new Error('the export was expected to fail');
}

describe('the exporter refuses bad input with a clear error', () => {
  it('feature names that are not the scaler features in the scaler order', async () => {
    const options = await exportOptions('tanh-shallow');
    const swapped = ['tiny', 'constant', 'huge', 'unit', 'hundreds'];
    const err = exportError({ ...options, metadata: { ...options.metadata, features: swapped } });
    expect(err.type).toBe('InvalidExportInput');
    expect(err.message).toMatch(/Feature 1 is "constant" in the metadata but "huge" in the scaler/);
    const short = exportError({ ...options, metadata: { ...options.metadata, features: swapped.slice(1) } });
    expect(short.message).toMatch(/4 feature names in the metadata for a scaler over 5 columns/);
    const dup = exportError({
      ...options,
      scaler: { ...options.scaler, features: ['a', 'b', 'a', 'c', 'd'] },
      metadata: { ...options.metadata, features: ['a', 'b', 'a', 'c', 'd'] },
    });
    expect(dup.message).toMatch(/Feature "a" appears twice/);
  });

  it('a threshold that is not a probability, a malformed sha256, a clashing extra key', async () => {
    const options = await exportOptions('tanh-shallow');
    for (const threshold of [Number.NaN, -0.1, 1.5]) {
      expect(exportError({ ...options, threshold }).message).toMatch(/is not a probability/);
    }
    expect(
      exportError({ ...options, metadata: { ...options.metadata, datasetSha256: 'abc' } }).message,
    ).toMatch(/sha256 "abc" is not 64 lowercase hex digits/);
    expect(
      exportError({ ...options, metadata: { ...options.metadata, extra: { threshold: '0.9' } } }).message,
    ).toMatch(/would overwrite the built-in "slipway.threshold"/);
  });

  it('a scaler with non-finite or zero spread', async () => {
    const options = await exportOptions('tanh-shallow');
    const std = [...options.scaler.std];
    std[3] = 0;
    expect(exportError({ ...options, scaler: { ...options.scaler, std } }).message).toMatch(
      /column "unit" \(index 3\) has mean .* and std 0/,
    );
  });

  it('a model that does not match its spec or the scaler', async () => {
    const options = await exportOptions('tanh-shallow');
    const otherActivation = modelSpecSchema.parse({
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dense', units: 1, activation: 'sigmoid' },
      ],
    });
    const a = exportError({ ...options, spec: otherActivation });
    expect(a.type).toBe('ModelSpecMismatch');
    expect(a.message).toMatch(
      /Dense layer 0 \("dense_0"\) is Dense\(16, tanh\) but the spec says Dense\(16, relu\)/,
    );

    const fewer = exportError({ ...options, spec: spec('elu-selu-dropout') });
    expect(fewer.type).toBe('ModelSpecMismatch');

    const fourFeatures = buildModel(spec('tanh-shallow'), 4);
    const b = exportError({ ...options, model: fourFeatures });
    expect(b.message).toMatch(
      /"dense_0" has a \[4, 16\] kernel .* receives 5 values \(the scaler's 5 features\)/,
    );
    fourFeatures.dispose();

    const withNorm = tf.sequential({
      layers: [
        tf.layers.dense({ units: 16, activation: 'tanh', inputShape: [5] }),
        tf.layers.batchNormalization({ name: 'norm' }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    expect(exportError({ ...options, model: withNorm }).message).toMatch(
      /Layer "norm" is a BatchNormalization, which the ONNX exporter does not translate/,
    );
    withNorm.dispose();
  });

  it('weights made non-finite by a diverged training run', async () => {
    const model = buildModel(spec('tanh-shallow'), 5);
    const [kernel, ...rest] = model.getWeights();
    const values = (kernel as tf.Tensor).dataSync().slice();
    values[2] = Number.NaN;
    values[9] = Number.POSITIVE_INFINITY;
    model.setWeights([tf.tensor(values, (kernel as tf.Tensor).shape), ...rest]);
    const err = exportError({ ...(await exportOptions('tanh-shallow')), model });
    expect(err.type).toBe('NonFiniteWeights');
    expect(err.message).toMatch(
      /Layer "dense_0" has 2 NaN or infinite kernel values of 80: training diverged/,
    );
    model.dispose();
  });

  it('a graph that fails structural validation is never encoded', async () => {
    // A layer named like one of the exporter's own values makes a duplicate value name; the
    // validator catches it before anything is encoded.
    const clash = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'scaled', units: 16, activation: 'tanh', inputShape: [5] }),
        tf.layers.dense({ name: 'head', units: 1, activation: 'sigmoid' }),
      ],
    });
    const err = exportError({ ...(await exportOptions('tanh-shallow')), model: clash });
    expect(err.type).toBe('OnnxStructureError');
    expect(err.message).toMatch(/value "scaled" is defined twice \(again as output of node "scaled_tanh"\)/);
    clash.dispose();
  });
});

describe('onnxruntime reads the symbolic batch', () => {
  it('runs N = 1 and N = 1000 through one session', async () => {
    const session = await ort.InferenceSession.create(exportToOnnx(await exportOptions('reference')));
    for (const n of [1, 1000]) {
      const out = await session.run({ features: new ort.Tensor('float32', data.x.slice(0, n * 5), [n, 5]) });
      expect(out.probability?.dims).toEqual([n, 1]);
      expect(out.label?.dims).toEqual([n, 1]);
      expect(out.label?.type).toBe('int64');
    }
    await session.release();
  });
});
