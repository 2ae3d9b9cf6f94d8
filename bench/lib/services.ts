import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/env';
import { ensureMinioBinary, ensureTemporalBinary } from '../../infra/binaries';
import { ensureBucket, type MinioServer, startMinio } from '../../infra/minioServer';
import { freePort } from '../../infra/processes';
import { startTemporalDevServer, type TemporalDevServer } from '../../infra/temporalServer';

export interface BenchServices {
  dir: string;
  temporal: TemporalDevServer;
  minio: MinioServer;
  bucket: string;
  stop(): Promise<void>;
}

/**
 * A Temporal dev server and a MinIO of the bench's own, on free ports in a scratch folder, as
 * the integration tests' global setup starts them (same binaries, cached in ~/.cache/slipway);
 * they die with this process (see infra/processes.ts) even when the bench is killed.
 */
export async function startBenchServices(): Promise<BenchServices> {
  const config = loadConfig();
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-services-'));
  const [temporalBin, minioBin] = await Promise.all([
    ensureTemporalBinary(config),
    ensureMinioBinary(config),
  ]);
  const [port, httpPort, metricsPort, minioPort, consolePort] = await Promise.all(
    Array.from({ length: 5 }, freePort),
  );
  const temporal = await startTemporalDevServer({
    binary: temporalBin,
    dbFile: join(dir, 'temporal.sqlite'),
    logFile: join(dir, 'temporal.log'),
    port: port as number,
    uiPort: 0,
    httpPort: httpPort as number,
    metricsPort: metricsPort as number,
    namespace: 'default',
    headless: true,
  });
  let minio: MinioServer;
  try {
    minio = await startMinio({
      binary: minioBin,
      dataDir: join(dir, 'minio-data'),
      logFile: join(dir, 'minio.log'),
      port: minioPort as number,
      consolePort: consolePort as number,
      rootUser: 'slipway-bench',
      rootPassword: 'slipway-bench-secret',
    });
  } catch (err) {
    await temporal.stop();
    throw err;
  }
  const bucket = 'slipway-bench';
  await ensureBucket(minio, bucket);
  return {
    dir,
    temporal,
    minio,
    bucket,
    async stop() {
      await Promise.all([temporal.stop(), minio.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
