import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { DEFAULT_TARGET_COLUMN } from '../../domain/data/targetColumn';
import { type ClassWeights, computeClassWeights } from '../../domain/ml/classWeights';
import { type ModelSpec, referenceModelSpec } from '../../domain/ml/modelSpec';
import { applyStandardScaler, fitStandardScaler } from '../../domain/ml/scaler';
import type { StandardScalerParams } from '../../domain/ml/scalerTypes';
import { defaultSplit, splitIndices } from '../../domain/ml/split';
import { splitSnapshot } from '../../domain/ml/trainingData';

export const FEATURES = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);

/**
 * What both trainers read from the data folder (meta.json). The Keras script reads the same
 * fields, so a name changed here must change in bench/keras/train_keras.py too.
 */
export interface BenchDataMeta {
  source: string;
  nFeatures: number;
  trainRows: number;
  testRows: number;
  trainPositives: number;
  testPositives: number;
  classWeights: ClassWeights;
  epochs: number;
  batchSize: number;
  learningRate: number;
  dropout: number;
  seed: number;
  predictBatch: number;
  predictRepeats: number;
  scaler: StandardScalerParams;
}

/**
 * The reference pipeline's data preparation, as the transform step does it: the generated rows
 * (synthetic:fraud, the demo's seed), a stratified 75/25 split with the pipeline's seed, a
 * standard scaler fitted on the training part and class weights 1/count. Writes scaled float32
 * matrices and 0/1 labels as raw little-endian files, which numpy reads with np.fromfile, so
 * Keras trains on the very bytes tfjs trains on; the raw held-out rows go too, for the ONNX file
 * (which scales inside the graph) and for `apply`.
 */
export function writeReferenceData(
  dir: string,
  options: { rows: number; seed: number; epochs: number; predictRepeats: number },
): BenchDataMeta {
  const n = FEATURES.length;
  const x = new Float32Array(options.rows * n);
  const y = new Uint8Array(options.rows);
  let i = 0;
  for (const row of syntheticFraudRows({ rows: options.rows, seed: options.seed })) {
    x.set(row.slice(0, n), i * n);
    y[i++] = row[n] as number;
  }
  const parts = splitSnapshot(
    { features: [...FEATURES], target: DEFAULT_TARGET_COLUMN, x, y, nRows: options.rows, nCols: n },
    DEFAULT_TARGET_COLUMN,
    splitIndices(y, defaultSplit),
  );
  const scaler = fitStandardScaler(parts.trainRaw, parts.nTrain, n, [...FEATURES]);
  const spec: ModelSpec = referenceModelSpec;
  const dropout = spec.layers.find((l) => l.type === 'dropout');
  const meta: BenchDataMeta = {
    source: `synthetic:fraud?rows=${options.rows}&seed=${options.seed}`,
    nFeatures: n,
    trainRows: parts.nTrain,
    testRows: parts.nTest,
    trainPositives: parts.yTrain.reduce((a, b) => a + b, 0),
    testPositives: parts.yTest.reduce((a, b) => a + b, 0),
    classWeights: computeClassWeights(parts.yTrain, 'inverse'),
    epochs: options.epochs,
    batchSize: spec.batchSize,
    learningRate: spec.learningRate,
    dropout: dropout?.type === 'dropout' ? dropout.rate : 0,
    seed: spec.seed,
    predictBatch: 8192,
    predictRepeats: options.predictRepeats,
    scaler,
  };
  const write = (name: string, data: Float32Array | Uint8Array) =>
    writeFileSync(join(dir, name), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  write('x_train.f32', applyStandardScaler(scaler, parts.trainRaw, n));
  write('y_train.u8', parts.yTrain);
  write('x_test.f32', applyStandardScaler(scaler, parts.testRaw, n));
  write('y_test.u8', parts.yTest);
  write('x_test_raw.f32', parts.testRaw);
  writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

export function readMeta(dir: string): BenchDataMeta {
  return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as BenchDataMeta;
}

/** A float32 file written above (copied out of the Buffer, whose offset may not be 4-aligned). */
export function readFloat32(dir: string, name: string): Float32Array {
  return new Float32Array(new Uint8Array(readFileSync(join(dir, name))).buffer);
}

export function readUint8(dir: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, name)));
}
