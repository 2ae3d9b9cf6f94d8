import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { extractDatasetInputSchema } from '../contracts/inputs';
import type { StepCacheInfo } from '../contracts/progress';
import { type ExtractResult, extractDataset as extract } from '../domain/data/extract';
import { extractUnlabelledDataset } from '../domain/data/extractUnlabelled';
import { fingerprintSource } from '../domain/data/sourceFingerprint';
import type { DatasetSummary } from '../domain/data/summary';
import { type ArtifactRef, artifactRefSchema } from '../domain/storage/artifactRef';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';
import { recordedStep } from './recordedStep';

/** The workflow's parsed input, plus: reuse an earlier extraction of the same bytes with the same settings. */
export type ExtractDatasetParams = z.output<typeof extractDatasetInputSchema> & { cache?: boolean };

/** What the workflow keeps: references and a few figures, never the data. */
export const extractedDatasetSchema = z.object({
  snapshot: artifactRefSchema,
  summary: artifactRefSchema,
  sourceUri: z.string(),
  sourceSha256: z.string(),
  sourceBytes: z.number(),
  rows: z.number(),
  features: z.array(z.string()),
  target: z.string(),
  classCounts: z.object({ negative: z.number(), positive: z.number() }),
  constantFeatures: z.array(z.string()),
});
export type ExtractedDataset = z.infer<typeof extractedDatasetSchema> & { cache?: StepCacheInfo };

export function extractDatasetActivity(deps: ActivityDeps) {
  return async function extractDataset(params: ExtractDatasetParams): Promise<ExtractedDataset> {
    return recordedExtraction(deps, params, { target: params.target }, (common) =>
      extract({ ...common, target: params.target }),
    );
  };
}

export interface ExtractUnlabelledParams {
  source: string;
  features?: string[];
  categorical?: string[];
  cache?: boolean;
}

/** Extraction of data without a label column (an anomaly run without --eval-label); see extractUnlabelled.ts. */
export function extractUnlabelledActivity(deps: ActivityDeps) {
  return async function extractUnlabelled(params: ExtractUnlabelledParams): Promise<ExtractedDataset> {
    return recordedExtraction(deps, params, { unlabelled: true }, (common) =>
      extractUnlabelledDataset(common),
    );
  };
}

type CommonExtractOptions = Parameters<typeof extractUnlabelledDataset>[0];

/**
 * One extraction as a recorded (and cacheable) step: the storage settings and size limit from the
 * configuration, and a cache key over the source's bytes, not just its name (a changed file is a
 * miss), plus the settings that shape the snapshot (`keyParams` and the features).
 */
function recordedExtraction(
  deps: ActivityDeps,
  params: { source: string; features?: string[]; categorical?: string[]; cache?: boolean },
  keyParams: Record<string, unknown>,
  run: (common: CommonExtractOptions) => Promise<ExtractResult>,
): Promise<ExtractedDataset> {
  return heartbeating(async () => {
    const s3 = deps.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(deps.config) : undefined;
    const maxBytes = deps.config.env.SLIPWAY_MAX_SOURCE_BYTES;
    const limits = maxBytes ? { maxBytes } : undefined;
    const enabled = params.cache !== false;
    const fingerprint = enabled ? await fingerprintSource(params.source, { s3, limits }) : undefined;
    return recordedStep(
      deps,
      {
        step: 'extract',
        inputs: {},
        params: {
          sourceUri: fingerprint?.sourceUri,
          sourceSha256: fingerprint?.sha256,
          ...keyParams,
          features: params.features ?? null,
          // Only when given, so the keys of extractions without categories stay as they were.
          ...(params.categorical ? { categorical: params.categorical } : {}),
        },
        outputs: (r) => ({ snapshot: r.snapshot, summary: r.summary }),
        resultInputs: (r) => ({
          source: { uri: r.sourceUri, sha256: r.sourceSha256, bytes: r.sourceBytes, kind: 'source' },
        }),
        cache: { enabled, schema: extractedDatasetSchema },
      },
      async () => {
        const { snapshot, summary, summaryDoc } = await run({
          source: params.source,
          features: params.features,
          ...(params.categorical ? { categorical: params.categorical } : {}),
          store: deps.store,
          workDir: join(tmpdir(), 'slipway-extract'),
          s3,
          limits,
        });
        return summarize(snapshot, summary, summaryDoc);
      },
    );
  });
}

function summarize(snapshot: ArtifactRef, summary: ArtifactRef, doc: DatasetSummary): ExtractedDataset {
  return {
    snapshot,
    summary,
    sourceUri: doc.sourceUri,
    sourceSha256: doc.sourceSha256,
    sourceBytes: doc.sourceBytes,
    rows: doc.rows,
    features: doc.features,
    target: doc.target,
    classCounts: doc.classCounts,
    constantFeatures: doc.constantFeatures,
  };
}
