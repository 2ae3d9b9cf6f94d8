import { copyFile, mkdir, readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { createS3Client } from '../domain/storage/s3Client';
import { type ServiceProcess, startService, stopProcessGroup, waitUntilHealthy } from './processes';

export interface MinioOptions {
  binary: string;
  dataDir: string;
  logFile: string;
  port: number;
  consolePort: number;
  rootUser: string;
  rootPassword: string;
  outliveParent?: boolean;
  /**
   * Serve https with this certificate and key (PEM), signed by `ca`. MinIO reads them as
   * public.crt and private.key from its --certs-dir, which is made beside the data folder.
   */
  tls?: { cert: string; key: string; ca: string };
  /** Extra environment for the server (for example MINIO_KMS_SECRET_KEY, a static key for SSE). */
  env?: Record<string, string>;
}

export interface MinioServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  pid: number;
  logFile: string;
  dataDir: string;
  /** With TLS: the PEM file of the CA that signed the server's certificate (SLIPWAY_S3_CA for clients). */
  ca?: string;
  stop(): Promise<void>;
}

/** The liveness probe; over https it trusts only `ca` (PEM) when given, as a client with SLIPWAY_S3_CA does. */
export function isMinioHealthy(endpoint: string, ca?: Buffer): Promise<boolean> {
  const url = `${endpoint}/minio/health/live`;
  return new Promise((resolve, reject) => {
    const done = (response: http.IncomingMessage) => {
      response.resume();
      resolve(response.statusCode === 200);
    };
    const request = url.startsWith('https:')
      ? https.get(url, { ca, timeout: 2_000 }, done)
      : http.get(url, { timeout: 2_000 }, done);
    request.once('timeout', () => request.destroy(new Error(`no answer from ${url} within 2 s`)));
    request.once('error', reject);
  });
}

/** A single-node MinIO on loopback, waiting for its liveness probe. */
export async function startMinio(options: MinioOptions): Promise<MinioServer> {
  const certsDir = `${options.dataDir}-certs`;
  if (options.tls) {
    await mkdir(certsDir, { recursive: true });
    await copyFile(options.tls.cert, `${certsDir}/public.crt`);
    await copyFile(options.tls.key, `${certsDir}/private.key`);
  }
  const ca = options.tls ? await readFile(options.tls.ca) : undefined;
  const service: ServiceProcess = startService(
    options.binary,
    [
      'server',
      options.dataDir,
      '--address',
      `127.0.0.1:${options.port}`,
      '--console-address',
      `127.0.0.1:${options.consolePort}`,
      '--quiet',
      ...(options.tls ? ['--certs-dir', certsDir] : []),
    ],
    {
      logFile: options.logFile,
      outliveParent: options.outliveParent,
      env: {
        MINIO_ROOT_USER: options.rootUser,
        MINIO_ROOT_PASSWORD: options.rootPassword,
        // No web console: MinIO then never binds --console-address, so that port cannot collide.
        MINIO_BROWSER: 'off',
        ...options.env,
      },
    },
  );
  const endpoint = `${options.tls ? 'https' : 'http'}://127.0.0.1:${options.port}`;
  await waitUntilHealthy({
    name: `MinIO (${endpoint})`,
    service,
    check: () => isMinioHealthy(endpoint, ca),
    timeoutMs: 60_000,
  });
  return {
    endpoint,
    accessKey: options.rootUser,
    secretKey: options.rootPassword,
    pid: service.pid,
    logFile: options.logFile,
    dataDir: options.dataDir,
    ...(options.tls ? { ca: options.tls.ca } : {}),
    stop: () => stopProcessGroup(service.pid),
  };
}

export async function ensureBucket(
  server: { endpoint: string; accessKey: string; secretKey: string; ca?: string },
  bucket: string,
  region = 'us-east-1',
): Promise<void> {
  const { client } = createS3Client({
    endpoint: server.endpoint,
    region,
    credentials: {
      kind: 'static',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      source: 'the MinIO root user',
    },
    ...(server.ca ? { ca: await readFile(server.ca) } : {}),
  });
  if (await client.bucketExists(bucket)) return;
  try {
    await client.makeBucket(bucket, region);
  } catch (err) {
    // Another process created it between the check and the call: the bucket exists, as wanted.
    if ((err as { code?: string }).code !== 'BucketAlreadyOwnedByYou') throw err;
  }
}
