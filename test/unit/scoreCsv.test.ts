import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMltkPackage } from '../../domain/export/mltkPackage';
import { modelSpecSchema } from '../../domain/ml/modelSpec';
import { exportToOnnx } from '../../domain/onnx/exporter';
import { scoreWithOnnx } from '../../domain/onnx/parity';
import { scoreCsv } from '../../domain/scoring/scoreCsv';
import { testMetadata, trainedModel, wildData } from '../support/onnxFixtures';

const spec = modelSpecSchema.parse({
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
});

describe('scoreCsv (slipway apply) and the operations-platform package', () => {
  let dir: string;
  let onnx: Uint8Array;
  const data = wildData(300);
  const { features } = data;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-apply-'));
    const { model, scaler } = await trainedModel(spec, data);
    onnx = exportToOnnx({ model, spec, scaler, threshold: 0.5, opset: 13, metadata: testMetadata(features) });
    model.dispose();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The fixture rows as CSV, columns in `order`, with an id column and a quoted text column. */
  async function writeInput(name: string, order: string[], rows = data.nRows): Promise<string> {
    const lines = [['id', ...order, 'note'].join(',')];
    for (let i = 0; i < rows; i++) {
      const cells = order.map((f) => String(data.x[i * data.nFeatures + features.indexOf(f)]));
      lines.push([`row-${i}`, ...cells, `"a, quoted ""note"" ${i}"`].join(','));
    }
    const file = join(dir, name);
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }

  it('matches columns by name, keeps every column, and scores like the ONNX file does', async () => {
    const shuffled = ['unit', 'hundreds', 'tiny', 'constant', 'huge'];
    const input = await writeInput('shuffled.csv', shuffled);
    const output = join(dir, 'scored.csv');
    const result = await scoreCsv({
      inputPath: input,
      outputPath: output,
      onnx,
      features,
      target: 'Class',
      threshold: 0.5,
      batchRows: 64,
    });
    expect(result.rowsScored).toBe(data.nRows);

    const rows = parse(await readFile(output, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0] as object)).toEqual([
      'id',
      ...shuffled,
      'note',
      'predicted(Class)',
      'probability(Class)',
    ]);
    expect(rows[7]?.note).toBe('a, quoted "note" 7');
    const expected = await scoreWithOnnx(onnx, data.x, data.nRows, data.nFeatures);
    rows.forEach((row, i) => {
      expect(Number(row['probability(Class)'])).toBe(expected[i]);
      expect(row['predicted(Class)']).toBe((expected[i] as number) >= 0.5 ? '1' : '0');
    });
    expect(result.positives).toBe(rows.filter((r) => r['predicted(Class)'] === '1').length);
  });

  it('names every missing feature and the header, and writes nothing', async () => {
    const input = await writeInput('missing.csv', ['unit', 'tiny', 'constant']);
    const output = join(dir, 'never.csv');
    await expect(
      scoreCsv({ inputPath: input, outputPath: output, onnx, features, target: 'Class', threshold: 0.5 }),
    ).rejects.toThrow(
      /lacks the model's features huge, hundreds\. .*the file has id, unit, tiny, constant, note/,
    );
    expect(existsSync(output)).toBe(false);
  });

  it('stops at a bad cell with its row and column, leaving no partial output', async () => {
    const input = await writeInput('bad.csv', features, 200);
    const text = (await readFile(input, 'utf8')).split('\n');
    text[150] = text[150]?.replace(/^row-149,[^,]+/, 'row-149,oops') ?? '';
    await writeFile(input, text.join('\n'));
    const output = join(dir, 'bad-out.csv');
    await expect(
      scoreCsv({
        inputPath: input,
        outputPath: output,
        onnx,
        features,
        target: 'Class',
        threshold: 0.5,
        batchRows: 32,
      }),
    ).rejects.toThrow(/row 151, column "tiny": "oops" is not a number/);
    expect(existsSync(output)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('packages the model for the platform, and refuses one over the size limit without writing', async () => {
    const out = join(dir, 'mltk');
    const pkg = await writeMltkPackage({
      outDir: out,
      modelName: 'fraud-test',
      onnx,
      features,
      target: 'Class',
    });
    const [row] = parse(await readFile(pkg.files.mlmodel, 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(row?.algo).toBe('ONNXModel');
    expect(Buffer.from(row?.model ?? '', 'base64').equals(Buffer.from(onnx))).toBe(true);
    expect(JSON.parse(row?.options ?? '{}')).toMatchObject({
      feature_variables: features,
      target_variable: ['Class'],
      model_name: 'fraud-test',
      algo_name: 'ONNXModel',
      mlspl_limits: expect.any(Object),
    });
    expect(Buffer.from(await readFile(pkg.files.onnx)).equals(Buffer.from(onnx))).toBe(true);
    expect(await readFile(pkg.files.uploadNotes, 'utf8')).toContain(
      `Feature fields:   ${features.join(', ')}`,
    );

    const tooSmall = join(dir, 'too-small');
    await expect(
      writeMltkPackage({
        outDir: tooSmall,
        modelName: 'fraud-test',
        onnx,
        features,
        target: 'Class',
        sizeLimitBytes: 1000,
      }),
    ).rejects.toThrow(/base64/);
    expect(existsSync(tooSmall)).toBe(false);
    await expect(
      writeMltkPackage({ outDir: tooSmall, modelName: '../escape', onnx, features, target: 'Class' }),
    ).rejects.toThrow(/Invalid model name/);
  });
});
