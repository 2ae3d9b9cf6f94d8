import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatasetSummary } from '../../domain/data/summary';
import { summariseImportance } from '../../domain/explain/permutationImportance';
import { evaluateMetricGate, metricGateSettingsSchema } from '../../domain/gate/metricGate';
import { evaluateScores } from '../../domain/ml/metrics';
import { mulberry32 } from '../../domain/random';
import { renderModelCard } from '../../domain/registry/modelCard';
import { renderEvaluationReport } from '../../domain/report/evaluationReport';
import { columnProfile } from '../../domain/validation/profile';
import { makeDraft } from './registryFixtures';

/** Scores that separate the classes partly, so the curves have a shape. */
function scored(n: number, seed: number, skill: number) {
  const random = mulberry32(seed);
  const labels = new Uint8Array(n);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = random() < 0.05 ? 1 : 0;
    scores[i] = Math.min(1, random() * 0.7 + (labels[i] ? skill * 0.5 : 0));
  }
  return evaluateScores(labels, scores, 0.5);
}

const history = Array.from({ length: 5 }, (_, i) => ({
  epoch: i + 1,
  epochs: 5,
  loss: 0.5 / (i + 1),
  valLoss: 0.6 / (i + 1),
  valRecall: 0.6 + 0.05 * i,
  valFpr: 0.02 - 0.003 * i,
  seconds: 1,
  samplesPerSecond: 30_000,
}));

const base = {
  model: 'fraud-<script>alert(1)</script>',
  workflowId: 'run-1',
  createdAt: '2026-11-22T12:00:00.000Z',
  backend: 'wasm-blas',
  evaluation: scored(4000, 1, 0.6),
  history,
  balance: { trainRows: 12_000, trainPositives: 600, testRows: 4000, testPositives: 200 },
};

describe('evaluation report', () => {
  it('draws every chart, marks the threshold on PR and ROC, and needs nothing from the network', () => {
    const html = renderEvaluationReport(base);
    for (const chart of ['pr', 'roc', 'confusion', 'training', 'balance']) {
      expect(html.match(new RegExp(`<svg [^>]*data-chart="${chart}"`, 'g'))).toHaveLength(1);
    }
    expect(html.match(/data-marker="threshold"/g)).toHaveLength(2);
    expect(html).toContain('data-series="held-out recall"');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('escapes what it did not write itself', () => {
    const html = renderEvaluationReport(base);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('fraud-&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('overlays the champion only when there is one, and shows the gate verdict', async () => {
    expect(renderEvaluationReport(base)).not.toContain('champion v');
    const champion = { version: 3, evaluation: scored(4000, 1, 0.8) };
    const gate = evaluateMetricGate({
      settings: metricGateSettingsSchema.parse({}),
      candidate: base.evaluation,
      champion: { version: 3, metrics: champion.evaluation },
    });
    const html = renderEvaluationReport({ ...base, model: 'fraud-demo', champion, gate });
    expect(html.match(/data-series="champion v3"/g)).toHaveLength(2); // PR and ROC
    expect(html).toContain('Metric gate: <span class="no">blocked</span>');
    // For people: the rendered fixture, to open in a browser (test-output/ is not committed).
    await mkdir(join(__dirname, '..', '..', 'test-output'), { recursive: true });
    await writeFile(join(__dirname, '..', '..', 'test-output', 'report-fixture.html'), html);
  });
});

describe('training data section', () => {
  const sha = 'a'.repeat(64);
  const values = Float64Array.from({ length: 100 }, (_, i) => i);
  const summary: DatasetSummary = {
    formatVersion: 1,
    createdBy: 'slipway test',
    sourceUri: 'synthetic:fraud?rows=100&seed=1',
    sourceSha256: sha,
    sourceBytes: 1000,
    snapshotSha256: sha,
    snapshotFormat: 'arrow-ipc-file',
    rows: 100,
    target: 'Class',
    features: ['Amount', 'k<b>'],
    classCounts: { negative: 97, positive: 3 },
    positiveRate: 0.03,
    columns: [
      { name: 'Amount', min: 0, max: 99, mean: 49.5, std: 28.87, profile: columnProfile(values, 0, 99) },
      {
        name: 'k<b>',
        min: 3,
        max: 3,
        mean: 3,
        std: 0,
        profile: columnProfile(new Float64Array(100).fill(3), 3, 3),
      },
    ],
    constantFeatures: ['k<b>'],
    profileSampleRows: 100,
  };

  it('shows each feature with type, missing rate, quantiles and a histogram, and the label rate', () => {
    const html = renderEvaluationReport({ ...base, dataset: summary });
    expect(html).toContain('data-section="dataset"');
    expect(html).toContain('3 positive (3.000 %)');
    expect(html).toContain(
      '<td>Amount</td><td>float32</td><td>0.0 %</td><td>0</td><td>0.99</td><td>49.5</td>',
    );
    expect(html.match(/data-chart="hist-/g)).toHaveLength(2);
    expect(html).toContain('Constant: k&lt;b&gt;.');
    expect(html).not.toMatch(/NaN|<b>/);
  });

  it('is left out without a summary, and an old summary without profiles still renders', () => {
    expect(renderEvaluationReport(base)).not.toContain('data-section="dataset"');
    const old = { ...summary, columns: summary.columns.map(({ profile: _p, ...c }) => c) };
    const html = renderEvaluationReport({ ...base, dataset: old });
    expect(html).toContain('<td>Amount</td><td></td>');
    expect(html).not.toContain('data-chart="hist-');
  });
});

describe('feature importance in the report and the model card (issue 29)', () => {
  const importance = {
    method: 'permutation' as const,
    metric: 'prAuc' as const,
    baseline: 0.8,
    rowsUsed: 4000,
    rowsAvailable: 4000,
    sampling: 'every row',
    repeats: 5,
    seed: 29,
    confidence: 0.95 as const,
    features: ['V14', 'V4<b>', 'Time'].map((feature, i) => ({
      feature,
      mean: 0.2 / (i + 1),
      std: 0.01,
      low: 0.2 / (i + 1) - 0.02,
      high: 0.2 / (i + 1) + 0.02,
      drops: [0.2 / (i + 1)],
    })),
  };

  it('draws a bar per feature with its interval, and lists them in order', () => {
    const html = renderEvaluationReport({ ...base, importance });
    expect(html.match(/<svg [^>]*data-chart="importance"/g)).toHaveLength(1);
    expect(html.match(/<rect [^>]*data-feature=/g)).toHaveLength(3);
    expect(html).toContain('V4&lt;b&gt;');
    expect(html).not.toContain('V4<b>');
    expect(html.indexOf('>V14<')).toBeLessThan(html.indexOf('>Time<'));
    expect(renderEvaluationReport(base)).not.toContain('data-chart="importance"');
  });

  it('puts the ranking in the model card', () => {
    const draft = makeDraft({
      onnx: {
        uri: 'file:///m.onnx',
        sha256: 'a'.repeat(64),
        bytes: 1,
        mediaType: 'application/onnx',
        kind: 'onnx',
      },
    });
    const card = renderModelCard({
      name: 'fraud',
      version: 1,
      ...draft,
      importance: summariseImportance(importance),
    });
    expect(card).toContain('## Feature importance');
    expect(card).toContain('| 1 | `V14` | 0.2000 | 0.1800 to 0.2200 |');
    expect(renderModelCard({ name: 'fraud', version: 1, ...draft })).not.toContain('Feature importance');
  });
});
