import { z } from 'zod';

/** A dataset source a person can type: a path, file://, s3://bucket/key, or synthetic:fraud?rows=N&seed=S. */
export const sourceUriSchema = z
  .string()
  .trim()
  .min(1, 'a source is required: a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S');

/** A column name as it appears in the CSV header. */
export const columnNameSchema = z.string().trim().min(1).max(256);

export const extractDatasetInputSchema = z.object({
  source: sourceUriSchema,
  target: columnNameSchema.default('Class'),
  /** Feature columns in order; omitted means every column but the target, in file order. */
  features: z.array(columnNameSchema).min(1).optional(),
});
export type ExtractDatasetInput = z.input<typeof extractDatasetInputSchema>;
