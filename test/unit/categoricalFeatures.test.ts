import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { MAX_CATEGORIES } from '../../domain/data/categories';
import { extractDataset } from '../../domain/data/extract';
import { extractUnlabelledDataset } from '../../domain/data/extractUnlabelled';
import { NO_LABEL_COLUMN } from '../../domain/data/noLabel';
import { readSnapshot } from '../../domain/data/snapshot';
import { explainerForOnnx } from '../../domain/explain/rowExplainer';
import { evaluateChampion } from '../../domain/gate/championEvaluation';
import { autoencoderSpecSchema, reconstructionErrors, trainAutoencoder } from '../../domain/ml/autoencoder';
import { encodeCategories, fitFrequencyEncoding } from '../../domain/ml/categoricalEncoding';
import { encodeCheckpoint } from '../../domain/ml/checkpoint';
import { computeClassWeights } from '../../domain/ml/classWeights';
import { evaluateScores } from '../../domain/ml/metrics';
import { buildModel } from '../../domain/ml/modelBuilder';
import { modelSpecSchema } from '../../domain/ml/modelSpec';
import { fitStandardScaler } from '../../domain/ml/scaler';
import { splitIndices, takeLabels, takeRows } from '../../domain/ml/split';
import { predictProbabilities, trainModel } from '../../domain/ml/train';
import { scaled as scaledForModel } from '../../domain/ml/trainingData';
import { buildAnomalyOnnx, checkAnomalyParity } from '../../domain/onnx/anomalyExporter';
import { exportDenseModel } from '../../domain/onnx/exporter';
import { checkParity } from '../../domain/onnx/parity';
import { renderDriftReport } from '../../domain/report/driftReport';
import { scoreAnomalyCsv } from '../../domain/scoring/anomalyCsv';
import { categoricalInputsOf } from '../../domain/scoring/anomalyScorer';
import { openBinaryScorer } from '../../domain/scoring/binaryScorer';
import { scoreCsv } from '../../domain/scoring/scoreCsv';
import { checkVersion, trainedReference } from '../../domain/serving/versionCheck';
import { datasetDrift } from '../../domain/validation/datasetDrift';
import { dictionaryCounts, readSortedFeatureColumns } from '../../domain/validation/featureColumns';
import { monitoredBatch } from '../../domain/validation/monitoring';
import { checkAgainstSchema } from '../../domain/validation/schemaCheck';
import { useTempStore } from '../support/tempStore';

const temp = useTempStore('slipway-categorical-', 'artifacts');

/** Rows of computer, count, account, bytes: 3 computers (one rare), 4 accounts. */
function eventsCsv(rows: number): string {
  const lines = ['computer,count,account,bytes,note'];
  for (let i = 0; i < rows; i++) {
    const computer = i % 50 === 0 ? 'WS-RARE' : i % 3 === 0 ? 'WS-1' : 'WS-2';
    const account = ['alice', 'bob', 'carol', 'svc'][i % 4] as string;
    lines.push(`${computer},${(i * 7) % 13},${account},${((i * 31) % 101) / 10},x${i}`);
  }
  return `${lines.join('\n')}\n`;
}

const FEATURES = ['computer', 'count', 'account', 'bytes'];
const CATEGORICAL = ['computer', 'account'];

describe('categorical features', () => {
  it('stores categories as codes with their dictionary and counts in the summary', async () => {
    const path = join(temp.root, 'small.csv');
    await writeFile(path, 'computer,a,account\n WS-1 ,1,alice\nWS-2,2,bob\nWS-1,3,alice\n');
    const { snapshot, summaryDoc } = await extractUnlabelledDataset({
      source: path,
      categorical: ['computer', 'account'],
      store: temp.store,
      workDir: join(temp.root, 'work'),
    });
    const m = readSnapshot(await temp.store.getBytes(snapshot));
    expect(m.features).toEqual(['computer', 'a', 'account']);
    // Codes in order of first appearance; the cell is trimmed.
    expect(Array.from(m.x)).toEqual([0, 1, 0, 1, 2, 1, 0, 3, 0]);
    const computer = summaryDoc.columns.find((c) => c.name === 'computer');
    expect(computer?.categories).toEqual({ values: ['WS-1', 'WS-2'], counts: [2, 1] });
    expect(computer?.profile?.type).toBe('category');
    expect(summaryDoc.columns.find((c) => c.name === 'a')?.profile?.type).toBe('float32');
  });

  it('reads categories the same way through the byte scanner and csv-parse (labelled data too)', async () => {
    const path = join(temp.root, 'labelled.csv');
    // The quoted line sends the rest of the file to csv-parse.
    await writeFile(path, 'computer,a,Class\nWS-1,1,0\nWS-2,2,1\n"WS-1",3,0\nWS-3,4,1\n');
    const run = (parser: 'auto' | 'general') =>
      extractDataset({
        source: path,
        categorical: ['computer'],
        store: temp.store,
        workDir: join(temp.root, 'work'),
        parser,
      });
    const [auto, general] = await Promise.all([run('auto'), run('general')]);
    expect(auto.snapshot.sha256).toBe(general.snapshot.sha256);
    expect(auto.summaryDoc.columns[0]?.categories).toEqual({
      values: ['WS-1', 'WS-2', 'WS-3'],
      counts: [2, 1, 1],
    });
  });

  it('refuses an empty category, a --categorical column that is not a feature, and an identifier column', async () => {
    const extract = async (csv: string, categorical: string[], features?: string[]) => {
      const path = join(temp.root, 'bad.csv');
      await writeFile(path, csv);
      return extractUnlabelledDataset({
        source: path,
        features,
        categorical,
        store: temp.store,
        workDir: join(temp.root, 'work'),
      });
    };
    await expect(extract('c,a\nx,1\n ,2\n', ['c'])).rejects.toMatchObject({
      type: 'EmptyValue',
      message: expect.stringMatching(/row 3, column "c"/),
    });
    await expect(extract('c,a\nx,1\ny,2\n', ['c'], ['a'])).rejects.toMatchObject({
      type: 'UnknownFeature',
      message: expect.stringMatching(/--categorical names "c"/),
    });
    const ids = ['id,a', ...Array.from({ length: MAX_CATEGORIES + 1 }, (_, i) => `u${i},1`)].join('\n');
    await expect(extract(ids, ['id'])).rejects.toMatchObject({
      type: 'TooManyCategories',
      message: expect.stringMatching(/column "id".*more than 10,000 distinct values/),
    });
  });

  it('frequency-encodes on the training rows only; an unseen code scores as 0', () => {
    // Feature 0 is categorical (codes 0..2, code 2 only outside the training rows), feature 1 numeric.
    const train = Float32Array.from([0, 5, 1, 6, 0, 7, 0, 8]);
    const encoding = fitFrequencyEncoding(
      ['c', 'n'],
      [{ values: ['a', 'b', 'z'], counts: [3, 1, 1] }, undefined],
      train,
      4,
    );
    expect(encoding.columns).toEqual([
      { feature: 'c', index: 0, categories: ['a', 'b', 'z'], frequencies: [0.75, 0.25, 0] },
    ]);
    expect(Array.from(encodeCategories(encoding, Float32Array.from([2, 1, 1, 2]), 2))).toEqual([
      0, 1, 0.25, 2,
    ]);
  });

  it('exports a graph that takes the raw text columns and scores like the trained model, unseen categories included', async () => {
    const path = join(temp.root, 'events.csv');
    await writeFile(path, eventsCsv(600));
    const { snapshot, summaryDoc } = await extractUnlabelledDataset({
      source: path,
      features: FEATURES,
      categorical: CATEGORICAL,
      store: temp.store,
      workDir: join(temp.root, 'work'),
    });
    const m = readSnapshot(await temp.store.getBytes(snapshot), NO_LABEL_COLUMN);
    const F = m.nCols;
    const encoding = fitFrequencyEncoding(
      m.features,
      summaryDoc.columns.map((c) => c.categories),
      m.x,
      m.nRows,
    );
    const encoded = encodeCategories(encoding, m.x, F);
    const scaler = { ...fitStandardScaler(encoded, m.nRows, F, m.features), categorical: encoding };
    const scaled = Float64Array.from(
      encoded,
      (v, k) => (v - (scaler.mean[k % F] as number)) / (scaler.std[k % F] as number),
    );
    const spec = autoencoderSpecSchema.parse({ hidden: [4, 2, 4], epochs: 3 });
    const { weights } = trainAutoencoder(scaled, m.nRows, F, spec);
    const threshold = 0.5;
    const onnx = buildAnomalyOnnx({
      weights,
      scaler,
      threshold,
      modelName: 'cat',
      producerVersion: 'test',
      datasetSha256: snapshot.sha256,
      runId: 'r',
    });
    // The export's own gate: onnxruntime on the texts against the float64 model on the codes.
    const parity = await checkAnomalyParity(onnx, weights, scaler, threshold, m.x, m.nRows);
    expect(parity.rowsCompared).toBe(600);

    // apply on raw rows: one seen row, and rows with a computer and an account never seen in training.
    const input = join(temp.root, 'score.csv');
    await writeFile(
      input,
      'note,bytes,account,count,computer\nn1,3.1,alice,4,WS-1\nn2,3.1,mallory,4,WS-1\nn3,3.1,alice,4,WS-NEW\n',
    );
    const output = join(temp.root, 'scored.csv');
    await scoreAnomalyCsv({ inputPath: input, outputPath: output, onnx, features: FEATURES });
    const scored = parse(await readFile(output, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(scored.map((r) => r.note)).toEqual(['n1', 'n2', 'n3']);
    // The exact model on the same rows: unseen categories encode as 0, as the graph's default.
    const code = (feature: string, value: string) => {
      const c = encoding.columns.find((col) => col.feature === feature);
      const k = c?.categories.indexOf(value) ?? -1;
      return k >= 0 ? k : 999_999; // a code with no frequency: unseen
    };
    const rows = [
      [code('computer', 'WS-1'), 4, code('account', 'alice'), 3.1],
      [code('computer', 'WS-1'), 4, code('account', 'mallory'), 3.1],
      [code('computer', 'WS-NEW'), 4, code('account', 'alice'), 3.1],
    ];
    const exact = reconstructionErrors(weights, scaler, Float32Array.from(rows.flat()), 3);
    scored.forEach((row, r) => {
      const e = exact[r] as number;
      expect(Math.abs(Number(row.anomaly_score) - e)).toBeLessThanOrEqual(1e-5 * (1 + e));
      expect(Math.abs(Number(row.predicted_outlier) - (threshold - e))).toBeLessThanOrEqual(1e-5 * (1 + e));
    });
    // An unseen category changes the score (it is encoded, not dropped).
    expect(exact[1]).not.toBe(exact[0]);
    expect(exact[2]).not.toBe(exact[0]);
  });
  it('trains a classifier on frequency-encoded categories, exports string inputs, passes parity and applies raw rows, unseen categories included', async () => {
    // Labelled rows: computer and account (text), count and bytes (numbers); the label leans on
    // the rare computer and on bytes, so the categories carry signal.
    const lines = ['computer,count,account,bytes,Class,note'];
    for (let i = 0; i < 400; i++) {
      const computer = i % 10 === 0 ? 'WS-RARE' : i % 3 === 0 ? 'WS-1' : 'WS-2';
      const account = ['alice', 'bob', 'carol', 'svc'][i % 4] as string;
      const bytes = ((i * 31) % 101) / 10;
      const label = computer === 'WS-RARE' || bytes > 8 ? 1 : 0;
      lines.push(`${computer},${(i * 7) % 13},${account},${bytes},${label},x${i}`);
    }
    const path = join(temp.root, 'labelled-events.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const { snapshot, summaryDoc } = await extractDataset({
      source: path,
      target: 'Class',
      features: FEATURES,
      categorical: CATEGORICAL,
      store: temp.store,
      workDir: join(temp.root, 'work'),
    });
    const m = readSnapshot(await temp.store.getBytes(snapshot), 'Class');
    const F = m.nCols;
    // The transform step: split, frequencies over the training rows, the scaler over those.
    const split = splitIndices(m.y, { testFraction: 0.25, seed: 42, stratify: true });
    const trainCodes = takeRows(m.x, F, split.train);
    const testCodes = takeRows(m.x, F, split.test);
    const yTrain = takeLabels(m.y, split.train);
    const encoding = fitFrequencyEncoding(
      m.features,
      summaryDoc.columns.map((c) => c.categories),
      trainCodes,
      split.train.length,
    );
    const scaler = {
      ...fitStandardScaler(encodeCategories(encoding, trainCodes, F), split.train.length, F, m.features),
      categorical: encoding,
    };
    const spec = modelSpecSchema.parse({
      layers: [
        { type: 'dense', units: 8, activation: 'relu' },
        { type: 'dense', units: 1, activation: 'sigmoid' },
      ],
      epochs: 5,
      batchSize: 64,
    });
    const model = buildModel(spec, F);
    try {
      await trainModel({
        model,
        spec,
        x: scaledForModel(scaler, trainCodes, F),
        y: yTrain,
        nRows: split.train.length,
        nFeatures: F,
        classWeights: computeClassWeights(yTrain, 'inverse'),
      });
      const threshold = 0.5;
      const { bytes: onnx, layers } = exportDenseModel({
        model,
        spec,
        scaler,
        threshold,
        metadata: {
          modelName: 'cat-classifier',
          features: m.features,
          target: 'Class',
          producerVersion: 'test',
          datasetSha256: snapshot.sha256,
          runId: 'r',
        },
      });
      // The graph takes the two categorical columns as string inputs named after them.
      expect(categoricalInputsOf(onnx, FEATURES)).toEqual(CATEGORICAL);
      // The export's parity gate: onnxruntime on the texts, the trainer and the exact reference on the encoded rows.
      const parity = await checkParity({
        onnxBytes: onnx,
        layers,
        model,
        scaler,
        rawX: testCodes,
        nRows: split.test.length,
        nFeatures: F,
        threshold,
      });
      expect(parity.rowsCompared).toBe(split.test.length);
      expect(parity.maxAbsDiff).toBeLessThan(1e-5);

      // As a champion, it is scored on a challenger's held-out rows (codes) decoded with their
      // dictionaries; without them it is not comparable, and says why.
      const heldOut = {
        raw: testCodes,
        labels: takeLabels(m.y, split.test),
        nRows: split.test.length,
        features: m.features,
      };
      const asChampion = await evaluateChampion({
        onnxBytes: onnx,
        championFeatures: FEATURES,
        threshold,
        heldOut: {
          ...heldOut,
          categories: Object.fromEntries(
            summaryDoc.columns.flatMap((c) => (c.categories ? [[c.name, c.categories.values]] : [])),
          ),
        },
      });
      const direct = await predictProbabilities(
        model,
        scaledForModel(scaler, testCodes, F),
        split.test.length,
        F,
      );
      expect(asChampion.comparable && asChampion.metrics.rocAuc).toBeCloseTo(
        evaluateScores(heldOut.labels, direct, threshold).rocAuc,
        4,
      );
      expect(
        await evaluateChampion({ onnxBytes: onnx, championFeatures: FEATURES, threshold, heldOut }),
      ).toEqual({
        comparable: false,
        why: expect.stringMatching(/takes computer, account as text/),
      });

      // apply on raw rows (columns in another order): seen categories, an unseen account, an unseen computer.
      const input = join(temp.root, 'classify.csv');
      await writeFile(
        input,
        'note,bytes,account,count,computer\nn1,3.1,alice,4,WS-1\nn2,9.5,mallory,4,WS-RARE\nn3,3.1,alice,4,WS-NEW\n',
      );
      const output = join(temp.root, 'classified.csv');
      // Two rows a batch: the texts of a batch go with its rows.
      const result = await scoreCsv({
        input,
        output,
        onnx,
        features: FEATURES,
        target: 'Class',
        threshold,
        batchRows: 2,
      });
      expect(result.rowsScored).toBe(3);
      const scored = parse(await readFile(output, 'utf8'), { columns: true }) as Array<
        Record<string, string>
      >;
      expect(scored.map((r) => r.note)).toEqual(['n1', 'n2', 'n3']);
      // The in-process model on the same rows, as codes (an unseen category has no frequency: 0).
      const code = (feature: string, value: string) => {
        const k = encoding.columns.find((c) => c.feature === feature)?.categories.indexOf(value) ?? -1;
        return k >= 0 ? k : 999_999;
      };
      const rows = Float32Array.from(
        [
          [code('computer', 'WS-1'), 4, code('account', 'alice'), 3.1],
          [code('computer', 'WS-RARE'), 4, code('account', 'mallory'), 9.5],
          [code('computer', 'WS-NEW'), 4, code('account', 'alice'), 3.1],
        ].flat(),
      );
      const inProcess = await predictProbabilities(model, scaledForModel(scaler, rows, F), 3, F);
      scored.forEach((row, r) => {
        const p = inProcess[r] as number;
        expect(Math.abs(Number(row['probability(Class)']) - p)).toBeLessThanOrEqual(1e-5);
        expect(row['predicted(Class)']).toBe(p >= threshold ? '1' : '0');
      });
      // The unseen computer is encoded (as 0), not dropped: it moves the probability.
      expect(inProcess[2]).not.toBe(inProcess[0]);

      // serve's check on load: the probe rows' categories as text through the served session, the
      // trained network on their encoding; a record whose encoding is not the graph's fails.
      const checkpoint = await encodeCheckpoint({
        epoch: 5,
        history: [],
        weights: model.getWeights(),
        optimizer: [],
      });
      const scorer = await openBinaryScorer(onnx, FEATURES.length - CATEGORICAL.length, undefined, {
        categorical: CATEGORICAL,
      });
      try {
        const check = await checkVersion(scorer, trainedReference(spec, checkpoint, scaler), F);
        expect(check).toMatchObject({ passed: true, source: 'trained', rows: 64 });
        const [computer] = encoding.columns;
        const moved = {
          ...scaler,
          categorical: {
            ...encoding,
            columns: [
              {
                ...(computer as (typeof encoding.columns)[0]),
                frequencies: [...(computer?.frequencies ?? [])].reverse(),
              },
              ...encoding.columns.slice(1),
            ],
          },
        };
        const refused = await checkVersion(scorer, trainedReference(spec, checkpoint, moved), F);
        expect(refused.passed).toBe(false);
        if (!refused.passed) expect(refused.reason).toMatch(/on probe row \d+ the served file gives/);
      } finally {
        await scorer.release();
      }
      // apply --explain on the same raw rows: one effect per raw column (a categorical column is
      // one feature, its category's encoded value), summing to p(row) - p(training means).
      const explainer = explainerForOnnx(onnx, 'probability', FEATURES);
      const explainedPath = join(temp.root, 'explained.csv');
      await scoreCsv({
        input,
        output: explainedPath,
        onnx,
        features: FEATURES,
        target: 'Class',
        threshold,
        batchRows: 2,
        explain: { graph: explainer.graph, k: FEATURES.length },
      });
      const explained = parse(await readFile(explainedPath, 'utf8'), { columns: true }) as Array<
        Record<string, string>
      >;
      explained.forEach((row, r) => {
        const reasons = FEATURES.map((_, i) => row[`reason${i + 1}(Class)`]);
        expect([...reasons].sort()).toEqual([...FEATURES].sort());
        const sum = FEATURES.reduce((t, _, i) => t + Number(row[`effect${i + 1}(Class)`]), 0);
        expect(Number(row['probability(Class)'])).toBeCloseTo(
          scored[r]?.['probability(Class)'] as unknown as number,
          6,
        );
        expect(Math.abs(sum - ((inProcess[r] as number) - explainer.baselineProbability))).toBeLessThan(2e-3);
      });
      // Rows 1 and 3 differ only in their computer (WS-1, then unseen): only its effect differs.
      const effects = (row: Record<string, string>) =>
        Object.fromEntries(
          FEATURES.map((_, i) => [row[`reason${i + 1}(Class)`], Number(row[`effect${i + 1}(Class)`])]),
        );
      const [first, third] = [
        effects(explained[0] as Record<string, string>),
        effects(explained[2] as Record<string, string>),
      ];
      expect(first.computer).not.toBeCloseTo(third.computer as number, 4);
    } finally {
      model.dispose();
    }
  });
});

describe('categorical profiles, validation and drift', () => {
  const summaryOf = async (name: string, csv: string) => {
    const path = join(temp.root, name);
    await writeFile(path, csv);
    return (
      await extractUnlabelledDataset({
        source: path,
        categorical: ['computer'],
        store: temp.store,
        workDir: join(temp.root, 'work'),
      })
    ).summaryDoc;
  };
  const rows = (computers: string[]) =>
    `computer,n\n${computers.map((c, i) => `${c},${i % 7}`).join('\n')}\n`;

  it('reports categories the champion never had, with column, source, counts and share; none when all were seen', async () => {
    const champion = await summaryOf(
      'champion.csv',
      rows([...Array(300).fill('WS-1'), ...Array(100).fill('WS-2')]),
    );
    const same = await summaryOf('same.csv', rows([...Array(10).fill('WS-2'), ...Array(30).fill('WS-1')]));
    expect(checkAgainstSchema(champion, same)).toEqual([]);
    const shifted = await summaryOf(
      'new.csv',
      rows([...Array(30).fill('WS-1'), ...Array(6).fill('WS-NEW'), ...Array(4).fill('WS-X')]),
    );
    const found = checkAgainstSchema(champion, shifted);
    // Codes are positions in each file's own dictionary: no range or scale finding on them.
    expect(found.map((a) => [a.check, a.column])).toEqual([['unseenCategories', 'computer']]);
    expect(found[0]?.figures).toMatchObject({ unseenCategories: 2, unseenRows: 10, rows: 40, share: 0.25 });
    expect(found[0]?.message).toMatch(
      /computer in file:\/\/.*new\.csv: 2 categories not in the champion's data \("WS-NEW", "WS-X"\) in 10 of 40 rows \(25 %\)/,
    );
  });

  it('reads categorical columns of a CSV as counts and compares them by PSI and chi-square, in the report and a monitored batch', async () => {
    const path = join(temp.root, 'batch.csv');
    await writeFile(path, rows([...Array(100).fill('WS-1'), ...Array(100).fill('WS-NEW')]));
    const current = await readSortedFeatureColumns({
      stream: createReadStream(path),
      file: path,
      features: ['computer', 'n'],
      categorical: ['computer'],
    });
    expect(current.columns[0]).toEqual(
      new Map([
        ['WS-1', 100],
        ['WS-NEW', 100],
      ]),
    );
    const reference = [
      dictionaryCounts({ values: ['WS-1', 'WS-2'], counts: [300, 100] }),
      Float64Array.from({ length: 400 }, (_, i) => i % 7).sort(),
    ];
    const drift = datasetDrift(['computer', 'n'], reference, current.columns);
    expect(drift.drifted).toEqual(['computer']);
    const computer = drift.features[0];
    expect(computer?.kind).toBe('categorical');
    if (computer?.kind !== 'categorical') throw new Error('expected a categorical row');
    expect(computer.unseen).toEqual(['WS-NEW']);
    expect(computer.psi).toBeGreaterThan(0.25);
    expect(computer.pValue).toBeLessThan(1e-6);
    expect(computer.overlay.categories).toEqual(['WS-1', 'WS-2', 'WS-NEW', '(other)']);
    const html = renderDriftReport({ model: 'm', version: 1, referenceLabel: 'r', currentLabel: 'c', drift });
    expect(html).toContain('chi2 p');
    expect(html).not.toMatch(/NaN|undefined/);
    const batch = monitoredBatch({
      model: 'm',
      version: 1,
      recordedAt: '2026-11-30T03:00:00Z',
      recordedBy: 'test',
      input: path,
      drift,
      scores: Float64Array.from([0.1, 0.2]),
      scoreColumn: 'anomaly_score',
      threshold: 0.15,
      scoreRange: 'observed',
    });
    expect(batch.features[0]).toMatchObject({
      feature: 'computer',
      kind: 'categorical',
      unseen: ['WS-NEW'],
      drifted: true,
    });
    expect(batch.features[1]).toMatchObject({ feature: 'n', drifted: false });
  });
});
