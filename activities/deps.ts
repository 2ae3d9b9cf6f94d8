import type { SlipwayConfig } from '../config/env';
import type { ArtifactStore } from '../domain/storage/artifactStore';

export interface ActivityDeps {
  config: SlipwayConfig;
  store: ArtifactStore;
}
