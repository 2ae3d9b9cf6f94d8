import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { MissingBinaryError, ensureMinioBinary, ensureTemporalBinary } from '../../infra/binaries';
import { isMinioHealthy } from '../../infra/minioServer';
import { freePort, isAlive } from '../../infra/processes';
import { isTemporalHealthy, startTemporalDevServer } from '../../infra/temporalServer';
import { testServices } from '../support/services';

describe('the provisioned dev stack', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-infra-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves health checks on the Temporal and MinIO the setup started', async () => {
    const services = testServices();
    expect(await isTemporalHealthy(services.temporalAddress)).toBe(true);
    expect(await isMinioHealthy(services.s3.endpoint)).toBe(true);
  });

  it('starts and stops a second Temporal dev server on free ports and leaves no process behind', async () => {
    const binary = await ensureTemporalBinary(loadConfig());
    const [port, httpPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const server = await startTemporalDevServer({
      binary,
      dbFile: join(dir, 'second.sqlite'),
      logFile: join(dir, 'second.log'),
      port,
      uiPort: 0,
      httpPort,
      metricsPort,
      namespace: 'default',
      headless: true,
    });
    expect(isAlive(server.pid)).toBe(true);
    expect(await isTemporalHealthy(server.address)).toBe(true);
    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    expect(await isTemporalHealthy(server.address).catch(() => false)).toBe(false);
  });

  it('names the variable and the fix when an explicit binary does not exist', async () => {
    const config = loadConfig({ SLIPWAY_MINIO_BIN: '/nonexistent/minio' });
    const err = await ensureMinioBinary(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingBinaryError);
    expect((err as Error).message).toContain('SLIPWAY_MINIO_BIN=/nonexistent/minio is not an executable file');
  });

  it('reports a service that dies at startup with the tail of its log', async () => {
    const [port, httpPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const err = await startTemporalDevServer({
      binary: '/bin/false',
      dbFile: join(dir, 'never.sqlite'),
      logFile: join(dir, 'never.log'),
      port,
      uiPort: 0,
      httpPort,
      metricsPort,
      namespace: 'default',
      headless: true,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/exited during startup. Last lines of .*never\.log/);
  });
});
