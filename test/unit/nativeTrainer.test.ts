import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpointArrays } from '../../domain/ml/checkpoint';
import { buildModel } from '../../domain/ml/modelBuilder';
import {
  type DenseActivation,
  denseActivations,
  type ModelSpec,
  modelSpecSchema,
} from '../../domain/ml/modelSpec';
import {
  chooseBlasThreads,
  createNativeNetwork,
  dropoutSeeds,
  flattenWeights,
  loadNativeTrainer,
  type TrainerAddon,
} from '../../domain/ml/nativeTrainer';
import { trainModel } from '../../domain/ml/train';
import { mulberry32 } from '../../domain/random';

// The native trainer is the default training path: a missing addon fails here, with the reason.
const loaded = loadNativeTrainer();
const addon = (loaded.ok ? loaded.addon : undefined) as TrainerAddon;

beforeAll(async () => {
  if (!loaded.ok) throw new Error(`the native trainer is not available: ${loaded.reason}`);
  await tf.setBackend('cpu'); // the tfjs reference: plain float32 JavaScript kernels
  await tf.ready();
});

function data(rows: number, features: number, seed: number) {
  const random = mulberry32(seed);
  const x = Float32Array.from({ length: rows * features }, () => random() * 2 - 1);
  const y = Uint8Array.from({ length: rows }, (_, i) =>
    (x[i * features] as number) + random() * 0.8 > 0.3 ? 1 : 0,
  );
  return { x, y, rows, features };
}

function spec(layers: unknown[], extra: Partial<ModelSpec> = {}): ModelSpec {
  return modelSpecSchema.parse({ layers, batchSize: 16, epochs: 1, seed: 7, ...extra });
}

function initialWeights(s: ModelSpec, features: number, net: ReturnType<typeof createNativeNetwork>) {
  const model = buildModel(s, features);
  const w = flattenWeights(
    net,
    model.getWeights().map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array })),
  );
  model.dispose();
  return w;
}

describe('native trainer: finite-difference gradient check', () => {
  // Every activation as a hidden layer, with a dropout between (fixed seeds, so the same mask on
  // every evaluation) and each activation also feeding a second hidden layer.
  for (const act of denseActivations) {
    it(`matches central differences through ${act} (and dropout)`, () => {
      const s = spec([
        { type: 'dense', units: 6, activation: act },
        { type: 'dropout', rate: 0.25 },
        { type: 'dense', units: 5, activation: act === 'relu' ? 'tanh' : act },
        { type: 'dense', units: 1, activation: 'sigmoid' },
      ]);
      const d = data(12, 4, 11);
      const net = createNativeNetwork(addon, s, d.features, 16);
      const w = initialWeights(s, d.features, net);
      const order = Uint32Array.from({ length: d.rows }, (_, i) => i);
      const seeds = dropoutSeeds(s, 3, 5);
      const grad = new Float32Array(net.nParams);
      const scratch = new Float32Array(net.nParams);
      const loss = (weights: Float32Array) =>
        addon.lossAndGradient(net.handle, weights, d.x, d.y, order, 0, d.rows, 0.7, 2.5, seeds, scratch);
      addon.lossAndGradient(net.handle, w, d.x, d.y, order, 0, d.rows, 0.7, 2.5, seeds, grad);
      const h = 1e-2;
      let kinks = 0;
      const errors: number[] = [];
      for (let j = 0; j < net.nParams; j++) {
        const probe = Float32Array.from(w);
        const base = loss(probe);
        probe[j] = (w[j] as number) + h;
        const plus = loss(probe);
        probe[j] = (w[j] as number) - h;
        const minus = loss(probe);
        // A kink (relu at 0) inside [-h, h] makes the one-sided slopes disagree: not a smooth point.
        const right = (plus - base) / h;
        const left = (base - minus) / h;
        if (Math.abs(right - left) > 0.05 * Math.max(Math.abs(right), Math.abs(left)) + 1e-3) {
          kinks++;
          continue;
        }
        const numeric = (plus - minus) / (2 * h);
        errors.push(Math.abs(numeric - (grad[j] as number)) / (Math.abs(numeric) + 1e-3));
      }
      // relu and selu have kinks (selu's slope jumps from 1.76 to 1.05 at 0): a weight whose
      // pre-activations straddle one within h shows a larger error without being wrong, so the
      // bar is on the 95th percentile, and the worst may not be far off either.
      errors.sort((a, b) => a - b);
      expect(kinks).toBeLessThan(net.nParams * 0.1);
      expect(errors.length).toBeGreaterThan(net.nParams * 0.9);
      expect(errors[Math.floor(errors.length * 0.95)]).toBeLessThan(1e-2);
      expect(errors[errors.length - 1]).toBeLessThan(0.1);
    });
  }

  it('masks a fraction `rate` of the units, the same mask for the same seeds', () => {
    const width = 4000;
    const s = spec([
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ]);
    const net = createNativeNetwork(addon, s, width, 1);
    const w = new Float32Array(net.nParams).fill(1e-4);
    const x = new Float32Array(width).fill(1);
    const y = Uint8Array.of(1);
    const order = Uint32Array.of(0);
    const grad = (seeds: Uint32Array) => {
      const g = new Float32Array(net.nParams);
      addon.lossAndGradient(net.handle, w, x, y, order, 0, 1, 1, 1, seeds, g);
      return g.subarray(0, width); // the kernel's gradient is zero exactly where a unit was dropped
    };
    const a = grad(dropoutSeeds(s, 0, 0));
    const dropped = a.filter((v) => v === 0).length / width;
    expect(Math.abs(dropped - 0.3)).toBeLessThan(4 * Math.sqrt((0.3 * 0.7) / width));
    expect(grad(dropoutSeeds(s, 0, 0))).toEqual(a);
    expect(grad(dropoutSeeds(s, 0, 1))).not.toEqual(a);
  });
});

describe('native trainer against tfjs (cpu backend), same initial weights, no dropout', () => {
  const mixed: DenseActivation[] = ['relu', 'tanh', 'elu', 'selu', 'softplus', 'sigmoid', 'linear'];
  for (const optimizer of ['adam', 'sgd', 'rmsprop'] as const) {
    it(`${optimizer}: the same batch losses and weights over several steps`, async () => {
      const s = spec(
        [
          ...mixed.slice(0, 3).map((activation) => ({ type: 'dense', units: 8, activation })),
          { type: 'dropout', rate: 0 },
          ...mixed.slice(3).map((activation) => ({ type: 'dense', units: 7, activation })),
          { type: 'dense', units: 1, activation: 'sigmoid' },
        ],
        { optimizer, learningRate: 1e-2, epochs: 3 },
      );
      const d = data(80, 5, 3); // 5 batches of 16 per epoch, 15 steps
      const run = async (engine: 'native' | 'tfjs') => {
        const model = buildModel(s, d.features);
        const losses: number[] = [];
        const result = await trainModel({
          engine,
          model,
          spec: s,
          x: d.x,
          y: d.y,
          nRows: d.rows,
          nFeatures: d.features,
          classWeights: { negative: 0.8, positive: 1.6 },
          onEpoch: (e) => {
            losses.push(e.loss);
          },
        });
        const weights = model.getWeights().map((t) => Array.from(t.dataSync()));
        model.dispose();
        return { losses, weights, result };
      };
      const native = await run('native');
      const reference = await run('tfjs');
      expect(native.result.backend).toBe('native');
      native.losses.forEach((l, i) => {
        expect(Math.abs(l - (reference.losses[i] as number))).toBeLessThan(1e-5 * Math.max(1, Math.abs(l)));
      });
      let worst = 0;
      native.weights.forEach((w, i) => {
        w.forEach((v, j) => {
          worst = Math.max(worst, Math.abs(v - (reference.weights[i]?.[j] as number)));
        });
      });
      // 15 steps of at most lr each: float rounding moves weights by far less than one step.
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it('a checkpoint written by the native trainer resumes on tfjs, and the reverse', async () => {
    const s = spec(
      [
        { type: 'dense', units: 8, activation: 'relu' },
        { type: 'dense', units: 1, activation: 'sigmoid' },
      ],
      { epochs: 2 },
    );
    const d = data(64, 5, 9);
    const train = async (engine: 'native' | 'tfjs', resumeFrom?: Uint8Array, epochs = 2) => {
      const model = buildModel(s, d.features);
      let checkpoint: Uint8Array | undefined;
      await trainModel({
        engine,
        model,
        spec: s,
        epochs,
        x: d.x,
        y: d.y,
        nRows: d.rows,
        nFeatures: d.features,
        classWeights: { negative: 1, positive: 1 },
        resumeFrom,
        onEpoch: async (_e, take) => {
          checkpoint = await take();
        },
      });
      model.dispose();
      return checkpoint as Uint8Array;
    };
    for (const [first, second] of [
      ['native', 'tfjs'],
      ['tfjs', 'native'],
    ] as const) {
      const half = await train(first, undefined, 1);
      const resumed = decodeCheckpointArrays(await train(second, half, 2));
      const whole = decodeCheckpointArrays(await train(second, undefined, 2));
      expect(resumed.epoch).toBe(2);
      // Slot names carry tfjs's per-process unique variable suffix (kernel_13): compare without it.
      const names = (state: typeof whole) =>
        state.optimizer.map((o) => o.name.replace(/(kernel|bias)_\d+/, '$1'));
      expect(names(resumed)).toEqual(names(whole));
      expect(resumed.optimizer[0]?.data[0]).toBe(8); // 'iter': 4 steps per epoch
      resumed.weights.forEach((w, i) => {
        w.data.forEach((v, j) => {
          expect(Math.abs(v - (whole.weights[i]?.data[j] as number))).toBeLessThan(1e-4);
        });
      });
    }
  });
});

describe('native trainer: determinism', () => {
  const s = spec(
    [
      { type: 'dense', units: 32, activation: 'relu' },
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: 32, activation: 'relu' },
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ],
    { epochs: 4, batchSize: 64 },
  );
  const d = data(600, 6, 21);
  const train = async (resumeFrom?: Uint8Array) => {
    const model = buildModel(s, d.features);
    const checkpoints: Uint8Array[] = [];
    await trainModel({
      engine: 'native',
      model,
      spec: s,
      x: d.x,
      y: d.y,
      nRows: d.rows,
      nFeatures: d.features,
      classWeights: { negative: 0.6, positive: 3 },
      validation: { x: d.x.subarray(0, 100 * d.features), y: d.y.subarray(0, 100), nRows: 100 },
      resumeFrom,
      onEpoch: async (_e, take) => {
        checkpoints.push(await take());
      },
    });
    model.dispose();
    return checkpoints;
  };

  /** Weights, optimiser slots and the loss curve as bytes (timings differ from run to run). */
  const fingerprint = (bytes: Uint8Array) => {
    const state = decodeCheckpointArrays(bytes);
    const arrays = [...state.weights, ...state.optimizer].map((e) => Buffer.from(e.data.buffer));
    const curve = state.history.map((h) => [h.loss, h.valLoss, h.valRecall, h.valPrecision, h.valFpr]);
    return { epoch: state.epoch, data: Buffer.concat(arrays).toString('base64'), curve };
  };

  it('a run resumed from a checkpoint ends bit-identical to the uninterrupted run', async () => {
    const whole = await train();
    const resumed = await train(whole[1]);
    expect(resumed).toHaveLength(2);
    expect(fingerprint(resumed[1] as Uint8Array)).toEqual(fingerprint(whole[3] as Uint8Array));
    expect(fingerprint(whole[3] as Uint8Array).epoch).toBe(4);
  });

  it('gives the same bits with 1 and 2 BLAS threads', async () => {
    chooseBlasThreads(addon); // taken once per process: it must not undo the settings below
    addon.setThreads(1);
    const one = await train();
    addon.setThreads(2);
    const two = await train();
    chooseBlasThreads(addon);
    expect(fingerprint(two[3] as Uint8Array)).toEqual(fingerprint(one[3] as Uint8Array));
  });

  it('gives the same bits with the batch halves on 1 thread and on 2', async () => {
    const saved = process.env.SLIPWAY_TRAINER_THREADS;
    try {
      process.env.SLIPWAY_TRAINER_THREADS = '1';
      const one = await train();
      process.env.SLIPWAY_TRAINER_THREADS = '2';
      const two = await train();
      expect(fingerprint(two[3] as Uint8Array)).toEqual(fingerprint(one[3] as Uint8Array));
    } finally {
      if (saved === undefined) delete process.env.SLIPWAY_TRAINER_THREADS;
      else process.env.SLIPWAY_TRAINER_THREADS = saved;
    }
  });

  it('predicts a batch of odd size the same on 1 thread and on 2, row by row', () => {
    const net = createNativeNetwork(addon, s, d.features, 64);
    const weights = Float32Array.from({ length: net.nParams }, (_, i) => Math.sin(i) * 0.3);
    const rows = 101; // two odd halves and a partial last batch of maxBatch 64
    const x = d.x.subarray(0, rows * d.features);
    const probabilities = (threads: 1 | 2) => {
      addon.setTrainerThreads(net.handle, threads);
      const out = new Float32Array(rows);
      addon.predict(net.handle, weights, x, out);
      return out;
    };
    const one = probabilities(1);
    expect(probabilities(2)).toEqual(one);
    // Each row alone (a batch of one, so no halves): the same value, within float rounding.
    for (const r of [0, 50, 51, 63, 64, 100]) {
      const single = new Float32Array(1);
      addon.predict(net.handle, weights, x.subarray(r * d.features, (r + 1) * d.features), single);
      expect(Math.abs((single[0] as number) - (one[r] as number))).toBeLessThan(1e-6);
    }
  });
});
