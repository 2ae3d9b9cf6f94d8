import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../cli/errors';

/** A command that meets a file-system error on a path says which path and what to do, not Node's errno text. */
describe('the CLI on file-system errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-file-errors-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('names a missing path (or its missing folder) and says to check it', async () => {
    const missing = join(dir, 'no-such-folder', 'slipway.yaml');
    const error = await writeFile(missing, 'x').catch((e: unknown) => e);
    expect(describeError(error)).toBe(
      `error: ${missing}: no such file or folder (a file is written only into a folder that exists): check the path.`,
    );
  });

  it('says a folder given for a file is a folder', async () => {
    const error = await writeFile(dir, 'x').catch((e: unknown) => e);
    expect(describeError(error)).toBe(`error: ${dir} is a folder; give a file's path.`);
  });

  it('leaves other errors as they were', () => {
    expect(describeError(new Error('something else'))).toBe('error: something else');
  });
});
