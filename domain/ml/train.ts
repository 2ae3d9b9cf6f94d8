import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../random';
import { currentBackend } from './backend';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint';
import type { ClassWeights } from './classWeights';
import { TrainingInputError } from './errors';
import { KerasAdamOptimizer } from './kerasAdam';
import type { ModelSpec } from './modelSpec';
import { loadNativeTrainer, trainNative } from './nativeTrainer';
import { earlyStopper, epochFigures, epochOrder, validationFigures } from './trainingLoop';

export interface EpochResult {
  /** 1-based. */
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  valRecall?: number;
  valPrecision?: number;
  valFpr?: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface TrainOptions {
  model: tf.LayersModel;
  spec: ModelSpec;
  /** Scaled features, row-major nRows x nFeatures. */
  x: Float32Array;
  y: Uint8Array;
  nRows: number;
  nFeatures: number;
  classWeights: ClassWeights;
  /** Defaults to spec.epochs. */
  epochs?: number;
  validation?: { x: Float32Array; y: Uint8Array; nRows: number };
  /** Bytes of a checkpoint from an earlier attempt: training continues after its last epoch. */
  resumeFrom?: Uint8Array;
  /** Called after each epoch with the epoch's figures and a checkpoint to store. */
  onEpoch?(result: EpochResult, checkpoint: () => Promise<Uint8Array>): Promise<void> | void;
  /**
   * Stop when the validation loss has not improved by minDelta for `patience` epochs (needs
   * `validation`). Like Keras' EarlyStopping without restore_best_weights, the model keeps the
   * weights of the last epoch run.
   */
  earlyStopping?: { patience: number; minDelta?: number };
}

export interface TrainResult {
  history: EpochResult[];
  epochsRun: number;
  stoppedEarly: boolean;
  resumedFromEpoch: number;
  /** What ran: 'native' (the fused native trainer) or the tfjs backend (tf.getBackend()). */
  backend: string;
}

function makeOptimizer(spec: ModelSpec): tf.Optimizer {
  switch (spec.optimizer) {
    case 'adam':
      return new KerasAdamOptimizer(spec.learningRate);
    case 'sgd':
      return tf.train.sgd(spec.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(spec.learningRate);
  }
}

/** Class-weighted binary cross-entropy, averaged over the batch as Keras does with class_weight. */
function weightedBce(p: tf.Tensor, y: tf.Tensor, w: tf.Tensor): tf.Scalar {
  const pc = p.clipByValue(1e-7, 1 - 1e-7);
  const one = tf.scalar(1);
  const loss = y
    .mul(pc.log())
    .add(one.sub(y).mul(one.sub(pc).log()))
    .neg();
  return loss.mul(w).mean() as tf.Scalar;
}

/** Probabilities for rows of a row-major matrix, in batches to bound memory. */
export async function predictProbabilities(
  model: tf.LayersModel,
  x: Float32Array,
  nRows: number,
  nFeatures: number,
  batch = 8192,
) {
  const out = new Float32Array(nRows);
  for (let start = 0; start < nRows; start += batch) {
    const end = Math.min(nRows, start + batch);
    const p = tf.tidy(
      () =>
        model.predict(
          tf.tensor2d(x.subarray(start * nFeatures, end * nFeatures), [end - start, nFeatures]),
        ) as tf.Tensor,
    );
    out.set(await p.data(), start);
    p.dispose();
  }
  return out;
}

/**
 * Trains with a hand-written loop rather than model.fit, so every source of randomness is seeded
 * per epoch and batch (row order, dropout masks) and a checkpoint taken after epoch k resumes to
 * exactly the run that never stopped. The seeds derive from (spec.seed, epoch, batch), so the
 * checkpoint needs no RNG state: the epoch number is enough. Dropout: tfjs' Dropout layer reads
 * its `seed` property at each call, so the loop sets a fresh derived seed on every dropout layer
 * before each batch (a fixed seed would reuse one mask for the whole run).
 * Exactness holds on one backend; across backends the float sums differ in the last bits.
 * When the selected backend is `native` (backend.ts), the fused native trainer runs the same loop
 * (nativeTrainer.ts); `engine` insists on one or the other.
 */
export async function trainModel(
  options: TrainOptions & { engine?: 'native' | 'tfjs' },
): Promise<TrainResult> {
  const { model, spec, x, y, nRows, nFeatures, classWeights } = options;
  const epochs = options.epochs ?? spec.epochs;
  if (x.length !== nRows * nFeatures || y.length !== nRows) {
    throw new TrainingInputError(
      'ShapeMismatch',
      `x has ${x.length} values and y ${y.length} for ${nRows} rows x ${nFeatures} features.`,
    );
  }
  if (options.earlyStopping) {
    const { patience, minDelta = 0 } = options.earlyStopping;
    if (!options.validation || !(Number.isInteger(patience) && patience >= 1) || !(minDelta >= 0)) {
      throw new RangeError(
        `earlyStopping needs validation data, an integer patience >= 1 and minDelta >= 0 (got patience ${patience}, minDelta ${minDelta})`,
      );
    }
  }
  const engine = options.engine ?? (currentBackend()?.name === 'native' ? 'native' : 'tfjs');
  if (engine === 'native') {
    const native = loadNativeTrainer();
    if (!native.ok)
      throw new TrainingInputError('BackendUnavailable', `The native trainer cannot run: ${native.reason}.`);
    return trainNative(options, native.addon);
  }
  const optimizer = makeOptimizer(spec);
  const history: EpochResult[] = [];
  let startEpoch = 0;
  if (options.resumeFrom) {
    const state = decodeCheckpoint(options.resumeFrom);
    model.setWeights(state.weights);
    await optimizer.setWeights(state.optimizer);
    tf.dispose(state.weights);
    startEpoch = state.epoch;
    history.push(...(state.history as unknown as EpochResult[]));
  }
  const dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout');
  const batchSize = spec.batchSize;
  const bx = new Float32Array(batchSize * nFeatures);
  const by = new Float32Array(batchSize);
  const bw = new Float32Array(batchSize);
  const stopper = earlyStopper(options.earlyStopping);
  let stoppedEarly = false;
  for (const past of history) {
    if (stopper.shouldStop(past.valLoss)) {
      // The saved run had already decided to stop: nothing is left to train.
      optimizer.dispose();
      return {
        history,
        epochsRun: history.length,
        stoppedEarly: true,
        resumedFromEpoch: startEpoch,
        backend: tf.getBackend(),
      };
    }
  }

  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    const started = performance.now();
    const order = epochOrder(spec.seed, epoch, nRows);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0, b = 0; start < nRows; start += batchSize, b++) {
      const n = Math.min(batchSize, nRows - start);
      for (let i = 0; i < n; i++) {
        const row = order[start + i] as number;
        bx.set(x.subarray(row * nFeatures, (row + 1) * nFeatures), i * nFeatures);
        by[i] = y[row] as number;
        bw[i] = y[row] === 1 ? classWeights.positive : classWeights.negative;
      }
      dropouts.forEach((layer, d) => {
        (layer as unknown as { seed: number }).seed = deriveSeed(spec.seed, 2, epoch, b, d);
      });
      const loss = tf.tidy(() => {
        const xb = tf.tensor2d(bx.subarray(0, n * nFeatures), [n, nFeatures]);
        const yb = tf.tensor2d(by.subarray(0, n), [n, 1]);
        const wb = tf.tensor2d(bw.subarray(0, n), [n, 1]);
        return optimizer.minimize(
          () => weightedBce(model.apply(xb, { training: true }) as tf.Tensor, yb, wb),
          true,
        ) as tf.Scalar;
      });
      lossSum += (await loss.data())[0] as number;
      loss.dispose();
      batches++;
    }
    const result: EpochResult = epochFigures(epoch, epochs, lossSum, batches, nRows, started);
    if (options.validation) {
      const v = options.validation;
      const p = await predictProbabilities(model, v.x, v.nRows, nFeatures);
      Object.assign(result, validationFigures(p, v.y, classWeights));
    }
    history.push(result);
    const checkpoint = async () =>
      encodeCheckpoint({
        epoch: epoch + 1,
        history: history as unknown as Array<Record<string, number>>,
        weights: model.getWeights(),
        optimizer: await optimizer.getWeights(),
      });
    await options.onEpoch?.(result, checkpoint);
    if (stopper.shouldStop(result.valLoss)) {
      stoppedEarly = true;
      break;
    }
  }
  optimizer.dispose();
  return {
    history,
    epochsRun: history.length,
    stoppedEarly,
    resumedFromEpoch: startEpoch,
    backend: tf.getBackend(),
  };
}
