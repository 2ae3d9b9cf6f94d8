import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../config/env';
import { applyStandardScaler } from '../../domain/ml/scaler';
import { predictProbabilities } from '../../domain/ml/train';
import { exportToOnnx, irVersionFor } from '../../domain/onnx/exporter';
import { decodeModel, encodeModel } from '../../domain/onnx/onnxProto';
import { ensurePythonOnnx, PYTHON_ONNX_VERSION, type PythonOnnx } from '../../infra/pythonTools';
import { architectures, testMetadata, trainedModel, wildData } from '../support/onnxFixtures';

/** Runs the checker; prints "ok <opset> <ir>" or the checker's error. */
const CHECK = `
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print("ok", m.opset_import[0].version, m.ir_version)
`;

/** The ONNX project's reference evaluator: a third implementation, beside tfjs and onnxruntime. */
const EVALUATE = `
import sys, json, numpy as np
from onnx.reference import ReferenceEvaluator
rows = json.load(sys.stdin)
x = np.array(rows["x"], dtype=np.float32).reshape(rows["n"], -1)
p, label = ReferenceEvaluator(sys.argv[1]).run(None, {"features": x})
print(json.dumps({"p": p.reshape(-1).tolist(), "label": label.reshape(-1).tolist(), "shape": list(p.shape)}))
`;

async function runPython(python: string, script: string, path: string, stdin?: string): Promise<string> {
  const child = execFile(python, ['-c', script, path], { maxBuffer: 64 * 1024 * 1024 });
  const out = new Promise<string>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(stderr.trim()))));
  });
  child.stdin?.end(stdin ?? '');
  return out;
}

/**
 * The ONNX project's own checker (Python `onnx.checker.check_model(..., full_check=True)`, which
 * also runs strict shape inference) on exported files: an opinion independent of Slipway's
 * validator and of onnxruntime.
 */
describe(`exported files pass the ONNX checker (Python onnx ${PYTHON_ONNX_VERSION})`, async () => {
  // Decided at collection time (vitest awaits an async describe), so a skipped test carries the
  // reason in its name. The venv is cached: after the first run on a machine this is a stat.
  const pythonOnnx: PythonOnnx = inject('pythonOnnx') ?? (await ensurePythonOnnx(loadConfig().binCache));
  const python = 'python' in pythonOnnx ? pythonOnnx.python : '';
  const skipNote = 'missing' in pythonOnnx ? ` [SKIPPED: ${pythonOnnx.missing}]` : '';
  if ('missing' in pythonOnnx) console.warn(`SKIPPING the ONNX checker tests: ${pythonOnnx.missing}`);
  let dir: string;
  const data = wildData(300);

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'slipway-onnx-check-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cases: Array<[string, number]> = [
    ['reference', 13],
    ['elu-selu-dropout', 13],
    ['softplus-linear-deep', 13],
    ['tanh-shallow', 21],
  ];
  for (const [name, opset] of cases) {
    it.skipIf(!python)(
      `${name} network at opset ${opset}: full_check passes and the reference evaluator agrees with tfjs${skipNote}`,
      async () => {
        const spec = architectures[name] as (typeof architectures)[string];
        const { model, scaler } = await trainedModel(spec, data);
        const path = join(dir, `${name}-${opset}.onnx`);
        await writeFile(
          path,
          exportToOnnx({ model, spec, scaler, threshold: 0.5, metadata: testMetadata(data.features), opset }),
        );
        const tfjs = await predictProbabilities(
          model,
          applyStandardScaler(scaler, data.x, data.nFeatures),
          data.nRows,
          data.nFeatures,
        );
        model.dispose();

        expect((await runPython(python, CHECK, path)).trim()).toBe(`ok ${opset} ${irVersionFor(opset)}`);

        const ref = JSON.parse(
          await runPython(python, EVALUATE, path, JSON.stringify({ x: Array.from(data.x), n: data.nRows })),
        ) as { p: number[]; label: number[]; shape: number[] };
        expect(ref.shape).toEqual([data.nRows, 1]);
        let maxDiff = 0;
        ref.p.forEach((p, i) => {
          maxDiff = Math.max(maxDiff, Math.abs(p - (tfjs[i] as number)));
          expect(ref.label[i]).toBe(p >= 0.5 ? 1 : 0);
        });
        expect(maxDiff).toBeLessThanOrEqual(1e-5);
      },
    );
  }

  it.skipIf(!python)(`rejects a hand-broken file, so a pass means something${skipNote}`, async () => {
    const spec = architectures['tanh-shallow'] as (typeof architectures)[string];
    const { model, scaler } = await trainedModel(spec, data);
    const decoded = decodeModel(
      exportToOnnx({ model, spec, scaler, threshold: 0.5, metadata: testMetadata(data.features) }),
    );
    model.dispose();
    // A node reads a value nothing defines. Slipway's validator would refuse to encode this, so
    // it is written with the bare encoder. (A kernel whose raw data does not fit its dims is NOT
    // caught by this checker version, one reason Slipway validates initializers itself.)
    const gemm = decoded.graph.node.find((n) => n.opType === 'Gemm');
    if (!gemm) throw new Error('no Gemm node');
    gemm.input = ['nowhere', ...gemm.input.slice(1)];
    const path = join(dir, 'broken.onnx');
    await writeFile(path, encodeModel(decoded));
    await expect(runPython(python, CHECK, path)).rejects.toThrow(/nowhere/);
  });
});
