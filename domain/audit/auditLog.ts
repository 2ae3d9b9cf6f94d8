import { z } from 'zod';
import { NonCanonicalValueError } from '../cache/canonicalJson';
import type { ArtifactStore } from '../storage/artifactStore';
import { formatIssues } from '../storage/jsonDocument';
import { allocateNumbered } from '../storage/numberedLog';
import { AuditContentionError, AuditLogCorruptError, InvalidAuditEntryError } from './errors';
import { claimKey, claimsPrefix, HEAD_KEY, MAX_SEQ, RECORDS_PREFIX, recordKey, seqOfKey } from './layout';
import {
  AUDIT_SCHEMA_VERSION,
  type AuditEntry,
  type AuditRecord,
  auditEntrySchema,
  auditRecordHash,
  type DecodeProblem,
  decodeAuditRecord,
  GENESIS_HASH,
  serializeAuditRecord,
} from './record';

export interface AppendResult {
  record: AuditRecord;
  /** False when an earlier append with the same idempotency key had already committed it. */
  created: boolean;
}

/** The newest record as far as a reader knows: its sequence number and hash. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** One slot of the log as read: the record, or why it could not be trusted. */
export interface AuditLogEntry {
  seq: number;
  key: string;
  record?: AuditRecord;
  problem?: { type: DecodeProblem; detail: string };
}

export interface ReadLogOptions {
  /** Only records about this model. */
  model?: string;
  /** Only the newest `last` entries (after filtering). */
  last?: number;
}

const headSchema = z.strictObject({
  seq: z.number().int().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
const JSON_TYPE = 'application/json';
const EMPTY: AuditHead = { seq: 0, hash: GENESIS_HASH };

/**
 * An append-only, hash-chained audit log kept as documents in an ArtifactStore (layout in
 * ./layout.ts). Each record carries the hash of the one before, so changing or removing any record
 * breaks a link that `verifyAuditLog` finds.
 *
 * Append protocol (the registry's version allocation, plus the chain):
 *  1. Start from HEAD.json (or, without it, the last listed record), THEN list this idempotency
 *     key's claims: if a claimed record carries the key, an earlier attempt committed; return it.
 *  2. Try n = head + 1: write the claim for n, then create records/n ifAbsent with prevHash =
 *     hash of record n - 1. The create is the commit point, so two appends can never both be n:
 *     the chain cannot fork.
 *  3. If n was taken, read it: if it carries our key, a concurrent twin committed; return it.
 *     Otherwise chain onto it and try n + 1. Numbers are tried in order, which is what makes the
 *     idempotency argument of the registry hold here too.
 *  4. After the commit, move HEAD.json forward (never back). HEAD is only a hint for appends and
 *     a witness for verify: a crash before this step leaves HEAD behind, which step 3 absorbs.
 */
export class AuditLog {
  private readonly maxAttempts: number;

  constructor(
    readonly store: ArtifactStore,
    options: { maxAttempts?: number } = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 1000;
  }

  async append(entry: AuditEntry): Promise<AppendResult> {
    const parsed = auditEntrySchema.safeParse(entry);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error, '(record)');
      throw new InvalidAuditEntryError(`Cannot append to the audit log: the entry is invalid: ${issues}.`);
    }
    const fields = parsed.data;
    const { idempotencyKey } = fields;

    let previous = await this.head();
    if (idempotencyKey !== undefined) {
      const earlier = await this.findByIdempotencyKey(idempotencyKey);
      if (earlier) return { record: earlier, created: false };
    }
    return allocateNumbered<AppendResult>({
      maxAttempts: this.maxAttempts,
      attempt: async () => {
        const seq = previous.seq + 1;
        if (seq > MAX_SEQ) {
          throw new AuditLogCorruptError(
            recordKey(MAX_SEQ),
            this.store.location,
            'is the last number the layout allows',
          );
        }
        const record = sealRecord({
          schemaVersion: AUDIT_SCHEMA_VERSION,
          seq,
          ...fields,
          prevHash: previous.hash,
        });
        if (idempotencyKey !== undefined) {
          await this.store.putDocument(
            claimKey(idempotencyKey, seq),
            `${JSON.stringify({ idempotencyKey, seq })}\n`,
            {
              mediaType: JSON_TYPE,
            },
          );
        }
        const created = await this.store.putDocument(recordKey(seq), serializeAuditRecord(record), {
          ifAbsent: true,
          mediaType: JSON_TYPE,
        });
        if (created) {
          await this.advanceHead({ seq, hash: record.hash });
          return { won: { record, created: true } };
        }
        const winner = await this.recordToChainOnto(seq);
        // Gone between the failed create and the read (deleted by hand): try the same number again.
        if (winner === undefined) return 'lost';
        if (idempotencyKey !== undefined && winner.idempotencyKey === idempotencyKey) {
          return { won: { record: winner, created: false } };
        }
        previous = { seq, hash: winner.hash };
        return 'lost';
      },
      contention: () =>
        new AuditContentionError(
          `Could not append to the audit log at ${this.store.location}: ${this.maxAttempts} sequence numbers in a ` +
            'row were taken by appends running at the same time. The append will be retried.',
        ),
    });
  }

  /**
   * Where the next append starts: HEAD.json when it is readable, else the last listed record. It
   * may be behind the true end (appends absorb that), never ahead of it unless records were deleted.
   */
  async head(): Promise<AuditHead> {
    const fromHead = await this.readHeadDocument();
    if (fromHead.head) return fromHead.head;
    const seqs = await listRecordSeqs(this.store);
    const last = seqs[seqs.length - 1];
    if (last === undefined) return EMPTY;
    const record = await this.recordToChainOnto(last);
    return record ? { seq: last, hash: record.hash } : EMPTY;
  }

  /** HEAD.json as stored: absent, valid, or damaged (with why). */
  async readHeadDocument(): Promise<{ head?: AuditHead; problem?: string }> {
    const raw = await this.store.getDocument(HEAD_KEY);
    if (raw === undefined) return {};
    try {
      const parsed = headSchema.safeParse(JSON.parse(raw.toString('utf8')));
      if (parsed.success) return { head: parsed.data };
      return { problem: `it is not { seq, hash } (${parsed.error.issues[0]?.message})` };
    } catch (error) {
      return { problem: `it is not JSON (${(error as Error).message})` };
    }
  }

  /** The record an earlier append with this idempotency key committed, if any. */
  async findByIdempotencyKey(idempotencyKey: string): Promise<AuditRecord | undefined> {
    const claimed = (await this.store.list(claimsPrefix(idempotencyKey)))
      .map(({ key }) => seqOfKey(key))
      .filter((seq): seq is number => seq !== undefined)
      .sort((a, b) => b - a);
    for (const seq of claimed) {
      const entry = await this.readEntry(seq);
      if (entry.record?.idempotencyKey === idempotencyKey) return entry.record;
    }
    return undefined;
  }

  /** One slot: the record if it is intact, else the problem `decodeAuditRecord` found. */
  async readEntry(seq: number): Promise<AuditLogEntry> {
    const key = recordKey(seq);
    const raw = await this.store.getDocument(key);
    if (raw === undefined) return { seq, key };
    const decoded = decodeAuditRecord(raw, seq);
    if (decoded.ok) return { seq, key, record: decoded.record };
    return { seq, key, record: decoded.record, problem: { type: decoded.problem, detail: decoded.detail } };
  }

  /** Every stored record in sequence order (damaged ones with their problem), optionally filtered. */
  async entries(options: ReadLogOptions = {}): Promise<AuditLogEntry[]> {
    const seqs = await listRecordSeqs(this.store);
    const entries = await mapLimited(seqs, READ_CONCURRENCY, (seq) => this.readEntry(seq));
    // A damaged record stays in a filtered view when it cannot be attributed: hiding it would hide the damage.
    const shown =
      options.model === undefined
        ? entries
        : entries.filter((e) => (e.record ? e.record.model === options.model : e.problem !== undefined));
    return options.last === undefined ? shown : shown.slice(Math.max(0, shown.length - options.last));
  }

  /**
   * The record at `seq` for an append to chain onto: undefined if absent. Its own hash need not
   * verify (verify reports that); a record that cannot be read at all stops the append.
   */
  private async recordToChainOnto(seq: number): Promise<AuditRecord | undefined> {
    const entry = await this.readEntry(seq);
    if (entry.problem && !entry.record) {
      throw new AuditLogCorruptError(entry.key, this.store.location, entry.problem.detail);
    }
    return entry.record;
  }

  /** Moves HEAD.json to `head` unless it already points at or past it. */
  private async advanceHead(head: AuditHead): Promise<void> {
    const current = (await this.readHeadDocument()).head;
    if (current !== undefined && current.seq >= head.seq) return;
    await this.store.putDocument(HEAD_KEY, `${JSON.stringify(head)}\n`, { mediaType: JSON_TYPE });
  }
}

const READ_CONCURRENCY = 8;

/** Sequence numbers of the stored records, ascending; keys of any other shape are ignored. */
export async function listRecordSeqs(store: ArtifactStore): Promise<number[]> {
  const seqs: number[] = [];
  for (const { key } of await store.list(RECORDS_PREFIX)) {
    const seq = seqOfKey(key);
    if (seq !== undefined && key === recordKey(seq)) seqs.push(seq);
  }
  return seqs.sort((a, b) => a - b);
}

/** Adds the hash; a value in `details` that JSON cannot hold is the caller's error, said plainly. */
function sealRecord(unsealed: Omit<AuditRecord, 'hash'>): AuditRecord {
  try {
    return { ...unsealed, hash: auditRecordHash(unsealed) };
  } catch (error) {
    if (error instanceof NonCanonicalValueError) {
      throw new InvalidAuditEntryError(`Cannot append to the audit log: ${error.message}`);
    }
    throw error;
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
