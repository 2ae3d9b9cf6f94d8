/**
 * Retention: which content-addressed objects nothing needs any more. Pure: the caller gathers the
 * facts (domain/gc/inventory.ts reads them from the store, the activity asks Temporal which runs
 * are running) and passes the time in; this decides.
 *
 * An object is KEPT when any of these holds, and deleted otherwise:
 *
 *  1. version     a registered version needs it: a reference in its metadata (ONNX, model card,
 *                 report, snapshot, scaler, checkpoint...) or anything upstream of it in lineage,
 *                 as long as the version exists. Alias targets are versions, so they are covered.
 *  2. document    a reference in any other kept document: an audit record (`audit verify`
 *                 re-hashes those), a review, a monitored batch.
 *  3. cache       a step-cache entry within its TTL refers to it. The objects of an entry that
 *                 this run expires stay until the NEXT run: a pipeline that hit the entry just
 *                 before it went has recorded its use in lineage by then (rule 4).
 *  4. running     a run still running (by Temporal) read or wrote it, by its lineage.
 *  5. young       it was written after the cutoff: min(now - olderThan, start of the oldest
 *                 running run). Whatever a running run wrote but has not yet recorded in
 *                 lineage (the checkpoint of the epoch in flight, a step's outputs before its
 *                 execution document) is younger than that run.
 *  6. keep-last   one of the `keepLast` most recent finished runs read or wrote it (by lineage),
 *                 whatever its outcome, so the artifacts of a recent failed run can be looked at.
 *
 * On a versioned bucket, the older versions of every artifact still stored go too, whatever its
 * age: they hold the same bytes as the current version (the key is their sha256), left behind by
 * puts that refreshed the object (see ContentAddressedStore.reuseStored), and an object that goes
 * takes all its versions with it (ArtifactStore.deleteArtifact).
 *
 * So what goes: per-epoch checkpoints, the outputs of failed and cancelled runs and of failed
 * attempts, step outputs that no version came to depend on, and whatever expired cache entries
 * alone kept, each once it is older than `olderThan`. Documents are never deleted, except
 * cache entries past their TTL (which is the meaning of a TTL); lineage keeps describing
 * deleted artifacts, so the history of a run stays readable.
 */

export interface StoredObject {
  key: string;
  sha256: string;
  bytes: number;
  /** ISO time of the last write, from the store's listing; undefined counts as young. */
  modified?: string;
}

export interface CacheEntryFacts {
  key: string;
  /** When the entry was recorded (its origin.recordedAt, else the document's modification time). */
  recordedAt?: string;
  /** sha256 of every artifact its output refers to. */
  refs: string[];
}

export interface RunFacts {
  workflowId: string;
  runId: string;
  /** Running runs: when Temporal started them. Finished runs: when lineage first saw them. */
  at?: string;
  /** sha256 of every artifact its executions read or wrote. */
  refs: string[];
}

/** An older version of a still-stored artifact in a versioned bucket (ArtifactStore.noncurrentVersions). */
export interface StoredVersion {
  key: string;
  versionId: string;
  bytes: number;
  modified?: string;
}

export interface GcInventory {
  objects: StoredObject[];
  /** Older versions a versioned bucket keeps of stored artifacts; absent or empty elsewhere. */
  noncurrentVersions?: StoredVersion[];
  /** Per registered version, the sha256 of every artifact it needs (metadata and upstream lineage). */
  versions: Array<{ name: string; version: number; refs: string[] }>;
  /** Other kept documents (audit records, reviews, monitored batches) and the artifacts they name. */
  documents: Array<{ key: string; refs: string[] }>;
  cacheEntries: CacheEntryFacts[];
  running: RunFacts[];
  /** Finished runs, newest first. */
  finished: RunFacts[];
}

export interface GcPolicy {
  /** ISO time of the decision. */
  now: string;
  /** An unneeded object is deleted only once it is at least this old. */
  olderThanMs: number;
  /** A cache entry is kept this long after it was recorded. */
  cacheTtlMs: number;
  /** Keep everything the newest N finished runs read or wrote. */
  keepLast: number;
}

export type KeepReason = 'version' | 'document' | 'cache' | 'running' | 'young' | 'keep-last';

export interface GcPlan {
  /** Content-addressed objects to delete, by key. */
  deleteObjects: StoredObject[];
  /** Older versions of artifacts that stay (those of deleted objects go with them). */
  deleteVersions: StoredVersion[];
  /** Cache entry documents past their TTL. */
  deleteCacheEntries: string[];
  /** Objects kept, counted by the first rule that kept each. */
  kept: Record<KeepReason, number>;
  bytesFreed: number;
  /** Bytes the older versions hold. */
  versionBytesFreed: number;
  /** Objects written after this are kept (rule 5). */
  cutoff: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_GC_POLICY = { olderThanMs: DAY_MS, cacheTtlMs: 7 * DAY_MS, keepLast: 0 };

export function planGarbageCollection(inventory: GcInventory, policy: GcPolicy): GcPlan {
  const now = Date.parse(policy.now);
  if (!Number.isFinite(now)) throw new RangeError(`planGarbageCollection: now "${policy.now}" is not a time`);
  const cutoff = Math.min(now - policy.olderThanMs, ...inventory.running.map((run) => timeOr(run.at, now)));

  const expired = inventory.cacheEntries.filter(
    (entry) =>
      timeOr(entry.recordedAt, now) < now - policy.cacheTtlMs && timeOr(entry.recordedAt, now) < cutoff,
  );
  // Rule 3: live entries keep their objects, and so (for this run) do the ones expiring now.
  const protectedBy: Array<[KeepReason, Set<string>]> = [
    ['version', new Set(inventory.versions.flatMap((v) => v.refs))],
    ['document', new Set(inventory.documents.flatMap((d) => d.refs))],
    ['cache', new Set(inventory.cacheEntries.flatMap((e) => e.refs))],
    ['running', new Set(inventory.running.flatMap((r) => r.refs))],
  ];
  const recent = inventory.finished.slice(0, Math.max(0, policy.keepLast));
  const keptByRecentRuns = new Set(recent.flatMap((r) => r.refs));

  const kept: Record<KeepReason, number> = {
    version: 0,
    document: 0,
    cache: 0,
    running: 0,
    young: 0,
    'keep-last': 0,
  };
  const deleteObjects: StoredObject[] = [];
  for (const object of inventory.objects) {
    const reason = keepReason(object, protectedBy, keptByRecentRuns, cutoff);
    if (reason) kept[reason]++;
    else deleteObjects.push(object);
  }
  deleteObjects.sort(byKeyThenVersion);
  const going = new Set(deleteObjects.map((o) => o.key));
  const deleteVersions = (inventory.noncurrentVersions ?? [])
    .filter((v) => !going.has(v.key))
    .sort(byKeyThenVersion);
  return {
    deleteObjects,
    deleteVersions,
    deleteCacheEntries: expired.map((e) => e.key).sort(),
    kept,
    bytesFreed: deleteObjects.reduce((sum, o) => sum + o.bytes, 0),
    versionBytesFreed: deleteVersions.reduce((sum, v) => sum + v.bytes, 0),
    cutoff: new Date(cutoff).toISOString(),
  };
}

function byKeyThenVersion(a: { key: string; versionId?: string }, b: { key: string; versionId?: string }) {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  const [x, y] = [a.versionId ?? '', b.versionId ?? ''];
  return x < y ? -1 : x > y ? 1 : 0;
}

function keepReason(
  object: StoredObject,
  protectedBy: Array<[KeepReason, Set<string>]>,
  keptByRecentRuns: Set<string>,
  cutoff: number,
): KeepReason | undefined {
  for (const [reason, shas] of protectedBy) if (shas.has(object.sha256)) return reason;
  // An object whose age the store does not say is treated as just written.
  if (object.modified === undefined || !(Date.parse(object.modified) < cutoff)) return 'young';
  if (keptByRecentRuns.has(object.sha256)) return 'keep-last';
  return undefined;
}

/** A time that does not parse counts as `fallback` (now): young, so kept. */
function timeOr(iso: string | undefined, fallback: number): number {
  const t = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isFinite(t) ? t : fallback;
}

/** "90s", "30m", "12h", "7d", "2w" or a whole number of seconds, in milliseconds. */
export function parseAge(text: string): number | undefined {
  const match = /^(\d+)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }[match[2] ?? 's'] as number;
  return Number(match[1]) * unit;
}
