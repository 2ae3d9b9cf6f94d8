import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../config/repoRoot';

// The ahead-of-time build (plain CommonJS, run before anything is compiled).
const build = require('../../infra/scripts/build.cjs') as {
  ensureBuild(): string;
  sourceFiles(): string[];
  buildHash(files: string[]): string;
};

/** Packages that take long to load: none of them may load for `slipway --help`. */
const HEAVY = [
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/proto',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-node',
  'onnxruntime-node',
  'apache-arrow',
  'hono',
  '@hono/node-server',
  'minio',
  'protobufjs',
  'cli-progress',
];

/** The packages a compiled CLI command loads, from a require hook that lists them at exit. */
function packagesLoadedBy(args: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const dir = build.ensureBuild();
  const hook = join(tmp, 'list-packages.cjs');
  writeFileSync(
    hook,
    `process.on('exit', () => {
      const names = new Set();
      for (const file of Object.keys(require.cache)) {
        const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file.slice(file.lastIndexOf('node_modules/')));
        if (m) names.add(m[1]);
      }
      require('node:fs').writeFileSync(${JSON.stringify(join(tmp, 'packages.json'))}, JSON.stringify([...names]));
    });\n`,
  );
  const run = spawnSync(process.execPath, ['--require', hook, join(dir, 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(require('node:fs').readFileSync(join(tmp, 'packages.json'), 'utf8'));
}

const tmp = mkdtempSync(join(tmpdir(), 'slipway-clibuild-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the CLI build', () => {
  it('builds every source file the CLI and the worker run, into dist/<hash of the sources>', () => {
    const files = build.sourceFiles().map((f) => f.slice(REPO_ROOT.length + 1));
    expect(files).toContain('cli/main.ts');
    expect(files).toContain('workflows/index.ts');
    expect(files).toContain('activities/index.ts');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('bench/'))).toBe(false);
    const dir = build.ensureBuild();
    expect(dir).toBe(join(REPO_ROOT, 'dist', build.buildHash(build.sourceFiles())));
  });

  it('gets another hash when any source changes, so a stale build is never the current one', () => {
    const a = join(tmp, 'a.ts');
    const b = join(tmp, 'b.ts');
    writeFileSync(a, 'export const x = 1;\n');
    writeFileSync(b, 'export const y = 1;\n');
    const before = build.buildHash([a, b]);
    expect(build.buildHash([a, b])).toBe(before);
    writeFileSync(b, 'export const y = 2;\n');
    expect(build.buildHash([a, b])).not.toBe(before);
    expect(build.buildHash([a])).not.toBe(before);
  });

  it('starts --help without loading the Temporal SDK, tfjs, onnxruntime, arrow, hono or minio', () => {
    const loaded = packagesLoadedBy(['--help']);
    expect(loaded).toContain('commander');
    expect(loaded.filter((p) => HEAVY.includes(p))).toEqual([]);
  });

  it('loads only what `models` needs to list models from a local folder', () => {
    const loaded = packagesLoadedBy(['models', '--json'], { SLIPWAY_STATE_DIR: join(tmp, 'state') });
    expect(loaded.filter((p) => HEAVY.includes(p))).toEqual([]);
  });
});
