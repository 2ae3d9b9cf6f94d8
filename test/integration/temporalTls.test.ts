import { spawn } from 'node:child_process';
import { randomUUID, X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { createWorkers } from '../../worker/worker';
import type { PipelineResult } from '../../workflows/trainToDeploy';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { testServices } from '../support/services';
import { makeTestCertificates, type TestCertificates } from '../support/testCertificates';
import { startTlsProxy, type TlsProxy } from '../support/tlsProxy';

/**
 * Slipway against a Temporal frontend that requires mutual TLS (issue 26). The dev server speaks
 * only plain text, so a TLS-terminating proxy with a private CA stands in front of it, as a
 * cluster's ingress does: the worker (native connection) and the client run a pipeline through it,
 * and each misconfiguration fails within 10 seconds with a message naming the setting to fix.
 */
describe('Temporal over mutual TLS', () => {
  let certs: TestCertificates;
  let proxy: TlsProxy;
  let world: PipelineWorld;
  let dir: string;

  /** The settings a team would set, pointing at the proxy. */
  const tlsEnv = (overrides: Record<string, string | undefined> = {}) => {
    const env: Record<string, string | undefined> = {
      SLIPWAY_TEMPORAL_ADDRESS: proxy.address,
      SLIPWAY_TEMPORAL_TLS_CA: certs.ca,
      SLIPWAY_TEMPORAL_TLS_CERT: certs.clientCert,
      SLIPWAY_TEMPORAL_TLS_KEY: certs.clientKey,
      SLIPWAY_TEMPORAL_TLS_SERVER_NAME: certs.serverName,
      ...overrides,
    };
    return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
      string,
      string
    >;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-tls-'));
    certs = await makeTestCertificates(join(dir, 'pki'));
    proxy = await startTlsProxy({
      upstream: testServices().temporalAddress,
      cert: certs.serverCert,
      key: certs.serverKey,
      clientCa: certs.ca,
    });
    world = await startPipelineWorld('temporal-tls', { env: tlsEnv() });
  });

  afterAll(async () => {
    await world?.close();
    await proxy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a pipeline with the worker and the client connected through mutual TLS', {
    timeout: 120_000,
  }, async () => {
    const result = (await world.client.workflow.execute('trainToDeploy', {
      taskQueue: world.config.taskQueue,
      workflowId: `tls-${randomUUID()}`,
      args: [
        {
          source: 'synthetic:fraud?rows=3000&seed=3',
          modelName: 'fraud-over-tls',
          spec: { ...referenceModelSpec, epochs: 1 },
          trainingTaskQueue: world.config.trainingTaskQueue,
          createdBy: 'tls-test',
        },
      ],
    })) as PipelineResult;
    expect(result.version).toBe(1);
    // Both workers' native connection and the test's client went through the proxy's handshake.
    expect(proxy.authorised()).toBeGreaterThanOrEqual(2);
    // The CLI reaches the same run over TLS too.
    const runs = await slipwayAs('ops', world.env, ['runs', '--model', 'fraud-over-tls', '--json']);
    expect(runs.code, runs.stderr).toBe(0);
    expect(JSON.parse(runs.stdout)).toHaveLength(1);
  });

  it('a running worker picks up a renewed client certificate without a restart', {
    timeout: 120_000,
  }, async () => {
    // The worker's own copies of its files, renewed in place as a certificate manager does.
    const cert = join(dir, 'worker.crt');
    const key = join(dir, 'worker.key');
    await copyFile(certs.workerCert, cert);
    await copyFile(certs.workerKey, key);
    const queue = `tls-reload-${randomUUID()}`;
    const env = {
      ...process.env,
      ...world.env,
      SLIPWAY_TASK_QUEUE: queue,
      SLIPWAY_TRAINING_TASK_QUEUE: `${queue}-training`,
      SLIPWAY_TEMPORAL_TLS_CERT: cert,
      SLIPWAY_TEMPORAL_TLS_KEY: key,
      SLIPWAY_TEMPORAL_TLS_RELOAD_SECONDS: '0.5',
    };
    const child = spawn(resolve(__dirname, '../../bin/slipway'), ['worker', '--identity', 'tls-reload'], {
      env,
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const waitFor = async (pattern: RegExp, seconds: number) => {
      const until = Date.now() + seconds * 1000;
      while (!pattern.test(stderr)) {
        if (Date.now() > until) throw new Error(`no ${pattern} within ${seconds} s; worker said:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const serialOf = async (path: string) => new X509Certificate(await readFile(path)).serialNumber;
    try {
      await waitFor(/slipway worker: polling/, 60);
      const oldSerial = await serialOf(certs.workerCert);
      expect(proxy.serials()).toContain(oldSerial);

      // Renew: the key first, then the certificate (a half-renewed pair is refused and waited out).
      await copyFile(certs.renewedKey, key);
      await copyFile(certs.renewedCert, cert);
      await waitFor(/polling on a new connection, the old one drains/, 30);
      // The old certificate is revoked: its connections are cut and it is refused from now on, so
      // the run below can only be served by the renewed one.
      proxy.revoke(oldSerial);
      const result = (await world.client.workflow.execute('trainToDeploy', {
        taskQueue: queue,
        workflowId: `tls-reload-${randomUUID()}`,
        args: [
          {
            source: 'synthetic:fraud?rows=2000&seed=5',
            modelName: 'fraud-tls-renewed',
            spec: { ...referenceModelSpec, epochs: 1 },
            trainingTaskQueue: `${queue}-training`,
            createdBy: 'tls-test',
          },
        ],
      })) as PipelineResult;
      expect(result.version).toBe(1);
      expect(proxy.serials()).toContain(await serialOf(certs.renewedCert));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  const refused: Array<[string, Record<string, string | undefined>, RegExp]> = [
    [
      'a CA that did not sign the server',
      { SLIPWAY_TEMPORAL_TLS_CA: '<other-ca>' },
      /SLIPWAY_TEMPORAL_TLS_CA: the certificate of Temporal at .* is not signed by the CA in this file/,
    ],
    [
      'no client certificate',
      { SLIPWAY_TEMPORAL_TLS_CERT: undefined, SLIPWAY_TEMPORAL_TLS_KEY: undefined },
      /SLIPWAY_TEMPORAL_TLS_CERT: Temporal at .* asks for a client certificate and none is set/,
    ],
    [
      'an expired client certificate',
      { SLIPWAY_TEMPORAL_TLS_CERT: '<expired>', SLIPWAY_TEMPORAL_TLS_KEY: '<expired-key>' },
      /SLIPWAY_TEMPORAL_TLS_CERT: the client certificate in .*expired\.crt expired on 2020-02-01/,
    ],
    [
      "a client certificate the cluster's CA did not sign",
      { SLIPWAY_TEMPORAL_TLS_CERT: '<stranger>', SLIPWAY_TEMPORAL_TLS_KEY: '<stranger-key>' },
      /SLIPWAY_TEMPORAL_TLS_CERT: Temporal at .* (refused this client's certificate|asks for a client certificate and refused the one given)/,
    ],
    [
      'a missing CA file',
      { SLIPWAY_TEMPORAL_TLS_CA: '/nonexistent/ca.pem' },
      /SLIPWAY_TEMPORAL_TLS_CA: cannot read \/nonexistent\/ca.pem \(no such file\)/,
    ],
    [
      'a wrong server name',
      { SLIPWAY_TEMPORAL_TLS_SERVER_NAME: 'elsewhere.test' },
      /SLIPWAY_TEMPORAL_TLS_SERVER_NAME: the certificate of Temporal at .* does not name this host/,
    ],
    [
      'a namespace that does not exist',
      { SLIPWAY_TEMPORAL_NAMESPACE: 'no-such-namespace' },
      /SLIPWAY_TEMPORAL_NAMESPACE: namespace "no-such-namespace" does not exist on Temporal at /,
    ],
  ];
  const files = (): Record<string, string> => ({
    '<other-ca>': certs.otherCa,
    '<expired>': certs.expiredCert,
    '<expired-key>': certs.expiredKey,
    '<stranger>': certs.strangerCert,
    '<stranger-key>': certs.strangerKey,
  });
  const withFiles = (overrides: Record<string, string | undefined>) =>
    Object.fromEntries(
      Object.entries(overrides).map(([k, v]) => [k, v === undefined ? v : (files()[v] ?? v)]),
    );

  it.each(refused)(
    'the CLI with %s fails within 10 s naming the setting',
    { timeout: 30_000 },
    async (_what, overrides, message) => {
      const env = { ...world.env };
      for (const key of Object.keys(env)) if (key.startsWith('SLIPWAY_TEMPORAL_TLS')) delete env[key];
      const started = Date.now();
      const result = await slipwayAs('ops', { ...env, ...tlsEnv(withFiles(overrides)) }, ['runs', '--json']);
      const seconds = (Date.now() - started) / 1000;
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(seconds).toBeLessThan(10);
    },
  );

  it('a worker with the wrong CA refuses to start, naming the setting, instead of hanging', {
    timeout: 30_000,
  }, async () => {
    const config = loadConfig({ ...world.env, SLIPWAY_TEMPORAL_TLS_CA: certs.otherCa });
    const started = Date.now();
    await expect(createWorkers(config, { identity: 'tls-wrong-ca' })).rejects.toThrow(
      /SLIPWAY_TEMPORAL_TLS_CA/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a worker on a namespace that does not exist refuses to start, naming the setting', {
    timeout: 30_000,
  }, async () => {
    const config = loadConfig({ ...world.env, SLIPWAY_TEMPORAL_NAMESPACE: 'no-such-namespace' });
    const started = Date.now();
    await expect(createWorkers(config, { identity: 'tls-wrong-namespace' })).rejects.toThrow(
      /SLIPWAY_TEMPORAL_NAMESPACE: namespace "no-such-namespace" does not exist/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
