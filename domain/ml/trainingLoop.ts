/** Pieces both trainers (tfjs in train.ts, native in nativeTrainer.ts) share, so they cannot drift. */
import { deriveSeed, mulberry32, shuffleInPlace } from '../random';
import type { ClassWeights } from './classWeights';
import { confusionAt } from './metrics';

/** The row order of epoch `epoch` (0-based): the same on both trainers, so either resumes the other. */
export function epochOrder(seed: number, epoch: number, nRows: number): Uint32Array {
  return shuffleInPlace(
    Uint32Array.from({ length: nRows }, (_, i) => i),
    mulberry32(deriveSeed(seed, 1, epoch)),
  );
}

/** One epoch's figures: its mean batch loss and its speed. */
export function epochFigures(
  epoch: number,
  epochs: number,
  lossSum: number,
  batches: number,
  nRows: number,
  started: number,
) {
  const seconds = (performance.now() - started) / 1000;
  return { epoch: epoch + 1, epochs, loss: lossSum / batches, seconds, samplesPerSecond: nRows / seconds };
}

/** Validation figures from the held-out rows' probabilities: class-weighted loss and the confusion at 0.5. */
export function validationFigures(p: Float32Array, y: Uint8Array, classWeights: ClassWeights) {
  const w = Float32Array.from(y, (c) => (c === 1 ? classWeights.positive : classWeights.negative));
  const m = confusionAt(y, p, 0.5);
  return { valLoss: weightedBceMean(p, y, w), valRecall: m.recall, valPrecision: m.precision, valFpr: m.fpr };
}

/**
 * Early-stopping bookkeeping: stop when the validation loss has not improved by minDelta for
 * `patience` epochs. Replayed over a resumed history, so a resumed run stops where the whole one would.
 */
export function earlyStopper(options: { patience: number; minDelta?: number } | undefined) {
  let best = Number.POSITIVE_INFINITY;
  let sinceBest = 0;
  return {
    shouldStop(valLoss: number | undefined): boolean {
      if (!options || valLoss === undefined) return false;
      if (valLoss < best - (options.minDelta ?? 0)) {
        best = valLoss;
        sinceBest = 0;
        return false;
      }
      return ++sinceBest >= options.patience;
    },
  };
}

const CLIP_LOW = Math.fround(1e-7);
const CLIP_HIGH = Math.fround(1 - 1e-7);

/**
 * The class-weighted binary cross-entropy of probabilities `p`, averaged over the rows: the
 * trainers' loss (probabilities clipped to [1e-7, 1 - 1e-7] as tfjs does in float32), summed in
 * double precision.
 */
export function weightedBceMean(p: Float32Array, y: Uint8Array, w: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const pc = Math.min(CLIP_HIGH, Math.max(CLIP_LOW, p[i] as number));
    const loss = y[i] === 1 ? -Math.log(pc) : -Math.log(1 - pc);
    sum += loss * (w[i] as number);
  }
  return sum / p.length;
}
