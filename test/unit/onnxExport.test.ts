import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { OnnxExportError } from '../../domain/onnx/errors';
import { exportToOnnx } from '../../domain/onnx/exporter';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { checkParity, scoreWithOnnx } from '../../domain/onnx/parity';
import { assertWithinSizeLimit, onnxSizeReport } from '../../domain/onnx/size';
import { validateOnnxModel } from '../../domain/onnx/validate';
import { architectures, testMetadata, trainedModel, wildData } from '../support/onnxFixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const data = wildData(1000);

describe.each(Object.entries(architectures))('ONNX export of the %s network', (_name, spec) => {
  it('scores raw rows like the tfjs model within 1e-5, for N = 1000 and N = 1', async () => {
    const { model, scaler } = await trainedModel(spec, data);
    const bytes = exportToOnnx({
      model,
      spec,
      scaler,
      threshold: 0.5,
      metadata: testMetadata(data.features),
    });
    const report = await checkParity({
      onnxBytes: bytes,
      model,
      scaler,
      rawX: data.x,
      nRows: 1000,
      nFeatures: data.nFeatures,
    });
    expect(report.rowsCompared).toBe(1000);
    expect(report.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    const one = await scoreWithOnnx(bytes, data.x.subarray(0, data.nFeatures), 1, data.nFeatures);
    expect(one).toHaveLength(1);
    model.dispose();
  });
});

describe('ONNX file contents', () => {
  it('declares a symbolic batch, both outputs, opset 13 and the metadata', async () => {
    const spec = architectures['tanh-shallow'] as (typeof architectures)[string];
    const { model, scaler } = await trainedModel(spec, data);
    const bytes = exportToOnnx({
      model,
      spec,
      scaler,
      threshold: 0.35,
      metadata: testMetadata(data.features),
    });
    const decoded = decodeModel(bytes);
    expect(decoded.opsetImport[0]?.version).toBe(13);
    expect(decoded.irVersion).toBe(7);
    expect(decoded.graph.input[0]?.type.tensorType.shape.dim).toEqual([{ dimParam: 'N' }, { dimValue: 5 }]);
    expect(decoded.graph.output.map((o) => o.name)).toEqual(['probability', 'label']);
    const props = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(props['slipway.features'] as string)).toEqual(data.features);
    expect(props['slipway.threshold']).toBe('0.35');
    expect(props['slipway.target']).toBe('Class');
    // label = probability >= threshold
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ features: new ort.Tensor('float32', data.x.slice(0, 50 * 5), [50, 5]) });
    const p = out.probability?.data as Float32Array;
    const label = out.label?.data as BigInt64Array;
    for (let i = 0; i < 50; i++) expect(Number(label[i])).toBe((p[i] as number) >= 0.35 ? 1 : 0);
    await session.release();
    model.dispose();
  });

  it('accepts a higher opset and refuses one out of range', async () => {
    const spec = architectures['tanh-shallow'] as (typeof architectures)[string];
    const { model, scaler } = await trainedModel(spec, data);
    const bytes = exportToOnnx({
      model,
      spec,
      scaler,
      threshold: 0.5,
      metadata: testMetadata(data.features),
      opset: 17,
    });
    expect(decodeModel(bytes).opsetImport[0]?.version).toBe(17);
    expect(() =>
      exportToOnnx({ model, spec, scaler, threshold: 0.5, metadata: testMetadata(data.features), opset: 11 }),
    ).toThrow(/Opset 11 is not supported/);
    model.dispose();
  });
});

describe('the parity gate', () => {
  it('catches a file that does not match the evaluated model (one perturbed weight)', async () => {
    const spec = architectures['elu-selu-dropout'] as (typeof architectures)[string];
    const { model, scaler } = await trainedModel(spec, data);
    const bytes = exportToOnnx({
      model,
      spec,
      scaler,
      threshold: 0.5,
      metadata: testMetadata(data.features),
    });
    const weights = model.getWeights();
    const kernel = (weights[0] as tf.Tensor).arraySync() as number[][];
    (kernel[3] as number[])[0] = ((kernel[3] as number[])[0] as number) + 0.05;
    model.setWeights([tf.tensor(kernel), ...weights.slice(1)]);
    const err = await checkParity({
      onnxBytes: bytes,
      model,
      scaler,
      rawX: data.x,
      nRows: 1000,
      nFeatures: 5,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(OnnxExportError);
    expect((err as OnnxExportError).type).toBe('ExportParityError');
    expect((err as OnnxExportError).message).toMatch(/max \|difference\| .* > 0.00001 at held-out row \d+/);
    model.dispose();
  });
});

describe('structural validation', () => {
  async function decodedExport() {
    const spec = architectures['tanh-shallow'] as (typeof architectures)[string];
    const { model, scaler } = await trainedModel(spec, data);
    const decoded = decodeModel(
      exportToOnnx({ model, spec, scaler, threshold: 0.5, metadata: testMetadata(data.features) }),
    );
    model.dispose();
    return decoded;
  }

  it('passes a sound export and names each kind of broken graph', async () => {
    expect(validateOnnxModel(await decodedExport())).toEqual([]);

    const duplicate = await decodedExport();
    duplicate.graph.initializer.push({
      ...(duplicate.graph.initializer[0] as (typeof duplicate.graph.initializer)[number]),
    });
    expect(validateOnnxModel(duplicate).join()).toMatch(/value "scaler_mean" is defined twice/);

    const undefinedInput = await decodedExport();
    (undefinedInput.graph.node[1] as (typeof undefinedInput.graph.node)[number]).input = [
      'nowhere',
      'scaler_std',
    ];
    expect(validateOnnxModel(undefinedInput).join()).toMatch(/reads "nowhere", which is not defined/);

    const badShape = await decodedExport();
    (badShape.graph.initializer[0] as (typeof badShape.graph.initializer)[number]).dims = [7];
    expect(validateOnnxModel(badShape).join()).toMatch(/"scaler_mean" has 5 values but dims \[7\] need 7/);

    const untyped = await decodedExport();
    (untyped.graph.output[0] as { type: unknown }).type = {};
    expect(validateOnnxModel(untyped).join()).toMatch(/graph output "probability" has no element type/);
  });
});

describe('size limit', () => {
  it('counts base64 bytes against the limit and refuses an oversize file with both numbers', () => {
    expect(onnxSizeReport(3)).toMatchObject({ bytes: 3, base64Bytes: 4, withinLimit: true });
    const big = onnxSizeReport(12 * 1024 * 1024);
    expect(big.base64Bytes).toBe(16 * 1024 * 1024);
    expect(big.withinLimit).toBe(false);
    expect(() => assertWithinSizeLimit(big)).toThrow(
      /12582912 bytes, 16777216 after base64, over the upload limit of 15728640/,
    );
  });
});
