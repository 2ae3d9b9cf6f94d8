import { z } from 'zod';
import { modelPath } from '../registry/modelName';
import { artifactRefSchema } from '../storage/artifactRef';
import type { DatasetDrift } from './datasetDrift';
import { histogram, PROFILE_HISTOGRAM_BINS, PROFILE_QUANTILES, quantileOfSorted } from './distribution';

/**
 * What `apply --monitor` records for one scored batch: per feature its drift against the version's
 * training data, and the distribution of the scores. One document per batch, under the version:
 *
 *   monitoring/<model path>/<NNNNNNNN version>/<recordedAt>-<sha256 prefix of the batch>.json
 *
 * so listing the prefix gives a version's batches in time order, and a batch scored twice at the
 * same instant is one document.
 */
export const MONITORING_PREFIX = 'monitoring/';

/**
 * A numeric feature has KS D and means; a categorical one (kind 'categorical', absent in batches
 * recorded before categorical features) has the chi-square test and its unseen categories instead.
 */
const featureDriftSchema = z.object({
  feature: z.string(),
  kind: z.literal('categorical').optional(),
  psi: z.number(),
  ks: z.number().optional(),
  chiSquare: z.number().optional(),
  pValue: z.number().optional(),
  /** Categories of the batch its version's training data never had (at most 20 named). */
  unseen: z.array(z.string()).optional(),
  level: z.enum(['stable', 'moderate', 'drifted', 'too-few-rows']),
  drifted: z.boolean(),
  reason: z.string(),
  referenceMean: z.number().optional(),
  currentMean: z.number().optional(),
});

export const monitoredBatchSchema = z.object({
  formatVersion: z.literal(1),
  model: z.string().min(1),
  version: z.number().int().min(1),
  /** ISO time the batch was scored, passed in by the caller (domain code reads no clock). */
  recordedAt: z.iso.datetime({ offset: true }),
  recordedBy: z.string().min(1),
  /** The scored file as given. */
  input: z.string(),
  rows: z.number().int().positive(),
  referenceRows: z.number().int().positive(),
  features: z.array(featureDriftSchema),
  drifted: z.array(z.string()),
  score: z.object({
    column: z.string(),
    mean: z.number(),
    /** Share of rows at or above the threshold (predicted positive, or flagged as outliers). */
    positiveRate: z.number().min(0).max(1),
    threshold: z.number(),
    quantiles: z.array(z.object({ p: z.number(), value: z.number() })),
    histogram: z.object({ edges: z.array(z.number()), counts: z.array(z.number().int()) }),
  }),
  /** The drift report (HTML, a histogram per feature overlaid on the training data's); batches recorded before it have none. */
  report: artifactRefSchema.optional(),
});
export type MonitoredBatch = z.infer<typeof monitoredBatchSchema>;

export function monitoringPrefix(model: string, version: number): string {
  return `${MONITORING_PREFIX}${modelPath(model)}/${String(version).padStart(8, '0')}/`;
}

export function monitoringKey(batch: MonitoredBatch, batchSha256: string): string {
  const at = batch.recordedAt.replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `${monitoringPrefix(batch.model, batch.version)}${at}-${batchSha256.slice(0, 12)}.json`;
}

/** A batch's id, as links name it: its key's last segment without `.json`, e.g. 20261129T234000Z-3f2a9c01b4e7. */
export function monitoredBatchId(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1).replace(/\.json$/, '');
}

/**
 * Batches oldest first by the instant they were recorded. Their keys sort by the second only (the
 * id is the time to the second, then a hash), so two batches recorded within one second would
 * otherwise come in the order of their hashes.
 */
export function oldestFirst<T extends { id: string; recordedAt: string }>(batches: T[]): T[] {
  return [...batches].sort(
    (a, b) => Date.parse(a.recordedAt) - Date.parse(b.recordedAt) || a.id.localeCompare(b.id),
  );
}

const BATCH_ID = /^\d{8}T\d{6}(?:Z|[+-]\d{4})-[0-9a-f]{12}$/;

/** The key of a batch from its id, or undefined when the id is not one (so a link cannot name another key). */
export function monitoredBatchKey(model: string, version: number, id: string): string | undefined {
  return BATCH_ID.test(id) ? `${monitoringPrefix(model, version)}${id}.json` : undefined;
}

/** The batch record from its drift and its sorted scores (probabilities in [0, 1], or anomaly scores). */
export function monitoredBatch(options: {
  model: string;
  version: number;
  recordedAt: string;
  recordedBy: string;
  input: string;
  drift: DatasetDrift;
  scores: Float64Array;
  scoreColumn: string;
  threshold: number;
  /** Where the score histogram spans: probabilities [0, 1] (default); an anomaly score's own range. */
  scoreRange?: 'probability' | 'observed';
  report?: z.infer<typeof artifactRefSchema>;
}): MonitoredBatch {
  const { drift, scores } = options;
  let sum = 0;
  let positives = 0;
  for (const s of scores) {
    sum += s;
    if (s >= options.threshold) positives++;
  }
  return monitoredBatchSchema.parse({
    formatVersion: 1,
    model: options.model,
    version: options.version,
    recordedAt: options.recordedAt,
    recordedBy: options.recordedBy,
    input: options.input,
    rows: drift.currentRows,
    referenceRows: drift.referenceRows,
    features: drift.features.map((f) => ({
      feature: f.feature,
      psi: f.psi,
      ...(f.kind === 'numeric'
        ? { ks: f.ks, referenceMean: f.referenceMean, currentMean: f.currentMean }
        : {
            kind: 'categorical' as const,
            chiSquare: f.chiSquare,
            pValue: f.pValue,
            unseen: f.unseen.slice(0, 20),
          }),
      level: f.level,
      drifted: f.drifted,
      reason: f.reason,
    })),
    drifted: drift.drifted,
    score: {
      column: options.scoreColumn,
      mean: scores.length > 0 ? sum / scores.length : 0,
      positiveRate: scores.length > 0 ? positives / scores.length : 0,
      threshold: options.threshold,
      quantiles:
        scores.length > 0 ? PROFILE_QUANTILES.map((p) => ({ p, value: quantileOfSorted(scores, p) })) : [],
      histogram:
        options.scoreRange === 'observed' && scores.length > 0
          ? histogram(
              scores,
              scores[0] as number,
              scores[scores.length - 1] as number,
              PROFILE_HISTOGRAM_BINS,
            )
          : histogram(scores, 0, 1, PROFILE_HISTOGRAM_BINS),
    },
    ...(options.report ? { report: options.report } : {}),
  });
}
