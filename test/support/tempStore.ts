import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { LocalArtifactStore } from '../../domain/storage/localStore';

export interface TempStore {
  /** The test's temp folder. */
  root: string;
  /** A local artifact store in it (at `root`, or at `root/<sub>` when a sub-folder was asked for). */
  store: LocalArtifactStore;
}

/**
 * A temp folder of its own, fresh for each test of the calling file (or, with `perFile`, one for
 * the whole file or describe block), removed afterwards. Register it before the file's own hooks,
 * which then find `root` filled in.
 */
export function useTempDir(prefix: string, options: { perFile?: boolean } = {}): { root: string } {
  const temp = {} as { root: string };
  const [before, after] = options.perFile ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    temp.root = await mkdtemp(join(tmpdir(), prefix));
  });
  after(() => rm(temp.root, { recursive: true, force: true }));
  return temp;
}

/**
 * A local artifact store in its own temp folder, fresh for each test of the calling file (or, with
 * `perFile`, one for the whole file), removed afterwards. Register it before the file's own hooks,
 * which then find it filled in.
 */
export function useTempStore(prefix: string, sub?: string, options: { perFile?: boolean } = {}): TempStore {
  const temp = useTempDir(prefix, options) as TempStore;
  (options.perFile ? beforeAll : beforeEach)(() => {
    temp.store = new LocalArtifactStore(sub === undefined ? temp.root : join(temp.root, sub));
  });
  return temp;
}
