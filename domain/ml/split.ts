import { mulberry32, shuffleInPlace } from '../random';
import { TrainingInputError } from './errors';

export interface SplitOptions {
  /** Share of rows held out for evaluation (default 0.25). */
  testFraction: number;
  seed: number;
  /** Keep the class ratio equal in both parts; matters when positives are 0.17 % of rows. */
  stratify: boolean;
}

export const defaultSplit: SplitOptions = { testFraction: 0.25, seed: 42, stratify: true };

export interface Split {
  train: Uint32Array;
  test: Uint32Array;
}

/** Seeded shuffle of row indices into train and test; the same seed gives the same split anywhere. */
export function splitIndices(y: Uint8Array, options: Partial<SplitOptions> = {}): Split {
  const { testFraction, seed, stratify } = { ...defaultSplit, ...options };
  if (!(testFraction > 0 && testFraction < 1))
    throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  const random = mulberry32(seed);
  const groups: Uint32Array[] = stratify
    ? [0, 1].map((cls) => Uint32Array.from(indicesOf(y, cls)))
    : [Uint32Array.from({ length: y.length }, (_, i) => i)];
  const train: number[] = [];
  const test: number[] = [];
  for (const group of groups) {
    shuffleInPlace(group, random);
    const nTest = Math.round(group.length * testFraction);
    for (let i = 0; i < group.length; i++) (i < nTest ? test : train).push(group[i] as number);
  }
  if (train.length === 0 || test.length === 0) {
    throw new TrainingInputError(
      'EmptySplit',
      `A ${testFraction} test split of ${y.length} rows leaves one side empty; use more rows.`,
    );
  }
  // Interleave the classes again so neither part is sorted by class.
  return {
    train: shuffleInPlace(Uint32Array.from(train), random),
    test: shuffleInPlace(Uint32Array.from(test), random),
  };
}

function indicesOf(y: Uint8Array, cls: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i] === cls) out.push(i);
  return out;
}

/** Copies the chosen rows of a row-major matrix. */
export function takeRows(x: Float32Array, nCols: number, rows: Uint32Array): Float32Array {
  const out = new Float32Array(rows.length * nCols);
  for (let i = 0; i < rows.length; i++) {
    const from = (rows[i] as number) * nCols;
    out.set(x.subarray(from, from + nCols), i * nCols);
  }
  return out;
}

export function takeLabels(y: Uint8Array, rows: Uint32Array): Uint8Array {
  const out = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = y[rows[i] as number] as number;
  return out;
}
