import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { LocalArtifactStore } from '../../domain/storage/localStore';

export interface TempStore {
  /** The test's temp folder. */
  root: string;
  /** A local artifact store in it (at `root`, or at `root/<sub>` when a sub-folder was asked for). */
  store: LocalArtifactStore;
}

/**
 * A fresh local artifact store in its own temp folder for each test of the calling file, removed
 * after the test. Register it before the file's own beforeEach hooks, which then find it filled in.
 */
export function useTempStore(prefix: string, sub?: string): TempStore {
  const temp = {} as TempStore;
  beforeEach(async () => {
    temp.root = await mkdtemp(join(tmpdir(), prefix));
    temp.store = new LocalArtifactStore(sub === undefined ? temp.root : join(temp.root, sub));
  });
  afterEach(() => rm(temp.root, { recursive: true, force: true }));
  return temp;
}
