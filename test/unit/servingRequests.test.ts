import { describe, expect, it } from 'vitest';
import { addedColumns } from '../../domain/scoring/columns';
import { probabilityText } from '../../domain/scoring/probabilityText';
import { CanarySplit, keyBucket } from '../../domain/serving/canary';
import type { RequestError } from '../../domain/serving/errors';
import { ServingMetrics } from '../../domain/serving/metrics';
import { type CsvLines, readCsvRows, readJsonRows } from '../../domain/serving/requestRows';
import {
  anomalyCsvAnswer,
  anomalyJsonAnswer,
  csvAnswer,
  jsonAnswer,
} from '../../domain/serving/responseBody';
import { compareAnomalyScores, compareScores, summarizeShadow } from '../../domain/serving/shadow';
import { rowsAs } from '../../domain/serving/shadowRows';

const features = ['Time', 'V1', 'Amount'];
const limits = { maxRows: 3, maxBodyBytes: 1 << 20 };
const added = addedColumns('Class');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const linesOf = (csv?: CsvLines) => csv?.starts.map((s, i) => csv.text.toString('utf8', s, csv.ends[i]));
const refusal = (f: () => unknown): RequestError => {
  try {
    f();
  } catch (error) {
    return error as RequestError;
  }
  throw new Error('expected a refusal');
};

describe('JSON rows', () => {
  it('reads objects by feature name (any key order, other keys ignored), arrays in feature order, and one row alone', () => {
    const byName = readJsonRows(
      json({ rows: [{ Amount: 3, id: 'a', V1: 2, Time: 1 }, [4, 5, 6]] }),
      features,
      limits,
    );
    expect(byName.nRows).toBe(2);
    expect([...byName.x]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...readJsonRows(json([[1, 2, 3]]), features, limits).x]).toEqual([1, 2, 3]);
    expect([...readJsonRows(json({ Time: 7, V1: 8, Amount: 9 }), features, limits).x]).toEqual([7, 8, 9]);
  });

  it('refuses bad input with 4xx and a message that names the field', () => {
    const missing = refusal(() =>
      readJsonRows(json({ rows: [[1, 2, 3], { Time: 1, v1: 2, Amount: 3 }] }), features, limits),
    );
    expect(missing.status).toBe(400);
    expect(missing.type).toBe('MissingField');
    expect(missing.message).toMatch(/rows\[1\]\.V1 is missing\. Did you mean "v1"\?/);
    const text = refusal(() =>
      readJsonRows(json({ rows: [{ Time: 1, V1: '2', Amount: 3 }] }), features, limits),
    );
    expect(text.type).toBe('NonNumericValue');
    expect(text.message).toMatch(/rows\[0\]\.V1 is the string "2", not a number/);
    const empty = refusal(() => readJsonRows(json({ rows: [[1, null, 3]] }), features, limits));
    expect(empty.message).toMatch(/rows\[0\]\.V1 is null/);
    const short = refusal(() => readJsonRows(json([[1, 2]]), features, limits));
    expect(short.type).toBe('WrongRowLength');
    expect(short.message).toMatch(
      /rows\[0\] has 2 values; the model takes 3, in this order: Time, V1, Amount/,
    );
    const huge = refusal(() => readJsonRows(json([[1, 1e39, 3]]), features, limits));
    expect(huge.type).toBe('ValueOutOfRange');
    const many = refusal(() =>
      readJsonRows(
        json([
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 3],
        ]),
        features,
        limits,
      ),
    );
    expect(many.status).toBe(413);
    expect(many.message).toMatch(/4 rows; at most 3/);
    expect(refusal(() => readJsonRows(Buffer.from('{"rows": ['), features, limits)).type).toBe(
      'MalformedJson',
    );
    expect(refusal(() => readJsonRows(json({ rows: [] }), features, limits)).type).toBe('NoRows');
  });
});

describe('CSV rows', () => {
  it('matches columns by name, keeps every column, and reads cells as apply does', () => {
    const rows = readCsvRows(
      Buffer.from('id,Amount,Time,V1\r\na,3,1,2\nb,6,4,5e0\n'),
      features,
      added,
      limits,
    );
    expect(rows.nRows).toBe(2);
    expect([...rows.x]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(linesOf(rows.csv)).toEqual(['id,Amount,Time,V1', 'a,3,1,2', 'b,6,4,5e0']);
    const quoted = readCsvRows(Buffer.from('id,Amount,Time,V1\n"x, y",3,1," 2"\n'), features, added, limits);
    expect([...quoted.x]).toEqual([1, 2, 3]);
    expect(linesOf(quoted.csv)).toEqual(['id,Amount,Time,V1', '"x, y",3,1," 2"']);
  });

  it('names the row and column of a bad cell, and the missing feature columns', () => {
    const cell = refusal(() =>
      readCsvRows(Buffer.from('Time,V1,Amount\n1,2,3\n1,oops,3\n'), features, added, limits),
    );
    expect(cell.type).toBe('NonNumericValue');
    expect(cell.message).toMatch(/request body, row 3, column "V1": "oops" is not a number/);
    const column = refusal(() =>
      readCsvRows(Buffer.from('Time,v1,Amount\n1,2,3\n'), features, added, limits),
    );
    expect(column.type).toBe('MissingFeatureColumn');
    expect(column.message).toMatch(/lacks the model's feature V1\. Did you mean "v1"\?/);
    const ragged = refusal(() => readCsvRows(Buffer.from('Time,V1,Amount\n1,2\n'), features, added, limits));
    expect(ragged.message).toMatch(/row 2: 2 fields where the header has 3/);
    const extra = refusal(() =>
      readCsvRows(Buffer.from('Time,V1,Amount\n1,2,3\n1,2,3,4\n'), features, added, limits),
    );
    expect(extra.message).toMatch(/row 3: 4 fields where the header has 3/);
    const empty = refusal(() => readCsvRows(Buffer.from('Time,V1,Amount\n1,,3\n'), features, added, limits));
    expect(empty.message).toMatch(/row 2, column "V1": the value is empty/);
    // Numbers the byte reader does not vouch for (17 digits, tiny exponents) are read by cells.ts.
    const precise = readCsvRows(
      Buffer.from('Time,V1,Amount\n0.12345678901234567, 1e-30 ,-0\n'),
      features,
      added,
      limits,
    );
    expect([...precise.x]).toEqual([...new Float32Array([Number('0.12345678901234567'), 1e-30, -0])]);
  });
});

describe('rows with categorical (text) features', () => {
  // An anomaly version's features: two numeric, two read as text (the graph's string inputs).
  const mixed = ['count', 'account', 'hour', 'computer'];
  const text = ['account', 'computer'];
  const anomalyAdded = { predicted: 'predicted_outlier', probability: 'anomaly_score' };

  it('reads JSON objects and arrays: numbers into x in feature order, text trimmed per categorical feature', () => {
    const rows = readJsonRows(
      json({
        rows: [
          { computer: 'WS-1', hour: 3, account: ' alice ', count: 12, extra: true },
          [7, 'bob', 23, 'never-seen-host'],
        ],
      }),
      mixed,
      limits,
      text,
    );
    expect(rows.nRows).toBe(2);
    expect([...rows.x]).toEqual([12, 3, 7, 23]);
    expect(rows.texts).toEqual([
      ['alice', 'bob'],
      ['WS-1', 'never-seen-host'],
    ]);
    // A category that looks like a number is still text when sent as a string.
    expect(readJsonRows(json([[1, '42', 2, 'x']]), mixed, limits, text).texts).toEqual([['42'], ['x']]);
  });

  it('refuses a number where text is expected and text where a number is, naming the field', () => {
    const number = refusal(() => readJsonRows(json({ rows: [[1, 42, 2, 'x']] }), mixed, limits, text));
    expect(number.status).toBe(400);
    expect(number.type).toBe('NonTextValue');
    expect(number.message).toMatch(
      /rows\[0\]\.account is the number 42, not text\. account is a categorical feature/,
    );
    expect(number.details).toMatchObject({ field: 'account' });
    const words = refusal(() =>
      readJsonRows(json({ count: 1, account: 'a', hour: 'three', computer: 'c' }), mixed, limits, text),
    );
    expect(words.type).toBe('NonNumericValue');
    expect(words.message).toMatch(/^hour is the string "three", not a number\. hour is a numeric feature/);
    const blank = refusal(() => readJsonRows(json([[1, '  ', 2, 'x']]), mixed, limits, text));
    expect(blank.type).toBe('NonTextValue');
    expect(blank.message).toMatch(/rows\[0\]\.account is an empty string/);
  });

  it('reads CSV bodies, plain and quoted, the same way; a bad numeric cell is named by row and column', () => {
    const body = 'id,computer,count,account,hour\nr1,WS-1,12, alice ,3\nr2,new-host,7,bob,23\n';
    const plain = readCsvRows(Buffer.from(body), mixed, anomalyAdded, limits, text);
    expect([...plain.x]).toEqual([12, 3, 7, 23]);
    expect(plain.texts).toEqual([
      ['alice', 'bob'],
      ['WS-1', 'new-host'],
    ]);
    expect(linesOf(plain.csv)).toEqual(body.trim().split('\n'));
    const quoted = readCsvRows(
      Buffer.from(body.replace('WS-1', '"WS,1"')),
      mixed,
      anomalyAdded,
      limits,
      text,
    );
    expect([...quoted.x]).toEqual([12, 3, 7, 23]);
    expect(quoted.texts[1]).toEqual(['WS,1', 'new-host']);
    for (const bad of [
      body.replace(',3\n', ',three\n'),
      body.replace(',3\n', ',three\n').replace('WS-1', '"WS-1"'),
    ]) {
      const refused = refusal(() => readCsvRows(Buffer.from(bad), mixed, anomalyAdded, limits, text));
      expect(refused.message).toMatch(/request body, row 2, column "?hour"?/);
    }
    const answered = refusal(() =>
      readCsvRows(Buffer.from(body.replace('hour', 'anomaly_score')), mixed, anomalyAdded, limits, text),
    );
    expect(answered.message).toMatch(/anomaly_score/);
  });
});

describe('anomaly answers', () => {
  it("write each row's anomaly_score and predicted_outlier as apply writes them", () => {
    const score = Float32Array.of(0.1, 2.5);
    const outlier = Float32Array.of(0.9, -1.5);
    const body = JSON.parse(
      anomalyJsonAnswer({ model: 'events', version: 2, alias: 'production' }, score, outlier).toString(),
    );
    expect(body.columns).toEqual(['anomaly_score', 'predicted_outlier']);
    expect(body.rows[0]).toEqual({
      anomaly_score: Number(String(score[0])),
      predicted_outlier: 0.8999999761581421,
    });
    expect(body.rows[1]).toEqual({ anomaly_score: 2.5, predicted_outlier: -1.5 });
    const csv = { text: Buffer.from('a,b\n1,x\n2,y'), starts: [0, 4, 8], ends: [3, 7, 11] };
    expect(anomalyCsvAnswer(csv, score, outlier).toString()).toBe(
      `a,b,anomaly_score,predicted_outlier\n1,x,${String(score[0])},${String(outlier[0])}\n2,y,2.5,-1.5\n`,
    );
  });

  it('compare two anomaly versions by anomaly_score, agreeing where both flag a row alike', () => {
    const c = compareAnomalyScores(
      { score: Float32Array.of(1, 2, 3), outlier: Float32Array.of(1, -0.5, -1) },
      { score: Float32Array.of(1.5, 2, 2), outlier: Float32Array.of(0.5, 0.25, -0.5) },
    );
    expect(c).toEqual({ rows: 3, score: 'anomaly_score', labelsAgree: 2, maxAbsDiff: 1, sumAbsDiff: 1.5 });
  });
});

describe('answers', () => {
  const p = new Float32Array([0.25, 1.2345678e-7, 0.9]);
  it('JSON: the answering version and, per row, the columns apply adds with its probability text', () => {
    const body = JSON.parse(
      jsonAnswer({ model: 'fraud', version: 4, alias: 'production' }, added, p, 0.5).toString(),
    );
    expect(body).toMatchObject({
      model: 'fraud',
      version: 4,
      alias: 'production',
      columns: ['predicted(Class)', 'probability(Class)'],
    });
    expect(body.rows).toEqual(
      [...p].map((x) => ({
        'predicted(Class)': x >= 0.5 ? 1 : 0,
        'probability(Class)': Number(probabilityText(x)),
      })),
    );
  });

  it('CSV: every line as sent with the two columns appended, as apply writes them', () => {
    const text = Buffer.from('id,Time\r\na,1\nb,2\nc,3');
    const out = csvAnswer({ text, starts: [0, 9, 13, 17], ends: [7, 12, 16, 20] }, added, p, 0.5).toString();
    expect(out).toBe(
      `id,Time,predicted(Class),probability(Class)\na,1,0,0.25\nb,2,0,${probabilityText(p[1] as number)}\nc,3,1,${probabilityText(p[2] as number)}\n`,
    );
  });
});

describe('metrics', () => {
  it('renders counters, the latency histogram and the version in Prometheus text', () => {
    const metrics = new ServingMetrics();
    metrics.serving('fraud', 'production', 3);
    metrics.request('fraud', 200, 0.0007, 10);
    metrics.request('fraud', 400, 0.003, 0);
    metrics.swap('fraud', 'production', 'refused');
    metrics.shadow('fraud', true);
    const text = metrics.render();
    expect(text).toContain('slipway_serve_requests_total{model="fraud",code="200"} 1');
    expect(text).toContain('slipway_serve_errors_total{model="fraud"} 1');
    expect(text).toContain('slipway_serve_rows_total{model="fraud"} 10');
    expect(text).toContain('slipway_serve_request_duration_seconds_bucket{model="fraud",le="0.001"} 1');
    expect(text).toContain('slipway_serve_request_duration_seconds_bucket{model="fraud",le="0.005"} 2');
    expect(text).toContain('slipway_serve_request_duration_seconds_count{model="fraud"} 2');
    expect(text).toContain('slipway_serve_model_version{model="fraud",alias="production"} 3');
    expect(text).toContain(
      'slipway_serve_version_changes_total{model="fraud",alias="production",outcome="refused"} 1',
    );
    expect(text).toContain('slipway_serve_shadow_requests_total{model="fraud",outcome="scored"} 1');
  });
});

describe('shadow comparisons', () => {
  it('counts label agreement and probability differences, and sums them up per pair of versions', () => {
    const a = new Float32Array([0.1, 0.6, 0.4, 0.9]);
    const b = new Float32Array([0.2, 0.4, 0.45, 0.9]);
    const c = compareScores(a, b, 0.5, 0.5);
    expect(c.rows).toBe(4);
    expect(c.labelsAgree).toBe(3);
    expect(c.maxAbsDiff).toBeCloseTo(0.2, 6);
    expect(c.sumAbsDiff).toBeCloseTo(0.1 + 0.2 + 0.05, 6);
    // Each version with its own threshold: at 0.449 the candidate flags row 2 as well, so it disagrees there.
    expect(compareScores(a, b, 0.5, 0.449).labelsAgree).toBe(2);
    const record = (version: number, ms: number, labelsAgree: number) => ({
      at: '2026-11-29T00:00:00Z',
      model: 'fraud',
      primary: { alias: 'production', version: 3, ms },
      shadow: { alias: 'staging', version, ms: 2 * ms },
      rows: 10,
      labelsAgree,
      maxAbsDiff: 0.01 * ms,
      sumAbsDiff: 0.05,
    });
    const report = summarizeShadow([record(4, 1, 10), record(4, 3, 8), record(5, 2, 9)]);
    expect(report).toHaveLength(2);
    expect(report[0]).toMatchObject({
      primaryVersion: 3,
      shadowVersion: 4,
      requests: 2,
      rows: 20,
      agreement: 0.9,
      meanAbsDiff: 0.005,
    });
    expect(report[0]?.maxAbsDiff).toBeCloseTo(0.03, 9);
    expect(report[0]?.primaryMs).toEqual({ p50: 1, p99: 3 });
    expect(report[1]).toMatchObject({ shadowVersion: 5, requests: 1, agreement: 0.9 });
  });
});

describe('canary split', () => {
  it('without a key, takes exactly the share asked, spread over arrival order', () => {
    const split = new CanarySplit(10);
    const taken = Array.from({ length: 1000 }, () => split.take());
    expect(taken.filter(Boolean)).toHaveLength(100);
    // Every tenth request, not the first hundred.
    expect(taken.slice(0, 20).filter(Boolean)).toHaveLength(2);
    expect(Array.from({ length: 50 }, () => new CanarySplit(100).take()).every(Boolean)).toBe(true);
    expect(() => new CanarySplit(101)).toThrow(/between 0 and 100/);
  });

  it('with a key, gives one key one side, and about the share asked over many keys', () => {
    const split = new CanarySplit(25);
    const keys = Array.from({ length: 4000 }, (_, i) => `customer-${i}`);
    const first = keys.map((k) => split.take(k));
    expect(keys.map((k) => split.take(k))).toEqual(first);
    const share = first.filter(Boolean).length / keys.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.28);
    expect(keyBucket('customer-1')).not.toBe(keyBucket('customer-2'));
  });
});

describe('a shadow candidate’s rows', () => {
  const limits = { maxRows: 100, maxBodyBytes: 1 << 20 };
  it('are the answering version’s rows taken by feature name: another order, fewer features, text kept as text', () => {
    const from = { features: ['count', 'account', 'hour', 'computer'], text: ['account', 'computer'] };
    // Sent as arrays in the answering version's order: the candidate must not read them positionally.
    const rows = readJsonRows(
      Buffer.from(
        JSON.stringify([
          [5, 'alice', 12, 'WS-1'],
          [9, 'bob', 3, 'WS-2'],
        ]),
      ),
      from.features,
      limits,
      from.text,
    );
    const to = { features: ['hour', 'computer', 'count'], text: ['computer'] };
    const taken = rowsAs(rows, from, to);
    expect(taken && [...taken.x]).toEqual([12, 5, 3, 9]);
    expect(taken?.texts).toEqual([['WS-1', 'WS-2']]);
    expect(taken?.nRows).toBe(2);
    // The same rows read for the candidate from objects by name give the same.
    const byName = readJsonRows(
      Buffer.from(
        JSON.stringify([
          { hour: 12, computer: 'WS-1', count: 5 },
          { hour: 3, computer: 'WS-2', count: 9 },
        ]),
      ),
      to.features,
      limits,
      to.text,
    );
    expect([...byName.x]).toEqual([...(taken?.x ?? [])]);
    expect(byName.texts).toEqual(taken?.texts);
  });

  it('are not made up: a feature the answering version did not read, or read as a number, gives none', () => {
    const from = { features: ['count', 'hour'], text: [] };
    const rows = readJsonRows(Buffer.from('[[1, 2]]'), from.features, limits);
    expect(rowsAs(rows, from, { features: ['count', 'hour', 'bytes'], text: [] })).toBeUndefined();
    expect(rowsAs(rows, from, { features: ['count', 'hour'], text: ['hour'] })).toBeUndefined();
  });
});
