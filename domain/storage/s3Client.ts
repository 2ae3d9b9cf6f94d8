import type { IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import type { Client } from 'minio';
import type { SlipwayConfig } from '../../config/env';
import { certificatesOf, readPemSetting } from '../../config/pemFiles';
import { S3BucketNotFoundError, StorageConfigError } from './errors';
import { resolveS3Credentials, type S3Credentials } from './s3Credentials';
import { pipeClassified, toStorageError } from './s3Errors';

/** Everything needed to talk to one S3-compatible endpoint. */
export interface S3Settings {
  /** http(s)://host[:port], e.g. http://127.0.0.1:9000 */
  endpoint: string;
  region: string;
  /** Decided once from the configuration's credential chain (see s3Credentials.ts). */
  credentials: S3Credentials;
  /** true: bucket in the path; false: virtual-host style; undefined: the client decides by endpoint. */
  pathStyle?: boolean;
  /** Server-side encryption asked for on every object written. */
  serverSideEncryption?: { algorithm: 'AES256' | 'aws:kms'; kmsKeyId?: string };
  /**
   * Multipart part size. The client holds about two parts in memory per upload (and reads
   * objects up to one part into memory for a single PUT), so this bounds upload memory;
   * S3 allows 10,000 parts, so 8 MiB parts allow objects up to 78 GiB.
   */
  partSize?: number;
  /** Give up connecting after this long, so a black-holed endpoint fails instead of hanging. */
  connectTimeoutMs?: number;
  /** PEM CA bundle trusted for an https endpoint instead of the system's CAs (a private CA). */
  ca?: Buffer;
}

/** A minio client plus what error messages need to name. */
export interface S3Connection {
  client: Client;
  /** The endpoint as configured, for messages. */
  endpoint: string;
  region: string;
  /** Where the credentials came from, for messages (never the keys themselves). */
  credentialSource: string;
  /** Headers every object write carries (server-side encryption). */
  writeHeaders: Record<string, string>;
}

export interface S3Location {
  bucket: string;
  /** Object key or key prefix, without a leading or trailing "/"; "" for the whole bucket. */
  key: string;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The S3 settings in a Slipway config (SLIPWAY_S3_*, and the AWS_* credential chain). */
export function s3SettingsFromConfig(config: SlipwayConfig): S3Settings {
  const env = config.env;
  if (!env.SLIPWAY_S3_ENDPOINT) {
    throw new StorageConfigError(
      'SLIPWAY_S3_ENDPOINT is not set. Set it to the S3 endpoint URL, for example http://127.0.0.1:9000 for ' +
        'MinIO or https://s3.us-east-1.amazonaws.com for AWS.',
    );
  }
  return {
    endpoint: env.SLIPWAY_S3_ENDPOINT,
    region: env.SLIPWAY_S3_REGION,
    ...(env.SLIPWAY_S3_CA ? { ca: privateCa(env.SLIPWAY_S3_CA, env.SLIPWAY_S3_ENDPOINT) } : {}),
    credentials: resolveS3Credentials(env),
    pathStyle: onOff('SLIPWAY_S3_PATH_STYLE', env.SLIPWAY_S3_PATH_STYLE),
    serverSideEncryption: serverSideEncryption(env.SLIPWAY_S3_SSE, env.SLIPWAY_S3_SSE_KMS_KEY_ID),
  };
}

/** The CA bundle of SLIPWAY_S3_CA, checked now: a readable PEM file of certificates, for an https endpoint. */
function privateCa(path: string, endpoint: string): Buffer {
  const fail = (message: string) => new StorageConfigError(message);
  if (parseEndpoint(endpoint).protocol !== 'https:')
    throw fail(
      `SLIPWAY_S3_CA is set but SLIPWAY_S3_ENDPOINT "${endpoint}" is not https://: a CA only applies to TLS. ` +
        'Use the https:// address of the store, or unset SLIPWAY_S3_CA.',
    );
  const pem = readPemSetting('SLIPWAY_S3_CA', path, fail);
  certificatesOf('SLIPWAY_S3_CA', path, pem, fail);
  return pem;
}

function onOff(variable: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (['on', 'true', '1'].includes(v)) return true;
  if (['off', 'false', '0'].includes(v)) return false;
  throw new StorageConfigError(`${variable} must be on or off (got "${value}").`);
}

function serverSideEncryption(
  algorithm: string | undefined,
  kmsKeyId: string | undefined,
): S3Settings['serverSideEncryption'] {
  if (algorithm === undefined) {
    if (kmsKeyId)
      throw new StorageConfigError(
        'SLIPWAY_S3_SSE_KMS_KEY_ID is set without SLIPWAY_S3_SSE=aws:kms: set both.',
      );
    return undefined;
  }
  if (algorithm !== 'AES256' && algorithm !== 'aws:kms')
    throw new StorageConfigError(
      `SLIPWAY_S3_SSE must be AES256 (keys managed by the store) or aws:kms (got "${algorithm}").`,
    );
  if (kmsKeyId && algorithm !== 'aws:kms')
    throw new StorageConfigError('SLIPWAY_S3_SSE_KMS_KEY_ID needs SLIPWAY_S3_SSE=aws:kms (got AES256).');
  return { algorithm, ...(kmsKeyId ? { kmsKeyId } : {}) };
}

/** The request headers that ask for server-side encryption of one written object. */
export function serverSideEncryptionHeaders(sse: S3Settings['serverSideEncryption']): Record<string, string> {
  if (!sse) return {};
  return {
    'X-Amz-Server-Side-Encryption': sse.algorithm,
    ...(sse.kmsKeyId ? { 'X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id': sse.kmsKeyId } : {}),
  };
}

/**
 * A client for the configured endpoint, with the credentials the chain found: static keys (with a
 * session token for temporary ones), a role the client fetches and renews, or none (enough to read
 * a public bucket); `requireCredentials` makes "none" a configuration error instead.
 */
export function createS3Client(
  source: SlipwayConfig | S3Settings,
  options: { requireCredentials?: boolean } = {},
): S3Connection {
  const settings = 'env' in source ? s3SettingsFromConfig(source) : source;
  const { credentials } = settings;
  if (options.requireCredentials && credentials.kind === 'anonymous') {
    throw new StorageConfigError(
      `No S3 credentials for ${settings.endpoint}: set SLIPWAY_S3_ACCESS_KEY and SLIPWAY_S3_SECRET_KEY ` +
        '(or the AWS_* variables, a shared credentials file, or SLIPWAY_S3_CREDENTIALS=iam on a cloud machine).',
    );
  }
  const url = parseEndpoint(settings.endpoint);
  const secure = url.protocol === 'https:';
  // Loaded here, not at the top: the minio package takes a noticeable time to load and most
  // commands (and the local-folder store) never talk to S3.
  const { Client: MinioClient, IamAwsProvider } = require('minio') as typeof import('minio');
  const client = new MinioClient({
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? undefined : Number(url.port),
    useSSL: secure,
    ...(credentials.kind === 'static'
      ? {
          accessKey: credentials.accessKey,
          secretKey: credentials.secretKey,
          ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
        }
      : {}),
    ...(credentials.kind === 'iam' ? { credentialsProvider: new IamAwsProvider({}) } : {}),
    ...(settings.pathStyle === undefined ? {} : { pathStyle: settings.pathStyle }),
    region: settings.region,
    partSize: settings.partSize ?? DEFAULT_PART_SIZE,
    // The private CA rides on the agent the client hands every request (keep-alive, as its default).
    ...(secure && settings.ca
      ? { transportAgent: new https.Agent({ keepAlive: true, ca: settings.ca }) }
      : {}),
    transport: withConnectTimeout(
      secure ? https : http,
      settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ),
    // Retries belong to the caller (Temporal activity retry with backoff); the client's own single
    // retry would only hide the status code and log to the console.
    retryOptions: { disableRetry: true },
  });
  return {
    client,
    endpoint: settings.endpoint,
    region: settings.region,
    credentialSource: credentials.source,
    writeHeaders: serverSideEncryptionHeaders(settings.serverSideEncryption),
  };
}

/** s3://bucket/some/key -> { bucket, key }; a bad URI says what an s3:// URI looks like. */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  const bucket = match?.[1] ?? '';
  if (!match || !BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw new StorageConfigError(
      `"${uri}" is not a valid s3:// URI: expected s3://<bucket>/<key>, where the bucket name is 3-63 ` +
        'lowercase letters, digits, dots or hyphens.',
    );
  }
  const key = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new StorageConfigError(`"${uri}" is not a valid s3:// URI: "." and ".." are not allowed in keys.`);
  }
  return { bucket, key };
}

/**
 * Opens any object by URI for reading (for example a data set's s3:// source). Nothing to verify
 * against, so it is not verified; `bytes` is the size the server announced.
 */
export async function openS3Object(
  connection: S3Connection,
  uri: string,
): Promise<{ body: Readable; bytes: number }> {
  const { bucket, key } = parseS3Uri(uri);
  if (key === '') throw new StorageConfigError(`"${uri}" names a bucket, not an object: add the object key.`);
  const context = { endpoint: connection.endpoint, bucket, uri };
  let body: Readable;
  try {
    body = await connection.client.getObject(bucket, key);
  } catch (error) {
    throw toStorageError(error, context);
  }
  const length = Number((body as Partial<IncomingMessage>).headers?.['content-length']);
  return {
    body: pipeClassified(body, new PassThrough(), context),
    bytes: Number.isFinite(length) ? length : -1,
  };
}

/** Size and version of an object by URI, or undefined if it does not exist. */
export async function statS3Object(
  connection: S3Connection,
  uri: string,
): Promise<{ bytes: number; etag: string; lastModified: Date } | undefined> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const stat = await connection.client.statObject(bucket, key);
    return { bytes: stat.size, etag: stat.etag, lastModified: stat.lastModified };
  } catch (error) {
    // HEAD answers carry no body, so a missing key and a missing bucket both read "NotFound".
    if ((error as { code?: string }).code === 'NotFound') {
      const bucketExists = await connection.client.bucketExists(bucket).catch(() => true);
      if (!bucketExists) throw new S3BucketNotFoundError(bucket, connection.endpoint, { source: uri });
      return undefined;
    }
    throw toStorageError(error, { endpoint: connection.endpoint, bucket, uri });
  }
}

function parseEndpoint(endpoint: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    throw new StorageConfigError(
      `SLIPWAY_S3_ENDPOINT "${endpoint}" is not an endpoint URL: use scheme, host and optional port only, for ` +
        'example http://127.0.0.1:9000 or https://s3.us-east-1.amazonaws.com.',
    );
  }
  return url;
}

/**
 * http(s).request that fails with ETIMEDOUT when a new connection cannot be made in time. Only
 * the connect phase is timed: a slow consumer of a download must not be cut off.
 */
function withConnectTimeout(
  base: typeof http | typeof https,
  timeoutMs: number,
): Pick<typeof http, 'request'> {
  const request = (...args: Parameters<typeof http.request>) => {
    const req = (base.request as (...a: Parameters<typeof http.request>) => http.ClientRequest)(...args);
    req.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => {
        req.destroy(
          Object.assign(new Error(`connecting timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        );
      }, timeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    return req;
  };
  return { request: request as typeof http.request };
}
