import { describe, expect, it } from 'vitest';
import { SYNTHETIC_FRAUD_COLUMNS, syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { selectBackend } from '../../domain/ml/backend';
import { computeClassWeights } from '../../domain/ml/classWeights';
import { evaluateScores } from '../../domain/ml/metrics';
import { buildModel } from '../../domain/ml/modelBuilder';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { applyStandardScaler, fitStandardScaler } from '../../domain/ml/scaler';
import { splitIndices, takeLabels, takeRows } from '../../domain/ml/split';
import { predictProbabilities, trainModel } from '../../domain/ml/train';

/**
 * The reference network on the full-size synthetic data with inverse class weights must reach
 * recall >= 0.8 at a false-positive rate <= 2 % on the held-out split.
 *
 * The epoch count is the same on every backend, on purpose: the held-out FPR at threshold 0.5
 * moves a lot from epoch to epoch (12.9 % after epoch 1, then 1.4 % to 4.7 % over epochs 2-8 on
 * wasm-blas), so fewer epochs on a slow backend would change the verdict, not just the speed.
 * The backends agree exactly after epoch 1 but drift apart later through float summation order:
 * after 5 epochs wasm-blas gave recall 0.902 / FPR 1.40 % and plain WASM recall 0.911 / FPR
 * 2.005 % (just over the line). The verdict is therefore sensitive to the backend; the cause is
 * the boundary noise of Adam at lr 1e-2 under ~580:1 class weights. Expect under a minute on the
 * native trainer (2.3 min on 2 cores shared with a load average of 20), ~1 minute with the native
 * GEMM (wasm-blas), ~9-12 with plain WASM and ~30 on the CPU backend, on 2 cores.
 */
const EPOCHS = Number(process.env.REF_EPOCHS ?? 5);
const SAMPLES_PER_SECOND: Record<string, number> = {
  native: 60_000,
  tensorflow: 20_000,
  'wasm-blas': 20_000,
  wasm: 2_000,
  cpu: 600,
};
describe('reference training on 284,807 generated rows', () => {
  it('reaches recall >= 0.8 at FPR <= 2 % on the held-out 25 %', { timeout: 3_600_000 }, async () => {
    const backend = await selectBackend();
    const minutes = (EPOCHS * 213_605) / (SAMPLES_PER_SECOND[backend.name] ?? 600) / 60;
    console.log(`training ${EPOCHS} epochs on ${backend.name}: expect about ${Math.ceil(minutes)} min`);
    const rows = 284_807;
    const nCols = SYNTHETIC_FRAUD_COLUMNS.length - 1;
    const x = new Float32Array(rows * nCols);
    const y = new Uint8Array(rows);
    let i = 0;
    for (const row of syntheticFraudRows({ rows, seed: 42 })) {
      for (let j = 0; j < nCols; j++) x[i * nCols + j] = row[j] as number;
      y[i] = row[nCols] as number;
      i++;
    }
    const { train, test } = splitIndices(y, { seed: 42, testFraction: 0.25, stratify: true });
    const features = SYNTHETIC_FRAUD_COLUMNS.slice(0, nCols);
    const xTrainRaw = takeRows(x, nCols, train);
    const scaler = fitStandardScaler(xTrainRaw, train.length, nCols, features);
    const xTrain = applyStandardScaler(scaler, xTrainRaw, nCols);
    const yTrain = takeLabels(y, train);
    const xTest = applyStandardScaler(scaler, takeRows(x, nCols, test), nCols);
    const yTest = takeLabels(y, test);

    const epochs = EPOCHS;
    const spec = { ...referenceModelSpec, epochs };
    const model = buildModel(spec, nCols);
    const result = await trainModel({
      model,
      spec,
      x: xTrain,
      y: yTrain,
      nRows: train.length,
      nFeatures: nCols,
      classWeights: computeClassWeights(yTrain, 'inverse'),
    });
    const scores = await predictProbabilities(model, xTest, test.length, nCols);
    const m = evaluateScores(yTest, scores, 0.5);
    const speed = result.history.map((h) => Math.round(h.samplesPerSecond)).join(', ');
    console.log(
      `backend ${backend.name} (${backend.reason}); ${epochs} epochs at ${speed} samples/s\n` +
        `held-out: TP ${m.tp} FP ${m.fp} TN ${m.tn} FN ${m.fn}; precision ${m.precision.toFixed(3)}, ` +
        `recall ${m.recall.toFixed(3)}, FPR ${(100 * m.fpr).toFixed(2)} %, ROC-AUC ${m.rocAuc.toFixed(4)}, PR-AUC ${m.prAuc.toFixed(4)}`,
    );
    model.dispose();
    expect(m.recall).toBeGreaterThanOrEqual(0.8);
    expect(m.fpr).toBeLessThanOrEqual(0.02);
  });
});
