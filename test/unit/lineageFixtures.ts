import { join } from 'node:path';
import { extractDataset } from '../../domain/data/extract';
import { LineageStore } from '../../domain/lineage/lineageStore';
import type { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactKind, ArtifactRef } from '../../domain/storage/artifactRef';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { makeDraft } from './registryFixtures';

export interface RecordedRun {
  workflowId: string;
  runId: string;
  source: { uri: string; sha256: string; bytes: number };
  snapshot: ArtifactRef;
  summary: ArtifactRef;
  split: ArtifactRef;
  scaler: ArtifactRef;
  model: ArtifactRef;
  evaluation: ArtifactRef;
  onnx: ArtifactRef;
  name: string;
  version: number;
}

export interface RunOptions {
  workflowId: string;
  runId: string;
  /** A CSV file: extraction is the real one, so the source hash is of the real bytes. */
  sourcePath: string;
  workDir: string;
  /** Registers the version (in the real registry) and says which one it got. */
  register(
    artifacts: Omit<RecordedRun, 'workflowId' | 'runId' | 'source' | 'split' | 'name' | 'version'>,
  ): Promise<{
    name: string;
    version: number;
  }>;
  /** The outputs of extraction came from the step cache instead of running. */
  extractCached?: boolean;
  /** Training's first attempt failed (a worker lost mid-epoch) and the second succeeded. */
  trainRetried?: boolean;
}

const CODE = 'slipway 0.1.0+test';

/**
 * Records one pipeline run the way the activities are meant to (see the wiring proposed in
 * domain/lineage/README.md): every step's execution with its inputs and outputs. Extraction is the
 * real domain code on a real CSV; the later steps store small stand-in bytes (the lineage is what
 * is under test, and real training would cost seconds per run), each derived from its inputs so
 * different inputs give different artifacts, as real steps would.
 */
export async function recordRun(store: ArtifactStore, options: RunOptions): Promise<RecordedRun> {
  const lineage = new LineageStore(store);
  const { workflowId, runId } = options;
  // Times move forward through a run, the same for the same run, so a repeat is a true repeat.
  let clock = Date.parse('2026-02-14T10:00:00.000Z');
  const tick = () => {
    clock += 1000;
    return new Date(clock).toISOString();
  };
  const base = { workflowId, runId, codeVersion: CODE, worker: 'test-host:4242' };
  // A step that ran once, from now to the next tick; its outcome, inputs and outputs are added by the caller.
  const ranOnce = (step: string, params: Record<string, unknown>) => ({
    ...base,
    step,
    attempt: 1,
    params,
    startedAt: tick(),
    endedAt: tick(),
  });
  const put = (kind: ArtifactKind, text: string): Promise<ArtifactRef> =>
    store.put(text, { kind, mediaType: 'application/octet-stream', extension: '.bin' });

  const extracted = await extractDataset({
    source: options.sourcePath,
    store,
    workDir: join(options.workDir, 'extract'),
  });
  const source = {
    uri: extracted.summaryDoc.sourceUri,
    sha256: extracted.summaryDoc.sourceSha256,
    bytes: extracted.summaryDoc.sourceBytes,
  };
  const { snapshot, summary } = extracted;
  await lineage.recordExecution({
    ...ranOnce('extract', { target: 'Class', features: null }),
    outcome: options.extractCached ? 'cached' : 'succeeded',
    cache: options.extractCached ? { key: 'f'.repeat(64), reusedFrom: { workflowId: 'earlier' } } : undefined,
    inputs: { source: { ...source, kind: 'source' } },
    outputs: { snapshot, summary },
  });

  const split = await put('split', `split of ${snapshot.sha256} seed 42`);
  const scaler = await put('scaler', `scaler of ${snapshot.sha256} on ${split.sha256}`);
  await lineage.recordExecution({
    ...ranOnce('prepare', { testFraction: 0.25, seed: 42 }),
    outcome: 'succeeded',
    inputs: { snapshot },
    outputs: { split, scaler },
  });

  const trainInputs = { snapshot, split, scaler };
  let attempt = 1;
  // One attempt of the train step; its outcome (and outputs or error) are added by the caller.
  const trainAttempt = () => ({
    ...base,
    step: 'train',
    attempt,
    params: { epochs: 5 },
    startedAt: tick(),
    endedAt: tick(),
    inputs: trainInputs,
  });
  if (options.trainRetried) {
    await lineage.recordExecution({
      ...trainAttempt(),
      outcome: 'failed',
      error: { type: 'HeartbeatTimeout', message: 'the worker stopped heartbeating' },
    });
    attempt++;
  }
  const model = await put(
    'model',
    `weights from ${snapshot.sha256} ${split.sha256} ${scaler.sha256} ${runId}`,
  );
  await lineage.recordExecution({
    ...trainAttempt(),
    outcome: 'succeeded',
    outputs: { model },
  });

  const evaluation = await put('evaluation', `evaluation of ${model.sha256}`);
  await lineage.recordExecution({
    ...ranOnce('evaluate', { threshold: 0.5 }),
    outcome: 'succeeded',
    inputs: { snapshot, split, scaler, model },
    outputs: { evaluation },
  });

  const onnx = await put('onnx', `onnx of ${model.sha256} with ${scaler.sha256}`);
  await lineage.recordExecution({
    ...ranOnce('export', { opset: 13 }),
    outcome: 'succeeded',
    inputs: { model, scaler },
    outputs: { onnx },
  });

  const startedAt = tick();
  const registered = await options.register({ snapshot, summary, scaler, model, evaluation, onnx });
  await lineage.recordExecution({
    ...base,
    step: 'register',
    attempt: 1,
    params: { name: registered.name },
    startedAt,
    endedAt: tick(),
    outcome: 'succeeded',
    inputs: { onnx, model, scaler, evaluation, snapshot, summary },
    registered,
  });
  return {
    workflowId,
    runId,
    source,
    snapshot,
    summary,
    split,
    scaler,
    model,
    evaluation,
    onnx,
    ...registered,
  };
}

/**
 * Records run `n` of the model "fraud" (workflow train-fraud-<n>, run run-<n>) with `recordRun`,
 * registering its version in `registry` with the run's artifacts, as the pipeline does.
 */
export function recordFraudRun(
  store: ArtifactStore,
  registry: ModelRegistry,
  n: number,
  options: Pick<RunOptions, 'sourcePath' | 'workDir' | 'extractCached' | 'trainRetried'>,
): Promise<RecordedRun> {
  return recordRun(store, {
    workflowId: `train-fraud-${n}`,
    runId: `run-${n}`,
    ...options,
    register: async (artifacts) => {
      const { metadata } = await registry.registerVersion('fraud', {
        idempotencyKey: `train-fraud-${n}/run-${n}`,
        build: makeDraft({
          dataset: artifacts.snapshot,
          datasetSummary: artifacts.summary,
          scaler: artifacts.scaler,
          model: artifacts.model,
          onnx: artifacts.onnx,
          evaluation: artifacts.evaluation,
        }),
      });
      return { name: metadata.name, version: metadata.version };
    },
  });
}
