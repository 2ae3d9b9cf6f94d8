import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig, REPO_ROOT } from '../../config/env';
import { ensureTimeSkippingServerBinary } from '../../infra/binaries';
import { startPrivateServices } from '../../infra/privateServices';
import { isAlive } from '../../infra/processes';
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
  const timeSkippingServerPath = await ensureTimeSkippingServerBinary(config);
  const {
    temporal,
    minio,
    bucket,
    stop: stopAll,
  } = await startPrivateServices(config, {
    dir: runDir,
    name: 'slipway-test',
  });
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
    `test services: Temporal ${temporal.address}, MinIO ${minio.endpoint}; up in ${seconds(Date.now() - t0)} ` +
      `(binaries included); data and logs in ${runDir}\n`,
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
