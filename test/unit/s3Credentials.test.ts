import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { StorageConfigError } from '../../domain/storage/errors';
import { s3SettingsFromConfig, serverSideEncryptionHeaders } from '../../domain/storage/s3Client';
import { resolveS3Credentials } from '../../domain/storage/s3Credentials';
import { makeTestCertificates, type TestCertificates } from '../support/testCertificates';

const home = mkdtempSync(join(tmpdir(), 'slipway-s3-home-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('the S3 credential chain (domain/storage/s3Credentials.ts)', () => {
  const file = join(home, 'credentials');
  writeFileSync(
    file,
    [
      '# a comment',
      '[default]',
      'aws_access_key_id = DEFAULTKEY',
      'aws_secret_access_key = defaultsecret',
      '',
      '[profile ci]',
      'aws_access_key_id=CIKEY',
      'aws_secret_access_key=cisecret ; trailing comment',
      'aws_session_token=citoken',
      '[empty]',
      'region = eu-west-1',
    ].join('\n'),
  );

  it("takes Slipway's keys first, then the AWS_* variables, then the shared file, then web identity", () => {
    const all = {
      SLIPWAY_S3_ACCESS_KEY: 'S',
      SLIPWAY_S3_SECRET_KEY: 's',
      SLIPWAY_S3_SESSION_TOKEN: 't',
      AWS_ACCESS_KEY_ID: 'A',
      AWS_SECRET_ACCESS_KEY: 'a',
      AWS_SHARED_CREDENTIALS_FILE: file,
      AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/token',
      AWS_ROLE_ARN: 'arn:aws:iam::1:role/r',
    };
    expect(resolveS3Credentials(all, home)).toEqual({
      kind: 'static',
      accessKey: 'S',
      secretKey: 's',
      sessionToken: 't',
      source: 'SLIPWAY_S3_ACCESS_KEY',
    });
    const { SLIPWAY_S3_ACCESS_KEY, SLIPWAY_S3_SECRET_KEY, SLIPWAY_S3_SESSION_TOKEN, ...noSlipway } = all;
    expect(resolveS3Credentials(noSlipway, home)).toMatchObject({
      accessKey: 'A',
      source: 'AWS_ACCESS_KEY_ID',
    });
    const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...fileOnwards } = noSlipway;
    expect(resolveS3Credentials(fileOnwards, home)).toMatchObject({
      accessKey: 'DEFAULTKEY',
      source: `${file} [default]`,
    });
    expect(resolveS3Credentials({ ...fileOnwards, AWS_PROFILE: 'ci' }, home)).toEqual({
      kind: 'static',
      accessKey: 'CIKEY',
      secretKey: 'cisecret',
      sessionToken: 'citoken',
      source: `${file} [ci]`,
    });
    const { AWS_SHARED_CREDENTIALS_FILE, ...webIdentity } = fileOnwards;
    expect(resolveS3Credentials(webIdentity, home)).toMatchObject({
      kind: 'iam',
      source: expect.stringMatching(/web identity/),
    });
    expect(resolveS3Credentials({}, home)).toMatchObject({ kind: 'anonymous' });
  });

  it('reads ~/.aws/credentials when no file is named, and the instance role only when asked', () => {
    const other = mkdtempSync(join(tmpdir(), 'slipway-s3-home2-'));
    try {
      expect(resolveS3Credentials({}, other)).toMatchObject({ kind: 'anonymous' });
      expect(resolveS3Credentials({ SLIPWAY_S3_CREDENTIALS: 'iam' }, other)).toMatchObject({ kind: 'iam' });
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it.each([
    [{ SLIPWAY_S3_ACCESS_KEY: 'S' }, /set both SLIPWAY_S3_ACCESS_KEY and SLIPWAY_S3_SECRET_KEY/],
    [{ SLIPWAY_S3_SESSION_TOKEN: 't' }, /a session token belongs to a temporary key pair/],
    [{ AWS_SECRET_ACCESS_KEY: 'a' }, /set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/],
    [{ AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials' }, /AWS_SHARED_CREDENTIALS_FILE: cannot read/],
    [{ AWS_SHARED_CREDENTIALS_FILE: '<file>', AWS_PROFILE: 'empty' }, /profile \[empty\] has no keys/],
    [{ AWS_WEB_IDENTITY_TOKEN_FILE: '/t' }, /needs the role to assume/],
    [{ SLIPWAY_S3_CREDENTIALS: 'vault' }, /must be auto or iam/],
    [{ SLIPWAY_S3_CREDENTIALS: 'iam', SLIPWAY_S3_ACCESS_KEY: 'S', SLIPWAY_S3_SECRET_KEY: 's' }, /keep one/],
  ])('refuses %o, naming the variable', (env, message) => {
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '<file>' ? file : v]));
    expect(() => resolveS3Credentials(resolved, home)).toThrow(message);
  });
});

describe('S3 addressing and server-side encryption settings', () => {
  const base = {
    SLIPWAY_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
    AWS_ACCESS_KEY_ID: 'A',
    AWS_SECRET_ACCESS_KEY: 'a',
  };
  const settings = (env: Record<string, string>) => s3SettingsFromConfig(loadConfig({ ...base, ...env }));

  it('reads path style and SSE, and turns SSE into the request headers of every write', () => {
    expect(settings({}).pathStyle).toBeUndefined();
    expect(settings({ SLIPWAY_S3_PATH_STYLE: 'off' }).pathStyle).toBe(false);
    expect(settings({ SLIPWAY_S3_PATH_STYLE: 'on' }).pathStyle).toBe(true);
    const kms = settings({
      SLIPWAY_S3_SSE: 'aws:kms',
      SLIPWAY_S3_SSE_KMS_KEY_ID: 'arn:aws:kms:k',
    }).serverSideEncryption;
    expect(serverSideEncryptionHeaders(kms)).toEqual({
      'X-Amz-Server-Side-Encryption': 'aws:kms',
      'X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id': 'arn:aws:kms:k',
    });
    expect(serverSideEncryptionHeaders(settings({ SLIPWAY_S3_SSE: 'AES256' }).serverSideEncryption)).toEqual({
      'X-Amz-Server-Side-Encryption': 'AES256',
    });
    expect(serverSideEncryptionHeaders(settings({}).serverSideEncryption)).toEqual({});
  });

  it.each([
    [{ SLIPWAY_S3_PATH_STYLE: 'sometimes' }, /SLIPWAY_S3_PATH_STYLE must be on or off/],
    [{ SLIPWAY_S3_SSE: 'rot13' }, /SLIPWAY_S3_SSE must be AES256/],
    [{ SLIPWAY_S3_SSE_KMS_KEY_ID: 'k' }, /without SLIPWAY_S3_SSE=aws:kms/],
    [{ SLIPWAY_S3_SSE: 'AES256', SLIPWAY_S3_SSE_KMS_KEY_ID: 'k' }, /needs SLIPWAY_S3_SSE=aws:kms/],
  ])('refuses %o', (env, message) => {
    expect(() => settings(env)).toThrow(message);
  });
});

describe('SLIPWAY_S3_CA, the private CA of an https store', () => {
  let certs: TestCertificates;
  beforeAll(async () => {
    certs = await makeTestCertificates(join(home, 'pki'));
  });
  const settings = (env: Record<string, string>) =>
    s3SettingsFromConfig(
      loadConfig({
        SLIPWAY_S3_ENDPOINT: 'https://127.0.0.1:9000',
        AWS_ACCESS_KEY_ID: 'A',
        AWS_SECRET_ACCESS_KEY: 'a',
        ...env,
      }),
    );

  it('reads a CA file, or a bundle of several, into the settings', () => {
    expect(settings({}).ca).toBeUndefined();
    expect(settings({ SLIPWAY_S3_CA: certs.ca }).ca?.toString()).toBe(readFileSync(certs.ca, 'utf8'));
    const bundle = join(home, 'bundle.pem');
    writeFileSync(bundle, readFileSync(certs.otherCa, 'utf8') + readFileSync(certs.ca, 'utf8'));
    expect(settings({ SLIPWAY_S3_CA: bundle }).ca?.toString()).toContain(readFileSync(certs.ca, 'utf8'));
  });

  it.each([
    [
      'a missing file',
      () => ({ SLIPWAY_S3_CA: '/nonexistent/ca.pem' }),
      /SLIPWAY_S3_CA: cannot read \/nonexistent\/ca.pem \(no such file\)/,
    ],
    [
      'a key instead of a certificate',
      () => ({ SLIPWAY_S3_CA: certs.clientKey }),
      /SLIPWAY_S3_CA: .*client\.key is not a PEM certificate/,
    ],
    [
      'a damaged certificate',
      () => {
        const damaged = join(home, 'damaged.pem');
        writeFileSync(damaged, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
        return { SLIPWAY_S3_CA: damaged };
      },
      /SLIPWAY_S3_CA: .*damaged\.pem is not a PEM certificate/,
    ],
    [
      'a plain-text endpoint',
      () => ({ SLIPWAY_S3_CA: certs.ca, SLIPWAY_S3_ENDPOINT: 'http://127.0.0.1:9000' }),
      /SLIPWAY_S3_CA is set but SLIPWAY_S3_ENDPOINT "http:\/\/127.0.0.1:9000" is not https:\/\//,
    ],
  ])('refuses %s, naming SLIPWAY_S3_CA', (_what, env, message) => {
    expect(() => settings(env())).toThrow(StorageConfigError);
    expect(() => settings(env())).toThrow(message);
  });
});
