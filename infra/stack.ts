import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { SlipwayConfig } from '../config/env';
import { ensureTemporalBinary } from './binaries';
import { isAlive, stopProcessGroup } from './processes';
import { isTemporalHealthy, startTemporalDevServer } from './temporalServer';

/**
 * The embedded stack: a Temporal dev server kept running in the background between commands,
 * with its SQLite database, log and a small state file in the state folder. Artifacts need no
 * server on the embedded default (they go to a local folder).
 */
const stackStateSchema = z.object({
  temporalPid: z.number().int(),
  temporalAddress: z.string(),
  uiUrl: z.string(),
  logFile: z.string(),
  dbFile: z.string(),
});
type StackState = z.infer<typeof stackStateSchema>;

export interface EmbeddedStack extends StackState {
  /** True when this call started the server, false when it was already running. */
  started: boolean;
  stateDir: string;
}

function stateFile(config: SlipwayConfig): string {
  return join(config.stateDir, 'stack.json');
}

async function readState(config: SlipwayConfig): Promise<StackState | undefined> {
  try {
    return stackStateSchema.parse(JSON.parse(await readFile(stateFile(config), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Starts the embedded Temporal dev server unless it is already up; safe to call from every command. */
export async function ensureEmbeddedStack(config: SlipwayConfig): Promise<EmbeddedStack> {
  const known = await readState(config);
  if (known && isAlive(known.temporalPid) && (await isTemporalHealthy(known.temporalAddress).catch(() => false))) {
    return { ...known, started: false, stateDir: config.stateDir };
  }
  const port = config.env.SLIPWAY_TEMPORAL_PORT;
  if (await isTemporalHealthy(`127.0.0.1:${port}`).catch(() => false)) {
    throw new Error(
      `Something else already serves Temporal on 127.0.0.1:${port} (not started by Slipway). Either point Slipway at it ` +
        `with SLIPWAY_TEMPORAL_ADDRESS=127.0.0.1:${port}, or choose another port with SLIPWAY_TEMPORAL_PORT.`,
    );
  }
  await mkdir(config.stateDir, { recursive: true });
  const binary = await ensureTemporalBinary(config);
  const dbFile = join(config.stateDir, 'temporal.sqlite');
  const logFile = join(config.stateDir, 'temporal.log');
  const server = await startTemporalDevServer({
    binary,
    dbFile,
    logFile,
    port,
    uiPort: config.env.SLIPWAY_TEMPORAL_UI_PORT,
    httpPort: port + 10,
    metricsPort: port + 11,
    namespace: config.namespace,
    outliveParent: true,
  });
  const state: StackState = {
    temporalPid: server.pid,
    temporalAddress: server.address,
    uiUrl: server.uiUrl,
    logFile,
    dbFile,
  };
  await writeFile(stateFile(config), `${JSON.stringify(state, null, 2)}\n`);
  return { ...state, started: true, stateDir: config.stateDir };
}

export async function stopEmbeddedStack(config: SlipwayConfig): Promise<boolean> {
  const known = await readState(config);
  if (!known) return false;
  await stopProcessGroup(known.temporalPid);
  await rm(stateFile(config), { force: true });
  return true;
}

export async function embeddedStackStatus(config: SlipwayConfig): Promise<{
  running: boolean;
  stateDir: string;
  artifacts: string;
  temporal?: StackState & { healthy: boolean };
  database: string;
}> {
  const known = await readState(config);
  const database = join(config.stateDir, 'temporal.sqlite');
  if (!known) return { running: false, stateDir: config.stateDir, artifacts: config.artifactsUri, database };
  const alive = isAlive(known.temporalPid);
  const healthy = alive && (await isTemporalHealthy(known.temporalAddress).catch(() => false));
  return {
    running: healthy,
    stateDir: config.stateDir,
    artifacts: config.artifactsUri,
    temporal: { ...known, healthy },
    database: existsSync(database) ? database : `${database} (not created yet)`,
  };
}
