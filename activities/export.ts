import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { codeVersion } from '../config/codeVersion';
import type { StepCacheInfo } from '../contracts/progress';
import { exportDenseModel } from '../domain/onnx/exporter';
import { checkParity } from '../domain/onnx/parity';
import { parityReportSchema } from '../domain/onnx/parityReportSchema';
import { sizeReportSchema } from '../domain/onnx/size';
import { artifactRefSchema } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';
import { disposeModel, loadTrainedModel, type ModelInputRefs } from './modelInputs';
import { onnxExportStep, storeGatedOnnx } from './onnxExportStep';
import { recordedStep } from './recordedStep';

export interface ExportOnnxParams extends ModelInputRefs {
  modelName: string;
  threshold: number;
  datasetSha256: string;
  /** Recorded in the file's metadata; not part of the cache key (a reused file names its own run). */
  runId: string;
  opset: number;
  sizeLimitBytes: number;
  cache?: boolean;
}

const exportedOnnxSchema = z.object({
  onnx: artifactRefSchema,
  parity: parityReportSchema,
  size: sizeReportSchema,
});
export type ExportedOnnx = z.infer<typeof exportedOnnxSchema> & { cache?: StepCacheInfo };

/**
 * ONNX export behind two gates: the file must score the held-out rows like the evaluated model
 * (parity, probabilities and labels) and fit the upload limit; only then is it written.
 */
export function exportOnnxActivity(deps: ActivityDeps) {
  return async function exportOnnx(params: ExportOnnxParams): Promise<ExportedOnnx> {
    return heartbeating(() =>
      recordedStep(deps, onnxExportStep(params, exportedOnnxSchema), () => exportModel(params)),
    );
  };

  async function exportModel(params: ExportOnnxParams): Promise<ExportedOnnx> {
    const { model, data, scaler } = await loadTrainedModel(deps.store, params);
    try {
      const { bytes, layers } = (deps.exportDenseModel ?? exportDenseModel)({
        model,
        spec: params.spec,
        scaler,
        threshold: params.threshold,
        opset: params.opset,
        metadata: {
          modelName: params.modelName,
          features: data.features,
          target: params.target,
          producerVersion: codeVersion(),
          datasetSha256: params.datasetSha256,
          runId: params.runId,
        },
      });
      return await storeGatedOnnx(deps, bytes, params.sizeLimitBytes, () =>
        checkParity({
          onnxBytes: bytes,
          layers,
          model,
          scaler,
          rawX: data.testRaw,
          nRows: data.nTest,
          nFeatures: data.nFeatures,
          threshold: params.threshold,
          onProgress: () => Context.current().heartbeat(),
        }),
      );
    } finally {
      disposeModel(model);
    }
  }
}
