import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { openArtifactStore } from '../../domain/storage/openStore';
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
