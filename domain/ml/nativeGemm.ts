import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { envNow } from '../../config/env';
import { ADDON_PATH } from './nativeAddonPath';

/**
 * Native GEMM for tfjs's WASM backend. The WASM matrix multiply is ~100x slower than the machine's
 * BLAS and takes ~95 % of a training step, so `BatchMatMul` and `_FusedMatMul` are re-registered
 * for the `wasm` backend with kernels that call `cblas_sgemm` (OpenBLAS on Linux) through the
 * optional addon in native/blas-gemm, reading and writing the tensors in place in the WASM heap.
 * Gradients need nothing extra: tfjs expresses the matMul gradients as further matMuls.
 * Anything these kernels do not cover runs the original WASM kernel.
 */

export { ADDON_PATH };

const HOW_TO_BUILD =
  'run `npm run build:native` (it provisions OpenBLAS with pip when the system has no usable BLAS; native/blas-gemm/build.log says what failed)';

/**
 * What native/blas-gemm/build.js learnt about the BLAS it built against. `coretype` is set when
 * that OpenBLAS would run an older kernel than the CPU supports: OpenBLAS reads OPENBLAS_CORETYPE
 * once, when the library loads, so it goes into the environment before the addon is loaded.
 */
function applyBuildRecord(): void {
  try {
    const rec = JSON.parse(readFileSync(resolve(ADDON_PATH, '../../blas.json'), 'utf8')) as {
      coretype?: string;
    };
    if (rec.coretype && !process.env.OPENBLAS_CORETYPE) process.env.OPENBLAS_CORETYPE = rec.coretype;
  } catch {
    // no record (an older build): nothing to apply
  }
}

export interface BlasInfo {
  /** 'openblas', 'accelerate' or 'cblas' (whichever the addon was linked against). */
  blas: string;
  /** The library's own description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Zen MAX_THREADS=64". */
  config: string;
  core?: string;
  /** BLAS worker threads (0 when the library does not say). */
  threads: number;
}

/** The addon's interface (native/blas-gemm/src/blas_gemm.c documents the arguments). */
export interface NativeGemmAddon {
  gemm(
    heap: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    offsets: Float64Array,
    biasOffsets: Float64Array | null,
    biasStrideM: number,
    biasStrideN: number,
    activation: number,
    alpha: number,
    preluOffsets: Float64Array | null,
    preluStrideM: number,
    preluStrideN: number,
  ): void;
  info(): BlasInfo;
  setThreads(n: number): void;
  /** The fused trainer (native/blas-gemm/src/trainer.c); absent from builds older than it. */
  createTrainer?(
    nInputs: number,
    kinds: Int32Array,
    units: Int32Array,
    activations: Int32Array,
    rates: Float64Array,
    optimizer: number,
    learningRate: number,
    maxBatch: number,
  ): NativeTrainerHandle;
  trainBatch(
    trainer: NativeTrainerHandle,
    weights: Float32Array,
    slot1: Float32Array,
    slot2: Float32Array,
    x: Float32Array,
    y: Uint8Array,
    order: Uint32Array,
    start: number,
    n: number,
    weightNegative: number,
    weightPositive: number,
    step: number,
    seeds: Uint32Array | null,
  ): number;
  lossAndGradient(
    trainer: NativeTrainerHandle,
    weights: Float32Array,
    x: Float32Array,
    y: Uint8Array,
    order: Uint32Array,
    start: number,
    n: number,
    weightNegative: number,
    weightPositive: number,
    seeds: Uint32Array | null,
    gradient: Float32Array,
  ): number;
  predict(trainer: NativeTrainerHandle, weights: Float32Array, x: Float32Array, out: Float32Array): void;
  parameterCount(trainer: NativeTrainerHandle): number;
  /** Runs each batch's two fixed halves on 1 thread or 2 (same results either way). */
  setTrainerThreads(trainer: NativeTrainerHandle, threads: 1 | 2): void;
}

/** An opaque trainer (shape and scratch buffers; weights stay with the caller). */
export type NativeTrainerHandle = { readonly __nativeTrainer: unique symbol };

export type NativeGemmLoad =
  | { ok: true; addon: NativeGemmAddon; info: BlasInfo }
  | { ok: false; reason: string };

let loadResult: NativeGemmLoad | undefined;

/** SLIPWAY_NATIVE_GEMM=off turns the native path off without rebuilding (any other value: auto). */
export function nativeGemmDisabledByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return envNow.nativeGemm(env) === 'off';
}

/** Loads the addon once; the result says why when it cannot be used. */
export function loadNativeGemm(): NativeGemmLoad {
  if (nativeGemmDisabledByEnv()) {
    return { ok: false, reason: 'native GEMM disabled by SLIPWAY_NATIVE_GEMM=off' };
  }
  if (loadResult) return loadResult;
  if (!existsSync(ADDON_PATH)) {
    loadResult = {
      ok: false,
      reason: `native GEMM addon not built (no ${ADDON_PATH}); to enable it, ${HOW_TO_BUILD}`,
    };
    return loadResult;
  }
  try {
    applyBuildRecord();
    const addon = createRequire(__filename)(ADDON_PATH) as NativeGemmAddon;
    loadResult = { ok: true, addon, info: addon.info() };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    loadResult = {
      ok: false,
      reason: `native GEMM addon failed to load (${why}); to rebuild it, ${HOW_TO_BUILD}`,
    };
  }
  return loadResult;
}

/** Activation codes of the addon, the same numbering as tfjs-backend-wasm's FusableActivation. */
const ACTIVATION_CODES: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  prelu: 3,
  leakyrelu: 4,
  sigmoid: 5,
  elu: 6,
};

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use (its own kernels use the same). */
interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

function isWasmBackend(backend: unknown): backend is WasmBackendLike {
  const b = backend as Partial<WasmBackendLike> | null;
  return (
    !!b && !!b.wasm?.HEAPU8 && typeof b.dataIdMap?.get === 'function' && typeof b.makeOutput === 'function'
  );
}

const stats = { native: 0, fallback: 0 };

/** How many matmul kernel calls ran natively and how many fell through to the WASM kernels. */
export function nativeGemmStats(): { native: number; fallback: number } {
  return { ...stats };
}

export function resetNativeGemmStats(): void {
  stats.native = 0;
  stats.fallback = 0;
}

/** Broadcast of two shapes by numpy rules, or undefined when they do not broadcast. */
function broadcastShapes(x: number[], y: number[]): number[] | undefined {
  const rank = Math.max(x.length, y.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dx = x[x.length - rank + i] ?? 1;
    const dy = y[y.length - rank + i] ?? 1;
    if (dx !== dy && dx !== 1 && dy !== 1) return undefined;
    out.push(dx === 1 ? dy : dx);
  }
  return out;
}

function rowMajorStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Element strides of a tensor of `shape` viewed as `outShape` (right-aligned, numpy rules), with
 * 0 wherever it broadcasts. Undefined when `shape` does not broadcast to exactly `outShape`.
 */
function broadcastStrides(shape: number[], outShape: number[]): number[] | undefined {
  if (shape.length > outShape.length) return undefined;
  const own = rowMajorStrides(shape);
  const pad = outShape.length - shape.length;
  const strides: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const d = i < pad ? 1 : shape[i - pad];
    if (d !== outShape[i] && d !== 1) return undefined;
    strides.push(d === 1 ? 0 : own[i - pad]);
  }
  return strides;
}

/** For every index of `dims` (row-major), the sum of index * stride: where each slice starts. */
function sliceOffsets(dims: number[], strides: number[]): Float64Array {
  const count = dims.reduce((p, d) => p * d, 1);
  const out = new Float64Array(count);
  const idx = new Array<number>(dims.length).fill(0);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    out[i] = offset;
    for (let d = dims.length - 1; d >= 0; d--) {
      idx[d]++;
      offset += strides[d];
      if (idx[d] < dims[d]) break;
      offset -= idx[d] * strides[d];
      idx[d] = 0;
    }
  }
  return out;
}

interface MatMulRequest {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  bias?: tf.TensorInfo | null;
  prelu?: tf.TensorInfo | null;
  activation: string;
  alpha: number;
}

/** An epilogue operand (bias or prelu weights) laid over the output: per-batch offsets and row/column strides. */
interface Operand {
  batchOffsets: Float64Array;
  strideM: number;
  strideN: number;
}

function epilogueOperand(t: tf.TensorInfo, outShape: number[]): Operand | undefined {
  if (t.dtype !== 'float32') return undefined;
  const strides = broadcastStrides(t.shape, outShape);
  if (!strides) return undefined;
  const r = outShape.length;
  return {
    batchOffsets: sliceOffsets(outShape.slice(0, -2), strides.slice(0, -2)),
    strideM: strides[r - 2],
    strideN: strides[r - 1],
  };
}

function allEqual(xs: Float64Array): boolean {
  for (let i = 1; i < xs.length; i++) if (xs[i] !== xs[0]) return false;
  return true;
}

let heapView: Float32Array | undefined;

/** A Float32Array over the whole WASM memory; rebuilt only when the memory grew (new buffer). */
function heapOf(backend: WasmBackendLike): Float32Array {
  const buffer = backend.wasm.HEAPU8.buffer;
  if (heapView?.buffer !== buffer) heapView = new Float32Array(buffer);
  return heapView;
}

/**
 * Runs a (fused) batched matmul natively, tfjs semantics: batch dims broadcast, bias and prelu
 * weights broadcast to the output. Returns undefined for anything it does not cover, so the
 * caller runs the original kernel (which also produces tfjs's own error messages).
 */
function nativeMatMul(
  addon: NativeGemmAddon,
  backend: unknown,
  req: MatMulRequest,
): tf.TensorInfo | undefined {
  const { a, b, transposeA, transposeB, bias, prelu } = req;
  const act = ACTIVATION_CODES[req.activation];
  if (act === undefined || !isWasmBackend(backend)) return undefined;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2)
    return undefined;
  if (act === ACTIVATION_CODES.prelu && !prelu) return undefined;

  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (k !== kb) return undefined;
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const outOuter = broadcastShapes(aOuter, bOuter);
  if (!outOuter) return undefined;
  const outShape = [...outOuter, m, n];

  const biasOp = bias ? epilogueOperand(bias, outShape) : undefined;
  const preluOp = act === ACTIVATION_CODES.prelu && prelu ? epilogueOperand(prelu, outShape) : undefined;
  if ((bias && !biasOp) || (act === ACTIVATION_CODES.prelu && !preluOp)) return undefined;

  const aBatch = sliceOffsets(outOuter, broadcastStrides(aOuter, outOuter)?.map((s) => s * m * k) ?? []);
  const bBatch = sliceOffsets(outOuter, broadcastStrides(bOuter, outOuter)?.map((s) => s * k * n) ?? []);
  let batch = aBatch.length;
  let rows = m;
  // [B, m, k] x [k, n] with B contiguous slices is one [B*m, k] x [k, n] GEMM: far fewer BLAS calls.
  const fold =
    batch > 1 &&
    !transposeA &&
    allEqual(bBatch) &&
    aBatch.every((off, i) => off === i * m * k) &&
    (!biasOp || (biasOp.strideM === 0 && allEqual(biasOp.batchOffsets))) &&
    (!preluOp || (preluOp.strideM === 0 && allEqual(preluOp.batchOffsets)));
  if (fold) {
    rows = batch * m;
    batch = 1;
  }

  const out = backend.makeOutput(outShape, 'float32');
  // After makeOutput: its allocation may have grown (and so replaced) the WASM memory buffer.
  const heap = heapOf(backend);
  const base = (t: tf.TensorInfo): number => {
    const data = backend.dataIdMap.get(t.dataId);
    if (!data || data.memoryOffset % 4 !== 0)
      throw new Error('native GEMM: tensor not found in the WASM heap');
    return data.memoryOffset / 4;
  };
  const aBase = base(a);
  const bBase = base(b);
  const outBase = base(out);
  const offsets = new Float64Array(batch * 3);
  for (let i = 0; i < batch; i++) {
    offsets[3 * i] = aBase + aBatch[i];
    offsets[3 * i + 1] = bBase + bBatch[i];
    offsets[3 * i + 2] = outBase + i * rows * n;
  }
  const shifted = (op: Operand | undefined, t: tf.TensorInfo | null | undefined): Float64Array | null => {
    if (!op || !t) return null;
    const at = base(t);
    return op.batchOffsets.subarray(0, batch).map((o) => o + at);
  };
  addon.gemm(
    heap,
    rows,
    n,
    k,
    transposeA,
    transposeB,
    offsets,
    shifted(biasOp, bias),
    biasOp?.strideM ?? 0,
    biasOp?.strideN ?? 0,
    act,
    req.alpha,
    shifted(preluOp, prelu),
    preluOp?.strideM ?? 0,
    preluOp?.strideN ?? 0,
  );
  return out;
}

type MatMulAttrs = {
  transposeA?: boolean;
  transposeB?: boolean;
  activation?: string;
  leakyreluAlpha?: number;
};

function makeKernel(addon: NativeGemmAddon, original: tf.KernelFunc, fused: boolean): tf.KernelFunc {
  return (args) => {
    const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = (args.attrs ?? {}) as MatMulAttrs;
    const { a, b } = inputs;
    const out =
      a && b
        ? nativeMatMul(addon, args.backend, {
            a,
            b,
            transposeA: !!attrs.transposeA,
            transposeB: !!attrs.transposeB,
            bias: fused ? inputs.bias : undefined,
            prelu: fused ? inputs.preluActivationWeights : undefined,
            activation: fused ? (attrs.activation ?? 'linear') : 'linear',
            alpha: attrs.leakyreluAlpha ?? 0.2,
          })
        : undefined;
    if (out) {
      stats.native++;
      return out;
    }
    stats.fallback++;
    return original(args);
  };
}

const KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;
let originals: Map<string, tf.KernelConfig> | undefined;

export function isNativeGemmEnabled(): boolean {
  return originals !== undefined;
}

/**
 * Routes the `wasm` backend's BatchMatMul and _FusedMatMul through the native GEMM. Call it after
 * importing @tensorflow/tfjs-backend-wasm (before or after tf.setBackend('wasm')). Never throws:
 * when the addon is missing or disabled it changes nothing and says why.
 */
export function enableNativeGemm(): { enabled: boolean; reason: string } {
  const loaded = loadNativeGemm();
  if (!loaded.ok) return { enabled: false, reason: loaded.reason };
  const describe = `BatchMatMul and _FusedMatMul on wasm run through ${loaded.info.config.trim()} (${loaded.info.threads} threads)`;
  if (originals) return { enabled: true, reason: describe };

  const found = new Map<string, tf.KernelConfig>();
  for (const name of KERNELS) {
    const config = tf.getKernel(name, 'wasm');
    if (!config) {
      return {
        enabled: false,
        reason: `the wasm backend's ${name} kernel is not registered: import @tensorflow/tfjs-backend-wasm before enabling native GEMM`,
      };
    }
    found.set(name, config);
  }
  for (const [name, config] of found) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...config,
      // The original setupFunc stays: it initialises the fallback kernel when the backend starts.
      kernelFunc: makeKernel(loaded.addon, config.kernelFunc, name === '_FusedMatMul'),
    });
  }
  originals = found;
  return { enabled: true, reason: describe };
}

/** Puts the original WASM kernels back (for comparisons and tests). */
export function disableNativeGemm(): void {
  if (!originals) return;
  for (const [name, config] of originals) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  originals = undefined;
}

/** Sets the BLAS thread count (OpenBLAS also reads OPENBLAS_NUM_THREADS at load). */
export function setNativeGemmThreads(threads: number): void {
  const loaded = loadNativeGemm();
  if (loaded.ok) loaded.addon.setThreads(threads);
}
