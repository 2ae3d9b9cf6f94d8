import { extname, resolve } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

let cached: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Workflows are bundled once per process; bundling takes seconds, workers can share the result. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  cached ??= bundleWorkflowCode({
    // The workflows beside this file: TypeScript under tests and tsx, JavaScript in a dist/ build.
    workflowsPath: resolve(__dirname, `../workflows/index${extname(__filename)}`),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  return cached;
}
