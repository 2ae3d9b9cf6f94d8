import type * as tf from '@tensorflow/tfjs';
import type { DenseActivation, ModelSpec } from '../ml/modelSpec';
import type { StandardScalerParams } from '../ml/scalerTypes';
import { OnnxExportError } from './errors';
import {
  type Attribute,
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
  features: string[];
  target: string;
  producerVersion: string;
  datasetSha256: string;
  runId: string;
}

export interface ExportOptions {
  model: tf.LayersModel;
  spec: ModelSpec;
  scaler: StandardScalerParams;
  /** Rows scoring at or above it get label 1, as in evaluation. */
  threshold: number;
  metadata: OnnxMetadata;
  /** Default 13; anything from 13 to 21 (what onnxruntime-node 1.30 runs). */
  opset?: number;
}

export const INPUT_NAME = 'features';
export const PROBABILITY_OUTPUT = 'probability';
export const LABEL_OUTPUT = 'label';

/** The IR version each opset was released with, so older runtimes still open the file. */
function irVersionFor(opset: number): number {
  if (opset <= 13) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

// tfjs's SELU constants, the same as the ONNX defaults written out.
const SELU_ALPHA = 1.6732632423543772;
const SELU_GAMMA = 1.0507009873554805;

function activationNode(
  activation: DenseActivation,
  input: string,
  output: string,
  name: string,
): NodeDef | undefined {
  const floatAttr = (n: string, f: number): Attribute => ({ name: n, type: AttributeType.FLOAT, f });
  switch (activation) {
    case 'linear':
      return undefined;
    case 'relu':
      return { name, opType: 'Relu', input: [input], output: [output] };
    case 'sigmoid':
      return { name, opType: 'Sigmoid', input: [input], output: [output] };
    case 'tanh':
      return { name, opType: 'Tanh', input: [input], output: [output] };
    case 'softplus':
      return { name, opType: 'Softplus', input: [input], output: [output] };
    case 'elu':
      return { name, opType: 'Elu', input: [input], output: [output], attribute: [floatAttr('alpha', 1)] };
    case 'selu':
      return {
        name,
        opType: 'Selu',
        input: [input],
        output: [output],
        attribute: [floatAttr('alpha', SELU_ALPHA), floatAttr('gamma', SELU_GAMMA)],
      };
  }
}

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorDef {
  const data = Float32Array.from(values);
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

/**
 * One self-contained ONNX graph for the operations platform: raw features in, in the declared
 * order; the scaler (Sub, Div) inside; each dense layer as Gemm plus its activation; dropout
 * gone (it is the identity at inference); `probability` [N, 1] and `label` [N, 1] out.
 */
export function exportToOnnx(options: ExportOptions): Uint8Array {
  const { model, spec, scaler, threshold, metadata } = options;
  const opset = options.opset ?? 13;
  if (!Number.isInteger(opset) || opset < 13 || opset > 21) {
    throw new OnnxExportError(
      'UnsupportedOpset',
      `Opset ${opset} is not supported: choose an opset from 13 to 21.`,
    );
  }
  const nFeatures = scaler.features.length;
  if (metadata.features.length !== nFeatures) {
    throw new OnnxExportError(
      'ModelSpecMismatch',
      `${metadata.features.length} feature names for a scaler over ${nFeatures} columns.`,
    );
  }
  const denseSpecs = spec.layers.filter((l) => l.type === 'dense');
  const denseLayers = model.layers.filter((l) => l.getClassName() === 'Dense');
  if (denseSpecs.length !== denseLayers.length) {
    throw new OnnxExportError(
      'ModelSpecMismatch',
      `The spec has ${denseSpecs.length} dense layers, the model ${denseLayers.length}.`,
    );
  }

  const initializer: TensorDef[] = [
    floatTensor('scaler_mean', [nFeatures], scaler.mean),
    floatTensor('scaler_std', [nFeatures], scaler.std),
    floatTensor('threshold', [], [threshold]),
  ];
  const node: NodeDef[] = [
    { name: 'scaler_center', opType: 'Sub', input: [INPUT_NAME, 'scaler_mean'], output: ['centered'] },
    { name: 'scaler_scale', opType: 'Div', input: ['centered', 'scaler_std'], output: ['scaled'] },
  ];
  let previous = 'scaled';
  denseLayers.forEach((layer, i) => {
    const [kernel, bias] = layer.getWeights() as [tf.Tensor, tf.Tensor];
    const activation = (denseSpecs[i] as { activation: DenseActivation }).activation;
    const last = i === denseLayers.length - 1;
    initializer.push(floatTensor(`${layer.name}_kernel`, kernel.shape, kernel.dataSync()));
    initializer.push(floatTensor(`${layer.name}_bias`, bias.shape, bias.dataSync()));
    const linear = activation === 'linear' && last ? PROBABILITY_OUTPUT : `${layer.name}_linear`;
    node.push({
      name: `${layer.name}_gemm`,
      opType: 'Gemm',
      input: [previous, `${layer.name}_kernel`, `${layer.name}_bias`],
      output: [linear],
    });
    const out = last ? PROBABILITY_OUTPUT : layer.name;
    const act = activationNode(activation, linear, out, `${layer.name}_${activation}`);
    if (act) node.push(act);
    previous = act ? out : linear;
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

  const tensorType = (elemType: number, dims: Array<number | string>) => ({
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  });
  const definition: ModelDef = {
    irVersion: irVersionFor(opset),
    producerName: 'slipway',
    producerVersion: metadata.producerVersion,
    modelVersion: 1,
    docString: `Binary classifier for "${metadata.target}" over ${nFeatures} raw features; scaling happens inside the graph.`,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: metadata.modelName,
      node,
      initializer,
      input: [{ name: INPUT_NAME, type: tensorType(DataType.FLOAT, ['N', nFeatures]) }],
      output: [
        { name: PROBABILITY_OUTPUT, type: tensorType(DataType.FLOAT, ['N', 1]) },
        // int64 0/1: what the platform's apply writes into predicted(<target>).
        { name: LABEL_OUTPUT, type: tensorType(DataType.INT64, ['N', 1]) },
      ],
    },
    metadataProps: [
      { key: 'slipway.model_name', value: metadata.modelName },
      { key: 'slipway.features', value: JSON.stringify(metadata.features) },
      { key: 'slipway.target', value: metadata.target },
      { key: 'slipway.threshold', value: String(threshold) },
      { key: 'slipway.dataset_sha256', value: metadata.datasetSha256 },
      { key: 'slipway.run_id', value: metadata.runId },
      { key: 'slipway.producer', value: `slipway ${metadata.producerVersion}` },
    ],
  };
  const problems = validateOnnxModel(definition);
  if (problems.length > 0) {
    throw new OnnxExportError(
      'OnnxStructureError',
      `The exported graph is malformed: ${problems.join('; ')}.`,
      { problems },
    );
  }
  const bytes = encodeModel(definition);
  // Read back what was written, so an encoding slip is caught here and not by a customer.
  const reread = validateOnnxModel(decodeModel(bytes));
  if (reread.length > 0)
    throw new OnnxExportError(
      'OnnxStructureError',
      `The encoded file does not read back: ${reread.join('; ')}.`,
    );
  return bytes;
}
