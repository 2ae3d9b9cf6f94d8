import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeVersionOf } from '../../config/codeVersion';

/** A small git repository shaped like a Slipway checkout: tracked sources, ignored install outputs. */
function makeRepo(dir: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' }).toString().trim();
  git('init', '-q');
  git('config', 'user.email', 'test@example.invalid');
  git('config', 'user.name', 'test');
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\ndist/\n.slipway/\nnative/**/build/\n*.log\n');
  writeFileSync(join(dir, 'main.ts'), 'export const a = 1;\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'first');
  return git('rev-parse', '--short=12', 'HEAD');
}

/** What an install and a first command write: all of it ignored by the repository. */
function writeInstallOutputs(dir: string): void {
  for (const [path, text] of [
    ['node_modules/pkg/index.js', 'x'],
    ['dist/0123456789abcdef/cli/main.js', 'compiled'],
    ['.slipway/stack.json', '{}'],
    ['native/blas-gemm/build/Release/blas_gemm.node', 'bin'],
    ['native/blas-gemm/build.log', 'log'],
  ] as const) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

describe('codeVersionOf', () => {
  let a: string;
  let b: string;
  beforeEach(() => {
    a = mkdtempSync(join(tmpdir(), 'slipway-codeversion-a-'));
    b = mkdtempSync(join(tmpdir(), 'slipway-codeversion-b-'));
  });
  afterEach(() => {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  });

  it('is the version and commit of a clean checkout, with no -dirty after the install outputs appear', () => {
    const commit = makeRepo(a);
    expect(codeVersionOf(a, '1.2.3')).toBe(`1.2.3+${commit}`);
    writeInstallOutputs(a);
    expect(codeVersionOf(a, '1.2.3')).toBe(`1.2.3+${commit}`);
  });

  it('marks an edited tracked file as dirty, with a hash of the diff that two checkouts share', () => {
    makeRepo(a);
    execFileSync('git', ['clone', '-q', a, b]);
    for (const dir of [a, b]) writeFileSync(join(dir, 'main.ts'), 'export const a = 2;\n');
    const version = codeVersionOf(a, '1.2.3');
    expect(version).toMatch(/^1\.2\.3\+[0-9a-f]{12}-dirty\.[0-9a-f]{12}$/);
    expect(codeVersionOf(b, '1.2.3')).toBe(version);
    writeFileSync(join(b, 'main.ts'), 'export const a = 3;\n');
    expect(codeVersionOf(b, '1.2.3')).not.toBe(version);
  });

  it('is the version alone outside a git checkout', () => {
    expect(codeVersionOf(a, '1.2.3')).toBe('1.2.3+unknown');
  });
});
