import { z } from 'zod';
import type { ParityReport } from './parityVerdict';

const engineFitSchema = z.object({
  boundUsed: z.number().nonnegative(),
  worstRow: z.number().int().nonnegative(),
});

/** The parity gate's report as cached and passed between activities (see ParityReport). */
export const parityReportSchema = z.object({
  rowsCompared: z.number().int().min(1),
  rowsJudged: z.number().int().min(1).optional(),
  onnx: engineFitSchema,
  trainer: engineFitSchema,
  disagreementBoundUsed: z.number().nonnegative(),
  maxAbsDiff: z.number().nonnegative(),
  meanAbsDiff: z.number().nonnegative(),
  safetyFactor: z.number().positive(),
  labelDisagreements: z.number().int().nonnegative().optional(),
}) satisfies z.ZodType<ParityReport>;
