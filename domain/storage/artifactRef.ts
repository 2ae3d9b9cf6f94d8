import { z } from 'zod';

/**
 * What workflow history carries instead of data: a pointer to an immutable, content-addressed
 * object. Reading it back through the artifact store verifies `sha256`.
 */
export const artifactKinds = [
  'dataset',
  'dataset-summary',
  'scaler',
  'split',
  'checkpoint',
  'model',
  'onnx',
  'evaluation',
  /** Permutation importance of each feature on the held-out rows (domain/explain). */
  'importance',
  'report',
  'metadata',
  'model-card',
  'source',
  /** A hyperparameter search's record: every trial's settings, curve and end (slipway tune). */
  'tuning',
] as const;

export const artifactRefSchema = z.object({
  uri: z.string().regex(/^(file|s3):\/\//, 'artifact URIs start with file:// or s3://'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters'),
  bytes: z.number().int().nonnegative(),
  mediaType: z.string().min(1),
  kind: z.enum(artifactKinds),
});

export type ArtifactRef = z.infer<typeof artifactRefSchema>;
export type ArtifactKind = (typeof artifactKinds)[number];
