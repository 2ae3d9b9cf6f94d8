import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  explainerForOnnx,
  explanationColumns,
  openRowExplainer,
  type RowExplainer,
} from '../../domain/explain/rowExplainer';
import { type AutoencoderWeights, reconstructionErrors } from '../../domain/ml/autoencoder';
import { encodeCheckpoint } from '../../domain/ml/checkpoint';
import type { StandardScalerParams } from '../../domain/ml/scalerTypes';
import { buildAnomalyOnnx } from '../../domain/onnx/anomalyExporter';
import { openAnomalyScorer } from '../../domain/scoring/anomalyScorer';
import { type BinaryScorer, openBinaryScorer } from '../../domain/scoring/binaryScorer';
import { addedColumns } from '../../domain/scoring/columns';
import { probabilityText } from '../../domain/scoring/probabilityText';
import { openThreadedScorer } from '../../domain/scoring/threadedScorer';
import { checkAnomalyVersion } from '../../domain/serving/anomalyCheck';
import { CanarySplit, keyBucket } from '../../domain/serving/canary';
import { ServingMetrics } from '../../domain/serving/metrics';
import { type RunningServer, type ScoredRows, startScoringServer } from '../../domain/serving/scoringServer';
import {
  type AnomalyVersion,
  type ClassifierVersion,
  type Lease,
  ServedModel,
} from '../../domain/serving/servedModel';
import { servingScorer } from '../../domain/serving/servingScorer';
import {
  compareAnomalyScores,
  compareScores,
  type ShadowRecord,
  summarizeShadow,
} from '../../domain/serving/shadow';
import { type CheckReference, checkVersion, trainedReference } from '../../domain/serving/versionCheck';
import { architectures, exportedModel, wildData } from '../support/onnxFixtures';

/**
 * The scoring service's pure parts on real onnxruntime sessions: the version check against the
 * trained network, the lease that lets in-flight requests finish on a swapped-out version, and
 * the HTTP routes over loopback.
 */
describe('scoring service', () => {
  const data = wildData(400);
  const spec = architectures['tanh-shallow'];
  let first: Awaited<ReturnType<typeof exportedModel>>;
  let other: Awaited<ReturnType<typeof exportedModel>>;
  let reference: CheckReference;

  const checkpointOf = async (m: typeof first) =>
    encodeCheckpoint({ epoch: 1, history: [], weights: m.model.getWeights(), optimizer: [] });

  beforeAll(async () => {
    if (!spec) throw new Error('no tanh-shallow architecture');
    first = await exportedModel(spec, data);
    other = await exportedModel(spec, wildData(400, 31));
    reference = trainedReference(spec, await checkpointOf(first), first.scaler);
  });

  async function loaded(
    version: number,
    bytes: Uint8Array,
    explainable: 'explainable' | 'not' = 'explainable',
  ): Promise<ClassifierVersion> {
    const scorer = await openBinaryScorer(bytes, data.nFeatures, undefined, { intraOpThreads: 1 });
    const features = [...data.features];
    return {
      model: 'wild',
      version,
      features,
      target: 'Class',
      threshold: 0.5,
      columns: addedColumns('Class'),
      scorer,
      check: await checkVersion(scorer, reference, data.nFeatures),
      explainer:
        explainable === 'explainable'
          ? await openRowExplainer(
              explainerForOnnx(bytes, 'probability', features).graph,
              features,
              features.length,
            )
          : { notExplainable: 'the test says so' },
    };
  }

  it('passes the file exported from the trained weights, and refuses another training’s file', async () => {
    const good = await loaded(1, first.bytes);
    expect(good.check).toMatchObject({ passed: true, rows: 64, source: 'trained' });
    expect(good.check.worstBoundUsed).toBeLessThanOrEqual(1);
    const swapped = await loaded(2, other.bytes);
    expect(swapped.check.passed).toBe(false);
    if (!swapped.check.passed)
      expect(swapped.check.reason).toMatch(
        /on probe row \d+ the served file gives .* trained weights and scaler give/,
      );
    await Promise.all([good.scorer.release(), swapped.scorer.release()]);
  });

  it('scores small requests on the main session and large ones on the model thread, alike', async () => {
    const main = await openBinaryScorer(first.bytes, data.nFeatures, undefined, { intraOpThreads: 1 });
    const threaded = openThreadedScorer(first.bytes, data.nFeatures, main, { intraOpThreads: 1 });
    const calls: string[] = [];
    const spy = (name: string, s: BinaryScorer): BinaryScorer => ({
      ...s,
      score: (x, n) => {
        calls.push(`${name}:${n}`);
        return s.score(x, n);
      },
    });
    const scorer = servingScorer(spy('main', main), spy('thread', threaded), data.nFeatures, 64);
    const small = await scorer.score(data.x, 63);
    const large = await scorer.score(data.x, 400);
    expect(calls).toEqual(['main:63', 'thread:400']);
    // The same file on the same runtime: the same float32 outputs on either thread.
    expect([...large.subarray(0, 63)]).toEqual([...small]);
    // Both sessions answer, so both are checked.
    expect(scorer.sessions).toHaveLength(2);
    expect((await checkVersion(scorer.sessions, reference, data.nFeatures)).passed).toBe(true);

    // Small requests that arrive together are scored in one run of the main session (up to 64
    // rows a run), and each gets the outputs of its own rows: those of the rows scored alone.
    calls.length = 0;
    const n = data.nFeatures;
    const sizes = [1, 1, 3, 1, 50, 20, 1];
    let from = 0;
    const requests = sizes.map((rows) => {
      const x = data.x.slice(from * n, (from + rows) * n);
      from += rows;
      return { x, rows };
    });
    const together = await Promise.all(requests.map((r) => scorer.score(r.x, r.rows)));
    expect(calls).toEqual(['main:56', 'main:21']);
    calls.length = 0;
    for (const [i, r] of requests.entries()) {
      const alone = await scorer.score(r.x, r.rows);
      expect(together[i]).toHaveLength(r.rows);
      expect([...(together[i] as Float32Array)]).toEqual([...alone]);
    }
    expect(calls).toEqual(sizes.map((rows) => `main:${rows}`));
    await scorer.release();
  });

  it('lets a request finish on the version it started on, keeps swapped-out versions warm, and closes them after', async () => {
    const served = new ServedModel('wild', 'production', 2);
    let released = 0;
    const counting = (l: ClassifierVersion): ClassifierVersion => ({
      ...l,
      scorer: {
        ...l.scorer,
        score: l.scorer.score,
        release: async () => {
          released++;
          await l.scorer.release();
        },
      },
    });
    served.swapIn(counting(await loaded(1, first.bytes)));
    const lease = served.acquire();
    served.swapIn(counting(await loaded(2, first.bytes)));
    expect(served.version).toBe(2);
    expect(lease?.loaded.version).toBe(1);
    // The old session still answers its request.
    expect((await ((lease as Lease).loaded as ClassifierVersion).scorer.score(data.x, 1)).length).toBe(1);
    // A move back to a warm spare needs no load.
    expect(served.swapBack(1)).toBe(true);
    expect(served.version).toBe(1);
    expect(served.spareVersions).toEqual([2]);
    expect(served.swapBack(9)).toBe(false);
    served.swapIn(counting(await loaded(3, first.bytes)));
    served.swapIn(counting(await loaded(4, first.bytes)));
    // Two spares kept (1 and 3); version 2 was pushed out and closed (nothing ran on it).
    expect(served.spareVersions).toEqual([1, 3]);
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(1);
    served.swapIn(counting(await loaded(5, first.bytes)));
    // Version 1 is pushed out too, but a request still runs on it: closed only once it is done.
    expect(served.spareVersions).toEqual([3, 4]);
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(1);
    expect(served.inFlight).toBe(1);
    lease?.release();
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(2);
    await served.shutdown();
    expect(released).toBe(5);
  });

  describe('over HTTP', () => {
    let served: ServedModel;
    let running: RunningServer;
    const metrics = new ServingMetrics();
    const shadowed: ShadowRecord[] = [];
    const candidate = new ServedModel('wild', 'staging');
    // Empty until the canary test swaps a version in: requests then all go to production.
    const canary = new ServedModel('wild', 'canary');
    const auth = { authorization: 'Bearer s3cret' };
    beforeAll(async () => {
      served = new ServedModel('wild', 'production');
      served.swapIn(await loaded(7, first.bytes));
      candidate.swapIn(await loaded(8, other.bytes));
      running = await startScoringServer(
        {
          models: [served],
          metrics,
          token: 's3cret',
          limits: { maxRows: 100, maxBodyBytes: 4096 },
          shadows: new Map([[served, candidate]]),
          canaries: new Map([[served, { candidate: canary, split: new CanarySplit(50) }]]),
          onShadow: (r) => shadowed.push(r),
        },
        { host: '127.0.0.1', port: 0 },
      );
    });
    afterAll(() => running?.drain(1000));

    const post = (body: string, type = 'application/json', headers: Record<string, string> = auth) =>
      fetch(`${running.url}/score`, { method: 'POST', body, headers: { 'content-type': type, ...headers } });

    it('scores JSON and CSV like apply, naming the answering version', async () => {
      const rows = [0, 1, 2].map((r) =>
        Array.from(data.x.subarray(r * data.nFeatures, (r + 1) * data.nFeatures)),
      );
      const expected = await (served.loaded as ClassifierVersion).scorer.score(data.x, 3);
      const res = await post(JSON.stringify({ rows }));
      expect(res.status).toBe(200);
      expect(res.headers.get('slipway-model-version')).toBe('7');
      const body = (await res.json()) as { rows: Array<Record<string, number>> };
      expect(body).toMatchObject({ model: 'wild', version: 7, alias: 'production' });
      expect(body.rows.map((r) => r['probability(Class)'])).toEqual(
        [...expected].map((p) => Number(probabilityText(p))),
      );
      const csv = `id,${data.features.join(',')}\n${rows.map((r, i) => `r${i},${r.join(',')}`).join('\n')}\n`;
      const scored = await post(csv, 'text/csv');
      expect(scored.status).toBe(200);
      const lines = (await scored.text()).trim().split('\n');
      expect(lines[0]).toBe(`id,${data.features.join(',')},predicted(Class),probability(Class)`);
      expect(lines[1]).toBe(
        `r0,${rows[0]?.join(',')},${(expected[0] as number) >= 0.5 ? 1 : 0},${probabilityText(expected[0] as number)}`,
      );
    });

    it('scores each answered request with the shadow candidate too, and records how they compare', async () => {
      shadowed.length = 0;
      const rows = [3, 4, 5, 6].map((r) =>
        Array.from(data.x.subarray(r * data.nFeatures, (r + 1) * data.nFeatures)),
      );
      const res = await post(JSON.stringify({ rows }));
      expect((await res.json()) as object).toMatchObject({ version: 7 });
      // Only this request has 4 rows (the earlier ones' shadows may still be landing).
      const mine = () => shadowed.filter((r) => r.rows === 4);
      for (let i = 0; i < 100 && mine().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      const x = data.x.subarray(3 * data.nFeatures, 7 * data.nFeatures);
      const answered = await (served.loaded as ClassifierVersion).scorer.score(x, 4);
      const shadow = await (candidate.loaded as ClassifierVersion).scorer.score(x, 4);
      expect(mine()).toHaveLength(1);
      expect(mine()[0]).toMatchObject({
        model: 'wild',
        primary: { alias: 'production', version: 7 },
        shadow: { alias: 'staging', version: 8 },
        ...compareScores(answered, shadow, 0.5, 0.5),
      });
      expect(summarizeShadow(mine())[0]).toMatchObject({
        primaryVersion: 7,
        shadowVersion: 8,
        requests: 1,
        rows: 4,
      });
    });

    it('sends a deterministic share to the canary once it has a version, by request key when given', async () => {
      const row = [Array.from(data.x.subarray(0, data.nFeatures))];
      const versionOf = async (key?: string) => {
        const res = await post(JSON.stringify({ rows: row }), 'application/json', {
          ...auth,
          ...(key ? { 'slipway-request-key': key } : {}),
        });
        const body = (await res.json()) as { version: number; alias: string };
        expect(res.headers.get('slipway-model-version')).toBe(String(body.version));
        return `${body.alias}:${body.version}`;
      };
      canary.swapIn(await loaded(9, first.bytes));
      try {
        const unkeyed = [];
        for (let i = 0; i < 6; i++) unkeyed.push(await versionOf());
        expect(unkeyed).toEqual([
          'production:7',
          'canary:9',
          'production:7',
          'canary:9',
          'production:7',
          'canary:9',
        ]);
        const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
        const once = [];
        for (const k of keys) once.push(await versionOf(k));
        const again = [];
        for (const k of keys) again.push(await versionOf(k));
        expect(again).toEqual(once);
        expect(once.map((v, i) => (v === 'canary:9') === keyBucket(keys[i] as string) < 5000)).toEqual(
          keys.map(() => true),
        );
      } finally {
        await canary.shutdown();
      }
    });

    it('refuses bad input with 4xx naming the field, and requests without the token', async () => {
      const bad = await post(JSON.stringify({ rows: [{ tiny: 1 }] }));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: unknown }).error).toMatchObject({
        type: 'MissingField',
        details: { field: 'huge', version: 7 },
      });
      expect((await post('{}', 'application/json', {})).status).toBe(401);
      const big = await post(JSON.stringify({ rows: Array.from({ length: 200 }, () => [1, 2, 3, 4, 5]) }));
      expect(big.status).toBe(413);
    });

    it('answers health, readiness and metrics', async () => {
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${running.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, models: [{ model: 'wild', version: 7 }] });
      const text = await (await fetch(`${running.url}/metrics`)).text();
      expect(text).toMatch(/slipway_serve_requests_total\{model="wild",code="200"\} 25/);
      expect(text).toMatch(/slipway_serve_requests_total\{model="wild",code="400"\} 1/);
    });

    it('explains rows on ?explain=k with the columns and text apply --explain writes, and refuses a bad k', async () => {
      const F = data.nFeatures;
      const rows = [0, 1, 2].map((r) => Array.from(data.x.subarray(r * F, (r + 1) * F)));
      const version = served.loaded as ClassifierVersion;
      const explainer = version.explainer as RowExplainer;
      const probabilities = await version.scorer.score(data.x, 3);
      const explainPost = (query: string, body: string, type = 'application/json') =>
        fetch(`${running.url}/score?${query}`, {
          method: 'POST',
          body,
          headers: { 'content-type': type, ...auth },
        });
      // CSV: apply's header and, per row, the explainer's own reason/effect text after the probability.
      const csv = `id,${data.features.join(',')}\n${rows.map((r, i) => `r${i},${r.join(',')}`).join('\n')}\n`;
      const scored = await explainPost('explain=2', csv, 'text/csv');
      expect(scored.status).toBe(200);
      const lines = (await scored.text()).trim().split('\n');
      expect(lines[0]).toBe(
        `id,${data.features.join(',')},predicted(Class),probability(Class),${explanationColumns('Class', 2).join(',')}`,
      );
      const expected = await explainer.explain(data.x, 3, 2);
      lines.slice(1).forEach((line, i) => {
        const p = probabilities[i] as number;
        expect(line).toBe(
          `r${i},${rows[i]?.join(',')},${p >= 0.5 ? 1 : 0},${probabilityText(p)}${expected[i]}`,
        );
      });
      // JSON: the same reasons and effects as members; with every feature named they add up to
      // the probability's distance from the baseline (the explainer's definition).
      const all = await explainPost(`explain=${F}`, JSON.stringify({ rows }));
      expect(all.status).toBe(200);
      const body = (await all.json()) as { columns: string[]; rows: Array<Record<string, number | string>> };
      expect(body.columns).toEqual([
        'predicted(Class)',
        'probability(Class)',
        ...explanationColumns('Class', F),
      ]);
      const { baselineProbability } = explainerForOnnx(first.bytes, 'probability', [...data.features]);
      body.rows.forEach((row, i) => {
        const effects = Array.from({ length: F }, (_, r) => row[`effect${r + 1}(Class)`] as number);
        const reasons = Array.from({ length: F }, (_, r) => row[`reason${r + 1}(Class)`]);
        expect(new Set(reasons)).toEqual(new Set(data.features));
        expect(effects.reduce((a, b) => a + b, 0)).toBeCloseTo(
          (probabilities[i] as number) - baselineProbability,
          2,
        );
        expect(`,${reasons[0]},${effects[0]},${reasons[1]},${effects[1]}`).toBe(expected[i]?.toString());
      });
      for (const bad of ['explain=0', 'explain=-1', `explain=${F + 1}`, 'explain=two']) {
        const refused = await explainPost(bad, JSON.stringify({ rows }));
        expect(refused.status, bad).toBe(400);
        expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
          type: 'InvalidExplain',
          details: { field: 'explain' },
        });
      }
    });

    it('answers 422 saying why when the version cannot explain its rows', async () => {
      const opaque = new ServedModel('wild', 'production');
      opaque.swapIn(await loaded(5, first.bytes, 'not'));
      const other = await startScoringServer(
        { models: [opaque], metrics: new ServingMetrics() },
        { host: '127.0.0.1', port: 0 },
      );
      try {
        const row = JSON.stringify({ rows: [Array.from(data.x.subarray(0, data.nFeatures))] });
        const post = (query: string) =>
          fetch(`${other.url}/score${query}`, {
            method: 'POST',
            body: row,
            headers: { 'content-type': 'application/json' },
          });
        expect((await post('')).status).toBe(200);
        const refused = await post('?explain=1');
        expect(refused.status).toBe(422);
        expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
          type: 'NotExplainable',
          message: expect.stringMatching(/wild v5 cannot explain its rows: the test says so/),
        });
      } finally {
        await other.drain(1000);
      }
    });
  });
});

/**
 * Anomaly versions on the same server: a categorical feature read as text (an unseen category
 * scored), the answer's columns, `?explain` refused, and a shadow compared by anomaly_score.
 */
describe('scoring service, anomaly versions', () => {
  const features = ['count', 'account', 'hour'];
  const scaler: StandardScalerParams = {
    kind: 'standard',
    features,
    mean: [5, 0.5, 12],
    std: [2, 0.25, 6],
    categorical: {
      kind: 'frequency',
      columns: [{ feature: 'account', index: 1, categories: ['alice', 'bob'], frequencies: [0.75, 0.25] }],
    },
  };
  const weights: AutoencoderWeights = {
    format: 'slipway-autoencoder-v1',
    nFeatures: 3,
    layers: [
      { nIn: 3, nOut: 2, weights: [0.5, -0.3, 0.2, 0.8, -0.6, 0.1], bias: [0.05, -0.1], activation: 'tanh' },
      {
        nIn: 2,
        nOut: 3,
        weights: [0.9, -0.2, 0.4, 0.3, 0.7, -0.5],
        bias: [0, 0.1, -0.05],
        activation: 'linear',
      },
    ],
  };
  const meta = { modelName: 'events', producerVersion: 'test', datasetSha256: '0'.repeat(64), runId: 'r' };
  const version = async (n: number, threshold: number): Promise<AnomalyVersion> => {
    const scorer = await openAnomalyScorer(buildAnomalyOnnx({ weights, scaler, threshold, ...meta }), 2, [
      'account',
    ]);
    return {
      kind: 'anomaly',
      model: 'events',
      version: n,
      features,
      threshold,
      scorer,
      check: await checkAnomalyVersion(scorer, { weights, scaler, threshold }, 2),
    };
  };
  let server: RunningServer;
  const shadowed: ShadowRecord[] = [];
  const monitored: ScoredRows[] = [];
  const served = new ServedModel('events', 'production');
  const candidate = new ServedModel('events', 'staging');

  beforeAll(async () => {
    served.swapIn(await version(1, 0.5));
    candidate.swapIn(await version(2, 2));
    expect(served.loaded?.check.passed).toBe(true);
    server = await startScoringServer(
      {
        models: [served],
        metrics: new ServingMetrics(),
        shadows: new Map([[served, candidate]]),
        onShadow: (r) => shadowed.push(r),
        onScored: (r) => monitored.push(r),
      },
      { host: '127.0.0.1', port: 0 },
    );
  });
  afterAll(() => server?.drain(1000));

  const post = (body: string, query = '') =>
    fetch(`${server.url}/score${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  it('answers anomaly_score and predicted_outlier from the text and numbers sent, and the shadow compares them', async () => {
    const rows = [
      { count: 5, account: 'alice', hour: 12 },
      [9, 'bob', 3],
      { hour: 23, account: 'never-seen', count: 40 },
    ];
    const res = await post(JSON.stringify({ rows }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { columns: string[]; rows: Array<Record<string, number>> };
    expect(body.columns).toEqual(['anomaly_score', 'predicted_outlier']);
    const x = Float32Array.of(5, 12, 9, 3, 40, 23);
    const texts = [['alice', 'bob', 'never-seen']];
    const primary = await (served.loaded as AnomalyVersion).scorer.score(x, 3, texts);
    expect(body.rows).toEqual(
      Array.from(primary.score, (s, i) => ({ anomaly_score: s, predicted_outlier: primary.outlier[i] })),
    );
    // The unseen account is scored as a frequency of 0, as the exact model does with a code it lacks.
    const exact = reconstructionErrors(weights, scaler, Float32Array.of(40, 2, 23), 1)[0] as number;
    expect(Math.abs((body.rows[2]?.anomaly_score as number) - exact)).toBeLessThan(1e-4 * (1 + exact));
    for (let i = 0; i < 100 && shadowed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const shadow = await (candidate.loaded as AnomalyVersion).scorer.score(x, 3, texts);
    expect(shadowed[0]).toMatchObject({
      primary: { alias: 'production', version: 1 },
      shadow: { alias: 'staging', version: 2 },
      ...compareAnomalyScores(primary, shadow),
    });
    expect(shadowed[0]?.score).toBe('anomaly_score');
    // Same graph, other thresholds: the scores agree exactly, the flags where both thresholds agree.
    expect(shadowed[0]?.maxAbsDiff).toBe(0);
    expect(summarizeShadow(shadowed)[0]).toMatchObject({ score: 'anomaly_score', rows: 3 });
    // serve --monitor gets the answered rows: numbers, the categories' text and anomaly_score.
    expect(monitored).toHaveLength(1);
    expect(monitored[0]?.loaded.version).toBe(1);
    expect([...(monitored[0]?.x ?? [])]).toEqual([...x]);
    expect(monitored[0]?.texts).toEqual(texts);
    expect([...(monitored[0]?.scores ?? [])]).toEqual([...primary.score]);
  });

  it('refuses a number sent as the category and ?explain, naming the field', async () => {
    const number = await post(JSON.stringify([[1, 2, 3]]));
    expect(number.status).toBe(400);
    expect(((await number.json()) as { error: { message: string } }).error.message).toMatch(
      /rows\[0\]\.account is the number 2, not text/,
    );
    const explained = await post(JSON.stringify([[1, 'alice', 3]]), '?explain=1');
    expect(explained.status).toBe(422);
    expect(((await explained.json()) as { error: { type: string } }).error.type).toBe('NotExplainable');
  });
});
