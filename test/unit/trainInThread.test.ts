import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toApplicationFailure } from '../../activities/failures';
import { SnapshotWriter } from '../../domain/data/snapshot';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { TrainingInputError } from '../../domain/ml/errors';
import { fitStandardScaler, scalerToJson } from '../../domain/ml/scaler';
import { splitIndices, takeRows } from '../../domain/ml/split';
import { encodeSplit } from '../../domain/ml/splitArtifact';
import type { EpochResult } from '../../domain/ml/train';
import { runningTrainingThreads, trainInThread } from '../../domain/ml/trainInThread';
import { runTrainingJob, type TrainingJob } from '../../domain/ml/trainingJob';
import { smallNetworkSpec } from '../support/modelSpecs';
import { rejectionOf } from '../support/rejection';

const spec = smallNetworkSpec(16, { batchSize: 256, epochs: 3, seed: 3 });

let dir: string;
/** Stored bytes of a small synthetic data set, as the training activity reads them from the store. */
let stored: { snapshot: Buffer; split: Buffer; scaler: Buffer };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-thread-'));
  const features = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);
  const target = SYNTHETIC_FRAUD_COLUMNS.at(-1) as string;
  const writer = new SnapshotWriter(join(dir, 'snap.arrow'), features, target);
  const rows = [...syntheticFraudRows({ rows: 3000, seed: 9 })];
  for (const row of rows) writer.add(row.slice(0, -1), row.at(-1) === 1 ? 1 : 0);
  await writer.close();
  const y = Uint8Array.from(rows, (r) => (r.at(-1) === 1 ? 1 : 0));
  const x = Float32Array.from(rows.flatMap((r) => r.slice(0, -1)));
  const split = splitIndices(y, { seed: 1, stratify: true, testFraction: 0.25 });
  const scaler = fitStandardScaler(
    takeRows(x, features.length, split.train),
    split.train.length,
    features.length,
    features,
  );
  stored = {
    snapshot: await readFile(join(dir, 'snap.arrow')),
    split: encodeSplit(split, { seed: 1, stratify: true, testFraction: 0.25 }),
    scaler: Buffer.from(scalerToJson(scaler)),
  };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A job over fresh copies of the stored bytes (a thread takes the arrays it is given). */
function job(extra: Partial<TrainingJob> = {}): TrainingJob {
  return {
    snapshot: Buffer.from(stored.snapshot),
    split: Buffer.from(stored.split),
    scaler: Buffer.from(stored.scaler),
    target: 'Class',
    spec,
    classWeightMode: 'balanced',
    backend: 'cpu',
    ...extra,
  };
}

describe('training in a worker thread', () => {
  it('trains exactly as in this thread, reports every epoch with its checkpoint, and resumes from one', async () => {
    const here: Array<{ epoch: EpochResult; checkpoint: Uint8Array }> = [];
    const inProcess = await runTrainingJob(job(), {
      onEpoch: (epoch, checkpoint) => void here.push({ epoch, checkpoint }),
    });

    const input = job();
    const starts: string[] = [];
    const there: Array<{ epoch: EpochResult; checkpoint: Uint8Array }> = [];
    const threaded = await trainInThread(input, {
      onStart: (s) => void starts.push(s.backend.name),
      async onEpoch(epoch, checkpoint) {
        await new Promise((r) => setTimeout(r, 20)); // a slow store: epochs must still arrive in order
        there.push({ epoch, checkpoint });
      },
    });
    expect(starts).toEqual(['cpu']);
    expect(there.map((e) => e.epoch.epoch)).toEqual([1, 2, 3]);
    expect(threaded.history.map((h) => h.loss)).toEqual(inProcess.history.map((h) => h.loss));
    expect(threaded.classWeights).toEqual(inProcess.classWeights);
    expect(weightsOf(there[2]?.checkpoint)).toEqual(weightsOf(here[2]?.checkpoint));
    // The big inputs moved to the thread instead of being copied.
    expect(input.snapshot.byteLength).toBe(0);

    // Resumed in a thread from the first epoch's checkpoint: the same end as the uninterrupted run.
    const resumeFrom = there[0]?.checkpoint as Uint8Array;
    const resumedEpochs: Uint8Array[] = [];
    const resumed = await trainInThread(job({ resumeFrom }), {
      onEpoch: (_epoch, checkpoint) => void resumedEpochs.push(checkpoint),
    });
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(resumedEpochs).toHaveLength(2);
    expect(weightsOf(resumedEpochs[1])).toEqual(weightsOf(here[2]?.checkpoint));
    expect(resumeFrom.byteLength).toBeGreaterThan(0); // the caller's copy stays usable
  });

  it('brings bad input back as the same non-retryable TrainingInputError', async () => {
    const inProcess = await rejectionOf(runTrainingJob(job({ backend: 'abacus' })));
    const threaded = await rejectionOf(trainInThread(job({ backend: 'abacus' })));
    expect(threaded).toBeInstanceOf(TrainingInputError);
    expect(threaded.message).toBe(inProcess.message);
    expect(threaded.type).toBe('BackendUnavailable');
    expect(toApplicationFailure(threaded)).toMatchObject({
      type: 'BackendUnavailable',
      nonRetryable: true,
      message: inProcess.message,
    });

    const badSplit = await rejectionOf(trainInThread(job({ split: Buffer.from('not a split') })));
    expect(badSplit).toBeInstanceOf(TrainingInputError);
    expect(badSplit.message).toMatch(/The stored split cannot be read/);
  });

  it('ends the thread mid-training when aborted, and a failing epoch handler fails the run', async () => {
    const controller = new AbortController();
    const long = { ...spec, epochs: 1000 };
    const aborted = trainInThread(job({ spec: long }), {
      signal: controller.signal,
      onEpoch: (epoch) => {
        if (epoch.epoch === 2) controller.abort(new Error('cancelled by the test'));
      },
    });
    expect((await rejectionOf(aborted)).message).toBe('cancelled by the test');
    await until(() => runningTrainingThreads() === 0);

    const storeDown = trainInThread(job({ spec: long }), {
      onEpoch: () => Promise.reject(new Error('store unavailable')),
    });
    expect((await rejectionOf(storeDown)).message).toBe('store unavailable');
    await until(() => runningTrainingThreads() === 0);
  });
});

/** A checkpoint's weights and optimizer state: its bytes after the JSON header (which holds timings). */
function weightsOf(checkpoint: Uint8Array | undefined): Buffer {
  if (!checkpoint) throw new Error('no checkpoint');
  const bytes = Buffer.from(checkpoint);
  return bytes.subarray(4 + bytes.readUInt32LE(0));
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
