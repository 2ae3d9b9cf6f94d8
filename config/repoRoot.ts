import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root: the nearest folder above this file that holds package.json. This file runs
 * from the TypeScript sources (tests, tsx) and from a build in dist/<hash>/config/ (bin/slipway),
 * so a fixed number of `..` would be wrong in one of the two.
 */
export const REPO_ROOT = findRoot(__dirname);

/** The version in package.json. */
export const PACKAGE_VERSION: string = JSON.parse(
  readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'),
).version;

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json in any folder above ${from}`);
  }
}
