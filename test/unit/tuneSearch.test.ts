import { describe, expect, it } from 'vitest';
import { trialsTable } from '../../cli/commands/tune';
import { describeTrial } from '../../cli/followRun';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { halvingPlan, rankRung } from '../../domain/tune/halving';
import {
  applyToSpec,
  sampleTrials,
  searchSpaceProblems,
  tuneSettingsSchema,
} from '../../domain/tune/searchSpace';

describe('search space', () => {
  it('grid crosses the lists, the first key varying slowest', () => {
    const tune = tuneSettingsSchema.parse({
      method: 'grid',
      space: { 'spec.learningRate': [0.01, 0.001], 'spec.layers[0].units': [8, 16, 32] },
    });
    const trials = sampleTrials(tune);
    expect(trials).toHaveLength(6);
    expect(trials[0]).toEqual({ 'spec.learningRate': 0.01, 'spec.layers[0].units': 8 });
    expect(trials[5]).toEqual({ 'spec.learningRate': 0.001, 'spec.layers[0].units': 32 });
  });

  it('random draws are seeded, inside their ranges, rounded for whole-number settings', () => {
    const settings = {
      method: 'random' as const,
      trials: 20,
      seed: 7,
      space: {
        'spec.learningRate': { range: [1e-4, 1e-1] as [number, number], scale: 'log' as const },
        'spec.batchSize': { range: [64, 1024] as [number, number] },
        'spec.optimizer': ['adam', 'rmsprop'],
      },
    };
    const a = sampleTrials(tuneSettingsSchema.parse(settings));
    const b = sampleTrials(tuneSettingsSchema.parse(settings));
    expect(a).toEqual(b);
    const c = sampleTrials(tuneSettingsSchema.parse({ ...settings, seed: 8 }));
    expect(c).not.toEqual(a);
    for (const t of a) {
      expect(t['spec.learningRate']).toBeGreaterThanOrEqual(1e-4);
      expect(t['spec.learningRate']).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(t['spec.batchSize'])).toBe(true);
      expect(['adam', 'rmsprop']).toContain(t['spec.optimizer']);
    }
    // Log scale: about as many draws below 1e-2.5 as above it, not 97 % above.
    const low = a.filter((t) => (t['spec.learningRate'] as number) < 10 ** -2.5).length;
    expect(low).toBeGreaterThan(3);
    expect(new Set(a.map((t) => t['spec.optimizer'])).size).toBe(2);
  });

  it('neighbouring seeds draw different trials, not the same ones in another order', () => {
    const space = {
      'spec.learningRate': { range: [0.001, 0.02] as [number, number], scale: 'log' as const },
      'spec.layers[1].rate': { range: [0.1, 0.4] as [number, number] },
    };
    const drawn = [100, 101, 102, 103].map((seed) =>
      sampleTrials(tuneSettingsSchema.parse({ method: 'random', trials: 4, seed, space })).map((t) =>
        JSON.stringify(t),
      ),
    );
    const all = drawn.flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('a key added to the space leaves the draws of the others alone', () => {
    const base = {
      method: 'random' as const,
      trials: 5,
      seed: 3,
      space: { 'spec.learningRate': { range: [0.001, 0.1] as [number, number] } },
    };
    const more = { ...base, space: { ...base.space, 'spec.seed': [1, 2, 3] } };
    const a = sampleTrials(tuneSettingsSchema.parse(base)).map((t) => t['spec.learningRate']);
    const b = sampleTrials(tuneSettingsSchema.parse(more)).map((t) => t['spec.learningRate']);
    expect(b).toEqual(a);
  });

  it('puts a trial into the spec without touching the base', () => {
    const spec = applyToSpec(referenceModelSpec, { 'spec.layers[2].rate': 0.1, 'spec.learningRate': 0.003 });
    expect(spec.layers[2]).toEqual({ type: 'dropout', rate: 0.1 });
    expect(spec.learningRate).toBe(0.003);
    expect(referenceModelSpec.layers[2]).toEqual({ type: 'dropout', rate: 0.3 });
  });

  it('names the key and what is allowed for every bad entry', () => {
    const problems = searchSpaceProblems(
      {
        'spec.learningrate': [0.1],
        classWeights: ['inverse', 'none'],
        'spec.layers[9].units': [4],
        'spec.layers[5].units': [2],
        'spec.layers[2].units': [4],
        'spec.layers[0].rate': [0.1],
        'spec.layers[2].rate': [0.1, 1.5],
        'spec.optimizer': { range: [0, 1], scale: 'linear' },
        'spec.epochs': [2, 4],
      },
      referenceModelSpec,
      'halving',
    );
    const byKey = Object.fromEntries(problems.map((p) => [p.key, p.message]));
    expect(byKey['spec.learningrate']).toMatch(/not a setting a search can vary; allowed: spec.learningRate/);
    expect(byKey.classWeights).toMatch(/class weights scale the validation loss/);
    expect(byKey['spec.layers[9].units']).toMatch(/6 layers \(spec.layers\[0\] to spec.layers\[5\]\)/);
    expect(byKey['spec.layers[5].units']).toMatch(/output layer/);
    expect(byKey['spec.layers[2].units']).toMatch(
      /is a dropout layer; units belongs to dense layers \(rate here\)/,
    );
    expect(byKey['spec.layers[0].rate']).toMatch(/is a dense layer; rate belongs to dropout layers/);
    expect(byKey['spec.layers[2].rate']).toMatch(/^1.5 is not allowed/);
    expect(byKey['spec.optimizer']).toMatch(/takes names: give a list/);
    expect(byKey['spec.epochs']).toMatch(/halving decides how many epochs/);
    expect(problems).toHaveLength(9);
    expect(searchSpaceProblems({ 'spec.layers[0].units': [8, 16] }, referenceModelSpec, 'grid')).toEqual([]);
  });

  it('refuses a grid over a range, an empty space and trials that contradict the grid', () => {
    const bad = tuneSettingsSchema.safeParse({
      method: 'grid',
      trials: 3,
      space: { 'spec.learningRate': { range: [0.001, 0.1] } },
    });
    expect(bad.success).toBe(false);
    const messages = bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(messages).toContain(
      'space.spec.learningRate: grid crosses lists of values: give a list here, or use method: random or halving for a range',
    );
    expect(messages.some((m) => m.startsWith('trials: grid runs every combination (1 here)'))).toBe(true);
    expect(tuneSettingsSchema.safeParse({ space: {} }).error?.issues[0]?.message).toMatch(
      /search space is empty/,
    );
    expect(
      tuneSettingsSchema.safeParse({ space: { 'spec.learningRate': { range: [0, 1], scale: 'log' } } }).error
        ?.issues[0]?.message,
    ).toMatch(/log-scale range needs low > 0/);
    expect(
      tuneSettingsSchema.safeParse({ space: { 'spec.learningRate': { range: [0.001, 0.1], scael: 'log' } } })
        .error?.issues[0]?.message,
    ).toMatch(/Unrecognized key: "scael"/);
  });
});

describe('successive halving', () => {
  it('plans rungs that halve the trials and double the epochs up to the full run', () => {
    expect(halvingPlan(12, 8, 2)).toEqual([
      { epochs: 1, trials: 12 },
      { epochs: 2, trials: 6 },
      { epochs: 4, trials: 3 },
      { epochs: 8, trials: 1 },
    ]);
    expect(halvingPlan(9, 9, 3)).toEqual([
      { epochs: 1, trials: 9 },
      { epochs: 3, trials: 3 },
      { epochs: 9, trials: 1 },
    ]);
    // Fewer epochs than halvings: the last rung is the full run with the trials left.
    expect(halvingPlan(16, 2, 2)).toEqual([
      { epochs: 1, trials: 16 },
      { epochs: 2, trials: 8 },
    ]);
    expect(halvingPlan(1, 5, 2)).toEqual([{ epochs: 5, trials: 1 }]);
    expect(halvingPlan(8, 20, 2, 3)).toEqual([
      { epochs: 3, trials: 8 },
      { epochs: 6, trials: 4 },
      { epochs: 12, trials: 2 },
      { epochs: 20, trials: 1 },
    ]);
  });

  it('keeps the best by validation loss, ties by trial, non-finite last, and says why the rest stop', () => {
    const ranking = rankRung(
      [
        { trial: 0, objective: 0.5 },
        { trial: 1, objective: Number.NaN },
        { trial: 2, objective: 0.2 },
        { trial: 3, objective: 0.5 },
      ],
      2,
      { rung: 1, epochs: 2, nextEpochs: 4 },
    );
    expect(ranking.promoted).toEqual([2, 0]);
    expect(ranking.stopped.map((s) => [s.trial, s.rank])).toEqual([
      [3, 3],
      [1, 4],
    ]);
    expect(ranking.stopped[0]?.reason).toBe(
      'halving rung 1 (epoch 2): validation loss 0.5000 ranked 3 of 4; only the best 2 (up to 0.5000) go on to epoch 4',
    );
    expect(ranking.stopped[1]?.reason).toMatch(/no finite validation loss/);
  });
});

describe('trials as the CLI shows them', () => {
  const stopped = {
    trial: 3,
    settings: { 'spec.learningRate': 0.003, 'spec.layers[0].units': 16 },
    status: 'stopped' as const,
    epochsRun: 1,
    curve: [{ epoch: 1, loss: 0.5, valLoss: 0.61 }],
    objective: 0.61,
    stopReason:
      'halving rung 1 (epoch 1): validation loss 0.6100 ranked 5 of 6; only the best 2 (up to 0.4000) go on to epoch 3',
    workflowIds: ['tune-x-trial-03-rung-1'],
  };
  it("says each trial's settings, how it stands and why it stopped", () => {
    expect(describeTrial(stopped)).toBe(
      'trial 3 (learningRate=0.003 layers[0].units=16) stopped after 1 epochs, val loss 0.6100: ' +
        stopped.stopReason,
    );
    const table = trialsTable(
      [stopped, { ...stopped, trial: 4, status: 'completed', stopReason: undefined, objective: 0.4 }],
      4,
    );
    expect(table).toMatch(/4 \*/);
    expect(table).toContain('halving rung 1 (epoch 1)');
    expect(table).not.toContain('trained on');
    // With the workers looked up (application/searches.ts, as `slipway status` does): who trained it.
    const withWorkers = trialsTable([
      {
        ...stopped,
        runs: [
          { workflowId: 'tune-x-trial-03-rung-1', worker: 'tw1', attempt: 1 },
          { workflowId: 'tune-x-trial-03-rung-2', worker: 'tw3', attempt: 2 },
        ],
      },
    ]);
    expect(withWorkers).toContain('trained on');
    expect(withWorkers).toContain('tw1, tw3 (attempt 2)');
  });
});
