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
    const history = await plain.workflow.getHandle(workflowId).fetchHistory();
    // The one plain payload a history may hold: the SDK's own version markers (patched()), written
    // by its core below the data converter, whose details are the patch's name and nothing else.
    const patchMarkers = (history.events ?? []).filter(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_patch',
    );
    for (const event of patchMarkers) {
      const details = event.markerRecordedEventAttributes?.details ?? {};
      for (const payloads of Object.values(details)) {
        for (const payload of payloads.payloads ?? []) {
          const body = JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8'));
          // e.g. {"id":"data-validation","deprecated":false}: the name and a flag, nothing of the run.
          expect(Object.keys(body).sort(), 'a patch marker carries only its patch name').toEqual([
            'deprecated',
            'id',
          ]);
          expect(body.id).toMatch(/^[a-z0-9-]+$/);
        }
      }
      event.markerRecordedEventAttributes = { ...event.markerRecordedEventAttributes, details: {} };
    }
    // And the search attribute the SDK upserts with them (the patch names, for visibility queries).
    for (const event of history.events ?? []) {
      const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      if (!fields) continue;
      for (const [name, payload] of Object.entries(fields)) {
        expect(name, 'the only search attribute a run upserts is the SDK’s patch list').toBe(
          'TemporalChangeVersion',
        );
        const names = JSON.parse(Buffer.from(payload.data ?? new Uint8Array()).toString('utf8'));
        expect(names.every((n: unknown) => typeof n === 'string' && /^[a-z0-9-]+$/.test(n))).toBe(true);
        delete fields[name];
      }
    }
    const raw = historyToJSON(history);
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
