import { createPrivateKey, type X509Certificate } from 'node:crypto';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { ConfigError, type SlipwayConfig } from '../config/env';
import { certificatesOf, readPemSetting } from '../config/pemFiles';

/**
 * How this installation reaches Temporal: plain text to the embedded dev server, or TLS (custom CA,
 * mutual TLS, a server name override), an API key and extra gRPC metadata for a production cluster
 * or Temporal Cloud. One owner for the client (CLI, console, tests) and the worker's native
 * connection, so both read the same settings and fail with the same messages.
 */
export interface TemporalConnectionSettings {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
  metadata?: Record<string, string>;
}

/** Within the 10 s a user waits for a misconfiguration to be named: the TLS probe, then the SDK's connect. */
const PROBE_TIMEOUT_MS = 3_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Reads and checks the connection settings: every file exists and parses, the client certificate is
 * within its validity period and matches its key. Each problem names the variable to fix.
 */
export function temporalConnectionSettings(
  config: SlipwayConfig,
  now: Date = new Date(),
): TemporalConnectionSettings {
  const env = config.env;
  const settings: TemporalConnectionSettings = { address: config.temporalAddress };
  if (env.SLIPWAY_TEMPORAL_GRPC_METADATA)
    settings.metadata = parseMetadata(env.SLIPWAY_TEMPORAL_GRPC_METADATA);
  if (env.SLIPWAY_TEMPORAL_API_KEY) settings.apiKey = env.SLIPWAY_TEMPORAL_API_KEY;

  const tlsSwitch = (env.SLIPWAY_TEMPORAL_TLS ?? '').toLowerCase();
  if (tlsSwitch !== '' && !['on', 'off', 'true', 'false', '1', '0'].includes(tlsSwitch))
    throw new ConfigError(`SLIPWAY_TEMPORAL_TLS must be on or off (got "${env.SLIPWAY_TEMPORAL_TLS}").`);
  const tlsOff = ['off', 'false', '0'].includes(tlsSwitch);
  const wantsTls =
    ['on', 'true', '1'].includes(tlsSwitch) ||
    Boolean(env.SLIPWAY_TEMPORAL_TLS_CA || env.SLIPWAY_TEMPORAL_TLS_CERT || env.SLIPWAY_TEMPORAL_TLS_KEY) ||
    settings.apiKey !== undefined;
  if (tlsOff) {
    const set = ['SLIPWAY_TEMPORAL_TLS_CA', 'SLIPWAY_TEMPORAL_TLS_CERT', 'SLIPWAY_TEMPORAL_TLS_KEY'].filter(
      (name) => env[name as keyof typeof env],
    );
    if (set.length > 0)
      throw new ConfigError(
        `SLIPWAY_TEMPORAL_TLS is off but ${set.join(', ')} is set: unset one or the other.`,
      );
    return settings;
  }
  if (!wantsTls) return settings;
  if (config.embeddedTemporal)
    throw new ConfigError(
      'Temporal TLS settings are set but SLIPWAY_TEMPORAL_ADDRESS is not: the embedded dev server speaks plain text. ' +
        'Set SLIPWAY_TEMPORAL_ADDRESS to the cluster, or unset the SLIPWAY_TEMPORAL_TLS_* variables.',
    );

  const tls: NonNullable<TemporalConnectionSettings['tls']> = {};
  if (env.SLIPWAY_TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = env.SLIPWAY_TEMPORAL_TLS_SERVER_NAME;
  if (env.SLIPWAY_TEMPORAL_TLS_CA) {
    const ca = readPem('SLIPWAY_TEMPORAL_TLS_CA', env.SLIPWAY_TEMPORAL_TLS_CA);
    certificateOf('SLIPWAY_TEMPORAL_TLS_CA', env.SLIPWAY_TEMPORAL_TLS_CA, ca);
    tls.serverRootCACertificate = ca;
  }
  const certPath = env.SLIPWAY_TEMPORAL_TLS_CERT;
  const keyPath = env.SLIPWAY_TEMPORAL_TLS_KEY;
  if (Boolean(certPath) !== Boolean(keyPath))
    throw new ConfigError(
      `${certPath ? 'SLIPWAY_TEMPORAL_TLS_KEY' : 'SLIPWAY_TEMPORAL_TLS_CERT'} is not set: mutual TLS needs both the ` +
        'client certificate (SLIPWAY_TEMPORAL_TLS_CERT) and its private key (SLIPWAY_TEMPORAL_TLS_KEY).',
    );
  if (certPath && keyPath) {
    const crt = readPem('SLIPWAY_TEMPORAL_TLS_CERT', certPath);
    const key = readPem('SLIPWAY_TEMPORAL_TLS_KEY', keyPath);
    const cert = certificateOf('SLIPWAY_TEMPORAL_TLS_CERT', certPath, crt);
    checkValidity(cert, certPath, now);
    let matches = false;
    try {
      matches = cert.checkPrivateKey(createPrivateKey(key));
    } catch (err) {
      throw new ConfigError(
        `SLIPWAY_TEMPORAL_TLS_KEY: ${keyPath} is not a readable PEM private key (${(err as Error).message}).`,
      );
    }
    if (!matches)
      throw new ConfigError(
        `SLIPWAY_TEMPORAL_TLS_KEY: ${keyPath} is not the private key of the certificate in ${certPath} ` +
          '(SLIPWAY_TEMPORAL_TLS_CERT): give the key the certificate was issued for.',
      );
    tls.clientCertPair = { crt, key };
  }
  settings.tls = tls;
  return settings;
}

/** The client-side connection (CLI, console, tests): checked settings, a TLS probe, a bounded connect. */
export async function connectTemporalClient(config: SlipwayConfig): Promise<Connection> {
  const settings = temporalConnectionSettings(config);
  await probeTls(settings);
  const { Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({
    address: settings.address,
    tls: settings.tls,
    apiKey: settings.apiKey,
    metadata: settings.metadata,
    connectTimeout: CONNECT_TIMEOUT_MS,
  }).catch((err: Error) => {
    throw new Error(`Cannot reach Temporal at ${settings.address}: ${err.message}. ${addressHint(config)}`);
  });
  await checkNamespace(connection, config);
  return connection;
}

/** The worker's native connection, with the same settings and checks as the client's. */
export async function connectTemporalWorker(config: SlipwayConfig): Promise<NativeConnection> {
  const settings = temporalConnectionSettings(config);
  await probeTls(settings);
  const { NativeConnection } = await import('@temporalio/worker');
  const connection = await NativeConnection.connect({
    address: settings.address,
    tls: settings.tls,
    apiKey: settings.apiKey,
    metadata: settings.metadata,
  }).catch((err: Error) => {
    throw new Error(`Cannot reach Temporal at ${settings.address}: ${err.message}. ${addressHint(config)}`);
  });
  await checkNamespace(connection, config);
  return connection;
}

/** The part of both connection kinds the namespace check uses. */
interface NamespaceLookup {
  workflowService: {
    describeNamespace(request: { namespace: string }): Promise<unknown>;
  };
  withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Asks the frontend for the configured namespace once, right after connecting. Without it a client
 * fails at its first call with the server's bare "Namespace not found", and a worker only after
 * bundling its workflows (seconds) with a native error dump; here both get the setting to fix.
 * Other failures (a key not allowed to describe namespaces) are left to the calls that follow.
 */
async function checkNamespace(connection: NamespaceLookup, config: SlipwayConfig): Promise<void> {
  const namespace = config.namespace;
  try {
    await connection.withDeadline(Date.now() + CONNECT_TIMEOUT_MS, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
  } catch (err) {
    if ((err as { code?: unknown }).code !== GRPC_NOT_FOUND) return;
    await connection.close().catch(() => {});
    throw new ConfigError(
      `SLIPWAY_TEMPORAL_NAMESPACE: namespace "${namespace}" does not exist on Temporal at ${config.temporalAddress}. ` +
        'Set SLIPWAY_TEMPORAL_NAMESPACE to an existing namespace (unset: "default"), or create it ' +
        `(temporal operator namespace create --namespace ${namespace}).`,
    );
  }
}

const GRPC_NOT_FOUND = 5;

function addressHint(config: SlipwayConfig): string {
  return config.embeddedTemporal
    ? 'Run `slipway dev status` to see the embedded stack and its logs.'
    : 'Check SLIPWAY_TEMPORAL_ADDRESS (and the SLIPWAY_TEMPORAL_TLS_* settings), or unset it to use the embedded dev server.';
}

/**
 * One TLS handshake with the frontend before the SDK connects: the SDK retries a refused handshake
 * until its deadline and then reports only the deadline, while Node's TLS error says which side was
 * refused. Each failure is turned into the setting to fix. Plain-text settings skip it.
 */
export async function probeTls(settings: TemporalConnectionSettings): Promise<void> {
  if (!settings.tls) return;
  const { host, port } = splitAddress(settings.address);
  const tls = settings.tls;
  const failure = await new Promise<Error | undefined>((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      servername: tls.serverNameOverride ?? (isIp(host) ? undefined : host),
      ca: tls.serverRootCACertificate,
      cert: tls.clientCertPair?.crt,
      key: tls.clientCertPair?.key,
      ALPNProtocols: ['h2'],
      checkServerIdentity: tls.serverNameOverride
        ? (_host, cert) => checkServerIdentity(tls.serverNameOverride as string, cert)
        : undefined,
    });
    const timer = setTimeout(
      () => finish(new Error(`no TLS answer within ${PROBE_TIMEOUT_MS / 1000} s`)),
      PROBE_TIMEOUT_MS,
    );
    let settled = false;
    function finish(err?: Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    }
    // TLS 1.3 finishes the client's side of the handshake before the server has checked the client's
    // certificate; its refusal (an alert, or just a closed connection) arrives just after. A short
    // wait hears it, and a close in that window is the server refusing the client.
    let clientSideDone = false;
    socket.once('error', (err) => finish(clientSideDone ? new RefusedAfterHandshake(err.message) : err));
    socket.once('secureConnect', () => {
      clientSideDone = true;
      setTimeout(() => finish(), 300);
    });
    socket.once('close', () =>
      finish(
        clientSideDone
          ? new RefusedAfterHandshake('the server closed the connection after the handshake')
          : new Error('the server closed the connection during the TLS handshake'),
      ),
    );
  });
  if (failure) throw new ConfigError(explainTlsFailure(failure, settings));
}

/** The server ended the connection once the client had sent its certificate (or none): it refused the client. */
class RefusedAfterHandshake extends Error {}

/** The setting behind a TLS failure, from Node's error code or the alert the server sent. */
export function explainTlsFailure(err: Error, settings: TemporalConnectionSettings): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const where = `Temporal at ${settings.address}`;
  const message = err.message;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT'].includes(code))
    return `Cannot reach ${where} (${code}): check SLIPWAY_TEMPORAL_ADDRESS.`;
  if (
    [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_GET_ISSUER_CERT',
    ].includes(code)
  )
    return (
      `SLIPWAY_TEMPORAL_TLS_CA: the certificate of ${where} is not signed by ${settings.tls?.serverRootCACertificate ? 'the CA in this file' : 'any CA this system trusts (no SLIPWAY_TEMPORAL_TLS_CA set)'} ` +
      `(${code}). Set SLIPWAY_TEMPORAL_TLS_CA to the PEM file of the CA that issued the server's certificate.`
    );
  if (code === 'CERT_HAS_EXPIRED')
    return `The certificate of ${where} has expired (${code}): renew it on the server; nothing to change in SLIPWAY_TEMPORAL_TLS_CA.`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return (
      `SLIPWAY_TEMPORAL_TLS_SERVER_NAME: the certificate of ${where} does not name this host (${message}). ` +
      'Set SLIPWAY_TEMPORAL_TLS_SERVER_NAME to a name in the certificate.'
    );
  if (
    /certificate required|peer did not return a certificate|handshake failure/i.test(message) ||
    err instanceof RefusedAfterHandshake
  )
    return (
      `SLIPWAY_TEMPORAL_TLS_CERT: ${where} asks for a client certificate ${settings.tls?.clientCertPair ? 'and refused the one given' : 'and none is set'} ` +
      `(${message.trim()}). Set SLIPWAY_TEMPORAL_TLS_CERT and SLIPWAY_TEMPORAL_TLS_KEY to a certificate the cluster's client CA signed.`
    );
  if (
    /unknown ca|bad certificate|certificate expired|certificate revoked|unsupported certificate/i.test(
      message,
    )
  )
    return (
      `SLIPWAY_TEMPORAL_TLS_CERT: ${where} refused this client's certificate (${message.trim()}). ` +
      "Give a current certificate signed by the cluster's client CA, with its key in SLIPWAY_TEMPORAL_TLS_KEY."
    );
  if (/wrong version number|packet length too long|unexpected eof/i.test(message))
    return `${where} does not speak TLS (${message.trim()}): set SLIPWAY_TEMPORAL_TLS=off, or check SLIPWAY_TEMPORAL_ADDRESS.`;
  return `TLS handshake with ${where} failed: ${message}. Check the SLIPWAY_TEMPORAL_TLS_* settings.`;
}

function parseMetadata(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    const name = pair.slice(0, at).trim().toLowerCase();
    if (at <= 0 || !/^[a-z0-9._-]+$/.test(name))
      throw new ConfigError(
        `SLIPWAY_TEMPORAL_GRPC_METADATA: "${pair.trim()}" is not a name=value pair (names: letters, digits, . _ -), ` +
          'for example "x-team=fraud,x-env=prod".',
      );
    out[name] = pair.slice(at + 1).trim();
  }
  if ('authorization' in out)
    throw new ConfigError(
      'SLIPWAY_TEMPORAL_GRPC_METADATA sets authorization: put an API key in SLIPWAY_TEMPORAL_API_KEY instead.',
    );
  return out;
}

const configError = (message: string) => new ConfigError(message);

function readPem(variable: string, path: string): Buffer {
  return readPemSetting(variable, path, configError);
}

/** The first certificate of the file (a CA file may hold a bundle: the TLS library reads them all). */
function certificateOf(variable: string, path: string, pem: Buffer): X509Certificate {
  return certificatesOf(variable, path, pem, configError)[0] as X509Certificate;
}

function checkValidity(cert: X509Certificate, path: string, now: Date): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now > to)
    throw new ConfigError(
      `SLIPWAY_TEMPORAL_TLS_CERT: the client certificate in ${path} expired on ${to.toISOString()}: ` +
        'renew it (and its key in SLIPWAY_TEMPORAL_TLS_KEY).',
    );
  if (now < from)
    throw new ConfigError(
      `SLIPWAY_TEMPORAL_TLS_CERT: the client certificate in ${path} is not valid before ${from.toISOString()}: ` +
        "check this machine's clock, or use a certificate valid now.",
    );
}

function splitAddress(address: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) throw new ConfigError(`SLIPWAY_TEMPORAL_ADDRESS must be host:port (got "${address}").`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(':');
