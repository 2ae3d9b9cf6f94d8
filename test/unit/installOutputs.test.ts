import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../config/repoRoot';

interface LockEntry {
  optionalDependencies?: Record<string, string>;
}

/** Where npm puts `name` as seen from the package at `from` (its own node_modules first, then up). */
function resolveInLock(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (
    let dir = from;
    ;
    dir = dir.includes('/node_modules/') ? dir.slice(0, dir.lastIndexOf('/node_modules/')) : ''
  ) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
  }
}

describe('a fresh clone stays clean after the quick start', () => {
  it("records every platform's optional packages in package-lock.json, as `npm ci` requires", () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, LockEntry>;
    };
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        if (!resolveInLock(lock.packages, path, name))
          missing.push(`${name} (optional for ${path || 'the root'})`);
      }
    }
    // A lockfile made on one platform by some npm versions omits the others' binaries; `npm install`
    // then adds them (a modified tracked file in every fresh clone) and `npm ci` refuses the lockfile.
    expect(missing).toEqual([]);
  });

  it('ignores everything the install, the build and the commands write into the tree', () => {
    const written = [
      'node_modules/commander/index.js',
      'node_modules/.slipway-deps',
      'dist/0123456789abcdef/cli/main.js',
      'dist/.tmp-123-456/cli/main.js',
      'native/blas-gemm/build/Release/blas_gemm.node',
      'native/blas-gemm/build.log',
      '.slipway/stack.json',
      '.slipway/npm-install.lock',
      'test-output/console/models.png',
      'bench/results/bench-quick-2026.json',
      'bench/keras/.venv/tensorflow-cpu/bin/python',
    ];
    const ignored = execFileSync('git', ['check-ignore', '--no-index', ...written], { cwd: REPO_ROOT })
      .toString()
      .trim()
      .split('\n');
    expect(ignored).toEqual(written);
  });
});
