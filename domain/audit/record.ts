import { z } from 'zod';
import { canonicalJson } from '../cache/canonicalJson';
import { modelNameSchema } from '../registry/modelName';
import { artifactRefSchema } from '../storage/artifactRef';
import { sha256Hex } from '../storage/hashing';
import { formatIssues } from '../storage/jsonDocument';

export const auditRecordTypes = [
  'registration',
  'gate-decision',
  'approval',
  'rejection',
  'promotion',
  'rollback',
  'schedule-change',
  'visibility-change',
  'import',
  'namespace-change',
  /** A run stopped by `slipway cancel`: who, why, which run (details.workflowId). */
  'cancellation',
  /** A schedule retrained because the version's newest monitored batch drifted (the reason names the features). */
  'drift-retrain',
  /**
   * A version a running `slipway serve` refused to swap in when its alias moved to it, because it
   * failed its check (details: alias, the version kept answering, the check); names the refused version.
   */
  'serving-refusal',
  /**
   * `slipway serve-report --record`: one pair of versions compared in shadow (details: the
   * answering version, the shadow alias, requests, rows, agreement, probability differences); names
   * the shadow version. The shadow gate (domain/gate/shadowGate.ts) reads the latest.
   */
  'serve-report',
  /**
   * Retention (`slipway gc`) deleted objects nothing needed: details.objects lists each one's key,
   * sha256 and size, details.cacheEntries the expired step-cache entries. Recorded before the
   * deletion, so nothing is deleted unrecorded.
   */
  'gc',
  /**
   * A notification no attempt could deliver (the dead letter): details name the event (its id,
   * type and the whole payload, to send again by hand), the webhook (its URL without query, or the
   * variable holding it), the attempts made and the last error. Names the model when the event does.
   */
  'notification-undelivered',
] as const;
export type AuditRecordType = (typeof auditRecordTypes)[number];

/** Types about a schedule, a namespace or a run rather than one model version. */
const UNVERSIONED: readonly AuditRecordType[] = [
  'schedule-change',
  'visibility-change',
  'namespace-change',
  'cancellation',
  'gc',
  'notification-undelivered',
];
/** Types about one model version (all the others): they must name the model and the version. */
const VERSIONED: ReadonlySet<AuditRecordType> = new Set(
  auditRecordTypes.filter((t) => !UNVERSIONED.includes(t)),
);

/** prevHash of record 1: there is no record before it. */
export const GENESIS_HASH = '0'.repeat(64);
/** Bumped when the record changes incompatibly, so old readers fail clearly instead of guessing. */
export const AUDIT_SCHEMA_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

const entryShape = {
  type: z.enum(auditRecordTypes),
  model: modelNameSchema.optional(),
  version: z.number().int().min(1).optional(),
  /** Who did it: a user name, an approver, or a service identity for automatic steps. */
  actor: z.string().min(1).max(256),
  reason: z.string().max(4096).optional(),
  /** ISO 8601 time, passed in by the caller (domain code reads no clocks). */
  at: z.iso.datetime({ offset: true }),
  /** Type-specific facts (gate thresholds and figures, alias moved from/to, schedule spec...). */
  details: z.record(z.string(), z.unknown()),
  /** Artifacts the decision was about; `audit verify` re-hashes each through the store. */
  artifacts: z.array(artifactRefSchema).optional(),
  /** Makes a retried activity append once, e.g. `${workflowId}/${runId}/promote`. */
  idempotencyKey: z.string().min(1).max(1024).optional(),
};

function checkSubject(
  entry: { type: AuditRecordType; model?: string; version?: number },
  ctx: z.RefinementCtx,
) {
  // A cancellation names its model only once the model has a version (before that nobody owns it,
  // and the record names the run and the model in its details).
  const modelOptional = [
    'schedule-change',
    'namespace-change',
    'cancellation',
    'gc',
    'notification-undelivered',
  ].includes(entry.type);
  if (!modelOptional && entry.model === undefined) {
    ctx.addIssue({ code: 'custom', path: ['model'], message: `a ${entry.type} record must name the model` });
  }
  if (VERSIONED.has(entry.type) && entry.version === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['version'],
      message: `a ${entry.type} record must name the version`,
    });
  }
  if (entry.version !== undefined && entry.model === undefined) {
    ctx.addIssue({ code: 'custom', path: ['model'], message: 'a record with a version must name the model' });
  }
}

/** What a caller appends; the log adds seq, prevHash and hash. `details` defaults to {}. */
export const auditEntrySchema = z
  .strictObject({ ...entryShape, details: entryShape.details.default({}) })
  .superRefine(checkSubject);
export type AuditEntry = z.input<typeof auditEntrySchema>;

/**
 * One stored record. Strict: a key the schema does not know is damage (or a newer writer), not
 * something to drop silently, since dropping it would change what the hash covers.
 */
export const auditRecordSchema = z
  .strictObject({
    schemaVersion: z.literal(AUDIT_SCHEMA_VERSION),
    seq: z.number().int().min(1),
    ...entryShape,
    prevHash: sha256,
    hash: sha256,
  })
  .superRefine(checkSubject);
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** sha256 of the canonical JSON of the record without its `hash` field. */
export function auditRecordHash(record: Omit<AuditRecord, 'hash'> | Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = record as Record<string, unknown>;
  return sha256Hex(canonicalJson(rest));
}

/**
 * The stored form: canonical JSON and a newline, nothing else. Because exactly one byte string is
 * valid for a record, verify can insist on it, and any changed byte (even whitespace) is caught.
 */
export function serializeAuditRecord(record: AuditRecord): string {
  return `${canonicalJson(record)}\n`;
}

export type DecodeProblem = 'unparseable' | 'not-canonical' | 'misplaced' | 'hash-mismatch';

export type DecodedRecord =
  | { ok: true; record: AuditRecord }
  | { ok: false; problem: DecodeProblem; detail: string; record?: AuditRecord };

/**
 * Reads the stored bytes of record `seq` and checks everything one record can prove about itself:
 * it is JSON, a valid record, the one for this slot, byte-for-byte canonical, and its hash matches
 * its content. `record` is set on the last two failures, so a caller can still follow its links.
 */
export function decodeAuditRecord(bytes: Buffer, seq: number): DecodedRecord {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, problem: 'unparseable', detail: `it is not JSON (${(error as Error).message})` };
  }
  const parsed = auditRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error, '(record)');
    return { ok: false, problem: 'unparseable', detail: `it is not a valid audit record (${issues})` };
  }
  const record = parsed.data;
  if (record.seq !== seq) {
    return {
      ok: false,
      problem: 'misplaced',
      detail: `it says seq ${record.seq} but is stored as record ${seq}`,
    };
  }
  // The raw JSON, not zod's copy: what the writer hashed is exactly what was stored.
  const raw = json as Record<string, unknown>;
  if (!bytes.equals(Buffer.from(`${canonicalJson(raw)}\n`, 'utf8'))) {
    return {
      ok: false,
      problem: 'not-canonical',
      detail: 'its bytes are not the canonical JSON the log writes (the file was edited)',
      record,
    };
  }
  const expected = auditRecordHash(raw);
  if (expected !== record.hash) {
    return {
      ok: false,
      problem: 'hash-mismatch',
      detail: `its content hashes to ${expected}, not to the hash it carries (${record.hash})`,
      record,
    };
  }
  return { ok: true, record };
}
