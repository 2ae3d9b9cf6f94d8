import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  disableNativeGemm,
  enableNativeGemm,
  isNativeGemmEnabled,
  loadNativeGemm,
  nativeGemmStats,
  resetNativeGemmStats,
} from '../../domain/ml/nativeGemm';

const load = loadNativeGemm();
const skipNote = load.ok ? '' : ` [SKIPPED: ${load.reason}]`;
if (!load.ok) console.warn(`native GEMM parity tests skipped: ${load.reason}`);

const REPO = resolve(__dirname, '../..');
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'prelu', 'leakyrelu', 'sigmoid', 'elu'] as const;
type Act = (typeof ACTIVATIONS)[number];
const ALPHA = 0.3;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
afterEach(() => disableNativeGemm());
afterAll(() => disableNativeGemm());

// ---------------------------------------------------------------------------------------------
// A float64 reference written per element (independent of the kernels' slicing and striding).

interface Host {
  data: Float32Array;
  shape: number[];
}

function broadcastShape(x: number[], y: number[]): number[] {
  const r = Math.max(x.length, y.length);
  return Array.from({ length: r }, (_, i) => {
    const dx = x[x.length - r + i] ?? 1;
    const dy = y[y.length - r + i] ?? 1;
    return dx === 1 ? dy : dx;
  });
}

/** Flat index into a tensor of `shape` for the (right-aligned, broadcast) output index `idx`. */
function flatIndex(shape: number[], idx: number[]): number {
  let flat = 0;
  const pad = idx.length - shape.length;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + (shape[d] === 1 ? 0 : idx[d + pad]);
  return flat;
}

function activate(x: number, act: Act, preluW: number): number {
  switch (act) {
    case 'relu':
      return Math.max(0, x);
    case 'relu6':
      return Math.min(6, Math.max(0, x));
    case 'prelu':
      return x < 0 ? preluW * x : x;
    case 'leakyrelu':
      return x < 0 ? ALPHA * x : x;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-x));
    case 'elu':
      return x < 0 ? Math.exp(x) - 1 : x;
    default:
      return x;
  }
}

function reference(a: Host, b: Host, tA: boolean, tB: boolean, act: Act, bias?: Host, prelu?: Host): Host {
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = tA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = tA ? a.shape[ar - 2] : a.shape[ar - 1];
  const n = tB ? b.shape[br - 2] : b.shape[br - 1];
  const outer = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...outer, m, n];
  const size = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(size);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
    }
    const [i, j] = idx.slice(-2);
    const batchIdx = idx.slice(0, -2);
    let sum = 0;
    for (let p = 0; p < k; p++) {
      const av = a.data[flatIndex(a.shape, [...batchIdx, tA ? p : i, tA ? i : p])];
      const bv = b.data[flatIndex(b.shape, [...batchIdx, tB ? j : p, tB ? p : j])];
      sum += av * bv;
    }
    if (bias) sum += bias.data[flatIndex(bias.shape, idx)];
    data[flat] = activate(sum, act, prelu ? prelu.data[flatIndex(prelu.shape, idx)] : 0);
  }
  return { data, shape };
}

// ---------------------------------------------------------------------------------------------

let seed = 1;
function random(shape: number[]): { t: tf.Tensor; host: Host } {
  const t = tf.randomNormal(shape, 0, 1, 'float32', seed++);
  return { t, host: { data: t.dataSync() as Float32Array, shape } };
}

/**
 * |x - ref| <= 1e-4 * max(1, |ref|, rms(ref)) everywhere: relative to the output's scale, since
 * float32 sums of many terms cancel to small values whose rounding error follows the terms' size.
 * The message names the variant and the worst element.
 */
function expectClose(got: tf.Tensor, want: Host, label: string): void {
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  const g = got.dataSync();
  const rms = Math.sqrt(want.data.reduce((s, v) => s + v * v, 0) / Math.max(1, want.data.length));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < g.length; i++) {
    const err = Math.abs(g[i] - want.data[i]) / Math.max(1, Math.abs(want.data[i]), rms);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${label}: worst relative error at flat index ${at}`).toBeLessThanOrEqual(1e-4);
}

function runBatchMatMul(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): tf.Tensor {
  return tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: tA, transposeB: tB }) as tf.Tensor;
}

function runFused(
  a: tf.Tensor,
  b: tf.Tensor,
  tA: boolean,
  tB: boolean,
  act: Act,
  bias?: tf.Tensor,
  prelu?: tf.Tensor,
) {
  const inputs: Record<string, tf.Tensor> = { a, b };
  if (bias) inputs.bias = bias;
  if (prelu) inputs.preluActivationWeights = prelu;
  const attrs = { transposeA: tA, transposeB: tB, activation: act, leakyreluAlpha: ALPHA };
  return tf.engine().runKernel('_FusedMatMul', inputs, attrs) as tf.Tensor;
}

/** Operand shapes for batch dims `aOuter`/`bOuter` and matrix sizes m, k, n under the transposes. */
function shapes(
  aOuter: number[],
  bOuter: number[],
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
) {
  return { a: [...aOuter, ...(tA ? [k, m] : [m, k])], b: [...bOuter, ...(tB ? [n, k] : [k, n])] };
}

const TRANSPOSES: Array<[boolean, boolean]> = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

/**
 * Batch layouts. `wasmOk` marks the layouts tfjs's own WASM kernel gets right; it reduces
 * [2,1] x [1,3] to max(2,3) = 3 matrices instead of 6, so only the reference judges that one.
 */
const BATCHES: Array<{ name: string; a: number[]; b: number[]; wasmOk: boolean }> = [
  { name: '2-D', a: [], b: [], wasmOk: true },
  { name: 'batch 1', a: [1], b: [1], wasmOk: true },
  { name: 'batch 3', a: [3], b: [3], wasmOk: true },
  { name: 'b broadcast', a: [3], b: [1], wasmOk: true },
  { name: 'a broadcast', a: [1], b: [3], wasmOk: true },
  { name: 'b rank 2 vs a rank 3', a: [3], b: [], wasmOk: true },
  { name: 'rank 4 vs rank 3', a: [2, 3], b: [3], wasmOk: true },
  { name: 'two-sided broadcast', a: [2, 1], b: [1, 3], wasmOk: false },
];

describe.skipIf(!load.ok)(`native BatchMatMul vs the WASM kernel and a float64 reference${skipNote}`, () => {
  for (const batch of BATCHES) {
    it(`${batch.name}: every transpose combination`, () => {
      for (const [tA, tB] of TRANSPOSES) {
        const s = shapes(batch.a, batch.b, 5, 7, 4, tA, tB);
        const a = random(s.a);
        const b = random(s.b);
        const want = reference(a.host, b.host, tA, tB, 'linear');
        const label = `${batch.name} tA=${tA} tB=${tB}`;
        resetNativeGemmStats();
        expect(enableNativeGemm().enabled).toBe(true);
        const native = runBatchMatMul(a.t, b.t, tA, tB);
        expect(nativeGemmStats(), label).toEqual({ native: 1, fallback: 0 });
        expectClose(native, want, `${label} native vs reference`);
        disableNativeGemm();
        if (batch.wasmOk) {
          const original = runBatchMatMul(a.t, b.t, tA, tB);
          expectClose(
            native,
            { data: original.dataSync() as Float32Array, shape: original.shape },
            `${label} vs wasm`,
          );
        }
      }
    });
  }

  it('large operands (2048x256 by 256x256, as in the reference network) match the WASM kernel', () => {
    for (const [tA, tB] of TRANSPOSES) {
      const s = shapes([], [], 256, 2048, 256, tA, tB);
      const a = random(s.a);
      const b = random(s.b);
      disableNativeGemm();
      const original = runBatchMatMul(a.t, b.t, tA, tB);
      enableNativeGemm();
      const native = runBatchMatMul(a.t, b.t, tA, tB);
      expectClose(
        native,
        { data: original.dataSync() as Float32Array, shape: original.shape },
        `tA=${tA} tB=${tB}`,
      );
    }
  });

  it('empty operands: a zero inner dimension gives zeros, a zero outer dimension an empty result', () => {
    enableNativeGemm();
    const zeros = runBatchMatMul(tf.zeros([3, 0]), tf.zeros([0, 4]), false, false);
    expect(zeros.shape).toEqual([3, 4]);
    expect(Array.from(zeros.dataSync())).toEqual(new Array(12).fill(0));
    const empty = runBatchMatMul(tf.zeros([0, 2, 5]), tf.zeros([0, 5, 4]), false, false);
    expect(empty.shape).toEqual([0, 2, 4]);
  });

  it('writes its output correctly when allocating that output grows the WASM memory', () => {
    enableNativeGemm();
    const backend = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
    const n = 4096;
    const a = tf.randomNormal(
      [Math.ceil(backend.wasm.HEAPU8.buffer.byteLength / 4 / n) + 1, 1],
      0,
      1,
      'float32',
      21,
    );
    const b = tf.randomNormal([1, n], 0, 1, 'float32', 22);
    const before = backend.wasm.HEAPU8.buffer;
    const product = runBatchMatMul(a, b, false, false); // output larger than the whole memory was
    expect(backend.wasm.HEAPU8.buffer, 'the memory grew inside the kernel').not.toBe(before);
    const outer = tf.mul(a, b); // the same outer product by broadcasting, without a matmul
    expect(tf.max(tf.abs(tf.sub(product, outer))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([a, b, product, outer]);
  });
});

/**
 * Bias layouts. tfjs's WASM _FusedMatMul accepts only rank-1 bias and adds it correctly only on its
 * fast path (one batch, no transposes); elsewhere it indexes the bias by flat output position.
 * `wasmOk` limits the comparison with it to the cases it gets right.
 */
const BIASES: Array<{ name: string; shape?: (m: number, n: number) => number[] }> = [
  { name: 'no bias' },
  { name: 'bias [n]', shape: (_m, n) => [n] },
  { name: 'bias [1,n]', shape: (_m, n) => [1, n] },
  { name: 'bias [m,1]', shape: (m) => [m, 1] },
  { name: 'bias [m,n]', shape: (m, n) => [m, n] },
  { name: 'bias [3,1,n]', shape: (_m, n) => [3, 1, n] },
];

describe.skipIf(!load.ok)(`native _FusedMatMul vs the WASM kernel and a float64 reference${skipNote}`, () => {
  const fusedBatches = BATCHES.filter((b) =>
    ['2-D', 'batch 1', 'batch 3', 'b broadcast', 'a broadcast'].includes(b.name),
  );
  for (const act of ACTIVATIONS) {
    for (const biasCase of BIASES) {
      it(`${act}, ${biasCase.name}: every transpose and batch layout`, () => {
        const [m, k, n] = [6, 9, 5];
        for (const batch of fusedBatches) {
          for (const [tA, tB] of TRANSPOSES) {
            const s = shapes(batch.a, batch.b, m, k, n, tA, tB);
            const outShape = [...broadcastShape(batch.a, batch.b), m, n];
            const outRank = outShape.length;
            const biasShape = biasCase.shape?.(m, n);
            // A fused kernel cannot produce a larger output than the product, so such a bias is out of scope.
            if (biasShape && broadcastShape(outShape, biasShape).join() !== outShape.join()) continue;
            const a = random(s.a);
            const b = random(s.b);
            const bias = biasShape ? random(biasShape) : undefined;
            const prelu = act === 'prelu' ? random([n]) : undefined;
            const want = reference(a.host, b.host, tA, tB, act, bias?.host, prelu?.host);
            const label = `${act} ${biasCase.name} ${batch.name} tA=${tA} tB=${tB}`;

            resetNativeGemmStats();
            enableNativeGemm();
            const native = runFused(a.t, b.t, tA, tB, act, bias?.t, prelu?.t);
            expect(nativeGemmStats(), label).toEqual({ native: 1, fallback: 0 });
            expectClose(native, want, `${label} native vs reference`);
            disableNativeGemm();

            const oneBatch = batch.a[0] === 1 && batch.b[0] === 1;
            const wasmBiasOk = !bias || (biasShape?.length === 1 && !tA && !tB && oneBatch);
            if (outRank === 3 && batch.a.length === 1 && batch.b.length === 1 && wasmBiasOk) {
              const original = runFused(a.t, b.t, tA, tB, act, bias?.t, prelu?.t);
              const host = { data: original.dataSync() as Float32Array, shape: original.shape };
              expectClose(native, host, `${label} native vs wasm`);
            }
          }
        }
      });
    }
  }

  it('prelu weights broadcast like tf.prelu: [m,1] and [m,n]', () => {
    const [m, k, n] = [4, 3, 5];
    for (const wShape of [
      [m, 1],
      [m, n],
    ]) {
      const a = random([1, m, k]);
      const b = random([1, k, n]);
      const w = random(wShape);
      enableNativeGemm();
      const native = runFused(a.t, b.t, false, false, 'prelu', undefined, w.t);
      expectClose(
        native,
        reference(a.host, b.host, false, false, 'prelu', undefined, w.host),
        `prelu ${wShape}`,
      );
    }
  });

  it('tf.fused.matMul in inference matches the unfused ops on the WASM kernels', () => {
    const a = random([32, 30]);
    const b = random([30, 16]);
    const bias = random([16]);
    disableNativeGemm();
    const unfused = tf.relu(tf.add(tf.matMul(a.t, b.t), bias.t));
    enableNativeGemm();
    resetNativeGemmStats();
    const fused = tf.fused.matMul({ a: a.t, b: b.t, bias: bias.t, activation: 'relu' });
    expect(nativeGemmStats().native).toBe(1);
    expectClose(fused, { data: unfused.dataSync() as Float32Array, shape: unfused.shape }, 'fused relu');
  });
});

// ---------------------------------------------------------------------------------------------

function smallModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      units: 16,
      activation: 'relu',
      inputShape: [30],
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 16,
      activation: 'tanh',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    }),
  );
  model.add(tf.layers.dropout({ rate: 0.3, seed: 3 }));
  model.add(
    tf.layers.dense({
      units: 8,
      activation: 'elu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
    }),
  );
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'binaryCrossentropy' });
  return model;
}

async function trainSteps(native: boolean, x: tf.Tensor, y: tf.Tensor, initial: tf.Tensor[]) {
  if (native) enableNativeGemm();
  else disableNativeGemm();
  resetNativeGemmStats();
  const model = smallModel();
  model.setWeights(initial);
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    // Dropout draws from a seeded generator per layer; rebuilding the model resets it identically.
    losses.push((await model.trainOnBatch(x, y)) as number);
  }
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  const predictions = model.predict(x) as tf.Tensor;
  return { losses, weights, predictions: predictions.dataSync() as Float32Array, stats: nativeGemmStats() };
}

describe.skipIf(!load.ok)(`training with and without the native path${skipNote}`, () => {
  it('gives the same losses, weights and predictions after a few Adam steps', async () => {
    const x = tf.randomNormal([256, 30], 0, 1, 'float32', 11);
    const y = tf.cast(tf.greater(tf.randomUniform([256, 1], 0, 1, 'float32', 12), 0.8), 'float32');
    const initial = smallModel()
      .getWeights()
      .map((w) => w.clone());

    const plain = await trainSteps(false, x, y, initial);
    const native = await trainSteps(true, x, y, initial);

    expect(plain.stats).toEqual({ native: 0, fallback: 0 }); // the original kernels ran
    // Per step 4 forward and 7 backward matmuls (no gradient for the input), then 4 for predict.
    expect(native.stats.native).toBeGreaterThanOrEqual(5 * (4 + 7) + 4);
    expect(native.stats.fallback).toBe(0);
    for (let i = 0; i < plain.losses.length; i++) {
      expect(Math.abs(native.losses[i] - plain.losses[i]), `loss at step ${i}`).toBeLessThan(
        1e-4 * Math.max(1, plain.losses[i]),
      );
    }
    expect(plain.losses[4]).toBeLessThan(plain.losses[0]); // it did learn something
    for (let w = 0; w < plain.weights.length; w++) {
      expectClose(
        tf.tensor(native.weights[w]),
        { data: plain.weights[w], shape: [plain.weights[w].length] },
        `weight ${w}`,
      );
    }
    expectClose(
      tf.tensor(native.predictions),
      { data: plain.predictions, shape: [plain.predictions.length] },
      'predictions',
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('fallback to the original WASM kernels', () => {
  it.runIf(!load.ok)('enableNativeGemm says what to install when the addon is missing', () => {
    const result = enableNativeGemm();
    expect(result.enabled).toBe(false);
    expect(result.reason).toMatch(/SLIPWAY_NATIVE_GEMM=off|apt-get install libopenblas-dev/);
    expect(isNativeGemmEnabled()).toBe(false);
  });

  it('SLIPWAY_NATIVE_GEMM=off leaves the original kernels in place and tfjs working', () => {
    const original = tf.getKernel('BatchMatMul', 'wasm');
    const saved = process.env.SLIPWAY_NATIVE_GEMM;
    process.env.SLIPWAY_NATIVE_GEMM = 'off';
    try {
      const result = enableNativeGemm();
      expect(result).toEqual({ enabled: false, reason: expect.stringContaining('SLIPWAY_NATIVE_GEMM=off') });
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(original);
      resetNativeGemmStats();
      const out = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
      expect(Array.from(out.dataSync())).toEqual([19, 22, 43, 50]);
      expect(nativeGemmStats()).toEqual({ native: 0, fallback: 0 });
    } finally {
      if (saved === undefined) delete process.env.SLIPWAY_NATIVE_GEMM;
      else process.env.SLIPWAY_NATIVE_GEMM = saved;
    }
  });

  it.runIf(load.ok)('unsupported inputs run the original kernel, with its own error', () => {
    enableNativeGemm();
    resetNativeGemmStats();
    const ints = tf.tensor3d([1, 2, 3, 4], [1, 2, 2], 'int32');
    expect(() => runBatchMatMul(ints, ints, false, false)).toThrow(/float32/);
    expect(() => runBatchMatMul(tf.zeros([1, 2, 3]), tf.zeros([1, 2, 3]), false, false)).toThrow(
      /inner shapes/,
    );
    expect(nativeGemmStats()).toEqual({ native: 0, fallback: 2 });
  });

  it.runIf(load.ok)(
    'enabling before the backend starts keeps the original kernels set up for fallback',
    () => {
      // A fresh process: here the WASM backend is already initialised.
      const script = `
      const tf = require('@tensorflow/tfjs');
      require('@tensorflow/tfjs-backend-wasm');
      const g = require('./domain/ml/nativeGemm.ts');
      (async () => {
        const r = g.enableNativeGemm();
        await tf.setBackend('wasm');
        const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
        const viaNative = Array.from(tf.matMul(a, a).dataSync());
        g.disableNativeGemm();
        const viaWasm = Array.from(tf.matMul(a, a).dataSync());
        console.log(JSON.stringify({ enabled: r.enabled, viaNative, viaWasm, stats: g.nativeGemmStats() }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: REPO,
        encoding: 'utf8',
      });
      expect(child.status, child.stderr).toBe(0);
      const last = child.stdout.trim().split('\n').pop() ?? '';
      expect(JSON.parse(last)).toEqual({
        enabled: true,
        viaNative: [7, 10, 15, 22],
        viaWasm: [7, 10, 15, 22],
        stats: { native: 1, fallback: 0 },
      });
    },
  );
});
