import { describe, expect, it } from 'vitest';
import type { AuditLogEntry } from '../../domain/audit/auditLog';
import type { AuditRecord } from '../../domain/audit/record';
import { formatAuditLog, formatVerifyResult } from '../../domain/audit/render';
import type { VerifyResult } from '../../domain/audit/verify';

const H1 = `1a2b3c4d5e6f${'0'.repeat(52)}`;
const H2 = `abcdef012345${'1'.repeat(52)}`;
const ONNX = 'e'.repeat(64);

const registration: AuditRecord = {
  schemaVersion: 1,
  seq: 1,
  type: 'registration',
  model: 'fraud',
  version: 3,
  actor: 'slipway',
  at: '2026-02-14T10:11:12.000Z',
  details: {},
  artifacts: [
    {
      uri: `s3://models/onnx/sha256/${ONNX}.onnx`,
      sha256: ONNX,
      bytes: 10,
      mediaType: 'application/octet-stream',
      kind: 'onnx',
    },
  ],
  prevHash: '0'.repeat(64),
  hash: H1,
};
const promotion: AuditRecord = {
  schemaVersion: 1,
  seq: 2,
  type: 'promotion',
  model: 'fraud',
  version: 3,
  actor: 'alice',
  reason: 'recall 0.89 at FPR 0.6 %',
  at: '2026-02-14T11:00:00.000Z',
  details: { to: 3, alias: 'production', from: 2 },
  prevHash: H1,
  hash: H2,
};
const schedule: AuditRecord = {
  schemaVersion: 1,
  seq: 4,
  type: 'schedule-change',
  actor: 'ops',
  at: '2026-02-15T08:00:00.000Z',
  details: { cron: '0 3 * * *' },
  prevHash: H2,
  hash: H1,
};

describe('formatAuditLog', () => {
  it('prints one line per record with its details below, and damage in place', () => {
    const entries: AuditLogEntry[] = [
      { seq: 1, key: 'audit/records/0000000001.json', record: registration },
      { seq: 2, key: 'audit/records/0000000002.json', record: promotion },
      {
        seq: 3,
        key: 'audit/records/0000000003.json',
        problem: { type: 'unparseable', detail: 'it is not JSON (Unexpected end of JSON input)' },
      },
      { seq: 4, key: 'audit/records/0000000004.json', record: schedule },
    ];
    expect(formatAuditLog(entries)).toBe(
      [
        '#1  2026-02-14T10:11:12.000Z  registration  fraud@3  by slipway  hash 1a2b3c4d5e6f',
        `    artifact: onnx sha256:${ONNX} s3://models/onnx/sha256/${ONNX}.onnx`,
        '#2  2026-02-14T11:00:00.000Z  promotion  fraud@3  by alice  hash abcdef012345',
        '    reason: recall 0.89 at FPR 0.6 %',
        '    details: {"alias":"production","from":2,"to":3}',
        '#3  DAMAGED (unparseable): it is not JSON (Unexpected end of JSON input)',
        '#4  2026-02-15T08:00:00.000Z  schedule-change  -  by ops  hash 1a2b3c4d5e6f',
        '    details: {"cron":"0 3 * * *"}',
        '',
      ].join('\n'),
    );
  });

  it('shows what a damaged but readable record says', () => {
    const entry: AuditLogEntry = {
      seq: 2,
      key: 'audit/records/0000000002.json',
      record: promotion,
      problem: { type: 'hash-mismatch', detail: 'its content hashes to x, not to the hash it carries (y)' },
    };
    expect(formatAuditLog([entry])).toBe(
      [
        '#2  DAMAGED (hash-mismatch): its content hashes to x, not to the hash it carries (y)',
        '    as stored: 2026-02-14T11:00:00.000Z  promotion  fraud@3  by alice  hash abcdef012345',
        '    as stored: reason: recall 0.89 at FPR 0.6 %',
        '    as stored: details: {"alias":"production","from":2,"to":3}',
        '',
      ].join('\n'),
    );
  });

  it('says when the log is empty', () => {
    expect(formatAuditLog([])).toBe('The audit log is empty.\n');
  });
});

describe('formatVerifyResult', () => {
  const intact: VerifyResult = {
    ok: true,
    records: 12,
    lastSeq: 12,
    tail: { seq: 12, hash: H2 },
    artifactsChecked: 1,
    signaturesChecked: 0,
    documentsChecked: 0,
    problems: [],
    warnings: [],
  };

  it('prints OK with what was checked and the tail to keep', () => {
    expect(formatVerifyResult(intact)).toBe(
      [
        'OK: the audit chain is intact (12 records, 1 artifact re-hashed).',
        `Last record: 12, hash ${H2}`,
        '',
      ].join('\n'),
    );
  });

  it('says how many signed decisions and documents were checked, when there were any', () => {
    expect(formatVerifyResult({ ...intact, signaturesChecked: 1, documentsChecked: 3 }).split('\n')[0]).toBe(
      'OK: the audit chain is intact (12 records, 1 artifact re-hashed, 1 signed decision and 3 documents checked).',
    );
  });

  it('leads with the first broken link, then lists the rest and any warning', () => {
    const problems: VerifyResult['problems'] = [
      {
        seq: 4,
        key: 'audit/records/0000000004.json',
        problem: 'missing-record',
        detail: 'record 4 is missing',
      },
      {
        seq: 9,
        key: 'audit/records/0000000009.json',
        problem: 'artifact-mismatch',
        detail: 'Artifact x failed verification',
      },
    ];
    const broken: VerifyResult = {
      ...intact,
      ok: false,
      records: 11,
      problems,
      firstBroken: problems[0],
      warnings: ['audit/HEAD.json is missing'],
    };
    expect(formatVerifyResult(broken)).toBe(
      [
        'BROKEN: 2 problems (11 records, 1 artifact re-hashed).',
        'First broken link: record 4, missing-record',
        '  record 4 is missing',
        '  (audit/records/0000000004.json)',
        'Also: record 9, artifact-mismatch: Artifact x failed verification',
        `Last record: 12, hash ${H2}`,
        'Warning: audit/HEAD.json is missing',
        '',
      ].join('\n'),
    );
  });
});
