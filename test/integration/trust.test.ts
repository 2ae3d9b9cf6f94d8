import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveUpdate } from '../../contracts/review';
import { AuditLog } from '../../domain/audit/auditLog';
import { verifyAuditLog } from '../../domain/audit/verify';
import { reviewKey } from '../../domain/registry/layout';
import { ModelRegistry } from '../../domain/registry/registry';
import { decisionStatement, signDecision } from '../../domain/review/decisionSignature';
import { readReview } from '../../domain/review/records';
import { keyFingerprint, parsePrivateKey, parsePublicKey } from '../../domain/signing/keys';
import { modelStatement, signModelStatement } from '../../domain/signing/modelSignature';
import { openArtifactStore } from '../../domain/storage/openStore';
import { type CliResult, slipwayAs } from '../support/cli';
import { BOTNET_FEATURES, externalBotnetOnnx, netflowCsv } from '../support/externalOnnx';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

/** OpenSSH's agent and tools, where installed (as test/unit/sshAgent.test.ts checks). */
const hasSshAgent = ['ssh-agent', 'ssh-add', 'ssh-keygen'].every((tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

/**
 * Trust that can be checked (issue 27), on one pipeline world with the artifacts in a folder:
 * signed review decisions against a namespace's registered keys, `audit verify` over them, signed
 * model versions and `slipway verify`, signed imports, protected aliases.
 */
describe('signed decisions, signed models, protected aliases', () => {
  let world: PipelineWorld;
  let registry: ModelRegistry;
  const fixtures = join(__dirname, '../fixtures/signing');
  const aliceKey = join(fixtures, 'test_id_ed25519'); // an OpenSSH key, as ssh-keygen writes it
  const file = (name: string) => join(world.dir, name);
  const artifacts = () => join(world.dir, 'artifacts');
  const slipway = (user: string, ...args: string[]) => slipwayAs(user, world.env, args);
  const features = BOTNET_FEATURES.join(',');
  const importArgs = (model: string, ...more: string[]) => [
    'import',
    'onnx',
    file('nn_botnet.onnx'),
    '--model',
    model,
    '--features',
    features,
    '--target',
    'botnet',
    ...more,
  ];
  const basePolicy = () => [
    'namespace',
    'set',
    'secops',
    '--admins',
    'erin',
    '--approvers',
    'alice,bob',
    '--approver-key',
    `alice=${aliceKey}.pub`,
    '--protect',
    'production=erin',
  ];

  /** Every file of the store, by path, with the sha256 of its bytes. */
  async function storeContents(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const entry of await readdir(artifacts(), { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      out[path] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    }
    return out;
  }

  const ok = (result: CliResult) => expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);

  // Webhooks: a secret only the in-process worker's environment holds, and short retries.
  const hookSecret = `whsec-${randomBytes(18).toString('hex')}`;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    process.env.TRUST_HOOK_SECRET = hookSecret;
    receiver = await startWebhookReceiver(hookSecret, { failures: 2 });
    world = await startPipelineWorld('trust', {
      artifacts: 'file',
      env: { SLIPWAY_WEBHOOK_ATTEMPTS: '4', SLIPWAY_WEBHOOK_RETRY_SECONDS: '0.2' },
    });
    registry = new ModelRegistry(openArtifactStore(world.config));
    await writeFile(file('nn_botnet.onnx'), externalBotnetOnnx());
    const mallory = generateKeyPairSync('ed25519');
    await writeFile(file('mallory.pem'), mallory.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });
  afterAll(async () => {
    await world?.close();
    await receiver?.close();
    delete process.env.TRUST_HOOK_SECRET;
  });

  it('takes a decision signed by a registered key only, and audit verify re-checks it and the stored review', async () => {
    ok(await slipway('erin', ...basePolicy()));
    // production is protected: the import must wait for a review even though none was asked for.
    const started = await slipway('erin', ...importArgs('secops/botnet', '--approvers', 'alice'));
    ok(started);
    const workflowId = /started (\S+)/.exec(started.stderr)?.[1] as string;

    // A key the policy does not register for alice: refused before sending, with what to do.
    const stray = await slipway(
      'alice',
      'approve',
      workflowId,
      '--key',
      file('mallory.pem'),
      '--reason',
      'ok',
    );
    expect(stray.code).toBe(1);
    expect(stray.stderr).toMatch(/does not register for alice/);
    // No signature at all, where keys are registered: refused.
    const unsigned = await slipway('alice', 'approve', workflowId, '--reason', 'ok');
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/requires signed decisions/);

    // The run checks too: the same stray signature sent straight to the Update is refused by it.
    const handle = world.client.workflow.getHandle(workflowId);
    const { runId } = await handle.describe();
    const metadata = await registry.getVersion('secops/botnet', 1);
    const statement = decisionStatement(
      metadata,
      { workflowId, runId },
      { decision: 'approved', approver: 'alice', reason: 'ok', signedAt: new Date().toISOString() },
    );
    const strayKey = parsePrivateKey(await readFile(file('mallory.pem')), 'mallory.pem');
    const refused = await handle
      .executeUpdate(approveUpdate, {
        args: [{ approver: 'alice', reason: 'ok', signature: signDecision(statement, strayKey) }],
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refused as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'SignatureKeyNotRegistered' });

    // alice's own key (her OpenSSH file): accepted, and the version is promoted.
    const approved = await slipway(
      'alice',
      'approve',
      workflowId,
      '--key',
      aliceKey,
      '--reason',
      'read the weights',
    );
    ok(approved);
    const fingerprint = (await readFile(`${aliceKey}.fingerprint`, 'utf8')).split(' ')[1] as string;
    expect(approved.stdout).toContain(`signed with ${fingerprint}`);
    expect((await handle.result()).outcome).toBe('promoted');

    const review = await readReview(registry, 'secops/botnet', 1);
    expect(review).toMatchObject({ signed: true, signature: { keyFingerprint: fingerprint } });
    const verified = await slipway('erin', 'audit', 'verify');
    ok(verified);
    expect(verified.stdout).toMatch(/1 signed decision/);

    // One altered byte of the stored review: audit verify fails on the approval's record.
    const reviewPath = join(artifacts(), reviewKey('secops/botnet', 1));
    const original = await readFile(reviewPath);
    const altered = Buffer.from(original.toString('utf8').replace('read the weights', 'read the weightz'));
    await writeFile(reviewPath, altered);
    const approval = (await new AuditLog(registry.store).entries()).find(
      (e) => e.record?.type === 'approval',
    );
    const broken = await slipway('erin', 'audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain(`record ${approval?.seq}, document-mismatch`);
    await writeFile(reviewPath, original);

    // production is protected: only erin may move it by hand, not even an approver.
    const rollback = await slipway('alice', 'rollback', 'secops/botnet', '--reason', 'try');
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toMatch(/production is protected in namespace secops, and only erin may move it/);

    // The signing key never reaches the store, and never the run's history.
    const pem = (await readFile(join(world.dir, 'keys', 'model-signing.pem'), 'utf8')).split(
      '\n',
    )[1] as string;
    for (const path of Object.keys(await storeContents())) {
      expect((await readFile(path, 'latin1')).includes(pem), path).toBe(false);
    }
    expect(JSON.stringify(await handle.fetchHistory()).includes(pem)).toBe(false);
  });

  it('signs each registered version: verify accepts an export and refuses it after one byte of the ONNX or the signature changes', async () => {
    const pkg = file('pkg');
    ok(await slipway('erin', 'export', 'mltk', 'secops/botnet@1', '--out', pkg));
    expect((await readdir(pkg)).sort()).toEqual(
      ['MODEL_CARD.md', 'UPLOAD.txt', '__mlspl_botnet.onnx.mlmodel', 'botnet.onnx', 'model.sig'].sort(),
    );
    ok(await slipway('erin', 'verify', pkg));
    ok(await slipway('erin', 'verify', 'secops/botnet@1'));

    for (const name of ['botnet.onnx', 'model.sig']) {
      const path = join(pkg, name);
      const original = await readFile(path);
      const changed = Buffer.from(original);
      // For the signature, a byte inside the signed statement (the base64 payload).
      const at = name === 'model.sig' ? original.indexOf('"payload":"') + 40 : original.length >> 1;
      changed[at] = changed[at] === 0x41 ? 0x42 : 0x41;
      await writeFile(path, changed);
      const refused = await slipway('erin', 'verify', pkg);
      expect(refused.code, `${name}: ${refused.stdout}${refused.stderr}`).toBe(1);
      expect(`${refused.stdout}${refused.stderr}`).toMatch(
        name === 'model.sig'
          ? /signature does not verify|not a model-signing bundle/
          : /botnet.onnx has sha256 .* changed/,
      );
      await writeFile(path, original);
    }
    ok(await slipway('erin', 'verify', join(pkg, 'botnet.onnx')));
  });

  it('imports a signed file only when a trusted signer signed those bytes; a bad signature leaves nothing stored', async () => {
    const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await writeFile(file('signer.pub.pem'), signer.publicKey.export({ type: 'spki', format: 'pem' }));
    ok(
      await slipway(
        'erin',
        ...basePolicy(),
        '--importers',
        'erin',
        '--trusted-signer',
        file('signer.pub.pem'),
        '--require-signed-imports',
      ),
    );
    const bytes = await readFile(file('nn_botnet.onnx'));
    const sign = (content: Buffer) =>
      `${JSON.stringify(
        signModelStatement(
          modelStatement('botnet', [
            { name: 'nn_botnet.onnx', sha256: createHash('sha256').update(content).digest('hex') },
          ]),
          signer.privateKey,
        ),
      )}\n`;
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 3] ^= 1;
    await writeFile(file('wrong-bytes.sig'), sign(tampered));
    await copyFile(join(fixtures, 'openssf', 'model.sig'), file('untrusted.sig'));
    await writeFile(file('good.sig'), sign(bytes));

    const before = await storeContents();
    for (const [signature, why] of [
      [undefined, /requires signed imports/],
      [file('wrong-bytes.sig'), /is not a file the signature covers/],
      [file('untrusted.sig'), /signed by a key none of the trusted ones is/],
    ] as const) {
      const refused = await slipway(
        'erin',
        ...importArgs('secops/signed', '--no-promote', ...(signature ? ['--signature', signature] : [])),
      );
      expect(refused.code, refused.stdout).toBeGreaterThan(0);
      expect(refused.stderr).toMatch(why);
      expect(await storeContents()).toEqual(before);
    }

    const imported = await slipway(
      'erin',
      ...importArgs('secops/signed', '--no-promote', '--signature', file('good.sig'), '--wait'),
    );
    ok(imported);
    const version = await registry.getVersion('secops/signed', 1);
    expect(version.imported?.signature?.signedAs).toBe('nn_botnet.onnx');
    expect(version.imported?.signature?.signer).toMatch(/^SHA256:/);
  });

  it('notifies webhooks of each event once, signed, through a receiver that fails twice, and dead-letters one that never answers', async () => {
    // One setting at a time: each change merges into the policy, --clear removes one.
    ok(
      await slipway(
        'erin',
        'namespace',
        'set',
        'hooks',
        '--admins',
        'erin',
        '--members',
        'carol',
        '--webhook',
        receiver.url('/flaky'),
        '--webhook-secret-env',
        'TRUST_HOOK_SECRET',
      ),
    );
    const merged = await slipway(
      'erin',
      'namespace',
      'set',
      'hooks',
      '--webhook',
      receiver.url('/down'),
      '--webhook-secret-env',
      'TRUST_HOOK_SECRET',
      '--webhook-events',
      'version.promoted',
      '--clear',
      'members',
      '--json',
    );
    ok(merged);
    const policy = JSON.parse(merged.stdout);
    expect(policy).toMatchObject({ admins: ['erin'], members: [] });
    expect(policy.webhooks.map((w: { url: string }) => w.url)).toEqual([
      receiver.url('/flaky'),
      receiver.url('/down'),
    ]);
    const badWebhook = await slipway('erin', 'namespace', 'set', 'hooks', '--webhook', receiver.url('/x'));
    expect(badWebhook.code).toBe(2);
    expect(badWebhook.stderr).toMatch(/--webhook-secret-env: a JSON webhook is signed/);

    // v1: reviewed and approved; v2: promoted without review; rolled back to v1 by erin; v3: its
    // review times out; v4: evaluated and blocked by the metric gate.
    const first = await slipway('erin', ...importArgs('hooks/botnet', '--approvers', 'alice'));
    ok(first);
    const firstId = /started (\S+)/.exec(first.stderr)?.[1] as string;
    ok(await slipway('alice', 'approve', firstId, '--reason', 'fine'));
    expect((await world.client.workflow.getHandle(firstId).result()).outcome).toBe('promoted');
    await writeFile(file('netflow.csv'), netflowCsv(1000, 3).csv);
    const v2 = await slipway(
      'erin',
      ...importArgs('hooks/botnet', '--eval', file('netflow.csv'), '--min-recall', '0.5', '--wait'),
    );
    ok(v2);
    ok(await slipway('erin', 'rollback', 'hooks/botnet', '--reason', 'v2 misbehaves'));
    const timedOut = await slipway(
      'erin',
      ...importArgs('hooks/botnet', '--approvers', 'alice', '--approval-timeout', '1s', '--wait'),
    );
    expect(timedOut.code, timedOut.stderr).toBe(4);
    const blocked = await slipway(
      'erin',
      ...importArgs(
        'hooks/botnet',
        '--eval',
        file('netflow.csv'),
        '--min-recall',
        '0.999',
        '--min-precision',
        '0.999',
        '--wait',
      ),
    );
    expect(blocked.code, blocked.stderr).toBe(3);

    const expected = [
      'review.requested v1',
      'review.decided v1',
      'version.promoted v1',
      'version.promoted v2',
      'alias.rolled_back v1',
      'review.requested v3',
      'review.timed_out v3',
      'version.blocked v4',
    ];
    const flaky = () =>
      [...receiver.accepted.values()]
        .filter((a) => a.path === '/flaky')
        .map((a) => a.body as { type: string; version: number; id: string });
    const deadLetters = async () =>
      (await new AuditLog(registry.store).entries())
        .map((e) => e.record)
        .filter((r) => r?.type === 'notification-undelivered');
    const deadline = Date.now() + 60_000;
    while ((flaky().length < expected.length || (await deadLetters()).length < 2) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    // Each event exactly once, in the order it happened, each after two refused attempts, each signed.
    expect(
      flaky()
        .map((e) => `${e.type} v${e.version}`)
        .sort(),
    ).toEqual([...expected].sort());
    for (const [key, seen] of receiver.accepted) {
      expect(seen.times, `${key} processed more than once`).toBe(1);
    }
    for (const { id } of flaky()) {
      const attempts = receiver.requests.filter((r) => r.path === '/flaky' && r.eventId === id);
      expect(attempts.map((r) => r.status)).toEqual([503, 503, 200]);
      expect(new Set(attempts.map((r) => r.signature))).toEqual(new Set(['valid']));
      // Retries carry the same id and body; only the timestamp and signature are new.
      expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
    }
    // The receiver that never answers: every attempt for the promotions it asked for, then a dead
    // letter each in the audit log with the event as it was sent elsewhere.
    const letters = await deadLetters();
    expect(letters.map((r) => `${r?.details.eventType} v${r?.version}`).sort()).toEqual([
      'version.promoted v1',
      'version.promoted v2',
    ]);
    for (const letter of letters) {
      const id = letter?.details.eventId as string;
      expect(letter?.details).toMatchObject({
        target: receiver.url('/down'),
        gaveUp: 'all 4 attempts failed',
      });
      expect(letter?.reason).toMatch(/answered 500/);
      expect(receiver.requests.filter((r) => r.path === '/down' && r.eventId === id)).toHaveLength(4);
      expect(flaky().some((e) => e.id === id)).toBe(true);
    }
    // The dead letters keep the hash chain whole (in process: the CLI's verify runs in the first case).
    const verified = await verifyAuditLog(registry.store);
    expect(verified.problems).toEqual([]);

    // The secret is in no stored document and in no history of the deliveries.
    for (const path of Object.keys(await storeContents())) {
      expect((await readFile(path, 'latin1')).includes(hookSecret), path).toBe(false);
    }
    for (const { id } of flaky()) {
      const history = await world.client.workflow.getHandle(`notify:${id}`).fetchHistory();
      expect(JSON.stringify(history).includes(hookSecret)).toBe(false);
    }

    // `notify test`: the workers deliver a test event to each webhook and say what each answered.
    const test = await slipway('erin', 'notify', 'test', 'hooks', '--attempts', '3');
    expect(test.code, test.stderr).toBe(1); // /down never accepts
    expect(test.stdout).toMatch(/delivered to http:\/\/127\.0\.0\.1:\d+\/flaky: 200 \(attempt 3\)/);
    expect(test.stdout).toMatch(/NOT delivered to .*\/down: all 3 attempts failed: Webhook .* answered 500/);
  });
  // `approve --agent` with several keys in the SSH agent (a person's work and personal keys): the
  // CLI signs with the one the namespace registers for the approver, or names them all.
  it.skipIf(!hasSshAgent)(
    "approve --agent picks the registered key among the agent's, and names them when none is",
    async () => {
      ok(
        await slipway(
          'erin',
          ...['namespace', 'set', 'agents', '--admins', 'erin', '--approvers', 'alice'],
          ...['--approver-key', `alice=${aliceKey}.pub`],
        ),
      );
      const started = await slipway('erin', ...importArgs('agents/botnet', '--approvers', 'alice'));
      ok(started);
      const workflowId = /started (\S+)/.exec(started.stderr)?.[1] as string;
      // A socket path must stay under about 100 bytes: the system's temporary folder, not the world's.
      const socket = join(await mkdtemp(join(tmpdir(), 'slipway-agent-')), 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      try {
        for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
        const add = (key: string) =>
          execFileSync('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
        const fingerprints: string[] = [];
        for (const name of ['work', 'home']) {
          execFileSync(
            'ssh-keygen',
            ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file(`id_${name}`)],
            {
              stdio: 'ignore',
            },
          );
          add(file(`id_${name}`));
          const line = await readFile(file(`id_${name}.pub`), 'utf8');
          fingerprints.push(keyFingerprint(parsePublicKey(line, name)));
        }
        const withAgent = (...args: string[]) =>
          slipwayAs('alice', { ...world.env, SSH_AUTH_SOCK: socket }, args);
        const aliceFp = (await readFile(`${aliceKey}.fingerprint`, 'utf8')).split(' ')[1] as string;

        // Two keys, neither registered for alice: refused before anything is sent, naming both and hers.
        const refused = await withAgent('approve', workflowId, '--agent', '--reason', 'looks right');
        expect(refused.code, refused.stderr).toBe(1);
        expect(refused.stderr).toContain(
          `the SSH agent at ${socket} holds 2 Ed25519 keys (${fingerprints.join(', ')})`,
        );
        expect(refused.stderr).toContain(`registers none of them for alice (registered: ${aliceFp})`);

        // alice's key added as a third: it is the one that signs, and the run takes the decision.
        const own = file('id_alice');
        await copyFile(aliceKey, own);
        await chmod(own, 0o600);
        add(own);
        const approved = await withAgent('approve', workflowId, '--agent', '--reason', 'looks right');
        ok(approved);
        expect(approved.stdout).toContain(`signed with ${aliceFp}`);
        expect((await world.client.workflow.getHandle(workflowId).result()).outcome).toBe('promoted');
      } finally {
        agent.kill();
        await rm(dirname(socket), { recursive: true, force: true });
      }
    },
  );
});
