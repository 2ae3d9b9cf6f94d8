import { z } from 'zod';

const columnSummarySchema = z.object({
  name: z.string(),
  min: z.number(),
  max: z.number(),
  mean: z.number(),
  /** Population standard deviation (ddof 0). */
  std: z.number(),
});

/** The JSON document stored beside every dataset snapshot. No timestamps: same source, same bytes. */
export const datasetSummarySchema = z.object({
  formatVersion: z.literal(1),
  sourceUri: z.string(),
  /** sha256 of the source bytes as read (for synthetic sources: of the CSV text the generator emits). */
  sourceSha256: z.string().regex(/^[0-9a-f]{64}$/),
  sourceBytes: z.number().int().nonnegative(),
  snapshotSha256: z.string().regex(/^[0-9a-f]{64}$/),
  snapshotFormat: z.literal('arrow-ipc-file'),
  rows: z.number().int().positive(),
  target: z.string(),
  features: z.array(z.string()).min(1),
  classCounts: z.object({ negative: z.number().int(), positive: z.number().int() }),
  positiveRate: z.number().min(0).max(1),
  columns: z.array(columnSummarySchema),
  /** Features with one value only; kept (scaling gives them std 1) but worth a look. */
  constantFeatures: z.array(z.string()),
});
export type DatasetSummary = z.infer<typeof datasetSummarySchema>;
