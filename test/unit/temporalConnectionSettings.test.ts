import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { temporalConnectionSettings } from '../../infra/temporalConnection';
import { makeTestCertificates, type TestCertificates } from '../support/testCertificates';

describe('Temporal connection settings (infra/temporalConnection.ts)', () => {
  let dir: string;
  let certs: TestCertificates;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-tls-unit-'));
    certs = await makeTestCertificates(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const settings = (env: Record<string, string>) =>
    temporalConnectionSettings(loadConfig({ SLIPWAY_TEMPORAL_ADDRESS: 'temporal.example:7233', ...env }));

  it('is plain text with no TLS setting, and for the embedded server', () => {
    expect(settings({})).toEqual({ address: 'temporal.example:7233' });
    expect(temporalConnectionSettings(loadConfig({}))).toEqual({ address: '127.0.0.1:7233' });
  });

  it('reads the CA, the client pair, the server name, an API key and metadata', () => {
    const s = settings({
      SLIPWAY_TEMPORAL_TLS_CA: certs.ca,
      SLIPWAY_TEMPORAL_TLS_CERT: certs.clientCert,
      SLIPWAY_TEMPORAL_TLS_KEY: certs.clientKey,
      SLIPWAY_TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
      SLIPWAY_TEMPORAL_API_KEY: 'k3y',
      SLIPWAY_TEMPORAL_GRPC_METADATA: 'x-team=fraud, X-Env=prod',
    });
    expect(s.tls?.serverNameOverride).toBe('frontend.internal');
    expect(s.tls?.serverRootCACertificate?.toString()).toMatch(/BEGIN CERTIFICATE/);
    expect(s.tls?.clientCertPair?.key.toString()).toMatch(/PRIVATE KEY/);
    expect(s.apiKey).toBe('k3y');
    expect(s.metadata).toEqual({ 'x-team': 'fraud', 'x-env': 'prod' });
  });

  it('turns TLS on for an API key alone (with the system CAs), and off when told', () => {
    expect(settings({ SLIPWAY_TEMPORAL_API_KEY: 'k' }).tls).toEqual({});
    expect(settings({ SLIPWAY_TEMPORAL_TLS: 'on' }).tls).toEqual({});
    expect(settings({ SLIPWAY_TEMPORAL_TLS: 'off', SLIPWAY_TEMPORAL_API_KEY: 'k' }).tls).toBeUndefined();
  });

  it.each([
    [{ SLIPWAY_TEMPORAL_TLS: 'maybe' }, /SLIPWAY_TEMPORAL_TLS must be on or off/],
    [
      { SLIPWAY_TEMPORAL_TLS: 'off', SLIPWAY_TEMPORAL_TLS_CA: '/x.pem' },
      /TLS is off but SLIPWAY_TEMPORAL_TLS_CA is set/,
    ],
    [{ SLIPWAY_TEMPORAL_TLS_CERT: '<client>' }, /SLIPWAY_TEMPORAL_TLS_KEY is not set: mutual TLS needs both/],
    [{ SLIPWAY_TEMPORAL_TLS_KEY: '<client-key>' }, /SLIPWAY_TEMPORAL_TLS_CERT is not set/],
    [
      { SLIPWAY_TEMPORAL_TLS_CERT: '<client>', SLIPWAY_TEMPORAL_TLS_KEY: '<stranger-key>' },
      /SLIPWAY_TEMPORAL_TLS_KEY: .* is not the private key of the certificate/,
    ],
    [
      { SLIPWAY_TEMPORAL_TLS_CERT: '<expired>', SLIPWAY_TEMPORAL_TLS_KEY: '<expired-key>' },
      /SLIPWAY_TEMPORAL_TLS_CERT: the client certificate in .* expired on 2020-02-01T00:00:00.000Z/,
    ],
    [{ SLIPWAY_TEMPORAL_TLS_CA: '<client-key>' }, /SLIPWAY_TEMPORAL_TLS_CA: .* is not a PEM certificate/],
    [{ SLIPWAY_TEMPORAL_GRPC_METADATA: 'x-team' }, /"x-team" is not a name=value pair/],
    [
      { SLIPWAY_TEMPORAL_GRPC_METADATA: 'authorization=Bearer x' },
      /put an API key in SLIPWAY_TEMPORAL_API_KEY/,
    ],
  ])('refuses %o, naming the setting', (env, message) => {
    const files: Record<string, string> = {
      '<client>': certs.clientCert,
      '<client-key>': certs.clientKey,
      '<stranger-key>': certs.strangerKey,
      '<expired>': certs.expiredCert,
      '<expired-key>': certs.expiredKey,
    };
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, files[v] ?? v]));
    expect(() => settings(resolved)).toThrow(message);
  });

  it('refuses TLS settings for the embedded dev server, which speaks plain text', () => {
    expect(() => temporalConnectionSettings(loadConfig({ SLIPWAY_TEMPORAL_TLS_CA: certs.ca }))).toThrow(
      /the embedded dev server speaks plain text/,
    );
  });
});
