import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

/** A small network and two or three epochs: the run takes seconds. */
const PIPELINE = `# a pipeline file as a team keeps it in git
version: 1
model: fraud-file
source: "synthetic:fraud?rows=3000&seed=1"
split: { testFraction: 0.3, seed: 5 }
spec:
  layers:
    - { type: dense, units: 16, activation: tanh }
    - { type: dropout, rate: 0.1 }
    - { type: dense, units: 1, activation: sigmoid }
  optimizer: adam
  learningRate: 0.01
  batchSize: 256
  epochs: 3
  seed: 11
classWeights: balanced
gate:
  promote: false
schedule:
  every: 1d
  paused: true
`;

describe('slipway run -f / schedule create -f / init', () => {
  let world: PipelineWorld;
  let registry: ModelRegistry;
  const file = (name: string) => join(world.dir, name);
  const slipway = (...args: string[]) => slipwayAs('pat', world.env, args);

  beforeAll(async () => {
    world = await startPipelineWorld('pipeline-file-it');
    registry = new ModelRegistry(openArtifactStore(world.config));
  });
  afterAll(() => world?.close());

  it('runs the file (a flag overriding it) and records the file in the version', {
    timeout: 300_000,
  }, async () => {
    await writeFile(file('slipway.yaml'), PIPELINE);
    const sha256 = createHash('sha256')
      .update(await readFile(file('slipway.yaml')))
      .digest('hex');
    const run = await slipway('run', '-f', file('slipway.yaml'), '--epochs', '2', '--json');
    // Registered either way (promote: false); the metric gate may block two epochs on 2,100 rows (exit 3).
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ model: 'fraud-file', version: 1, epochsRun: 2 });
    expect(['registered', 'blocked']).toContain(result.outcome);
    expect(run.code, run.stderr).toBe(result.exitCode);

    const v1 = await registry.getVersion('fraud-file', 1);
    expect(v1.pipelineFile).toEqual({ path: file('slipway.yaml'), sha256, contents: PIPELINE });
    expect(await registry.getModelCard('fraud-file', 1)).toContain(`sha256 \`${sha256}\``);
    // The file's settings reached training; the flag took precedence over its epochs.
    expect(v1.training?.modelSpec).toMatchObject({ epochs: 2, batchSize: 256, seed: 11, learningRate: 0.01 });
    expect(v1.training?.modelSpec.layers).toEqual([
      { type: 'dense', units: 16, activation: 'tanh' },
      { type: 'dropout', rate: 0.1 },
      { type: 'dense', units: 1, activation: 'sigmoid' },
    ]);
    expect(v1.training?.classWeights.mode).toBe('balanced');
    const split = v1.training?.split;
    expect(split).toMatchObject({ testFraction: 0.3, seed: 5 });
    // 30 % of 3,000 rows, give or take the rounding of each class's share (stratified).
    expect(Math.abs((split?.testRows ?? 0) - 900)).toBeLessThanOrEqual(2);
  });

  it('refuses a bad file before starting anything, naming the key, its line and what is allowed', async () => {
    const bad = PIPELINE.replace('activation: tanh', 'activation: rellu');
    await writeFile(file('bad.yaml'), bad);
    const lines = bad.split('\n');
    const line = lines.findIndex((l) => l.includes('rellu'));
    const column = (lines[line] as string).indexOf('rellu') + 1;
    const run = await slipway('run', '-f', file('bad.yaml'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `${file('bad.yaml')}:${line + 1}:${column}: spec.layers[0].activation: "rellu" is not one of relu, sigmoid, tanh, linear, elu, selu, softplus`,
    );
    expect(await registry.listVersions('fraud-file').then((vs) => vs.length)).toBe(1);
  });

  it('runs a file with categorical: features (text in, encoded in the graph), and refuses one that is not a feature at its key', {
    timeout: 300_000,
  }, async () => {
    const categorical = `version: 1
model: secops/file-categorical
source: "synthetic:winevents?rows=1200&seed=5"
target: anomalous
features: [hour, computer, account, EventCode_4625, EventCode_4688]
categorical: [computer, account]
spec:
  layers:
    - { type: dense, units: 8, activation: relu }
    - { type: dense, units: 1, activation: sigmoid }
  batchSize: 256
  epochs: 1
gate:
  promote: false
`;
    await writeFile(file('categorical.yaml'), categorical);
    const bad = categorical.replace('categorical: [computer, account]', 'categorical: [computer, user]');
    await writeFile(file('categorical-bad.yaml'), bad);
    const refused = await slipway('run', '-f', file('categorical-bad.yaml'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${file('categorical-bad.yaml')}:6:25: categorical[1]: "user" is not one of the features (hour, computer, account, EventCode_4625, EventCode_4688)`,
    );
    const run = await slipway('run', '-f', file('categorical.yaml'), '--json');
    const result = JSON.parse(run.stdout);
    expect(['registered', 'blocked']).toContain(result.outcome);
    const v1 = await registry.getVersion('secops/file-categorical', 1);
    expect(v1.training?.categorical?.map((c) => c.feature)).toEqual(['computer', 'account']);
    expect(v1.pipelineFile?.contents).toBe(categorical);
  });

  it("the gate's drift check compares a categorical feature over the champion's categories plus (other), and blocks on its PSI", {
    timeout: 300_000,
  }, async () => {
    // Event rows: five accounts on the champion's data; the candidate's has 30 % from accounts it never had.
    const events = (name: string, newAccounts: number) => {
      const lines = ['hour,computer,account,EventCode_4625,anomalous'];
      for (let i = 0; i < 1200; i++) {
        const account = i % 100 < newAccounts ? `new-${i % 13}` : `acct-${i % 5}`;
        lines.push(`${i % 24},ws-${i % 3},${account},${(i * 7) % 11},${i % 7 === 0 ? 1 : 0}`);
      }
      return writeFile(file(name), `${lines.join('\n')}\n`).then(() => file(name));
    };
    const pipeline = (source: string) => `version: 1
model: secops/gate-drift
source: ${JSON.stringify(source)}
target: anomalous
categorical: [computer, account]
spec:
  layers: [{ type: dense, units: 1, activation: sigmoid }]
  batchSize: 256
  epochs: 1
gate:
  metric: { thresholds: { maxFpr: 1 }, champion: { maxRegression: 1 }, drift: { maxPsi: 0.25 } }
`;
    await writeFile(file('champion.yaml'), pipeline(await events('champion.csv', 0)));
    const first = JSON.parse((await slipway('run', '-f', file('champion.yaml'), '--json')).stdout);
    expect(first.outcome).toBe('promoted');
    await writeFile(file('candidate.yaml'), pipeline(await events('candidate.csv', 30)));
    const run = await slipway('run', '-f', file('candidate.yaml'), '--json');
    expect(run.code, run.stderr).toBe(3);
    const failed = JSON.parse(run.stdout).gate.checks.filter((c: { passed: boolean }) => !c.passed);
    expect(failed.map((c: { check: string }) => c.check)).toEqual(['drift.account']);
    expect(failed[0].actual).toBeGreaterThan(0.25);
    expect(failed[0].message).toMatch(
      /^account drifted between champion v1's training data and this version's: PSI [\d.]+ > 0\.25 over its categories \(chi-square [\d.]+, 5 df, p .*categories the champion's data never had: \(other\)\)$/,
    );
  });

  it('creates a schedule from the file: its schedule section, and the file in the run it starts', async () => {
    const created = await slipway(
      'schedule',
      'create',
      '-f',
      file('slipway.yaml'),
      '--id',
      'retrain-file-it',
    );
    expect(created.code, created.stderr).toBe(0);
    const handle = world.client.schedule.getHandle('retrain-file-it');
    try {
      const d = await handle.describe();
      expect(d.state.paused).toBe(true);
      expect(d.spec.intervals?.[0]?.every).toBe(86_400_000);
      const action = d.action as { args?: Array<{ pipeline: Record<string, unknown> }> };
      const pipeline = action.args?.[0]?.pipeline;
      expect(pipeline).toMatchObject({
        modelName: 'fraud-file',
        createdBy: 'schedule:retrain-file-it',
        spec: { epochs: 3, batchSize: 256 },
        pipelineFile: { contents: PIPELINE },
      });
    } finally {
      await handle.delete();
    }
  });

  it('init writes a starting file that run -f accepts', async () => {
    const init = await slipway('init', file('start.yaml'), '--model', 'fraud-start');
    expect(init.code, init.stderr).toBe(0);
    expect(await readFile(file('start.yaml'), 'utf8')).toContain('# The network and its training.');
    const run = await slipway(
      'run',
      '-f',
      file('start.yaml'),
      '--source',
      'synthetic:fraud?rows=3000&seed=2',
      '--epochs',
      '1',
      '--no-promote',
      '--json',
    );
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ model: 'fraud-start', version: 1, epochsRun: 1 });
    expect(['registered', 'blocked']).toContain(result.outcome);
    expect(run.code, run.stderr).toBe(result.exitCode);
    const again = await slipway('init', file('start.yaml'));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists; give another path, or --force');
  });
});
