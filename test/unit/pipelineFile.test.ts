import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PipelineFileError,
  parsePipelineFile,
  pipelineRunInput,
  pipelineTuneInput,
  readPipelineFile,
} from '../../application/pipelineFile';
import { pipelineFileTemplate } from '../../application/pipelineTemplate';
import { checkCategoricalFlag } from '../../cli/anomalyRun';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { PIPELINE_FILE_MAX_BYTES } from '../../domain/registry/metadata';
import { PIPELINE_SCHEMA_FILE, renderPipelineSchema } from '../support/renderPipelineSchema';

const minimal = `version: 1
model: card-fraud
source: "synthetic:fraud?rows=3000&seed=1"
`;

/** The problems a file is refused with (fails the test if it is accepted). */
function problems(text: string): string[] {
  try {
    parsePipelineFile(text, 'slipway.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineFileError);
    expect((err as PipelineFileError).type).toBe('PipelineFileInvalid');
    expect((err as PipelineFileError).retryable).toBe(false);
    return (err as PipelineFileError).problems;
  }
  throw new Error('the file was accepted');
}

describe('pipeline file: parsing', () => {
  it('fills every setting it leaves out with the workflow input default', () => {
    const { pipeline, record } = parsePipelineFile(minimal, 'slipway.yaml');
    expect(pipeline.model).toBe('card-fraud');
    expect(pipeline.target).toBe('Class');
    expect(pipeline.spec).toEqual(referenceModelSpec);
    expect(pipeline.split).toEqual({ testFraction: 0.25, seed: 42, stratify: true });
    expect(pipeline.gate.alias).toBe('production');
    expect(pipeline.schedule).toBeUndefined();
    expect(record).toEqual({
      path: 'slipway.yaml',
      // sha256 of the file's bytes, computed here independently
      sha256: require('node:crypto').createHash('sha256').update(minimal).digest('hex'),
      contents: minimal,
    });
  });

  it('reads the network, training settings, class weights, gate and schedule', () => {
    const { pipeline } = parsePipelineFile(
      `${minimal}
features: [V1, V2, Amount]
split: { testFraction: 0.2, seed: 3, stratify: false }
spec:
  layers:
    - { type: dense, units: 16, activation: tanh }
    - { type: dropout, rate: 0.1 }
    - { type: dense, units: 1, activation: sigmoid }
  optimizer: rmsprop
  learningRate: 0.005
  batchSize: 256
  epochs: 3
  seed: 9
classWeights: balanced
gate:
  metric: { thresholds: { minRecall: 0.6 } }
  review: { required: true, approvers: [ana], timeoutSeconds: 3600 }
  promote: false
  alias: staging
schedule: { every: 6h, jitter: 5m }
`,
      'p.yaml',
    );
    expect(pipeline.features).toEqual(['V1', 'V2', 'Amount']);
    expect(pipeline.split).toEqual({ testFraction: 0.2, seed: 3, stratify: false });
    expect(pipeline.spec.layers[0]).toEqual({ type: 'dense', units: 16, activation: 'tanh' });
    expect(pipeline.spec).toMatchObject({
      optimizer: 'rmsprop',
      learningRate: 0.005,
      batchSize: 256,
      epochs: 3,
    });
    expect(pipeline.classWeights).toBe('balanced');
    expect(pipeline.gate.metric.thresholds).toEqual({ minRecall: 0.6 });
    expect(pipeline.gate.review).toEqual({ required: true, approvers: ['ana'], timeoutSeconds: 3600 });
    expect(pipeline.gate).toMatchObject({ promote: false, alias: 'staging' });
    expect(pipeline.schedule).toEqual({ every: '6h', jitter: '5m', catchupWindow: '1h', paused: false });
  });

  it('takes a relative source path as relative to the file, and refuses a bad source at its line', () => {
    const { pipeline } = parsePipelineFile(
      minimal.replace(/source: .*/, 'source: data/tx.csv'),
      '/srv/ml/slipway.yaml',
    );
    expect(pipeline.source).toBe('file:///srv/ml/data/tx.csv');
    expect(problems(minimal.replace(/source: .*/, 'source: "synthetic:nope?rows=3"'))).toEqual([
      expect.stringMatching(/^slipway\.yaml:3:9: source: .*nope/),
    ]);
  });

  it('reads JSON too (JSON is YAML)', () => {
    const json = JSON.stringify({
      version: 1,
      model: 'm',
      source: 'data.csv',
      spec: { ...referenceModelSpec, epochs: 2 },
    });
    expect(parsePipelineFile(json, 'p.json').pipeline.spec.epochs).toBe(2);
  });
});

describe('pipeline file: refusals name the key, its line and what is allowed', () => {
  it('a misspelt activation', () => {
    expect(
      problems(`${minimal}spec:
  layers:
    - { type: dense, units: 8 }
    - { type: dense, units: 1, activation: rellu }
`),
    ).toEqual([
      'slipway.yaml:7:44: spec.layers[1].activation: "rellu" is not one of relu, sigmoid, tanh, linear, elu, selu, softplus',
    ]);
  });

  it('an unknown key (which zod alone would drop silently), with the keys allowed there', () => {
    expect(
      problems(
        `${minimal}spec:\n  layers: [{ type: dense, units: 1, activation: sigmoid }]\n  learningrate: 0.1\n`,
      ),
    ).toEqual([
      'slipway.yaml:6:3: spec.learningrate: unknown key; allowed here: layers, optimizer, learningRate, loss, batchSize, epochs, seed',
    ]);
    expect(problems(`${minimal}epochs: 3\n`)[0]).toMatch(
      /^slipway\.yaml:4:1: epochs: unknown key; allowed here: version, model, source/,
    );
    expect(problems(`${minimal}spec:\n  layers: [{ type: dropout, rate: 0.1, units: 3 }]\n`)[0]).toMatch(
      /^slipway\.yaml:5:\d+: spec\.layers\[0\]\.units: unknown key; allowed here: type, rate$/,
    );
  });

  it('every problem at once: a bad layer type, a bound, a missing key, a review without approvers, a schedule', () => {
    const found = problems(`version: 1
model: card-fraud
spec:
  layers:
    - { type: dens, units: 8 }
    - { type: dense, units: 1, activation: sigmoid }
  epochs: 0
split: { testFraction: 2 }
gate: { review: { required: true } }
schedule: { cron: "0 3 * * *", every: 2h }
`);
    expect(found).toEqual([
      'slipway.yaml:1:1: source: missing: a string is required here',
      'slipway.yaml:8:24: split.testFraction: Too big: expected number to be <1 (got 2)',
      'slipway.yaml:5:15: spec.layers[0].type: "dens" is not one of dense, dropout',
      'slipway.yaml:7:11: spec.epochs: Too small: expected number to be >=1 (got 0)',
      expect.stringMatching(
        /^slipway\.yaml:9:\d+: gate\.review\.approvers: a review needs at least one approver/,
      ),
      'slipway.yaml:10:11: schedule: give exactly one of cron: "<expr>" or every: <duration>',
    ]);
  });

  it('the last layer that is not a probability', () => {
    expect(problems(`${minimal}spec:\n  layers: [{ type: dense, units: 2 }]\n`)).toEqual([
      expect.stringMatching(/^slipway\.yaml:5:\d+: spec\.layers\[0\]: the last layer must be/),
    ]);
  });

  it('broken YAML, a file that is not a mapping, a wrong version, a duplicate key, a missing or huge file', () => {
    expect(problems('model: [a\n')[0]).toMatch(/^slipway\.yaml:\d+:\d+: not valid YAML: /);
    expect(problems('- a\n- b\n')[0]).toMatch(/^slipway\.yaml: the file must be a mapping/);
    expect(problems(minimal.replace('version: 1', 'version: 2'))[0]).toMatch(
      /^slipway\.yaml:1:10: version: /,
    );
    expect(problems(`${minimal}model: other\n`)[0]).toMatch(
      /^slipway\.yaml:4:1: not valid YAML: Map keys must be unique/,
    );
    expect(() => readPipelineFile('/nonexistent/slipway.yaml')).toThrow(
      '/nonexistent/slipway.yaml: no such file (`slipway init` writes a starting one)',
    );
    expect(problems(`${minimal}# ${'x'.repeat(PIPELINE_FILE_MAX_BYTES)}\n`)[0]).toMatch(/at most 65536/);
  });
});

describe('pipeline file: the run it starts', () => {
  const loaded = parsePipelineFile(
    `${minimal}spec:\n  layers: [{ type: dense, units: 1, activation: sigmoid }]\n  epochs: 7\n  batchSize: 64\nthreshold: 0.4\n`,
    'slipway.yaml',
  );

  it('is the file as written, recorded with its sha256 and text', () => {
    const input = pipelineRunInput(loaded, {}, 'ana');
    expect(input).toMatchObject({
      source: 'synthetic:fraud?rows=3000&seed=1',
      modelName: 'card-fraud',
      threshold: 0.4,
      createdBy: 'ana',
      pipelineFile: loaded.record,
    });
    expect(input.spec).toMatchObject({ epochs: 7, batchSize: 64 });
  });

  it('takes flags over the file, leaving the rest of the file as written', () => {
    const input = pipelineRunInput(
      loaded,
      {
        epochs: 2,
        source: 'other.csv',
        modelName: 'other',
        threshold: 0.6,
        classWeights: 'none',
        cache: false,
      },
      'ana',
    );
    expect(input).toMatchObject({
      source: 'other.csv',
      modelName: 'other',
      threshold: 0.6,
      classWeights: 'none',
      cache: false,
    });
    expect(input.spec).toMatchObject({ epochs: 2, batchSize: 64 });
  });
});

describe('pipeline file: categorical features', () => {
  const categorical = `${minimal}target: anomalous
features: [hour, computer, account, EventCode_4625]
categorical: [computer, account]
`;

  it('reads them into the run and the tune inputs, and --categorical over them', () => {
    const loaded = parsePipelineFile(categorical, 'slipway.yaml');
    expect(loaded.pipeline.categorical).toEqual(['computer', 'account']);
    expect(pipelineRunInput(loaded, {}, 'ana').categorical).toEqual(['computer', 'account']);
    const tuned = parsePipelineFile(
      `${categorical}tune:\n  method: random\n  trials: 2\n  space:\n    spec.learningRate: [0.01, 0.02]\n`,
      'slipway.yaml',
    );
    expect(pipelineTuneInput(tuned, {}, {}, 'ana').categorical).toEqual(['computer', 'account']);
    expect(pipelineRunInput(loaded, { categorical: ['computer'] }, 'ana').categorical).toEqual(['computer']);
  });

  it('refuses one that is not a feature, the target, or named twice, at its key and line', () => {
    expect(
      problems(
        categorical.replace(
          'categorical: [computer, account]',
          'categorical:\n  - computer\n  - user\n  - anomalous\n  - computer',
        ),
      ),
    ).toEqual([
      'slipway.yaml:8:5: categorical[1]: "user" is not one of the features (hour, computer, account, EventCode_4625): list it in features too, or leave features out',
      'slipway.yaml:9:5: categorical[2]: "anomalous" is the label column, not a feature: a categorical feature is a text input of the model',
      'slipway.yaml:10:5: categorical[3]: "computer" is named twice; name each categorical feature once',
    ]);
  });

  it('refuses the same on run and schedule create flags, naming --categorical', () => {
    expect(() =>
      checkCategoricalFlag({ categorical: ['computer', 'Class'], features: undefined, target: 'Class' }),
    ).toThrow(
      '--categorical computer,Class: "Class" is the label column, not a feature: a categorical feature is a text input of the model.',
    );
    expect(() =>
      checkCategoricalFlag({ categorical: ['computer'], features: ['computer'], target: 'Class' }),
    ).not.toThrow();
  });

  it('refuses --categorical over the file that breaks the rule, naming the key and the flag', () => {
    const loaded = parsePipelineFile(categorical, 'slipway.yaml');
    expect(() => pipelineRunInput(loaded, { categorical: ['hostname'] }, 'ana')).toThrow(
      'slipway.yaml: categorical[0]: "hostname" is not one of the features (hour, computer, account, EventCode_4625): list it in features too, or leave features out (with --categorical hostname)',
    );
  });
});

describe('slipway init', () => {
  it('writes a commented starting file that is itself valid, at the reference settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-init-'));
    const path = join(dir, 'slipway.yaml');
    writeFileSync(path, pipelineFileTemplate({ model: 'team/fraud', source: 'data/tx.csv' }));
    const { pipeline } = readPipelineFile(path);
    expect(pipeline.model).toBe('team/fraud');
    expect(pipeline.source).toBe(`file://${dir}/data/tx.csv`);
    expect(pipeline.spec).toEqual(referenceModelSpec);
    expect(
      readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim().startsWith('#')).length,
    ).toBeGreaterThan(20);
  });
});

describe('pipeline file: the tune section', () => {
  const tuned = `${minimal}spec:
  layers:
    - { type: dense, units: 16, activation: relu }
    - { type: dropout, rate: 0.2 }
    - { type: dense, units: 1, activation: sigmoid }
  epochs: 4
tune:
  method: halving
  trials: 6
  space:
    spec.learningRate: { range: [0.001, 0.05], scale: log }
    spec.layers[0].units: [8, 16]
`;

  it('reads a search and makes the tune workflow input, with --method/--trials/--parallel over it', () => {
    const loaded = parsePipelineFile(tuned, 'slipway.yaml');
    const input = pipelineTuneInput(loaded, {}, {}, 'pat');
    expect(input.tune).toMatchObject({
      method: 'halving',
      trials: 6,
      parallel: 2,
      seed: 1,
      halving: { eta: 2 },
    });
    expect(input.spec.epochs).toBe(4);
    expect(input.pipelineFile?.sha256).toBe(loaded.record.sha256);
    const random = pipelineTuneInput(
      loaded,
      { epochs: 2 },
      { method: 'random', trials: 3, parallel: 4 },
      'pat',
    );
    expect(random.tune).toMatchObject({ method: 'random', trials: 3, parallel: 4 });
    expect(random.spec.epochs).toBe(2);
  });

  it('refuses a bad search space at the key, saying what is allowed', () => {
    const bad = tuned
      .replace('spec.layers[0].units: [8, 16]', 'spec.layers[1].units: [8, 16]\n    spec.learnigRate: [0.1]')
      .replace('method: halving', 'method: grid')
      .replace('  trials: 6\n', '');
    // Every problem at once, each at its key's line and column.
    expect(problems(bad)).toEqual([
      'slipway.yaml:13:24: tune.space.spec.learningRate: grid crosses lists of values: give a list here, or use method: random or halving for a range',
      'slipway.yaml:14:27: tune.space.spec.layers[1].units: spec.layers[1] is a dropout layer; units belongs to dense layers (rate here)',
      expect.stringMatching(
        /^slipway\.yaml:15:23: tune\.space\.spec\.learnigRate: not a setting a search can vary; allowed: /,
      ),
    ]);
    const wrongKeys = tuned.replace(
      'spec.layers[0].units: [8, 16]',
      'spec.layers[1].units: [8, 16]\n    spec.learnigRate: [0.1]',
    );
    expect(problems(wrongKeys)).toEqual([
      'slipway.yaml:15:27: tune.space.spec.layers[1].units: spec.layers[1] is a dropout layer; units belongs to dense layers (rate here)',
      expect.stringMatching(
        /^slipway\.yaml:16:23: tune\.space\.spec\.learnigRate: not a setting a search can vary; allowed: spec\.learningRate, /,
      ),
    ]);
  });

  it('refuses a file without a tune section, and a search the flags make invalid, naming the flag', () => {
    expect(() => pipelineTuneInput(parsePipelineFile(minimal, 'slipway.yaml'), {}, {}, 'pat')).toThrow(
      /slipway\.yaml: tune: missing: `slipway tune` needs a tune: section/,
    );
    const loaded = parsePipelineFile(tuned, 'slipway.yaml');
    expect(() => pipelineTuneInput(loaded, {}, { method: 'grid' }, 'pat')).toThrow(
      'slipway.yaml: tune.space.spec.learningRate: grid crosses lists of values: give a list here, or use method: random or halving for a range (with --method grid)',
    );
  });
});

describe('schemas/slipway.schema.json', () => {
  it('is the JSON Schema generated from the zod schema (run `npm run docs:pipeline-schema` after changing it)', () => {
    expect(readFileSync(PIPELINE_SCHEMA_FILE, 'utf8')).toBe(renderPipelineSchema());
  });
});
