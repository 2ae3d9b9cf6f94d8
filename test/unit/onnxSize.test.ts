import { describe, expect, it } from 'vitest';
import { buildModel } from '../../domain/ml/modelBuilder';
import { countParameters, modelSpecSchema, referenceModelSpec } from '../../domain/ml/modelSpec';
import { fitStandardScaler } from '../../domain/ml/scaler';
import { ModelTooLargeError } from '../../domain/onnx/errors';
import { exportToOnnx } from '../../domain/onnx/exporter';
import {
  assertWithinSizeLimit,
  base64Length,
  DEFAULT_SIZE_LIMIT_BYTES,
  onnxSizeReport,
} from '../../domain/onnx/size';
import { testMetadata } from '../support/onnxFixtures';
import { thrownBy } from '../support/rejection';
import { useTfCpuBackend } from '../support/tfCpuBackend';

useTfCpuBackend();

const nFeatures = 30;
const features = Array.from({ length: nFeatures }, (_, j) => `V${j}`);
const scaler = fitStandardScaler(
  Float32Array.from({ length: 4 * nFeatures }, (_, i) => (i * 7919) % 113),
  4,
  nFeatures,
  features,
);

function exportUntrained(spec: typeof referenceModelSpec): Uint8Array {
  // Size does not depend on the weights' values, so no training is needed here.
  const model = buildModel(spec, nFeatures);
  try {
    return exportToOnnx({ model, spec, scaler, threshold: 0.5, metadata: testMetadata(features) });
  } finally {
    model.dispose();
  }
}

describe('size report', () => {
  it('counts padded base64 bytes: 4 * ceil(n / 3)', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(base64Length)).toEqual([0, 4, 4, 4, 8, 8, 8]);
    const bytes = new Uint8Array(1001).fill(7);
    expect(base64Length(bytes.length)).toBe(Buffer.from(bytes).toString('base64').length);
    expect(DEFAULT_SIZE_LIMIT_BYTES).toBe(15_728_640);
  });

  it('puts the reference network (139,777 float32 parameters) well inside the default limit', () => {
    const bytes = exportUntrained(referenceModelSpec);
    const params = countParameters(referenceModelSpec, nFeatures);
    expect(params).toBe(139_777);
    // Weights dominate; names, scaler, metadata and framing add a few kilobytes.
    expect(bytes.length).toBeGreaterThan(params * 4);
    expect(bytes.length).toBeLessThan(params * 4 + 8 * 1024);
    const report = onnxSizeReport(bytes.length);
    expect(report).toMatchObject({
      bytes: bytes.length,
      limitBytes: DEFAULT_SIZE_LIMIT_BYTES,
      withinLimit: true,
    });
    expect(report.base64Bytes).toBe(Buffer.from(bytes).toString('base64').length);
    expect(() => assertWithinSizeLimit(report)).not.toThrow();
  });

  it('refuses a file over the limit with both numbers and what to change', () => {
    // Two 2048-wide layers: about 4.3 M parameters, 17 MB, 23 MB after base64.
    const wide = modelSpecSchema.parse({
      layers: [
        { type: 'dense', units: 2048, activation: 'relu' },
        { type: 'dense', units: 2048, activation: 'relu' },
        { type: 'dense', units: 1, activation: 'sigmoid' },
      ],
    });
    const bytes = exportUntrained(wide);
    const report = onnxSizeReport(bytes.length);
    expect(report.withinLimit).toBe(false);
    const err = thrownBy(() => assertWithinSizeLimit(report));
    expect(err).toBeInstanceOf(ModelTooLargeError);
    expect(err.type).toBe('ModelTooLarge');
    expect(err.retryable).toBe(false);
    expect([err.bytes, err.base64Bytes, err.limitBytes]).toEqual([
      bytes.length,
      report.base64Bytes,
      15_728_640,
    ]);
    expect(err.message).toContain(`is ${bytes.length} bytes, ${report.base64Bytes} after base64`);
    expect(err.message).toContain('over the upload limit of 15728640 bytes (15.00 MiB)');
    expect(err.message).toMatch(/Remove about \d+ parameters: use fewer or narrower dense layers/);
  });

  it('applies a configured limit exactly at the boundary', () => {
    expect(onnxSizeReport(3000, 4000).withinLimit).toBe(true);
    expect(onnxSizeReport(3001, 4000).withinLimit).toBe(false);
    expect(() => onnxSizeReport(10, 0)).toThrow(/size limit 0 is not a positive whole number/);
  });
});
