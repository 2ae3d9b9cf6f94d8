import type * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { applyStandardScaler } from '../../domain/ml/scaler';
import { predictProbabilities } from '../../domain/ml/train';
import { exportedNetwork, runOnnx } from '../../domain/onnx/parity';
import { judgeParity } from '../../domain/onnx/parityVerdict';
import { referenceScores } from '../../domain/onnx/reference';
import { architectures, exportedModel, wildData } from '../support/onnxFixtures';
import { float32Forward } from '../support/randomDense';
import { useTfCpuBackend } from '../support/tfCpuBackend';

useTfCpuBackend();

/**
 * The gate must not depend on the CPU or on how an engine orders its float32 sums (issue 30: a
 * correct file was refused on an AVX-512 Xeon). Each export is scored by onnxruntime with every
 * thread count and graph optimisation level, by tfjs, and by a plain float32 pass that sums in
 * reverse; every pairing is judged against the exact reference, and none may be refused.
 */
const data = wildData(1000);
const sessionVariants: ort.InferenceSession.SessionOptions[] = [1, 2, 4].flatMap((threads) =>
  (['disabled', 'basic', 'extended', 'all'] as const).map((level) => ({
    intraOpNumThreads: threads,
    graphOptimizationLevel: level,
  })),
);

describe.each(Object.keys(architectures))('the parity gate on the %s network', (name) => {
  it('refuses no engine that sums in another order', async () => {
    const spec = architectures[name] as (typeof architectures)[string];
    const { model, scaler, bytes, layers } = await exportedModel(spec, data);
    const reference = referenceScores(exportedNetwork(layers, scaler), data.x, data.nRows, data.nFeatures);
    const tfjs = await predictProbabilities(
      model,
      applyStandardScaler(scaler, data.x, data.nFeatures),
      data.nRows,
      data.nFeatures,
    );
    const reversed = float32Forward(
      { layers, scaler, x: data.x, nRows: data.nRows, nFeatures: data.nFeatures },
      'reverse',
    );
    const worst = { onnx: 0, tfjs: 0, reversed: 0 };
    let distinct = 0;
    let first: Float32Array | undefined;
    for (const options of sessionVariants) {
      const onnx = await runOnnx(bytes, data.x, data.nRows, data.nFeatures, 8192, options);
      if (first && onnx.probability.some((p, i) => p !== first?.[i])) distinct++;
      first ??= onnx.probability;
      for (const trainer of [tfjs, reversed]) {
        const report = judgeParity({
          reference,
          onnxProbability: onnx.probability,
          onnxLabel: onnx.label,
          trainerProbability: trainer,
          threshold: 0.5,
        });
        worst.onnx = Math.max(worst.onnx, report.onnx.boundUsed);
        if (trainer === tfjs) worst.tfjs = Math.max(worst.tfjs, report.trainer.boundUsed);
        else worst.reversed = Math.max(worst.reversed, report.trainer.boundUsed);
      }
    }
    console.log(
      `${name}: worst error as a fraction of its bound: onnxruntime (${sessionVariants.length} settings, ` +
        `${distinct + 1} distinct outputs) ${worst.onnx.toExponential(2)}, tfjs ${worst.tfjs.toExponential(2)}, ` +
        `reverse-order float32 ${worst.reversed.toExponential(2)}`,
    );
    expect(worst.onnx).toBeLessThan(1);
    expect(worst.tfjs).toBeLessThan(1);
    expect(worst.reversed).toBeLessThan(1);
    // The engines really do differ from each other, so the gate was not judging copies.
    expect(reversed.some((p, i) => p !== tfjs[i])).toBe(true);
    model.dispose();
  });
});
