import * as tf from '@tensorflow/tfjs';
import { envNow } from '../../config/env';
import { deriveSeed, mulberry32 } from '../random';
import { decodeCheckpointArrays, encodeCheckpointArrays } from './checkpoint';
import { TrainingInputError } from './errors';
import { type DenseActivation, type ModelSpec, referenceModelSpec } from './modelSpec';
import { loadNativeGemm, type NativeGemmAddon, type NativeTrainerHandle } from './nativeGemm';
import type { EpochResult, TrainOptions, TrainResult } from './train';
import { earlyStopper, epochFigures, epochOrder, validationFigures } from './trainingLoop';

/**
 * Training on the fused native trainer (native/blas-gemm/src/trainer.c): one addon call per batch
 * runs the whole step over the BLAS, instead of ~280 tfjs kernels. Same loop as the tfjs trainer
 * in train.ts: the same row order per epoch (deriveSeed(seed, 1, epoch)), dropout seeded per
 * (seed, epoch, batch, layer) (a counter-based hash of that seed and the element index, so a
 * resumed run ends bit-identical to an uninterrupted one), the same class-weighted loss, the same
 * per-epoch figures and the same checkpoint format, so either trainer resumes the other's
 * checkpoints and everything downstream (export, parity gate, evaluation) sees a tfjs model.
 */

/** Codes of native/blas-gemm/src/trainer.c. */
const ACTIVATION_CODES: Record<DenseActivation, number> = {
  linear: 0,
  relu: 1,
  sigmoid: 2,
  tanh: 3,
  elu: 4,
  selu: 5,
  softplus: 6,
};
const OPTIMIZER_CODES: Record<ModelSpec['optimizer'], number> = { adam: 0, sgd: 1, rmsprop: 2 };
/** Optimiser slot names per weight, in tfjs's getWeights order (first all of slot 1, then slot 2). */
const SLOT_SUFFIXES: Record<ModelSpec['optimizer'], string[]> = {
  adam: ['m', 'v'],
  rmsprop: ['rms', 'momentum'],
  sgd: [],
};

export type TrainerAddon = Required<Pick<NativeGemmAddon, 'createTrainer'>> & NativeGemmAddon;

/** The loaded addon when it has the trainer, else why not. */
export function loadNativeTrainer(): { ok: true; addon: TrainerAddon } | { ok: false; reason: string } {
  const loaded = loadNativeGemm();
  if (!loaded.ok) return loaded;
  if (typeof loaded.addon.createTrainer !== 'function')
    return { ok: false, reason: 'the native addon predates the trainer: run `npm run build:native`' };
  return { ok: true, addon: loaded.addon as TrainerAddon };
}

/** A network's shape on the native side, and where its weights sit in one flat vector. */
export interface NativeNetwork {
  addon: TrainerAddon;
  handle: NativeTrainerHandle;
  nParams: number;
  /** tfjs weight shapes in model.getWeights() order: kernel [in, out] then bias [out], per dense layer. */
  shapes: number[][];
}

export function createNativeNetwork(
  addon: TrainerAddon,
  spec: ModelSpec,
  nFeatures: number,
  maxBatch: number,
): NativeNetwork {
  const n = spec.layers.length;
  const kinds = new Int32Array(n);
  const units = new Int32Array(n);
  const activations = new Int32Array(n);
  const rates = new Float64Array(n);
  const shapes: number[][] = [];
  let width = nFeatures;
  spec.layers.forEach((layer, i) => {
    if (layer.type === 'dense') {
      units[i] = layer.units;
      activations[i] = ACTIVATION_CODES[layer.activation];
      shapes.push([width, layer.units], [layer.units]);
      width = layer.units;
    } else {
      kinds[i] = 1;
      rates[i] = layer.rate;
    }
  });
  const handle = addon.createTrainer(
    nFeatures,
    kinds,
    units,
    activations,
    rates,
    OPTIMIZER_CODES[spec.optimizer],
    spec.learningRate,
    maxBatch,
  );
  const nParams = addon.parameterCount(handle);
  return { addon, handle, nParams, shapes };
}

/** One seed per dropout layer for batch `batch` of epoch `epoch` (the tfjs trainer's seeds too). */
export function dropoutSeeds(spec: ModelSpec, epoch: number, batch: number): Uint32Array {
  const count = spec.layers.filter((l) => l.type === 'dropout').length;
  return Uint32Array.from({ length: count }, (_, d) => deriveSeed(spec.seed, 2, epoch, batch, d));
}

/** Concatenates weight arrays (tfjs order) into one vector, checking each shape. */
export function flattenWeights(net: NativeNetwork, parts: Array<{ shape: number[]; data: Float32Array }>) {
  if (parts.length !== net.shapes.length)
    throw new TrainingInputError(
      'ShapeMismatch',
      `expected ${net.shapes.length} weight arrays for this spec, got ${parts.length}`,
    );
  const out = new Float32Array(net.nParams);
  let offset = 0;
  parts.forEach((p, i) => {
    const want = net.shapes[i] as number[];
    if (p.shape.join('x') !== want.join('x'))
      throw new TrainingInputError(
        'ShapeMismatch',
        `weight ${i} has shape [${p.shape}] where the spec needs [${want}]`,
      );
    out.set(p.data, offset);
    offset += p.data.length;
  });
  return out;
}

/** Splits a flat vector back into per-weight views (tfjs order). */
export function splitWeights(
  net: NativeNetwork,
  flat: Float32Array,
): Array<{ shape: number[]; data: Float32Array }> {
  let offset = 0;
  return net.shapes.map((shape) => {
    const size = shape.reduce((p, d) => p * d, 1);
    const data = flat.subarray(offset, offset + size);
    offset += size;
    return { shape, data };
  });
}

/**
 * How many BLAS threads tfjs's matrix multiplies use on the wasm-blas backend, by measurement: a
 * GEMM the size of the reference network's hidden layers at batch size ([2048 x 256] x
 * [256 x 256]), timed alternately with 1 and 2 threads, median of several. SLIPWAY_BLAS_THREADS
 * overrides. Shared cores make the answer depend on the moment; it is taken once per process.
 * (The native trainer uses its cores itself, see chooseTrainerThreads, and keeps the BLAS on one.)
 */
let chosenThreads: number | undefined;
export function chooseBlasThreads(addon: NativeGemmAddon): number {
  const forced = envNow.blasThreads();
  if (forced !== undefined) {
    addon.setThreads(forced);
    return forced;
  }
  if (chosenThreads !== undefined) return chosenThreads;
  const m = 2048;
  const k = 256;
  const n = 256;
  const heap = new Float32Array(m * k + k * n + m * n).fill(0.5);
  const offsets = new Float64Array([0, m * k, m * k + k * n]);
  // Medians, and two threads must win by 1.5x: OpenBLAS's threads wait for each other at every
  // call, so on cores other work keeps busy a second thread often costs more than it brings (seen
  // here: a lucky moment chose 2 threads, and training then ran at a quarter of the sgemm rate).
  chosenThreads = pickByTiming(1.5, (threads) => {
    addon.setThreads(threads);
    addon.gemm(heap, m, n, k, false, false, offsets, null, 0, 0, 0, 0, null, 0, 0);
  });
  addon.setThreads(chosenThreads);
  return chosenThreads;
}

/**
 * Times `run(1)` and `run(2)` alternately (after one warm-up of each), 7 times each, and answers 2
 * when its median is below 1's divided by `factor` (factor > 1: 2 must win by that much; factor < 1:
 * 2 may even be somewhat slower), else 1.
 */
function pickByTiming(factor: number, run: (threads: 1 | 2) => void): 1 | 2 {
  const time = (threads: 1 | 2) => {
    const t0 = performance.now();
    run(threads);
    return performance.now() - t0;
  };
  time(2);
  time(1);
  const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
  for (let r = 0; r < 7; r++) {
    times[1].push(time(1));
    times[2].push(time(2));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
  return median(times[2]) < median(times[1]) / factor ? 2 : 1;
}

/**
 * How many threads the native trainer runs a batch's two halves on (its results are the same bits
 * either way), by measurement: the reference network's forward and backward pass on one batch of
 * 2048 random rows, timed alternately on 1 and 2 threads, median of several. Two unless they are
 * slower than one (one core only, or both busy): when another process holds one core, the half on
 * it runs at half speed and the batch takes about what one thread on the free core would, so two
 * threads lose little on a busy machine and win about 1.9x on a quiet one (seen here: a quiet 2-core
 * Xeon measured 26 ms against 14 ms). Taken once per process; SLIPWAY_TRAINER_THREADS (1 or 2)
 * overrides.
 */
let chosenTrainerThreads: 1 | 2 | undefined;
export function chooseTrainerThreads(addon: TrainerAddon): 1 | 2 {
  const forced = envNow.trainerThreads();
  if (forced !== undefined) return forced;
  if (chosenTrainerThreads !== undefined) return chosenTrainerThreads;
  const rows = 2048;
  const nInputs = 30;
  const spec = referenceModelSpec;
  const net = createNativeNetwork(addon, spec, nInputs, rows);
  const random = mulberry32(7);
  const x = Float32Array.from({ length: rows * nInputs }, () => random() * 2 - 1);
  const y = Uint8Array.from({ length: rows }, (_, i) => (i % 64 === 0 ? 1 : 0));
  const weights = Float32Array.from({ length: net.nParams }, () => (random() - 0.5) * 0.1);
  const gradient = new Float32Array(net.nParams);
  const order = Uint32Array.from({ length: rows }, (_, i) => i);
  const seeds = dropoutSeeds(spec, 0, 0);
  addon.setThreads(1);
  chosenTrainerThreads = pickByTiming(1 / 1.1, (threads) => {
    addon.setTrainerThreads(net.handle, threads);
    addon.lossAndGradient(net.handle, weights, x, y, order, 0, rows, 1, 1, seeds, gradient);
  });
  return chosenTrainerThreads;
}

/** "2 trainer threads, 1 BLAS thread each": how the native trainer uses the cores. */
export function describeTrainerThreads(addon: TrainerAddon): string {
  const threads = chooseTrainerThreads(addon);
  const blas = envNow.blasThreads() ?? 1;
  return `${threads} trainer thread${threads === 1 ? '' : 's'}, ${blas} BLAS thread${blas === 1 ? '' : 's'} each`;
}

function optimizerSlots(
  spec: ModelSpec,
  net: NativeNetwork,
  names: string[],
  steps: number,
  s1: Float32Array,
  s2: Float32Array,
) {
  const out: Array<{ name: string; shape: number[]; data: Float32Array | Int32Array }> = [
    { name: 'iter', shape: [], data: Int32Array.of(steps) },
  ];
  const [first, second] = SLOT_SUFFIXES[spec.optimizer];
  if (first && second) {
    for (const [suffix, flat] of [
      [first, s1],
      [second, s2],
    ] as const) {
      splitWeights(net, flat).forEach((w, i) => {
        out.push({ name: `${names[i]}/${suffix}`, shape: w.shape, data: w.data });
      });
    }
  }
  return out;
}

/** The native counterpart of train.ts's trainModel (which calls it on the `native` backend). */
export async function trainNative(options: TrainOptions, addon: TrainerAddon): Promise<TrainResult> {
  const { model, spec, x, y, nRows, nFeatures, classWeights } = options;
  const epochs = options.epochs ?? spec.epochs;
  const batchSize = spec.batchSize;
  const net = createNativeNetwork(addon, spec, nFeatures, batchSize);
  const modelWeights = model.getWeights();
  const names = model.weights.map((w) => w.name);
  const weights = flattenWeights(
    net,
    modelWeights.map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array })),
  );
  const slot1 = new Float32Array(net.nParams);
  const slot2 = new Float32Array(net.nParams);
  const history: EpochResult[] = [];
  let startEpoch = 0;
  let steps = 0;
  if (options.resumeFrom) {
    const state = decodeCheckpointArrays(options.resumeFrom);
    weights.set(flattenWeights(net, state.weights));
    const [iter, ...slots] = state.optimizer;
    steps = iter ? (iter.data[0] as number) : 0;
    const per = net.shapes.length;
    if (slots.length === 2 * per) {
      slot1.set(flattenWeights(net, slots.slice(0, per)));
      slot2.set(flattenWeights(net, slots.slice(per)));
    } else if (slots.length !== 0 || SLOT_SUFFIXES[spec.optimizer].length !== 0) {
      throw new TrainingInputError(
        'InvalidCheckpoint',
        `The training checkpoint has ${slots.length} optimiser slots; ${spec.optimizer} needs ${SLOT_SUFFIXES[spec.optimizer].length * per}.`,
      );
    }
    startEpoch = state.epoch;
    history.push(...(state.history as unknown as EpochResult[]));
  }
  const stopper = earlyStopper(options.earlyStopping);
  const finish = (stoppedEarly: boolean): TrainResult => {
    // Hand the weights back to the tfjs model: export, evaluation and the parity gate read it.
    const tensors = splitWeights(net, weights).map((w) => tf.tensor(w.data, w.shape, 'float32'));
    model.setWeights(tensors);
    tf.dispose(tensors);
    return {
      history,
      epochsRun: history.length,
      stoppedEarly,
      resumedFromEpoch: startEpoch,
      backend: 'native',
    };
  };
  for (const past of history) if (stopper.shouldStop(past.valLoss)) return finish(true);

  // The thread measurement sets the BLAS to one thread while it times: choose first, then apply
  // SLIPWAY_BLAS_THREADS, or the measurement would undo it on the first training of the process.
  addon.setTrainerThreads(net.handle, chooseTrainerThreads(addon));
  addon.setThreads(envNow.blasThreads() ?? 1);
  const validation = options.validation;
  const valProbabilities = validation ? new Float32Array(validation.nRows) : undefined;
  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    const started = performance.now();
    const order = epochOrder(spec.seed, epoch, nRows);
    let lossSum = 0;
    let batches = 0;
    let yielded = performance.now();
    for (let start = 0, b = 0; start < nRows; start += batchSize, b++) {
      // Each batch is one synchronous addon call: let timers (heartbeats) and I/O run between
      // batches every 50 ms, as the tfjs loop does when it awaits each batch's loss.
      if (performance.now() - yielded > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
      const n = Math.min(batchSize, nRows - start);
      steps++;
      lossSum += addon.trainBatch(
        net.handle,
        weights,
        slot1,
        slot2,
        x,
        y,
        order,
        start,
        n,
        classWeights.negative,
        classWeights.positive,
        steps,
        dropoutSeeds(spec, epoch, b),
      );
      batches++;
    }
    const result: EpochResult = epochFigures(epoch, epochs, lossSum, batches, nRows, started);
    if (validation && valProbabilities) {
      addon.predict(net.handle, weights, validation.x, valProbabilities);
      Object.assign(result, validationFigures(valProbabilities, validation.y, classWeights));
    }
    history.push(result);
    const done = epoch + 1;
    const checkpoint = async () =>
      encodeCheckpointArrays({
        epoch: done,
        history: history as unknown as Array<Record<string, number>>,
        weights: splitWeights(net, weights),
        optimizer: optimizerSlots(spec, net, names, steps, slot1, slot2),
      });
    await options.onEpoch?.(result, checkpoint);
    if (stopper.shouldStop(result.valLoss)) return finish(true);
  }
  return finish(false);
}

/** Probabilities of a trained tfjs model's rows on the native forward pass (no dropout). */
export function predictNative(net: NativeNetwork, weights: Float32Array, x: Float32Array, nRows: number) {
  const out = new Float32Array(nRows);
  net.addon.predict(net.handle, weights, x, out);
  return out;
}
