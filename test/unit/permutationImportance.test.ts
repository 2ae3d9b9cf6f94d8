import { describe, expect, it } from 'vitest';
import { SHIFTED, SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { onnxPermutationImportance } from '../../domain/explain/onnxImportance';
import {
  permutationImportance,
  sampleRows,
  weightedAveragePrecision,
} from '../../domain/explain/permutationImportance';
import { selectBackend } from '../../domain/ml/backend';
import { computeClassWeights } from '../../domain/ml/classWeights';
import { rankingMetrics } from '../../domain/ml/metrics';
import { buildModel } from '../../domain/ml/modelBuilder';
import { fitStandardScaler } from '../../domain/ml/scaler';
import { splitIndices, takeLabels, takeRows } from '../../domain/ml/split';
import { trainModel } from '../../domain/ml/train';
import { scaled } from '../../domain/ml/trainingData';
import { exportDenseModel } from '../../domain/onnx/exporter';
import { mulberry32 } from '../../domain/random';
import { smallNetworkSpec } from '../support/modelSpecs';

describe('permutation importance', () => {
  it('ranks the synthetic fraud generator signal columns first (a trained network, scored by onnxruntime)', {
    timeout: 120_000,
  }, async () => {
    await selectBackend();
    const features = SYNTHETIC_FRAUD_COLUMNS.slice(0, -1);
    const F = features.length;
    const rows = [...syntheticFraudRows({ rows: 200_000, seed: 29 })];
    const x = Float32Array.from(rows.flatMap((r) => r.slice(0, -1)));
    const y = Uint8Array.from(rows, (r) => r[F] as number);
    const split = splitIndices(y, { seed: 1, stratify: true, testFraction: 0.25 });
    const trainX = takeRows(x, F, split.train);
    const scaler = fitStandardScaler(trainX, split.train.length, F, features);
    const spec = smallNetworkSpec(16, { batchSize: 512, epochs: 10, seed: 3, learningRate: 0.01 });
    const model = buildModel(spec, F);
    const trainY = takeLabels(y, split.train);
    await trainModel({
      model,
      spec,
      x: scaled(scaler, trainX, F),
      y: trainY,
      nRows: split.train.length,
      nFeatures: F,
      classWeights: computeClassWeights(trainY, 'balanced'),
    });
    const { bytes } = exportDenseModel({
      model,
      spec,
      scaler,
      threshold: 0.5,
      metadata: {
        modelName: 'importance-test',
        features,
        target: 'Class',
        producerVersion: 'test',
        datasetSha256: '0'.repeat(64),
        runId: 'test',
      },
    });
    model.dispose();
    const testX = takeRows(x, F, split.test);
    const testY = takeLabels(y, split.test);
    const importance = await onnxPermutationImportance({
      onnx: bytes,
      x: testX,
      nRows: split.test.length,
      features,
      labels: testY,
    });
    const signal = SHIFTED.map(([v]) => `V${v}`);
    const ranked = importance.features.map((f) => f.feature);
    expect(importance.metric).toBe('prAuc');
    expect(importance.baseline).toBeGreaterThan(0.5);
    // The eight shifted columns are the eight most important, each clearly above zero.
    expect(ranked.slice(0, signal.length).sort()).toEqual([...signal].sort());
    for (const f of importance.features.slice(0, signal.length)) expect(f.low).toBeGreaterThan(0);
    // Time carries nothing: its interval reaches zero, and it ranks below every signal column.
    const time = importance.features.find((f) => f.feature === 'Time');
    expect(time?.low).toBeLessThanOrEqual(0.005);
    // Deterministic: the same inputs give the same numbers.
    const again = await onnxPermutationImportance({
      onnx: bytes,
      x: testX,
      nRows: split.test.length,
      features,
      labels: testY,
    });
    expect(again).toEqual(importance);
  });

  it('measures the mean score change without labels, and says how rows were sampled', async () => {
    // A score that reads column 0 strongly, column 1 weakly and ignores column 2.
    const n = 5000;
    const random = mulberry32(5);
    const x = Float32Array.from({ length: n * 3 }, () => random());
    const score = async (m: Float32Array, rows: number) =>
      Float32Array.from(
        { length: rows },
        (_, i) => 3 * (m[i * 3] as number) + 0.5 * (m[i * 3 + 1] as number),
      );
    const result = await permutationImportance({
      score,
      x,
      nRows: n,
      features: ['a', 'b', 'c'],
      maxRows: 1000,
    });
    expect(result.metric).toBe('meanAbsScoreChange');
    expect(result.features.map((f) => f.feature)).toEqual(['a', 'b', 'c']);
    expect(result.features[2]?.mean).toBe(0);
    expect(result.rowsUsed).toBe(1000);
    expect(result.sampling).toBe('a seeded sample of 1000 rows');
    for (const f of result.features) {
      expect(f.low).toBeLessThanOrEqual(f.mean);
      expect(f.high).toBeGreaterThanOrEqual(f.mean);
    }
  });

  it('keeps every positive and weighs sampled negatives so average precision matches the full rows', () => {
    const n = 40_000;
    const random = mulberry32(11);
    const labels = Uint8Array.from({ length: n }, () => (random() < 0.01 ? 1 : 0));
    const scores = Float32Array.from(labels, (l) => l + 1.5 * random());
    const full = rankingMetrics(labels, scores).prAuc;
    expect(weightedAveragePrecision(labels, scores)).toBeCloseTo(full, 10);
    const sample = sampleRows(n, 8000, labels, mulberry32(1));
    const positives = labels.reduce((s, v) => s + v, 0);
    expect(Array.from(sample.rows).filter((r) => labels[r] === 1)).toHaveLength(positives);
    const sampled = weightedAveragePrecision(
      Uint8Array.from(sample.rows, (r) => labels[r] as number),
      Float32Array.from(sample.rows, (r) => scores[r] as number),
      sample.negativeWeight,
    );
    expect(Math.abs(sampled - full)).toBeLessThan(0.03);
  });
});
