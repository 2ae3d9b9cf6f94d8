import { describe, expect, it } from 'vitest';
import {
  SYNTHETIC_WIN_EVENTS_COLUMNS,
  syntheticWinEventRows,
  WIN_EVENT_COUNT_COLUMNS,
} from '../../domain/data/syntheticWinEvents';
import {
  autoencoderSpecSchema,
  contaminationThreshold,
  reconstructionErrors,
  trainAutoencoder,
} from '../../domain/ml/autoencoder';
import { evaluateScores } from '../../domain/ml/metrics';
import { fitStandardScaler } from '../../domain/ml/scaler';
import { splitIndices, takeLabels, takeRows } from '../../domain/ml/split';
import { buildAnomalyOnnx, checkAnomalyParity } from '../../domain/onnx/anomalyExporter';
import { openAnomalyScorer } from '../../domain/scoring/anomalyScorer';
import { type AnomalyReference, checkAnomalyVersion } from '../../domain/serving/anomalyCheck';

const FEATURES = ['hour', ...WIN_EVENT_COUNT_COLUMNS];

function winEvents(rows: number, seed: number) {
  const at = FEATURES.map((f) => SYNTHETIC_WIN_EVENTS_COLUMNS.indexOf(f));
  const x = new Float32Array(rows * FEATURES.length);
  const y = new Uint8Array(rows);
  let r = 0;
  for (const row of syntheticWinEventRows({ rows, seed })) {
    at.forEach((c, j) => {
      x[r * FEATURES.length + j] = Number(row[c]);
    });
    y[r] = Number(row.at(-1));
    r++;
  }
  return { x, y };
}

describe('synthetic:winevents and the autoencoder', () => {
  it('generates the same rows for a seed, with a small share of anomalous rows', () => {
    const a = [...syntheticWinEventRows({ rows: 2000, seed: 3 })];
    const b = [...syntheticWinEventRows({ rows: 2000, seed: 3 })];
    expect(a).toEqual(b);
    const share = a.filter((row) => row.at(-1) === '1').length / a.length;
    expect(share).toBeGreaterThan(0.002);
    expect(share).toBeLessThan(0.05);
    expect(a[0]?.length).toBe(SYNTHETIC_WIN_EVENTS_COLUMNS.length);
  });

  it('finds the injected anomalies on held-out rows with ROC-AUC >= 0.95, never reading the labels to train', () => {
    const rows = 20_000;
    const { x, y } = winEvents(rows, 11);
    const nF = FEATURES.length;
    const split = splitIndices(y, { testFraction: 0.25, seed: 42, stratify: true });
    const train = takeRows(x, nF, split.train);
    const test = takeRows(x, nF, split.test);
    const scaler = fitStandardScaler(train, split.train.length, nF, FEATURES);
    const scaledTrain = train.map(
      (v, k) => (v - (scaler.mean[k % nF] as number)) / (scaler.std[k % nF] as number),
    );
    const spec = autoencoderSpecSchema.parse({});
    const { weights, history } = trainAutoencoder(scaledTrain, split.train.length, nF, spec);
    expect((history.at(-1) as { loss: number }).loss).toBeLessThan((history[0] as { loss: number }).loss);
    const trainScores = reconstructionErrors(weights, scaler, train, split.train.length);
    const threshold = contaminationThreshold(trainScores, 0.01);
    const flagged = trainScores.filter((s) => s > threshold).length;
    expect(flagged).toBe(Math.ceil(0.01 * split.train.length));
    const testScores = reconstructionErrors(weights, scaler, test, split.test.length);
    const evaluation = evaluateScores(takeLabels(y, split.test), testScores, threshold);
    expect(evaluation.rocAuc).toBeGreaterThanOrEqual(0.95);
  });

  it('exports anomaly_score and predicted_outlier that match the float64 model, and refuses a graph that does not', async () => {
    const rows = 3000;
    const { x } = winEvents(rows, 5);
    const nF = FEATURES.length;
    const scaler = fitStandardScaler(x, rows, nF, FEATURES);
    const scaledX = x.map((v, k) => (v - (scaler.mean[k % nF] as number)) / (scaler.std[k % nF] as number));
    const { weights } = trainAutoencoder(scaledX, rows, nF, autoencoderSpecSchema.parse({ epochs: 5 }));
    const threshold = contaminationThreshold(reconstructionErrors(weights, scaler, x, rows), 0.01);
    const meta = {
      modelName: 'winevents',
      producerVersion: 'test',
      datasetSha256: '0'.repeat(64),
      runId: 'r',
    };
    const onnx = buildAnomalyOnnx({ weights, scaler, threshold, ...meta });
    const parity = await checkAnomalyParity(onnx, weights, scaler, threshold, x, rows);
    expect(parity.rowsCompared).toBe(rows);
    expect(parity.worstToleranceUsed).toBeLessThanOrEqual(1);
    // A scaler off by 1 % in one column is caught.
    const wrongStd = scaler.std.map((s, j) => (j === 2 ? s * 1.01 : s));
    const wrong = buildAnomalyOnnx({ weights, scaler: { ...scaler, std: wrongStd }, threshold, ...meta });
    await expect(checkAnomalyParity(wrong, weights, scaler, threshold, x, rows)).rejects.toThrow(
      /differ|flags held-out row/,
    );
  });

  it("serve's version check: the served session gives the trained autoencoder's scores on probe rows, a wrong file is refused", async () => {
    const rows = 1000;
    const { x } = winEvents(rows, 7);
    const nF = FEATURES.length;
    const scaler = fitStandardScaler(x, rows, nF, FEATURES);
    const scaledX = x.map((v, k) => (v - (scaler.mean[k % nF] as number)) / (scaler.std[k % nF] as number));
    const { weights } = trainAutoencoder(scaledX, rows, nF, autoencoderSpecSchema.parse({ epochs: 2 }));
    const threshold = contaminationThreshold(reconstructionErrors(weights, scaler, x, rows), 0.01);
    const meta = { modelName: 'w', producerVersion: 'test', datasetSha256: '0'.repeat(64), runId: 'r' };
    const check = async (onnx: Uint8Array, reference: AnomalyReference | undefined) => {
      const scorer = await openAnomalyScorer(onnx, nF);
      try {
        return await checkAnomalyVersion(scorer, reference, nF);
      } finally {
        await scorer.release();
      }
    };
    const onnx = buildAnomalyOnnx({ weights, scaler, threshold, ...meta });
    const passed = await check(onnx, { weights, scaler, threshold });
    expect(passed).toMatchObject({ passed: true, rows: 64, source: 'trained' });
    expect(passed.worstBoundUsed).toBeLessThanOrEqual(1);
    // Another threshold in the file than in the record: predicted_outlier is off on every row.
    const moved = await check(buildAnomalyOnnx({ weights, scaler, threshold: threshold * 2, ...meta }), {
      weights,
      scaler,
      threshold,
    });
    expect(moved.passed).toBe(false);
    expect(moved).toMatchObject({
      reason: expect.stringMatching(/on probe row \d+ the served file gives anomaly_score/),
    });
    // A scaler off by 1 % in one column.
    const wrongStd = scaler.std.map((s, j) => (j === 2 ? s * 1.01 : s));
    const wrong = buildAnomalyOnnx({ weights, scaler: { ...scaler, std: wrongStd }, threshold, ...meta });
    expect((await check(wrong, { weights, scaler, threshold })).passed).toBe(false);
    // No trained model to compare with (an import): finite outputs are all it can show.
    expect(await check(onnx, undefined)).toMatchObject({ passed: true, source: 'outputs' });
  });
});
