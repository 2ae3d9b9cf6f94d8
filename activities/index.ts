import type { SlipwayConfig } from '../config/env';
import type { ArtifactStore } from '../domain/storage/artifactStore';
import { extractDatasetActivity } from './extractDataset';

export type { ExtractDatasetParams, ExtractedDataset } from './extractDataset';

export interface ActivityDeps {
  config: SlipwayConfig;
  store: ArtifactStore;
}

/** Every activity, bound to its dependencies. The worker registers what this returns. */
export function createActivities(deps: ActivityDeps) {
  return {
    extractDataset: extractDatasetActivity(deps),
  };
}

export type SlipwayActivities = ReturnType<typeof createActivities>;

/** Activities that run on the training task queue instead of the main one. */
export const trainingActivityNames: string[] = [];
