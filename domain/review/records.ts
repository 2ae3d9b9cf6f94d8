import { z } from 'zod';
import { CorruptRegistryDocumentError } from '../registry/errors';
import { reviewKey } from '../registry/layout';
import type { ModelRegistry } from '../registry/registry';
import { sha256Hex } from '../storage/hashing';
import { readJsonDocument, serializeDocument } from '../storage/jsonDocument';
import { signedDecisionSchema } from './decisionSignature';

/** A person's decision on one version, kept beside its metadata (which is immutable). */
export const reviewRecordSchema = z.object({
  name: z.string(),
  version: z.number().int().min(1),
  decision: z.enum(['approved', 'rejected']),
  approver: z.string().min(1),
  reason: z.string(),
  /** True when nobody decided before the deadline, which counts as a rejection. */
  timedOut: z.boolean(),
  /** ISO time, passed in by the caller. */
  at: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  /**
   * Whether the person signed the decision (absent on records made before signatures existed:
   * unsigned). A deadline's rejection is never signed.
   */
  signed: z.boolean().optional(),
  /** The verified signature: the statement signed, the public key, its fingerprint, the signature. */
  signature: signedDecisionSchema.optional(),
});
export type ReviewRecord = z.infer<typeof reviewRecordSchema>;

/**
 * Records the decision once. A retried write of the same decision is a no-op; a different one
 * for a version already decided is refused, since a decision is never rewritten.
 */
export async function recordReview(
  registry: ModelRegistry,
  record: ReviewRecord,
): Promise<{ record: ReviewRecord; created: boolean; key: string; sha256: string }> {
  const parsed = reviewRecordSchema.parse(record);
  await registry.getVersion(parsed.name, parsed.version);
  const key = reviewKey(parsed.name, parsed.version);
  const bytes = serializeDocument(parsed);
  const created = await registry.store.putDocument(key, bytes, {
    ifAbsent: true,
    mediaType: 'application/json',
  });
  if (created) return { record: parsed, created, key, sha256: sha256Hex(bytes) };
  const existing = (await readReview(registry, parsed.name, parsed.version)) as ReviewRecord;
  if (existing.runId !== parsed.runId || existing.decision !== parsed.decision) {
    throw new CorruptRegistryDocumentError(
      key,
      registry.store.location,
      `version ${parsed.version} was already ${existing.decision} by ${existing.approver} in run ${existing.runId}`,
    );
  }
  const stored = (await registry.store.getDocument(key)) as Buffer;
  return { record: existing, created: false, key, sha256: sha256Hex(stored) };
}

export async function readReview(
  registry: ModelRegistry,
  name: string,
  version: number,
): Promise<ReviewRecord | undefined> {
  const key = reviewKey(name, version);
  // Whatever is wrong with it, the person needs to know only that it is not a review record.
  return readJsonDocument(
    registry.store,
    key,
    reviewRecordSchema,
    () => new CorruptRegistryDocumentError(key, registry.store.location, 'it is not a review record'),
  );
}

/** How a review is marked wherever it is shown: signed (with the key), unsigned, or nothing for the deadline's. */
export function signatureLabel(review: Pick<ReviewRecord, 'timedOut' | 'signed' | 'signature'>): string {
  if (review.timedOut) return '';
  return review.signature ? `signed ${review.signature.keyFingerprint}` : 'unsigned';
}
