import { gaussian, mulberry32 } from '../random';
import { DEFAULT_TARGET_COLUMN } from './targetColumn';

/**
 * A seeded stand-in for the public credit-card-fraud data set, which cannot be downloaded here:
 * same columns (Time, V1..V28, Amount, Class), same class balance (492 frauds in 284,807 rows,
 * 0.17 %), and a signal a network can learn but not perfectly:
 * - frauds are shifted along a fixed direction spanning 8 of the V columns, by about 7 standard
 *   deviations in total (weaker shifts let the large reference network overfit its few hundred
 *   positives, which pushed the false-positive rate at threshold 0.5 to 3-5 % in a few epochs);
 * - one fraud in eleven is hard: it carries less than a third of the shift, so it mostly looks
 *   normal, capping recall near 0.9;
 * - V14 is wider for frauds and Amount is skewed a little higher, which only a non-linear
 *   model can use fully.
 * The generator uses its own PRNG (mulberry32 + Box-Muller), so a seed gives the same numbers on
 * every machine and Node version.
 */

export const SYNTHETIC_FRAUD_COLUMNS: readonly string[] = [
  'Time',
  ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`),
  'Amount',
  DEFAULT_TARGET_COLUMN,
];

/** Frauds per row in the reference data set. */
export const REFERENCE_POSITIVE_RATE = 492 / 284_807;

/** Columns (1-based V index) that carry the fraud shift, with the sign of the shift. */
export const SHIFTED: ReadonlyArray<readonly [number, number]> = [
  [1, -1],
  [3, -1],
  [4, 1],
  [7, -1],
  [10, -1],
  [11, 1],
  [12, -1],
  [17, -1],
];
const SHIFT = 2.5;
const CAMOUFLAGED = 1 / 11;
const TWO_DAYS = 172_792;

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** Number of frauds in a generated set of `rows` rows: the reference rate, and never fewer than 2. */
export function syntheticPositiveCount(rows: number): number {
  return Math.min(rows - 2, Math.max(2, Math.round(rows * REFERENCE_POSITIVE_RATE)));
}

/**
 * Yields `rows` rows in SYNTHETIC_FRAUD_COLUMNS order, Class last (0 or 1). Exactly
 * syntheticPositiveCount(rows) rows are frauds, spread at random through the set.
 */
export function* syntheticFraudRows(options: { rows: number; seed: number }): Generator<number[]> {
  const { rows, seed } = options;
  if (!Number.isInteger(rows) || rows < 4) throw new RangeError(`rows must be an integer >= 4 (got ${rows})`);
  const random = mulberry32(seed);
  const normal = gaussian(random);
  let positivesLeft = syntheticPositiveCount(rows);
  for (let i = 0; i < rows; i++) {
    // Selection sampling: an exact number of positives, placed uniformly, in one pass.
    const fraud = random() * (rows - i) < positivesLeft;
    if (fraud) positivesLeft--;
    // Hard frauds carry a much weaker version of the signal: detectable only in part.
    const strength = !fraud ? 0 : random() < CAMOUFLAGED ? 0.3 : 1;
    const row = new Array<number>(31);
    row[0] = Math.round((i * TWO_DAYS) / rows);
    for (let v = 1; v <= 28; v++) row[v] = normal();
    let amount = Math.exp(3 + 1.2 * normal());
    if (strength > 0) {
      for (const [v, sign] of SHIFTED) row[v] = (row[v] as number) + sign * SHIFT * strength;
      row[14] = (row[14] as number) * 1.8;
      amount = Math.exp(3.4 + 1.4 * normal());
    }
    for (let v = 1; v <= 28; v++) row[v] = round(row[v] as number, 6);
    row[29] = round(Math.min(amount, 25_000), 2);
    row[30] = fraud ? 1 : 0;
    yield row;
  }
}
