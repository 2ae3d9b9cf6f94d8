import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { extractDataset as extract } from '../domain/data/extract';
import type { DatasetSummary } from '../domain/data/summary';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { whileHeartbeating } from './heartbeat';

export interface ExtractDatasetParams {
  source: string;
  target: string;
  features?: string[];
}

/** What the workflow keeps: references and a few figures, never the data. */
export interface ExtractedDataset {
  snapshot: ArtifactRef;
  summary: ArtifactRef;
  sourceUri: string;
  sourceSha256: string;
  rows: number;
  features: string[];
  target: string;
  classCounts: { negative: number; positive: number };
  constantFeatures: string[];
}

export function extractDatasetActivity(deps: ActivityDeps) {
  return async function extractDataset(params: ExtractDatasetParams): Promise<ExtractedDataset> {
    return withFailureMapping(() =>
      whileHeartbeating(Context.current(), async () => {
        const s3 = deps.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(deps.config) : undefined;
        const { snapshot, summary, summaryDoc } = await extract({
          source: params.source,
          target: params.target,
          features: params.features,
          store: deps.store,
          workDir: join(tmpdir(), 'slipway-extract'),
          s3,
        });
        return summarize(snapshot, summary, summaryDoc);
      }),
    );
  };
}

function summarize(snapshot: ArtifactRef, summary: ArtifactRef, doc: DatasetSummary): ExtractedDataset {
  return {
    snapshot,
    summary,
    sourceUri: doc.sourceUri,
    sourceSha256: doc.sourceSha256,
    rows: doc.rows,
    features: doc.features,
    target: doc.target,
    classCounts: doc.classCounts,
    constantFeatures: doc.constantFeatures,
  };
}
