import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reviewTrust } from '../../application/trust';
import type { NamespacePolicy } from '../../domain/access/policy';
import { AuditLog } from '../../domain/audit/auditLog';
import { verifyAuditLog } from '../../domain/audit/verify';
import {
  type DecisionStatement,
  decisionStatement,
  judgeDecision,
  signDecision,
} from '../../domain/review/decisionSignature';
import type { ReviewRecord } from '../../domain/review/records';
import { keyFingerprint, parsePrivateKey, parsePublicKey, publicKeyText } from '../../domain/signing/keys';
import {
  compareModelFiles,
  modelStatement,
  parseModelSignature,
  signModelStatement,
  verifyModelSignature,
} from '../../domain/signing/modelSignature';
import { useTempStore } from '../support/tempStore';

const fixtures = join(__dirname, '../fixtures/signing');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('keys people hold', () => {
  it("reads an unencrypted OpenSSH Ed25519 key and prints ssh-keygen's fingerprint for it", () => {
    const key = parsePrivateKey(readFileSync(join(fixtures, 'test_id_ed25519')), 'test_id_ed25519');
    const line = readFileSync(join(fixtures, 'test_id_ed25519.pub'), 'utf8').trim();
    expect(publicKeyText(createPublicKey(key))).toBe(line.split(' ').slice(0, 2).join(' '));
    const printed = readFileSync(join(fixtures, 'test_id_ed25519.fingerprint'), 'utf8').split(' ')[1];
    expect(keyFingerprint(key)).toBe(printed);
    expect(keyFingerprint(parsePublicKey(line, 'pub'))).toBe(printed);
  });

  it('refuses what is not a usable key, naming the file', () => {
    expect(() => parsePublicKey('ssh-rsa AAAAB3Nza', 'bob.pub')).toThrow(
      /bob.pub: ssh-rsa keys are not supported/,
    );
    expect(() => parsePrivateKey(Buffer.from('hello'), 'k.pem')).toThrow(/k.pem: not a private key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(() => parsePublicKey(rsa.toString(), 'rsa.pem')).toThrow(/rsa.pem: a rsa key cannot be used/);
  });
});

describe('signed review decisions', () => {
  const alice = generateKeyPairSync('ed25519');
  const stray = generateKeyPairSync('ed25519');
  const policy = (extra: Partial<NamespacePolicy> = {}): NamespacePolicy => ({
    namespace: 'secops',
    admins: ['erin'],
    members: [],
    approvers: ['alice'],
    approverKeys: { alice: [publicKeyText(alice.publicKey)] },
    updatedBy: 'erin',
    updatedAt: '2026-11-29T00:00:00.000Z',
    ...extra,
  });
  const statement: DecisionStatement = decisionStatement(
    {
      name: 'secops/botnet',
      version: 3,
      artifacts: { onnx: { sha256: 'a'.repeat(64) } },
      gate: { blessed: true },
    },
    { workflowId: 'wf-1', runId: 'run-1' },
    { decision: 'approved', approver: 'alice', reason: ' checked ', signedAt: '2026-11-29T12:00:00.000Z' },
  );

  it("accepts a decision signed by the approver's registered key, and keeps what was signed", () => {
    const verdict = judgeDecision(policy(), statement, signDecision(statement, alice.privateKey));
    expect(verdict.signed).toBe(true);
    if (verdict.signed) {
      expect(verdict.record.keyFingerprint).toBe(keyFingerprint(alice.publicKey));
      expect(verdict.record.statement.reason).toBe('checked');
    }
  });

  it('refuses a key the policy does not register for that approver', () => {
    expect(() => judgeDecision(policy(), statement, signDecision(statement, stray.privateKey))).toThrow(
      expect.objectContaining({ type: 'SignatureKeyNotRegistered' }),
    );
  });

  it('refuses a signature over anything else (another reason, version, ONNX file or gate verdict)', () => {
    const signature = signDecision(statement, alice.privateKey);
    for (const changed of [
      { ...statement, reason: 'other' },
      { ...statement, version: 4 },
      { ...statement, onnxSha256: 'b'.repeat(64) },
      { ...statement, gateSha256: sha256('{}') },
      { ...statement, decision: 'rejected' as const },
    ]) {
      expect(() => judgeDecision(policy(), changed, signature)).toThrow(
        expect.objectContaining({ type: 'SignatureInvalid' }),
      );
    }
  });

  it('takes an unsigned decision only where the policy allows it', () => {
    expect(() => judgeDecision(policy(), statement, undefined)).toThrow(
      expect.objectContaining({ type: 'SignatureRequired' }),
    );
    expect(judgeDecision(policy({ allowUnsigned: true }), statement, undefined)).toEqual({ signed: false });
    expect(judgeDecision(undefined, statement, undefined)).toEqual({ signed: false });
  });
  it('marks a stored review as the console shows it: verified and registered, altered, unsigned as allowed or not', () => {
    const verdict = judgeDecision(policy(), statement, signDecision(statement, alice.privateKey));
    if (!verdict.signed) throw new Error('signed');
    const review: ReviewRecord = {
      name: 'secops/botnet',
      version: 3,
      decision: 'approved',
      approver: 'alice',
      reason: 'checked',
      timedOut: false,
      at: '2026-11-29T12:00:01.000Z',
      workflowId: 'wf-1',
      runId: 'run-1',
      signed: true,
      signature: verdict.record,
    };
    const fingerprint = keyFingerprint(alice.publicKey);
    expect(reviewTrust(review, policy())).toMatchObject({
      kind: 'signed',
      fingerprint,
      verified: true,
      registered: true,
    });
    // The key is no longer registered for alice: still a valid signature, marked as such.
    const rotated = reviewTrust(
      review,
      policy({ approverKeys: { alice: [publicKeyText(stray.publicKey)] } }),
    );
    expect(rotated).toMatchObject({ verified: true, registered: false });
    expect(rotated.detail).toContain(`registered now: ${keyFingerprint(stray.publicKey)}`);
    // One changed byte of the stored review (its reason), or a swapped signature: it no longer verifies.
    expect(reviewTrust({ ...review, reason: 'checked!' }, policy())).toMatchObject({
      kind: 'signed',
      verified: false,
      detail: expect.stringContaining('signs reason "checked", but the record says "checked!"'),
    });
    const forged = {
      ...verdict.record,
      signature: signDecision({ ...statement, reason: 'x' }, alice.privateKey).signature,
    };
    expect(reviewTrust({ ...review, signature: forged }, policy())).toMatchObject({
      verified: false,
      detail: expect.stringContaining('does not verify over its statement'),
    });
    const unsigned = { ...review, signed: false, signature: undefined };
    expect(reviewTrust(unsigned, policy({ allowUnsigned: true }))).toMatchObject({
      kind: 'unsigned',
      allowed: true,
      detail: expect.stringContaining('--allow-unsigned'),
    });
    expect(reviewTrust(unsigned, undefined)).toMatchObject({ kind: 'unsigned', allowed: true });
    expect(reviewTrust(unsigned, policy())).toMatchObject({ kind: 'unsigned', allowed: false });
    expect(reviewTrust({ ...unsigned, timedOut: true, decision: 'rejected' }, policy())).toMatchObject({
      kind: 'deadline',
    });
  });
});

describe('model signatures in the OpenSSF model-signing format', () => {
  it('verifies a folder the OpenSSF tool itself signed (model-signing 1.1.1), and notices a changed file', () => {
    const dir = join(fixtures, 'openssf');
    const bundle = parseModelSignature(readFileSync(join(dir, 'model.sig'), 'utf8'), 'model.sig');
    const signer = createPublicKey(readFileSync(join(dir, 'signer.pub.pem')));
    const { statement } = verifyModelSignature(bundle, [signer], 'openssf/model.sig');
    const onnx = readFileSync(join(dir, 'a.onnx'));
    expect(
      compareModelFiles(statement, [{ name: 'a.onnx', sha256: sha256(onnx) }], { wholeFolder: true }),
    ).toEqual([]);
    const changed = Buffer.from(onnx);
    changed[0] ^= 1;
    expect(
      compareModelFiles(statement, [{ name: 'a.onnx', sha256: sha256(changed) }], { wholeFolder: true })[0],
    ).toMatch(/a.onnx has sha256 .* it was changed/);
  });

  it('signs a manifest that verifies, and refuses it after one byte of the signed statement changes or under another key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const files = [
      { name: 'fraud.onnx', sha256: sha256('onnx') },
      { name: 'MODEL_CARD.md', sha256: sha256('card') },
    ];
    const bundle = signModelStatement(modelStatement('fraud', files), privateKey);
    const { statement } = verifyModelSignature(bundle, [publicKey], 'bundle');
    expect(statement.predicate.resources.map((r) => r.name)).toEqual(['MODEL_CARD.md', 'fraud.onnx']);
    expect(compareModelFiles(statement, files, { wholeFolder: true })).toEqual([]);
    expect(
      compareModelFiles(statement, [...files, { name: 'extra.txt', sha256: sha256('x') }], {
        wholeFolder: true,
      }),
    ).toEqual(['extra.txt is not covered by the signature']);

    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    payload[payload.length - 5] ^= 1;
    const altered = {
      ...bundle,
      dsseEnvelope: { ...bundle.dsseEnvelope, payload: payload.toString('base64') },
    };
    expect(() => verifyModelSignature(altered, [publicKey], 'bundle')).toThrow(
      expect.objectContaining({ type: 'SignatureInvalid' }),
    );
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    expect(() => verifyModelSignature(bundle, [other], 'bundle')).toThrow(
      expect.objectContaining({ type: 'SignatureKeyNotRegistered' }),
    );
  });
});

describe('audit verify over review decisions', () => {
  const temp = useTempStore('slipway-decisions-');
  const alice = generateKeyPairSync('ed25519');
  const policy = {
    namespace: 'secops',
    admins: ['erin'],
    members: [],
    approvers: ['alice'],
    approverKeys: { alice: [publicKeyText(alice.publicKey)] },
    updatedBy: 'erin',
    updatedAt: '2026-11-29T00:00:00.000Z',
  };
  const at = '2026-11-29T12:00:00.000Z';
  const statement = decisionStatement(
    {
      name: 'secops/botnet',
      version: 1,
      artifacts: { onnx: { sha256: 'a'.repeat(64) } },
      gate: { blessed: true },
    },
    { workflowId: 'wf', runId: 'run' },
    { decision: 'approved', approver: 'alice', reason: 'ok', signedAt: at },
  );
  const signature = signDecision(statement, alice.privateKey);
  const signed = {
    statement,
    publicKey: signature.publicKey,
    keyFingerprint: keyFingerprint(alice.publicKey),
    signature: signature.signature,
  };
  const approval = (details: Record<string, unknown>, reason = 'ok') => ({
    type: 'approval' as const,
    model: 'secops/botnet',
    version: 1,
    actor: 'alice',
    reason,
    at,
    details: { workflowId: 'wf', runId: 'run', timedOut: false, ...details },
  });

  it('passes a signed decision, and flags one whose record no longer matches what was signed, or an unsigned one the policy forbade', async () => {
    const log = new AuditLog(temp.store);
    await log.append({
      type: 'namespace-change',
      actor: 'erin',
      at,
      details: { namespace: 'secops', policy },
    });
    await log.append(approval({ signed: true, signature: signed }));
    expect((await verifyAuditLog(temp.store)).ok).toBe(true);
    await log.append(approval({ signed: true, signature: signed }, 'changed after signing'));
    await log.append(approval({ signed: false }));
    const result = await verifyAuditLog(temp.store);
    expect(result.signaturesChecked).toBe(2);
    expect(result.problems.map((p) => [p.seq, p.problem])).toEqual([
      [3, 'signature-invalid'],
      [4, 'unsigned-decision'],
    ]);
    expect(result.problems[0]?.detail).toMatch(
      /signs reason "ok", but the record says "changed after signing"/,
    );
  });
});
