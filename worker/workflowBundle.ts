import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { REPO_ROOT } from '../config/repoRoot';

let cached: Promise<WorkflowBundleWithSourceMap | { code: string }> | undefined;

/**
 * Workflows are bundled once per process; bundling takes seconds, workers can share the result.
 * A compiled build (dist/<hash of the sources>/) also keeps the bundle beside itself, keyed by the
 * lockfile too (the bundle holds the SDK's and zod's code), so the next worker process of the same
 * sources starts without bundling: a machine that starts several workers pays for it once. Run from
 * source (tests, tsx), a process uses the build of the same sources, compiled first if there is
 * none (about a second), and its kept bundle: each test file's workers had bundled for themselves,
 * about 5 CPU seconds each.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap | { code: string }> {
  cached ??= extname(__filename) === '.js' ? bundleKeptInBuild(resolve(__dirname, '..')) : bundleOfSources();
  return cached;
}

function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath,
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
}

/** Run from source: the bundle kept in the build of these sources, or (no build possible) a fresh one. */
function bundleOfSources(): Promise<WorkflowBundleWithSourceMap | { code: string }> {
  let buildDir: string;
  try {
    const build = createRequire(__filename)(join(REPO_ROOT, 'infra', 'scripts', 'build.cjs'));
    buildDir = build.ensureBuild();
  } catch {
    return bundle(resolve(__dirname, '../workflows/index.ts'));
  }
  return bundleKeptInBuild(buildDir);
}

/** The bundle of `buildDir`'s workflows, kept beside them (dist/<hash>/workflow-bundle-<lock>.js). */
async function bundleKeptInBuild(buildDir: string): Promise<{ code: string }> {
  const workflowsPath = join(buildDir, 'workflows', 'index.js');
  let lock = '';
  try {
    lock = createHash('sha256')
      .update(await readFile(join(REPO_ROOT, 'package-lock.json')))
      .digest('hex')
      .slice(0, 16);
  } catch {
    return bundle(workflowsPath); // no lockfile to key by: bundle afresh rather than risk a stale bundle
  }
  const path = join(buildDir, `workflow-bundle-${lock}.js`);
  try {
    return { code: await readFile(path, 'utf8') };
  } catch {
    // not kept yet: bundle and keep it (renamed into place whole, so a reader never sees a part)
  }
  const built = await bundle(workflowsPath);
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, built.code)
    .then(() => rename(partial, path))
    .catch(() => {}); // a read-only build still works, it just bundles every time
  return built;
}
