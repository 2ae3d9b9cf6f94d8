import { randomUUID } from 'node:crypto';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GarbageCollectionResult } from '../../activities/gc';
import { collectGarbageNow, scheduleGarbageCollection } from '../../application/gc';
import { progressQuery } from '../../contracts/messages';
import { approveUpdate } from '../../contracts/review';
import { AuditLog } from '../../domain/audit/auditLog';
import { verifyAuditLog } from '../../domain/audit/verify';
import { artifactRefsIn } from '../../domain/cache/stepCache';
import { upstreamLineage } from '../../domain/lineage/query';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { versionKey } from '../../domain/registry/layout';
import type { ArtifactStore } from '../../domain/storage/artifactStore';
import { openArtifactStore } from '../../domain/storage/openStore';
import { createS3Client } from '../../domain/storage/s3Client';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/**
 * Retention on the real services (issue 28): a first pipeline leaves garbage (per-epoch
 * checkpoints, step-cache entries) beside version 1, and an object no run or version names is
 * planted; a second pipeline is running (training, or waiting for its review) when `slipway gc`
 * runs, dry and then for real, through the CLI. The dry run must list exactly what the real run
 * deletes; nothing a version, an audit record or the running pipeline needs may go; the running
 * pipeline must still complete; `audit verify` must pass after it.
 */
describe('slipway gc', () => {
  let world: PipelineWorld;
  let store: ArtifactStore;

  beforeAll(async () => {
    world = await startPipelineWorld('gc');
    store = openArtifactStore(world.config);
  });
  afterAll(() => world?.close());

  const pipeline = (name: string, seed: number, epochs: number, gate: object = {}, extra: object = {}) =>
    world.client.workflow.start('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `gc-${name}-${randomUUID()}`,
      args: [
        {
          source: `synthetic:fraud?rows=4000&seed=${seed}`,
          modelName: 'gc-model',
          spec: { ...referenceModelSpec, epochs },
          createdBy: 'carol',
          trainingTaskQueue: world.config.trainingTaskQueue,
          // The gate is not what this test is about: any version passes it.
          gate: { metric: { thresholds: { minRecall: 0 }, champion: { maxRegression: 1 } }, ...gate },
          ...extra,
        },
      ],
    });

  async function waitForReview(handle: WorkflowHandle): Promise<void> {
    while (!(await handle.query(progressQuery)).review) await new Promise((r) => setTimeout(r, 100));
  }

  /** Waits until the run is training (an epoch reported) or waiting for its review. */
  async function waitUntilBusy(handle: WorkflowHandle): Promise<string> {
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.review) return 'waiting for review';
      if (progress.training.epochs.length > 0) return `training, epoch ${progress.training.epochs.length}`;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The dry run through the real CLI; the others through the application layer it calls. */
  async function gcCli(...flags: string[]): Promise<GarbageCollectionResult> {
    const result = await slipwayAs('carol', world.env, [
      'gc',
      '--older-than',
      '0s',
      '--cache-ttl',
      '0s',
      '--json',
      ...flags,
    ]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as GarbageCollectionResult;
  }

  const gc = (dryRun: boolean) =>
    collectGarbageNow(world, { dryRun, olderThanMs: 0, cacheTtlMs: 0, actor: 'carol' });

  /** sha256 of everything a version names or has upstream. */
  async function versionNeeds(version: number): Promise<Set<string>> {
    const metadata = JSON.parse(String(await store.getDocument(versionKey('gc-model', version))));
    const needs = new Set(artifactRefsIn(metadata).map((r) => r.sha256));
    for (const node of (await upstreamLineage(store, 'gc-model', version)).nodes)
      if (node.type === 'artifact') needs.add(node.sha256);
    return needs;
  }

  it('deletes only what nothing needs while a pipeline runs; the dry run lists exactly that; audit verify passes', {
    timeout: 240_000,
  }, async () => {
    const first = (await (await pipeline('first', 11, 3)).result()) as PipelineResult;
    expect(first.version).toBe(1);
    const orphan = await store.put(Buffer.from(`left by a failed run ${randomUUID()}`), {
      kind: 'dataset',
      mediaType: 'text/plain',
    });
    const checkpointsOfFirst = (await store.list('checkpoint/')).map((o) => o.key);
    expect(checkpointsOfFirst.length).toBeGreaterThan(1);

    // The second run waits for a review after registering, so it is certainly running during gc.
    const second = await pipeline('second', 12, 8, {
      review: { required: true, approvers: ['alice'], timeoutSeconds: 600 },
    });
    const state = await waitUntilBusy(second);
    const secondStart = (await second.describe()).startTime.getTime();

    const dry = await gcCli('--dry-run');
    const real = await gc(false);
    console.log(
      `gc during the second run (${state}): dry run listed ${dry.objectCount}, real run deleted ` +
        `${real.objectCount} objects (${real.bytesFreed} bytes) and ${real.cacheEntries.length} cache entries; ` +
        `kept ${JSON.stringify(real.kept)}`,
    );
    expect(real.runningRuns).toBe(1);
    expect(real.objects.map((o) => o.key)).toEqual(dry.objects.map((o) => o.key));
    expect(real.cacheEntries).toEqual(dry.cacheEntries);
    expect(dry.auditSeqs).toEqual([]);
    expect(real.objectCount).toBe(real.objects.length);
    const deleted = new Set(real.objects.map((o) => o.key));
    expect(deleted).toContain(orphan.uri.slice(store.location.length + 1));
    expect(real.objects.some((o) => o.key.startsWith('checkpoint/'))).toBe(true);
    expect(real.cacheEntries.length).toBeGreaterThan(0);
    for (const key of deleted) expect(await store.head(key)).toBeUndefined();
    // Nothing written since the running pipeline started was a candidate.
    expect(Date.parse(real.cutoff)).toBe(secondStart);

    // The running pipeline completes, and its version and the first one need nothing that went.
    await waitForReview(second);
    await second.executeUpdate(approveUpdate, { args: [{ approver: 'alice', reason: 'fine' }] });
    const result = (await second.result()) as PipelineResult;
    expect(result.outcome).toBe('promoted');
    for (const version of [1, 2]) {
      const needs = await versionNeeds(version);
      expect(real.objects.filter((o) => needs.has(o.sha256))).toEqual([]);
    }

    // Every deletion is in the audit log, and the chain and every artifact it cites verify.
    const recorded = (await new AuditLog(store).entries())
      .map((e) => e.record)
      .filter((r) => r?.type === 'gc')
      .flatMap((r) => [
        ...((r?.details.objects as Array<{ key: string }> | undefined) ?? []).map((o) => o.key),
        ...((r?.details.cacheEntries as string[] | undefined) ?? []),
      ]);
    expect(recorded.sort()).toEqual([...deleted, ...real.cacheEntries].sort());
    const verified = await verifyAuditLog(store);
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);

    // A second gc after the run finished finds only the running run's leftovers, never a version's.
    const after = await gc(true);
    const needs = new Set([...(await versionNeeds(1)), ...(await versionNeeds(2))]);
    expect(after.objects.filter((o) => needs.has(o.sha256))).toEqual([]);
  });

  it('--keep-last keeps what the newest finished runs read or wrote, though no version needs it', {
    timeout: 120_000,
  }, async () => {
    // A run cancelled after its transform: its split and scaler are in its lineage, and no version
    // or cache entry (caching off) needs them.
    const splitsBefore = new Set((await store.list('split/')).map((o) => o.key));
    const handle = await pipeline('cancelled', 13, 50, {}, { cache: false });
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (progress.steps.find((s) => s.step === 'transform')?.status === 'done') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.cancel();
    await handle.result().catch(() => undefined);
    const ownSplits = (await store.list('split/')).filter((o) => !splitsBefore.has(o.key)).map((o) => o.key);
    expect(ownSplits).toHaveLength(1);

    const none = await collectGarbageNow(world, {
      dryRun: true,
      olderThanMs: 0,
      cacheTtlMs: 0,
      actor: 'carol',
    });
    const last = await gcCli('--dry-run', '--keep-last', '1');
    expect(none.runningRuns).toBe(0);
    expect(none.objects.map((o) => o.key)).toEqual(expect.arrayContaining(ownSplits));
    expect(last.objects.map((o) => o.key)).not.toEqual(expect.arrayContaining(ownSplits));
    // What the newest run holds is kept back, each counted under its rule. (The other way round
    // does not hold: the cancelled training attempt may still write a checkpoint after the first
    // reading, which the second then finds old enough to list.)
    const heldBack = none.objects.filter((o) => !last.objects.some((l) => l.key === o.key));
    expect(heldBack.length).toBeGreaterThanOrEqual(1);
    expect(last.kept['keep-last']).toBe(heldBack.length);
  });

  it('collects garbage in a local directory store (file://) too', { timeout: 60_000 }, async () => {
    const local = await startPipelineWorld('gc-file', { artifacts: 'file', queues: ['main'] });
    try {
      const localStore = openArtifactStore(local.config);
      const root = fileURLToPath(localStore.location);
      const put = (text: string) =>
        localStore.put(`${text} ${randomUUID()}`, { kind: 'checkpoint', mediaType: 'text/plain' });
      const [oldOrphan, youngOrphan, cited] = [await put('old'), await put('young'), await put('cited')];
      await new AuditLog(localStore).append({
        type: 'cancellation',
        actor: 'carol',
        at: new Date().toISOString(),
        details: { workflowId: 'w' },
        artifacts: [cited],
      });
      const keyOfRef = (ref: { uri: string }) => ref.uri.slice(localStore.location.length + 1);
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
      for (const ref of [oldOrphan, cited])
        await utimes(join(root, ...keyOfRef(ref).split('/')), twoHoursAgo, twoHoursAgo);

      // Through the application layer the CLI calls (the CLI's own path is the first case's).
      const collect = (dryRun: boolean) =>
        collectGarbageNow(local, { dryRun, olderThanMs: 3_600_000, cacheTtlMs: 0, actor: 'carol' });
      const dry = await collect(true);
      const real = await collect(false);
      expect(dry.objects.map((o) => o.key)).toEqual([keyOfRef(oldOrphan)]);
      expect(real.objects).toEqual(dry.objects);
      expect(real.kept).toMatchObject({ document: 1, young: 1 });
      expect(await localStore.exists(oldOrphan)).toBe(false);
      expect(await localStore.exists(youngOrphan)).toBe(true);
      expect(await localStore.exists(cited)).toBe(true);
      expect((await verifyAuditLog(localStore)).ok).toBe(true);
    } finally {
      await local.close();
    }
  });

  it('on a versioned bucket, removes the versions refreshes left and every version of what it deletes', {
    timeout: 90_000,
  }, async () => {
    // A bucket of its own with versioning on (MinIO supports it), so the shared bucket stays as it is.
    const bucket = `gc-versioned-${randomUUID().slice(0, 8)}`;
    const raw = createS3Client(world.config).client;
    await raw.makeBucket(bucket);
    await raw.setBucketVersioning(bucket, { Status: 'Enabled' });
    const versions = () =>
      new Promise<Array<{ name: string; versionId: string; isDeleteMarker?: boolean }>>((resolve, reject) => {
        const found: Array<{ name: string; versionId: string; isDeleteMarker?: boolean }> = [];
        const stream = raw.listObjects(bucket, '', true, { IncludeVersion: true });
        stream.on('data', (v) =>
          found.push(v as { name: string; versionId: string; isDeleteMarker?: boolean }),
        );
        stream.once('error', reject);
        stream.once('end', () => resolve(found));
      });
    const versioned = await startPipelineWorld('gc-versioned', {
      queues: ['main'],
      env: { SLIPWAY_ARTIFACTS: `s3://${bucket}/gc` },
    });
    try {
      const vstore = openArtifactStore(versioned.config);
      const options = { kind: 'checkpoint', mediaType: 'text/plain' } as const;
      const [orphanText, citedText] = [`orphan ${randomUUID()}`, `cited ${randomUUID()}`];
      const [orphan, cited] = [await vstore.put(orphanText, options), await vstore.put(citedText, options)];
      await new AuditLog(vstore).append({
        type: 'cancellation',
        actor: 'carol',
        at: new Date().toISOString(),
        details: { workflowId: 'w' },
        artifacts: [cited],
      });
      // Stored again: each refresh (a copy onto itself) leaves the previous version behind.
      await vstore.put(orphanText, options);
      await vstore.put(citedText, options);
      const keyOfRef = (ref: { uri: string }) => ref.uri.slice(vstore.location.length + 1);
      const [orphanKey, citedKey] = [keyOfRef(orphan), keyOfRef(cited)];
      const versionsOf = async (key: string) => (await versions()).filter((v) => v.name === `gc/${key}`);
      expect((await versionsOf(orphanKey)).length).toBe(2);
      expect((await versionsOf(citedKey)).length).toBe(2);

      const collect = (dryRun: boolean) =>
        collectGarbageNow(versioned, { dryRun, olderThanMs: 0, cacheTtlMs: 0, actor: 'carol' });
      const dry = await collect(true);
      const real = await collect(false);
      expect(dry.objects.map((o) => o.key)).toEqual([orphanKey]);
      // The cited object stays; its older version goes (the orphan's go with the orphan).
      expect(dry.versions.map((v) => v.key)).toEqual([citedKey]);
      expect(real.objects).toEqual(dry.objects);
      expect(real.versions).toEqual(dry.versions);
      expect(real.versionBytesFreed).toBe(Buffer.byteLength(citedText));
      // No version and no delete marker of the orphan is left; the cited object has its current version only.
      expect(await versionsOf(orphanKey)).toEqual([]);
      expect((await versionsOf(citedKey)).map((v) => v.isDeleteMarker === true)).toEqual([false]);
      expect(await vstore.getBytes(cited)).toEqual(Buffer.from(citedText));
      // Both deletions are in the audit log, and it verifies.
      const recorded = (await new AuditLog(vstore).entries())
        .map((e) => e.record)
        .filter((r) => r?.type === 'gc');
      expect(
        recorded.flatMap((r) => (r?.details.noncurrentVersions as Array<{ key: string }>) ?? []),
      ).toEqual([expect.objectContaining({ key: citedKey, versionId: real.versions[0]?.versionId })]);
      expect((await verifyAuditLog(vstore)).problems).toEqual([]);
    } finally {
      await versioned.close();
      const left = await versions();
      if (left.length > 0)
        await raw.removeObjects(
          bucket,
          left.map((v) => ({ name: v.name, versionId: v.versionId })),
        );
      await raw.removeBucket(bucket);
    }
  });

  it('runs on a Temporal schedule', { timeout: 120_000 }, async () => {
    const scheduleId = `gc-${randomUUID().slice(0, 8)}`;
    await scheduleGarbageCollection(world, {
      scheduleId,
      everyMs: 3_600_000,
      input: { olderThanMs: 3_600_000, actor: 'carol' },
    });
    const schedule = world.client.schedule.getHandle(scheduleId);
    try {
      expect((await schedule.describe()).action).toMatchObject({ workflowType: 'collectGarbage' });
      await schedule.trigger();
      let started: string | undefined;
      while (!started) {
        started = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
        if (!started) await new Promise((r) => setTimeout(r, 200));
      }
      const result = (await world.client.workflow.getHandle(started).result()) as GarbageCollectionResult;
      expect(result.dryRun).toBe(false);
      // Nothing is an hour old here: the scheduled run keeps everything.
      expect(result.objectCount).toBe(0);
      const created = (await new AuditLog(store).entries()).map((e) => e.record?.details);
      expect(created).toContainEqual(expect.objectContaining({ scheduleId, change: 'created' }));
    } finally {
      await schedule.delete();
    }
  });
});
