/**
 * What the serving benches score: the reference network (139,777 parameters, seeded initial
 * weights: the speed does not depend on them) exported to ONNX with a scaler fitted on generated
 * rows, and the request bodies a client sends (one row, 1,000 rows as JSON arrays, as JSON objects,
 * as CSV). bench/serve.ts registers it and scores it over HTTP; bench/serveStages.ts times each
 * stage of one request in one process. One owner, so both time the same model on the same bytes.
 */
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { DEFAULT_TARGET_COLUMN } from '../../domain/data/targetColumn';
import { encodeCheckpoint } from '../../domain/ml/checkpoint';
import { buildModel } from '../../domain/ml/modelBuilder';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { fitStandardScaler, scalerToJson } from '../../domain/ml/scaler';
import type { StandardScalerParams } from '../../domain/ml/scalerTypes';
import { exportToOnnx } from '../../domain/onnx/exporter';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import { LocalArtifactStore } from '../../domain/storage/localStore';

export const SERVE_FEATURES: readonly string[] = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);
/** The registered model's name. */
export const SERVE_MODEL = 'bench-serve';
/** Rows the scaler is fitted on (generated, seed 2). */
const SAMPLE_ROWS = 4_096;

export interface ReferenceExport {
  onnx: Uint8Array;
  /** The checkpoint and scaler a trained version records, so the service checks it as one. */
  checkpoint: Uint8Array;
  scaler: StandardScalerParams;
}

/** The reference network and its scaler, exported as `apply` and `serve` read it. */
export async function exportReference(modelName = SERVE_MODEL): Promise<ReferenceExport> {
  const n = SERVE_FEATURES.length;
  const x = new Float32Array(SAMPLE_ROWS * n);
  let i = 0;
  for (const row of syntheticFraudRows({ rows: SAMPLE_ROWS, seed: 2 })) x.set(row.slice(0, n), n * i++);
  const scaler = fitStandardScaler(x, SAMPLE_ROWS, n, [...SERVE_FEATURES]);
  const model = buildModel(referenceModelSpec, n);
  try {
    const onnx = exportToOnnx({
      model,
      spec: referenceModelSpec,
      scaler,
      threshold: 0.5,
      metadata: {
        modelName,
        features: [...SERVE_FEATURES],
        target: DEFAULT_TARGET_COLUMN,
        producerVersion: '0.0.0',
        datasetSha256: '0'.repeat(64),
        runId: 'bench',
      },
    });
    const checkpoint = await encodeCheckpoint({
      epoch: 1,
      history: [],
      weights: model.getWeights(),
      optimizer: [],
    });
    return { onnx, checkpoint, scaler };
  } finally {
    model.dispose();
  }
}

/**
 * Registers the reference network (ONNX, checkpoint, scaler) as version 1 of SERVE_MODEL in a
 * local-folder store at `dir`, with `production` and `staging` on it.
 */
export async function registerReference(dir: string): Promise<void> {
  const { onnx, checkpoint, scaler } = await exportReference();
  const store = LocalArtifactStore.fromUri(`file://${dir}`);
  const put = (bytes: Uint8Array | string, kind: 'onnx' | 'model' | 'scaler', ext: string) =>
    store.put(bytes, { kind, mediaType: 'application/octet-stream', extension: ext });
  const artifacts = {
    onnx: await put(onnx, 'onnx', '.onnx'),
    model: await put(checkpoint, 'model', '.bin'),
    scaler: await put(scalerToJson(scaler), 'scaler', '.json'),
  };
  const registry = new ModelRegistry(store);
  await registry.registerVersion(SERVE_MODEL, {
    idempotencyKey: 'bench-serve/1',
    build: {
      features: [...SERVE_FEATURES],
      target: DEFAULT_TARGET_COLUMN,
      threshold: 0.5,
      metrics: {
        tp: 1,
        fp: 1,
        tn: 1,
        fn: 1,
        precision: 0.5,
        recall: 0.5,
        fpr: 0.5,
        f1: 0.5,
        rocAuc: 0.5,
        prAuc: 0.5,
      },
      training: {
        modelSpec: referenceModelSpec,
        classWeights: { mode: 'none', weights: { negative: 1, positive: 1 } },
        split: { testFraction: 0.25, seed: 42, stratified: false, trainRows: SAMPLE_ROWS, testRows: 1 },
        epochsRun: 0,
      },
      backend: 'bench',
      artifacts,
      onnx: {
        size: { bytes: onnx.length, base64Bytes: Math.ceil(onnx.length / 3) * 4, limit: 15_000_000 },
      },
      packageVersions: {},
      codeVersion: 'bench',
      workflowId: 'bench-serve',
      runId: 'bench-serve',
      createdAt: new Date().toISOString(),
      createdBy: 'bench',
      sourceUri: `synthetic:fraud?rows=${SAMPLE_ROWS}&seed=2`,
    },
  });
  for (const alias of ['production', 'staging']) {
    await new ModelAliases(registry).move(SERVE_MODEL, alias, {
      version: 1,
      action: 'promote',
      actor: 'bench',
      reason: 'bench',
      at: new Date().toISOString(),
    });
  }
}

export interface ScoringBodies {
  /** The batch's rows (features only, in feature order). */
  rows: number[][];
  /** `{"rows": [{<feature>: value, ...}]}`: one row by name, as a single-row client sends it. */
  oneRow: string;
  /** `{"rows": [[...], ...]}`: the batch as arrays in feature order. */
  jsonArrays: string;
  /** `{"rows": [{...}, ...]}`: the batch as objects by feature name. */
  jsonObjects: string;
  /** A header row, then the batch. */
  csv: string;
}

/** Request bodies of `batchRows` generated rows (seed 5). */
export function scoringBodies(batchRows = 1_000): ScoringBodies {
  const n = SERVE_FEATURES.length;
  const rows = [...syntheticFraudRows({ rows: batchRows, seed: 5 })].map((r) => r.slice(0, n));
  const byName = (r: number[]) => Object.fromEntries(SERVE_FEATURES.map((f, j) => [f, r[j]]));
  return {
    rows,
    oneRow: JSON.stringify({ rows: [byName(rows[0] as number[])] }),
    jsonArrays: JSON.stringify({ rows }),
    jsonObjects: JSON.stringify({ rows: rows.map(byName) }),
    csv: `${SERVE_FEATURES.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`,
  };
}
