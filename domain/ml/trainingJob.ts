import { type BackendChoice, selectBackend } from './backend';
import { type ClassWeightMode, type ClassWeights, computeClassWeights } from './classWeights';
import { buildModel } from './modelBuilder';
import type { ModelSpec } from './modelSpec';
import { scalerFromJson } from './scaler';
import { decodeSplit } from './splitArtifact';
import { type EpochResult, trainModel } from './train';
import { scaled, splitSnapshot } from './trainingData';

/**
 * One training from stored bytes to per-epoch checkpoints: everything between reading the
 * artifacts and storing the results. Plain data in and out (bytes, numbers, the spec), so it can
 * run in a worker thread (trainInThread.ts) as well as in the caller's own thread.
 */
export interface TrainingJob {
  /** The Arrow snapshot, the stored split and the scaler's JSON, as the store returns them. */
  snapshot: Uint8Array;
  split: Uint8Array;
  scaler: Uint8Array;
  /** A checkpoint of an earlier attempt: training continues after its last epoch. */
  resumeFrom?: Uint8Array;
  target: string;
  spec: ModelSpec;
  classWeightMode: ClassWeightMode;
  /** A backend to insist on (SLIPWAY_TF_BACKEND); unset picks the fastest that loads. */
  backend?: string;
}

/** Known once the data is read and the backend chosen, before the first epoch. */
export interface TrainingJobStart {
  backend: BackendChoice;
  classWeights: ClassWeights;
}

export interface TrainingJobResult extends TrainingJobStart {
  history: EpochResult[];
  epochsRun: number;
  resumedFromEpoch: number;
}

export interface TrainingJobHooks {
  onStart?(start: TrainingJobStart): void;
  /** After each epoch, with that epoch's checkpoint (fresh bytes the callee may keep or hand on). */
  onEpoch?(epoch: EpochResult, checkpoint: Uint8Array): Promise<void> | void;
}

export async function runTrainingJob(
  job: TrainingJob,
  hooks: TrainingJobHooks = {},
): Promise<TrainingJobResult> {
  const backend = await selectBackend({ force: job.backend });
  const data = splitSnapshot(job.snapshot, job.target, decodeSplit(asBuffer(job.split)));
  const scaler = scalerFromJson(asBuffer(job.scaler).toString('utf8'));
  const classWeights = computeClassWeights(data.yTrain, job.classWeightMode);
  hooks.onStart?.({ backend, classWeights });

  const model = buildModel(job.spec, data.nFeatures);
  try {
    const result = await trainModel({
      model,
      spec: job.spec,
      x: scaled(scaler, data.trainRaw, data.nFeatures),
      y: data.yTrain,
      nRows: data.nTrain,
      nFeatures: data.nFeatures,
      classWeights,
      // The held-out split gives the per-epoch validation curve people watch; it never
      // influences the weights (no early stopping here).
      validation: { x: scaled(scaler, data.testRaw, data.nFeatures), y: data.yTest, nRows: data.nTest },
      resumeFrom: job.resumeFrom,
      async onEpoch(epoch, checkpoint) {
        await hooks.onEpoch?.(epoch, await checkpoint());
      },
    });
    return {
      backend,
      classWeights,
      history: result.history,
      epochsRun: result.epochsRun,
      resumedFromEpoch: result.resumedFromEpoch,
    };
  } finally {
    model.dispose();
  }
}

/** Bytes that crossed a thread boundary arrive as a plain Uint8Array; the decoders want a Buffer. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
