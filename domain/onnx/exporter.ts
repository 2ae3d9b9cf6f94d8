import type * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../ml/modelSpec';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { categoricalInputs, ML_DOMAIN, ML_OPSET } from './categoricalInputs';
import { type DenseLayerWeights, extractDenseLayers } from './denseLayers';
import { OnnxExportError } from './errors';
import { BATCH_DIM, denseLayerNodes, floatTensor, INPUT_NAME, inputScaling, tensorType } from './graphParts';
import {
  AttributeType,
  DataType,
  decodeModel,
  encodeModel,
  type ModelDef,
  type NodeDef,
  type TensorDef,
} from './onnxProto';
import { validateOnnxModel } from './validate';

export interface OnnxMetadata {
  modelName: string;
  /** Feature names in input column order; must be the scaler's features, in the scaler's order. */
  features: string[];
  target: string;
  producerVersion: string;
  /** sha256 (hex) of the dataset snapshot the model was trained on. */
  datasetSha256: string;
  /** The pipeline run that trained the model. */
  runId: string;
  /** More key/value pairs to record (e.g. the training backend), stored as `slipway.<key>`. */
  extra?: Record<string, string>;
}

export interface ExportOptions {
  model: tf.LayersModel;
  spec: ModelSpec;
  scaler: StandardScalerParams;
  /** Rows scoring at or above it get label 1, as in evaluation. */
  threshold: number;
  metadata: OnnxMetadata;
  /** Default 13; anything from 13 to 21 (what onnxruntime-node 1.30 and onnx 1.19 both know). */
  opset?: number;
}

export { BATCH_DIM, INPUT_NAME };
export const PROBABILITY_OUTPUT = 'probability';
export const LABEL_OUTPUT = 'label';
export const DEFAULT_OPSET = 13;
export const MAX_OPSET = 21;

/** The IR version each opset was released with, so runtimes of that era still open the file. */
export function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/**
 * One self-contained ONNX graph for the operations platform: raw features in, in the declared
 * order; the scaler (Sub, Div) inside; each dense layer as Gemm plus its activation; dropout
 * gone (it is the identity at inference); `probability` [N, 1] and `label` [N, 1] out.
 * Returns the encoded ModelProto; writing it is the caller's business, after the parity gate.
 */
export function exportToOnnx(options: ExportOptions): Uint8Array {
  return exportDenseModel(options).bytes;
}

/** The encoded file and the layers it was written from, which the parity gate's reference reads. */
export function exportDenseModel(options: ExportOptions): {
  bytes: Uint8Array;
  layers: DenseLayerWeights[];
} {
  const { model, spec, scaler, threshold, metadata } = options;
  const opset = options.opset ?? DEFAULT_OPSET;
  checkExportInputs(scaler, threshold, metadata, opset);
  const layers = extractDenseLayers(model, spec, scaler.features.length);
  return { bytes: encodeChecked(buildOnnxModel({ layers, scaler, threshold, metadata, opset })), layers };
}

/** Validates, encodes, and reads back what was written, so an encoding slip is caught here. */
export function encodeChecked(definition: ModelDef): Uint8Array {
  const problems = validateOnnxModel(definition);
  if (problems.length > 0) {
    throw new OnnxExportError(
      'OnnxStructureError',
      `The exported graph is malformed: ${problems.join('; ')}. This is a bug in the exporter; nothing was written.`,
      { problems },
    );
  }
  const bytes = encodeModel(definition);
  const reread = validateOnnxModel(decodeModel(bytes));
  if (reread.length > 0) {
    throw new OnnxExportError(
      'OnnxStructureError',
      `The encoded file does not read back: ${reread.join('; ')}.`,
      { problems: reread },
    );
  }
  return bytes;
}

/** The ModelProto as plain data, before validation and encoding. */
export function buildOnnxModel(input: {
  layers: DenseLayerWeights[];
  scaler: StandardScalerParams;
  threshold: number;
  metadata: OnnxMetadata;
  opset: number;
}): ModelDef {
  const { layers, scaler, threshold, metadata, opset } = input;
  const nFeatures = scaler.features.length;
  const scaling = inputScaling({ center: scaler.mean, divisor: scaler.std }, nFeatures);
  const initializer: TensorDef[] = [
    ...scaling.initializer,
    floatTensor('threshold', [], [float32AtLeast(threshold)]),
  ];
  const node: NodeDef[] = [];
  // Categorical features (string inputs, frequency-encoded in the graph) only when the scaler has
  // them; otherwise the one float input, the graph as it always was.
  const layerNames = new Set(layers.map((l) => l.name));
  const encoded = categoricalInputs(
    scaler,
    node,
    initializer,
    (name) =>
      [...scaling.names, 'threshold', PROBABILITY_OUTPUT, LABEL_OUTPUT].includes(name) ||
      name.startsWith('is_positive') ||
      [...layerNames].some((layer) => name.startsWith(layer)),
  );
  const scaled = scaling.nodes(encoded.features);
  node.push(...scaled.node);
  let previous = scaled.output;
  layers.forEach((layer, i) => {
    const out = i === layers.length - 1 ? PROBABILITY_OUTPUT : layer.name;
    const dense = denseLayerNodes(layer, previous, out);
    initializer.push(...dense.initializer);
    node.push(...dense.node);
    previous = out;
  });
  node.push(
    {
      name: 'threshold_compare',
      opType: 'GreaterOrEqual',
      input: [PROBABILITY_OUTPUT, 'threshold'],
      output: ['is_positive'],
    },
    {
      name: 'label_cast',
      opType: 'Cast',
      input: ['is_positive'],
      output: [LABEL_OUTPUT],
      attribute: [{ name: 'to', type: AttributeType.INT, i: DataType.INT64 }],
    },
  );

  return {
    irVersion: irVersionFor(opset),
    producerName: 'slipway',
    producerVersion: metadata.producerVersion,
    modelVersion: 1,
    docString:
      `Binary classifier for "${metadata.target}" over ${nFeatures} raw features in this order: ` +
      `${metadata.features.join(', ')}. ${encoded.doc}Scaling happens inside the graph. Outputs: probability of ` +
      `class 1, and label = probability >= ${threshold}.`,
    opsetImport: [
      { domain: '', version: opset },
      ...(encoded.categorical ? [{ domain: ML_DOMAIN, version: ML_OPSET }] : []),
    ],
    graph: {
      name: metadata.modelName,
      node,
      initializer,
      input: encoded.inputs,
      output: [
        { name: PROBABILITY_OUTPUT, type: tensorType([BATCH_DIM, 1]) },
        // int64 0/1 rather than float: a class label, like the 0/1 integers of the target column
        // the platform compares predicted(<target>) with, and the label type ONNX classifiers use.
        { name: LABEL_OUTPUT, type: tensorType([BATCH_DIM, 1], DataType.INT64) },
      ],
    },
    metadataProps: metadataProps(metadata, threshold, encoded.categorical),
  };
}

function metadataProps(metadata: OnnxMetadata, threshold: number, categorical: string | undefined) {
  const props: Record<string, string> = {
    'slipway.model_name': metadata.modelName,
    'slipway.features': JSON.stringify(metadata.features),
    'slipway.target': metadata.target,
    'slipway.threshold': String(threshold),
    'slipway.dataset_sha256': metadata.datasetSha256,
    'slipway.run_id': metadata.runId,
    'slipway.producer': 'slipway',
    'slipway.producer_version': metadata.producerVersion,
    'slipway.input': categorical
      ? `${INPUT_NAME}: float32 [${BATCH_DIM}, ${metadata.features.length - (JSON.parse(categorical) as unknown[]).length}], ` +
        `raw (unscaled) values of the numeric features; one string [${BATCH_DIM}, 1] per categorical feature`
      : `${INPUT_NAME}: float32 [${BATCH_DIM}, ${metadata.features.length}], raw (unscaled) values`,
    'slipway.outputs': `${PROBABILITY_OUTPUT}: float32 [${BATCH_DIM}, 1]; ${LABEL_OUTPUT}: int64 [${BATCH_DIM}, 1]`,
    ...(categorical ? { 'slipway.categorical': categorical } : {}),
  };
  for (const [key, value] of Object.entries(metadata.extra ?? {})) {
    const full = `slipway.${key}`;
    if (full in props) {
      throw new OnnxExportError(
        'InvalidExportInput',
        `Extra metadata key "${key}" would overwrite the built-in "${full}"; choose another key.`,
      );
    }
    props[full] = value;
  }
  return Object.entries(props).map(([key, value]) => ({ key, value }));
}

function checkExportInputs(
  scaler: StandardScalerParams,
  threshold: number,
  metadata: OnnxMetadata,
  opset: number,
): void {
  const bad = (message: string): never => {
    throw new OnnxExportError('InvalidExportInput', message);
  };
  if (!Number.isInteger(opset) || opset < DEFAULT_OPSET || opset > MAX_OPSET) {
    throw new OnnxExportError(
      'UnsupportedOpset',
      `Opset ${opset} is not supported: choose an opset from ${DEFAULT_OPSET} to ${MAX_OPSET}.`,
    );
  }
  const n = scaler.features.length;
  if (scaler.mean.length !== n || scaler.std.length !== n) {
    bad(`The scaler has ${n} features, ${scaler.mean.length} means and ${scaler.std.length} stds; refit it.`);
  }
  scaler.features.forEach((name, j) => {
    const mean = scaler.mean[j] as number;
    const std = scaler.std[j] as number;
    if (!Number.isFinite(mean) || !Number.isFinite(std) || !(std > 0)) {
      bad(
        `The scaler's column "${name}" (index ${j}) has mean ${mean} and std ${std}; both must be finite, std > 0.`,
      );
    }
  });
  if (new Set(scaler.features).size !== n) {
    const dup = scaler.features.find((f, i) => scaler.features.indexOf(f) !== i);
    bad(`Feature "${dup}" appears twice; the platform maps columns by name, so names must be unique.`);
  }
  // The platform feeds columns in the metadata's order, the graph scales them in the scaler's:
  // any difference would score every row with the wrong means.
  if (metadata.features.length !== n) {
    bad(`${metadata.features.length} feature names in the metadata for a scaler over ${n} columns.`);
  }
  metadata.features.forEach((name, j) => {
    if (name !== scaler.features[j]) {
      bad(
        `Feature ${j} is "${name}" in the metadata but "${scaler.features[j]}" in the scaler; ` +
          'the declared feature order must be the order the scaler was fitted in.',
      );
    }
  });
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    bad(`The threshold ${threshold} is not a probability; use a number from 0 to 1.`);
  }
  if (!metadata.modelName.trim()) bad('The model name is empty.');
  if (!metadata.target.trim()) bad('The target name is empty.');
  if (!/^[0-9a-f]{64}$/.test(metadata.datasetSha256)) {
    bad(`The dataset sha256 "${metadata.datasetSha256}" is not 64 lowercase hex digits.`);
  }
}

/**
 * The smallest float32 that is >= t. The graph compares float32 probabilities, and for any
 * float32 p, `p >= float32AtLeast(t)` holds exactly when `p >= t` does; rounding t to the
 * nearest float32 instead could label a probability just below t as positive.
 */
export function float32AtLeast(t: number): number {
  const f = Math.fround(t);
  if (f >= t) return f;
  const bits = new Float32Array([f]);
  const asInt = new Int32Array(bits.buffer);
  asInt[0] = (asInt[0] as number) + (f >= 0 ? 1 : -1);
  return bits[0] as number;
}
