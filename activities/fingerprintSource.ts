import { fingerprintSource as fingerprint, type SourceFingerprint } from '../domain/data/sourceFingerprint';
import { ModelNotFoundError } from '../domain/registry/errors';
import { ModelRegistry } from '../domain/registry/registry';
import { s3SettingsFromConfig } from '../domain/storage/s3Client';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { heartbeating } from './heartbeat';

/** The sha256 of a source's raw bytes, read once (the same figure extraction records). */
export function fingerprintSourceActivity(deps: ActivityDeps) {
  return async function fingerprintSource(params: { source: string }): Promise<SourceFingerprint> {
    return heartbeating(() =>
      fingerprint(params.source, {
        s3: deps.config.env.SLIPWAY_S3_ENDPOINT ? s3SettingsFromConfig(deps.config) : undefined,
      }),
    );
  };
}

/**
 * The sha256 of the source the newest registered version of a model was trained on, whatever its
 * gate outcome: retraining on identical bytes with identical settings reproduces that version, so
 * there is nothing new to learn. Undefined for a model with no versions yet.
 */
export function lastTrainedSourceActivity(deps: ActivityDeps) {
  return async function lastTrainedSource(params: {
    modelName: string;
  }): Promise<{ version: number; sourceSha256: string } | undefined> {
    return withFailureMapping(async () => {
      const registry = new ModelRegistry(deps.store);
      const latest = await registry.latestVersion(params.modelName).catch((err: unknown) => {
        if (err instanceof ModelNotFoundError) return undefined;
        throw err;
      });
      // An imported newest version was not trained on any source: retraining is not a repeat of it.
      if (!latest?.artifacts.datasetSummary) return undefined;
      const summary = JSON.parse(
        (await deps.store.getBytes(latest.artifacts.datasetSummary)).toString('utf8'),
      );
      return { version: latest.version, sourceSha256: String(summary.sourceSha256) };
    });
  };
}
