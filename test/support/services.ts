import { inject } from 'vitest';
import type { PythonOnnx } from '../../infra/pythonTools';

/**
 * The real services the global setup (test/setup/stack.ts) started for this test run.
 * Tests talk to these, never to mocks.
 */
export interface TestServices {
  /** host:port of the Temporal dev server's frontend. */
  temporalAddress: string;
  namespace: string;
  s3: {
    endpoint: string; // http://127.0.0.1:PORT
    accessKey: string;
    secretKey: string;
    region: string;
  };
  /** A bucket that exists on the MinIO server, for tests to use under their own prefixes. */
  bucket: string;
  /** A scratch state folder for this run (git-ignored). */
  stateDir: string;
  /** Path of the time-skipping test server binary, for timer-heavy workflow tests. */
  timeSkippingServerPath?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: TestServices;
    /** Set by a global setup that ran ensurePythonOnnx; otherwise onnxChecker.test.ts runs it itself. */
    pythonOnnx?: PythonOnnx;
  }
}

export function testServices(): TestServices {
  return inject('services');
}
