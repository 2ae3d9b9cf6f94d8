import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { encodeChecked, exportDenseModel } from '../../domain/onnx/exporter';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { ModelNotFoundError } from '../../domain/registry/errors';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/**
 * The parity gate inside a running pipeline (issue 28): a worker whose exporter writes one wrong
 * weight (a bug a real exporter could have) runs the real trainToDeploy. The export step must
 * refuse the file, the workflow fail with ExportParityError after one attempt, and nothing be
 * registered: no version, no alias, no ONNX object in the store.
 */
describe('the parity gate in a pipeline', () => {
  let world: PipelineWorld;
  let exports = 0;

  beforeAll(async () => {
    world = await startPipelineWorld('parity-refusal', {
      deps: {
        exportDenseModel(options) {
          exports++;
          const exported = exportDenseModel(options);
          const model = decodeModel(exported.bytes);
          // The last layer's bias, moved far beyond any rounding: every probability shifts.
          const bias = [...model.graph.initializer].reverse().find((t) => /bias/.test(t.name ?? ''));
          if (!bias?.rawData) throw new Error('the exported graph has no bias initializer to corrupt');
          const values = new Float32Array(Uint8Array.from(bias.rawData).buffer);
          values[0] = (values[0] as number) + 2;
          bias.rawData = new Uint8Array(values.buffer);
          return { bytes: encodeChecked(model), layers: exported.layers };
        },
      },
    });
  });
  afterAll(() => world?.close());

  it('refuses a corrupted export: the run fails with ExportParityError and nothing is registered', {
    timeout: 300_000,
  }, async () => {
    const store = openArtifactStore(world.config);
    const failure = await world.client.workflow
      .execute('trainToDeploy', {
        taskQueue: world.config.taskQueue,
        workflowId: `parity-refusal-${randomUUID()}`,
        args: [
          {
            source: 'synthetic:fraud?rows=4000&seed=3',
            modelName: 'parity-refusal',
            spec: { ...referenceModelSpec, epochs: 1 },
            trainingTaskQueue: world.config.trainingTaskQueue,
            createdBy: 'parity-test',
          },
        ],
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const chain: string[] = [];
    for (let c = failure as (Error & { type?: string }) | undefined; c; c = c.cause as typeof c)
      chain.push(`${c.type ?? c.name}: ${c.message}`);
    expect(chain.join(' <- ')).toMatch(/ExportParityError/);
    // One attempt: a file that fails parity is not retried.
    expect(exports).toBe(1);

    const registry = new ModelRegistry(store);
    await expect(registry.listVersions('parity-refusal')).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(await registry.listModels()).toEqual([]);
    const objects = (await store.list('')).map((o) => o.key);
    expect(objects.filter((k) => k.endsWith('.onnx'))).toEqual([]);
    expect(objects.filter((k) => k.startsWith('registry/') || k.includes('/aliases'))).toEqual([]);
    // The steps before export did run and keep their artifacts: the refusal is the export's.
    expect(objects.some((k) => k.endsWith('.arrow'))).toBe(true);
  });
});
