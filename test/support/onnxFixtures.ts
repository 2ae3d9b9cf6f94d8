import type * as tf from '@tensorflow/tfjs';
import { computeClassWeights } from '../../domain/ml/classWeights';
import { buildModel } from '../../domain/ml/modelBuilder';
import { type ModelSpec, modelSpecSchema, referenceModelSpec } from '../../domain/ml/modelSpec';
import { applyStandardScaler, fitStandardScaler } from '../../domain/ml/scaler';
import type { StandardScalerParams } from '../../domain/ml/scalerTypes';
import { trainModel } from '../../domain/ml/train';
import { exportDenseModel } from '../../domain/onnx/exporter';
import { checkParity } from '../../domain/onnx/parity';
import { mulberry32 } from '../../domain/random';

/** Architectures the exporter must handle: every activation, dropout, several depths and widths. */
export const architectures: Record<string, ModelSpec> = {
  reference: referenceModelSpec,
  'tanh-shallow': modelSpecSchema.parse({
    layers: [
      { type: 'dense', units: 16, activation: 'tanh' },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ],
  }),
  'elu-selu-dropout': modelSpecSchema.parse({
    layers: [
      { type: 'dense', units: 32, activation: 'elu' },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 8, activation: 'selu' },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ],
  }),
  'softplus-linear-deep': modelSpecSchema.parse({
    layers: [
      { type: 'dense', units: 12, activation: 'softplus' },
      { type: 'dense', units: 6, activation: 'linear' },
      { type: 'dense', units: 10, activation: 'relu' },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ],
  }),
};

/** Raw rows whose columns differ wildly in scale, with a constant column, and a label. */
export function wildData(nRows: number, seed = 9) {
  const scales = [1e-3, 1e5, 0, 1, 1e2];
  const nFeatures = scales.length;
  const random = mulberry32(seed);
  const x = new Float32Array(nRows * nFeatures);
  const y = new Uint8Array(nRows);
  for (let i = 0; i < nRows; i++) {
    for (let j = 0; j < nFeatures; j++)
      x[i * nFeatures + j] = scales[j] === 0 ? 42 : (random() * 2 - 1) * (scales[j] as number);
    y[i] = (x[i * nFeatures + 3] as number) + (x[i * nFeatures] as number) * 500 > 0.2 ? 1 : 0;
  }
  return { x, y, nRows, nFeatures, features: ['tiny', 'huge', 'constant', 'unit', 'hundreds'] };
}

/** Builds and briefly trains a model, so its weights are not just the initial ones. */
export async function trainedModel(
  spec: ModelSpec,
  data: ReturnType<typeof wildData>,
): Promise<{ model: tf.LayersModel; scaler: StandardScalerParams }> {
  const scaler = fitStandardScaler(data.x, data.nRows, data.nFeatures, data.features);
  const scaled = applyStandardScaler(scaler, data.x, data.nFeatures);
  const quick = { ...spec, epochs: 2, batchSize: 128 };
  const model = buildModel(quick, data.nFeatures);
  await trainModel({
    model,
    spec: quick,
    x: scaled,
    y: data.y,
    nRows: data.nRows,
    nFeatures: data.nFeatures,
    classWeights: computeClassWeights(data.y, 'balanced'),
  });
  return { model, scaler };
}

export const testMetadata = (features: string[]) => ({
  modelName: 'fraud-test',
  features,
  target: 'Class',
  producerVersion: '0.1.0',
  datasetSha256: 'a'.repeat(64),
  runId: 'run-test',
});

type WildData = ReturnType<typeof wildData>;

/** A network of `spec` trained on `data` and exported at threshold 0.5 with the test metadata. */
export async function exportedModel(spec: ModelSpec, data: WildData) {
  const { model, scaler } = await trainedModel(spec, data);
  const { bytes, layers } = exportDenseModel({
    model,
    spec,
    scaler,
    threshold: 0.5,
    metadata: testMetadata(data.features),
  });
  return { model, scaler, bytes, layers };
}

/** The parity gate over every row of `data`: the exported file's bytes, or changed ones in their place. */
export function parityOnAllRows(
  exported: Awaited<ReturnType<typeof exportedModel>>,
  data: WildData,
  options: { onnxBytes?: Uint8Array; threshold?: number; referenceRows?: number } = {},
) {
  const { model, scaler, layers } = exported;
  const { onnxBytes = exported.bytes, threshold, referenceRows } = options;
  return checkParity({
    onnxBytes,
    layers,
    model,
    scaler,
    rawX: data.x,
    nRows: data.nRows,
    nFeatures: data.nFeatures,
    ...(threshold === undefined ? {} : { threshold }),
    ...(referenceRows === undefined ? {} : { referenceRows }),
  });
}
