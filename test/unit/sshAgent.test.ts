import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionSigner } from '../../cli/decisionSigner';
import type { NamespacePolicy } from '../../domain/access/policy';
import {
  chooseSigner,
  type DecisionSigner,
  decisionStatement,
  judgeDecision,
  type SignerChoice,
  signDecision,
  signDecisionWith,
} from '../../domain/review/decisionSignature';
import { keyFingerprint, parsePrivateKey, parsePublicKey, publicKeyText } from '../../domain/signing/keys';
import { sshAgentEd25519Keys, sshAgentSign } from '../../domain/signing/sshAgent';

const fixtures = join(__dirname, '../fixtures/signing');
const hasAgent = ['ssh-agent', 'ssh-add'].every((tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

/**
 * Signing decisions through a real `ssh-agent` (OpenSSH), holding the fixture key added with
 * `ssh-add`: the agent's signature is the very signature the key file gives (Ed25519 is
 * deterministic), and the policy accepts it.
 */
describe.skipIf(!hasAgent)('signing decisions with an SSH agent', () => {
  let dir: string;
  let agent: ChildProcess;
  let socket: string;
  const statement = decisionStatement(
    {
      name: 'secops/botnet',
      version: 2,
      artifacts: { onnx: { sha256: 'a'.repeat(64) } },
      gate: { blessed: true },
    },
    { workflowId: 'import-secops.botnet-1', runId: 'r1' },
    {
      decision: 'approved',
      approver: 'alice',
      reason: 'read the weights',
      signedAt: '2026-11-30T03:30:00.000Z',
    },
  );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-agent-'));
    socket = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    // ssh-add insists on a private key readable by its owner only.
    await copyFile(join(fixtures, 'test_id_ed25519'), join(dir, 'id_ed25519'));
    await chmod(join(dir, 'id_ed25519'), 0o600);
    execFileSync('ssh-add', [join(dir, 'id_ed25519')], {
      env: { ...process.env, SSH_AUTH_SOCK: socket },
      stdio: 'ignore',
    });
  });
  afterAll(async () => {
    agent?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists the agent's Ed25519 key and signs with it exactly as the key file does", async () => {
    const held = await sshAgentEd25519Keys(socket);
    const fingerprint = (await readFile(join(fixtures, 'test_id_ed25519.fingerprint'), 'utf8')).split(' ')[1];
    expect(held.map(keyFingerprint)).toEqual([fingerprint]);

    const fromFile = signDecision(
      statement,
      parsePrivateKey(await readFile(join(fixtures, 'test_id_ed25519')), 'key'),
    );
    const viaPub = await decisionSigner(
      { key: join(fixtures, 'test_id_ed25519.pub') },
      { SSH_AUTH_SOCK: socket },
    );
    const viaAgent = await decisionSigner({ agent: true }, { SSH_AUTH_SOCK: socket });
    for (const signer of [viaPub, viaAgent]) {
      expect(await signDecisionWith(statement, signer as DecisionSigner)).toEqual(fromFile);
    }
    const policy: NamespacePolicy = {
      namespace: 'secops',
      admins: ['erin'],
      members: [],
      approverKeys: { alice: [fromFile.publicKey] },
      updatedBy: 'erin',
      updatedAt: '2026-11-30T00:00:00.000Z',
    };
    const signature = await signDecisionWith(statement, viaPub as DecisionSigner);
    expect(judgeDecision(policy, statement, signature)).toMatchObject({
      signed: true,
      record: { keyFingerprint: fingerprint },
    });
  });

  it('says what is wrong: a key the agent does not hold, no agent, a dead socket', async () => {
    const stranger = generateKeyPairSync('ed25519').publicKey;
    await expect(sshAgentSign(socket, stranger, Buffer.from('x'))).rejects.toThrow(
      /refused to sign with SHA256:.*it does not hold that key \(ssh-add -l lists/,
    );
    await writeFile(join(dir, 'stranger.pub'), `${publicKeyText(stranger)}\n`);
    await expect(decisionSigner({ key: join(dir, 'stranger.pub') }, {})).rejects.toThrow(
      /is a public key, so an SSH agent must sign, but SSH_AUTH_SOCK is not set/,
    );
    await expect(
      decisionSigner({ agent: true }, { SSH_AUTH_SOCK: join(dir, 'nothing.sock') }),
    ).rejects.toThrow(/Cannot reach the SSH agent at .*nothing\.sock \(ENOENT\)/);
    // A private key file still signs in this process, agent or not.
    const local = await decisionSigner({ key: join(fixtures, 'test_id_ed25519') }, {});
    expect(keyFingerprint((local as DecisionSigner).publicKey)).toMatch(/^SHA256:/);
  });
  it('with several keys in the agent, --agent signs with the one the policy registers for the approver, else names them', async () => {
    // A second Ed25519 key, made and added as a person would (ssh-keygen, ssh-add).
    const second = join(dir, 'id_second');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'second', '-f', second], {
      stdio: 'ignore',
    });
    execFileSync('ssh-add', [second], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
    const choice = (await decisionSigner({ agent: true }, { SSH_AUTH_SOCK: socket })) as SignerChoice;
    expect(choice.candidates).toHaveLength(2);
    expect(choice.source).toBe(`the SSH agent at ${socket}`);
    const aliceLine = (await readFile(join(fixtures, 'test_id_ed25519.pub'), 'utf8')).trim();
    const secondLine = (await readFile(`${second}.pub`, 'utf8')).trim();
    const [aliceFp, secondFp] = [aliceLine, secondLine].map((l) => keyFingerprint(parsePublicKey(l, 'pub')));
    const policy = (keys: string[]): NamespacePolicy => ({
      namespace: 'secops',
      admins: ['erin'],
      members: [],
      approverKeys: { alice: keys },
      updatedBy: 'erin',
      updatedAt: '2026-11-30T00:00:00.000Z',
    });

    // alice's registered key is one of the two: it signs, exactly as her key file would.
    const chosen = chooseSigner(choice, policy([aliceLine]), 'alice');
    expect(keyFingerprint(chosen.publicKey)).toBe(aliceFp);
    const fromFile = signDecision(
      statement,
      parsePrivateKey(await readFile(join(fixtures, 'test_id_ed25519')), 'key'),
    );
    const signature = await signDecisionWith(statement, chosen);
    expect(signature).toEqual(fromFile);
    expect(judgeDecision(policy([aliceLine]), statement, signature).signed).toBe(true);
    // The other key registered instead: that one signs.
    expect(keyFingerprint(chooseSigner(choice, policy([secondLine]), 'alice').publicKey)).toBe(secondFp);

    // None registered for alice: refused, naming both keys the agent holds and the registered one.
    const stranger = publicKeyText(generateKeyPairSync('ed25519').publicKey);
    const strangerFp = keyFingerprint(parsePublicKey(stranger, 'pub'));
    const none = (() => {
      try {
        chooseSigner(choice, policy([stranger]), 'alice');
      } catch (error) {
        return error as Error & { type?: string };
      }
    })();
    expect(none?.type).toBe('SignatureKeyNotRegistered');
    expect(none?.message).toContain(`the SSH agent at ${socket} holds 2 Ed25519 keys (`);
    for (const fp of [aliceFp, secondFp]) expect(none?.message).toContain(fp as string);
    expect(none?.message).toContain(`registers none of them for alice (registered: ${strangerFp})`);
    expect(() => chooseSigner(choice, undefined, 'alice')).toThrow(/\(registered: none\)/);
    // Both registered: which one is for the person to say.
    expect(() => chooseSigner(choice, policy([aliceLine, secondLine]), 'alice')).toThrow(
      expect.objectContaining({
        type: 'SignerAmbiguous',
        message: expect.stringMatching(
          /holds 2 keys that namespace secops's policy registers for alice .*--key <its \.pub file>/,
        ),
      }),
    );
  });
});
