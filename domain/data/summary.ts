import { z } from 'zod';
import { columnProfileSchema } from '../validation/profile';
import { categoryDictionarySchema } from './categories';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const columnSummarySchema = z.object({
  name: z.string(),
  min: z.number(),
  max: z.number(),
  mean: z.number(),
  /** Population standard deviation (ddof 0). */
  std: z.number().nonnegative(),
  /** Type, missing rate, quantiles, histogram (absent in summaries written before profiles existed). */
  profile: columnProfileSchema.optional(),
  /**
   * A categorical column (--categorical): its categories in code order with their row counts. The
   * snapshot holds each cell's code, so min/max/mean/std above describe codes, not the data.
   */
  categories: categoryDictionarySchema.optional(),
});

/**
 * The JSON document stored beside every dataset snapshot. No timestamps and no host names: the
 * same source read by the same Slipway version gives the same bytes, so a retry dedupes.
 */
export const datasetSummarySchema = z.object({
  formatVersion: z.literal(1),
  /** "slipway <package version>" (or what the caller passed): which code wrote it. */
  createdBy: z.string().min(1),
  /** Canonical source URI: file:///abs/path, s3://bucket/key or synthetic:fraud?rows=N&seed=S. */
  sourceUri: z.string(),
  /**
   * sha256 of the source bytes exactly as read (before BOM stripping or parsing). For a synthetic
   * source, of the CSV text the generator emits, so a CSV export of it hashes the same.
   */
  sourceSha256: sha256,
  sourceBytes: z.number().int().nonnegative(),
  snapshotSha256: sha256,
  snapshotFormat: z.literal('arrow-ipc-file'),
  rows: z.number().int().positive(),
  target: z.string(),
  /** Feature names in snapshot (and model input) order. */
  features: z.array(z.string()).min(1),
  classCounts: z.object({ negative: z.number().int(), positive: z.number().int() }),
  positiveRate: z.number().min(0).max(1),
  /** One entry per feature, in feature order; computed over the stored float32 values. */
  columns: z.array(columnSummarySchema),
  /** Features with one value only: kept (scaling gives them std 1) but worth a look. */
  constantFeatures: z.array(z.string()),
  /** Rows the column profiles' quantiles and histograms were computed over (all rows when fewer). */
  profileSampleRows: z.number().int().positive().optional(),
});
export type DatasetSummary = z.infer<typeof datasetSummarySchema>;

/** Parses a summary read back from storage; a clear error if it is not one. */
export function parseDatasetSummary(json: string | Buffer): DatasetSummary {
  return datasetSummarySchema.parse(JSON.parse(json.toString()));
}

/** The stored form: 2-space JSON with a final newline, keys in schema order. */
export function serializeDatasetSummary(summary: DatasetSummary): string {
  return `${JSON.stringify(datasetSummarySchema.parse(summary), null, 2)}\n`;
}
