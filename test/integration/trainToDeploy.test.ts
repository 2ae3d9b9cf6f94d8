import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlipwayConfig } from '../../config/env';
import { progressQuery } from '../../contracts/messages';
import { AuditLog } from '../../domain/audit/auditLog';
import { verifyAuditLog } from '../../domain/audit/verify';
import { readSnapshot } from '../../domain/data/snapshot';
import { fingerprintSource } from '../../domain/data/sourceFingerprint';
import { modelVersions, sourceArtifacts } from '../../domain/lineage/graph';
import { downstreamLineage, upstreamLineage } from '../../domain/lineage/query';
import { renderLineage } from '../../domain/lineage/render';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { scoreWithOnnx } from '../../domain/onnx/parity';
import { modelVersionMetadataSchema } from '../../domain/registry/metadata';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { createS3Client, parseS3Uri } from '../../domain/storage/s3Client';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/** The whole pipeline on the real Temporal dev server with artifacts in the real MinIO. */
describe('trainToDeploy end to end', () => {
  let world: PipelineWorld;
  let config: SlipwayConfig;
  let client: Client;

  beforeAll(async () => {
    world = await startPipelineWorld('pipeline-it');
    ({ config, client } = world);
  });

  afterAll(() => world?.close());

  it('takes 20,000 generated rows to a registered, parity-checked ONNX version', {
    timeout: 600_000,
  }, async () => {
    const workflowId = `pipeline-${randomUUID()}`;
    const result = (await client.workflow.execute('trainToDeploy', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [
        {
          source: 'synthetic:fraud?rows=20000&seed=11',
          modelName: 'fraud-e2e',
          spec: { ...referenceModelSpec, epochs: 3 },
          trainingTaskQueue: config.trainingTaskQueue,
          createdBy: 'e2e-test',
        },
      ],
    })) as PipelineResult;

    expect(Object.fromEntries(result.steps.map((s) => [s.step, s.status]))).toEqual({
      extract: 'done',
      validate: 'done', // against no champion: nothing to compare with
      transform: 'done',
      train: 'done',
      evaluate: 'done',
      export: 'done',
      gate: 'done',
      report: 'done',
      register: 'done',
      review: 'skipped', // no review asked for
      promote: 'done',
    });
    // The first version of a model has no champion to beat, and no thresholds were set.
    expect(result.gate.blessed).toBe(true);
    expect(result.outcome).toBe('promoted');
    expect(result.version).toBeGreaterThanOrEqual(1);
    expect(result.epochsRun).toBe(3);

    const store = openArtifactStore(config);
    const registry = new ModelRegistry(store);
    const metadata = modelVersionMetadataSchema.parse(await registry.getVersion('fraud-e2e', result.version));
    expect(metadata.workflowId).toBe(workflowId);
    expect(metadata.backend).toBe(result.backend);
    expect(metadata.features).toHaveLength(30);
    expect(metadata.metrics).toMatchObject({
      tp: result.metrics.tp,
      fp: result.metrics.fp,
      recall: result.metrics.recall,
    });
    expect((metadata.metrics?.tp ?? 0) + (metadata.metrics?.fn ?? 0)).toBe(result.prepared.testPositives);
    expect(metadata.onnx.parity?.onnxBoundUsed).toBeLessThan(1);
    expect(metadata.onnx.parity?.trainerBoundUsed).toBeLessThan(1);
    expect(metadata.onnx.parity?.rowsCompared).toBe(result.prepared.testRows);

    // The stored ONNX file, read back with its checksum verified, scores like the metadata says.
    const onnxBytes = await store.getBytes(metadata.artifacts.onnx);
    const props = Object.fromEntries(decodeModel(onnxBytes).metadataProps.map((p) => [p.key, p.value]));
    expect(props['slipway.model_name']).toBe('fraud-e2e');
    const dataset = metadata.artifacts.dataset;
    if (!dataset) throw new Error('a trained version records its dataset');
    expect(props['slipway.dataset_sha256']).toBe(dataset.sha256);
    const snapshot = readSnapshot(await store.getBytes(dataset), 'Class');
    const scores = await scoreWithOnnx(onnxBytes, snapshot.x, snapshot.nRows, snapshot.nCols);
    expect(scores.every((p) => p >= 0 && p <= 1)).toBe(true);
    // The evaluation report: one self-contained page with every chart, the threshold marked.
    const html = (await store.getBytes(metadata.artifacts.report ?? result.report)).toString('utf8');
    for (const chart of ['pr', 'roc', 'confusion', 'training', 'balance'])
      expect(html).toContain(`data-chart="${chart}"`);
    expect(html.match(/data-marker="threshold"/g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(metadata.artifacts.report?.sha256).toBe(result.report.sha256);
    const card = await registry.getModelCard('fraud-e2e', result.version);
    expect(card).toContain('fraud-e2e');

    // Epoch-level progress, as `slipway status` shows it: one entry per epoch, with held-out figures.
    const progress = await client.workflow.getHandle(workflowId).query(progressQuery);
    expect(progress.training.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    for (const epoch of progress.training.epochs) {
      expect(epoch.loss).toBeGreaterThan(0);
      expect(epoch.valRecall).toBeGreaterThanOrEqual(0);
      expect(epoch.valFpr).toBeLessThan(1);
      expect(epoch.attempt).toBe(1);
    }
    expect(progress.steps.every((s) => s.status === 'skipped' || s.durationMs !== undefined)).toBe(true);
  });

  it('reuses cached steps when the same pipeline runs again on unchanged data, unless told not to', {
    timeout: 600_000,
  }, async () => {
    const run = async (cache: boolean) =>
      (await client.workflow.execute('trainToDeploy', {
        taskQueue: config.taskQueue,
        workflowId: `pipeline-cache-${randomUUID()}`,
        args: [
          {
            source: 'synthetic:fraud?rows=20000&seed=23',
            modelName: 'fraud-cache',
            spec: { ...referenceModelSpec, epochs: 5 },
            trainingTaskQueue: config.trainingTaskQueue,
            cache,
          },
        ],
      })) as PipelineResult;
    const cached = ['extract', 'transform', 'train', 'evaluate', 'export'];
    const seconds = (r: PipelineResult) =>
      r.steps.filter((s) => cached.includes(s.step)).reduce((sum, s) => sum + (s.durationMs ?? 0), 0) / 1000;

    const first = await run(true);
    const second = await run(true);
    const statuses = (r: PipelineResult) => Object.fromEntries(r.steps.map((s) => [s.step, s.cache]));
    expect(statuses(first)).toMatchObject({
      extract: 'miss',
      transform: 'miss',
      train: 'miss',
      export: 'miss',
    });
    expect(statuses(second)).toMatchObject({
      extract: 'hit',
      transform: 'hit',
      train: 'hit',
      evaluate: 'hit',
      export: 'hit',
    });
    // The reused outputs are the very same artifacts, and the run still registers its own version.
    expect(second.trained.model.sha256).toBe(first.trained.model.sha256);
    expect(second.onnx.onnx.sha256).toBe(first.onnx.onnx.sha256);
    expect(second.trained.cache?.reusedFrom?.workflowId).toBe(first.workflowId);
    expect(second.version).toBe(first.version + 1);
    expect(second.metrics).toEqual(first.metrics);
    console.log(
      `step cache: cacheable steps took ${seconds(first).toFixed(1)} s, then ${seconds(second).toFixed(1)} s`,
    );
    expect(seconds(second)).toBeLessThan(seconds(first) / 3);

    const uncached = await run(false);
    expect(new Set(uncached.steps.filter((s) => cached.includes(s.step)).map((s) => s.cache))).toEqual(
      new Set(['off']),
    );
    expect(uncached.epochsRun).toBe(5);

    // Lineage: the newest version leads back to the exact bytes of its source...
    const store = openArtifactStore(config);
    const source = await fingerprintSource('synthetic:fraud?rows=20000&seed=23');
    const upstream = await upstreamLineage(store, 'fraud-cache', uncached.version);
    const roots = sourceArtifacts(upstream);
    expect(roots.map((r) => ({ uri: r.uri, sha256: r.sha256, bytes: r.bytes }))).toEqual([
      { uri: source.sourceUri, sha256: source.sha256, bytes: source.bytes },
    ]);
    expect(renderLineage(upstream, 'text')).toContain(source.sha256);
    // ...and the source leads forward to every version trained from it, cache hits included.
    const downstream = await downstreamLineage(store, { uri: source.sourceUri });
    expect(modelVersions(downstream)).toEqual(
      [first, second, uncached].map((r) => ({ name: 'fraud-cache', version: r.version })),
    );

    // Audit: every registration, gate decision and promotion is chained, and holds until a byte moves.
    const audit = await verifyAuditLog(store);
    expect(audit.ok, JSON.stringify(audit.problems)).toBe(true);
    const types = (await new AuditLog(store).entries({ model: 'fraud-cache' })).map((e) => e.record?.type);
    expect(types.filter((t) => t === 'registration')).toHaveLength(3);
    expect(types.filter((t) => t === 'promotion')).toHaveLength(3);
    const onnx = parseS3Uri(uncached.onnx.onnx.uri);
    const raw = createS3Client(config).client;
    const bytes = await store.getBytes(uncached.onnx.onnx);
    bytes[100] = (bytes[100] as number) ^ 1;
    await raw.putObject(onnx.bucket, onnx.key, bytes);
    const tampered = await verifyAuditLog(store);
    expect(tampered.ok).toBe(false);
    expect(tampered.firstBroken?.problem).toBe('artifact-mismatch');
  });
});
