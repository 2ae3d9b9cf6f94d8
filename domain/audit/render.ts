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
  if (Object.keys(record.details).length > 0) lines.push(`    details: ${canonicalJson(record.details)}`);
  for (const ref of record.artifacts ?? [])
    lines.push(`    artifact: ${ref.kind} sha256:${ref.sha256} ${ref.uri}`);
  return lines;
}

/** The verdict of `verifyAuditLog` for people: OK with what was checked, or the first broken link. */
export function formatVerifyResult(result: VerifyResult): string {
  const lines: string[] = [];
  const checked = `${result.records} record${result.records === 1 ? '' : 's'}, ${result.artifactsChecked} artifact${result.artifactsChecked === 1 ? '' : 's'} re-hashed`;
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
