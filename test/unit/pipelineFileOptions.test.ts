import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parsePipelineFile } from '../../application/pipelineFile';
import { addGateOptions } from '../../cli/gateOptions';
import { overridesFromFlags } from '../../cli/pipelineFileOptions';
import { addTrainingOptions } from '../../cli/trainingOptions';

const loaded = parsePipelineFile(
  `version: 1
model: card-fraud
source: "synthetic:fraud?rows=3000&seed=1"
target: IsFraud
gate:
  metric: { thresholds: { minRecall: 0.6 } }
  review: { required: true, approvers: [ana] }
  alias: staging
`,
  'slipway.yaml',
);

/** The options `run` and `schedule create` share, parsed from `args` as commander does. */
function overrides(...args: string[]) {
  const command = new Command().exitOverride().option('--source <uri>').option('--model <name>');
  addTrainingOptions(command).option('--no-cache');
  addGateOptions(command);
  command.parse(args, { from: 'user' });
  return overridesFromFlags(command, command.opts(), loaded);
}

describe('flags over a pipeline file', () => {
  it('leaves the file alone when nothing is typed (a default such as --target Class does not count)', () => {
    const o = overrides();
    expect(o).toEqual({ gate: expect.any(Object) });
    expect(o.gate).toMatchObject({
      metric: { thresholds: { minRecall: 0.6 } },
      review: { required: true, approvers: ['ana'] },
      alias: 'staging',
    });
  });

  it('takes what is typed, the gate flags merged over the file gate', () => {
    const o = overrides(
      '--target',
      'Class',
      '--epochs',
      '4',
      '--features',
      'V1, V2',
      '--source',
      'synthetic:fraud?rows=500&seed=2',
      '--no-cache',
      '--max-fpr',
      '0.01',
      '--approvers',
      'bo',
    );
    expect(o).toMatchObject({
      target: 'Class',
      epochs: 4,
      features: ['V1', 'V2'],
      source: 'synthetic:fraud?rows=500&seed=2',
      cache: false,
    });
    expect(o.gate).toMatchObject({
      metric: { thresholds: { minRecall: 0.6, maxFpr: 0.01 } },
      review: { required: true, approvers: ['bo'] },
      alias: 'staging',
    });
  });
});
