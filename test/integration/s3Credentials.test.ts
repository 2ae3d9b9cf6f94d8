import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { openArtifactStore } from '../../domain/storage/openStore';
import { createS3Client, parseS3Uri } from '../../domain/storage/s3Client';
import { ensureMinioBinary } from '../../infra/binaries';
import { ensureBucket, type MinioServer, startMinio } from '../../infra/minioServer';
import { freePort } from '../../infra/processes';
import { testServices } from '../support/services';

/** minio's own STS client: MinIO issues temporary keys (access key, secret, session token) with AssumeRole. */
const { AssumeRoleProvider } = require('minio/dist/main/AssumeRoleProvider.js') as {
  AssumeRoleProvider: new (options: {
    stsEndpoint: string;
    accessKey: string;
    secretKey: string;
    region?: string;
  }) => {
    getCredentials(): Promise<{ accessKey: string; secretKey: string; sessionToken?: string }>;
  };
};

/**
 * Object storage credentials as cloud deployments hand them out (issue 26), against the real
 * MinIO: temporary keys with a session token, the AWS_* variables and the shared credentials file
 * of the standard chain. A wrong credential fails at once with the variables to check.
 */
describe('S3 credentials from the chain', () => {
  const { s3, bucket } = testServices();
  let home: string;
  let temporary: { accessKey: string; secretKey: string; sessionToken?: string };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'slipway-s3-creds-'));
    temporary = await new AssumeRoleProvider({
      stsEndpoint: s3.endpoint,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
    }).getCredentials();
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  /** Writes one artifact and reads it back through a store opened with exactly these variables. */
  const roundTrip = async (env: Record<string, string>) => {
    const store = openArtifactStore(
      loadConfig({
        SLIPWAY_S3_ENDPOINT: s3.endpoint,
        SLIPWAY_S3_REGION: s3.region,
        SLIPWAY_ARTIFACTS: `s3://${bucket}/credentials/${randomUUID()}`,
        ...env,
      }),
    );
    const body = Buffer.from(`artifact ${randomUUID()}`);
    const ref = await store.put(body, { kind: 'report', mediaType: 'text/plain' });
    return (await store.getBytes(ref)).equals(body);
  };

  it('temporary keys with SLIPWAY_S3_SESSION_TOKEN', async () => {
    expect(temporary.sessionToken).toBeTruthy();
    expect(temporary.accessKey).not.toBe(s3.accessKey);
    expect(
      await roundTrip({
        SLIPWAY_S3_ACCESS_KEY: temporary.accessKey,
        SLIPWAY_S3_SECRET_KEY: temporary.secretKey,
        SLIPWAY_S3_SESSION_TOKEN: temporary.sessionToken as string,
      }),
    ).toBe(true);
  });

  it('the AWS_* variables, with a session token, when Slipway has none of its own', async () => {
    expect(
      await roundTrip({
        AWS_ACCESS_KEY_ID: temporary.accessKey,
        AWS_SECRET_ACCESS_KEY: temporary.secretKey,
        AWS_SESSION_TOKEN: temporary.sessionToken as string,
      }),
    ).toBe(true);
  });

  it('a profile of the shared credentials file', async () => {
    const file = join(home, 'credentials');
    await writeFile(
      file,
      `[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n[slipway]\naws_access_key_id = ${s3.accessKey}\naws_secret_access_key = ${s3.secretKey}\n`,
    );
    expect(await roundTrip({ AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'slipway' })).toBe(true);
  });

  it('temporary keys without their session token fail at once, naming the variables', async () => {
    const started = Date.now();
    const error = await roundTrip({
      SLIPWAY_S3_ACCESS_KEY: temporary.accessKey,
      SLIPWAY_S3_SECRET_KEY: temporary.secretKey,
    }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/refused access to bucket .* SLIPWAY_S3_SESSION_TOKEN/);
    expect(error).toMatchObject({ retryable: false });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

/**
 * SLIPWAY_S3_SSE for real: a MinIO of this file's own with a static KMS key (MINIO_KMS_SECRET_KEY),
 * which serves both SSE-S3 (AES256) and SSE-KMS (aws:kms). The proof is on the server's disk: the
 * bytes of an encrypted object are not there in the clear, while those of a plain one are.
 */
describe('server-side encryption (SLIPWAY_S3_SSE)', () => {
  let dir: string;
  let minio: MinioServer;
  const bucket = 'sealed';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-sse-'));
    const [port, consolePort] = await Promise.all([freePort(), freePort()]);
    minio = await startMinio({
      binary: await ensureMinioBinary(loadConfig()),
      dataDir: join(dir, 'data'),
      logFile: join(dir, 'minio.log'),
      port,
      consolePort,
      rootUser: 'sse-admin',
      rootPassword: 'sse-admin-secret',
      env: { MINIO_KMS_SECRET_KEY: `slipway-test-key:${randomBytes(32).toString('base64')}` },
    });
    await ensureBucket(minio, bucket);
  });
  afterAll(async () => {
    await minio?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const storeWith = (env: Record<string, string>) => {
    const config = loadConfig({
      SLIPWAY_S3_ENDPOINT: minio.endpoint,
      SLIPWAY_S3_ACCESS_KEY: minio.accessKey,
      SLIPWAY_S3_SECRET_KEY: minio.secretKey,
      SLIPWAY_ARTIFACTS: `s3://${bucket}/sse/${randomUUID()}`,
      ...env,
    });
    return { store: openArtifactStore(config), raw: createS3Client(config).client };
  };
  /** Whether `bytes` appear anywhere in the server's data folder (small objects are kept inline). */
  const inTheClear = async (bytes: Buffer): Promise<boolean> => {
    for (const entry of await readdir(join(dir, 'data'), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      if ((await readFile(join(entry.parentPath, entry.name))).includes(bytes)) return true;
    }
    return false;
  };
  const put = async (env: Record<string, string>) => {
    const { store, raw } = storeWith(env);
    const body = Buffer.from(`model card ${randomUUID()} `.repeat(20));
    const ref = await store.put(body, { kind: 'report', mediaType: 'text/plain' });
    expect((await store.getBytes(ref)).equals(body)).toBe(true);
    const stat = await raw.statObject(bucket, parseS3Uri(ref.uri).key);
    return { body, metadata: stat.metaData as Record<string, string> };
  };

  it('a plain object is on the disk in the clear (so the checks below can fail)', async () => {
    const { body, metadata } = await put({});
    expect(metadata['x-amz-server-side-encryption']).toBeUndefined();
    expect(await inTheClear(body)).toBe(true);
  });

  it.each([
    ['AES256', {}],
    ['aws:kms', {}],
    ['aws:kms', { SLIPWAY_S3_SSE_KMS_KEY_ID: 'slipway-test-key' }],
  ])('SLIPWAY_S3_SSE=%s %o: stored encrypted, read back whole', async (sse, extra) => {
    const { body, metadata } = await put({ SLIPWAY_S3_SSE: sse, ...extra });
    expect(metadata['x-amz-server-side-encryption']).toBe(sse);
    if (sse === 'aws:kms')
      expect(metadata['x-amz-server-side-encryption-aws-kms-key-id']).toMatch(/slipway-test-key$/);
    expect(await inTheClear(body)).toBe(false);
  });

  it('a KMS key the store does not have fails at once, naming the settings', async () => {
    const started = Date.now();
    const error = await put({ SLIPWAY_S3_SSE: 'aws:kms', SLIPWAY_S3_SSE_KMS_KEY_ID: 'no-such-key' }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/kms:KeyNotFound.*Check SLIPWAY_S3_SSE and SLIPWAY_S3_SSE_KMS_KEY_ID/);
    expect(error).toMatchObject({ retryable: false });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
