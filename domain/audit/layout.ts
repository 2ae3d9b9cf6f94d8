import { sha256Hex } from '../storage/hashing';

/**
 * Where the audit log keeps its documents in the artifact store (the same keys under a local
 * directory and under an S3 prefix):
 *
 *   audit/records/<NNNNNNNNNN>.json   one record per sequence number, created with
 *                                     putDocument(ifAbsent) and never rewritten. The create is the
 *                                     commit point; the bytes are the record's canonical JSON.
 *   audit/HEAD.json                   { seq, hash } of the newest record, rewritten after each
 *                                     append. It lets verify notice a deleted LAST record (which
 *                                     leaves no gap) and lets append start without listing.
 *   audit/claims/<K>/<NNNNNNNNNN>.json  "the append with idempotency key hash K tried number N",
 *                                     written before trying N, as the registry does for versions.
 *                                     A claim proves nothing alone; the record's idempotencyKey decides.
 *
 * Records sit in their own folder so listing them never walks the claims. Ten digits keep the
 * store's sorted listing in numeric order.
 */
export const AUDIT_PREFIX = 'audit/';
export const RECORDS_PREFIX = `${AUDIT_PREFIX}records/`;
export const HEAD_KEY = `${AUDIT_PREFIX}HEAD.json`;
export const MAX_SEQ = 9_999_999_999;
const SEQ_DIGITS = 10;

export function recordKey(seq: number): string {
  return `${RECORDS_PREFIX}${padSeq(seq)}.json`;
}

export function claimsPrefix(idempotencyKey: string): string {
  return `${AUDIT_PREFIX}claims/${keyHash(idempotencyKey)}/`;
}

export function claimKey(idempotencyKey: string, seq: number): string {
  return `${claimsPrefix(idempotencyKey)}${padSeq(seq)}.json`;
}

const SEQ_FILE = /^(\d{10})\.json$/;

/** The sequence number in the last segment of a record or claim key, if it has that shape. */
export function seqOfKey(key: string): number | undefined {
  const match = SEQ_FILE.exec(key.slice(key.lastIndexOf('/') + 1));
  if (!match) return undefined;
  const seq = Number(match[1]);
  return seq >= 1 ? seq : undefined;
}

function padSeq(seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) {
    throw new RangeError(`audit sequence numbers are whole numbers from 1 to ${MAX_SEQ}, got ${seq}`);
  }
  return String(seq).padStart(SEQ_DIGITS, '0');
}

/** Idempotency keys are free text (workflow IDs may hold any character), so their hash names the folder. */
function keyHash(idempotencyKey: string): string {
  return sha256Hex(idempotencyKey).slice(0, 32);
}
