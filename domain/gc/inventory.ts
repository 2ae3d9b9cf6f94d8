import { mapLimited } from '../audit/auditLog';
import { RECORDS_PREFIX } from '../audit/layout';
import { artifactRefsIn, STEP_CACHE_PREFIX } from '../cache/stepCache';
import { LineageNotFoundError } from '../lineage/errors';
import { LINEAGE_PREFIX, runKey } from '../lineage/layout';
import { upstreamLineage } from '../lineage/query';
import { eventSchema, runContextSchema } from '../lineage/schema';
import { parseVersionKey, REGISTRY_PREFIX, versionKey } from '../registry/layout';
import { artifactKinds } from '../storage/artifactRef';
import type { ArtifactStore } from '../storage/artifactStore';
import { sha256OfContentKey } from '../storage/keys';
import { MONITORING_PREFIX } from '../validation/monitoring';
import type { CacheEntryFacts, GcInventory, RunFacts, StoredObject } from './plan';

/** A run Temporal says is running (its workflow ID, run ID and start time). */
export interface RunningRun {
  workflowId: string;
  runId: string;
  startedAt: string;
}

const READS_IN_FLIGHT = 8;

/**
 * Reads from the store what planGarbageCollection decides on. The running runs come from the
 * caller (Temporal knows them, the store does not). Read order matters for a store in use: the
 * objects are listed FIRST, so anything a run writes later is simply not a candidate; the
 * lineage of running runs is read LAST, as close to the deletion as possible.
 */
export async function collectGcInventory(
  store: ArtifactStore,
  options: { running: RunningRun[]; keepLast: number },
): Promise<GcInventory> {
  const objects = await listContentObjects(store);
  const noncurrentVersions = (
    await Promise.all(artifactKinds.map((kind) => store.noncurrentVersions(`${kind}/sha256/`)))
  ).flat();
  const registryDocs = (await store.list(REGISTRY_PREFIX)).filter(({ key }) => key.endsWith('.json'));
  const versionKeys = registryDocs.map(({ key }) => parseVersionKey(key)).filter((v) => v !== undefined);
  const versions = await mapLimited(versionKeys, READS_IN_FLIGHT, async ({ name, version }) => ({
    name,
    version,
    refs: await versionRefs(store, name, version),
  }));
  const otherDocs = [
    ...registryDocs.filter(({ key }) => parseVersionKey(key) === undefined),
    ...(await store.list(RECORDS_PREFIX)),
    ...(await store.list(MONITORING_PREFIX)).filter(({ key }) => key.endsWith('.json')),
  ];
  const documents = await mapLimited(otherDocs, READS_IN_FLIGHT, async ({ key }) => ({
    key,
    refs: refsOf(await readJson(store, key)),
  }));
  const cacheEntries = await listCacheEntries(store);
  const finished = await recentFinishedRuns(store, options.running, options.keepLast);
  const running = await mapLimited(options.running, READS_IN_FLIGHT, async (run) => ({
    workflowId: run.workflowId,
    runId: run.runId,
    at: run.startedAt,
    refs: await runRefs(store, run.workflowId, run.runId),
  }));
  return { objects, noncurrentVersions, versions, documents, cacheEntries, running, finished };
}

async function listContentObjects(store: ArtifactStore): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  for (const kind of artifactKinds) {
    for (const info of await store.list(`${kind}/sha256/`)) {
      const sha256 = sha256OfContentKey(info.key);
      if (sha256 !== undefined) objects.push({ ...info, sha256 });
    }
  }
  return objects;
}

/** Every artifact a version names in its metadata, and everything upstream of it in lineage. */
async function versionRefs(store: ArtifactStore, name: string, version: number): Promise<string[]> {
  const refs = new Set(refsOf(await readJson(store, versionKey(name, version))));
  try {
    const graph = await upstreamLineage(store, name, version);
    for (const node of graph.nodes) if (node.type === 'artifact') refs.add(node.sha256);
  } catch (error) {
    // A version registered before lineage was recorded: its metadata is all there is.
    if (!(error instanceof LineageNotFoundError)) throw error;
  }
  return [...refs];
}

async function listCacheEntries(store: ArtifactStore): Promise<CacheEntryFacts[]> {
  const listed = (await store.list(STEP_CACHE_PREFIX)).filter(({ key }) => key.endsWith('.json'));
  return mapLimited(listed, READS_IN_FLIGHT, async ({ key, modified }) => {
    const entry = (await readJson(store, key)) as { origin?: { recordedAt?: unknown } } | undefined;
    const recordedAt = entry?.origin?.recordedAt;
    return {
      key,
      recordedAt: typeof recordedAt === 'string' ? recordedAt : modified,
      refs: refsOf(entry),
    };
  });
}

/**
 * The `keepLast` newest finished runs by when lineage first saw them (the modification time of
 * their run context), with everything their executions read or wrote.
 */
async function recentFinishedRuns(
  store: ArtifactStore,
  running: RunningRun[],
  keepLast: number,
): Promise<RunFacts[]> {
  if (keepLast <= 0) return [];
  const runningKeys = new Set(running.map((r) => runKey(r.workflowId, r.runId)));
  const contexts = (await store.list(`${LINEAGE_PREFIX}runs/`))
    .filter(({ key }) => !runningKeys.has(key.slice(key.lastIndexOf('/') + 1, -'.json'.length)))
    .sort((a, b) => (b.modified ?? '').localeCompare(a.modified ?? ''))
    .slice(0, keepLast);
  return mapLimited(contexts, READS_IN_FLIGHT, async ({ key, modified }) => {
    const context = runContextSchema.parse(await readJson(store, key));
    return {
      workflowId: context.workflowId,
      runId: context.runId,
      at: modified,
      refs: await runRefs(store, context.workflowId, context.runId),
    };
  });
}

/**
 * Every artifact a run's executions read or wrote, from its event documents. Events are written
 * before their execution's document, so a step still recording is included.
 */
async function runRefs(store: ArtifactStore, workflowId: string, runId: string): Promise<string[]> {
  const events = await store.list(`${LINEAGE_PREFIX}events/${runKey(workflowId, runId)}.`);
  const shas = await mapLimited(events, READS_IN_FLIGHT, async ({ key }) => {
    const parsed = eventSchema.safeParse(await readJson(store, key));
    return parsed.success ? parsed.data.artifactSha256 : undefined;
  });
  return [...new Set(shas.filter((s): s is string => s !== undefined))];
}

function refsOf(document: unknown): string[] {
  return [...new Set(artifactRefsIn(document).map((ref) => ref.sha256))];
}

/** A JSON document, or undefined when it is gone or not JSON (then it names nothing). */
async function readJson(store: ArtifactStore, key: string): Promise<unknown> {
  const bytes = await store.getDocument(key);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
