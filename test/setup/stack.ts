import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig, REPO_ROOT } from '../../config/env';
import {
  ensureMinioBinary,
  ensureTemporalBinary,
  ensureTimeSkippingServerBinary,
} from '../../infra/binaries';
import { ensureBucket, startMinio } from '../../infra/minioServer';
import { freePort, isAlive } from '../../infra/processes';
import { startTemporalDevServer } from '../../infra/temporalServer';
import type { TestServices } from '../support/services';

/**
 * Starts the real services every integration test talks to: a Temporal dev server and a MinIO,
 * on free ports in a scratch folder, so a test run never touches a developer's own stack. They die
 * with this process even when the run is killed before teardown (see startService).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadConfig();
  const t0 = Date.now();
  const runsDir = join(REPO_ROOT, '.slipway', 'test-runs');
  await pruneKilledRuns(runsDir);
  const runDir = join(runsDir, `${Date.now()}-${process.pid}`);
  await mkdir(runDir, { recursive: true });
  const [temporalBin, minioBin, timeSkippingServerPath] = await Promise.all([
    ensureTemporalBinary(config),
    ensureMinioBinary(config),
    ensureTimeSkippingServerBinary(config),
  ]);
  const t1 = Date.now();
  const [port, httpPort, metricsPort, minioPort, consolePort] = await Promise.all(
    Array.from({ length: 5 }, freePort),
  );
  const started = await Promise.allSettled([
    startTemporalDevServer({
      binary: temporalBin,
      dbFile: join(runDir, 'temporal.sqlite'),
      logFile: join(runDir, 'temporal.log'),
      port: port as number,
      uiPort: 0,
      httpPort: httpPort as number,
      metricsPort: metricsPort as number,
      namespace: 'default',
      headless: true,
    }),
    startMinio({
      binary: minioBin,
      dataDir: join(runDir, 'minio-data'),
      logFile: join(runDir, 'minio.log'),
      port: minioPort as number,
      consolePort: consolePort as number,
      rootUser: 'slipway-test',
      rootPassword: 'slipway-test-secret',
    }),
  ]);
  const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  // A half-started stack must not outlive the run: stop what did start, then report what did not.
  const stopAll = () => Promise.all(running.map((s) => s.stop()));
  const failures = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) {
    await stopAll();
    throw new Error(
      `Test services failed to start (logs kept in ${runDir}):\n${failures.map((e) => e.message).join('\n\n')}`,
    );
  }
  const [temporal, minio] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startTemporalDevServer>>,
    Awaited<ReturnType<typeof startMinio>>,
  ];
  const bucket = 'slipway-test';
  try {
    await ensureBucket(minio, bucket);
  } catch (err) {
    await stopAll();
    throw new Error(`Could not create bucket ${bucket} on ${minio.endpoint}: ${(err as Error).message}`);
  }
  const services: TestServices = {
    temporalAddress: temporal.address,
    namespace: 'default',
    s3: {
      endpoint: minio.endpoint,
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      region: 'us-east-1',
    },
    bucket,
    stateDir: runDir,
    timeSkippingServerPath,
  };
  project.provide('services', services);
  process.stderr.write(
    `test services: Temporal ${temporal.address}, MinIO ${minio.endpoint}; binaries ready in ${seconds(t1 - t0)}, ` +
      `services up in ${seconds(Date.now() - t1)}; data and logs in ${runDir}\n`,
  );

  return async () => {
    await stopAll();
    if (process.env.SLIPWAY_KEEP_TEST_STATE !== '1') await rm(runDir, { recursive: true, force: true });
  };
}

/** Scratch folders left by runs killed before their teardown (named <time>-<pid> of a dead process). */
async function pruneKilledRuns(runsDir: string): Promise<void> {
  for (const name of await readdir(runsDir).catch(() => [])) {
    const pid = Number(/^\d+-(\d+)$/.exec(name)?.[1]);
    if (pid > 0 && !isAlive(pid)) await rm(join(runsDir, name), { recursive: true, force: true });
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
