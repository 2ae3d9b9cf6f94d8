import type * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../domain/ml/backend';
import { restoreWeights } from '../domain/ml/checkpoint';
import { buildModel } from '../domain/ml/modelBuilder';
import type { ModelSpec } from '../domain/ml/modelSpec';
import { scalerFromJson } from '../domain/ml/scaler';
import type { StandardScalerParams } from '../domain/ml/scalerTypes';
import { decodeSplit } from '../domain/ml/splitArtifact';
import { type SplitData, splitSnapshot } from '../domain/ml/trainingData';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { ArtifactStore } from '../domain/storage/artifactStore';

export interface ModelInputRefs {
  snapshot: ArtifactRef;
  split: ArtifactRef;
  scaler: ArtifactRef;
  model: ArtifactRef;
  target: string;
  spec: ModelSpec;
}

/** The trained network and the held-out data, read back (verified) for evaluation and export. */
export async function loadTrainedModel(
  store: ArtifactStore,
  refs: ModelInputRefs,
): Promise<{ model: tf.LayersModel; data: SplitData; scaler: StandardScalerParams }> {
  await selectBackend();
  const [snapshot, split, scaler, weights] = await Promise.all([
    store.getBytes(refs.snapshot),
    store.getBytes(refs.split),
    store.getBytes(refs.scaler),
    store.getBytes(refs.model),
  ]);
  const data = splitSnapshot(snapshot, refs.target, decodeSplit(split));
  const model = buildModel(refs.spec, data.nFeatures);
  restoreWeights(model, weights);
  return { model, data, scaler: scalerFromJson(scaler.toString('utf8')) };
}

/**
 * Frees the model's own weights (LayersModel.dispose releases its variables), and nothing else:
 * tf.disposeVariables() would also free the weights of every other model in this worker process
 * (an evaluation beside an export, a scoring beside a training).
 */
export function disposeModel(model: tf.LayersModel): void {
  model.dispose();
}
