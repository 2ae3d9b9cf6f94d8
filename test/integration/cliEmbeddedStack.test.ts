import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticCsvStream } from '../../domain/data/sourceStream';
import { freePort, isAlive, isGroupAlive } from '../../infra/processes';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');

/**
 * The embedded stack as a person meets it: `slipway dev up` in one shell, commands from others,
 * each a separate process, with a worker that outlives them all until `slipway dev down`.
 */
describe('slipway commands on the embedded stack', () => {
  let stateDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'slipway-cli-stack-'));
    env = { ...process.env, SLIPWAY_STATE_DIR: stateDir };
    // The embedded default: no Temporal address, no artifact location, only free ports.
    for (const key of Object.keys(env))
      if (/^SLIPWAY_(TEMPORAL_ADDRESS|ARTIFACTS|S3_)/.test(key)) delete env[key];
    env.SLIPWAY_TEMPORAL_PORT = String(await freePort());
    env.SLIPWAY_TEMPORAL_UI_PORT = String(await freePort());
  });

  afterAll(async () => {
    slipway(['dev', 'down']);
    await rm(stateDir, { recursive: true, force: true });
  });

  function slipway(args: string[]) {
    const out = spawnSync(SLIPWAY, args, { env, encoding: 'utf8', timeout: 300_000 });
    return { status: out.status, stdout: out.stdout, stderr: out.stderr };
  }
  function json(args: string[]) {
    const out = slipway([...args, '--json']);
    expect(out.status, out.stderr).toBe(0);
    return JSON.parse(out.stdout);
  }

  it('keeps a worker between commands, restarts it when it died, and stops everything on down', {
    timeout: 600_000,
  }, async () => {
    const up = json(['dev', 'up']);
    expect(up.started).toBe(true);
    expect(up.worker.started).toBe(true);
    const workerPid: number = up.worker.pid;
    expect(isAlive(workerPid)).toBe(true);

    // Another shell runs a pipeline: it relies on the background worker, brings none of its own.
    const runArgs = [
      'run',
      '--source',
      'synthetic:fraud?rows=4000&seed=3',
      '--model',
      'cli-stack',
      '--epochs',
      '2',
    ];
    const run = slipway([...runArgs, '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/worker in this process|started a background worker|was down/);
    const result = JSON.parse(run.stdout);
    expect(result.version).toBe(1);

    const status = json(['status', result.workflowId]);
    expect(status.status).toBe('COMPLETED');
    expect(status.version).toBe(1);
    expect(json(['dev', 'status']).worker).toMatchObject({ pid: workerPid, running: true, current: true });

    // A worker that died is replaced by the next command that needs one, which says so.
    process.kill(-workerPid, 'SIGKILL');
    while (isGroupAlive(workerPid)) await new Promise((r) => setTimeout(r, 50));
    expect(json(['dev', 'status']).worker.running).toBe(false);
    const again = slipway([...runArgs, '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/started a background worker/);
    expect(JSON.parse(again.stdout).version).toBe(2);

    // Scoring a file and packaging the model need no worker: they read the registry directly.
    const csv = join(stateDir, 'to-score.csv');
    await pipeline(syntheticCsvStream(1500, 99), createWriteStream(csv));
    const scored = json(['apply', 'cli-stack', '--input', csv, '--output', join(stateDir, 'scored.csv')]);
    expect(scored).toMatchObject({ model: 'cli-stack', version: 2, rowsScored: 1500 });
    const header = (await readFile(join(stateDir, 'scored.csv'), 'utf8')).split('\n', 1)[0];
    expect(header).toMatch(/^Time,V1,.*,Amount,Class,predicted\(Class\),probability\(Class\)$/);
    const pkg = json(['export', 'mltk', 'cli-stack@production', '--out', join(stateDir, 'mltk')]);
    expect(pkg.files.mlmodel).toMatch(/__mlspl_cli_stack\.onnx\.mlmodel$/);
    const missing = slipway(['apply', 'cli-stack@7', '--input', csv, '--output', join(stateDir, 'x.csv')]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/version 7/);

    const newWorker = json(['dev', 'status']).worker;
    expect(newWorker.running).toBe(true);
    expect(newWorker.pid).not.toBe(workerPid);

    const down = slipway(['dev', 'down']);
    expect(down.status, down.stderr).toBe(0);
    expect(isGroupAlive(newWorker.pid)).toBe(false);
    expect(isGroupAlive(up.temporalPid)).toBe(false);
    expect(json(['dev', 'status']).running).toBe(false);
  });
});
