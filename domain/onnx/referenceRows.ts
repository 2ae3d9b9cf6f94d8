import { logitOf } from './reference';

/**
 * Rows the exact reference evaluates, at most: the reference pass costs about 1 ms per row for the
 * 140,000-weight reference network in JavaScript (all 71,202 held-out rows of the demo took 92 s
 * of its export step, longer than the 50 epochs of training), while the two engines score every
 * row in well under a second. 4,096 rows keep it to a few seconds.
 */
export const REFERENCE_ROWS = 4096;

/**
 * Which held-out rows the exact reference judges (a mask, 1 = judged), chosen where an export fault
 * or a float32 bound would show first; every row is judged when there are at most `limit`:
 *
 * - every row whose labels differ between the file and the trained model (the gate must know
 *   whether the exact probability lies within the bound of the threshold there);
 * - the rows where the two engines' logits differ most: a file that does not compute the
 *   trained network departs from the trainer there first;
 * - the rows with the most extreme logits, where float32 sigmoids are least accurate (the
 *   largest share of its bound onnxruntime used on the reference network was at p near 1e-7);
 * - the rows nearest the threshold;
 * - evenly spaced rows for the rest, so no region of the split goes unexamined.
 *
 * The engines themselves are still compared on every row (maxAbsDiff, labels).
 */
export function rowsForReference(
  onnx: ArrayLike<number>,
  trainer: ArrayLike<number>,
  threshold: number | undefined,
  limit = REFERENCE_ROWS,
): Uint8Array {
  const n = onnx.length;
  const mask = new Uint8Array(n);
  if (n <= limit) return mask.fill(1);
  let chosen = 0;
  const take = (r: number) => {
    if (mask[r] === 0 && chosen < limit) {
      mask[r] = 1;
      chosen++;
    }
  };
  if (threshold !== undefined) {
    for (let r = 0; r < n; r++)
      if ((onnx[r] as number) >= threshold !== (trainer[r] as number) >= threshold) take(r);
  }
  const rows = Uint32Array.from({ length: n }, (_, r) => r);
  const topBy = (key: (r: number) => number, count: number) => {
    const keys = Float64Array.from(rows, (r) => {
      const k = key(r);
      return Number.isNaN(k) ? Number.POSITIVE_INFINITY : k; // a NaN output is the first to judge
    });
    const order = [...rows].sort((a, b) => (keys[b] as number) - (keys[a] as number));
    for (let i = 0, taken = 0; i < order.length && taken < count && chosen < limit; i++) {
      const r = order[i] as number;
      if (mask[r] === 0) {
        take(r);
        taken++;
      }
    }
  };
  const share = Math.floor(limit / 4);
  topBy((r) => {
    const po = onnx[r] as number;
    const pt = trainer[r] as number;
    return po === pt ? 0 : Math.abs(logitOf(po) - logitOf(pt));
  }, share);
  // Saturated rows (p exactly 0 or 1) allow any error: nothing to judge there.
  topBy((r) => {
    const z = logitOf(onnx[r] as number);
    return Number.isFinite(z) ? Math.abs(z) : Number.isNaN(z) ? Number.NaN : -1;
  }, share);
  if (threshold !== undefined)
    topBy((r) => -Math.abs((onnx[r] as number) - threshold), Math.floor(share / 2));
  const left = limit - chosen;
  for (let i = 0; i < left; i++) take(Math.floor(((i + 0.5) * n) / left));
  // Evenly spaced picks may land on rows already taken; fill up from the start.
  for (let r = 0; r < n && chosen < limit; r++) take(r);
  return mask;
}
