import { describe, expect, it } from 'vitest';
import { addedColumns } from '../../domain/scoring/columns';
import { explainCount } from '../../domain/serving/explainRequest';
import { MonitorBuffer, pendingBatchCsv } from '../../domain/serving/monitorBuffer';
import type { AnomalyVersion, ClassifierVersion } from '../../domain/serving/servedModel';

/** Only what the buffer reads of a version: its name, number, features and columns. */
const version = (v: number) =>
  ({
    model: 'fraud',
    version: v,
    features: ['a', 'b'],
    target: 'Class',
    threshold: 0.5,
    columns: addedColumns('Class'),
  }) as unknown as ClassifierVersion;

const rows = (v: number, n: number, start = 0) => ({
  loaded: version(v),
  x: Float32Array.from({ length: n * 2 }, (_, i) => start + i),
  texts: [],
  scores: Float32Array.from({ length: n }, (_, i) => (start + i) / 100),
});

describe('serve --monitor batches', () => {
  it('hands out a version’s batch once it has maxRows rows, keeping versions apart', () => {
    const buffer = new MonitorBuffer(5, 60_000);
    expect(buffer.add(rows(1, 3), 0)).toBeUndefined();
    expect(buffer.add(rows(2, 4), 1)).toBeUndefined();
    const full = buffer.add(rows(1, 2, 10), 2);
    expect(full).toMatchObject({ rows: 5, firstAt: 0, lastAt: 2 });
    expect(full?.loaded.version).toBe(1);
    // The next rows of v1 start a new batch; v2's are still waiting.
    expect(buffer.add(rows(1, 1), 3)).toBeUndefined();
    expect(
      buffer
        .drainAll()
        .map((b) => [b.loaded.version, b.rows])
        .sort(),
    ).toEqual([
      [1, 1],
      [2, 4],
    ]);
    expect(buffer.drainAll()).toEqual([]);
  });

  it('hands out a batch whose first row is maxAgeMs old, and copies the rows it keeps', () => {
    const buffer = new MonitorBuffer(1000, 100);
    const request = rows(1, 2);
    buffer.add(request, 1000);
    request.x.fill(-1);
    expect(buffer.due(1099)).toEqual([]);
    const [due] = buffer.due(1100);
    expect(due?.rows).toBe(2);
    expect([...(due?.x[0] ?? [])]).toEqual([0, 1, 2, 3]);
  });

  it('writes a batch as the scored CSV apply --monitor reads back', () => {
    const buffer = new MonitorBuffer(3, 60_000);
    buffer.add(rows(1, 1), 0);
    const batch = buffer.add(rows(1, 2, 4), 1);
    expect(batch && pendingBatchCsv(batch).toString()).toBe(
      `a,b,probability(Class)\n0,1,${Float32Array.of(0)[0]}\n4,5,${Float32Array.of(0.04)[0]}\n6,7,${Float32Array.of(0.05)[0]}\n`,
    );
  });

  it('writes an anomaly version’s batch with its categorical features as text and anomaly_score, as apply writes them', () => {
    // Only what the buffer reads of an anomaly version: its features and which are text.
    const anomaly = {
      kind: 'anomaly',
      model: 'secops/events',
      version: 3,
      features: ['count', 'account', 'hour', 'computer'],
      threshold: 1.5,
      scorer: { categorical: ['account', 'computer'] },
    } as unknown as AnomalyVersion;
    const buffer = new MonitorBuffer(3, 60_000);
    buffer.add(
      {
        loaded: anomaly,
        x: Float32Array.of(5, 12),
        texts: [['alice'], ['WS-1']],
        scores: Float32Array.of(0.25),
      },
      0,
    );
    const batch = buffer.add(
      {
        loaded: anomaly,
        x: Float32Array.of(9, 3, 40, 23),
        // JSON bodies may send any text: a comma or a quote is quoted, as a CSV writer does.
        texts: [
          ['bob', 'o"neil'],
          ['WS-2', 'WS,NEW'],
        ],
        scores: Float32Array.of(2.5, 0.75),
      },
      1,
    );
    expect(batch?.rows).toBe(3);
    expect(batch && pendingBatchCsv(batch).toString()).toBe(
      'count,account,hour,computer,anomaly_score\n5,alice,12,WS-1,0.25\n9,bob,3,WS-2,2.5\n40,"o""neil",23,"WS,NEW",0.75\n',
    );
  });
});

describe('the explain query parameter', () => {
  it('reads k from 1 to the feature count, and none when not asked', () => {
    expect(explainCount('', 30)).toBeUndefined();
    expect(explainCount('other=1', 30)).toBeUndefined();
    expect(explainCount('explain=3', 30)).toBe(3);
    expect(explainCount('explain=30', 30)).toBe(30);
  });

  it('refuses 0, a negative, a count above the features, text and a repeat, naming the field', () => {
    for (const bad of [
      'explain=0',
      'explain=-2',
      'explain=31',
      'explain=',
      'explain=3.5',
      'explain=1&explain=2',
    ]) {
      expect(() => explainCount(bad, 30), bad).toThrow(
        /explain=.* is not a feature count: give explain=k with k from 1 to 30/,
      );
      try {
        explainCount(bad, 30);
      } catch (error) {
        expect(error).toMatchObject({ status: 400, type: 'InvalidExplain', details: { field: 'explain' } });
      }
    }
  });
});
