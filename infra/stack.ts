import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { SlipwayConfig } from '../config/env';
import {
  type BackgroundWorker,
  backgroundWorkerStatus,
  ensureBackgroundWorker,
  stopBackgroundWorker,
} from './backgroundWorker';
import { ensureMinioBinary, ensureTemporalBinary } from './binaries';
import { ensureBucket, isMinioHealthy, startMinio } from './minioServer';
import {
  commandLine,
  freePort,
  isAlive,
  portInUse,
  sleep,
  stopProcessGroup,
  waitForFreePort,
} from './processes';
import { isTemporalHealthy, startTemporalDevServer, type TemporalDevServer } from './temporalServer';

/**
 * The embedded stack: a Temporal dev server (and, on request, a MinIO) kept running in the
 * background between commands, with databases, logs, pid files and a state file (stack.json) in
 * the state folder. Artifacts need no server on the embedded default (they go to a local folder).
 */
const minioStateSchema = z.object({
  pid: z.number().int(),
  binary: z.string(),
  endpoint: z.string(),
  port: z.number().int(),
  consolePort: z.number().int(),
  accessKey: z.string(),
  secretKey: z.string(),
  region: z.string(),
  dataDir: z.string(),
  logFile: z.string(),
  pidFile: z.string(),
});
export type EmbeddedMinio = z.infer<typeof minioStateSchema>;

// Fields added after the first version are optional so a stack started by an older checkout is still read.
const stackStateSchema = z.object({
  temporalPid: z.number().int(),
  temporalAddress: z.string(),
  uiUrl: z.string(),
  logFile: z.string(),
  dbFile: z.string(),
  temporalBinary: z.string().optional(),
  temporalPort: z.number().int().optional(),
  uiPort: z.number().int().optional(),
  httpPort: z.number().int().optional(),
  metricsPort: z.number().int().optional(),
  pidFile: z.string().optional(),
  minio: minioStateSchema.optional(),
});
type StackState = z.infer<typeof stackStateSchema>;

export interface EmbeddedStack extends StackState {
  /** True when this call started the Temporal server, false when it was already running. */
  started: boolean;
  /** True when this call started MinIO (only with `withMinio`). */
  minioStarted: boolean;
  /** The background worker (only with `withWorker`), and whether this call (re)started it. */
  worker?: BackgroundWorker & { started: boolean; replaced: boolean };
  stateDir: string;
}

export interface EmbeddedStackOptions {
  /** Also run a MinIO (for trying the S3 artifact store locally); the embedded default does not need one. */
  withMinio?: boolean;
  /**
   * Also keep a background worker polling (started, or replaced when it runs other code or
   * settings), so pipelines progress between commands and while they wait for a person.
   */
  withWorker?: boolean;
}

export interface EmbeddedStackStatus {
  /** Temporal is up and answering health checks. */
  running: boolean;
  stateDir: string;
  stateFile: string;
  artifacts: string;
  database: string;
  temporal?: StackState & { healthy: boolean };
  minio?: EmbeddedMinio & { healthy: boolean };
  worker?: BackgroundWorker & { running: boolean; current: boolean };
}

const paths = (config: SlipwayConfig) => ({
  state: join(config.stateDir, 'stack.json'),
  lock: join(config.stateDir, 'stack.lock'),
  temporalPid: join(config.stateDir, 'temporal.pid'),
  temporalLog: join(config.stateDir, 'temporal.log'),
  temporalDb: join(config.stateDir, 'temporal.sqlite'),
  minioPid: join(config.stateDir, 'minio.pid'),
  minioLog: join(config.stateDir, 'minio.log'),
  minioData: join(config.stateDir, 'minio-data'),
});

function log(message: string): void {
  process.stderr.write(`slipway: ${message}\n`);
}

async function readState(config: SlipwayConfig): Promise<StackState | undefined> {
  try {
    return stackStateSchema.parse(JSON.parse(await readFile(paths(config).state, 'utf8')));
  } catch {
    return undefined;
  }
}

async function writeState(config: SlipwayConfig, state: StackState): Promise<void> {
  const file = paths(config).state;
  // Write then rename, so a reader never sees half a file.
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** The recorded pid is still our service, not an unrelated process that reused the number. */
function isOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  const cmd = commandLine(pid);
  return cmd === undefined || cmd.includes(marker);
}

/**
 * One starter at a time per state folder: two commands launched together must not both start a
 * server on the same port. A lock left by a dead process is taken over.
 */
async function withStackLock<T>(config: SlipwayConfig, fn: () => Promise<T>): Promise<T> {
  const lock = paths(config).lock;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Process ${holder} has held ${lock} for minutes. If it is stuck, stop it, then delete ${lock}.`,
        );
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

async function temporalHealthy(state: StackState | undefined): Promise<boolean> {
  return (
    state !== undefined &&
    isOurs(state.temporalPid, 'start-dev') &&
    (await isTemporalHealthy(state.temporalAddress).catch(() => false))
  );
}

async function minioHealthy(state: EmbeddedMinio | undefined): Promise<boolean> {
  return (
    state !== undefined &&
    isOurs(state.pid, 'minio') &&
    (await isMinioHealthy(state.endpoint).catch(() => false))
  );
}

/**
 * How long a start waits for a port that a service killed a moment ago may still hold: the
 * frontend's (which cannot move), and the Web UI's (which moves to a free port after this).
 */
const PORT_WAIT_MS = 5_000;
const UI_PORT_WAIT_MS = 2_000;

/** A service whose clients know it by its port: waits for the port, else says who to stop or what to set. */
async function waitForFixedPort(port: number, service: string, setting: string): Promise<void> {
  if (!(await waitForFreePort(port, PORT_WAIT_MS))) throw portHeld(port, service, setting);
}

function portHeld(port: number, service: string, setting: string): Error {
  return new Error(
    `Port ${port} on 127.0.0.1 is held by another process, so the embedded ${service} cannot start there. ` +
      `Stop that process, or choose another port with ${setting}.`,
  );
}

async function startEmbeddedTemporal(config: SlipwayConfig): Promise<StackState> {
  const p = paths(config);
  const port = config.env.SLIPWAY_TEMPORAL_PORT;
  if (await isTemporalHealthy(`127.0.0.1:${port}`).catch(() => false)) {
    throw new Error(
      `Something else already serves Temporal on 127.0.0.1:${port} (not started by Slipway from ${config.stateDir}). ` +
        `Either point Slipway at it with SLIPWAY_TEMPORAL_ADDRESS=127.0.0.1:${port}, or choose another port with SLIPWAY_TEMPORAL_PORT.`,
    );
  }
  const binary = await ensureTemporalBinary(config);
  // Clients know the frontend by its port, so it cannot move: a server killed a moment ago (a
  // restart after a crash) may hold it for a little while yet.
  await waitForFixedPort(port, 'Temporal', 'SLIPWAY_TEMPORAL_PORT');
  const busy = new Set<number>();
  let server: TemporalDevServer;
  let ports: { uiPort: number; httpPort: number; metricsPort: number };
  for (let attempt = 1; ; attempt++) {
    ports = await temporalSidePorts(config, busy);
    try {
      server = await startTemporalDevServer({
        binary,
        dbFile: p.temporalDb,
        logFile: p.temporalLog,
        port,
        ...ports,
        namespace: config.namespace,
        outliveParent: true,
      });
      break;
    } catch (error) {
      // Another process took one of the other ports between the check and the server's bind.
      const taken = portInUse((error as Error).message);
      if (attempt >= 3 || taken === undefined || taken === port) throw error;
      log(`port ${taken} was taken as the Temporal dev server started; starting it again on other ports`);
      busy.add(taken);
    }
  }
  await writeFile(p.temporalPid, `${server.pid}\n`);
  log(
    `Temporal dev server (pid ${server.pid}) keeps its database in ${p.temporalDb}, its log in ${p.temporalLog}`,
  );
  return {
    temporalPid: server.pid,
    temporalAddress: server.address,
    uiUrl: server.uiUrl,
    logFile: p.temporalLog,
    dbFile: p.temporalDb,
    temporalBinary: binary,
    temporalPort: port,
    ...ports,
    pidFile: p.temporalPid,
  };
}

/**
 * The Web UI's, HTTP API's and metrics' ports of a (re)start: the configured Web UI port when it
 * is free (or frees up soon), else a free one, said in the log and recorded in stack.json (so
 * `dev status` shows where the Web UI went); any free ones for the internal two. Ports in `busy`
 * failed to bind in an earlier attempt.
 */
async function temporalSidePorts(
  config: SlipwayConfig,
  busy: ReadonlySet<number>,
): Promise<{ uiPort: number; httpPort: number; metricsPort: number }> {
  const wanted = config.env.SLIPWAY_TEMPORAL_UI_PORT;
  let uiPort = wanted;
  if (busy.has(wanted) || !(await waitForFreePort(wanted, UI_PORT_WAIT_MS))) {
    uiPort = await freePort();
    log(`the Web UI's port ${wanted} is held by another process; this time the Web UI is on ${uiPort}`);
  }
  const taken = new Set([...busy, uiPort]);
  const another = async () => {
    for (;;) {
      const candidate = await freePort();
      if (taken.has(candidate)) continue;
      taken.add(candidate);
      return candidate;
    }
  };
  return { uiPort, httpPort: await another(), metricsPort: await another() };
}

async function startEmbeddedMinio(config: SlipwayConfig): Promise<EmbeddedMinio> {
  const p = paths(config);
  const port = config.env.SLIPWAY_MINIO_PORT;
  const endpoint = `http://127.0.0.1:${port}`;
  if (await isMinioHealthy(endpoint).catch(() => false)) {
    throw new Error(
      `Something else already serves S3 on ${endpoint} (not started by Slipway from ${config.stateDir}). ` +
        `Either use it with SLIPWAY_S3_ENDPOINT=${endpoint}, or choose another port with SLIPWAY_MINIO_PORT.`,
    );
  }
  const binary = await ensureMinioBinary(config);
  await mkdir(p.minioData, { recursive: true });
  const accessKey = config.env.SLIPWAY_S3_ACCESS_KEY ?? 'slipway';
  const secretKey = config.env.SLIPWAY_S3_SECRET_KEY ?? 'slipway-local-secret';
  // Clients know the S3 endpoint by its port, so it cannot move: a MinIO stopped a moment ago (a
  // restart) may hold it for a little while yet. The console port needs no such care: startMinio
  // turns the browser off, and MinIO then never binds it.
  const setting = 'SLIPWAY_MINIO_PORT (and point SLIPWAY_S3_ENDPOINT at it if you set that)';
  await waitForFixedPort(port, 'MinIO', setting);
  const server = await startMinio({
    binary,
    dataDir: p.minioData,
    logFile: p.minioLog,
    port,
    consolePort: config.env.SLIPWAY_MINIO_CONSOLE_PORT,
    rootUser: accessKey,
    rootPassword: secretKey,
    outliveParent: true,
  }).catch((error: Error) => {
    // Another process took the port between the check and MinIO's bind.
    throw /port is already in use/i.test(error.message) ? portHeld(port, 'MinIO', setting) : error;
  });
  await writeFile(p.minioPid, `${server.pid}\n`);
  log(`MinIO (pid ${server.pid}) at ${endpoint} keeps its data in ${p.minioData}, its log in ${p.minioLog}`);
  const region = config.env.SLIPWAY_S3_REGION;
  // An s3:// artifacts location on this MinIO needs its bucket before the first upload.
  const match = /^s3:\/\/([^/]+)/.exec(config.artifactsUri);
  if (
    match?.[1] &&
    (config.env.SLIPWAY_S3_ENDPOINT === undefined || config.env.SLIPWAY_S3_ENDPOINT === endpoint)
  ) {
    await ensureBucket(server, match[1], region);
  }
  return {
    pid: server.pid,
    binary,
    endpoint,
    port,
    consolePort: config.env.SLIPWAY_MINIO_CONSOLE_PORT,
    accessKey,
    secretKey,
    region,
    dataDir: p.minioData,
    logFile: p.minioLog,
    pidFile: p.minioPid,
  };
}

/**
 * Starts the embedded Temporal dev server (and MinIO with `withMinio`) unless already up and
 * healthy; safe to call from every command and from several commands at once. The services run
 * detached, so they outlive the calling process until stopEmbeddedStack().
 */
export async function ensureEmbeddedStack(
  config: SlipwayConfig,
  options: EmbeddedStackOptions = {},
): Promise<EmbeddedStack> {
  const known = await readState(config);
  const temporalUp = await temporalHealthy(known);
  const minioUp = !options.withMinio || (await minioHealthy(known?.minio));
  const workerUp = !options.withWorker || (await backgroundWorkerStatus(config)).current;
  if (known && temporalUp && minioUp && workerUp) {
    const worker = options.withWorker ? (await backgroundWorkerStatus(config)).worker : undefined;
    return {
      ...known,
      started: false,
      minioStarted: false,
      ...(worker ? { worker: { ...worker, started: false, replaced: false } } : {}),
      stateDir: config.stateDir,
    };
  }
  await mkdir(config.stateDir, { recursive: true });
  return withStackLock(config, async () => {
    // Another command may have started the services while this one waited for the lock.
    const current = await readState(config);
    let started = false;
    let minioStarted = false;
    let state: StackState;
    if (current && (await temporalHealthy(current))) {
      state = current;
    } else {
      if (current && isOurs(current.temporalPid, 'start-dev')) await stopProcessGroup(current.temporalPid);
      state = { ...(await startEmbeddedTemporal(config)), minio: current?.minio };
      started = true;
      await writeState(config, state);
    }
    if (options.withMinio && !(await minioHealthy(state.minio))) {
      if (state.minio && isOurs(state.minio.pid, 'minio')) await stopProcessGroup(state.minio.pid);
      state = { ...state, minio: await startEmbeddedMinio(config) };
      minioStarted = true;
      await writeState(config, state);
    }
    let worker: EmbeddedStack['worker'];
    if (options.withWorker) {
      const ensured = await ensureBackgroundWorker(config);
      worker = { ...ensured.worker, started: ensured.started, replaced: ensured.replaced };
      if (ensured.started)
        log(
          `${ensured.replaced ? 'replaced the background worker (it ran other code or settings)' : 'started a background worker'} ` +
            `(pid ${ensured.worker.pid}, log ${ensured.worker.logFile})`,
        );
    }
    return { ...state, started, minioStarted, ...(worker ? { worker } : {}), stateDir: config.stateDir };
  });
}

/**
 * Stops every service of the embedded stack (whole process groups, SIGKILL after a grace period);
 * databases, logs and artifacts stay on disk. Returns false when nothing was recorded as running.
 */
export async function stopEmbeddedStack(config: SlipwayConfig): Promise<boolean> {
  const p = paths(config);
  const known = await readState(config);
  // Pid files are the fallback when stack.json was lost or never written (a crash mid-start).
  const pidFromFile = async (file: string) =>
    Number((await readFile(file, 'utf8').catch(() => '')).trim()) || undefined;
  const temporalPid = known?.temporalPid ?? (await pidFromFile(p.temporalPid));
  const minioPid = known?.minio?.pid ?? (await pidFromFile(p.minioPid));
  // The worker first, so it can finish its current task while the server is still there.
  const workerStopped = await stopBackgroundWorker(config);
  const stops: Promise<void>[] = [];
  if (temporalPid !== undefined && isOurs(temporalPid, 'start-dev'))
    stops.push(stopProcessGroup(temporalPid));
  if (minioPid !== undefined && isOurs(minioPid, 'minio')) stops.push(stopProcessGroup(minioPid));
  await Promise.all(stops);
  await Promise.all([p.state, p.temporalPid, p.minioPid].map((f) => rm(f, { force: true })));
  return known !== undefined || stops.length > 0 || workerStopped;
}

/** What runs, where its data and logs are, and whether each service answers its health check. */
export async function embeddedStackStatus(config: SlipwayConfig): Promise<EmbeddedStackStatus> {
  const p = paths(config);
  const known = await readState(config);
  const database = existsSync(p.temporalDb) ? p.temporalDb : `${p.temporalDb} (not created yet)`;
  const base = { stateDir: config.stateDir, stateFile: p.state, artifacts: config.artifactsUri, database };
  const workerStatus = await backgroundWorkerStatus(config);
  const worker = workerStatus.worker
    ? { worker: { ...workerStatus.worker, running: workerStatus.running, current: workerStatus.current } }
    : {};
  if (!known) return { running: false, ...base, ...worker };
  const healthy = await temporalHealthy(known);
  const { minio, ...temporal } = known;
  return {
    running: healthy,
    ...base,
    temporal: { ...temporal, healthy },
    ...(minio ? { minio: { ...minio, healthy: await minioHealthy(minio) } } : {}),
    ...worker,
  };
}
