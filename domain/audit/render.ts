import { canonicalJson } from '../cache/canonicalJson';
import type { AuditLogEntry } from './auditLog';
import type { AuditRecord } from './record';
import type { VerifyResult } from './verify';

/**
 * The log for people: one line per record (sequence, time, type, subject, actor, short hash),
 * then its reason, details and artifacts indented below. A damaged slot says so in place.
 */
export function formatAuditLog(entries: readonly AuditLogEntry[]): string {
  if (entries.length === 0) return 'The audit log is empty.\n';
  return entries.map(formatEntry).join('');
}

function formatEntry(entry: AuditLogEntry): string {
  const seq = `#${entry.seq}`;
  if (entry.problem) {
    const lines = [`${seq}  DAMAGED (${entry.problem.type}): ${entry.problem.detail}`];
    if (entry.record) lines.push(...recordLines(entry.record).map((line) => `    as stored: ${line.trim()}`));
    return `${lines.join('\n')}\n`;
  }
  if (!entry.record) return `${seq}  MISSING\n`;
  const [head, ...rest] = recordLines(entry.record);
  return `${[`${seq}  ${head}`, ...rest].join('\n')}\n`;
}

function recordLines(record: AuditRecord): string[] {
  const subject =
    record.model === undefined
      ? '-'
      : record.version === undefined
        ? record.model
        : `${record.model}@${record.version}`;
  const lines = [
    `${record.at}  ${record.type}  ${subject}  by ${record.actor}  hash ${record.hash.slice(0, 12)}`,
  ];
  if (record.reason !== undefined) lines.push(`    reason: ${record.reason}`);
  if ((record.type === 'approval' || record.type === 'rejection') && record.details.timedOut !== true) {
    const signature = record.details.signature as { keyFingerprint?: string } | undefined;
    lines.push(`    signature: ${signature ? `signed with ${signature.keyFingerprint}` : 'UNSIGNED'}`);
  }
  if (Object.keys(record.details).length > 0) lines.push(`    details: ${canonicalJson(record.details)}`);
  for (const ref of record.artifacts ?? [])
    lines.push(`    artifact: ${ref.kind} sha256:${ref.sha256} ${ref.uri}`);
  return lines;
}

/** The verdict of `verifyAuditLog` for people: OK with what was checked, or the first broken link. */
export function formatVerifyResult(result: VerifyResult): string {
  const lines: string[] = [];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const checked =
    `${plural(result.records, 'record')}, ${plural(result.artifactsChecked, 'artifact')} re-hashed` +
    (result.signaturesChecked + result.documentsChecked > 0
      ? `, ${plural(result.signaturesChecked, 'signed decision')} and ${plural(result.documentsChecked, 'document')} checked`
      : '');
  if (result.ok) {
    lines.push(`OK: the audit chain is intact (${checked}).`);
  } else {
    const first = result.firstBroken;
    lines.push(
      `BROKEN: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} (${checked}).`,
    );
    if (first) {
      lines.push(
        `First broken link: ${first.seq === undefined ? '' : `record ${first.seq}, `}${first.problem}`,
      );
      lines.push(`  ${first.detail}`);
      lines.push(`  (${first.key})`);
    }
    for (const problem of result.problems.slice(1)) {
      lines.push(
        `Also: ${problem.seq === undefined ? '' : `record ${problem.seq}, `}${problem.problem}: ${problem.detail}`,
      );
    }
  }
  if (result.tail) lines.push(`Last record: ${result.tail.seq}, hash ${result.tail.hash}`);
  for (const warning of result.warnings) lines.push(`Warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
