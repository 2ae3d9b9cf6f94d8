import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT } from '../../config/env';
import { ensureMinioBinary, ensureTemporalBinary, MissingBinaryError } from '../../infra/binaries';
import { isMinioHealthy, startMinio } from '../../infra/minioServer';
import { freePort, isAlive, isGroupAlive, sleep, stopProcessGroup } from '../../infra/processes';
import {
  type EmbeddedStack,
  embeddedStackStatus,
  ensureEmbeddedStack,
  stopEmbeddedStack,
} from '../../infra/stack';
import { headlessDevServer, isTemporalHealthy, startTemporalDevServer } from '../../infra/temporalServer';
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

  it('starts and stops a second Temporal and MinIO on free ports and leaves no process behind', async () => {
    const config = loadConfig();
    const [temporalBin, minioBin] = await Promise.all([
      ensureTemporalBinary(config),
      ensureMinioBinary(config),
    ]);
    const [port, httpPort, metricsPort, minioPort, consolePort] = await Promise.all(
      Array.from({ length: 5 }, freePort),
    );
    const [temporal, minio] = await Promise.all([
      startTemporalDevServer(
        headlessDevServer(temporalBin, dir, 'second', {
          port: port as number,
          httpPort: httpPort as number,
          metricsPort: metricsPort as number,
        }),
      ),
      startMinio({
        binary: minioBin,
        dataDir: join(dir, 'second-minio'),
        logFile: join(dir, 'second-minio.log'),
        port: minioPort as number,
        consolePort: consolePort as number,
        rootUser: 'second',
        rootPassword: 'second-secret',
      }),
    ]);
    expect(await isTemporalHealthy(temporal.address)).toBe(true);
    expect(await isMinioHealthy(minio.endpoint)).toBe(true);
    // Its own ports, not the setup's.
    expect(temporal.address).not.toBe(testServices().temporalAddress);
    expect(minio.endpoint).not.toBe(testServices().s3.endpoint);
    expect(isGroupAlive(temporal.pid)).toBe(true);
    expect(isGroupAlive(minio.pid)).toBe(true);

    await Promise.all([temporal.stop(), minio.stop()]);
    expect(isGroupAlive(temporal.pid)).toBe(false);
    expect(isGroupAlive(minio.pid)).toBe(false);
    expect(await isTemporalHealthy(temporal.address).catch(() => false)).toBe(false);
    expect(await isMinioHealthy(minio.endpoint).catch(() => false)).toBe(false);
    // The setup's services are untouched.
    expect(await isTemporalHealthy(testServices().temporalAddress)).toBe(true);
  });

  it('stops a service started for tests when the process that started it is killed without warning', async () => {
    // A separate process starts a Temporal dev server the way the test setup does, then dies by SIGKILL,
    // which runs no exit hook and no teardown: the server must go with it.
    const [port, httpPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const script = join(dir, 'starter.ts');
    await writeFile(
      script,
      `const { startTemporalDevServer } = require(${JSON.stringify(join(REPO_ROOT, 'infra', 'temporalServer.ts'))});\n` +
        `startTemporalDevServer(${JSON.stringify(
          headlessDevServer(await ensureTemporalBinary(loadConfig()), dir, 'orphan', {
            port,
            httpPort,
            metricsPort,
          }),
        )}).then((s) => { console.log(s.pid); setInterval(() => {}, 1000); });\n`,
    );
    const starter = spawn(process.execPath, ['--require', 'tsx/cjs', script], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      starter.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      starter.once('exit', (code) => reject(new Error(`the starter exited early (${code})`)));
    });
    const address = `127.0.0.1:${port}`;
    expect(await isTemporalHealthy(address)).toBe(true);

    starter.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (isGroupAlive(pid) && Date.now() < deadline) await sleep(100);
    const left = isGroupAlive(pid);
    if (left) await stopProcessGroup(pid);
    expect(left).toBe(false);
    expect(await isTemporalHealthy(address).catch(() => false)).toBe(false);
  });

  it('provides a time-skipping test server that jumps a day of workflow time at once', async () => {
    const path = testServices().timeSkippingServerPath;
    expect(path).toBeDefined();
    const env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: path as string } },
    });
    try {
      const before = await env.currentTimeMs();
      const started = Date.now();
      await env.sleep('1 day');
      expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(86_400_000);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await env.teardown();
    }
  });

  it('names the variable and the fix when an explicit binary does not exist', async () => {
    const config = loadConfig({ SLIPWAY_MINIO_BIN: '/nonexistent/minio' });
    const err = await ensureMinioBinary(config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingBinaryError);
    expect((err as Error).message).toContain(
      'SLIPWAY_MINIO_BIN=/nonexistent/minio is not an executable file',
    );
  });

  it('reports a service that dies at startup with the tail of its log', async () => {
    const [port, httpPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const err = await startTemporalDevServer(
      headlessDevServer('/bin/false', dir, 'never', { port, httpPort, metricsPort }),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/exited during startup. Last lines of .*never\.log/);
  });
});

describe('the embedded stack (slipway dev up | down | status)', () => {
  let stateDir: string;
  let config: ReturnType<typeof loadConfig>;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'slipway-stack-'));
    const [temporalPort, uiPort, minioPort, consolePort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    config = loadConfig({
      ...process.env,
      SLIPWAY_STATE_DIR: stateDir,
      SLIPWAY_TEMPORAL_PORT: String(temporalPort),
      SLIPWAY_TEMPORAL_UI_PORT: String(uiPort),
      SLIPWAY_MINIO_PORT: String(minioPort),
      SLIPWAY_MINIO_CONSOLE_PORT: String(consolePort),
    });
  });
  afterAll(async () => {
    await stopEmbeddedStack(config);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('keeps its services running after the command that started them exits, reuses them, and stops them all', async () => {
    // A separate short-lived process plays the CLI command: the services must outlive it.
    const script = join(stateDir, 'up.ts');
    await writeFile(
      script,
      `const { ensureEmbeddedStack } = require(${JSON.stringify(join(REPO_ROOT, 'infra', 'stack.ts'))});\n` +
        `const { loadConfig } = require(${JSON.stringify(join(REPO_ROOT, 'config', 'env.ts'))});\n` +
        'ensureEmbeddedStack(loadConfig(), { withMinio: true }).then((s) => console.log(JSON.stringify(s)));\n',
    );
    const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...envOf(config) },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const up = JSON.parse(child.stdout) as EmbeddedStack;
    expect(up.started).toBe(true);
    expect(up.minioStarted).toBe(true);
    expect(up.minio).toBeDefined();
    const minio = up.minio as NonNullable<EmbeddedStack['minio']>;

    // The starter is gone; its services are not.
    expect(isAlive(up.temporalPid)).toBe(true);
    expect(isAlive(minio.pid)).toBe(true);
    expect(await isTemporalHealthy(up.temporalAddress)).toBe(true);
    expect(await isMinioHealthy(minio.endpoint)).toBe(true);
    expect(JSON.parse(await readFile(join(stateDir, 'stack.json'), 'utf8')).temporalPid).toBe(up.temporalPid);
    expect((await readFile(join(stateDir, 'temporal.pid'), 'utf8')).trim()).toBe(String(up.temporalPid));

    // A second `up` reuses what runs.
    const again = await ensureEmbeddedStack(config, { withMinio: true });
    expect(again.started).toBe(false);
    expect(again.minioStarted).toBe(false);
    expect(again.temporalPid).toBe(up.temporalPid);
    expect(again.minio?.pid).toBe(minio.pid);

    const status = await embeddedStackStatus(config);
    expect(status.running).toBe(true);
    expect(status.temporal?.healthy).toBe(true);
    expect(status.minio?.healthy).toBe(true);

    // `down` leaves no process and no state behind; a second `down` has nothing to do.
    expect(await stopEmbeddedStack(config)).toBe(true);
    expect(isGroupAlive(up.temporalPid)).toBe(false);
    expect(isGroupAlive(minio.pid)).toBe(false);
    expect(existsSync(join(stateDir, 'stack.json'))).toBe(false);
    expect((await embeddedStackStatus(config)).running).toBe(false);
    expect(await stopEmbeddedStack(config)).toBe(false);
  });

  it('restarts a service that died since the last command, moving the Web UI off a port another process took', async () => {
    const first = await ensureEmbeddedStack(config);
    expect(first.started).toBe(true);
    await stopProcessGroup(first.temporalPid);
    // What made the restart fail once (the dead server's Web UI port still bound, "bind: address
    // already in use"): another process holds the Web UI's port, and the frontend's for a moment.
    const uiHolder = await holdPort(first.uiPort as number);
    const frontendHolder = await holdPort(first.temporalPort as number);
    const released = sleep(1_500).then(() => new Promise((done) => frontendHolder.close(done)));
    try {
      const second = await ensureEmbeddedStack(config);
      await released;
      expect(second.started).toBe(true);
      expect(second.temporalPid).not.toBe(first.temporalPid);
      // The frontend keeps its address (clients know it); the Web UI moved, and stack.json says where.
      expect(second.temporalAddress).toBe(first.temporalAddress);
      expect(second.uiPort).not.toBe(first.uiPort);
      expect(second.uiUrl).toBe(`http://127.0.0.1:${second.uiPort}`);
      const recorded = JSON.parse(await readFile(join(stateDir, 'stack.json'), 'utf8'));
      expect(recorded).toMatchObject({
        temporalPid: second.temporalPid,
        uiPort: second.uiPort,
        uiUrl: second.uiUrl,
        httpPort: second.httpPort,
      });
      expect((await embeddedStackStatus(config)).temporal?.uiUrl).toBe(second.uiUrl);
      expect(await isTemporalHealthy(second.temporalAddress)).toBe(true);
      expect(await answers(second.uiUrl)).toBe(true);
      await stopEmbeddedStack(config);
      expect(isGroupAlive(second.temporalPid)).toBe(false);
    } finally {
      await new Promise((done) => uiHolder.close(done));
    }
  });

  it("restarts MinIO on its own port while another process holds its console's, and names the port and the variable when its own is held", async () => {
    const first = await ensureEmbeddedStack(config, { withMinio: true });
    const minio = first.minio as NonNullable<EmbeddedStack['minio']>;
    await stopProcessGroup(minio.pid);
    // The console port is configured but never bound (the browser is off): holding it stops nothing.
    const consoleHolder = await holdPort(minio.consolePort);
    try {
      const second = await ensureEmbeddedStack(config, { withMinio: true });
      expect(second.minioStarted).toBe(true);
      expect(second.minio?.endpoint).toBe(minio.endpoint);
      expect(await isMinioHealthy(minio.endpoint)).toBe(true);
      await stopProcessGroup((second.minio as NonNullable<EmbeddedStack['minio']>).pid);
    } finally {
      await new Promise((done) => consoleHolder.close(done));
    }
    // The S3 port cannot move (clients know it): a restart waits for it a moment, then says who to stop or what to set.
    const s3Holder = await holdPort(minio.port);
    try {
      const refused = await ensureEmbeddedStack(config, { withMinio: true }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toMatch(
        new RegExp(
          `^Port ${minio.port} on 127\\.0\\.0\\.1 is held by another process, so the embedded MinIO cannot start there\\. .*SLIPWAY_MINIO_PORT`,
        ),
      );
    } finally {
      await new Promise((done) => s3Holder.close(done));
    }
    await stopEmbeddedStack(config);
  });
});

/**
 * A listener on 127.0.0.1:`port`, standing for another process that holds it. It hangs up at once
 * on whoever connects (the restart's health check of the frontend), so no connection outlives it.
 */
function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** The URL answers HTTP within 20 s (the Web UI comes up beside the frontend, not before it). */
async function answers(url: string): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return true;
    await sleep(250);
  }
  return false;
}

/** The SLIPWAY_* variables a config was built from, to hand the same settings to a child process. */
function envOf(config: ReturnType<typeof loadConfig>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
}
