import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import {
  S3AccessDeniedError,
  S3BucketNotFoundError,
  S3ObjectNotFoundError,
  S3RequestError,
  S3ServerError,
  S3TlsError,
  S3UnreachableError,
  StorageConfigError,
} from '../../domain/storage/errors';
import { createS3Client } from '../../domain/storage/s3Client';
import { toStorageError } from '../../domain/storage/s3Errors';

// These are the shapes the minio client produces (checked against a real MinIO in the
// contract test); here the mapping itself is pinned down.
function s3Error(code: string, message = 'server said no'): Error {
  return Object.assign(Object.assign(new Error(message), { name: 'S3Error' }), { code });
}
function netError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:9000`), { code });
}

const context = { endpoint: 'http://10.0.0.1:9000', bucket: 'models', uri: 's3://models/p/x.json' };

describe('toStorageError', () => {
  it('maps missing bucket and credentials to non-retryable errors naming what to fix', () => {
    const bucket = toStorageError(s3Error('NoSuchBucket'), context);
    expect(bucket).toBeInstanceOf(S3BucketNotFoundError);
    expect(bucket).toMatchObject({ type: 'S3BucketNotFound', retryable: false, bucket: 'models' });
    expect((bucket as Error).message).toContain('http://10.0.0.1:9000');

    for (const code of ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken']) {
      const error = toStorageError(s3Error(code), context);
      expect(error).toBeInstanceOf(S3AccessDeniedError);
      expect(error).toMatchObject({ type: 'S3AccessDenied', retryable: false, code });
      expect((error as Error).message).toMatch(/SLIPWAY_S3_ACCESS_KEY.*SLIPWAY_S3_SECRET_KEY/);
    }
  });

  it('marks network faults retryable, except an unknown host or a bad certificate', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE']) {
      expect(toStorageError(netError(code), context)).toMatchObject({
        type: 'S3Unreachable',
        retryable: true,
        code,
      });
    }
    const unknownHost = toStorageError(netError('ENOTFOUND'), context);
    expect(unknownHost).toBeInstanceOf(S3UnreachableError);
    expect(unknownHost).toMatchObject({ retryable: false });
    expect((unknownHost as Error).message).toContain('SLIPWAY_S3_ENDPOINT');
  });

  it('turns a refused TLS handshake into a non-retryable error naming the setting to fix', () => {
    const cases: Array<[string, RegExp]> = [
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /not signed by a CA this client trusts: set SLIPWAY_S3_CA/],
      ['SELF_SIGNED_CERT_IN_CHAIN', /set SLIPWAY_S3_CA/],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', /set SLIPWAY_S3_CA/],
      ['CERT_HAS_EXPIRED', /certificate has expired: renew it/],
      ['ERR_TLS_CERT_ALTNAME_INVALID', /does not name the host of SLIPWAY_S3_ENDPOINT/],
      ['EPROTO', /use http:\/\/ in SLIPWAY_S3_ENDPOINT/],
    ];
    for (const [code, message] of cases) {
      const error = toStorageError(netError(code), context);
      expect(error).toBeInstanceOf(S3TlsError);
      expect(error).toMatchObject({ type: 'S3TlsRefused', retryable: false, code });
      expect((error as Error).message).toMatch(message);
    }
  });

  it('marks 5xx and throttling retryable, including the client\u2019s plain "Retryable HTTP status" errors', () => {
    for (const code of ['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout']) {
      expect(toStorageError(s3Error(code), context)).toMatchObject({
        type: 'S3ServerError',
        retryable: true,
      });
    }
    // A concurrent put of the same object completed the multipart upload this one joined.
    expect(toStorageError(s3Error('NoSuchUpload'), context)).toMatchObject({ retryable: true });
    const plain = new Error('Request failed after 0 retries: Error: Retryable HTTP status: 503');
    const error = toStorageError(plain, context);
    expect(error).toBeInstanceOf(S3ServerError);
    expect(error).toMatchObject({ code: 'HTTP 503', retryable: true });
  });

  it('maps a missing key to ObjectNotFound and other rejections to a non-retryable RequestRejected', () => {
    expect(toStorageError(s3Error('NoSuchKey'), context)).toBeInstanceOf(S3ObjectNotFoundError);
    const kms = toStorageError(s3Error('kms:KeyNotFound', 'key with given key ID does not exist'), context);
    expect(kms).toMatchObject({ type: 'S3RequestRejected', retryable: false });
    expect((kms as Error).message).toMatch(
      /does not exist\. Check SLIPWAY_S3_SSE and SLIPWAY_S3_SSE_KMS_KEY_ID/,
    );

    const other = toStorageError(s3Error('InvalidArgument', 'bad header'), context);
    expect(other).toBeInstanceOf(S3RequestError);
    expect(other).toMatchObject({ type: 'S3RequestRejected', retryable: false });
    expect((other as Error).message).toContain('bad header');
  });

  it('leaves unknown errors and already-classified ones untouched, keeping the cause', () => {
    const bug = new TypeError('undefined is not a function');
    expect(toStorageError(bug, context)).toBe(bug);
    const classified = new S3ServerError('e', 'SlowDown', 'x');
    expect(toStorageError(classified, context)).toBe(classified);
    const original = netError('ECONNRESET');
    expect((toStorageError(original, context) as Error).cause).toBe(original);
  });
});

describe('createS3Client configuration checks', () => {
  const base = {
    SLIPWAY_S3_ENDPOINT: 'http://127.0.0.1:9000',
    SLIPWAY_S3_ACCESS_KEY: 'a',
    SLIPWAY_S3_SECRET_KEY: 'b',
  };

  it('accepts http and https endpoints with or without a port', () => {
    for (const endpoint of [
      'http://127.0.0.1:9000',
      'https://s3.eu-west-1.amazonaws.com',
      'http://[::1]:9000',
    ]) {
      const connection = createS3Client(loadConfig({ ...base, SLIPWAY_S3_ENDPOINT: endpoint }));
      expect(connection.endpoint).toBe(endpoint);
    }
  });

  it('rejects endpoints without a scheme or with a path, and half-set credentials', () => {
    for (const endpoint of ['127.0.0.1:9000', 'ftp://host', 'http://host:9000/bucket']) {
      expect(() => createS3Client(loadConfig({ ...base, SLIPWAY_S3_ENDPOINT: endpoint }))).toThrow(
        StorageConfigError,
      );
    }
    expect(() => createS3Client(loadConfig({ ...base, SLIPWAY_S3_SECRET_KEY: '' }))).toThrow(/set both/);
    expect(() => createS3Client(loadConfig({ SLIPWAY_S3_ENDPOINT: base.SLIPWAY_S3_ENDPOINT }))).not.toThrow();
    expect(() =>
      createS3Client(loadConfig({ SLIPWAY_S3_ENDPOINT: base.SLIPWAY_S3_ENDPOINT }), {
        requireCredentials: true,
      }),
    ).toThrow(StorageConfigError);
  });
});
