import type { z } from 'zod';
import { assertWithinSizeLimit, onnxSizeReport, type SizeReport } from '../domain/onnx/size';
import type { ArtifactRef } from '../domain/storage/artifactRef';
import type { ActivityDeps } from './deps';
import type { RecordedStepOptions } from './recordedStep';

/** What the export step of any trained model reads: its data, scaler and model, and the run it belongs to. */
export interface OnnxExportRefs {
  snapshot: ArtifactRef;
  split: ArtifactRef;
  scaler: ArtifactRef;
  model: ArtifactRef;
  /** Recorded in the file's metadata; not part of the cache key (a reused file names its own run). */
  runId: string;
  cache?: boolean;
}

/**
 * The export step's cache key and lineage, the same for a classifier and an anomaly model: the
 * four artifacts as inputs, every other setting but the run id as params, the file as output.
 */
export function onnxExportStep<T extends { onnx: ArtifactRef }>(
  params: OnnxExportRefs,
  schema: z.ZodType<T>,
): RecordedStepOptions<T> {
  const { runId: _runId, cache, snapshot, split, scaler, model, ...keyed } = params;
  return {
    step: 'export',
    inputs: { snapshot, split, scaler, model },
    params: keyed,
    outputs: (r: T) => ({ onnx: r.onnx }),
    cache: { enabled: cache !== false, schema },
  };
}

/**
 * An exported file's two gates, then the store: it must fit the upload limit (checked first, as
 * it is cheap) and pass its parity gate; only then is it written, so a refused file leaves nothing.
 */
export async function storeGatedOnnx<P>(
  deps: ActivityDeps,
  bytes: Uint8Array,
  sizeLimitBytes: number,
  parityGate: () => Promise<P>,
): Promise<{ onnx: ArtifactRef; parity: P; size: SizeReport }> {
  const size = onnxSizeReport(bytes.length, sizeLimitBytes);
  assertWithinSizeLimit(size);
  const parity = await parityGate();
  const onnx = await deps.store.put(bytes, {
    kind: 'onnx',
    mediaType: 'application/onnx',
    extension: '.onnx',
  });
  return { onnx, parity, size };
}
