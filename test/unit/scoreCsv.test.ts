import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type * as tf from '@tensorflow/tfjs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../domain/data/errors';
import { modelSpecSchema } from '../../domain/ml/modelSpec';
import { applyStandardScaler } from '../../domain/ml/scaler';
import type { StandardScalerParams } from '../../domain/ml/scalerTypes';
import { predictProbabilities } from '../../domain/ml/train';
import { exportToOnnx } from '../../domain/onnx/exporter';
import { AttributeType, DataType, decodeModel, encodeModel } from '../../domain/onnx/onnxProto';
import { runOnnx } from '../../domain/onnx/parity';
import { ScoringError } from '../../domain/scoring/errors';
import { type ScoreCsvOptions, scoreCsv } from '../../domain/scoring/scoreCsv';
import { testMetadata, trainedModel, wildData } from '../support/onnxFixtures';
import { rejectionOf } from '../support/rejection';
import {
  countingSink,
  FRAUD_FEATURES,
  syntheticFraudCsv,
  untrainedFraudOnnx,
} from '../support/scoringFixtures';

const spec = modelSpecSchema.parse({
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 1, activation: 'sigmoid' },
  ],
});

const significantDigits = (text: string) =>
  text.replace(/e.*$/, '').replace(/\D/g, '').replace(/^0+/, '').length;

describe('scoreCsv (slipway apply)', () => {
  let dir: string;
  let onnx: Uint8Array;
  let model: tf.LayersModel;
  let scaler: StandardScalerParams;
  const data = wildData(300);
  const { features } = data;
  const base = (extra: Partial<ScoreCsvOptions>): ScoreCsvOptions => ({
    onnx,
    features,
    target: 'Class',
    threshold: 0.5,
    ...extra,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-apply-'));
    ({ model, scaler } = await trainedModel(spec, data));
    onnx = exportToOnnx({ model, spec, scaler, threshold: 0.5, opset: 13, metadata: testMetadata(features) });
  });
  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  /** The fixture rows as CSV text, columns in `order`, between an id column and a quoted note. */
  function csvText(order: string[], rows = data.nRows): string {
    const lines = [['id', ...order, 'note'].join(',')];
    for (let i = 0; i < rows; i++) {
      const cells = order.map((f) => String(data.x[i * data.nFeatures + features.indexOf(f)]));
      lines.push([`row-${i}`, ...cells, `"a, quoted ""note"" ${i}"`].join(','));
    }
    return `${lines.join('\n')}\n`;
  }
  async function writeInput(name: string, order: string[], rows = data.nRows): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, csvText(order, rows));
    return file;
  }
  const readRows = async (file: string) =>
    parse(await readFile(file, 'utf8'), { columns: true }) as Record<string, string>[];
  const leftovers = async () => (await readdir(dir)).filter((f) => f.endsWith('.tmp'));
  /** Scores with an abort once 20 rows are done: it must stop with AbortError, leaving no output and no temp file. */
  async function expectAbortLeavesNothing(options: Partial<ScoreCsvOptions> & { output: string }) {
    const controller = new AbortController();
    const error = await rejectionOf(
      scoreCsv(
        base({
          ...options,
          signal: controller.signal,
          onProgress: (rows) => rows >= 20 && controller.abort(),
        }),
      ),
    );
    expect(error.name).toBe('AbortError');
    expect(existsSync(options.output)).toBe(false);
    expect(await leftovers()).toEqual([]);
  }

  it('scores raw values with the scaler folded into the graph, like scoreWithOnnx and the tfjs model', async () => {
    const output = join(dir, 'ordered-out.csv');
    const result = await scoreCsv(
      base({ input: await writeInput('ordered.csv', features), output, batchRows: 64 }),
    );
    expect(result).toMatchObject({ rowsScored: data.nRows, outputName: 'probability' });
    expect(result.durationMs).toBeGreaterThan(0);
    const rows = await readRows(output);
    const reference = await runOnnx(onnx, data.x, data.nRows, data.nFeatures);
    // The tfjs model sees the rows scaled in JS: the file must do that scaling itself.
    const tfjs = await predictProbabilities(
      model,
      applyStandardScaler(scaler, data.x, data.nFeatures),
      data.nRows,
      data.nFeatures,
    );
    rows.forEach((row, i) => {
      const p = Number(row['probability(Class)']);
      expect(Math.fround(p)).toBe(reference.probability[i]);
      expect(Math.abs(p - (tfjs[i] as number))).toBeLessThan(1e-5);
      // predicted follows the same rule as the label the graph computes.
      expect(row['predicted(Class)']).toBe(String(reference.label[i]));
    });
    expect(result.positives).toBe(rows.filter((r) => r['predicted(Class)'] === '1').length);
    expect(result.positives).toBeGreaterThan(0);
    expect(result.positives).toBeLessThan(data.nRows);
  });

  it('matches columns by name, keeps every column unchanged, and gives the same scores in any order', async () => {
    const ordered = join(dir, 'a-out.csv');
    const shuffled = join(dir, 'b-out.csv');
    const order = ['unit', 'hundreds', 'tiny', 'constant', 'huge'];
    await scoreCsv(base({ input: await writeInput('a.csv', features), output: ordered, batchRows: 50 }));
    await scoreCsv(base({ input: await writeInput('b.csv', order), output: shuffled, batchRows: 7 }));
    const a = await readRows(ordered);
    const b = await readRows(shuffled);
    expect(Object.keys(b[0] as object)).toEqual([
      'id',
      ...order,
      'note',
      'predicted(Class)',
      'probability(Class)',
    ]);
    expect(b.map((r) => r['probability(Class)'])).toEqual(a.map((r) => r['probability(Class)']));
    expect(b.map((r) => r['predicted(Class)'])).toEqual(a.map((r) => r['predicted(Class)']));
    // Input cells are carried through as text, untouched: quoted commas and quotes survive.
    const input = parse(csvText(order), { columns: true }) as Record<string, string>[];
    b.forEach((row, i) => {
      for (const [column, value] of Object.entries(input[i] as object)) expect(row[column]).toBe(value);
    });
    expect(b[7]?.note).toBe('a, quoted "note" 7');
  });

  it('reads from a stream split anywhere and writes to a stream, with a custom probability column', async () => {
    const text = csvText(features, 40);
    const chunks = text.match(/[\s\S]{1,7}/g) as string[]; // splits quoted fields and line ends
    const written: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        written.push(chunk);
        done();
      },
    });
    const result = await scoreCsv(
      base({
        input: Readable.from(chunks),
        output: sink,
        probabilityColumn: 'probability(Class=1)',
        batchRows: 16,
      }),
    );
    expect(result.rowsScored).toBe(40);
    expect(sink.writableFinished).toBe(true);
    const rows = parse(Buffer.concat(written).toString('utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(rows).toHaveLength(40);
    const reference = await runOnnx(onnx, data.x.slice(0, 40 * data.nFeatures), 40, data.nFeatures);
    expect(rows.map((r) => Math.fround(Number(r['probability(Class=1)'])))).toEqual(
      Array.from(reference.probability),
    );
    expect(
      // At most nine significant digits, not the 17 of the float32 value's double expansion.
      rows.every((r) => significantDigits(r['probability(Class=1)'] as string) <= 9),
    ).toBe(true);
  });

  it('names every missing feature and the header, and writes nothing', async () => {
    const input = await writeInput('missing.csv', ['unit', 'tiny', 'constant']);
    const output = join(dir, 'never.csv');
    const error = await rejectionOf(scoreCsv(base({ input, output })));
    expect(error).toBeInstanceOf(ScoringError);
    expect(error.type).toBe('MissingFeatureColumn');
    expect(error.details).toEqual({
      missing: ['huge', 'hundreds'],
      header: ['id', 'unit', 'tiny', 'constant', 'note'],
    });
    expect(error.message).toMatch(
      /lacks the model's features huge, hundreds\. .*the file has id, unit, tiny, constant, note/,
    );
    expect(existsSync(output)).toBe(false);
  });

  it('stops at a bad or empty cell with its editor row and column, leaving no partial output', async () => {
    const input = await writeInput('bad.csv', features, 200);
    const lines = (await readFile(input, 'utf8')).split('\n');
    const output = join(dir, 'bad-out.csv');
    // Row 151 as an editor shows it (header = 1), well after the first batches were written.
    lines[150] = lines[150]?.replace(/^row-149,[^,]+/, 'row-149,oops') ?? '';
    await writeFile(input, lines.join('\n'));
    let error = await rejectionOf(scoreCsv(base({ input, output, batchRows: 32 })));
    expect(error).toBeInstanceOf(DatasetError);
    expect(error).toMatchObject({
      type: 'NonNumericValue',
      details: { file: input, row: 151, column: 'tiny' },
    });
    expect(error.message).toMatch(/row 151, column "tiny": "oops" is not a number/);
    expect(existsSync(output)).toBe(false);

    lines[150] = lines[150]?.replace(/^row-149,oops,[^,]+/, 'row-149,1,') ?? '';
    await writeFile(input, lines.join('\n'));
    error = await rejectionOf(scoreCsv(base({ input, output, batchRows: 32 })));
    expect(error).toMatchObject({ type: 'EmptyValue', details: { row: 151, column: 'huge' } });
    expect(existsSync(output)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it('keeps an earlier output intact when a run fails, and replaces it when one succeeds', async () => {
    const output = join(dir, 'kept.csv');
    await writeFile(output, 'earlier output\n');
    const ragged = `${csvText(features, 100).trimEnd()}\nrow-x,1,2\n`;
    const error = await rejectionOf(
      scoreCsv(base({ input: Readable.from([ragged]), output, inputName: 'upload.csv' })),
    );
    expect(error).toMatchObject({ type: 'RaggedRow', details: { file: 'upload.csv', row: 102 } });
    expect(await readFile(output, 'utf8')).toBe('earlier output\n');
    const unclosed = `${csvText(features, 10).trimEnd()}\nrow-y,1,2,3,4,5,"open\n`;
    expect(await rejectionOf(scoreCsv(base({ input: Readable.from([unclosed]), output })))).toMatchObject({
      type: 'MalformedCsv',
      details: { row: 12 },
    });
    expect(await readFile(output, 'utf8')).toBe('earlier output\n');
    expect(await leftovers()).toEqual([]);

    await scoreCsv(base({ input: Readable.from([csvText(features, 3)]), output }));
    expect(await readRows(output)).toHaveLength(3);
  });

  it('stops when aborted, leaving no output', async () => {
    await expectAbortLeavesNothing({
      input: await writeInput('abort.csv', features),
      output: join(dir, 'aborted.csv'),
      batchRows: 10,
    });
  });

  it('in chunks on two threads: a bad cell in a later chunk, and an abort, leave no output', async () => {
    // Chunks of 512 bytes: a few rows each, so row 151 is many chunks in.
    const chunks = { chunkThreads: 2, chunkBytes: 512 };
    // Plain lines (the usual note column is quoted, which the single reader takes).
    const plain = (name: string) =>
      writeFile(
        join(dir, name),
        csvText(features, 300).replace(/"a, quoted ""note"" (\d+)"/g, 'note $1'),
      ).then(() => join(dir, name));
    const input = await plain('bad-chunks.csv');
    const output = join(dir, 'bad-chunks-out.csv');
    const good = await scoreCsv(base({ input, output, ...chunks }));
    expect(good.chunkedRows).toBe(300);
    const lines = (await readFile(input, 'utf8')).split('\n');
    lines[150] = lines[150]?.replace(/^row-149,[^,]+/, 'row-149,oops') ?? '';
    await writeFile(input, lines.join('\n'));
    await rm(output);
    const error = await rejectionOf(scoreCsv(base({ input, output, ...chunks })));
    expect(error).toBeInstanceOf(DatasetError);
    expect(error).toMatchObject({
      type: 'NonNumericValue',
      details: { file: input, row: 151, column: 'tiny' },
    });
    expect(existsSync(output)).toBe(false);

    await expectAbortLeavesNothing({ input: await plain('abort-chunks.csv'), output, ...chunks });
  });

  it('refuses bad options, a model of another width, and bytes that are not a model, before writing', async () => {
    const input = await writeInput('ok.csv', features, 5);
    const output = join(dir, 'refused.csv');
    const cases: Array<[Partial<ScoreCsvOptions>, string, RegExp]> = [
      [{ threshold: 1.5 }, 'InvalidScoringOptions', /threshold 1.5/],
      [{ features: [...features, 'tiny'] }, 'InvalidScoringOptions', /"tiny" is listed twice/],
      [
        { features: [...features, 'id'] },
        'ModelInputMismatch',
        /float32 tensor \[N, 6\].*features: float32 \[N, 5\]/,
      ],
      [{ onnx: new Uint8Array([1, 2, 3]) }, 'InvalidModel', /cannot open the model \(3 bytes\)/],
      [
        { output: join(dir, 'no-such-folder', 'x.csv') },
        'OutputFolderMissing',
        /no-such-folder does not exist/,
      ],
      [{ input: join(dir, 'absent.csv') }, 'SourceNotFound', /absent\.csv does not exist/],
    ];
    for (const [extra, type, message] of cases) {
      const error = await rejectionOf(scoreCsv(base({ input, output, ...extra })));
      expect(error.type).toBe(type);
      expect(error.message).toMatch(message);
      expect(error.retryable).toBe(false);
    }
    expect(existsSync(output)).toBe(false);
    const clash = Readable.from([`${features.join(',')},predicted(Class)\n1,2,3,4,5,0\n`]);
    expect(await rejectionOf(scoreCsv(base({ input: clash, output })))).toMatchObject({
      type: 'OutputColumnClash',
    });
  });

  it('picks a model output by name, "probability" or else the first float output by default', async () => {
    // The exported graph plus a two-column [N, 2] output (class 0, class 1), like converters of
    // other libraries give classifiers, placed first.
    const def = decodeModel(onnx);
    const one = new Uint8Array(new Float32Array([1]).buffer);
    def.graph.initializer.push({ name: 'one', dims: [], dataType: DataType.FLOAT, rawData: one });
    def.graph.node.push(
      { name: 'complement', opType: 'Sub', input: ['one', 'probability'], output: ['negative'] },
      {
        name: 'both',
        opType: 'Concat',
        input: ['negative', 'probability'],
        output: ['class_probabilities'],
        attribute: [{ name: 'axis', type: AttributeType.INT, i: 1 }],
      },
    );
    const [probability, label] = def.graph.output;
    const pairs = {
      name: 'class_probabilities',
      type: {
        tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } },
      },
    };
    def.graph.output = [
      label as (typeof def.graph.output)[number],
      pairs,
      probability as (typeof def.graph.output)[number],
    ];
    const multi = encodeModel(def);
    def.graph.output = [label as (typeof def.graph.output)[number], pairs];
    const noProbability = encodeModel(def);

    const input = await writeInput('multi.csv', features, 50);
    const probabilities = async (extra: Partial<ScoreCsvOptions>) => {
      const output = join(dir, 'multi-out.csv');
      const result = await scoreCsv(base({ input, output, ...extra }));
      return { result, p: (await readRows(output)).map((r) => r['probability(Class)']) };
    };
    const plain = await probabilities({});
    const byDefault = await probabilities({ onnx: multi });
    expect(byDefault.result.outputName).toBe('probability');
    expect(byDefault.p).toEqual(plain.p);
    const byName = await probabilities({ onnx: multi, outputName: 'class_probabilities' });
    expect(byName.result.outputName).toBe('class_probabilities');
    expect(byName.p).toEqual(plain.p);
    const firstFloat = await probabilities({ onnx: noProbability });
    expect(firstFloat.result.outputName).toBe('class_probabilities');
    expect(firstFloat.p).toEqual(plain.p);

    const output = join(dir, 'never-multi.csv');
    expect(
      await rejectionOf(scoreCsv(base({ input, output, onnx: multi, outputName: 'scores' }))),
    ).toMatchObject({
      type: 'UnknownModelOutput',
      message: expect.stringMatching(
        /no output "scores".*label: int64 \[N, 1\]; class_probabilities: float32 \[N, 2\]/,
      ),
    });
    expect(
      await rejectionOf(scoreCsv(base({ input, output, onnx: multi, outputName: 'label' }))),
    ).toMatchObject({
      type: 'UnsupportedModelOutput',
    });
  });

  it('streams 200k rows through a slow consumer while the retained heap stays flat', async () => {
    // V8 collects lazily, so RSS alone would also count garbage not yet collected: a forced
    // collection at each quarter measures what scoring actually keeps.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const onnx30 = untrainedFraudOnnx(
      modelSpecSchema.parse({
        layers: [
          { type: 'dense', units: 16, activation: 'relu' },
          { type: 'dense', units: 1, activation: 'sigmoid' },
        ],
      }),
    );
    const rows = 200_000;
    const sink = countingSink();
    gc();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    const retained: number[] = [];
    const result = await scoreCsv({
      input: syntheticFraudCsv(rows),
      output: sink,
      onnx: onnx30,
      features: [...FRAUD_FEATURES],
      target: 'Class',
      threshold: 0.5,
      onProgress: (scored) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (scored >= ((retained.length + 1) * rows) / 4) {
          gc();
          retained.push(process.memoryUsage().heapUsed);
        }
      },
    });
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(
      `streamed ${result.rowsScored} rows (${mib(sink.bytes)} MiB of output) in ${result.seconds.toFixed(1)} s ` +
        `(${Math.round(result.rowsScored / result.seconds)} rows/s, input generated on the fly); ` +
        `RSS ${mib(before.rss)} -> peak ${mib(peakRss)} MiB (+${mib(peakRss - before.rss)}); heap after GC ` +
        `${mib(before.heapUsed)} MiB before, ${retained.map(mib).join(' / ')} MiB at each quarter`,
    );
    expect(result.rowsScored).toBe(rows);
    expect(sink.bytes).toBeGreaterThan(50 * 2 ** 20);
    expect(retained).toHaveLength(4);
    // Keeping the rows (or the output) would grow by tens of MiB per quarter; one batch is a few.
    expect(Math.max(...retained) - before.heapUsed).toBeLessThan(16 * 2 ** 20);
    expect(Math.max(...retained) - Math.min(...retained)).toBeLessThan(8 * 2 ** 20);
  });
});
