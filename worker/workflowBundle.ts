import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { REPO_ROOT } from '../config/repoRoot';

let cached: Promise<WorkflowBundleWithSourceMap | { code: string }> | undefined;

/**
 * Workflows are bundled once per process; bundling takes seconds, workers can share the result.
 * A compiled build (dist/<hash of the sources>/) also keeps the bundle beside itself, keyed by the
 * lockfile too (the bundle holds the SDK's and zod's code), so the next worker process of the same
 * sources starts without bundling: a machine that starts several workers pays for it once.
 */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap | { code: string }> {
  cached ??= extname(__filename) === '.js' ? bundleKeptInBuild() : bundle();
  return cached;
}

function bundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    // The workflows beside this file: TypeScript under tests and tsx, JavaScript in a dist/ build.
    workflowsPath: resolve(__dirname, `../workflows/index${extname(__filename)}`),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
}

async function bundleKeptInBuild(): Promise<{ code: string }> {
  let lock = '';
  try {
    lock = createHash('sha256')
      .update(await readFile(join(REPO_ROOT, 'package-lock.json')))
      .digest('hex')
      .slice(0, 16);
  } catch {
    return bundle(); // no lockfile to key by: bundle afresh rather than risk a stale bundle
  }
  const path = resolve(__dirname, `../workflow-bundle-${lock}.js`);
  try {
    return { code: await readFile(path, 'utf8') };
  } catch {
    // not kept yet: bundle and keep it (renamed into place whole, so a reader never sees a part)
  }
  const built = await bundle();
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, built.code)
    .then(() => rename(partial, path))
    .catch(() => {}); // a read-only build still works, it just bundles every time
  return built;
}
