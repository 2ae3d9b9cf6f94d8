import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoredBatches } from '../../application/monitor';
import { openWorkspace } from '../../application/workspace';
import { syntheticWinEventsCsvStream } from '../../domain/data/sourceStream';
import { parseDatasetSummary } from '../../domain/data/summary';
import { WIN_EVENT_COUNT_COLUMNS } from '../../domain/data/syntheticWinEvents';
import { decodeAutoencoder, reconstructionErrors } from '../../domain/ml/autoencoder';
import { evaluateScores } from '../../domain/ml/metrics';
import { scalerFromJson } from '../../domain/ml/scaler';
import { ANOMALY_PARITY_TOLERANCE } from '../../domain/onnx/anomalyExporter';
import { ModelAliases } from '../../domain/registry/aliases';
import { ModelRegistry } from '../../domain/registry/registry';
import type { ArtifactRef } from '../../domain/storage/artifactRef';
import { openArtifactStore } from '../../domain/storage/openStore';
import type { ScheduledRetrainResult } from '../../workflows/scheduledRetrain';
import { slipwayAs } from '../support/cli';
import { type PipelineWorld, startPipelineWorld } from '../support/pipelineWorld';
import { startServeProcess } from '../support/serveProcess';

const FEATURES = ['hour', ...WIN_EVENT_COUNT_COLUMNS].join(',');

describe('slipway run --kind anomaly on synthetic:winevents', () => {
  let world: PipelineWorld;
  let registry: ModelRegistry;
  const file = (name: string) => join(world.dir, name);
  const slipway = (user: string, ...args: string[]) => slipwayAs(user, world.env, args);

  beforeAll(async () => {
    world = await startPipelineWorld('anomaly-run-it');
    registry = new ModelRegistry(openArtifactStore(world.config));
  });
  afterAll(() => world?.close());

  it('trains, evaluates against the hidden label, exports behind the parity gate, registers and applies', async () => {
    const run = await slipway(
      'erin',
      'run',
      '--kind',
      'anomaly',
      '--source',
      'synthetic:winevents?rows=12000&seed=7',
      '--model',
      'secops/winevents',
      '--features',
      FEATURES,
      '--eval-label',
      'anomalous',
      '--epochs',
      '25',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.outcome).toBe('promoted');
    expect(result.metrics.rocAuc).toBeGreaterThanOrEqual(0.95);
    expect(result.onnx.parity.worstToleranceUsed).toBeLessThanOrEqual(1);
    // The threshold flags about the contamination share of the training rows.
    expect(result.evaluation.flaggedShare.train).toBeCloseTo(0.01, 3);

    const v1 = await registry.getVersion('secops/winevents', 1);
    expect(v1).toMatchObject({
      kind: 'anomaly',
      target: 'predicted_outlier',
      anomaly: { scoreOutput: 'anomaly_score', outlierOutput: 'predicted_outlier', contamination: 0.01 },
      autoencoder: { loss: 'meanSquaredError' },
    });
    expect(v1.threshold).toBe(result.threshold);
    // Issue 29: importance against the hidden label, every feature ranked.
    expect(v1.importance?.metric).toBe('prAuc');
    expect(v1.importance?.ranking.map((f) => f.feature).sort()).toEqual([...v1.features].sort());
    expect(v1.artifacts.importance?.kind).toBe('importance');
    const card = await registry.getModelCard('secops/winevents', 1);
    expect(card).toContain('Anomaly model');
    expect(card).toMatch(/dense autoencoder 11-16-4-16-11/);
    const status = await slipway('erin', 'status', result.workflowId);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/anomaly: dense autoencoder[\s\S]*ROC-AUC/);

    // apply on fresh generator rows (string columns pass through untouched).
    await pipeline(syntheticWinEventsCsvStream(3000, 99), createWriteStream(file('events.csv')));
    const applied = await slipway(
      'dave',
      'apply',
      'secops/winevents@production',
      '--input',
      file('events.csv'),
      '--output',
      file('scored.csv'),
      '--monitor',
    );
    expect(applied.code, applied.stderr).toBe(0);
    // Issue 23 for anomaly versions: the batch is monitored (no feature drifted in fresh rows of
    // the same generator), its anomaly scores histogrammed over their own range.
    expect(applied.stderr).toContain('monitored batch recorded (no feature drifted)');
    const { batches } = await monitoredBatches(openWorkspace(world.config), 'secops/winevents@1');
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ rows: 3000, drifted: [], score: { column: 'anomaly_score' } });
    expect(batches[0]?.score.histogram.counts.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(batches[0]?.score.histogram.edges.at(-1)).toBeGreaterThan(v1.threshold);
    expect(v1.dataValidation?.note).toMatch(/nothing to compare with/);
    const rows: Record<string, string>[] = parse(await readFile(file('scored.csv')), { columns: true });
    expect(rows).toHaveLength(3000);
    expect(rows[0]?.computer).toMatch(/^WS-/);
    for (const row of rows) {
      // The documented convention: predicted_outlier = threshold - anomaly_score (float32 in the graph).
      expect(Number(row.predicted_outlier)).toBeCloseTo(v1.threshold - Number(row.anomaly_score), 4);
    }
    const scores = rows.map((r) => Number(r.anomaly_score));
    const labels = rows.map((r) => Number(r.anomalous));
    expect(evaluateScores(labels, scores, v1.threshold).rocAuc).toBeGreaterThanOrEqual(0.95);

    // A retrain whose EventCode_4624 counts were multiplied by 100 fails validation against v1's
    // training data under --on-anomaly fail, naming the column, before anything is trained.
    const header = Object.keys(rows[0] ?? {});
    const rescaled = rows.map((r) =>
      header.map((h) => (h === 'EventCode_4624' ? String(Number(r[h]) * 100) : r[h])).join(','),
    );
    await writeFile(file('events-x100.csv'), `${[header.join(','), ...rescaled].join('\n')}\n`);
    const shifted = await slipway(
      'erin',
      'run',
      '--kind',
      'anomaly',
      '--source',
      file('events-x100.csv'),
      '--model',
      'secops/winevents',
      '--features',
      FEATURES,
      '--eval-label',
      'anomalous',
      '--on-anomaly',
      'fail',
    );
    expect(shifted.code).toBe(1);
    expect(shifted.stderr).toMatch(
      /Data validation failed: .*events-x100\.csv against the training data of secops\/winevents v1/,
    );
    expect(shifted.stderr).toMatch(/EventCode_4624: /);
    expect((await registry.latestVersion('secops/winevents')).version).toBe(1);

    // The exported file imports back as an anomaly model unchanged.
    const pkg = await slipway('dave', 'export', 'mltk', 'secops/winevents@1', '--out', file('mltk'));
    expect(pkg.code, pkg.stderr).toBe(0);
    const back = await slipway(
      'erin',
      'import',
      'onnx',
      JSON.parse(
        (await slipway('dave', 'export', 'mltk', 'secops/winevents@1', '--out', file('mltk2'), '--json'))
          .stdout,
      ).files.onnx,
      '--kind',
      'anomaly',
      '--model',
      'secops/winevents-back',
      '--features',
      FEATURES,
      '--no-promote',
    );
    expect(back.code, back.stderr).toBe(0);
    const imported = await registry.getVersion('secops/winevents-back', 1);
    expect(imported.imported?.adaptation).toBeUndefined();
    expect(imported.artifacts.onnx.sha256).toBe(v1.artifacts.onnx.sha256);
    // Registered with the threshold its graph computes (v1's, to float32), not 0.
    expect(imported.anomaly?.thresholdFrom).toBe('graph');
    expect(imported.threshold).toBeCloseTo(v1.threshold, 5);
  });

  it('categorical features: trains on computer and account as text, and apply on raw rows (unseen categories too) scores as the trained model', async () => {
    const features = ['hour', 'computer', 'account', 'EventCode_4624', 'EventCode_4625', 'EventCode_4688'];
    const run = await slipway(
      'erin',
      'run',
      '--kind',
      'anomaly',
      '--source',
      'synthetic:winevents?rows=2000&seed=5',
      '--model',
      'secops/categorical',
      '--features',
      features.join(','),
      '--categorical',
      'computer,account',
      '--epochs',
      '5',
      '--no-promote',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.onnx.parity.rowsCompared).toBe(500);
    expect(result.onnx.parity.worstToleranceUsed).toBeLessThanOrEqual(1);
    const v1 = await registry.getVersion('secops/categorical', 1);
    expect(v1.features).toEqual(features);
    const store = openArtifactStore(world.config);
    const read = async (ref: ArtifactRef | undefined) =>
      (await store.getBytes(ref as ArtifactRef)).toString('utf8');
    // The transform artifact records the encoding; the summary the categories with their counts.
    const scaler = scalerFromJson(await read(v1.artifacts.scaler));
    expect(scaler.categorical?.columns.map((c) => [c.feature, c.index])).toEqual([
      ['computer', 1],
      ['account', 2],
    ]);
    expect(v1.anomaly).toMatchObject({
      thresholdFrom: 'contamination',
      categorical: [
        { feature: 'computer', encoding: 'frequency' },
        { feature: 'account', encoding: 'frequency' },
      ],
    });
    expect(await registry.getModelCard('secops/categorical', 1)).toMatch(/Categorical features .*`computer`/);
    const summary = parseDatasetSummary(await read(v1.artifacts.datasetSummary));
    const computers = summary.columns.find((c) => c.name === 'computer')?.categories;
    expect(computers?.counts.reduce((a, b) => a + b, 0)).toBe(2000);

    // Raw rows as the search produces them, strings and all; some with a computer and an account
    // that training never saw.
    await pipeline(syntheticWinEventsCsvStream(400, 17), createWriteStream(file('cat-events.csv')));
    const lines = (await readFile(file('cat-events.csv'), 'utf8')).trimEnd().split('\n');
    const head = (lines[0] as string).split(',');
    const unseenRows = new Set([1, 2, 3, 50, 51]);
    const edited = lines.slice(1).map((line, i) => {
      const cells = line.split(',');
      if (unseenRows.has(i)) {
        cells[head.indexOf('computer')] = 'WS-NEVER-SEEN';
        cells[head.indexOf('account')] = 'intruder';
      }
      return cells.join(',');
    });
    await writeFile(file('cat-events.csv'), `${[lines[0], ...edited].join('\n')}\n`);
    const applied = await slipway(
      'dave',
      'apply',
      'secops/categorical@1',
      '--input',
      file('cat-events.csv'),
      '--output',
      file('cat-scored.csv'),
      '--monitor',
    );
    expect(applied.code, applied.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(await readFile(file('cat-scored.csv')), { columns: true });
    expect(rows).toHaveLength(400);
    expect(rows[1]?.computer).toBe('WS-NEVER-SEEN');

    // The in-process model on the same rows: each category as its code (an unseen one as a code
    // with no frequency, which encodes to 0 as the graph's default does).
    const weights = decodeAutoencoder(await read(v1.artifacts.model));
    const codeOf = (feature: string, value: string) => {
      const column = scaler.categorical?.columns.find((c) => c.feature === feature);
      const code = column?.categories.indexOf(value) ?? -1;
      return code >= 0 ? code : (column?.categories.length ?? 0);
    };
    const x = Float32Array.from(
      rows.flatMap((r) =>
        features.map((f) => (f === 'computer' || f === 'account' ? codeOf(f, r[f] as string) : Number(r[f]))),
      ),
    );
    const exact = reconstructionErrors(weights, scaler, x, rows.length);
    rows.forEach((r, i) => {
      const e = exact[i] as number;
      expect(Math.abs(Number(r.anomaly_score) - e), `row ${i}`).toBeLessThanOrEqual(
        ANOMALY_PARITY_TOLERANCE * (1 + e),
      );
    });
    // An unseen account on a known computer scores differently from the same row with its real account.
    expect(Number(rows[1]?.anomaly_score)).not.toBe(Number(rows[0]?.anomaly_score));

    // The exported file imports back (string inputs and all) and scores the same raw rows alike.
    const exported = JSON.parse(
      (await slipway('dave', 'export', 'mltk', 'secops/categorical@1', '--out', file('cat-mltk'), '--json'))
        .stdout,
    ).files.onnx;
    const back = await slipway(
      'erin',
      'import',
      'onnx',
      exported,
      '--kind',
      'anomaly',
      '--model',
      'secops/categorical-back',
      '--features',
      features.join(','),
      '--no-promote',
    );
    expect(back.code, back.stderr).toBe(0);
    const imported = await registry.getVersion('secops/categorical-back', 1);
    expect(imported.anomaly?.thresholdFrom).toBe('graph');
    expect(imported.threshold).toBeCloseTo(v1.threshold, 5);
    const again = await slipway(
      'dave',
      'apply',
      'secops/categorical-back@1',
      '--input',
      file('cat-events.csv'),
      '--output',
      file('cat-scored-back.csv'),
    );
    expect(again.code, again.stderr).toBe(0);
    const rescored: Record<string, string>[] = parse(await readFile(file('cat-scored-back.csv')), {
      columns: true,
    });
    expect(rescored.map((r) => r.anomaly_score)).toEqual(rows.map((r) => r.anomaly_score));

    // Monitoring compares the categories: the unseen ones are named.
    const { batches } = await monitoredBatches(openWorkspace(world.config), 'secops/categorical@1');
    const account = batches[0]?.features.find((f) => f.feature === 'account');
    expect(account).toMatchObject({ kind: 'categorical' });
    expect(account?.unseen).toContain('intruder');
  });

  it('slipway serve answers a categorical anomaly version as apply does: JSON and CSV, unseen categories scored, text and numbers checked', async () => {
    // The rows and answers of the categorical case above (cat-events.csv, cat-scored.csv).
    const sent = (await readFile(file('cat-events.csv'), 'utf8')).trimEnd().split('\n').slice(0, 61);
    const scored = (await readFile(file('cat-scored.csv'), 'utf8')).trimEnd().split('\n').slice(0, 61);
    const applied: Record<string, string>[] = parse(scored.join('\n'), { columns: true });
    const serve = await startServeProcess({ ...world.env, SLIPWAY_USER: 'ops' }, [
      'secops/categorical@1',
      'secops/categorical-back@1',
      '--port',
      '0',
    ]);
    try {
      const post = (model: string, body: string, type = 'application/json', query = '') =>
        fetch(`${serve.url}/score/${encodeURIComponent(model)}${query}`, {
          method: 'POST',
          headers: { 'content-type': type },
          body,
        });
      const { models } = (await (await fetch(`${serve.url}/models`)).json()) as {
        models: Array<{
          model: string;
          kind: string;
          columns: string[];
          categorical: string[];
          check: unknown;
        }>;
      };
      expect(models[0]).toMatchObject({
        kind: 'anomaly',
        columns: ['anomaly_score', 'predicted_outlier'],
        categorical: ['computer', 'account'],
        check: { passed: true, source: 'trained', rows: 64 },
      });
      // The import has no trained model to compare with: run on probe rows, unseen text and all.
      expect(models[1]).toMatchObject({ kind: 'anomaly', check: { passed: true, source: 'outputs' } });

      // JSON objects by feature name (numbers as numbers, categories as text), unseen ones included.
      const features = ['hour', 'computer', 'account', 'EventCode_4624', 'EventCode_4625', 'EventCode_4688'];
      const rows = applied.map((r) =>
        Object.fromEntries(
          features.map((f) => [f, f === 'computer' || f === 'account' ? r[f] : Number(r[f])]),
        ),
      );
      expect(rows[1]).toMatchObject({ computer: 'WS-NEVER-SEEN', account: 'intruder' });
      const answer = await post('secops/categorical', JSON.stringify({ rows }));
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { version: number; rows: Array<Record<string, number>> };
      expect(body.version).toBe(1);
      expect(body.rows).toEqual(
        applied.map((r) => ({
          anomaly_score: Number(r.anomaly_score),
          predicted_outlier: Number(r.predicted_outlier),
        })),
      );
      // A CSV body: apply's file, line for line.
      const csv = await post('secops/categorical', `${sent.slice(0, 11).join('\n')}\n`, 'text/csv');
      expect(csv.status).toBe(200);
      expect(await csv.text()).toBe(`${scored.slice(0, 11).join('\n')}\n`);

      // A number where a category is expected, and text where a number is: 400 naming the field.
      const number = await post('secops/categorical', JSON.stringify({ rows: [{ ...rows[0], account: 7 }] }));
      expect(number.status).toBe(400);
      expect(((await number.json()) as { error: { message: string } }).error.message).toMatch(
        /rows\[0\]\.account is the number 7, not text/,
      );
      const text = await post('secops/categorical', JSON.stringify([{ ...rows[0], hour: 'noon' }]));
      expect(text.status).toBe(400);
      expect(((await text.json()) as { error: { message: string } }).error.message).toMatch(
        /rows\[0\]\.hour is the string "noon", not a number/,
      );
      // Explaining is refused, as apply refuses it for anomaly versions.
      const explained = await post(
        'secops/categorical',
        JSON.stringify({ rows }),
        'application/json',
        '?explain=2',
      );
      expect(explained.status).toBe(422);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  it('categorical features for a classifier: trains on computer and account as text, exports string inputs and applies raw rows', async () => {
    const features = ['hour', 'computer', 'account', 'EventCode_4625'];
    const run = await slipway(
      'erin',
      'run',
      '--source',
      'synthetic:winevents?rows=1200&seed=5',
      '--target',
      'anomalous',
      '--model',
      'secops/categorical-classifier',
      '--features',
      features.join(','),
      '--categorical',
      'computer,account',
      '--epochs',
      '3',
      '--no-promote',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    // The parity gate passed on the held-out quarter, onnxruntime fed the texts.
    expect(result.onnx.onnxBoundUsed).toBeLessThanOrEqual(1);
    expect(result.onnx.maxAbsDiff).toBeLessThan(1e-5);
    const v1 = await registry.getVersion('secops/categorical-classifier', 1);
    expect(v1.features).toEqual(features);
    expect(v1.training?.categorical).toEqual([
      { feature: 'computer', encoding: 'frequency', seenInTraining: expect.any(Number) },
      { feature: 'account', encoding: 'frequency', seenInTraining: expect.any(Number) },
    ]);
    expect(await registry.getModelCard('secops/categorical-classifier', 1)).toMatch(
      /Categorical features .*`computer`/,
    );
    // The raw rows of the anomaly case above, with a computer and an account training never saw.
    const applied = await slipway(
      'dave',
      'apply',
      'secops/categorical-classifier@1',
      '--input',
      file('cat-events.csv'),
      '--output',
      file('cat-classified.csv'),
    );
    expect(applied.code, applied.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(await readFile(file('cat-classified.csv')), {
      columns: true,
    });
    expect(rows).toHaveLength(400);
    expect(rows[1]?.computer).toBe('WS-NEVER-SEEN');
    for (const row of rows) {
      const p = Number(row['probability(anomalous)']);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
      expect(row['predicted(anomalous)']).toBe(p >= v1.threshold ? '1' : '0');
    }

    // --explain: one effect per raw column (computer and account one each), unseen categories too.
    const explained = await slipway(
      'dave',
      'apply',
      'secops/categorical-classifier@1',
      '--input',
      file('cat-events.csv'),
      '--output',
      file('cat-explained.csv'),
      '--explain',
      '4',
    );
    expect(explained.code, explained.stderr).toBe(0);
    const why: Record<string, string>[] = parse(await readFile(file('cat-explained.csv')), { columns: true });
    why.forEach((row, r) => {
      expect(row['probability(anomalous)']).toBe(rows[r]?.['probability(anomalous)']);
      const reasons = [1, 2, 3, 4].map((i) => row[`reason${i}(anomalous)`]);
      expect([...reasons].sort()).toEqual([...features].sort());
    });

    // The classifier export imports back as a classifier (string inputs and all) and scores alike.
    const exported = JSON.parse(
      (
        await slipway(
          'dave',
          'export',
          'mltk',
          'secops/categorical-classifier@1',
          '--out',
          file('cat-clf-mltk'),
          '--json',
        )
      ).stdout,
    ).files.onnx;
    const back = await slipway(
      'erin',
      'import',
      'onnx',
      exported,
      '--model',
      'secops/categorical-classifier-back',
      '--features',
      features.join(','),
      '--target',
      'anomalous',
      '--threshold',
      String(v1.threshold),
      '--no-promote',
    );
    expect(back.code, back.stderr).toBe(0);
    const again = await slipway(
      'dave',
      'apply',
      'secops/categorical-classifier-back@1',
      '--input',
      file('cat-events.csv'),
      '--output',
      file('cat-classified-back.csv'),
    );
    expect(again.code, again.stderr).toBe(0);
    const rescored: Record<string, string>[] = parse(await readFile(file('cat-classified-back.csv')), {
      columns: true,
    });
    expect(rescored.map((r) => r['probability(anomalous)'])).toEqual(
      rows.map((r) => r['probability(anomalous)']),
    );
  });

  it('slipway serve answers the categorical classifier as apply does, monitors both kinds and shadows anomaly versions by anomaly_score', async () => {
    // A second anomaly version of secops/categorical (another seed, 2 epochs): production is v1,
    // staging v2, which serve scores every request with in shadow.
    const features = ['hour', 'computer', 'account', 'EventCode_4624', 'EventCode_4625', 'EventCode_4688'];
    const v2run = await slipway(
      'erin',
      'run',
      '--kind',
      'anomaly',
      '--source',
      'synthetic:winevents?rows=1000&seed=6',
      '--model',
      'secops/categorical',
      '--features',
      features.join(','),
      '--categorical',
      'computer,account',
      '--epochs',
      '2',
      '--no-promote',
      '--json',
    );
    expect(v2run.code, v2run.stderr).toBe(0);
    expect(JSON.parse(v2run.stdout).version).toBe(2);
    const aliases = new ModelAliases(registry);
    const at = new Date().toISOString();
    await aliases.move('secops/categorical', 'production', {
      version: 1,
      action: 'promote',
      actor: 'erin',
      reason: 'serve test',
      at,
    });
    await aliases.move('secops/categorical', 'staging', {
      version: 2,
      action: 'set',
      actor: 'erin',
      reason: 'shadow candidate',
      at,
    });
    // What v2 answers for the rows sent below, as apply scores them.
    const applied2 = await slipway(
      'dave',
      'apply',
      'secops/categorical@2',
      '--input',
      file('cat-events.csv'),
      '--output',
      file('cat-scored-v2.csv'),
    );
    expect(applied2.code, applied2.stderr).toBe(0);

    const shadowLog = file('cat-shadow.jsonl');
    const serve = await startServeProcess({ ...world.env, SLIPWAY_USER: 'ops' }, [
      'secops/categorical@production',
      'secops/categorical-classifier@1',
      '--port',
      '0',
      '--poll',
      '0.1',
      '--shadow',
      'staging',
      '--shadow-log',
      shadowLog,
      '--monitor',
    ]);
    const classified: Record<string, string>[] = parse(await readFile(file('cat-classified.csv')), {
      columns: true,
    });
    const scoredV1: Record<string, string>[] = parse(await readFile(file('cat-scored.csv')), {
      columns: true,
    });
    const scoredV2: Record<string, string>[] = parse(await readFile(file('cat-scored-v2.csv')), {
      columns: true,
    });
    const sent = (await readFile(file('cat-events.csv'), 'utf8')).trimEnd().split('\n');
    const classifiedLines = (await readFile(file('cat-classified.csv'), 'utf8')).trimEnd().split('\n');
    const n = 60;
    try {
      const post = (model: string, body: string, type = 'application/json', query = '') =>
        fetch(`${serve.url}/score/${encodeURIComponent(model)}${query}`, {
          method: 'POST',
          headers: { 'content-type': type },
          body,
        });
      const errorOf = async (res: Response) =>
        ((await res.json()) as { error: { type: string; message: string } }).error;
      type Described = {
        model: string;
        categorical: string[];
        check: unknown;
        shadow?: { version: number | null };
      };
      const described = async () =>
        ((await (await fetch(`${serve.url}/models`)).json()) as { models: Described[] }).models;
      for (let i = 0; (await described())[0]?.shadow?.version !== 2; i++) {
        expect(i, 'the shadow candidate never loaded').toBeLessThan(300);
        await new Promise((r) => setTimeout(r, 100));
      }
      const classifier = (await described())[1];
      expect(classifier).toMatchObject({
        model: 'secops/categorical-classifier',
        categorical: ['computer', 'account'],
        check: { passed: true, source: 'trained', rows: 64 },
      });

      // The classifier: JSON objects (categories as text, unseen ones included), arrays in feature
      // order and a CSV body answer what apply wrote.
      const cFeatures = ['hour', 'computer', 'account', 'EventCode_4625'];
      const isText = (f: string) => f === 'computer' || f === 'account';
      const rows = classified
        .slice(0, n)
        .map((r) => Object.fromEntries(cFeatures.map((f) => [f, isText(f) ? r[f] : Number(r[f])])));
      expect(rows[1]).toMatchObject({ computer: 'WS-NEVER-SEEN', account: 'intruder' });
      const expected = classified.slice(0, n).map((r) => ({
        'predicted(anomalous)': Number(r['predicted(anomalous)']),
        'probability(anomalous)': Number(r['probability(anomalous)']),
      }));
      const objects = await post('secops/categorical-classifier', JSON.stringify({ rows }));
      expect(objects.status).toBe(200);
      expect(((await objects.json()) as { rows: unknown[] }).rows).toEqual(expected);
      const arrays = await post(
        'secops/categorical-classifier',
        JSON.stringify(rows.map((r) => cFeatures.map((f) => r[f]))),
      );
      expect(arrays.status).toBe(200);
      expect(((await arrays.json()) as { rows: unknown[] }).rows).toEqual(expected);
      const csv = await post(
        'secops/categorical-classifier',
        `${sent.slice(0, 11).join('\n')}\n`,
        'text/csv',
      );
      expect(csv.status).toBe(200);
      expect(await csv.text()).toBe(`${classifiedLines.slice(0, 11).join('\n')}\n`);
      // A number where a category is expected, text where a number is: 400 naming the field.
      const number = await post(
        'secops/categorical-classifier',
        JSON.stringify({ rows: [{ ...rows[0], computer: 12 }] }),
      );
      expect(number.status).toBe(400);
      expect((await errorOf(number)).message).toMatch(/rows\[0\]\.computer is the number 12, not text/);
      const text = await post(
        'secops/categorical-classifier',
        JSON.stringify([['noon', 'WS-1', 'alice', 0]]),
      );
      expect(text.status).toBe(400);
      expect((await errorOf(text)).message).toMatch(/rows\[0\]\.hour is the string "noon", not a number/);
      const explained = await post(
        'secops/categorical-classifier',
        JSON.stringify({ rows }),
        'application/json',
        '?explain=2',
      );
      expect(explained.status).toBe(422);
      expect((await errorOf(explained)).message).toMatch(
        /takes categorical features as text \(computer, account\)/,
      );

      // The anomaly version answers the same rows; its staging version scores them in shadow.
      const aRows = scoredV1
        .slice(0, n)
        .map((r) => Object.fromEntries(features.map((f) => [f, isText(f) ? r[f] : Number(r[f])])));
      const answer = await post('secops/categorical', JSON.stringify({ rows: aRows }));
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { version: number }).version).toBe(1);
    } finally {
      expect(await serve.stop()).toBe(0);
    }

    // serve-report compares the anomaly versions in their units: outlier flags and anomaly_score.
    const report = await slipway('ops', 'serve-report', shadowLog, '--json');
    expect(report.code, report.stderr).toBe(0);
    const [pair] = (JSON.parse(report.stdout) as { pairs: Array<Record<string, number | string>> }).pairs;
    const first = scoredV1.slice(0, n);
    const second = scoredV2.slice(0, n);
    const flags = first.filter(
      (r, i) => Number(r.predicted_outlier) < 0 === Number(second[i]?.predicted_outlier) < 0,
    ).length;
    const diffs = first.map((r, i) => Math.abs(Number(r.anomaly_score) - Number(second[i]?.anomaly_score)));
    const mean = diffs.reduce((a, b) => a + b, 0) / n;
    expect(pair).toMatchObject({
      model: 'secops/categorical',
      primaryVersion: 1,
      shadowVersion: 2,
      score: 'anomaly_score',
      requests: 1,
      rows: n,
      agreement: flags / n,
    });
    expect(pair?.meanAbsDiff as number).toBeCloseTo(mean, 5);
    expect(pair?.maxAbsDiff as number).toBeCloseTo(Math.max(...diffs), 5);
    expect(mean).toBeGreaterThan(0);
    // The shadow gate judges the recorded report in anomaly_score units (a limit above 1 is one).
    const recorded = await slipway('ops', 'serve-report', shadowLog, '--record');
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(recorded.stdout).toMatch(
      /outlier flags \(predicted_outlier < 0\) agree on .* %, anomaly_score difference mean/,
    );
    const promote = (limit: number) =>
      slipway(
        'erin',
        'promote',
        'secops/categorical@2',
        '--reason',
        'shadowed',
        '--max-shadow-diff',
        String(limit),
        '--min-shadow-requests',
        '1',
        '--json',
      );
    const blocked = await promote(mean / 2);
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(JSON.parse(blocked.stdout).gate.checks[1].message).toMatch(/^mean anomaly_score difference .* > /);
    const passed = await promote(Math.max(1.5, 2 * mean));
    expect(passed.code, passed.stderr).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({
      outcome: 'promoted',
      promotion: { previous: 1, version: 2 },
    });
    // For a classifier the same option is a probability difference: above 1 is refused up front.
    const wrongUnit = await slipway(
      'erin',
      'promote',
      'secops/categorical-classifier@1',
      '--reason',
      'x',
      '--max-shadow-diff',
      '2',
    );
    expect(wrongUnit.code).toBe(2);
    expect(wrongUnit.stderr).toMatch(/is a classifier, whose shadow differences are probabilities/);

    // serve --monitor recorded both kinds' answers at shutdown, as apply --monitor records them.
    const ws = openWorkspace(world.config);
    const served = (await monitoredBatches(ws, 'secops/categorical@1')).batches.filter((b) =>
      b.input.startsWith('slipway serve:'),
    );
    expect(served).toHaveLength(1);
    expect(served[0]).toMatchObject({ rows: n, score: { column: 'anomaly_score' } });
    const scores = first.map((r) => Number(r.anomaly_score));
    expect(served[0]?.score.histogram.edges[0]).toBeCloseTo(Math.min(...scores), 5);
    expect(served[0]?.score.histogram.edges.at(-1)).toBeCloseTo(Math.max(...scores), 5);
    expect(served[0]?.score.positiveRate).toBe(
      first.filter((r) => Number(r.predicted_outlier) < 0).length / n,
    );
    expect(served[0]?.features.find((f) => f.feature === 'account')).toMatchObject({
      kind: 'categorical',
      unseen: expect.arrayContaining(['intruder']),
    });
    const classifierBatches = (await monitoredBatches(ws, 'secops/categorical-classifier@1')).batches;
    expect(classifierBatches).toHaveLength(1);
    expect(classifierBatches[0]).toMatchObject({
      rows: 2 * n + 10,
      score: { column: 'probability(anomalous)' },
    });
    expect(classifierBatches[0]?.features.find((f) => f.feature === 'computer')).toMatchObject({
      kind: 'categorical',
      unseen: expect.arrayContaining(['WS-NEVER-SEEN']),
    });
  });

  it('trains without a label: evaluated by its score distribution, and promoted only by a person', async () => {
    const args = [
      'run',
      '--kind',
      'anomaly',
      '--source',
      'synthetic:winevents?rows=3000&seed=1',
      '--model',
      'secops/unlabelled',
      '--features',
      FEATURES,
      '--epochs',
      '5',
    ];
    const refused = await slipway('erin', ...args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--eval-label/);

    const run = await slipway('erin', ...args, '--no-promote', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.outcome).toBe('registered');
    expect(result.metrics).toBeUndefined();
    expect(result.evaluation.flaggedShare.train).toBeCloseTo(0.01, 2);
    const v1 = await registry.getVersion('secops/unlabelled', 1);
    expect(v1.metrics).toBeUndefined();
    // No labels: importance is the mean change of anomaly_score when a feature is shuffled.
    expect(v1.importance?.metric).toBe('meanAbsScoreChange');
    expect(v1.importance?.ranking[0]?.mean).toBeGreaterThan(0);
    expect(v1.gate?.checks[0]?.message).toMatch(/not evaluated/);
    const store = openArtifactStore(world.config);
    const evaluation = JSON.parse(
      (await store.getBytes(v1.artifacts.evaluation as NonNullable<typeof v1.artifacts.evaluation>)).toString(
        'utf8',
      ),
    );
    expect(evaluation.labelled).toBeUndefined();
    expect(evaluation.topRows).toHaveLength(20);
    expect(Object.keys(evaluation.topRows[0].features)).toEqual(FEATURES.split(','));
    expect(evaluation.quantiles.map((q: { q: number }) => q.q)).toEqual([0.5, 0.9, 0.99, 0.999, 1]);
  });

  it('schedule create --kind anomaly: a triggered run trains an anomaly version, the next skips unchanged data', async () => {
    const scheduleId = 'retrain-secops-sched';
    const created = await slipway(
      'erin',
      'schedule',
      'create',
      'secops/sched',
      '--kind',
      'anomaly',
      '--source',
      'synthetic:winevents?rows=3000&seed=3',
      '--features',
      FEATURES,
      '--eval-label',
      'anomalous',
      '--epochs',
      '5',
      '--every',
      '1d',
      '--id',
      scheduleId,
      '--no-promote',
      '--paused',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Created retrain-secops-sched: retrains secops\/sched every 1d/);
    // Options of the other kind are refused, as for `run`.
    const misplaced = await slipway(
      'erin',
      'schedule',
      'create',
      'secops/other',
      '--source',
      'x.csv',
      '--every',
      '1d',
      '--contamination',
      '0.05',
    );
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toMatch(/--contamination does not apply to --kind classifier/);

    const handle = world.client.schedule.getHandle(scheduleId);
    try {
      const action = (await handle.describe()).action as { args?: unknown[] };
      expect(action.args?.[0]).toMatchObject({
        retrainOn: 'data-change',
        anomaly: { modelName: 'secops/sched', evalLabel: 'anomalous', createdBy: `schedule:${scheduleId}` },
      });
      expect(action.args?.[0]).not.toHaveProperty('pipeline');
      const run = async (n: number): Promise<ScheduledRetrainResult> => {
        await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
        const deadline = Date.now() + 180_000;
        for (;;) {
          const actions = (await handle.describe()).info.recentActions;
          const last = actions[n - 1]?.action.workflow;
          if (last) {
            const h = world.client.workflow.getHandle(last.workflowId, last.firstExecutionRunId);
            return (await h.result()) as ScheduledRetrainResult;
          }
          if (Date.now() > deadline) throw new Error(`run ${n} of ${scheduleId} did not start`);
          await new Promise((r) => setTimeout(r, 250));
        }
      };
      const first = await run(1);
      expect(first).toMatchObject({ outcome: 'registered', model: 'secops/sched', version: 1 });
      const v1 = await registry.getVersion('secops/sched', 1);
      expect(v1).toMatchObject({ kind: 'anomaly', createdBy: `schedule:${scheduleId}` });
      expect(v1.metrics?.rocAuc).toBeGreaterThan(0.5);
      const second = await run(2);
      expect(second).toMatchObject({ outcome: 'skipped' });
      expect(second.reason).toMatch(/unchanged data: version 1 was trained on these bytes/);
    } finally {
      await handle.delete().catch(() => {});
    }
  });
});
