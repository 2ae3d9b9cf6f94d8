import { join } from 'node:path';
import type { SlipwayConfig } from '../config/env';
import { ensureMinioBinary, ensureTemporalBinary } from './binaries';
import { ensureBucket, type MinioServer, startMinio } from './minioServer';
import { freePort } from './processes';
import { headlessDevServer, startTemporalDevServer, type TemporalDevServer } from './temporalServer';

export interface PrivateServices {
  temporal: TemporalDevServer;
  minio: MinioServer;
  bucket: string;
  stop(): Promise<void>;
}

/**
 * A Temporal dev server and a MinIO of a caller's own (the test run, a benchmark), on free ports
 * with their data and logs in `dir`, never touching a developer's stack. They die with this process
 * even when it is killed (see startService). A half-started pair is stopped before the error is thrown.
 */
export async function startPrivateServices(
  config: SlipwayConfig,
  options: { dir: string; name: string },
): Promise<PrivateServices> {
  const [temporalBin, minioBin] = await Promise.all([
    ensureTemporalBinary(config),
    ensureMinioBinary(config),
  ]);
  const [port, httpPort, metricsPort, minioPort, consolePort] = await Promise.all(
    Array.from({ length: 5 }, freePort),
  );
  const started = await Promise.allSettled([
    startTemporalDevServer(
      headlessDevServer(temporalBin, options.dir, 'temporal', {
        port: port as number,
        httpPort: httpPort as number,
        metricsPort: metricsPort as number,
      }),
    ),
    startMinio({
      binary: minioBin,
      dataDir: join(options.dir, 'minio-data'),
      logFile: join(options.dir, 'minio.log'),
      port: minioPort as number,
      consolePort: consolePort as number,
      rootUser: options.name,
      rootPassword: `${options.name}-secret`,
    }),
  ]);
  const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    await Promise.all(running.map((s) => s.stop()));
  };
  const failures = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) {
    await stop();
    throw new Error(
      `Temporal and MinIO failed to start (logs kept in ${options.dir}):\n${failures.map((e) => e.message).join('\n\n')}`,
    );
  }
  const [temporal, minio] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    TemporalDevServer,
    MinioServer,
  ];
  const bucket = options.name;
  try {
    await ensureBucket(minio, bucket);
  } catch (err) {
    await stop();
    throw new Error(`Could not create bucket ${bucket} on ${minio.endpoint}: ${(err as Error).message}`);
  }
  return { temporal, minio, bucket, stop };
}
