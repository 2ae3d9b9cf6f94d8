import { copyFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../../domain/registry/registry';
import { openArtifactStore } from '../../domain/storage/openStore';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';

// Built with real scikit-learn and skl2onnx by test/fixtures/sklearn/make_fixtures.py; rows.csv
// carries scikit-learn's own predict_proba and decision_function for each row.
const FIXTURES = resolve(__dirname, '../fixtures/sklearn');
const FEATURES = 'f1,f2,f3,f4';

describe('slipway import onnx: scikit-learn exports (skl2onnx defaults)', () => {
  let world: PipelineWorld;
  let registry: ModelRegistry;
  const file = (name: string) => join(world.dir, name);
  const slipway = (user: string, ...args: string[]) => slipwayAs(user, world.env, args);
  let expected: Record<string, string>[];

  beforeAll(async () => {
    world = await startPipelineWorld('sklearn-import-it');
    registry = new ModelRegistry(openArtifactStore(world.config));
    for (const name of [
      'classifier_zipmap.onnx',
      'iforest.onnx',
      'rows.csv',
      'classifier_categorical.onnx',
      'rows_categorical.csv',
    ]) {
      await copyFile(join(FIXTURES, name), file(name));
    }
    expected = parse(await readFile(file('rows.csv')), { columns: true });
  });
  afterAll(() => world?.close());

  async function applied(model: string, out: string): Promise<Record<string, string>[]> {
    const result = await slipway('dave', 'apply', model, '--input', file('rows.csv'), '--output', file(out));
    expect(result.code, result.stderr).toBe(0);
    return parse(await readFile(file(out)), { columns: true });
  }

  it('imports a default ZipMap classifier and apply matches predict_proba within 1e-5', async () => {
    const run = await slipway(
      'carol',
      'import',
      'onnx',
      file('classifier_zipmap.onnx'),
      '--model',
      'netops/lr',
      '--features',
      FEATURES,
      '--target',
      'label',
      '--no-promote',
    );
    expect(run.code, run.stderr).toBe(0);
    const v1 = await registry.getVersion('netops/lr', 1);
    expect(v1.imported).toMatchObject({
      outputName: 'probabilities',
      outputs: ['output_label', 'output_probability', 'probabilities'],
      adaptation: { addedOutputs: ['probabilities'] },
    });
    // Lineage keeps the handed-over file's sha256; the stored file is the adapted one.
    expect(v1.imported?.adaptation?.storedSha256).toBe(v1.artifacts.onnx.sha256);
    expect(v1.imported?.sha256).not.toBe(v1.artifacts.onnx.sha256);

    const rows = await applied('netops/lr@1', 'lr.csv');
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, i) => {
      const p = Number(expected[i]?.predict_proba);
      expect(Math.abs(Number(row['probability(label)']) - p)).toBeLessThan(1e-5);
      expect(row['predicted(label)']).toBe(p >= 0.5 ? '1' : '0');
    });
  });

  it('imports an IsolationForest with --kind anomaly; apply gives -decision_function and decision_function within 1e-5', async () => {
    const run = await slipway(
      'carol',
      'import',
      'onnx',
      file('iforest.onnx'),
      '--kind',
      'anomaly',
      '--model',
      'netops/iforest',
      '--features',
      FEATURES,
      '--no-promote',
    );
    expect(run.code, run.stderr).toBe(0);
    const v1 = await registry.getVersion('netops/iforest', 1);
    expect(v1).toMatchObject({
      kind: 'anomaly',
      target: 'predicted_outlier',
      threshold: 0,
      anomaly: { scoreOutput: 'anomaly_score', outlierOutput: 'predicted_outlier', thresholdFrom: 'graph' },
    });

    const rows = await applied('netops/iforest@1', 'iforest.csv');
    expect(rows).toHaveLength(expected.length);
    let outliers = 0;
    rows.forEach((row, i) => {
      const decision = Number(expected[i]?.decision_function);
      expect(Math.abs(Number(row.predicted_outlier) - decision)).toBeLessThan(1e-5);
      expect(Math.abs(Number(row.anomaly_score) + decision)).toBeLessThan(1e-5);
      // scikit-learn's predict is -1 exactly where predicted_outlier is negative.
      expect(Number(row.predicted_outlier) < 0).toBe(expected[i]?.predict === '-1');
      if (expected[i]?.predict === '-1') outliers++;
    });
    expect(outliers).toBeGreaterThan(0);

    const pkg = await slipway('dave', 'export', 'mltk', 'netops/iforest@1', '--out', file('mltk'));
    expect(pkg.code, pkg.stderr).toBe(0);

    // --eval with the 0/1 column that marks anomalies: judged by anomaly_score at the graph's
    // threshold (0), so the rows it calls positive are exactly those scikit-learn's predict flags.
    const evaluated = await slipway(
      'carol',
      'import',
      'onnx',
      file('iforest.onnx'),
      '--kind',
      'anomaly',
      '--model',
      'netops/iforest-eval',
      '--features',
      FEATURES,
      '--eval',
      file('rows.csv'),
      '--eval-label',
      'label',
      '--no-promote',
      '--json',
    );
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const metrics = JSON.parse(evaluated.stdout).metrics;
    expect(metrics.tp + metrics.fp).toBe(outliers);
    expect(metrics.tp + metrics.fn).toBe(expected.filter((r) => r.label === '1').length);
    expect(metrics.rocAuc).toBeGreaterThan(0);
    const v = await registry.getVersion('netops/iforest-eval', 1);
    expect(v).toMatchObject({ kind: 'anomaly', target: 'predicted_outlier', threshold: 0 });
    expect(v.metrics?.rocAuc).toBe(metrics.rocAuc);
    expect(v.importance?.ranking).toHaveLength(4);
  });

  it('refuses a classifier import without --target before starting anything', async () => {
    const run = await slipway(
      'carol',
      'import',
      'onnx',
      file('classifier_zipmap.onnx'),
      '--model',
      'netops/none',
      '--features',
      FEATURES,
      '--no-promote',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--target is required/);
  });

  it('imports a classifier taking categorical features as text (skl2onnx, one input per column) and applies raw rows with unseen categories', async () => {
    const run = await slipway(
      'carol',
      'import',
      'onnx',
      file('classifier_categorical.onnx'),
      '--model',
      'netops/sessions',
      '--features',
      'protocol,bytes,service,duration',
      '--target',
      'label',
      '--no-promote',
    );
    expect(run.code, run.stderr).toBe(0);
    const v1 = await registry.getVersion('netops/sessions', 1);
    expect(v1.imported).toMatchObject({
      inputName: 'bytes, duration',
      categorical: ['protocol', 'service'],
      outputName: 'probabilities',
    });
    expect(await registry.getModelCard('netops/sessions', 1)).toContain(
      'from 4 features it returns the probability',
    );
    expect(await registry.getModelCard('netops/sessions', 1)).toContain(
      'It takes `protocol`, `service` as text',
    );
    expect(v1.imported?.referenceCheck).toMatchObject({ checked: false });
    const result = await slipway(
      'dave',
      'apply',
      'netops/sessions@1',
      '--input',
      file('rows_categorical.csv'),
      '--output',
      file('sessions.csv'),
    );
    expect(result.code, result.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(await readFile(file('sessions.csv')), { columns: true });
    expect(rows).toHaveLength(60);
    expect(rows.some((r) => r.protocol === 'gopher' || r.service === 'finger')).toBe(true);
    for (const row of rows) {
      const p = Number(row.predict_proba);
      expect(Math.abs(Number(row['probability(label)']) - p)).toBeLessThan(1e-5);
      expect(row['predicted(label)']).toBe(p >= 0.5 ? '1' : '0');
    }
  });
});
