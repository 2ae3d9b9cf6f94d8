import type { DenseActivation } from '../ml/modelSpec';
import {
  type Attribute,
  AttributeType,
  DataType,
  type NodeDef,
  type TensorDef,
  type ValueInfo,
} from './onnxProto';
import { type InputScaling, SELU_ALPHA, SELU_SCALE } from './reference';

/**
 * The parts every graph Slipway writes is built from (the classifier and anomaly exports, the
 * explainer's rescale graph): tensors, value types, the input scaling and the dense layers, so
 * each graph names and computes them one way.
 */

/** The float input of an exported graph (the raw numeric features) and its symbolic batch dimension. */
export const INPUT_NAME = 'features';
export const BATCH_DIM = 'N';

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorDef {
  const data = Float32Array.from(values);
  // raw_data is little-endian by the ONNX spec; so are the machines Node runs on here.
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
}

/** A tensor's type: `dims` as sizes, or as symbolic names (the batch dimension). */
export function tensorType(
  dims: Array<number | string>,
  elemType: number = DataType.FLOAT,
): ValueInfo['type'] {
  return {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  };
}

/**
 * The input scaling as graph nodes: Sub of the centre (`scaler_mean` -> `centered`), then Div by
 * the divisor (`scaler_std`) or Mul by the multiplier (`scaler_multiplier`) -> `scaled`; a part
 * that is absent is left out. Div rather than a folded Mul by 1/std: the same float32 operations
 * the JS scaler does before the model predicts, so both see the same scaled values (a folded
 * x * (1/std) would differ in the last bit).
 */
export function inputScaling(
  scaling: InputScaling,
  nFeatures: number,
): {
  initializer: TensorDef[];
  /** The tensor names the scaling takes (a categorical input may not have one of them). */
  names: string[];
  /** The nodes reading `input`, and the tensor holding the scaled features (`input` itself without scaling). */
  nodes(input: string): { node: NodeDef[]; output: string };
} {
  const initializer: TensorDef[] = [];
  if (scaling.center) initializer.push(floatTensor('scaler_mean', [nFeatures], scaling.center));
  if (scaling.divisor) initializer.push(floatTensor('scaler_std', [nFeatures], scaling.divisor));
  else if (scaling.multiplier)
    initializer.push(floatTensor('scaler_multiplier', [nFeatures], scaling.multiplier));
  const divides = initializer.length > (scaling.center ? 1 : 0);
  return {
    initializer,
    names: [
      ...initializer.map((t) => t.name),
      ...(scaling.center ? ['centered'] : []),
      ...(divides ? ['scaled'] : []),
    ],
    nodes(input) {
      const node: NodeDef[] = [];
      let output = input;
      const apply = (name: string, opType: string, operand: string, result: string) => {
        node.push({ name, opType, input: [output, operand], output: [result] });
        output = result;
      };
      if (scaling.center) apply('scaler_center', 'Sub', 'scaler_mean', 'centered');
      if (scaling.divisor) apply('scaler_scale', 'Div', 'scaler_std', 'scaled');
      else if (scaling.multiplier) apply('scaler_scale', 'Mul', 'scaler_multiplier', 'scaled');
      return { node, output };
    },
  };
}

/** One dense layer as the graph holds it; `name` prefixes its tensors and nodes. */
export interface GraphDenseLayer {
  name: string;
  inputs: number;
  units: number;
  activation: DenseActivation;
  /** Row-major [inputs, units], as ONNX Gemm reads B. */
  kernel: ArrayLike<number>;
  bias: ArrayLike<number>;
}

/**
 * A dense layer as graph nodes: `<name>_kernel` and `<name>_bias`, a Gemm ([N, inputs] x
 * [inputs, units] + bias broadcast over the batch) into `<name>_linear`, then the activation into
 * `output`; a linear layer's Gemm writes `output` itself. `linear` is the pre-activation's name.
 */
export function denseLayerNodes(
  layer: GraphDenseLayer,
  input: string,
  output: string,
): { initializer: TensorDef[]; node: NodeDef[]; linear: string } {
  const kernel = `${layer.name}_kernel`;
  const bias = `${layer.name}_bias`;
  const linear = layer.activation === 'linear' ? output : `${layer.name}_linear`;
  const node: NodeDef[] = [
    { name: `${layer.name}_gemm`, opType: 'Gemm', input: [input, kernel, bias], output: [linear] },
  ];
  const act = activationNode(layer.activation, linear, output, `${layer.name}_${layer.activation}`);
  if (act) node.push(act);
  return {
    initializer: [
      floatTensor(kernel, [layer.inputs, layer.units], layer.kernel),
      floatTensor(bias, [layer.units], layer.bias),
    ],
    node,
    linear,
  };
}

/** The activation's node (none for linear), with tfjs's constants written out so no reader depends on defaults. */
function activationNode(
  activation: DenseActivation,
  input: string,
  output: string,
  name: string,
): NodeDef | undefined {
  const floatAttr = (n: string, f: number): Attribute => ({ name: n, type: AttributeType.FLOAT, f });
  const unary = (opType: string, attribute?: Attribute[]): NodeDef => ({
    name,
    opType,
    input: [input],
    output: [output],
    ...(attribute ? { attribute } : {}),
  });
  switch (activation) {
    case 'linear':
      return undefined;
    case 'relu':
      return unary('Relu');
    case 'sigmoid':
      return unary('Sigmoid');
    case 'tanh':
      return unary('Tanh');
    case 'softplus':
      return unary('Softplus');
    case 'elu':
      // tfjs's elu only supports alpha 1.
      return unary('Elu', [floatAttr('alpha', 1)]);
    case 'selu':
      // ONNX's gamma is tfjs's scale.
      return unary('Selu', [floatAttr('alpha', SELU_ALPHA), floatAttr('gamma', SELU_SCALE)]);
  }
}
