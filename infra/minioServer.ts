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
}

export interface MinioServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  pid: number;
  logFile: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function isMinioHealthy(endpoint: string): Promise<boolean> {
  const response = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(2_000) });
  return response.ok;
}

/** A single-node MinIO on loopback, waiting for its liveness probe. */
export async function startMinio(options: MinioOptions): Promise<MinioServer> {
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
    ],
    {
      logFile: options.logFile,
      outliveParent: options.outliveParent,
      env: {
        MINIO_ROOT_USER: options.rootUser,
        MINIO_ROOT_PASSWORD: options.rootPassword,
        MINIO_BROWSER: 'off',
      },
    },
  );
  const endpoint = `http://127.0.0.1:${options.port}`;
  await waitUntilHealthy({
    name: `MinIO (${endpoint})`,
    service,
    check: () => isMinioHealthy(endpoint),
    timeoutMs: 60_000,
  });
  return {
    endpoint,
    accessKey: options.rootUser,
    secretKey: options.rootPassword,
    pid: service.pid,
    logFile: options.logFile,
    dataDir: options.dataDir,
    stop: () => stopProcessGroup(service.pid),
  };
}

export async function ensureBucket(
  server: { endpoint: string; accessKey: string; secretKey: string },
  bucket: string,
  region = 'us-east-1',
): Promise<void> {
  const url = new URL(server.endpoint);
  // Loaded here: every command that checks the embedded stack imports this file, few make buckets.
  const { Client } = await import('minio');
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: server.accessKey,
    secretKey: server.secretKey,
    region,
  });
  if (await client.bucketExists(bucket)) return;
  try {
    await client.makeBucket(bucket, region);
  } catch (err) {
    // Another process created it between the check and the call: the bucket exists, as wanted.
    if ((err as { code?: string }).code !== 'BucketAlreadyOwnedByYou') throw err;
  }
}
