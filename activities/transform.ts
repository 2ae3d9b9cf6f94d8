import { z } from 'zod';
import type { StepCacheInfo } from '../contracts/progress';
import { readSnapshot } from '../domain/data/snapshot';
import { parseDatasetSummary } from '../domain/data/summary';
import { encodeCategories, fitFrequencyEncoding } from '../domain/ml/categoricalEncoding';
import { fitStandardScaler, scalerToJson } from '../domain/ml/scaler';
import { splitIndices, takeLabels, takeRows } from '../domain/ml/split';
import { encodeSplit } from '../domain/ml/splitArtifact';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';
import { recordedStep } from './recordedStep';

export interface PrepareDataParams {
  snapshot: ArtifactRef;
  /**
   * The dataset summary, given when features are categorical: its dictionaries are what the
   * encoding is fitted over (the snapshot holds codes).
   */
  summary?: ArtifactRef;
  target: string;
  split: { testFraction: number; seed: number; stratify: boolean };
  cache?: boolean;
}

export const preparedDataSchema = z.object({
  split: artifactRefSchema,
  scaler: artifactRefSchema,
  trainRows: z.number(),
  testRows: z.number(),
  trainPositives: z.number(),
  testPositives: z.number(),
  /** Categorical features and how they are encoded (absent without any, and in earlier results). */
  categorical: z
    .array(
      z.object({ feature: z.string(), encoding: z.literal('frequency'), seenInTraining: z.number().int() }),
    )
    .optional(),
});
export type PreparedData = z.infer<typeof preparedDataSchema> & { cache?: StepCacheInfo };

/** Transform: a seeded split, and a standard scaler fitted on the training part only. */
export function prepareDataActivity(deps: ActivityDeps) {
  return async function prepareData(params: PrepareDataParams): Promise<PreparedData> {
    return heartbeating(async () => {
      const step = {
        step: 'transform',
        inputs: { snapshot: params.snapshot, ...(params.summary ? { summary: params.summary } : {}) },
        params: { target: params.target, split: params.split },
        outputs: (r: PreparedData) => ({ split: r.split, scaler: r.scaler }),
        cache: { enabled: params.cache !== false, schema: preparedDataSchema },
      };
      return recordedStep(deps, step, () => prepare(params));
    });
  };

  /** Transform itself: a seeded split, and a scaler fitted on the training rows. */
  async function prepare(params: PrepareDataParams): Promise<PreparedData> {
    const m = readSnapshot(await deps.store.getBytes(params.snapshot), params.target);
    const split = splitIndices(m.y, params.split);
    const codes = takeRows(m.x, m.nCols, split.train);
    // Categorical features: frequencies over the training rows, then the scaler over those.
    const encoding = params.summary
      ? fitFrequencyEncoding(
          m.features,
          parseDatasetSummary(await deps.store.getBytes(params.summary)).columns.map((c) => c.categories),
          codes,
          split.train.length,
        )
      : undefined;
    const categorical = encoding && encoding.columns.length > 0 ? encoding : undefined;
    const trainRaw = categorical ? encodeCategories(categorical, codes, m.nCols) : codes;
    const scaler = {
      ...fitStandardScaler(trainRaw, split.train.length, m.nCols, m.features),
      ...(categorical ? { categorical } : {}),
    };
    const count = (rows: Uint32Array) => takeLabels(m.y, rows).reduce((a, b) => a + b, 0);
    const [splitRef, scalerRef] = await Promise.all([
      deps.store.put(encodeSplit(split, params.split), {
        kind: 'split',
        mediaType: 'application/octet-stream',
        extension: '.split',
      }),
      deps.store.put(scalerToJson(scaler), {
        kind: 'scaler',
        mediaType: 'application/json',
        extension: '.json',
      }),
    ]);
    return {
      split: splitRef,
      scaler: scalerRef,
      trainRows: split.train.length,
      testRows: split.test.length,
      trainPositives: count(split.train),
      testPositives: count(split.test),
      ...(categorical
        ? {
            categorical: categorical.columns.map((c) => ({
              feature: c.feature,
              encoding: 'frequency' as const,
              seenInTraining: c.frequencies.filter((f) => f > 0).length,
            })),
          }
        : {}),
    };
  }
}
