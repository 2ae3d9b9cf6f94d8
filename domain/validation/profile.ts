import { z } from 'zod';
import { histogram, PROFILE_QUANTILES, quantileOfSorted } from './distribution';

/**
 * The statistics part of a dataset's schema, per column, beside min/max/mean/std in the dataset
 * summary (domain/data/summary.ts). Quantiles and the histogram are computed over a uniform sample
 * of rows (all rows up to `sampleRows`, see rowSample.ts) of the stored float32 values.
 */
export const columnProfileSchema = z.object({
  /**
   * Snapshot features are float32; a categorical column is 'category' (its figures are the
   * summary column's `categories`; quantiles and histogram are empty). The label is the summary's
   * `target` with `classCounts`.
   */
  type: z.enum(['float32', 'category']),
  /**
   * Share of empty cells. Extraction refuses an empty feature cell (EmptyValue, naming row and
   * column), so a snapshot's is 0; it is recorded so a schema check can compare it.
   */
  missingRate: z.number().min(0).max(1),
  /** Distinct values in the sample, capped at the sample size (a constant column has 1). */
  distinctInSample: z.number().int().nonnegative(),
  quantiles: z.array(z.object({ p: z.number().min(0).max(1), value: z.number() })),
  histogram: z.object({ edges: z.array(z.number()), counts: z.array(z.number().int().nonnegative()) }),
});
export type ColumnProfile = z.infer<typeof columnProfileSchema>;

/** The profile of one column from its sorted sample and the exact min and max over all rows. */
export function columnProfile(sorted: Float64Array, min: number, max: number): ColumnProfile {
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  return {
    type: 'float32',
    missingRate: 0,
    distinctInSample: distinct,
    quantiles:
      sorted.length === 0 ? [] : PROFILE_QUANTILES.map((p) => ({ p, value: quantileOfSorted(sorted, p) })),
    // Over the exact range, so the extremes the sample missed still bound the first and last bin.
    histogram: histogram(sorted, min, max),
  };
}

/** The profile of a categorical column: its distinct values over all rows, no quantiles or histogram. */
export function categoryProfile(distinct: number): ColumnProfile {
  return {
    type: 'category',
    missingRate: 0,
    distinctInSample: distinct,
    quantiles: [],
    histogram: { edges: [], counts: [] },
  };
}
