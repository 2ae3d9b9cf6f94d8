import { AuditLog } from '../domain/audit/auditLog';
import { readSnapshot } from '../domain/data/snapshot';
import { parseDatasetSummary } from '../domain/data/summary';
import { evaluateChampion } from '../domain/gate/championEvaluation';
import { type DriftGateInput, driftCheckOn } from '../domain/gate/driftGate';
import {
  evaluateMetricGate,
  type GateCandidate,
  type GateDecision,
  type MetricGateSettings,
} from '../domain/gate/metricGate';
import {
  evaluateShadowGate,
  type RecordedShadowReport,
  type ShadowGateSettings,
} from '../domain/gate/shadowGate';
import { trainingDataDrift } from '../domain/gate/trainingDataDrift';
import { takeLabels, takeRows } from '../domain/ml/split';
import { decodeSplit } from '../domain/ml/splitArtifact';
import { ModelAliases } from '../domain/registry/aliases';
import { ModelNotFoundError } from '../domain/registry/errors';
import type { ModelVersionMetadata } from '../domain/registry/metadata';
import { ModelRegistry } from '../domain/registry/registry';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';

export type { GateDecision } from '../domain/gate/metricGate';

export interface GateResult {
  decision: GateDecision;
  /** The champion scored on this run's held-out rows (metrics and curves), when it could be. */
  championEvaluation?: ArtifactRef;
}

export interface EvaluateGateParams {
  modelName: string;
  /** The alias whose version is the champion (normally "production"). */
  alias: string;
  settings: MetricGateSettings;
  candidate: GateCandidate;
  /** The rows both are judged on: the split's test rows, or every row when there is no split (an import's evaluation data). */
  heldOut: {
    snapshot: ArtifactRef;
    split?: ArtifactRef;
    target: string;
    /** The snapshot's summary, given when features are categorical: its dictionaries decode the codes for the champion. */
    summary?: ArtifactRef;
  };
  /**
   * The snapshot the candidate was trained on, for the drift check (settings.drift); absent for an
   * import, which was trained elsewhere.
   */
  trainingData?: ArtifactRef;
}

/**
 * Evaluator's blessing: checks the candidate's figures against the model's thresholds and against
 * the champion, which is scored here on the candidate's own held-out rows.
 */
export function evaluateGateActivity(deps: ActivityDeps) {
  return async function evaluateGate(params: EvaluateGateParams): Promise<GateResult> {
    return heartbeating(async () => {
      const registry = new ModelRegistry(deps.store);
      const championVersion = await new ModelAliases(registry)
        .resolve(params.modelName, params.alias)
        .catch((err: unknown) => {
          if (err instanceof ModelNotFoundError) return undefined;
          throw err;
        });
      if (championVersion === undefined) {
        return { decision: evaluateMetricGate({ settings: params.settings, candidate: params.candidate }) };
      }
      const champion = await registry.getVersion(params.modelName, championVersion);
      const drift = driftCheckOn(params.settings.drift)
        ? await trainingDataDriftOf(
            deps,
            champion,
            championVersion,
            params.trainingData,
            params.heldOut.summary,
          )
        : undefined;
      const [onnxBytes, snapshotBytes, splitBytes, summaryBytes] = await Promise.all([
        deps.store.getBytes(champion.artifacts.onnx),
        deps.store.getBytes(params.heldOut.snapshot),
        params.heldOut.split ? deps.store.getBytes(params.heldOut.split) : undefined,
        params.heldOut.summary ? deps.store.getBytes(params.heldOut.summary) : undefined,
      ]);
      const categories = summaryBytes
        ? Object.fromEntries(
            parseDatasetSummary(summaryBytes).columns.flatMap((c) =>
              c.categories ? [[c.name, c.categories.values] as const] : [],
            ),
          )
        : undefined;
      const data = readSnapshot(snapshotBytes, params.heldOut.target);
      const test = splitBytes
        ? decodeSplit(splitBytes).test
        : Uint32Array.from({ length: data.nRows }, (_, i) => i);
      const scored = await evaluateChampion({
        onnxBytes,
        championFeatures: champion.features,
        championOutput: champion.imported?.outputName,
        threshold: champion.threshold,
        heldOut: {
          raw: takeRows(data.x, data.nCols, test),
          labels: takeLabels(data.y, test),
          nRows: test.length,
          features: data.features,
          ...(categories ? { categories } : {}),
        },
      });
      // The champion's curves on these rows, for the report to overlay.
      const championEvaluation = scored.comparable
        ? await deps.store.put(`${JSON.stringify(scored.evaluation)}\n`, {
            kind: 'evaluation',
            mediaType: 'application/json',
            extension: '.json',
          })
        : undefined;
      return {
        ...(championEvaluation ? { championEvaluation } : {}),
        decision: evaluateMetricGate({
          settings: params.settings,
          candidate: params.candidate,
          champion: scored.comparable
            ? { version: championVersion, metrics: scored.metrics }
            : { version: championVersion, notComparable: scored.why },
          ...(drift ? { drift } : {}),
        }),
      };
    });
  };
}

/** The drift check's input: the candidate's training data against the champion's, per feature. */
async function trainingDataDriftOf(
  deps: ActivityDeps,
  champion: ModelVersionMetadata,
  championVersion: number,
  trainingData: ArtifactRef | undefined,
  /** The candidate's dataset summary (given with categorical features): its dictionaries decode the codes. */
  candidateSummaryRef: ArtifactRef | undefined,
): Promise<DriftGateInput> {
  if (!trainingData) return { champion: championVersion, skipped: 'this version has no training data here' };
  const reference = champion.artifacts.dataset;
  if (!reference) {
    return {
      champion: championVersion,
      skipped: `champion v${championVersion} was imported, so there is no training data of its to compare with`,
    };
  }
  const [championBytes, candidateBytes, championSummary, candidateSummary] = await Promise.all([
    deps.store.getBytes(reference),
    deps.store.getBytes(trainingData),
    champion.artifacts.datasetSummary ? deps.store.getBytes(champion.artifacts.datasetSummary) : undefined,
    candidateSummaryRef ? deps.store.getBytes(candidateSummaryRef) : undefined,
  ]);
  // A categorical feature's snapshot cells are codes into each extraction's own dictionary: each
  // side's summary decodes them, and the two are compared as category counts (trainingDataDrift).
  const dictionaries = (bytes: Buffer | undefined) =>
    new Map(
      bytes
        ? parseDatasetSummary(bytes).columns.flatMap((c) =>
            c.categories ? [[c.name, c.categories] as const] : [],
          )
        : [],
    );
  const championDictionaries = dictionaries(championSummary);
  const candidateDictionaries = dictionaries(candidateSummary);
  const categorical = [...new Set([...championDictionaries.keys(), ...candidateDictionaries.keys()])];
  return trainingDataDrift(
    championVersion,
    readSnapshot(championBytes),
    readSnapshot(candidateBytes),
    categorical,
    { champion: championDictionaries, candidate: candidateDictionaries },
  );
}

export interface ShadowGateParams {
  modelName: string;
  version: number;
  alias: string;
  settings: ShadowGateSettings;
}

/**
 * The shadow gate before a promotion by hand: the latest serve-report recorded in the audit log
 * for this version in shadow of the alias's version, judged by domain/gate/shadowGate.ts. Returns
 * the champion it judged against, so the move is refused if the alias moved since.
 */
export function evaluateShadowGateActivity(deps: ActivityDeps) {
  return async function evaluateShadowGateStep(
    params: ShadowGateParams,
  ): Promise<{ decision: GateDecision; champion: number | null }> {
    return heartbeating(async () => {
      const registry = new ModelRegistry(deps.store);
      await registry.getVersion(params.modelName, params.version); // names what exists when it does not
      const champion = await new ModelAliases(registry).resolve(params.modelName, params.alias);
      const reports: RecordedShadowReport[] = [];
      for (const { record } of await new AuditLog(deps.store).entries({ model: params.modelName })) {
        if (record?.type !== 'serve-report' || record.version === undefined) continue;
        const d = record.details as Record<string, unknown>;
        const n = (key: string) => (typeof d[key] === 'number' ? (d[key] as number) : Number.NaN);
        reports.push({
          seq: record.seq,
          at: record.at,
          shadowVersion: record.version,
          primaryVersion: n('primaryVersion'),
          shadowAlias: String(d.shadowAlias ?? ''),
          ...(d.score === 'anomaly_score' ? { score: 'anomaly_score' as const } : {}),
          requests: n('requests'),
          rows: n('rows'),
          agreement: n('agreement'),
          meanAbsDiff: n('meanAbsDiff'),
          maxAbsDiff: n('maxAbsDiff'),
        });
      }
      const decision = evaluateShadowGate({
        model: params.modelName,
        settings: params.settings,
        candidate: params.version,
        champion,
        alias: params.alias,
        reports,
      });
      return { decision, champion: champion ?? null };
    });
  };
}
