import { referenceModelSpec } from '../../domain/ml/modelSpec';
import type { ModelVersionDraft } from '../../domain/registry/metadata';
import type { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactKind, ArtifactRef } from '../../domain/storage/artifactRef';
import type { ArtifactStore } from '../../domain/storage/artifactStore';

export const FEATURES = ['Time', ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`), 'Amount'];

/** Small real artifacts in the store, one per lineage slot, so every ref in a draft resolves. */
export async function storeArtifacts(
  store: ArtifactStore,
  tag = 'a',
): Promise<ModelVersionDraft['artifacts']> {
  const put = (kind: ArtifactKind, text: string, extension: string): Promise<ArtifactRef> =>
    store.put(`${kind} ${tag} ${text}`, { kind, mediaType: 'application/octet-stream', extension });
  return {
    dataset: await put('dataset', FEATURES.join(','), '.arrow'),
    datasetSummary: await put('dataset-summary', '{"rows":1000}', '.json'),
    scaler: await put('scaler', '{"kind":"standard"}', '.json'),
    model: await put('model', 'weights', '.json'),
    onnx: await put('onnx', 'graph', '.onnx'),
    evaluation: await put('evaluation', '{"tp":88}', '.json'),
  };
}

/** A complete, valid draft with the reference pipeline's shape; figures are plausible, not special. */
export function makeDraft(
  artifacts: ModelVersionDraft['artifacts'],
  overrides: Partial<ModelVersionDraft> = {},
): ModelVersionDraft {
  return {
    features: FEATURES,
    target: 'Class',
    threshold: 0.5,
    metrics: {
      tp: 88,
      fp: 412,
      tn: 70_678,
      fn: 24,
      precision: 0.176,
      recall: 0.785_714_285_714_285_7,
      fpr: 0.005_795,
      f1: 0.287_581_699_346_405_2,
      rocAuc: 0.9712,
      prAuc: 0.7123,
    },
    training: {
      modelSpec: referenceModelSpec,
      classWeights: { mode: 'inverse-frequency', weights: { negative: 1 / 213_236, positive: 1 / 369 } },
      split: { testFraction: 0.25, seed: 42, stratified: false, trainRows: 213_605, testRows: 71_202 },
      epochsRun: 50,
    },
    backend: 'wasm-blas',
    artifacts,
    onnx: {
      parity: { maxAbsDiff: 2.384e-7, rowsCompared: 1000, onnxBoundUsed: 0.0123, trainerBoundUsed: 0.004 },
      size: { bytes: 567_890, base64Bytes: 757_188, limit: 15_000_000 },
    },
    packageVersions: { '@tensorflow/tfjs': '4.22.0', 'onnxruntime-node': '1.30.0' },
    codeVersion: 'slipway 0.1.0+abc123',
    workflowId: 'train-fraud-1',
    runId: '5b7a0c1e-0000-4000-8000-000000000001',
    createdAt: '2026-02-14T10:11:12.000Z',
    createdBy: 'alice',
    sourceUri: 'synthetic:fraud?rows=284807&seed=7',
    ...overrides,
  };
}

/**
 * `count` registrations of one model at once, the i-th with `keyFor(i)` and a draft built for the
 * number it is given; returns them with the version numbers they won, ascending.
 */
export async function registerAtOnce(
  registry: ModelRegistry,
  count: number,
  keyFor: (i: number) => string,
  draftFor: (i: number, version: number) => ModelVersionDraft,
) {
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      registry.registerVersion('fraud', {
        idempotencyKey: keyFor(i),
        build: (version) => draftFor(i, version),
      }),
    ),
  );
  return { results, versions: results.map((r) => r.metadata.version).sort((a, b) => a - b) };
}
