import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { InvalidLineageRecordError, LineageNotFoundError } from '../../domain/lineage/errors';
import {
  type ArtifactNode,
  type ExecutionNode,
  modelVersions,
  sourceArtifacts,
} from '../../domain/lineage/graph';
import { LineageStore } from '../../domain/lineage/lineageStore';
import { downstreamLineage, upstreamLineage } from '../../domain/lineage/query';
import { renderText } from '../../domain/lineage/render';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import type { LocalArtifactStore } from '../../domain/storage/localStore';
import { useTempStore } from '../support/tempStore';
import { recordFraudRun } from './lineageFixtures';

let dir: string;
let store: LocalArtifactStore;
let registry: ModelRegistry;

const temp = useTempStore('slipway-lineage-', 'artifacts');
beforeEach(() => {
  ({ root: dir, store } = temp);
  registry = new ModelRegistry(store);
});

/** A small credit-card-shaped CSV; `salt` changes the bytes (and so the snapshot). */
async function writeSource(name: string, salt = 0): Promise<string> {
  const rows = ['Time,V1,V2,Amount,Class'];
  for (let i = 0; i < 24; i++)
    rows.push(
      `${i},${(i * 0.37 + salt).toFixed(2)},${(-i * 0.11).toFixed(2)},${10 + i},${i % 8 === 0 ? 1 : 0}`,
    );
  const path = join(dir, name);
  await writeFile(path, `${rows.join('\n')}\n`);
  return path;
}

function run(n: number, sourcePath: string, more: { extractCached?: boolean; trainRetried?: boolean } = {}) {
  return recordFraudRun(store, registry, n, { sourcePath, workDir: join(dir, 'work'), ...more });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('upstream lineage', () => {
  it('follows a deployed model back to the exact bytes of its source', async () => {
    const sourcePath = await writeSource('transactions.csv');
    const recorded = await run(1, sourcePath, { trainRetried: true });
    const aliases = new ModelAliases(registry);
    await aliases.move('fraud', 'production', {
      version: recorded.version,
      action: 'promote',
      actor: 'alice',
      reason: 'first model',
      at: '2026-02-14T11:00:00.000Z',
    });

    // What `slipway lineage fraud@production` does: resolve the alias, then walk upstream.
    const version = await aliases.resolve('fraud', 'production');
    expect(version).toBe(1);
    const graph = await upstreamLineage(store, 'fraud', version as number);

    const bytes = await readFile(sourcePath);
    expect(sourceArtifacts(graph)).toEqual([
      {
        id: `artifact:${sha256(bytes)}`,
        type: 'artifact',
        kind: 'source',
        sha256: sha256(bytes),
        bytes: bytes.length,
        uri: pathToFileURL(sourcePath).href,
      },
    ]);
    // Every stored node still holds the bytes its sha256 names (the store's read verifies).
    const stored = graph.nodes.filter((n): n is ArtifactNode => n.type === 'artifact' && n.kind !== 'source');
    expect(stored.map((n) => n.kind).sort()).toEqual(
      ['dataset', 'dataset-summary', 'evaluation', 'model', 'onnx', 'scaler', 'split'].sort(),
    );
    for (const node of stored) {
      const data = await store.getBytes({
        uri: node.uri,
        sha256: node.sha256,
        bytes: node.bytes,
        kind: node.kind,
        mediaType: node.mediaType ?? '',
      });
      expect(sha256(data)).toBe(node.sha256);
    }
    const executions = graph.nodes.filter((n): n is ExecutionNode => n.type === 'execution');
    // Breadth-first from the registration, its inputs in role order; the failed attempt 1 of
    // training produced nothing, so it is not on the chain.
    expect(executions.map((e) => [e.step, e.attempt, e.outcome])).toEqual([
      ['register', 1, 'succeeded'],
      ['evaluate', 1, 'succeeded'],
      ['train', 2, 'succeeded'],
      ['export', 1, 'succeeded'],
      ['prepare', 1, 'succeeded'],
      ['extract', 1, 'succeeded'],
    ]);
    // The chain is unbroken: source -> extract -> snapshot -> prepare -> scaler -> train -> model -> export -> onnx -> register.
    const edge = (from: string, to: string, role: string) =>
      expect(graph.edges).toContainEqual({ from, to, role });
    const ex = (step: string) => executions.find((e) => e.step === step)?.id as string;
    edge(`artifact:${sha256(bytes)}`, ex('extract'), 'source');
    edge(ex('extract'), `artifact:${recorded.snapshot.sha256}`, 'snapshot');
    edge(`artifact:${recorded.snapshot.sha256}`, ex('prepare'), 'snapshot');
    edge(ex('prepare'), `artifact:${recorded.scaler.sha256}`, 'scaler');
    edge(`artifact:${recorded.scaler.sha256}`, ex('train'), 'scaler');
    edge(ex('train'), `artifact:${recorded.model.sha256}`, 'model');
    edge(`artifact:${recorded.model.sha256}`, ex('export'), 'model');
    edge(ex('export'), `artifact:${recorded.onnx.sha256}`, 'onnx');
    edge(`artifact:${recorded.onnx.sha256}`, ex('register'), 'onnx');
    edge(ex('register'), 'model:fraud@1', 'registered');

    const text = renderText(graph);
    expect(text.split('\n')[0]).toMatch(/^fraud@1 \(model version, registered /);
    expect(text).toContain(
      `source: source sha256:${sha256(bytes)} (${bytes.length} bytes) ${pathToFileURL(sourcePath).href}`,
    );
  });

  it('walks within the run that made the version, even when other runs made the same bytes', async () => {
    const sourcePath = await writeSource('transactions.csv');
    await run(1, sourcePath);
    const second = await run(2, sourcePath, { extractCached: true });
    const graph = await upstreamLineage(store, 'fraud', second.version);
    const runs = new Set(
      graph.nodes.filter((n) => n.type === 'execution').map((n) => (n as ExecutionNode).runId),
    );
    expect([...runs]).toEqual(['run-2']);
    const extract = graph.nodes.find((n) => n.type === 'execution' && n.step === 'extract') as ExecutionNode;
    expect(extract.outcome).toBe('cached');
    expect(sourceArtifacts(graph).map((n) => n.sha256)).toEqual([second.source.sha256]);
  });

  it('says plainly when a version has no lineage', async () => {
    const error = await upstreamLineage(store, 'fraud', 7).catch((e) => e);
    expect(error).toBeInstanceOf(LineageNotFoundError);
    expect(error.message).toContain('fraud@7');
  });
});

describe('downstream lineage', () => {
  it('finds every version trained on a source, by URI or by any artifact hash along the way', async () => {
    const sourceA = await writeSource('a.csv');
    const sourceB = await writeSource('b.csv', 5);
    const v1 = await run(1, sourceA);
    const v2 = await run(2, sourceA, { extractCached: true, trainRetried: true });
    const v3 = await run(3, sourceB);

    const byUri = await downstreamLineage(store, { uri: pathToFileURL(sourceA).href });
    expect(modelVersions(byUri)).toEqual([
      { name: 'fraud', version: v1.version },
      { name: 'fraud', version: v2.version },
    ]);
    expect(byUri.roots).toEqual([`artifact:${v1.source.sha256}`]);
    expect(modelVersions(await downstreamLineage(store, { sha256: v1.source.sha256 }))).toHaveLength(2);
    expect(modelVersions(await downstreamLineage(store, { sha256: v1.snapshot.sha256 }))).toHaveLength(2);
    expect(modelVersions(await downstreamLineage(store, { sha256: v1.model.sha256 }))).toEqual([
      { name: 'fraud', version: 1 },
    ]);
    expect(modelVersions(await downstreamLineage(store, { uri: pathToFileURL(sourceB).href }))).toEqual([
      { name: 'fraud', version: v3.version },
    ]);
    // Only paths that end in a model version are kept; the failed training attempt is not one.
    const failed = byUri.nodes.filter((n) => n.type === 'execution' && n.outcome === 'failed');
    expect(failed).toEqual([]);
  });

  it('follows a source URI through every content it had, and a copy of the bytes elsewhere to its models', async () => {
    const source = await writeSource('a.csv');
    const first = await run(1, source);
    await writeSource('a.csv', 1); // the file at the same path changes
    const second = await run(2, source);
    expect(second.source.sha256).not.toBe(first.source.sha256);
    const copy = join(dir, 'copy-of-first.csv');
    await writeSource('a.csv');
    await copyFile(source, copy);
    const third = await run(3, copy);
    expect(third.source.sha256).toBe(first.source.sha256);

    const byUri = await downstreamLineage(store, { uri: pathToFileURL(source).href });
    expect(modelVersions(byUri).map((m) => m.version)).toEqual([1, 2, 3]);
    const byOldBytes = await downstreamLineage(store, { sha256: first.source.sha256 });
    expect(modelVersions(byOldBytes).map((m) => m.version)).toEqual([1, 3]);
  });

  it('says plainly when nothing is recorded for the hash or URI', async () => {
    await expect(downstreamLineage(store, { sha256: 'a'.repeat(64) })).rejects.toBeInstanceOf(
      LineageNotFoundError,
    );
    await expect(downstreamLineage(store, { uri: 'file:///nowhere.csv' })).rejects.toThrow(
      /file:\/\/\/nowhere.csv/,
    );
  });
});

describe('recording', () => {
  const lineageOf = () => new LineageStore(store);
  const base = {
    workflowId: 'wf',
    runId: 'run',
    step: 'train',
    attempt: 1,
    codeVersion: 'slipway 0.1.0',
    params: { epochs: 5 },
    startedAt: '2026-02-14T10:00:00.000Z',
  };

  async function snapshotOfStore(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const { key } of await store.list('lineage/'))
      out[key] = (await store.getDocument(key))?.toString('utf8') ?? '';
    return out;
  }

  it('is idempotent: recording a run twice writes the same documents with the same bytes', async () => {
    const sourcePath = await writeSource('a.csv');
    await run(1, sourcePath, { trainRetried: true });
    const before = await snapshotOfStore();
    expect(Object.keys(before).length).toBeGreaterThan(20);
    // A retried registration returns the same version, and its lineage call repeats.
    await run(1, sourcePath, { trainRetried: true });
    expect(await snapshotOfStore()).toEqual(before);
  });

  it('keeps every attempt as its own execution and links outputs only from the one that succeeded', async () => {
    const sourcePath = await writeSource('a.csv');
    const recorded = await run(1, sourcePath, { trainRetried: true });
    const executions = await lineageOf().runExecutions('train-fraud-1', 'run-1');
    expect(
      executions.filter((e) => e.step === 'train').map((e) => [e.attempt, e.outcome, e.error?.type]),
    ).toEqual([
      [1, 'failed', 'HeartbeatTimeout'],
      [2, 'succeeded', undefined],
    ]);
    const producers = await lineageOf().links('output', recorded.model.sha256);
    expect(producers.map((p) => p.executionId.split('.').slice(1))).toEqual([['train', '2']]);
    const consumers = await lineageOf().links('input', recorded.snapshot.sha256);
    expect(consumers.filter((c) => c.executionId.includes('.train.')).length).toBe(2);
  });

  it('lets a finished execution overwrite its running record, never the reverse', async () => {
    const lineage = lineageOf();
    await lineage.recordExecution({ ...base, outcome: 'running' });
    const done = await lineage.recordExecution({
      ...base,
      outcome: 'succeeded',
      endedAt: '2026-02-14T10:05:00.000Z',
    });
    await lineage.recordExecution({ ...base, outcome: 'running' });
    expect(await lineage.getExecution(done.id)).toEqual(done);
    expect(done.paramsHash).toBe(sha256(Buffer.from('{"epochs":5}')));
  });

  it.each([
    [
      'outputs on a failed attempt',
      { outcome: 'failed', endedAt: '2026-02-14T10:05:00Z', outputs: { model: 'x' } },
      'only a succeeded or cached',
    ],
    [
      'a registration by a failed attempt',
      { outcome: 'failed', endedAt: '2026-02-14T10:05:00Z', registered: { name: 'fraud', version: 1 } },
      'cannot have registered',
    ],
    ['no end time on a finished execution', { outcome: 'succeeded' }, 'endedAt'],
    ['a dot in the step name', { step: 'train.v2', outcome: 'running' }, 'step'],
    ['attempt 0', { attempt: 0, outcome: 'running' }, 'attempt'],
    ['a role with a dot', { outcome: 'running', inputs: { 'snap.shot': 'x' } }, 'snap.shot'],
    [
      'an artifact without sha256',
      { outcome: 'running', inputs: { snapshot: { uri: 'file:///x', bytes: 1, kind: 'dataset' } } },
      'inputs.snapshot',
    ],
    ['parameters JSON cannot hold', { outcome: 'running', params: { lr: Number.POSITIVE_INFINITY } }, '$.lr'],
  ])('refuses %s', async (_what, overrides, message) => {
    const artifact = { uri: 'file:///a/model', sha256: 'b'.repeat(64), bytes: 3, kind: 'model' };
    const request = JSON.parse(JSON.stringify({ ...base, ...overrides }), (_k, v) =>
      v === 'x' ? artifact : v,
    );
    if ('params' in overrides) request.params = overrides.params;
    const error = await lineageOf()
      .recordExecution(request)
      .catch((e) => e);
    expect(error).toBeInstanceOf(InvalidLineageRecordError);
    expect(error.message).toContain(message);
    expect(error.retryable).toBe(false);
    expect(await store.list('lineage/executions/')).toEqual([]);
  });
});
