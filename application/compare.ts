import { readSnapshot } from '../domain/data/snapshot';
import { parseDatasetSummary } from '../domain/data/summary';
import type { ImportanceSummary } from '../domain/explain/permutationImportance';
import { evaluateChampion } from '../domain/gate/championEvaluation';
import {
  type CurvePoint,
  evaluationSchema,
  type ModelMetrics,
  modelMetricsSchema,
} from '../domain/ml/metrics';
import { splitIndices, takeLabels, takeRows } from '../domain/ml/split';
import type { ModelVersionMetadata } from '../domain/registry/metadata';
import { resolveModelRef } from './models';
import type { Workspace } from './workspace';

/** One version in a comparison, with what it was stored with. */
export interface ComparedVersion {
  ref: string;
  name: string;
  version: number;
  via?: string;
  kind: 'classifier' | 'anomaly';
  createdAt: string;
  createdBy: string;
  codeVersion: string;
  sourceUri: string;
  datasetSha256?: string;
  /** Rows of the data it was trained (or evaluated) on, and its positive rate, from the dataset summary. */
  data?: { rows: number; positiveRate: number };
  features: string[];
  target: string;
  threshold: number;
  /** As registered (held-out split, or an import's evaluation data); absent when not evaluated. */
  metrics?: ModelMetrics;
  importance?: ImportanceSummary;
  /** Its own stored curves (its own held-out rows). */
  curves?: { roc: CurvePoint[]; pr: CurvePoint[] };
}

/** A setting whose value is not the same in every version; `values` in version order. */
export interface Difference {
  key: string;
  values: Array<string | number | boolean | null>;
}

export interface VersionComparison {
  versions: ComparedVersion[];
  /** Settings and code that differ (training, split, threshold, backend, code version, source, pipeline file). */
  settings: Difference[];
  data: {
    sameSnapshot: boolean;
    /** Schema: features and target per version, and what each lacks or adds against the first. */
    schema: Array<{ ref: string; missing: string[]; added: string[]; orderChanged: boolean; target: string }>;
    sameSchema: boolean;
  };
  /** Every registered metric, its value per version, and each version's difference from the first. */
  metrics: Array<{ metric: string; values: Array<number | null>; deltaFromFirst: Array<number | null> }>;
  /** Every version scored on the same rows (the newest version's held-out split), or why not. */
  sameRows:
    | {
        basis: { ref: string; rows: number; positives: number; description: string };
        results: Array<
          | {
              ref: string;
              comparable: true;
              metrics: ModelMetrics;
              curves: { roc: CurvePoint[]; pr: CurvePoint[] };
            }
          | { ref: string; comparable: false; why: string }
        >;
      }
    | { why: string };
}

const settingKeys = (m: ModelVersionMetadata): Record<string, string | number | boolean | null> => {
  const flat: Record<string, string | number | boolean | null> = {
    kind: m.kind ?? 'classifier',
    threshold: m.threshold,
    backend: m.backend,
    codeVersion: m.codeVersion,
    sourceUri: m.sourceUri,
    pipelineFileSha256: m.pipelineFile?.sha256 ?? null,
  };
  const walk = (prefix: string, value: unknown) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value) || typeof value === 'object') {
      for (const [k, v] of Object.entries(value as object)) walk(`${prefix}.${k}`, v);
    } else flat[prefix] = value as string | number | boolean;
  };
  if (m.training) {
    walk('training.modelSpec', m.training.modelSpec);
    walk('training.classWeights', m.training.classWeights);
    walk('training.split', m.training.split);
    flat['training.epochsRun'] = m.training.epochsRun;
  }
  if (m.autoencoder) walk('autoencoder', m.autoencoder);
  if (m.imported) {
    flat['imported.sha256'] = m.imported.sha256;
    flat['imported.outputName'] = m.imported.outputName;
  }
  return flat;
};

/**
 * Two or more versions side by side (issue 29), for `slipway compare` and the console's compare
 * page: settings and code that differ, data snapshot and schema differences, the registered
 * metrics with their differences, confusion matrices (in the metrics), importances, each one's
 * stored curves, and every version scored on the same rows: the held-out split of the newest
 * version (recomputed from its snapshot and split settings, as the transform step made it), so
 * the comparison is fair even when the versions were trained on different data.
 */
export async function compareVersions(ws: Workspace, refs: string[]): Promise<VersionComparison> {
  if (refs.length < 2) {
    throw new Error(
      `compare needs two or more versions, got ${refs.length}: e.g. slipway compare card-fraud@1 card-fraud@2.`,
    );
  }
  const resolved = await Promise.all(refs.map((ref) => resolveModelRef(ws, ref)));
  const metas = await Promise.all(resolved.map((r) => ws.registry.getVersion(r.name, r.version)));
  const versions: ComparedVersion[] = await Promise.all(
    metas.map(async (m, i) => {
      const r = resolved[i] as (typeof resolved)[number];
      const evaluation = m.artifacts.evaluation
        ? evaluationSchema.safeParse(
            JSON.parse((await ws.store.getBytes(m.artifacts.evaluation)).toString('utf8')),
          )
        : undefined;
      const summary = m.artifacts.datasetSummary
        ? parseDatasetSummary(await ws.store.getBytes(m.artifacts.datasetSummary))
        : undefined;
      return {
        ref: `${r.name}@${r.version}`,
        name: r.name,
        version: r.version,
        ...(r.via ? { via: r.via } : {}),
        kind: m.kind ?? 'classifier',
        createdAt: m.createdAt,
        createdBy: m.createdBy,
        codeVersion: m.codeVersion,
        sourceUri: m.sourceUri,
        ...(m.artifacts.dataset ? { datasetSha256: m.artifacts.dataset.sha256 } : {}),
        ...(summary ? { data: { rows: summary.rows, positiveRate: summary.positiveRate } } : {}),
        features: m.features,
        target: m.target,
        threshold: m.threshold,
        ...(m.metrics ? { metrics: m.metrics } : {}),
        ...(m.importance ? { importance: m.importance } : {}),
        ...(evaluation?.success ? { curves: { roc: evaluation.data.roc, pr: evaluation.data.pr } } : {}),
      };
    }),
  );

  const flats = metas.map(settingKeys);
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))];
  const settings = keys
    .map((key) => ({ key, values: flats.map((f) => (key in f ? (f[key] ?? null) : null)) }))
    .filter((d) => new Set(d.values.map((v) => JSON.stringify(v))).size > 1);

  const first = versions[0] as ComparedVersion;
  const schema = versions.map((v) => ({
    ref: v.ref,
    missing: first.features.filter((f) => !v.features.includes(f)),
    added: v.features.filter((f) => !first.features.includes(f)),
    orderChanged:
      v.features.length === first.features.length &&
      v.features.every((f) => first.features.includes(f)) &&
      v.features.join('\n') !== first.features.join('\n'),
    target: v.target,
  }));

  const metricNames = modelMetricsSchema.keyof().options;
  const metrics = metricNames.map((metric) => {
    const values = versions.map((v) => (v.metrics ? v.metrics[metric] : null));
    const base = values[0];
    return {
      metric,
      values,
      deltaFromFirst: values.map((x) =>
        x === null || base === null || base === undefined ? null : x - base,
      ),
    };
  });

  return {
    versions,
    settings,
    data: {
      sameSnapshot: new Set(versions.map((v) => v.datasetSha256 ?? `none:${v.ref}`)).size === 1,
      schema,
      sameSchema: schema.every(
        (s) => s.missing.length === 0 && s.added.length === 0 && !s.orderChanged && s.target === first.target,
      ),
    },
    metrics,
    sameRows: await scoreOnSameRows(ws, versions, metas),
  };
}

/** Every version scored on the newest version's held-out rows (see compareVersions). */
async function scoreOnSameRows(
  ws: Workspace,
  versions: ComparedVersion[],
  metas: ModelVersionMetadata[],
): Promise<VersionComparison['sameRows']> {
  if (versions.some((v) => v.kind === 'anomaly')) {
    return {
      why: 'anomaly versions are compared on their stored metrics only (their scores are not probabilities)',
    };
  }
  // The newest version that has labelled data to score on.
  const order = versions
    .map((v, i) => ({ v, m: metas[i] as ModelVersionMetadata }))
    .filter(({ m }) => m.artifacts.dataset !== undefined && m.metrics !== undefined)
    .sort((a, b) => b.m.createdAt.localeCompare(a.m.createdAt));
  const basis = order[0];
  if (!basis) return { why: 'no version has labelled data stored to score the others on' };
  const { v, m } = basis;
  const data = readSnapshot(
    await ws.store.getBytes(m.artifacts.dataset as NonNullable<typeof m.artifacts.dataset>),
    m.target,
  );
  const split = m.training?.split ?? m.autoencoder?.split;
  // A trained version's held-out rows, as its transform step drew them; an import's evaluation data whole.
  const rows = split
    ? splitIndices(data.y, { seed: split.seed, testFraction: split.testFraction, stratify: split.stratified })
        .test
    : Uint32Array.from({ length: data.nRows }, (_, i) => i);
  if (split && rows.length !== split.testRows) {
    return {
      why: `${v.ref}'s held-out split could not be drawn again (${rows.length} rows, it recorded ${split.testRows})`,
    };
  }
  // Categorical features: their dictionaries decode the codes for versions that take them as text.
  const summary = m.artifacts.datasetSummary
    ? parseDatasetSummary(await ws.store.getBytes(m.artifacts.datasetSummary))
    : undefined;
  const categories = summary?.columns.some((c) => c.categories)
    ? Object.fromEntries(
        summary.columns.flatMap((c) => (c.categories ? [[c.name, c.categories.values]] : [])),
      )
    : undefined;
  const heldOut = {
    raw: takeRows(data.x, data.nCols, rows),
    labels: takeLabels(data.y, rows),
    nRows: rows.length,
    features: data.features,
    ...(categories ? { categories } : {}),
  };
  const positives = heldOut.labels.reduce((s, y) => s + y, 0);
  const results = await Promise.all(
    versions.map(async (version, i) => {
      const meta = metas[i] as ModelVersionMetadata;
      const scored = await evaluateChampion({
        onnxBytes: await ws.store.getBytes(meta.artifacts.onnx),
        championFeatures: meta.features,
        championOutput: meta.imported?.outputName,
        threshold: meta.threshold,
        heldOut,
      });
      if (!scored.comparable) return { ref: version.ref, comparable: false as const, why: scored.why };
      const { roc, pr } = scored.evaluation;
      return {
        ref: version.ref,
        comparable: true as const,
        metrics: modelMetricsSchema.parse(scored.metrics),
        curves: { roc, pr },
      };
    }),
  );
  return {
    basis: {
      ref: v.ref,
      rows: rows.length,
      positives,
      description: split
        ? `the held-out split of ${v.ref} (${Math.round(split.testFraction * 100)} %, seed ${split.seed})`
        : `the evaluation data of ${v.ref}`,
    },
    results,
  };
}
