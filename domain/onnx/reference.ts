import type { DenseActivation } from '../ml/modelSpec';

/**
 * The exact function a dense network computes, evaluated in float64, and for every row a bound
 * on how far ANY float32 evaluation of it may land from that exact value, whatever order it sums
 * in (tfjs on OpenBLAS, onnxruntime's AVX2 or AVX-512 kernels, a native trainer). The parity gate
 * judges each engine against this reference instead of against the other engine: two correct
 * float32 engines can differ by more than any fixed tolerance, but neither can leave the bound.
 *
 * The bound, per row (u = 2^-24, float32's unit roundoff; gamma_k = k u / (1 - k u)):
 * - input scaling (x - mean) / std with mean and std rounded to float32 (or x * factor):
 *   |s^ - s| <= gamma_4 (|x - mean| + |mean|) / std
 * - each pre-activation z_i = sum_j w_ij a_j + b_i over n inputs, with inputs known to within e_j:
 *   |z^_i - z_i| <= (1 + 2 gamma_{n+1}) sum_j |w_ij| e_j + gamma_{n+1} (sum_j |w_ij a_j| + |b_i|)
 *   (gamma_{n+1}: the worst case of n+1 float32 additions in any order, with or without FMA; n
 *   counts only the inputs that are not exactly 0 in every engine)
 * - each activation f: |f^(z^) - f(z)| <= max|f'| over [z - E, z + E] * E + its evaluation error,
 *   C_EVAL u |f| + ETA_EVAL for the transcendental ones (relu and linear are exact). The local
 *   slope is what keeps the bound useful: a unit that is dead on both sides of its bound adds no
 *   error, a saturated sigmoid or tanh adds little.
 * - the output sigmoid is judged in logit space (its pre-activation), where float32 rounding is
 *   well conditioned; its own evaluation error and the float32 rounding of the probability are
 *   mapped in through the sigmoid (see probabilityInterval).
 * The whole bound is multiplied by SAFETY_FACTOR. This is a worst-case (not a statistical) bound:
 * real engines use a few percent of it (see the parity report), so no CPU, thread count or
 * summation order should ever leave it, while an error in a weight, the scaler or an activation
 * moves the output by far more wherever it is observable at all.
 */
export const UNIT_ROUNDOFF = 2 ** -24;

/**
 * Multiplies the bound. It covers what the first-order analysis above leaves out or takes from
 * measurement rather than proof: second-order terms, the float64 rounding of the reference
 * itself, subnormals flushed to zero, and the activation error constants below.
 */
export const SAFETY_FACTOR = 2;
/**
 * Relative evaluation error of a transcendental activation, in units of u. Measured on
 * onnxruntime 1.x (MLAS, 400,000 float32 points from 1e-6.5 to 1e1.5 in magnitude, both signs):
 * at most 2.4 u relative (selu, softplus) and 2.1 u absolute (sigmoid; tanh 2.3 u (|f| + 1));
 * tfjs evaluates in float64 and rounds once. Taken with a margin of more than 3.
 */
const C_EVAL = 8;
/**
 * Absolute evaluation error of a transcendental activation: onnxruntime's sigmoid and tanh are
 * rational approximations on a clamped range (|z| <= 18 and 9) that are accurate to about u in
 * absolute terms, not relatively, near 0 and 1; its elu computes exp(z) - 1 in float32.
 */
const ETA_EVAL = 4 * UNIT_ROUNDOFF;
/** Covers subnormal products flushed to zero (about 1.2e-38 each); negligible otherwise. */
const TINY = 1e-30;

export function gamma(k: number): number {
  return (k * UNIT_ROUNDOFF) / (1 - k * UNIT_ROUNDOFF);
}

/** One dense layer as plain arrays: kernel row-major [inputs, units], as tfjs and Gemm store it. */
export interface ReferenceLayer {
  inputs: number;
  units: number;
  activation: DenseActivation;
  kernel: ArrayLike<number>;
  bias: ArrayLike<number>;
}

/**
 * The input scaling done before the first layer, per feature: (x - center) / divisor, or
 * (x - center) * multiplier. Any part may be absent (imported graphs scale in several ways).
 */
export interface InputScaling {
  center?: ArrayLike<number>;
  divisor?: ArrayLike<number>;
  multiplier?: ArrayLike<number>;
}

/** A network whose last layer is Dense(1, sigmoid): the family the exporter writes. */
export interface DenseNetwork {
  scaling?: InputScaling;
  layers: ReferenceLayer[];
}

export interface ReferenceScores {
  /** The exact output pre-activation (logit) per row. */
  logit: Float64Array;
  /** Bound on |logit^ - logit| for a float32 engine, safety factor included. */
  logitBound: Float64Array;
}

type TypedLayer = ReferenceLayer & { kernel: Float64Array; bias: Float64Array };

/** Per-layer scratch for one row: exact values, rigorous forward bounds, local rounding bounds. */
interface LayerScratch {
  /** Exact inputs of the layer and the rigorous bound on their float32 error. */
  a: Float64Array;
  e: Float64Array;
  /** Exact pre-activations, their rigorous forward bound, and the local rounding bound of each. */
  z: Float64Array;
  eZ: Float64Array;
  rZ: Float64Array;
  /** Evaluation error bound of each activation (0 for relu and linear). */
  rF: Float64Array;
  prop: Float64Array;
}

/**
 * Float64 forward pass of raw rows with the float32 rounding bound, row by row. Two bounds are
 * computed and the smaller is used, both times SAFETY_FACTOR:
 * - forward: the layer-by-layer worst case above, errors propagated through |W| (no cancellation
 *   between terms); strictly rigorous, but it grows like the product of the layers' |W| row sums,
 *   which is far too loose for deep or wide networks;
 * - sensitivity: the worst case of every local rounding error (the gamma_{n+1} sum|w a| + |b| of
 *   each pre-activation, each activation's evaluation error, each scaled input's) weighted by the
 *   exact derivative of the logit with respect to it (one backward pass), plus, for every unit,
 *   |d logit / d output| x (largest - smallest slope of its activation over its forward bound) x
 *   that bound: what linearising at the exact point can miss, at a relu kink or a curved sigmoid.
 *   Rigorous to first order; the safety factor covers the second-order remainder.
 */
export function referenceScores(
  network: DenseNetwork,
  rawX: ArrayLike<number>,
  nRows: number,
  nFeatures: number,
): ReferenceScores {
  const { layers } = network;
  const last = layers[layers.length - 1];
  if (last?.units !== 1 || last.activation !== 'sigmoid') {
    throw new RangeError('the reference needs a network ending in Dense(1, sigmoid)');
  }
  if ((layers[0] as ReferenceLayer).inputs !== nFeatures) {
    throw new RangeError(`the first layer takes ${layers[0]?.inputs} inputs, the rows have ${nFeatures}`);
  }
  const logit = new Float64Array(nRows);
  const logitBound = new Float64Array(nRows);
  const scratch: LayerScratch[] = layers.map((l) => ({
    a: new Float64Array(l.inputs),
    e: new Float64Array(l.inputs),
    z: new Float64Array(l.units),
    eZ: new Float64Array(l.units),
    rZ: new Float64Array(l.units),
    rF: new Float64Array(l.units),
    prop: new Float64Array(l.units),
  }));
  const widest = Math.max(nFeatures, ...layers.map((l) => l.units));
  const g = new Float64Array(widest);
  const h = new Float64Array(widest);
  // One array type in the hot loops, whatever the caller passed (number[] or Float32Array).
  const typed = layers.map((l) => ({
    ...l,
    kernel: Float64Array.from(l.kernel),
    bias: Float64Array.from(l.bias),
  }));
  for (let r = 0; r < nRows; r++) {
    const first = scratch[0] as LayerScratch;
    scaleRow(network.scaling, rawX, r * nFeatures, nFeatures, first.a, first.e);
    typed.forEach((layer, l) => {
      const s = scratch[l] as LayerScratch;
      const next = scratch[l + 1];
      denseLayer(layer, s);
      if (next) {
        for (let i = 0; i < layer.units; i++) {
          const z = s.z[i] as number;
          const value = activate(layer.activation, z);
          const eZ = s.eZ[i] as number;
          const rF = evaluationError(
            layer.activation,
            Math.abs(value) + maxSlope(layer.activation, z - eZ, z + eZ) * eZ,
          );
          next.a[i] = value;
          next.e[i] = maxSlope(layer.activation, z - eZ, z + eZ) * eZ + rF;
          s.rF[i] = rF;
        }
      }
    });
    const out = scratch[layers.length - 1] as LayerScratch;
    logit[r] = out.z[0] as number;
    const forward = out.eZ[0] as number;
    logitBound[r] = SAFETY_FACTOR * Math.min(forward, sensitivityBound(typed, scratch, g, h));
  }
  return { logit, logitBound };
}

/** The backward pass: sum of |d logit / d site| x local bound over all rounding sites. */
function sensitivityBound(
  layers: TypedLayer[],
  scratch: LayerScratch[],
  g: Float64Array,
  h: Float64Array,
): number {
  let bound = 0;
  g[0] = 1; // d logit / d (the output pre-activation)
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l] as TypedLayer;
    const s = scratch[l] as LayerScratch;
    const { inputs, units, kernel } = layer;
    for (let i = 0; i < units; i++) bound += Math.abs(g[i] as number) * (s.rZ[i] as number);
    for (let j = 0; j < inputs; j++) {
      const row = j * units;
      let sum = 0;
      for (let i = 0; i < units; i++) sum += (kernel[row + i] as number) * (g[i] as number);
      h[j] = sum;
    }
    if (l === 0) {
      for (let j = 0; j < inputs; j++) bound += Math.abs(h[j] as number) * (s.e[j] as number);
      break;
    }
    const below = layers[l - 1] as TypedLayer;
    const b = scratch[l - 1] as LayerScratch;
    for (let j = 0; j < inputs; j++) {
      const z = b.z[j] as number;
      const eZ = b.eZ[j] as number;
      const hj = Math.abs(h[j] as number);
      const spread = maxSlope(below.activation, z - eZ, z + eZ) - minSlope(below.activation, z - eZ, z + eZ);
      bound += hj * ((b.rF[j] as number) + spread * eZ);
      g[j] = (h[j] as number) * slope(below.activation, z);
    }
  }
  return bound;
}

function scaleRow(
  scaling: InputScaling | undefined,
  rawX: ArrayLike<number>,
  offset: number,
  n: number,
  a: Float64Array,
  e: Float64Array,
): void {
  const g = gamma(4);
  for (let j = 0; j < n; j++) {
    const x = rawX[offset + j] as number;
    const m = scaling?.center ? (scaling.center[j] as number) : 0;
    const k = scaling?.divisor
      ? 1 / (scaling.divisor[j] as number)
      : scaling?.multiplier
        ? (scaling.multiplier[j] as number)
        : 1;
    a[j] = scaling?.divisor ? (x - m) / (scaling.divisor[j] as number) : (x - m) * k;
    e[j] = scaling ? g * (Math.abs(x - m) + Math.abs(m)) * Math.abs(k) : 0;
  }
}

/**
 * One layer's pre-activations from its inputs `s.a`, known to within `s.e`: the exact values, the
 * rigorous forward bound and the local rounding bound of each.
 */
function denseLayer(layer: TypedLayer, s: LayerScratch): void {
  const { inputs, units, kernel, bias } = layer;
  const { a, e, z, eZ, rZ, prop } = s;
  // Terms that are exactly zero in every engine (an input that is 0 with no error, such as a dead
  // relu unit) add nothing and round nothing: only the others count in gamma.
  let terms = 1;
  for (let j = 0; j < inputs; j++) if (a[j] !== 0 || e[j] !== 0) terms++;
  const g = gamma(terms);
  for (let i = 0; i < units; i++) {
    const b = bias[i] as number;
    z[i] = b;
    rZ[i] = Math.abs(b);
    prop[i] = 0;
  }
  for (let j = 0; j < inputs; j++) {
    const aj = a[j] as number;
    const absA = Math.abs(aj);
    const ej = e[j] as number;
    if (aj === 0 && ej === 0) continue;
    const row = j * units;
    for (let i = 0; i < units; i++) {
      const w = kernel[row + i] as number;
      const absW = Math.abs(w);
      z[i] = (z[i] as number) + w * aj;
      rZ[i] = (rZ[i] as number) + absW * absA;
      prop[i] = (prop[i] as number) + absW * ej;
    }
  }
  for (let i = 0; i < units; i++) {
    const local = g * (rZ[i] as number) + TINY;
    eZ[i] = (1 + 2 * g) * (prop[i] as number) + local;
    rZ[i] = local;
  }
}

/** tfjs's SELU constants (its scale*alpha / scale), the same as the ONNX defaults. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function activate(activation: DenseActivation, z: number): number {
  switch (activation) {
    case 'linear':
      return z;
    case 'relu':
      return z > 0 ? z : 0;
    case 'sigmoid':
      return sigmoid(z);
    case 'tanh':
      return Math.tanh(z);
    case 'elu':
      return z > 0 ? z : Math.expm1(z);
    case 'selu':
      return z > 0 ? SELU_SCALE * z : SELU_SCALE * SELU_ALPHA * Math.expm1(z);
    case 'softplus':
      return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
  }
}

/** Largest |f'| on [lo, hi]: the Lipschitz constant of the activation where the value can be. */
export function maxSlope(activation: DenseActivation, lo: number, hi: number): number {
  const nearestZero = lo > 0 ? lo : hi < 0 ? hi : 0;
  switch (activation) {
    case 'linear':
      return 1;
    case 'relu':
      return hi > 0 ? 1 : 0;
    case 'sigmoid': {
      const s = sigmoid(nearestZero);
      return s * (1 - s);
    }
    case 'tanh': {
      const t = Math.tanh(nearestZero);
      return 1 - t * t;
    }
    case 'elu':
      return hi >= 0 ? 1 : Math.exp(hi);
    case 'selu':
      // Slope SELU_SCALE above 0, SELU_SCALE * alpha * e^z (up to 1.758) below it.
      return lo >= 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(Math.min(hi, 0));
    case 'softplus':
      return sigmoid(hi);
  }
}

/** Bound on an activation's own float32 evaluation error at a value of magnitude `magnitude`. */
function evaluationError(activation: DenseActivation, magnitude: number): number {
  if (activation === 'relu' || activation === 'linear') return 0;
  return C_EVAL * UNIT_ROUNDOFF * magnitude + ETA_EVAL;
}

/** f'(z) at the exact point (the right-hand slope at a kink). */
export function slope(activation: DenseActivation, z: number): number {
  return maxSlope(activation, z, z);
}

/** Smallest |f'| on [lo, hi]. */
export function minSlope(activation: DenseActivation, lo: number, hi: number): number {
  switch (activation) {
    case 'linear':
      return 1;
    case 'relu':
      return lo > 0 ? 1 : 0;
    case 'sigmoid':
    case 'tanh':
      // Both slopes fall away from 0 symmetrically: the smaller is at the end farther from 0.
      return Math.min(maxSlope(activation, lo, lo), maxSlope(activation, hi, hi));
    case 'elu':
      return lo >= 0 ? 1 : Math.exp(lo);
    case 'selu':
      return lo >= 0 ? SELU_SCALE : Math.min(SELU_SCALE, SELU_SCALE * SELU_ALPHA * Math.exp(lo));
    case 'softplus':
      return sigmoid(lo);
  }
}

/**
 * Where a float32 engine's probability may fall when the exact logit is `logit` and its float32
 * pre-activation is within `bound` of it: the sigmoid of the interval, widened by the evaluation
 * error of the output sigmoid and the rounding of the probability to float32 (C_EVAL u p +
 * ETA_EVAL, times the safety factor). An end can reach 0 or 1: there the probability saturates
 * in float32, and any value that rounds to it is consistent with the exact one.
 */
export function probabilityInterval(logit: number, bound: number): { lo: number; hi: number } {
  const slack = (p: number) => SAFETY_FACTOR * (C_EVAL * UNIT_ROUNDOFF * p + ETA_EVAL);
  const pLo = sigmoid(logit - bound);
  const pHi = sigmoid(logit + bound);
  return { lo: Math.max(0, pLo - slack(pLo)), hi: Math.min(1, pHi + slack(pHi)) };
}

/** log(p / (1 - p)) in float64; -Infinity at 0 and +Infinity at 1. */
export function logitOf(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}

/**
 * How much of its bound an engine's probability uses, in logit space: |logit(p) - exact| over
 * the distance from the exact logit to the end of the allowed interval on that side. Above 1 the
 * engine left its bound. On a side where the interval reaches 0 or 1 (saturation) the allowed
 * distance is infinite and the share is 0. NaN (in the engine or the exact value) is Infinity.
 */
export function boundUsed(p: number, logit: number, bound: number): number {
  if (!Number.isFinite(logit) || Number.isNaN(p)) return Number.POSITIVE_INFINITY;
  const { lo, hi } = probabilityInterval(logit, bound);
  const lp = logitOf(p);
  const end = lp >= logit ? logitOf(hi) : logitOf(lo);
  const allowed = Math.abs(end - logit);
  const used = Math.abs(lp - logit);
  if (used === 0) return 0;
  if (!Number.isFinite(allowed)) return 0;
  return used / allowed;
}

/** The allowed distance in logit space from the exact logit towards `direction` (+1 or -1). */
export function logitAllowance(logit: number, bound: number, direction: 1 | -1): number {
  const { lo, hi } = probabilityInterval(logit, bound);
  return Math.abs(logitOf(direction > 0 ? hi : lo) - logit);
}
