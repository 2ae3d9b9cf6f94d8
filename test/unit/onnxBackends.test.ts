import { describe, expect, it } from 'vitest';
import { type BackendName, selectBackend } from '../../domain/ml/backend';
import { exportDenseModel } from '../../domain/onnx/exporter';
import { checkParity } from '../../domain/onnx/parity';
import { architectures, testMetadata, trainedModel, wildData } from '../support/onnxFixtures';

/**
 * The pipeline trains and evaluates on the fastest backend that loads (wasm with native GEMM,
 * wasm, cpu); the gate compares the file with predictions from that same backend. Each backend
 * sums in its own order, so parity is checked on each one here, not only on cpu.
 */
const data = wildData(1000);
const spec = architectures.reference as (typeof architectures)[string];

describe.each(['wasm-blas', 'wasm'] as BackendName[])(
  'parity of the reference network on the %s backend',
  (backend) => {
    it('stays within the float32 bound of the exact model', async (ctx) => {
      try {
        await selectBackend({ force: backend });
      } catch (err) {
        console.warn(`SKIPPING ${backend} parity: ${(err as Error).message}`);
        ctx.skip(`${backend} is not available: ${(err as Error).message}`);
        return;
      }
      const { model, scaler } = await trainedModel(spec, data);
      const { bytes, layers } = exportDenseModel({
        model,
        spec,
        scaler,
        threshold: 0.5,
        metadata: testMetadata(data.features),
      });
      const report = await checkParity({
        onnxBytes: bytes,
        layers,
        model,
        scaler,
        rawX: data.x,
        nRows: 1000,
        nFeatures: 5,
      });
      expect(report.onnx.boundUsed).toBeLessThan(1);
      expect(report.trainer.boundUsed).toBeLessThan(1);
      model.dispose();
    });
  },
);
