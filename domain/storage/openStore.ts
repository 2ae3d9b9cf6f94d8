import type { SlipwayConfig } from '../../config/env';
import type { ArtifactStore } from './artifactStore';
import { StorageConfigError } from './errors';
import { LocalArtifactStore, type LocalStoreOptions } from './localStore';
import { createS3Client } from './s3Client';
import { S3ArtifactStore, type S3StoreOptions } from './s3Store';

export type OpenStoreOptions = LocalStoreOptions & S3StoreOptions;

/**
 * The artifact store named by SLIPWAY_ARTIFACTS: file:///abs/dir for a local directory,
 * s3://bucket/prefix for S3 (endpoint and keys from SLIPWAY_S3_*). Opening does no I/O; the
 * first call reports a missing bucket, bad credentials or an unreachable endpoint.
 */
export function openArtifactStore(config: SlipwayConfig, options: OpenStoreOptions = {}): ArtifactStore {
  const uri = config.artifactsUri;
  if (uri.startsWith('file://')) return LocalArtifactStore.fromUri(uri, options);
  if (uri.startsWith('s3://')) {
    return new S3ArtifactStore(createS3Client(config, { requireCredentials: true }), uri, options);
  }
  throw new StorageConfigError(
    `SLIPWAY_ARTIFACTS must start with file:// or s3:// (got "${uri}"), for example s3://models/slipway.`,
  );
}
