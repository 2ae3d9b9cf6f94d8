import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { exportToOnnx } from '../../domain/onnx/exporter';
import { ensurePythonOnnx } from '../../infra/pythonTools';
import { architectures, testMetadata, trainedModel, wildData } from '../support/onnxFixtures';

const run = promisify(execFile);

/**
 * The ONNX project's own checker (Python `onnx.checker.check_model(..., full_check=True)`) on
 * exported files: an opinion independent of Slipway's validator and of onnxruntime.
 */
describe('exported files pass the ONNX checker', () => {
  let dir: string;
  let python: string | undefined;
  let missing = '';

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'slipway-onnx-check-'));
    const found = await ensurePythonOnnx(loadConfig().binCache);
    if ('python' in found) python = found.python;
    else {
      missing = found.missing;
      console.warn(`SKIPPING the ONNX checker test: ${missing}`);
    }
  }, 600_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const name of ['reference', 'elu-selu-dropout', 'softplus-linear-deep']) {
    it(`${name} network, full_check=True (skipped with a notice when Python's onnx cannot be installed)`, async (ctx) => {
      if (!python) {
        ctx.skip(missing);
        return;
      }
      const spec = architectures[name] as (typeof architectures)[string];
      const data = wildData(300);
      const { model, scaler } = await trainedModel(spec, data);
      const path = join(dir, `${name}.onnx`);
      await writeFile(
        path,
        exportToOnnx({ model, spec, scaler, threshold: 0.5, metadata: testMetadata(data.features) }),
      );
      model.dispose();
      const { stdout } = await run(python, [
        '-c',
        'import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok", m.opset_import[0].version)',
        path,
      ]);
      expect(stdout.trim()).toBe('ok 13');
    });
  }
});
