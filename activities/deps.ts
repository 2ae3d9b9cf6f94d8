import type { SlipwayConfig } from '../config/env';
import type { exportDenseModel } from '../domain/onnx/exporter';
import type { ArtifactStore } from '../domain/storage/artifactStore';

export interface ActivityDeps {
  config: SlipwayConfig;
  store: ArtifactStore;
  /**
   * The exporter the export step writes ONNX with (default: domain/onnx/exporter.ts). A test
   * gives a faulty one to show that the parity gate stops its file inside a running pipeline.
   */
  exportDenseModel?: typeof exportDenseModel;
}
