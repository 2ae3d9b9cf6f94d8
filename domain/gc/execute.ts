import { AuditLog, mapLimited } from '../audit/auditLog';
import { canonicalJson } from '../cache/canonicalJson';
import type { ArtifactStore } from '../storage/artifactStore';
import { sha256Hex } from '../storage/hashing';
import type { GcPlan, StoredObject } from './plan';

/** Objects per audit record: keeps each record a few tens of KiB however much goes. */
export const OBJECTS_PER_RECORD = 200;

export interface GcExecution {
  /** Sequence numbers of the audit records that list the deletions. */
  auditSeqs: number[];
  /** The planned objects deleted: all of them but those written again since the plan was read. */
  deleted: StoredObject[];
  /** Planned objects that a put stored again after the store was read (now young): kept. */
  rewritten: number;
  /** Older versions of kept artifacts removed (versioned buckets). */
  versionsDeleted: number;
  cacheEntriesDeleted: number;
}

/**
 * Carries out a plan: each batch of deletions is first written to the audit log (type `gc`, the
 * key, sha256 and size of every object; the key, version id and size of every older version), then deleted, so nothing is deleted unrecorded; a crash
 * between the two leaves a record of objects still present, which the next run deletes and
 * records again. The idempotency key is the hash of the batch, so a retried activity with the
 * same plan appends each record once, and one with a different plan (the store changed) appends
 * its own.
 */
export async function executeGcPlan(
  store: ArtifactStore,
  plan: GcPlan,
  request: { actor: string; at: string; reason: string; runKey: string },
): Promise<GcExecution> {
  const log = new AuditLog(store);
  const auditSeqs: number[] = [];
  const record = async (details: Record<string, unknown>) => {
    const { record } = await log.append({
      type: 'gc',
      actor: request.actor,
      at: request.at,
      reason: request.reason,
      details: { ...details, cutoff: plan.cutoff },
      idempotencyKey: `${request.runKey}/gc/${sha256Hex(canonicalJson(details))}`,
    });
    auditSeqs.push(record.seq);
  };

  const deleted: StoredObject[] = [];
  let rewritten = 0;
  for (let i = 0; i < plan.deleteObjects.length; i += OBJECTS_PER_RECORD) {
    const planned = plan.deleteObjects.slice(i, i + OBJECTS_PER_RECORD);
    const batch = await notWrittenSince(store, planned, Date.parse(plan.cutoff));
    rewritten += planned.length - batch.length;
    if (batch.length === 0) continue;
    await record({ objects: batch.map(({ key, sha256, bytes }) => ({ key, sha256, bytes })) });
    // On a versioned bucket every version older than the cutoff goes with it (a refresh since stays).
    for (const object of batch) await store.deleteArtifact(object.key, { writtenBefore: plan.cutoff });
    deleted.push(...batch);
  }
  // Older versions of kept artifacts: the current version holds the same bytes.
  for (let i = 0; i < plan.deleteVersions.length; i += OBJECTS_PER_RECORD) {
    const batch = plan.deleteVersions.slice(i, i + OBJECTS_PER_RECORD);
    await record({
      noncurrentVersions: batch.map(({ key, versionId, bytes }) => ({ key, versionId, bytes })),
    });
    await store.deleteVersions(batch);
  }
  if (plan.deleteCacheEntries.length > 0) {
    await record({ cacheEntries: plan.deleteCacheEntries });
    for (const key of plan.deleteCacheEntries) await store.deleteDocument(key);
  }
  return {
    auditSeqs,
    deleted,
    rewritten,
    versionsDeleted: plan.deleteVersions.length,
    cacheEntriesDeleted: plan.deleteCacheEntries.length,
  };
}

/**
 * The planned objects that were not written again since the store was read: a put of bytes
 * already stored marks them written now (ContentAddressedStore.reuseStored), and the step that
 * did so has not necessarily recorded its lineage yet, so such an object is young again (rule 5)
 * and stays. Read just before the batch is recorded and deleted, which narrows the window from
 * the whole inventory to these few requests. An object already gone stays in the batch, so a
 * retried activity records the same batch (the same idempotency key) and appends nothing new.
 */
async function notWrittenSince(
  store: ArtifactStore,
  planned: StoredObject[],
  cutoff: number,
): Promise<StoredObject[]> {
  const now = await mapLimited(planned, 8, (object) => store.head(object.key));
  return planned.filter((_, i) => {
    const info = now[i];
    if (info === undefined) return true;
    return info.modified !== undefined && Date.parse(info.modified) < cutoff;
  });
}
