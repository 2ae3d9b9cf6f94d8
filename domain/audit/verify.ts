import type { Readable } from 'node:stream';
import type { ArtifactRef } from '../storage/artifactRef';
import type { ArtifactStore } from '../storage/artifactStore';
import { ArtifactNotFoundError, ArtifactOutsideStoreError, ChecksumMismatchError } from '../storage/errors';
import { type AuditHead, AuditLog, listRecordSeqs, mapLimited } from './auditLog';
import { type DecisionProblemType, decisionProblems } from './decisionCheck';
import { HEAD_KEY, recordKey } from './layout';
import { type AuditRecord, type DecodeProblem, GENESIS_HASH } from './record';

export type AuditProblemType =
  | DecodeProblem
  | 'prev-link'
  | 'missing-record'
  | 'head-mismatch'
  | 'artifact-mismatch'
  | 'artifact-missing'
  | DecisionProblemType;

export interface AuditProblem {
  /** The record where the chain breaks; absent only for a HEAD.json that cannot be read. */
  seq?: number;
  /** The store key to look at. */
  key: string;
  problem: AuditProblemType;
  detail: string;
}

export interface VerifyOptions {
  /** Re-hash every artifact the records reference (default true). */
  checkArtifacts?: boolean;
  /**
   * A head recorded somewhere the log's writers cannot reach (a ticket, a printout of an earlier
   * verify). Without it, someone who can write the store can truncate the log and rewrite HEAD.json.
   */
  expectedHead?: AuditHead;
  /** Reads in flight at once (default 8). */
  concurrency?: number;
}

export interface VerifyResult {
  ok: boolean;
  /** Records present in the store. */
  records: number;
  /** The highest sequence number present (0 for an empty log). */
  lastSeq: number;
  /** seq and hash of the last record, for anchoring outside the store. */
  tail?: AuditHead;
  /** Distinct artifacts re-hashed. */
  artifactsChecked: number;
  /** Signed review decisions whose signature was verified again. */
  signaturesChecked: number;
  /** Documents (stored reviews, signature bundles) compared with the sha256 their record names. */
  documentsChecked: number;
  /** The lowest-numbered problem: where the chain first breaks. */
  firstBroken?: AuditProblem;
  /** Every problem found, in sequence order. */
  problems: AuditProblem[];
  /** Conditions that are not a broken link but weaken what verify can prove. */
  warnings: string[];
}

/**
 * Recomputes the whole chain: each record's canonical form and hash, each prevHash against the
 * record before, contiguity from 1 (a deleted record leaves a gap), HEAD.json against the end (a
 * deleted last record leaves none), the bytes of every referenced artifact through the
 * store's verified read, every signed review decision's signature and key, and the bytes of the
 * documents records name (see decisionCheck.ts). Reports every problem and the first; throws only when the store itself
 * fails (network, permissions), since then nothing can be concluded.
 */
export async function verifyAuditLog(
  store: ArtifactStore,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const log = new AuditLog(store);
  const concurrency = options.concurrency ?? 8;
  const seqs = await listRecordSeqs(store);
  const entries = await mapLimited(seqs, concurrency, (seq) => log.readEntry(seq));
  const problems: AuditProblem[] = [];
  const bySeq = new Map<number, AuditRecord>();

  for (const { seq, key, record, problem } of entries) {
    if (problem)
      problems.push({ seq, key, problem: problem.type, detail: `record ${seq} ${problem.detail}` });
    if (record) bySeq.set(seq, record);
  }

  const lastSeq = seqs[seqs.length - 1] ?? 0;
  const present = new Set(seqs);
  for (let seq = 1; seq <= lastSeq; seq++) {
    if (!present.has(seq)) {
      problems.push({
        seq,
        key: recordKey(seq),
        problem: 'missing-record',
        detail: `record ${seq} is missing: the log has records up to ${lastSeq}, so it was deleted`,
      });
      continue;
    }
    const record = bySeq.get(seq);
    if (record) problems.push(...prevLinkProblems(seq, record, bySeq));
  }

  const head = await headCheck(log, lastSeq, bySeq);
  problems.push(...head.problems);
  if (options.expectedHead) {
    problems.push(...headAgainstLog(options.expectedHead, 'the expected head', lastSeq, bySeq));
  }

  let artifactsChecked = 0;
  if (options.checkArtifacts !== false) {
    const checked = await artifactProblems(store, [...bySeq.values()], concurrency);
    artifactsChecked = checked.count;
    problems.push(...checked.problems);
  }

  const decisions = await decisionProblems(store, [...bySeq.values()], concurrency);
  problems.push(...decisions.problems);

  problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  const last = bySeq.get(lastSeq);
  return {
    ok: problems.length === 0,
    records: seqs.length,
    lastSeq,
    tail: last ? { seq: lastSeq, hash: last.hash } : undefined,
    artifactsChecked,
    signaturesChecked: decisions.signaturesChecked,
    documentsChecked: decisions.documentsChecked,
    firstBroken: problems[0],
    problems,
    warnings: head.warning === undefined ? [] : [head.warning],
  };
}

/** prevHash must name the hash stored in the record before (genesis for record 1). */
function prevLinkProblems(seq: number, record: AuditRecord, bySeq: Map<number, AuditRecord>): AuditProblem[] {
  if (seq === 1) {
    if (record.prevHash === GENESIS_HASH) return [];
    return [
      {
        seq,
        key: recordKey(seq),
        problem: 'prev-link',
        detail: `record 1 has prevHash ${record.prevHash}, but the first record chains onto ${GENESIS_HASH}: records before it were removed or it was replaced`,
      },
    ];
  }
  const before = bySeq.get(seq - 1);
  // A missing or unreadable predecessor is reported on its own; its link cannot be judged.
  if (!before || record.prevHash === before.hash) return [];
  return [
    {
      seq,
      key: recordKey(seq),
      problem: 'prev-link',
      detail: `record ${seq} has prevHash ${record.prevHash}, but record ${seq - 1} has hash ${before.hash}: one of them was replaced`,
    },
  ];
}

/** HEAD.json is written after each append, so a log that ends before it lost its last records. */
async function headCheck(
  log: AuditLog,
  lastSeq: number,
  bySeq: Map<number, AuditRecord>,
): Promise<{ problems: AuditProblem[]; warning?: string }> {
  const { head, problem } = await log.readHeadDocument();
  if (problem !== undefined) {
    return { problems: [{ key: HEAD_KEY, problem: 'unparseable', detail: `${HEAD_KEY} ${problem}` }] };
  }
  if (head === undefined) {
    // Not proof of tampering: an append that crashed between its commit and HEAD leaves this
    // state too (the next append repairs it). But the end of the log is then unwitnessed.
    const warning =
      lastSeq === 0
        ? undefined
        : `${HEAD_KEY} is missing, so a deletion of the last records would go unnoticed; the next append rewrites it`;
    return { problems: [], warning };
  }
  return { problems: headAgainstLog(head, HEAD_KEY, lastSeq, bySeq) };
}

/** A witness (HEAD.json, or a head kept outside the store) against the records present. */
function headAgainstLog(
  head: AuditHead,
  witness: string,
  lastSeq: number,
  bySeq: Map<number, AuditRecord>,
): AuditProblem[] {
  if (head.seq > lastSeq) {
    const lost =
      head.seq === lastSeq + 1 ? `record ${head.seq} was` : `records ${lastSeq + 1}..${head.seq} were`;
    return [
      {
        seq: lastSeq + 1,
        key: recordKey(lastSeq + 1),
        problem: 'missing-record',
        detail: `${witness} says the log reaches record ${head.seq}, but the last record is ${lastSeq}: ${lost} deleted`,
      },
    ];
  }
  const record = bySeq.get(head.seq);
  if (record && record.hash !== head.hash) {
    return [
      {
        seq: head.seq,
        key: recordKey(head.seq),
        problem: 'head-mismatch',
        detail: `record ${head.seq} has hash ${record.hash}, but ${witness} has ${head.hash} for it: it was replaced`,
      },
    ];
  }
  return [];
}

/** Every distinct artifact (by URI) read back through the store's verified stream, once. */
async function artifactProblems(
  store: ArtifactStore,
  records: AuditRecord[],
  concurrency: number,
): Promise<{ count: number; problems: AuditProblem[] }> {
  const refs = new Map<string, { ref: ArtifactRef; seqs: number[] }>();
  for (const record of records) {
    for (const ref of record.artifacts ?? []) {
      const id = `${ref.uri}#${ref.sha256}`;
      const seen = refs.get(id);
      if (seen) seen.seqs.push(record.seq);
      else refs.set(id, { ref, seqs: [record.seq] });
    }
  }
  const found = await mapLimited(
    [...refs.values()],
    concurrency,
    async ({ ref, seqs }): Promise<AuditProblem | undefined> => {
      const problem = await checkArtifact(store, ref);
      if (!problem) return undefined;
      const first = Math.min(...seqs);
      return {
        seq: first,
        key: recordKey(first),
        problem: problem.type,
        detail: `${problem.detail} (referenced by record${seqs.length > 1 ? 's' : ''} ${seqs.join(', ')})`,
      };
    },
  );
  return { count: refs.size, problems: found.filter((p): p is AuditProblem => p !== undefined) };
}

async function checkArtifact(
  store: ArtifactStore,
  ref: ArtifactRef,
): Promise<{ type: 'artifact-mismatch' | 'artifact-missing'; detail: string } | undefined> {
  try {
    await drain(await store.get(ref));
    return undefined;
  } catch (error) {
    if (error instanceof ChecksumMismatchError) return { type: 'artifact-mismatch', detail: error.message };
    if (error instanceof ArtifactNotFoundError || error instanceof ArtifactOutsideStoreError) {
      return { type: 'artifact-missing', detail: error.message };
    }
    throw error;
  }
}

async function drain(stream: Readable): Promise<void> {
  for await (const _chunk of stream) {
    // Reading to the end is what makes the verifying stream check the hash.
  }
}
