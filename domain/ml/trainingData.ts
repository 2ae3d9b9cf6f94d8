import { type DatasetMatrix, readSnapshot } from '../data/snapshot';
import { encodeCategories } from './categoricalEncoding';
import { applyStandardScaler } from './scaler';
import type { StandardScalerParams } from './scalerTypes';
import { type Split, takeLabels, takeRows } from './split';

export interface SplitData {
  features: string[];
  nFeatures: number;
  trainRaw: Float32Array;
  yTrain: Uint8Array;
  testRaw: Float32Array;
  yTest: Uint8Array;
  nTrain: number;
  nTest: number;
}

/** The two parts of a snapshot as row-major matrices, in split order. */
export function splitSnapshot(snapshot: Uint8Array | DatasetMatrix, target: string, split: Split): SplitData {
  const m = snapshot instanceof Uint8Array ? readSnapshot(snapshot, target) : snapshot;
  return {
    features: m.features,
    nFeatures: m.nCols,
    trainRaw: takeRows(m.x, m.nCols, split.train),
    yTrain: takeLabels(m.y, split.train),
    testRaw: takeRows(m.x, m.nCols, split.test),
    yTest: takeLabels(m.y, split.test),
    nTrain: split.train.length,
    nTest: split.test.length,
  };
}

/**
 * What the network sees of raw rows (as the snapshot holds them): categorical codes replaced by
 * their training frequencies when the scaler carries an encoding (what the exported graph's
 * LabelEncoders do), then standard scaling.
 */
export function scaled(scaler: StandardScalerParams, raw: Float32Array, nFeatures: number): Float32Array {
  return applyStandardScaler(scaler, encodedFeatures(scaler, raw, nFeatures), nFeatures);
}

/** `raw` with its categorical codes replaced by their training frequencies; `raw` itself without categorical features. */
export function encodedFeatures(
  scaler: StandardScalerParams,
  raw: Float32Array,
  nFeatures: number,
): Float32Array {
  return scaler.categorical?.columns.length ? encodeCategories(scaler.categorical, raw, nFeatures) : raw;
}
