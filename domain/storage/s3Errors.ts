import type { Readable, Transform } from 'node:stream';
import {
  S3AccessDeniedError,
  S3BucketNotFoundError,
  S3ObjectNotFoundError,
  S3RequestError,
  S3ServerError,
  S3TlsError,
  S3UnreachableError,
  StorageError,
} from './errors';

/** What a failed call was about, so the error can name it. */
export interface S3ErrorContext {
  endpoint: string;
  bucket: string;
  /** s3://bucket/key of the object involved, if any. */
  uri?: string;
}

/** Connection faults that usually clear up on their own: a restarting server, a flaky network. */
const TRANSIENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
/** Connection faults that need a configuration change: an unknown host. */
const FATAL_NETWORK = new Set(['ENOTFOUND']);
/** TLS handshakes that fail the same way every time: an untrusted, expired or misnamed certificate, no TLS. */
const TLS_REFUSED = new Set([
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const ACCESS_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'InvalidSecurity',
  'AuthorizationHeaderMalformed',
]);
const TRANSIENT_S3_CODES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'OperationAborted',
  'XMinioServerNotInitialized',
  // Two puts of the same content-addressed object at once (two runs extracting the same source, or
  // an attempt that timed out still uploading beside its retry) can share one multipart upload,
  // which the first to finish completes: the other's next part finds it gone. A retry finds the
  // object in place. Found by the fault suite (issue 28).
  'NoSuchUpload',
]);

/**
 * Turns whatever the minio client threw into a StorageError with a stable type and a retryable
 * flag. Unknown errors pass through unchanged (they are bugs, not conditions to classify).
 */
export function toStorageError(error: unknown, context: S3ErrorContext): unknown {
  if (error instanceof StorageError || typeof error !== 'object' || error === null) return error;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = String((error as { message?: unknown }).message ?? '');
  const options = { cause: error };

  if (TRANSIENT_NETWORK.has(code)) return new S3UnreachableError(context.endpoint, code, true, options);
  if (FATAL_NETWORK.has(code)) return new S3UnreachableError(context.endpoint, code, false, options);
  if (TLS_REFUSED.has(code)) return new S3TlsError(context.endpoint, code, message, options);
  if (code === 'NoSuchBucket') return new S3BucketNotFoundError(context.bucket, context.endpoint, options);
  if (ACCESS_CODES.has(code)) return new S3AccessDeniedError(context.endpoint, context.bucket, code, options);
  if (code === 'NoSuchKey' && context.uri)
    return new S3ObjectNotFoundError(context.uri, context.endpoint, options);
  if (TRANSIENT_S3_CODES.has(code)) return new S3ServerError(context.endpoint, code, message, options);

  // The minio client turns 5xx/408/429 answers into plain Errors that only carry the status in
  // their message ("Request failed after N retries: Error: Retryable HTTP status: 503").
  const status = /Retryable HTTP status: (\d{3})/.exec(message);
  if (status) return new S3ServerError(context.endpoint, `HTTP ${status[1]}`, message, options);

  // A KMS the server cannot use for SLIPWAY_S3_SSE (MinIO says kms:KeyNotFound, AWS KMS.NotFoundException...).
  if (/^kms[:.]/i.test(code))
    return new S3RequestError(
      context.endpoint,
      code,
      `${message}. Check SLIPWAY_S3_SSE and SLIPWAY_S3_SSE_KMS_KEY_ID: the key must exist in the store's KMS ` +
        'and these credentials must be allowed to use it',
      options,
    );
  if (code !== '' && (error as { name?: unknown }).name === 'S3Error') {
    return new S3RequestError(context.endpoint, code, message, options);
  }
  return error;
}

/**
 * Pipes a download into `dest`, turning the source's mid-stream failures (a reset connection)
 * into classified errors on `dest`, and releasing the connection if the consumer gives up early.
 */
export function pipeClassified<T extends Transform>(source: Readable, dest: T, context: S3ErrorContext): T {
  source.once('error', (error) => dest.destroy(toStorageError(error, context) as Error));
  dest.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  source.pipe(dest);
  return dest;
}
