import { AuditLog } from '../audit/auditLog';
import { canonicalJson } from '../cache/canonicalJson';
import type { ArtifactStore } from '../storage/artifactStore';
import { sha256Hex } from '../storage/hashing';
import type { GcPlan } from './plan';

/** Objects per audit record: keeps each record a few tens of KiB however much goes. */
export const OBJECTS_PER_RECORD = 200;

export interface GcExecution {
  /** Sequence numbers of the audit records that list the deletions. */
  auditSeqs: number[];
  objectsDeleted: number;
  cacheEntriesDeleted: number;
}

/**
 * Carries out a plan: each batch of deletions is first written to the audit log (type `gc`, the
 * key, sha256 and size of every object), then deleted, so nothing is deleted unrecorded; a crash
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

  for (let i = 0; i < plan.deleteObjects.length; i += OBJECTS_PER_RECORD) {
    const batch = plan.deleteObjects.slice(i, i + OBJECTS_PER_RECORD);
    await record({ objects: batch.map(({ key, sha256, bytes }) => ({ key, sha256, bytes })) });
    for (const object of batch) await store.deleteArtifact(object.key);
  }
  if (plan.deleteCacheEntries.length > 0) {
    await record({ cacheEntries: plan.deleteCacheEntries });
    for (const key of plan.deleteCacheEntries) await store.deleteDocument(key);
  }
  return {
    auditSeqs,
    objectsDeleted: plan.deleteObjects.length,
    cacheEntriesDeleted: plan.deleteCacheEntries.length,
  };
}
