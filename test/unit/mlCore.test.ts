import type * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { computeClassWeights } from '../../domain/ml/classWeights';
import { TrainingInputError } from '../../domain/ml/errors';
import { confusionAt, evaluateScores, rankingMetrics } from '../../domain/ml/metrics';
import { buildModel } from '../../domain/ml/modelBuilder';
import { countParameters, modelSpecSchema, referenceModelSpec } from '../../domain/ml/modelSpec';
import { applyStandardScaler, fitStandardScaler, scalerFromJson, scalerToJson } from '../../domain/ml/scaler';
import { splitIndices, takeRows } from '../../domain/ml/split';
import { trainModel } from '../../domain/ml/train';
import { mulberry32 } from '../../domain/random';
import { smallNetworkSpec } from '../support/modelSpecs';
import { useTfCpuBackend } from '../support/tfCpuBackend';

useTfCpuBackend();

describe('split', () => {
  const y = Uint8Array.from({ length: 1000 }, (_, i) => (i % 50 === 0 ? 1 : 0)); // 20 positives

  it('is the same for the same seed and different for another', () => {
    expect(splitIndices(y, { seed: 7 })).toEqual(splitIndices(y, { seed: 7 }));
    expect(splitIndices(y, { seed: 7 }).test).not.toEqual(splitIndices(y, { seed: 8 }).test);
  });

  it('holds out 25 % with every row exactly once, and keeps the class ratio when stratified', () => {
    const { train, test } = splitIndices(y, { seed: 1, stratify: true });
    expect(test.length).toBe(250);
    expect(new Set([...train, ...test]).size).toBe(1000);
    expect(Array.from(test).filter((i) => y[i] === 1).length).toBe(5);
  });

  it('pins the split of a seed (a change here changes every held-out set), and splits unstratified too', () => {
    const s = splitIndices(y, { seed: 42 });
    expect(Array.from(s.test.slice(0, 6))).toEqual([756, 471, 640, 647, 244, 292]);
    expect(Array.from(s.train.slice(0, 6))).toEqual([535, 102, 382, 513, 39, 88]);
    const u = splitIndices(y, { seed: 42, stratify: false, testFraction: 0.2 });
    expect([u.test.length, u.train.length]).toEqual([200, 800]);
    expect(new Set([...u.train, ...u.test]).size).toBe(1000);
    expect(() => splitIndices(y, { testFraction: 1 })).toThrow(/testFraction must be in \(0, 1\)/);
  });

  it('copies the chosen rows', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(takeRows(x, 2, Uint32Array.from([2, 0])))).toEqual([5, 6, 1, 2]);
  });
});

describe('standard scaler', () => {
  it('uses population std from the data it is fitted on, and std 1 for a constant column', () => {
    const x = Float32Array.from([1, 5, 3, 5, 5, 5, 7, 5]); // columns: [1,3,5,7] and [5,5,5,5]
    const s = fitStandardScaler(x, 4, 2, ['a', 'k']);
    expect(s.mean).toEqual([4, 5]);
    expect(s.std[0]).toBeCloseTo(Math.sqrt(5), 12);
    expect(s.std[1]).toBe(1);
    const t = applyStandardScaler(s, x, 2);
    expect(t[0]).toBeCloseTo(-3 / Math.sqrt(5), 6);
    expect(t[1]).toBe(0);
    expect(scalerFromJson(scalerToJson(s))).toEqual(s);
  });

  it('refuses a scaler document with a zero std', () => {
    expect(() =>
      scalerFromJson(JSON.stringify({ kind: 'standard', features: ['a'], mean: [0], std: [0] })),
    ).toThrow();
  });
});

describe('class weights', () => {
  const y = Uint8Array.from([0, 0, 0, 1]);
  it('inverse is 1/count and balanced is n/(2*count)', () => {
    expect(computeClassWeights(y, 'inverse')).toEqual({ negative: 1 / 3, positive: 1 });
    expect(computeClassWeights(y, 'balanced')).toEqual({ negative: 4 / 6, positive: 2 });
  });
  it('one class only is a clear error, not Infinity', () => {
    const err = (() => {
      try {
        computeClassWeights(Uint8Array.from([0, 0]), 'inverse');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TrainingInputError);
    expect((err as TrainingInputError).type).toBe('SingleClass');
  });
});

describe('metrics', () => {
  it('counts a hand-made confusion matrix', () => {
    const labels = [1, 1, 1, 0, 0, 0, 0, 0];
    const scores = [0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.4, 0.05];
    const m = confusionAt(labels, scores, 0.5);
    expect(m).toMatchObject({ tp: 2, fn: 1, fp: 1, tn: 4 });
    expect(m.precision).toBeCloseTo(2 / 3);
    expect(m.recall).toBeCloseTo(2 / 3);
    expect(m.fpr).toBeCloseTo(1 / 5);
    expect(m.f1).toBeCloseTo(2 / 3);
  });

  it('gives defined values when nothing is predicted positive or there are no positives', () => {
    const m = evaluateScores([0, 0, 0], [0.1, 0.2, 0.3]);
    expect([m.precision, m.recall, m.f1, m.rocAuc, m.prAuc]).toEqual([0, 0, 0, 0, 0]);
    expect(Object.values(m).some((v) => typeof v === 'number' && Number.isNaN(v))).toBe(false);
  });

  it('ROC-AUC matches a brute-force count over all pairs, ties counted half', () => {
    const random = mulberry32(3);
    const labels = Array.from({ length: 300 }, () => (random() < 0.2 ? 1 : 0));
    const scores = labels.map((l) => Math.round((random() + l * 0.4) * 20) / 20); // many ties
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < labels.length; i++) {
      for (let j = 0; j < labels.length; j++) {
        if (labels[i] === 1 && labels[j] === 0) {
          pairs++;
          wins += (scores[i] as number) > (scores[j] as number) ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }
      }
    }
    expect(rankingMetrics(labels, scores).rocAuc).toBeCloseTo(wins / pairs, 10);
  });

  it('average precision matches the mean precision at the rank of each positive (no ties)', () => {
    const random = mulberry32(9);
    const labels = Array.from({ length: 400 }, () => (random() < 0.1 ? 1 : 0));
    const scores = labels.map((l) => random() + l * 0.5);
    const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
    let tp = 0;
    let sum = 0;
    order.forEach(([, i], rank) => {
      if (labels[i] === 1) sum += ++tp / (rank + 1);
    });
    expect(rankingMetrics(labels, scores).prAuc).toBeCloseTo(sum / tp, 10);
  });

  it('returns curves of at most 200 points from (0,0) to (1,1), and refuses bad inputs', () => {
    const random = mulberry32(4);
    const labels = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? 1 : 0));
    const scores = labels.map(() => random());
    const { roc, pr } = rankingMetrics(labels, scores);
    expect(roc.length).toBeLessThanOrEqual(200);
    expect(pr.length).toBeLessThanOrEqual(200);
    expect([roc[0]?.x, roc[0]?.y]).toEqual([0, 0]);
    expect([roc.at(-1)?.x, roc.at(-1)?.y]).toEqual([1, 1]);
    expect(roc.every((p, i) => i === 0 || p.x >= (roc[i - 1]?.x as number))).toBe(true);
    expect(pr.at(-1)?.x).toBe(1);
    expect(() => confusionAt([1, 0], [0.5])).toThrow(/2 labels but 1 scores/);
    expect(() => rankingMetrics([1, 0], [0.5, Number.NaN])).toThrow(/score at row 1 is NaN/);
    expect(() => confusionAt([2, 0], [0.5, 0.1])).toThrow(/label at row 0 is 2/);
  });

  it('average precision matches its definition on a small case', () => {
    // sorted: 0.9(1) 0.8(0) 0.7(1) 0.1(0): AP = 0.5*1 + 0.5*(2/3)
    expect(rankingMetrics([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]).prAuc).toBeCloseTo(0.5 + 1 / 3, 12);
  });
});

describe('model spec and builder', () => {
  it('the reference network has 139,777 parameters on 30 features', () => {
    expect(countParameters(referenceModelSpec, 30)).toBe(139_777);
    const model = buildModel(referenceModelSpec, 30);
    expect(model.countParams()).toBe(139_777);
    expect(model.layers.map((l) => l.name)).toEqual([
      'dense_0',
      'dense_1',
      'dropout_2',
      'dense_3',
      'dropout_4',
      'dense_5',
    ]);
    model.dispose();
  });

  it('refuses a spec whose last layer is not Dense(1, sigmoid)', () => {
    const result = modelSpecSchema.safeParse({ layers: [{ type: 'dense', units: 4, activation: 'relu' }] });
    expect(result.success).toBe(false);
  });
});

describe('training', () => {
  const spec = smallNetworkSpec(8, { batchSize: 32, epochs: 4, learningRate: 0.01, seed: 5 });
  const random = mulberry32(11);
  const nRows = 200;
  const x = Float32Array.from({ length: nRows * 3 }, () => random() * 2 - 1);
  const y = Uint8Array.from({ length: nRows }, (_, i) =>
    (x[i * 3] as number) + (x[i * 3 + 1] as number) > 0.5 ? 1 : 0,
  );
  const weights = computeClassWeights(y, 'balanced');

  async function weightsAfter(run: (model: tf.LayersModel) => Promise<unknown>): Promise<number[]> {
    const model = buildModel(spec, 3);
    await run(model);
    const values = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
    model.dispose();
    return values;
  }

  it('is repeatable, and resuming from the epoch-2 checkpoint ends exactly where the uninterrupted run does', async () => {
    const straight = await weightsAfter((model) =>
      trainModel({ model, spec, x, y, nRows, nFeatures: 3, classWeights: weights }),
    );
    const again = await weightsAfter((model) =>
      trainModel({ model, spec, x, y, nRows, nFeatures: 3, classWeights: weights }),
    );
    expect(again).toEqual(straight);

    let saved: Uint8Array | undefined;
    await weightsAfter((model) =>
      trainModel({
        model,
        spec,
        x,
        y,
        nRows,
        nFeatures: 3,
        classWeights: weights,
        epochs: 2,
        onEpoch: async (_r, checkpoint) => {
          saved = await checkpoint();
        },
      }),
    );
    let resumedFrom = -1;
    const resumed = await weightsAfter(async (model) => {
      const result = await trainModel({
        model,
        spec,
        x,
        y,
        nRows,
        nFeatures: 3,
        classWeights: weights,
        resumeFrom: saved,
      });
      resumedFrom = result.resumedFromEpoch;
      expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    });
    expect(resumedFrom).toBe(2);
    expect(resumed).toEqual(straight);

    // A checkpoint read back from storage arrives as a Buffer view at an odd offset: still readable.
    const unaligned = Buffer.concat([Buffer.alloc(3), Buffer.from(saved as Uint8Array)]).subarray(3);
    const fromBuffer = await weightsAfter((model) =>
      trainModel({ model, spec, x, y, nRows, nFeatures: 3, classWeights: weights, resumeFrom: unaligned }),
    );
    expect(fromBuffer).toEqual(straight);
  });

  it('stops early when the validation loss stops improving, and a resumed run stops at the same epoch', async () => {
    // A minDelta no improvement can meet: epoch 1 sets the best, epochs 2 and 3 miss it, stop after 3.
    const earlyStopping = { patience: 2, minDelta: 1e9 };
    const common = { spec, x, y, nRows, nFeatures: 3, classWeights: weights, validation: { x, y, nRows } };
    const whole = buildModel(spec, 3);
    const result = await trainModel({ ...common, model: whole, epochs: 10, earlyStopping });
    expect([result.epochsRun, result.stoppedEarly]).toEqual([3, true]);
    expect(result.backend).toBe('cpu');
    whole.dispose();

    let saved: Uint8Array | undefined;
    const first = buildModel(spec, 3);
    await trainModel({
      ...common,
      model: first,
      epochs: 2,
      onEpoch: async (_r, checkpoint) => {
        saved = await checkpoint();
      },
    });
    first.dispose();
    const second = buildModel(spec, 3);
    const resumed = await trainModel({
      ...common,
      model: second,
      epochs: 10,
      earlyStopping,
      resumeFrom: saved,
    });
    expect([resumed.epochsRun, resumed.stoppedEarly, resumed.resumedFromEpoch]).toEqual([3, true, 2]);
    second.dispose();

    const third = buildModel(spec, 3);
    await expect(
      trainModel({ ...common, model: third, validation: undefined, earlyStopping: { patience: 1 } }),
    ).rejects.toThrow(/earlyStopping needs validation data/);
    third.dispose();
  });

  it('learns the toy problem and reports validation figures per epoch', async () => {
    const model = buildModel({ ...spec, epochs: 30 }, 3);
    const result = await trainModel({
      model,
      spec: { ...spec, epochs: 30 },
      x,
      y,
      nRows,
      nFeatures: 3,
      classWeights: weights,
      validation: { x, y, nRows },
    });
    const last = result.history[result.history.length - 1];
    expect(last?.valLoss).toBeLessThan(result.history[0]?.valLoss as number);
    expect(last?.valRecall).toBeGreaterThan(0.8);
    model.dispose();
  });
});
