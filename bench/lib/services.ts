import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/env';
import { type PrivateServices, startPrivateServices } from '../../infra/privateServices';

export interface BenchServices extends PrivateServices {
  dir: string;
}

/**
 * A Temporal dev server and a MinIO of the bench's own, as the integration tests' global setup
 * starts them (same binaries, cached in ~/.cache/slipway); they die with this process even when
 * the bench is killed.
 */
export async function startBenchServices(): Promise<BenchServices> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-services-'));
  const services = await startPrivateServices(loadConfig(), { dir, name: 'slipway-bench' });
  return {
    ...services,
    dir,
    async stop() {
      await services.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
