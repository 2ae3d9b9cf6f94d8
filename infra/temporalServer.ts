import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort, type ServiceProcess, startService, stopProcessGroup, waitUntilHealthy } from './processes';

export interface TemporalDevServerOptions {
  binary: string;
  /** SQLite file: the server's state survives restarts. */
  dbFile: string;
  logFile: string;
  port: number;
  uiPort: number;
  /** Internal HTTP API and metrics ports; any free ones when omitted. */
  httpPort?: number;
  metricsPort?: number;
  namespace: string;
  /** Keep running after this process exits (the embedded stack between commands). */
  outliveParent?: boolean;
  /** No Web UI (tests do not need it). */
  headless?: boolean;
}

/** A headless dev server of the default namespace on given ports, keeping `<dir>/<name>.sqlite` and `.log`. */
export function headlessDevServer(
  binary: string,
  dir: string,
  name: string,
  ports: { port: number; httpPort: number; metricsPort: number },
): TemporalDevServerOptions {
  return {
    binary,
    dbFile: join(dir, `${name}.sqlite`),
    logFile: join(dir, `${name}.log`),
    port: ports.port,
    uiPort: 0,
    httpPort: ports.httpPort,
    metricsPort: ports.metricsPort,
    namespace: 'default',
    headless: true,
  };
}

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export async function isTemporalHealthy(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    const response = await connection.healthService.check({});
    return response.status === 1; // SERVING
  } finally {
    await connection.close();
  }
}

/** `temporal server start-dev` on loopback, waiting until its frontend answers health checks. */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const httpPort = options.httpPort ?? (await freePort());
  const metricsPort = options.metricsPort ?? (await freePort());
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    options.dbFile,
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    ...(options.headless ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
  ];
  const service: ServiceProcess = startService(options.binary, args, {
    logFile: options.logFile,
    outliveParent: options.outliveParent,
  });
  const address = `127.0.0.1:${options.port}`;
  await waitUntilHealthy({
    name: `Temporal dev server (${address})`,
    service,
    check: () => isTemporalHealthy(address),
    timeoutMs: 60_000,
  });
  return {
    address,
    uiUrl: options.headless ? '(disabled)' : `http://127.0.0.1:${options.uiPort}`,
    pid: service.pid,
    logFile: options.logFile,
    stop: () => stopProcessGroup(service.pid),
  };
}
