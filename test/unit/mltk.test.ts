import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelSpecSchema } from '../../domain/ml/modelSpec';
import {
  DEFAULT_ALGO_NAME,
  type MltkPackageOptions,
  platformModelName,
  writeMltkPackage,
} from '../../domain/mltk/mltkPackage';
import { base64Length } from '../../domain/onnx/size';
import { rejectionOf } from '../support/rejection';
import { FRAUD_FEATURES, untrainedFraudOnnx } from '../support/scoringFixtures';

describe('writeMltkPackage (slipway export mltk)', () => {
  let root: string;
  let onnx: Uint8Array;
  const features = [...FRAUD_FEATURES];
  const options = (extra: Partial<MltkPackageOptions>): MltkPackageOptions => ({
    outDir: join(root, 'out'),
    modelName: 'card-fraud.v2',
    onnx,
    features,
    target: 'Class',
    ...extra,
  });
  /** Every entry under root, so a test can see that a refusal wrote nothing anywhere. */
  const tree = async () => (await readdir(root, { recursive: true })).sort();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-mltk-'));
    onnx = untrainedFraudOnnx(
      modelSpecSchema.parse({
        layers: [
          { type: 'dense', units: 32, activation: 'relu' },
          { type: 'dense', units: 1, activation: 'sigmoid' },
        ],
      }),
    );
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('writes the .onnx, the .mlmodel lookup and UPLOAD.txt, the lookup decoding to the same bytes', async () => {
    const outDir = join(root, 'nested', 'package');
    const pkg = await writeMltkPackage(options({ outDir }));
    expect(pkg.platformModelName).toBe('card_fraud_v2');
    // The namespace is the platform app it goes into, not part of the file names.
    expect(platformModelName('risk/card-fraud.v2')).toBe('card_fraud_v2');
    expect((await readdir(outDir)).sort()).toEqual([
      'UPLOAD.txt',
      '__mlspl_card_fraud_v2.onnx.mlmodel',
      'card_fraud_v2.onnx',
    ]);
    expect(Buffer.from(await readFile(pkg.files.onnx)).equals(Buffer.from(onnx))).toBe(true);

    const text = await readFile(pkg.files.mlmodel, 'utf8');
    expect(text.startsWith('algo,model,options\r\n')).toBe(true);
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(1);
    const [row] = records as [Record<string, string>];
    expect(Object.keys(row)).toEqual(['algo', 'model', 'options']);
    expect(row.algo).toBe(DEFAULT_ALGO_NAME);
    expect(row.model).toHaveLength(base64Length(onnx.length));
    expect(Buffer.from(row.model as string, 'base64').equals(Buffer.from(onnx))).toBe(true);
    const parsed = JSON.parse(row.options as string);
    expect(parsed).toEqual({
      feature_variables: features,
      target_variable: ['Class'],
      model_name: 'card_fraud_v2',
      algo_name: 'onnx',
      mlspl_limits: { max_model_size_mb: 15 },
      is_onnx: true,
    });
    expect(parsed).toEqual(pkg.options);

    // The decoded model is a working one, with the declared input width.
    const session = await ort.InferenceSession.create(Buffer.from(row.model as string, 'base64'));
    expect(session.inputMetadata[0]).toMatchObject({ shape: ['N', features.length] });
    await session.release();

    const notes = await readFile(pkg.files.uploadNotes, 'utf8');
    expect(notes).toContain('Model name:        card_fraud_v2');
    expect(notes).toContain(`Feature variables: ${features.join(',')}`);
    expect(notes).toContain('Target variable:   Class');
    expect(notes).toContain('apply card_fraud_v2');
    // No scratch folder is left beside the package.
    expect(await readdir(join(root, 'nested'))).toEqual(['package']);
  });

  it('quotes option JSON that holds commas and quotes so the CSV reads back exactly', async () => {
    const odd = ['amount "net"', 'a;b', 'V1'];
    const pkg = await writeMltkPackage(
      options({ outDir: join(root, 'odd'), features: odd, algoName: 'MyOnnx', platformModelName: 'Fraud_2' }),
    );
    const [row] = parse(await readFile(pkg.files.mlmodel, 'utf8'), { columns: true }) as [
      Record<string, string>,
    ];
    expect(row.algo).toBe('MyOnnx');
    expect(JSON.parse(row.options as string)).toMatchObject({
      feature_variables: odd,
      model_name: 'Fraud_2',
      algo_name: 'MyOnnx',
    });
    expect(pkg.files.mlmodel.endsWith('__mlspl_Fraud_2.onnx.mlmodel')).toBe(true);
  });

  it('checks the size limit after base64, before writing anything', async () => {
    const encoded = base64Length(onnx.length);
    const outDir = join(root, 'limit');
    const before = await tree();
    const error = await rejectionOf(writeMltkPackage(options({ outDir, sizeLimitBytes: encoded - 1 })));
    expect(error.type).toBe('ModelTooLarge');
    expect(error.message).toMatch(new RegExp(`${onnx.length} bytes, ${encoded} after base64`));
    expect(await tree()).toEqual(before);

    // Exactly at the limit is within it, and the limit is recorded in MiB.
    const pkg = await writeMltkPackage(options({ outDir, sizeLimitBytes: encoded }));
    expect(pkg.options.mlspl_limits.max_model_size_mb).toBe(encoded / 2 ** 20);
    expect(pkg.size).toMatchObject({ bytes: onnx.length, base64Bytes: encoded, withinLimit: true });
  });

  it('refuses unsafe names and fields the upload form cannot take, writing nothing', async () => {
    const before = await tree();
    const cases: Array<[Partial<MltkPackageOptions>, string, RegExp]> = [
      [{ modelName: '../escape' }, 'InvalidModelName', /must start with a lowercase letter or a digit/],
      [{ modelName: 'Fraud' }, 'InvalidModelName', /uppercase/],
      [{ platformModelName: 'bad name' }, 'InvalidExportInput', /letters, digits and "_"/],
      [{ features: ['V1', 'a,b'] }, 'InvalidExportInput', /"a,b" is empty or contains a comma/],
      [{ features: ['V1', 'V1'] }, 'InvalidExportInput', /"V1" is listed twice/],
      [{ features: [] }, 'InvalidExportInput', /feature list is empty/],
      [{ target: ' ' }, 'InvalidExportInput', /" " is empty/],
      [{ onnx: new Uint8Array() }, 'InvalidExportInput', /ONNX file is empty/],
    ];
    for (const [extra, type, message] of cases) {
      const error = await rejectionOf(writeMltkPackage(options({ outDir: join(root, 'refused'), ...extra })));
      expect(error.type).toBe(type);
      expect(error.message).toMatch(message);
      expect(error.retryable).toBe(false);
    }
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    expect(await rejectionOf(writeMltkPackage(options({ outDir: file })))).toMatchObject({
      type: 'InvalidExportInput',
      message: expect.stringMatching(/is a file/),
    });
    expect(await tree()).toEqual([...before, 'a-file'].sort());
  });

  it('adds to an existing folder, keeping other files and replacing an earlier package', async () => {
    const outDir = join(root, 'existing');
    await mkdir(outDir);
    await writeFile(join(outDir, 'README.md'), 'mine');
    await writeFile(join(outDir, 'card_fraud_v2.onnx'), 'an older model');
    const pkg = await writeMltkPackage(options({ outDir }));
    expect((await readdir(outDir)).sort()).toEqual([
      'README.md',
      'UPLOAD.txt',
      '__mlspl_card_fraud_v2.onnx.mlmodel',
      'card_fraud_v2.onnx',
    ]);
    expect(await readFile(join(outDir, 'README.md'), 'utf8')).toBe('mine');
    expect(Buffer.from(await readFile(pkg.files.onnx)).equals(Buffer.from(onnx))).toBe(true);
    expect((await readdir(root)).filter((f) => f.includes('.mltk-'))).toEqual([]);
    expect(existsSync(pkg.files.mlmodel)).toBe(true);
  });
});
