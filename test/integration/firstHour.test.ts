import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exitCodes';
import { syntheticCsvStream } from '../../domain/data/sourceStream';
import { type CliResult, slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

const SLIPWAY = resolve(__dirname, '../../bin/slipway');

/**
 * The first hour of a new user (issue 20), through the real CLI on the real services: honest
 * exit codes, a default gate that does not promote a trivial model, failures whose cause shows
 * in `status` and `schedule describe`, `cancel`, Ctrl-C, progress when output is not a terminal,
 * and the small input checks.
 */
describe('the first hour of a new user', () => {
  let world: PipelineWorld;
  const cli = (args: string[], user = 'dana'): Promise<CliResult> => slipwayAs(user, world.env, args);
  const json = (out: CliResult) => JSON.parse(out.stdout);
  const quick = ['--source', 'synthetic:fraud?rows=4000&seed=3', '--epochs', '2'];

  beforeAll(async () => {
    world = await startPipelineWorld('first-hour', { artifacts: 'file' });
  });
  afterAll(() => world?.close());

  it('refuses bad numbers and mistyped columns with exit code 2, saying what to give', async () => {
    const epochs = await cli(['run', '--model', 'fh', '--source', 'x.csv', '--epochs', 'abc']);
    expect(epochs.code).toBe(EXIT.badInput);
    expect(epochs.stderr).toContain('--epochs must be a whole number, got "abc"');

    const csv = join(world.dir, 'labelled.csv');
    await writeFile(csv, 'Time,V1,Amount,IsFraud\n1,0.5,10,0\n2,0.1,20,1\n');
    const scheduleCreate = (...more: string[]) =>
      cli(['schedule', 'create', 'fh', '--source', csv, '--every', '1d', ...more]);
    const typo = await scheduleCreate('--target', 'isfraud');
    expect(typo.code).toBe(EXIT.badInput);
    expect(typo.stderr).toMatch(/no target column "isfraud"\. Did you mean "IsFraud"\?/);
    const feature = await scheduleCreate('--target', 'IsFraud', '--features', 'V1,amount');
    expect(feature.code).toBe(EXIT.badInput);
    expect(feature.stderr).toMatch(/feature "amount" not in the header\. Did you mean "Amount"\?/);
    // Nothing was created by either refusal: no retrain-fh (the ID both would have had). The
    // Temporal server may be shared with other tests, so their schedules are not counted.
    const listed = json(await cli(['schedule', 'list', '--json'])).schedules as { scheduleId: string }[];
    expect(listed.map((s) => s.scheduleId)).not.toContain('retrain-fh');
    const described = await cli(['schedule', 'describe', 'retrain-fh']);
    expect(described.code).not.toBe(EXIT.ok);
    expect(described.stderr).toContain('No schedule retrain-fh');
  });

  it('promotes a good first model (exit 0, progress a line at a time) and blocks a trivial one (exit 3)', {
    timeout: 600_000,
  }, async () => {
    const good = await cli(['run', '--model', 'fh-good', ...quick]);
    expect(good.code, good.stderr).toBe(EXIT.ok);
    expect(good.stdout).toMatch(/Registered fh-good version 1 .*: promoted to production/);
    // Not a terminal: a line per step and a last line, no progress bar.
    // Progress is polled: a step that starts and ends between two polls shows only its end.
    expect(good.stderr).toMatch(/slipway: step extract (\.\.\.|done in \d+\.\d s)/);
    expect(good.stderr).toMatch(/slipway: step train done in \d+\.\d s/);
    expect(good.stderr).toMatch(/slipway: finished in \d+\.\d s: promoted/);
    expect(good.stderr).not.toMatch(/\[[=-]+\]|░|█/);

    // The same training with a threshold that flags nearly every row: a first version, no
    // thresholds set, and the default gate still refuses to promote it.
    const trivial = await cli(['run', '--model', 'fh-trivial', ...quick, '--threshold', '0.0001', '--json']);
    expect(trivial.code, trivial.stderr).toBe(EXIT.blocked);
    const blocked = json(trivial);
    expect(blocked).toMatchObject({ outcome: 'blocked', exitCode: EXIT.blocked, version: 1 });
    const ratio = blocked.gate.checks.find((c: { check: string }) => c.check === 'baseline.likelihoodRatio');
    expect(ratio.passed).toBe(false);
    expect(blocked.metrics.fpr).toBeGreaterThan(0.1);

    const models = await cli(['models', 'fh-trivial']);
    expect(models.code).toBe(0);
    expect(models.stdout).toMatch(
      /v1 blocked: recall \/ false-positive rate .* < 10 \(too many false alarms/,
    );

    // Thresholds of one's own replace the default baseline; --min-precision 0.99 blocks again.
    const strict = await cli(['run', '--model', 'fh-good', ...quick, '--min-precision', '0.99', '--json']);
    expect(strict.code).toBe(EXIT.blocked);
    expect(json(strict).gate.checks.map((c: { check: string }) => c.check)).toEqual([
      'minPrecision',
      'champion.prAuc',
    ]);
    const status = await cli(['status', json(strict).workflowId, '--json']);
    expect(status.code).toBe(EXIT.blocked);
    expect(json(status)).toMatchObject({ status: 'COMPLETED', outcome: 'blocked', exitCode: EXIT.blocked });
  });

  it('shows why a scheduled run failed, in schedule describe and in status of the run and its pipeline', {
    timeout: 600_000,
  }, async () => {
    const csv = join(world.dir, 'transactions.csv');
    await pipeline(syntheticCsvStream(3000, 1), createWriteStream(csv));
    const scheduleId = 'retrain-fh-sched';
    const created = await cli([
      'schedule',
      'create',
      'fh-sched',
      '--source',
      csv,
      '--every',
      '1d',
      '--paused',
      '--epochs',
      '1',
      '--id',
      scheduleId,
    ]);
    expect(created.code, created.stderr).toBe(0);
    // The file changes after the schedule was checked: its label column is renamed.
    const text = await readFile(csv, 'utf8');
    await writeFile(csv, text.replace(/,Class\n/, ',IsFraud\n'));
    expect((await cli(['schedule', 'trigger', scheduleId])).code).toBe(0);

    let run:
      | { workflowId: string; outcome: string; detail: string; failure?: Record<string, string> }
      | undefined;
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      const described = json(await cli(['schedule', 'describe', scheduleId, '--json']));
      run = described.recent[0];
      if (run && run.outcome !== 'running') break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(run?.outcome).toBe('failed');
    expect(run?.failure).toMatchObject({
      type: 'MissingTargetColumn',
      step: 'extract',
      workflowId: `${run?.workflowId}-pipeline`,
    });
    expect(run?.failure?.message).toMatch(/no target column "Class"\. Columns found: Time, V1,/);
    const human = await cli(['schedule', 'describe', scheduleId]);
    expect(human.stdout).toMatch(/MissingTargetColumn in extract/);
    expect(human.stdout).toMatch(
      /failed: MissingTargetColumn in extract of .*-pipeline: .*no target column "Class"/,
    );

    for (const id of [run?.workflowId as string, `${run?.workflowId}-pipeline`]) {
      const status = await cli(['status', id]);
      expect(status.code).toBe(EXIT.failed);
      expect(status.stdout).toMatch(/failed in extract/);
      expect(status.stdout).toMatch(
        /error \(MissingTargetColumn\): .*transactions\.csv, row 1: no target column "Class"/,
      );
      const asJson = json(await cli(['status', id, '--json']));
      expect(asJson).toMatchObject({ status: 'FAILED', outcome: 'failed', exitCode: EXIT.failed });
      expect(asJson.failure).toMatchObject({ type: 'MissingTargetColumn', step: 'extract' });
    }
    await cli(['schedule', 'delete', scheduleId]);
  });

  it('Ctrl-C leaves a run going and says how to follow or cancel it; cancel stops it, audited', {
    timeout: 600_000,
  }, async () => {
    // A run long enough to interrupt: many short epochs (the in-process workers of this test share
    // one event loop with training, so epochs stay small), nothing reused.
    const child = spawn(
      SLIPWAY,
      [
        'run',
        '--model',
        'fh-long',
        '--source',
        'synthetic:fraud?rows=4000&seed=9',
        '--epochs',
        '5000',
        '--no-cache',
      ],
      { env: { ...process.env, ...world.env, SLIPWAY_USER: 'dana' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const startedAt = Date.now();
    while (!/slipway: step train \.\.\./.test(stderr) && Date.now() - startedAt < 240_000) {
      await new Promise((r) => setTimeout(r, 250));
    }
    const workflowId = /slipway: started (\S+)/.exec(stderr)?.[1] as string;
    expect(workflowId).toMatch(/^train-fh-long-/);
    child.kill('SIGINT');
    expect(await exited).toBe(EXIT.interrupted);
    expect(stderr).toMatch(/the run goes on in the background/);
    expect(stderr).toContain(`slipway status ${workflowId}`);
    expect(stderr).toContain(`slipway cancel ${workflowId} --reason`);
    expect(json(await cli(['status', workflowId, '--json'])).status).toBe('RUNNING');

    const cancelled = await cli(['cancel', workflowId, '--reason', 'wrong data set', '--json'], 'erin');
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(json(cancelled)).toMatchObject({
      status: 'CANCELLED',
      outcome: 'cancelled',
      exitCode: EXIT.cancelled,
      cancellation: { by: 'erin', reason: 'wrong data set' },
    });
    const status = await cli(['status', workflowId]);
    expect(status.code).toBe(EXIT.cancelled);
    expect(status.stdout).toContain(`${workflowId} was cancelled by erin: wrong data set`);
    // Nothing was registered for the cancelled run, and the audit log says who and why.
    expect((await cli(['models', 'fh-long'])).code).not.toBe(0);
    const audit = json(await cli(['audit', 'log', '--json']));
    const record = audit.entries.map((e: { record: Record<string, unknown> }) => e.record).at(-1);
    // No version of fh-long exists, so the record names it in its details, not as its subject.
    expect(record).toMatchObject({
      type: 'cancellation',
      actor: 'erin',
      reason: 'wrong data set',
      details: { workflowId, modelName: 'fh-long' },
    });
    expect(record.model).toBeUndefined();
    const again = await cli(['cancel', workflowId, '--reason', 'twice']);
    expect(again.code).toBe(EXIT.badInput);
    expect(again.stderr).toMatch(/is not running \(cancelled\)/);
  });
});
