import { parseDatasetSummary } from '../domain/data/summary';
import { ModelAliases } from '../domain/registry/aliases';
import { ModelNotFoundError } from '../domain/registry/errors';
import { ModelRegistry } from '../domain/registry/registry';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { checkAgainstSchema, type DataAnomaly } from '../domain/validation/schemaCheck';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';

export interface ValidateDataParams {
  modelName: string;
  /** The alias whose version the new one would replace (normally "production"). */
  alias: string;
  /** This run's dataset summary. */
  summary: ArtifactRef;
}

export interface DataValidation {
  /** The version whose training data was the reference; absent when there was none to compare with. */
  champion?: number;
  /** Why nothing was compared (a first version, an imported champion). */
  note?: string;
  anomalies: DataAnomaly[];
}

/**
 * ExampleValidator: the new snapshot's summary against the summary of the data the champion was
 * trained on. Reads only; the workflow applies the policy.
 */
export function validateDataActivity(deps: ActivityDeps) {
  return async function validateData(params: ValidateDataParams): Promise<DataValidation> {
    return heartbeating(async () => {
      const registry = new ModelRegistry(deps.store);
      const champion = await new ModelAliases(registry)
        .resolve(params.modelName, params.alias)
        .catch((err: unknown) => {
          if (err instanceof ModelNotFoundError) return undefined;
          throw err;
        });
      if (champion === undefined) {
        return {
          anomalies: [],
          note: `no ${params.alias} version of ${params.modelName} yet: nothing to compare with`,
        };
      }
      const metadata = await registry.getVersion(params.modelName, champion);
      const championSummary = metadata.artifacts.datasetSummary;
      if (!championSummary) {
        return {
          champion,
          anomalies: [],
          note: `${params.modelName} v${champion} has no training-data summary (imported): nothing to compare with`,
        };
      }
      const [reference, candidate] = await Promise.all([
        deps.store.getBytes(championSummary).then(parseDatasetSummary),
        deps.store.getBytes(params.summary).then(parseDatasetSummary),
      ]);
      return { champion, anomalies: checkAgainstSchema(reference, candidate) };
    });
  };
}
