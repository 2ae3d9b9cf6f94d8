import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImportedOnnx } from '../../domain/import/checkImportedOnnx';
import { decodeModel } from '../../domain/onnx/onnxProto';
import { scoreAnomalyCsv } from '../../domain/scoring/anomalyCsv';
import { scoreAnomalyMatrix } from '../../domain/scoring/anomalyScorer';
import { scoreMatrix } from '../../domain/scoring/binaryScorer';
import { scoreCsv } from '../../domain/scoring/scoreCsv';

// Built by test/fixtures/sklearn/make_fixtures.py with real scikit-learn and skl2onnx.
const FIXTURES = resolve(__dirname, '../fixtures/sklearn');
const FEATURES = ['f1', 'f2', 'f3', 'f4'];
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

function rows() {
  const [header, ...lines] = readFileSync(join(FIXTURES, 'rows.csv'), 'utf8').trim().split('\n');
  const names = (header as string).split(',');
  const col = (name: string) => names.indexOf(name);
  const cells = lines.map((l) => l.split(',').map(Number));
  const x = new Float32Array(cells.length * FEATURES.length);
  cells.forEach((c, r) => {
    FEATURES.forEach((f, j) => {
      x[r * FEATURES.length + j] = c[col(f)] as number;
    });
  });
  const column = (name: string) => cells.map((c) => c[col(name)] as number);
  return { x, n: cells.length, column };
}

const maxAbsDiff = (a: ArrayLike<number>, b: number[]) =>
  b.reduce((m, v, i) => Math.max(m, Math.abs((a[i] as number) - v)), 0);

const options = { features: FEATURES, sizeLimitBytes: 15 * 1024 * 1024 };

describe('scikit-learn imports', () => {
  // Built by test/fixtures/sklearn/make_categorical_fixture.py: a ColumnTransformer pipeline
  // converted from a DataFrame, so one input per column (strings for protocol and service).
  const CATEGORICAL = ['protocol', 'bytes', 'service', 'duration'];

  it('imports a classifier taking categorical features as text (one input per column, ZipMap) and apply matches predict_proba, unseen categories included', async () => {
    const facts = await checkImportedOnnx(fixture('classifier_categorical.onnx'), {
      features: CATEGORICAL,
      sizeLimitBytes: 15 * 1024 * 1024,
    });
    expect(facts.categorical).toEqual(['protocol', 'service']);
    expect(facts.inputName).toBe('bytes, duration');
    expect(facts.outputName).toBe('probabilities');
    expect(facts.referenceCheck).toMatchObject({ checked: false });
    const dir = await mkdtemp(join(tmpdir(), 'slipway-categorical-import-'));
    const out = join(dir, 'scored.csv');
    const result = await scoreCsv({
      input: join(FIXTURES, 'rows_categorical.csv'),
      output: out,
      onnx: facts.bytes,
      features: CATEGORICAL,
      target: 'label',
      threshold: 0.5,
      outputName: facts.outputName,
    });
    const [header, ...lines] = (await readFile(out, 'utf8')).trim().split('\n');
    const names = (header as string).split(',');
    const expected = lines.map((l) => Number(l.split(',')[names.indexOf('predict_proba')]));
    const got = lines.map((l) => Number(l.split(',')[names.indexOf('probability(label)')]));
    expect(result.rowsScored).toBe(60);
    expect(lines.some((l) => l.startsWith('gopher,') || l.includes(',finger,'))).toBe(true);
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
  });

  it('refuses a categorical classifier whose numeric features are listed out of the input order, or whose text input is not a feature', async () => {
    const file = fixture('classifier_categorical.onnx');
    const settings = { sizeLimitBytes: 15 * 1024 * 1024 };
    await expect(
      checkImportedOnnx(file, { ...settings, features: ['protocol', 'duration', 'service', 'bytes'] }),
    ).rejects.toMatchObject({
      type: 'FeatureOrderMismatch',
      message: expect.stringContaining(
        'in the order bytes, duration, but --features lists the numeric features as duration, bytes',
      ),
    });
    await expect(
      checkImportedOnnx(file, { ...settings, features: ['proto', 'bytes', 'service', 'duration'] }),
    ).rejects.toMatchObject({
      type: 'ModelInputMismatch',
      message: expect.stringContaining('takes text in protocol (string [, 1])'),
    });
  });

  it('reads a default (ZipMap) classifier export through the tensor that feeds the ZipMap, matching predict_proba', async () => {
    const facts = await checkImportedOnnx(fixture('classifier_zipmap.onnx'), options);
    expect(facts.outputName).toBe('probabilities');
    expect(facts.adaptation?.addedOutputs).toEqual(['probabilities']);
    // Nothing of the file is lost: every original node and output is still there.
    const before = decodeModel(fixture('classifier_zipmap.onnx')).graph;
    const after = decodeModel(facts.bytes).graph;
    expect(after.node.map((n) => n.opType)).toEqual(before.node.map((n) => n.opType));
    expect(after.output.map((o) => o.name)).toEqual([...before.output.map((o) => o.name), 'probabilities']);
    const { x, n, column } = rows();
    const p = await scoreMatrix(facts.bytes, x, n, FEATURES.length, { outputName: facts.outputName });
    expect(maxAbsDiff(p, column('predict_proba'))).toBeLessThan(1e-5);
  });

  it('names the ZipMap output and still reads the probabilities', async () => {
    const facts = await checkImportedOnnx(fixture('classifier_zipmap.onnx'), {
      ...options,
      outputName: 'output_probability',
    });
    expect(facts.outputName).toBe('probabilities');
  });

  it('reads a zipmap=False export ([N, 2] probabilities) unchanged, skipping the int64 label', async () => {
    const file = fixture('classifier_tensor.onnx');
    const facts = await checkImportedOnnx(file, options);
    expect(facts.outputName).toBe('probabilities');
    expect(facts.adaptation).toBeUndefined();
    expect(Buffer.from(facts.bytes).equals(Buffer.from(file))).toBe(true);
    const { x, n, column } = rows();
    const p = await scoreMatrix(facts.bytes, x, n, FEATURES.length, { outputName: facts.outputName });
    expect(maxAbsDiff(p, column('predict_proba'))).toBeLessThan(1e-5);
  });

  it('imports an IsolationForest as an anomaly model: anomaly_score = -decision_function, predicted_outlier = decision_function', async () => {
    const facts = await checkImportedOnnx(fixture('iforest.onnx'), { ...options, kind: 'anomaly' });
    expect(facts.adaptation?.addedOutputs).toEqual(['anomaly_score', 'predicted_outlier']);
    expect(facts.referenceCheck.checked).toBe(false);
    const { x, n, column } = rows();
    const { score, outlier } = await scoreAnomalyMatrix(facts.bytes, x, n, FEATURES.length);
    const decision = column('decision_function');
    expect(maxAbsDiff(outlier, decision)).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(
        score,
        decision.map((d) => -d),
      ),
    ).toBeLessThan(1e-5);
    // The sign convention is scikit-learn's predict: -1 (outlier) exactly where predicted_outlier < 0.
    const predict = column('predict');
    expect(predict.every((p, i) => (p === -1) === (outlier[i] as number) < 0)).toBe(true);
    expect(predict.filter((p) => p === -1).length).toBeGreaterThan(0);
    // A Slipway anomaly file imported again is kept as it is.
    const again = await checkImportedOnnx(facts.bytes, { ...options, kind: 'anomaly' });
    expect(again.adaptation).toBeUndefined();
  });

  it('apply on an anomaly model appends anomaly_score and predicted_outlier to every row', async () => {
    const facts = await checkImportedOnnx(fixture('iforest.onnx'), { ...options, kind: 'anomaly' });
    const dir = await mkdtemp(join(tmpdir(), 'slipway-anomaly-'));
    const out = join(dir, 'scored.csv');
    const result = await scoreAnomalyCsv({
      inputPath: join(FIXTURES, 'rows.csv'),
      outputPath: out,
      onnx: facts.bytes,
      features: FEATURES,
      batchRows: 64,
    });
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    const header = (lines[0] as string).split(',');
    expect(header.slice(-2)).toEqual(['anomaly_score', 'predicted_outlier']);
    const decision = rows().column('decision_function');
    expect(result.rowsScored).toBe(decision.length);
    const written = lines.slice(1).map((l) => Number(l.split(',').at(-1)));
    expect(maxAbsDiff(written, decision)).toBeLessThan(1e-5);
    expect(result.outliers).toBe(decision.filter((d) => d < 0).length);
  });

  it('apply on an anomaly model reads through the shared CSV reader: lines kept byte for byte, errors named, nothing left', async () => {
    const facts = await checkImportedOnnx(fixture('iforest.onnx'), { ...options, kind: 'anomaly' });
    const dir = await mkdtemp(join(tmpdir(), 'slipway-anomaly-'));
    const [header, ...lines] = readFileSync(join(FIXTURES, 'rows.csv'), 'utf8').trim().split('\n');
    // A blank line and a quoted record mid-file: row numbers count the blank line, and the
    // quoted record is read by csv-parse and written back as csv-stringify writes it.
    const body = [
      header,
      lines[0],
      '',
      `"${(lines[1] as string).replace(/,/g, '","')}"`,
      ...lines.slice(2, 6),
    ];
    const input = join(dir, 'in.csv');
    await writeFile(input, `${body.join('\n')}\n`);
    const out = join(dir, 'out.csv');
    const result = await scoreAnomalyCsv({
      inputPath: input,
      outputPath: out,
      onnx: facts.bytes,
      features: FEATURES,
    });
    expect(result.rowsScored).toBe(6);
    const written = (await readFile(out, 'utf8')).trim().split('\n');
    expect(written[1]?.startsWith(`${lines[0]},`)).toBe(true);
    expect(written[2]?.startsWith(`${lines[1]},`)).toBe(true);

    // A text cell in a feature column: the classifier path's message, naming file, row and column.
    const bad = [...body];
    const cells = (bad[5] as string).split(',');
    const column = (header as string).split(',').indexOf('f2');
    cells[column] = 'abc';
    bad[5] = cells.join(',');
    await writeFile(input, `${bad.join('\n')}\n`);
    const failed = join(dir, 'failed.csv');
    await expect(
      scoreAnomalyCsv({
        inputPath: input,
        outputPath: failed,
        onnx: facts.bytes,
        features: FEATURES,
        batchRows: 2,
      }),
    ).rejects.toThrow(`${input}, row 6, column "f2": "abc" is not a number`);
    expect(existsSync(failed)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses an anomaly import without a decision-function output, naming the outputs it has', async () => {
    await expect(
      checkImportedOnnx(fixture('classifier_tensor.onnx'), { ...options, kind: 'anomaly' }),
    ).rejects.toThrow(/decision-function output.*"label", "probabilities"/);
  });
});
