import { randomBytes, randomUUID } from 'node:crypto';
import { Client, type Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlipwayConfig } from '../../config/env';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { dataConverterFor, ENCRYPTED_ENCODING } from '../../worker/encryptionCodec';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { testServices } from '../support/services';

/**
 * With SLIPWAY_PAYLOAD_KEYS set, the Temporal server stores ciphertext only: the raw history, read
 * without the key, holds no plaintext of the workflow input, results, heartbeats or signals; and
 * no history ever holds the storage credentials.
 */
describe('payload encryption and secrets', () => {
  let world: PipelineWorld;
  let config: SlipwayConfig;
  let connection: Connection;
  const keys = `k1:${randomBytes(32).toString('base64')}`;

  beforeAll(async () => {
    world = await startPipelineWorld('codec-it', { env: { SLIPWAY_PAYLOAD_KEYS: keys } });
    ({ config, connection } = world);
  });

  afterAll(() => world?.close());

  it('keeps the input, results and progress unreadable without the key', { timeout: 300_000 }, async () => {
    const marker = `codec-marker-${randomUUID()}`;
    const withKey = new Client({ connection, dataConverter: dataConverterFor(keys) });
    const workflowId = `codec-${randomUUID()}`;
    const result = (await withKey.workflow.execute('trainToDeploy', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [
        {
          source: 'synthetic:fraud?rows=3000&seed=31',
          modelName: 'fraud-codec',
          spec: { ...referenceModelSpec, epochs: 2 },
          createdBy: marker,
          trainingTaskQueue: config.trainingTaskQueue,
        },
      ],
    })) as PipelineResult;
    expect(result.outcome).toBe('promoted'); // the key holders read everything as usual

    const plain = new Client({ connection }); // no codec: what the server (and its database) holds
    const raw = historyToJSON(await plain.workflow.getHandle(workflowId).fetchHistory());
    expect(raw).not.toContain(marker);
    expect(raw).not.toContain('synthetic:fraud');
    expect(raw).not.toContain('fraud-codec');
    expect(raw).not.toContain(result.onnx.onnx.sha256);
    const encodings = [...raw.matchAll(/"encoding":\s*"([^"]+)"/g)].map((m) =>
      Buffer.from(m[1] as string, 'base64').toString(),
    );
    expect(encodings.length).toBeGreaterThan(10);
    expect(new Set(encodings)).toEqual(new Set([ENCRYPTED_ENCODING]));
    // Credentials travel in configuration only, never in payloads.
    for (const secret of [testServices().s3.secretKey, testServices().s3.accessKey]) {
      expect(raw).not.toContain(secret);
      expect(raw).not.toContain(Buffer.from(secret).toString('base64'));
    }

    // Without the key a client cannot read the result: it fails instead of returning ciphertext.
    await expect(plain.workflow.getHandle(workflowId).result()).rejects.toThrow();
  });
});
