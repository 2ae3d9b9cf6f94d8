import { z } from 'zod';

/** A fitted standard scaler as stored in object storage and embedded in the ONNX graph. */
export const standardScalerSchema = z.object({
  kind: z.literal('standard'),
  features: z.array(z.string().min(1)).min(1),
  mean: z.array(z.number()),
  /** Population std (ddof 0); a constant column is stored as 1, never 0. */
  std: z.array(z.number().positive()),
});
export type StandardScalerParams = z.infer<typeof standardScalerSchema>;
