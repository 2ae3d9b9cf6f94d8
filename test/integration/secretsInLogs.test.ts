import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exitCodes';
import { loadConfig } from '../../config/env';
import { ensureMinioBinary } from '../../infra/binaries';
import { ensureBucket, type MinioServer, startMinio } from '../../infra/minioServer';
import {
  freePort,
  type ServiceProcess,
  startService,
  stopProcessGroup,
  waitUntilHealthy,
} from '../../infra/processes';
import { EncryptionCodec, parsePayloadKeys } from '../../worker/encryptionCodec';
import { slipwayAs } from '../support/cli';
import { testServices } from '../support/services';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');
const BAD_CSV = resolve(__dirname, '../fixtures/csv/bad/text-in-numeric.csv');

/**
 * Issue 9: credentials never reach logs. A real `slipway worker` process, with S3 credentials and
 * payload keys that appear nowhere else, serves a successful pipeline and one whose activity fails;
 * neither secret may appear in its output (written, as the embedded stack does, to worker.log in
 * its state folder), in any file of that folder, in the CLI's own output for `run` and `status`, or
 * in the workflow histories as the Temporal server stores them.
 */
describe('secrets in worker logs', () => {
  let scratch: string;
  let minio: MinioServer;
  let worker: ServiceProcess;
  let env: Record<string, string>;
  const s3Secret = `sw-secret-${randomBytes(12).toString('hex')}`;
  const payloadKey = randomBytes(32).toString('base64');
  // The installation's webhook secret (SLIPWAY_WEBHOOK_SECRET): the worker signs with it, and the
  // first attempt of each notification fails, so the worker logs a failed delivery too.
  const webhookSecret = `whsec-${randomBytes(12).toString('hex')}`;
  let receiver: WebhookReceiver;
  // Every spelling a leak could take: as given, and base64 of the text (e.g. in a header dump).
  const secrets = [
    s3Secret,
    payloadKey,
    Buffer.from(s3Secret).toString('base64'),
    webhookSecret,
    Buffer.from(webhookSecret).toString('base64'),
  ];

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'slipway-secrets-'));
    // A MinIO of its own, so the S3 secret is one no other test or log line has ever used.
    const [port, consolePort] = await Promise.all([freePort(), freePort()]);
    minio = await startMinio({
      binary: await ensureMinioBinary(loadConfig()),
      dataDir: join(scratch, 'minio-data'),
      logFile: join(scratch, 'minio.log'),
      port,
      consolePort,
      rootUser: 'secrets-test',
      rootPassword: s3Secret,
    });
    await ensureBucket(minio, 'artifacts');
    const stateDir = join(scratch, 'state');
    await mkdir(stateDir, { recursive: true });
    receiver = await startWebhookReceiver(webhookSecret, { failures: 1 });
    const queue = `secrets-${randomUUID()}`;
    env = {
      SLIPWAY_TEMPORAL_ADDRESS: testServices().temporalAddress,
      SLIPWAY_TASK_QUEUE: queue,
      SLIPWAY_TRAINING_TASK_QUEUE: `${queue}-training`,
      SLIPWAY_STATE_DIR: stateDir,
      SLIPWAY_ARTIFACTS: 's3://artifacts/slipway',
      SLIPWAY_S3_ENDPOINT: minio.endpoint,
      SLIPWAY_S3_ACCESS_KEY: minio.accessKey,
      SLIPWAY_S3_SECRET_KEY: s3Secret,
      SLIPWAY_PAYLOAD_KEYS: `k1:${payloadKey}`,
      SLIPWAY_WEBHOOK_URL: receiver.url('/flaky'),
      SLIPWAY_WEBHOOK_SECRET: webhookSecret,
      SLIPWAY_WEBHOOK_RETRY_SECONDS: '0.2',
    };
    // The worker as the embedded stack runs it: `slipway worker`, stdout and stderr in worker.log.
    const logFile = join(stateDir, 'worker.log');
    worker = startService(SLIPWAY, ['worker'], { logFile, env: { ...process.env, ...env } });
    await waitUntilHealthy({
      name: 'the secrets-test worker',
      service: worker,
      timeoutMs: 120_000,
      check: async () => (await readFile(logFile, 'utf8')).includes('slipway worker: polling'),
    });
  }, 300_000);

  afterAll(async () => {
    if (worker) await stopProcessGroup(worker.pid);
    await minio?.stop();
    await receiver?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** Every file under `dir`, as text. */
  async function filesUnder(dir: string): Promise<Array<{ path: string; text: string }>> {
    const out: Array<{ path: string; text: string }> = [];
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      out.push({ path, text: await readFile(path, 'latin1') });
    }
    return out;
  }

  /** Every payload in a history (inputs, results, heartbeats, failures' details), as stored. */
  function payloadsIn(history: unknown): Payload[] {
    const found: Payload[] = [];
    const walk = (node: unknown) => {
      if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) return;
      const candidate = node as Payload;
      if (
        candidate.data instanceof Uint8Array &&
        candidate.metadata &&
        typeof candidate.metadata === 'object'
      ) {
        found.push(candidate);
        return;
      }
      for (const value of Object.values(node)) walk(value);
    };
    walk(history);
    return found;
  }

  function expectNoSecret(where: string, text: string) {
    for (const secret of secrets) expect(text.includes(secret), `${where} contains a secret`).toBe(false);
  }

  it('keeps the S3 secret key and the payload key out of worker logs, CLI output and histories', {
    timeout: 300_000,
  }, async () => {
    const cliOutputs: Array<{ what: string; text: string }> = [];
    const cli = async (args: string[]) => {
      const out = await slipwayAs('dana', env, args);
      cliOutputs.push({ what: `slipway ${args.join(' ')}`, text: out.stdout + out.stderr });
      return out;
    };

    const good = await cli([
      'run',
      '--source',
      'synthetic:fraud?rows=3000&seed=5',
      '--model',
      'secrets-check',
      '--epochs',
      '2', // one epoch leaves it no better than a trivial scorer: the default gate would block it
      '--json',
    ]);
    expect(good.code, good.stderr).toBe(0);
    // The CLI used the worker process, not one of its own, so the worker's log saw the whole run.
    expect(good.stderr).not.toMatch(/running a worker in this process/);
    const goodId: string = JSON.parse(good.stdout).workflowId;

    const bad = await cli(['run', '--source', BAD_CSV, '--model', 'secrets-check', '--epochs', '1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/NonNumericValue/);
    const badId = /started (\S+)/.exec(bad.stderr)?.[1] as string;
    expect(badId).toBeTruthy();

    // A failure on the S3 path itself, where a client error object could carry the request's signature.
    const missing = await cli(['run', '--source', 's3://artifacts/no/such.csv', '--model', 'secrets-check']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/s3:\/\/artifacts\/no\/such\.csv does not exist/);
    const missingId = /started (\S+)/.exec(missing.stderr)?.[1] as string;

    // status exits with the code of the run's outcome: promoted, failed, failed.
    for (const [id, code] of [
      [goodId, EXIT.ok],
      [badId, EXIT.failed],
      [missingId, EXIT.failed],
    ] as const) {
      expect((await cli(['status', id])).code).toBe(code);
      expect((await cli(['status', id, '--json'])).code).toBe(code);
    }

    // The promotion was notified: refused once (logged by the worker), then delivered, signed.
    const promoted = async () =>
      [...receiver.accepted.values()].find((a) => (a.body as { type: string }).type === 'version.promoted');
    for (let i = 0; i < 120 && !(await promoted()); i++) await new Promise((r) => setTimeout(r, 250));
    const notified = (await promoted())?.body as { id: string; model: string };
    expect(notified?.model).toBe('secrets-check');
    expect(
      receiver.requests.filter((r) => r.eventId === notified.id).map((r) => [r.status, r.signature]),
    ).toEqual([
      [503, 'valid'],
      [200, 'valid'],
    ]);
    const notifyId = `notify:${notified.id}`;

    // The worker really logged the failing activity (so the search below looks at a real failure).
    const log = await readFile(join(env.SLIPWAY_STATE_DIR as string, 'worker.log'), 'utf8');
    expect(log).toMatch(/Activity failed/);
    expect(log).toMatch(/NonNumericValue/);
    expect(log).toMatch(/WebhookRejected/);

    for (const file of await filesUnder(env.SLIPWAY_STATE_DIR as string))
      expectNoSecret(file.path, file.text);
    for (const output of cliOutputs) expectNoSecret(output.what, output.text);

    // And the histories: as the server holds them (encrypted payloads), and with every payload
    // decrypted with the key and decoded, where a secret passed as data would be in plain text.
    const codec = new EncryptionCodec(parsePayloadKeys(`k1:${payloadKey}`));
    const connection = await Connection.connect({ address: env.SLIPWAY_TEMPORAL_ADDRESS as string });
    try {
      const plain = new Client({ connection });
      for (const id of [goodId, badId, missingId, notifyId]) {
        const history = await plain.workflow.getHandle(id).fetchHistory();
        expectNoSecret(`history of ${id}`, historyToJSON(history));
        const sealed = payloadsIn(history);
        const opened = await codec.decode(sealed);
        const decoded = opened
          .map((p) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8'))
          .join('\n');
        // The check reads real data: the run's own input is there once decrypted.
        expect(sealed.length, `payloads in the history of ${id}`).toBeGreaterThan(0);
        expect(decoded).toContain(id === notifyId ? 'version.promoted' : 'secrets-check');
        expectNoSecret(`decrypted payloads of ${id}`, decoded);
      }
    } finally {
      await connection.close();
    }
  });
});
