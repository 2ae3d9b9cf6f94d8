import { z } from 'zod';
import { categoricalEncodingSchema } from './categoricalEncoding';

/** A fitted standard scaler as stored in object storage and embedded in the ONNX graph. */
export const standardScalerSchema = z.object({
  kind: z.literal('standard'),
  features: z.array(z.string().min(1)).min(1),
  mean: z.array(z.number()),
  /** Population std (ddof 0); a constant column is stored as 1, never 0. */
  std: z.array(z.number().positive()),
  /**
   * The categorical features' encoding (anomaly runs with --categorical): applied to the snapshot's
   * codes before mean and std, which are then over the encoded values.
   */
  categorical: categoricalEncodingSchema.optional(),
});
export type StandardScalerParams = z.infer<typeof standardScalerSchema>;
