import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractUnlabelledDataset } from '../../domain/data/extractUnlabelled';
import { NO_LABEL_COLUMN } from '../../domain/data/noLabel';
import { readSnapshot } from '../../domain/data/snapshot';
import { useTempStore } from '../support/tempStore';

const temp = useTempStore('slipway-unlabelled-', 'artifacts');

async function extract(csv: string, features?: string[]) {
  const path = join(temp.root, 'events.csv');
  await writeFile(path, csv);
  return extractUnlabelledDataset({
    source: path,
    features,
    store: temp.store,
    workDir: join(temp.root, 'work'),
  });
}

describe('extraction without a label column', () => {
  it('snapshots the chosen features with an all-zero placeholder label', async () => {
    const { snapshot, summaryDoc } = await extract('computer,a,b\nWS-1,1,2.5\nWS-2,3,4\nWS-1,5,6\n', [
      'b',
      'a',
    ]);
    const m = readSnapshot(await temp.store.getBytes(snapshot));
    expect(m.features).toEqual(['b', 'a']);
    expect(Array.from(m.x)).toEqual([2.5, 1, 4, 3, 6, 5]);
    expect(Array.from(m.y)).toEqual([0, 0, 0]);
    expect(summaryDoc).toMatchObject({ rows: 3, target: NO_LABEL_COLUMN, positiveRate: 0 });
  });

  it('names the row and column of a cell that is not a number, and leaves nothing behind', async () => {
    await expect(extract('a,b\n1,2\n3,oops\n', ['a', 'b'])).rejects.toMatchObject({
      type: 'NonNumericValue',
      message: expect.stringMatching(/row 3, column "b"/),
    });
    await expect(readdir(join(temp.root, 'work'))).resolves.toEqual([]);
  });

  it('refuses a feature the header does not have, suggesting the near miss', async () => {
    await expect(
      extract('count_4624,count_4625\n1,2\n3,4\n', ['count_4624', 'count_4652']),
    ).rejects.toMatchObject({
      type: 'UnknownFeature',
      message: expect.stringMatching(/count_4652[\s\S]*count_4625/),
    });
  });
});
