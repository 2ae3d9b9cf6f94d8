import { Context } from '@temporalio/activity';
import { exportToOnnx } from '../domain/onnx/exporter';
import { checkParity, type ParityReport } from '../domain/onnx/parity';
import { assertWithinSizeLimit, onnxSizeReport, type SizeReport } from '../domain/onnx/size';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import { codeVersion } from './codeVersion';
import type { ActivityDeps } from './deps';
import { withFailureMapping } from './failures';
import { disposeModel, loadTrainedModel, type ModelInputRefs } from './modelInputs';

export interface ExportOnnxParams extends ModelInputRefs {
  modelName: string;
  threshold: number;
  datasetSha256: string;
  runId: string;
  opset: number;
  sizeLimitBytes: number;
}

export interface ExportedOnnx {
  onnx: ArtifactRef;
  parity: ParityReport;
  size: SizeReport;
}

/**
 * ONNX export behind two gates: the file must score the held-out rows like the evaluated model
 * (parity) and fit the upload limit; only then is it written.
 */
export function exportOnnxActivity(deps: ActivityDeps) {
  return async function exportOnnx(params: ExportOnnxParams): Promise<ExportedOnnx> {
    return withFailureMapping(async () => {
      Context.current().heartbeat();
      const { model, data, scaler } = await loadTrainedModel(deps.store, params);
      try {
        const bytes = exportToOnnx({
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
        const size = onnxSizeReport(bytes.length, params.sizeLimitBytes);
        assertWithinSizeLimit(size);
        const parity = await checkParity({
          onnxBytes: bytes,
          model,
          scaler,
          rawX: data.testRaw,
          nRows: data.nTest,
          nFeatures: data.nFeatures,
        });
        const onnx = await deps.store.put(bytes, {
          kind: 'onnx',
          mediaType: 'application/onnx',
          extension: '.onnx',
        });
        return { onnx, parity, size };
      } finally {
        disposeModel(model);
      }
    });
  };
}
