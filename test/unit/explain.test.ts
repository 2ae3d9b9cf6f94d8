import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticFraudRows } from '../../domain/data/syntheticFraud';
import { explainerForOnnx, openRowExplainer, topByMagnitude } from '../../domain/explain/rowExplainer';
import { referenceModelSpec } from '../../domain/ml/modelSpec';
import { scoreMatrix } from '../../domain/scoring/binaryScorer';
import { scoreCsv } from '../../domain/scoring/scoreCsv';
import { FRAUD_FEATURES, untrainedFraudOnnx } from '../support/scoringFixtures';

const F = FRAUD_FEATURES.length;
let dir: string;
let onnx: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-explain-'));
  onnx = untrainedFraudOnnx(referenceModelSpec);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('per-row explanations (DeepLIFT rescale against the training means)', () => {
  it('gives contributions that sum to p(row) - p(training means) on the reference network', async () => {
    const n = 300;
    const x = new Float32Array(n * F);
    let i = 0;
    for (const row of syntheticFraudRows({ rows: n, seed: 3 })) x.set(row.slice(0, F), F * i++);
    const explainer = explainerForOnnx(onnx, 'probability', [...FRAUD_FEATURES]);
    const p = await scoreMatrix(onnx, x, n, F);
    const session = await openRowExplainer(explainer.graph, [...FRAUD_FEATURES], F);
    try {
      const lines = await session.explain(x, n);
      let worst = 0;
      let moved = 0;
      lines.forEach((line, r) => {
        moved = Math.max(moved, Math.abs((p[r] as number) - explainer.baselineProbability));
        const cells = line.toString().slice(1).split(',');
        const effects = cells.filter((_, k) => k % 2 === 1).map(Number);
        expect(new Set(cells.filter((_, k) => k % 2 === 0)).size).toBe(F); // every feature once
        const sum = effects.reduce((s, e) => s + e, 0);
        worst = Math.max(worst, Math.abs(sum - ((p[r] as number) - explainer.baselineProbability)));
      });
      // Effects are printed to 4 significant digits: 30 of them sum within about 1e-4.
      expect(worst).toBeLessThan(5e-4);
      expect(moved).toBeGreaterThan(0.05); // rows far enough from the baseline for the check to bite
    } finally {
      await session.release();
    }
  });

  it('apply --explain adds the k largest reasons and effects, leaving the scored columns as plain apply writes them', async () => {
    const lines = [`id,${FRAUD_FEATURES.join(',')},Class`];
    let id = 0;
    for (const row of syntheticFraudRows({ rows: 500, seed: 5 })) lines.push(`r${id++},${row.join(',')}`);
    const input = join(dir, 'in.csv');
    await writeFile(input, `${lines.join('\n')}\n`);
    const common = { inputPath: input, onnx, features: [...FRAUD_FEATURES], target: 'Class', threshold: 0.5 };
    await scoreCsv({ ...common, outputPath: join(dir, 'plain.csv') });
    const graph = explainerForOnnx(onnx, 'probability', [...FRAUD_FEATURES]).graph;
    const result = await scoreCsv({
      ...common,
      outputPath: join(dir, 'explained.csv'),
      explain: { graph, k: 3 },
    });
    expect(result.columns.explanation).toEqual([
      'reason1(Class)',
      'effect1(Class)',
      'reason2(Class)',
      'effect2(Class)',
      'reason3(Class)',
      'effect3(Class)',
    ]);
    const plain = parse(await readFile(join(dir, 'plain.csv'))) as string[][];
    const explained = parse(await readFile(join(dir, 'explained.csv'))) as string[][];
    expect(explained).toHaveLength(501);
    explained.forEach((row, r) => {
      expect(row.slice(0, -6)).toEqual(plain[r]);
      if (r === 0) return;
      const reasons = [row.at(-6), row.at(-4), row.at(-2)];
      for (const reason of reasons) expect(FRAUD_FEATURES).toContain(reason);
      const effects = [row.at(-5), row.at(-3), row.at(-1)].map((e) => Math.abs(Number(e)));
      expect(effects[0]).toBeGreaterThanOrEqual(effects[1] as number);
      expect(effects[1]).toBeGreaterThanOrEqual(effects[2] as number);
    });
  });

  it('picks the k largest magnitudes in order', () => {
    const top = new Int32Array(3);
    topByMagnitude([0.1, -0.5, 0.3, 0, 0.5, -0.05], 0, 6, top);
    expect(Array.from(top)).toEqual([1, 4, 2]);
    topByMagnitude([9, 9, 1, -2, 3], 2, 3, top);
    expect(Array.from(top)).toEqual([2, 1, 0]);
  });
});
