import { describe, expect, it } from 'vitest';
import { type BackendName, selectBackend } from '../../domain/ml/backend';
import { architectures, exportedModel, parityOnAllRows, wildData } from '../support/onnxFixtures';

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
      const exported = await exportedModel(spec, data);
      const { model } = exported;
      const report = await parityOnAllRows(exported, data);
      expect(report.onnx.boundUsed).toBeLessThan(1);
      expect(report.trainer.boundUsed).toBeLessThan(1);
      model.dispose();
    });
  },
);
