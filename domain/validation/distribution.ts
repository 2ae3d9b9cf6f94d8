/**
 * Quantiles and histograms of a sorted numeric sample. Plain functions over Float64Arrays, with no
 * NaN for any input: an empty sample gives no quantiles and an empty histogram, a constant one a
 * single bin.
 */

/** The quantiles every dataset profile records (probabilities). */
export const PROFILE_QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] as const;
/** Equal-width bins of a profile's histogram. */
export const PROFILE_HISTOGRAM_BINS = 20;

/** Quantile p of ascending `sorted` by linear interpolation between order statistics (numpy's default). */
export function quantileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile of an empty sample');
  if (n === 1) return sorted[0] as number;
  const h = (n - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (h - lo) * (b - a);
}

export interface Histogram {
  /** bins + 1 ascending edges; bin i is [edges[i], edges[i+1]), the last one closed. */
  edges: number[];
  counts: number[];
}

/** Equal-width histogram over [lo, hi]; a constant sample (lo === hi) is one bin holding everything. */
export function histogram(
  values: ArrayLike<number>,
  lo: number,
  hi: number,
  bins = PROFILE_HISTOGRAM_BINS,
): Histogram {
  if (values.length === 0) return { edges: [], counts: [] };
  if (!(hi > lo)) return { edges: [lo, hi], counts: [values.length] };
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)));
    counts[b] = (counts[b] as number) + 1;
  }
  return { edges, counts };
}

/** Counts of `values` in the bins (-inf, e0], (e0, e1], ..., (e_last, +inf): len(edges) + 1 counts. */
export function countInBins(sorted: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let b = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as number;
    while (b < edges.length && v > (edges[b] as number)) b++;
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}

/**
 * `values` sorted ascending, as float64. An LSD radix sort over the float32 bit patterns (three
 * passes of 11 bits): about 4x faster than TypedArray#sort (8 against 37 ms for 100,000 values on
 * the 2-core Xeon at load 8), whose cost made the profiles of a 284,807-row extraction take a second. Every value is a float32 (snapshot
 * features are), and the bits of a float32 map to an unsigned key in value order: flip the sign bit
 * of a positive, every bit of a negative. -0 sorts just before +0, which compare equal anyway.
 */
export function sortFloat32(values: Float32Array): Float64Array {
  const n = values.length;
  // Keys as int32 (their bits are the unsigned key): int32 arithmetic stays untagged in optimised
  // code, where uint32 values above 2^31 would become heap numbers.
  let keys = new Int32Array(n);
  const bits = new Int32Array(values.buffer, values.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const b = bits[i] as number;
    keys[i] = b ^ ((b >> 31) | 0x80000000);
  }
  let spare = new Int32Array(n);
  const counts = new Int32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((keys[i] as number) >>> shift) & 2047]++;
    let total = 0;
    for (let d = 0; d < 2048; d++) {
      const c = counts[d] as number;
      counts[d] = total;
      total += c;
    }
    for (let i = 0; i < n; i++) {
      const k = keys[i] as number;
      const d = (k >>> shift) & 2047;
      spare[counts[d] as number] = k;
      counts[d]++;
    }
    [keys, spare] = [spare, keys];
  }
  const sorted = new Float32Array(n);
  const sortedBits = new Int32Array(sorted.buffer);
  for (let i = 0; i < n; i++) {
    const k = keys[i] as number;
    sortedBits[i] = k < 0 ? k ^ 0x80000000 : ~k;
  }
  const out = new Float64Array(n);
  out.set(sorted);
  return out;
}
