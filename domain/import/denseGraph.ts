import type { DenseActivation } from '../ml/modelSpec';
import { AttributeType, DataType, type ModelDef, type NodeDef, type TensorDef } from '../onnx/onnxProto';
import type { DenseNetwork, InputScaling, ReferenceLayer } from '../onnx/reference';

/** A graph read as a dense network, or why it could not be. */
export type DenseGraphReading = { network: DenseNetwork } | { reason: string };

const activationOps: Record<string, DenseActivation> = {
  Relu: 'relu',
  Sigmoid: 'sigmoid',
  Tanh: 'tanh',
  Softplus: 'softplus',
  Elu: 'elu',
  Selu: 'selu',
};

/**
 * Reads an imported ONNX graph as the dense family the parity reference evaluates, walking back
 * from the scored output: it must be a Sigmoid over a one-unit linear layer, each linear layer a
 * Gemm (alpha = beta = 1, transB either way) or a MatMul with an optional Add of a constant bias,
 * each hidden activation Relu, Sigmoid, Tanh, Softplus, Elu (alpha 1) or Selu (default
 * constants), and before the first layer an optional scaler (Sub of a constant, then Div or Mul by
 * a constant), down to the graph input. That covers Slipway's own exports and the plain MLP
 * graphs tf2onnx and skl2onnx-style converters write; anything else (a Softmax, a ZipMap, a
 * reshape, a second input) is not read, and the caller skips the reference check, saying why.
 */
export function readDenseGraph(
  model: ModelDef,
  outputName: string,
  nFeatures: number,
  /**
   * The tensor the scaler (or first layer) must read, when not the graph input: the output of a
   * categorical prelude (domain/explain/categoricalExplainer.ts), which the caller reads itself.
   */
  start?: string,
): DenseGraphReading {
  const graph = model.graph;
  const producer = new Map<string, NodeDef>();
  for (const node of graph.node) for (const out of node.output) producer.set(out, node);
  // Constants as initializers (what converters write); Constant nodes are not read.
  const constants = new Map<string, TensorDef>(graph.initializer.map((t) => [t.name, t]));
  const inputName = start ?? graph.input.find((i) => !constants.has(i.name))?.name;
  const skip = (reason: string): DenseGraphReading => ({ reason });
  const through = (name: string): NodeDef | undefined => {
    let node = producer.get(name);
    while (node?.opType === 'Identity') node = producer.get(node.input[0] as string);
    return node;
  };

  const head = through(outputName);
  if (head?.opType !== 'Sigmoid') {
    return skip(
      `its output "${outputName}" comes from ${head ? `a ${head.opType} node` : 'no node'}, not from a Sigmoid over dense layers`,
    );
  }
  const layers: ReferenceLayer[] = [];
  let activation: DenseActivation = 'sigmoid';
  let value = head.input[0] as string;
  for (;;) {
    const linear = readLinear(value, through, constants);
    if ('reason' in linear) return skip(linear.reason);
    layers.unshift({ ...linear.layer, activation });
    value = linear.input;
    const node = through(value);
    const op = node ? activationOps[node.opType] : undefined;
    if (node && op) {
      if (!defaultActivationAttributes(node)) {
        return skip(`its ${node.opType} node "${node.name}" has constants other than the defaults`);
      }
      activation = op;
      value = node.input[0] as string;
      continue;
    }
    if (node && (node.opType === 'Gemm' || node.opType === 'MatMul' || node.opType === 'Add')) {
      activation = 'linear';
      continue;
    }
    break;
  }
  const scaling = readScaling(value, through, constants, inputName);
  if ('reason' in scaling) return skip(scaling.reason);
  const first = layers[0] as ReferenceLayer;
  if (first.inputs !== nFeatures) {
    return skip(`its first dense layer takes ${first.inputs} values, not the ${nFeatures} features`);
  }
  if ((layers[layers.length - 1] as ReferenceLayer).units !== 1) {
    return skip('its last dense layer has more than one unit');
  }
  for (const [name, values] of Object.entries(scaling.scaling)) {
    if (values && values.length !== nFeatures) {
      return skip(`its scaler's ${name} has ${values.length} values for ${nFeatures} features`);
    }
  }
  return { network: { scaling: scaling.scaling, layers } };
}

type Through = (name: string) => NodeDef | undefined;

function readLinear(
  value: string,
  through: Through,
  constants: Map<string, TensorDef>,
): { layer: Omit<ReferenceLayer, 'activation'>; input: string } | { reason: string } {
  const node = through(value);
  if (node?.opType === 'Gemm') {
    const attr = (name: string) => node.attribute?.find((a) => a.name === name);
    const transA = attr('transA')?.i ?? 0;
    const transB = attr('transB')?.i ?? 0;
    const alpha = attr('alpha')?.f ?? 1;
    const beta = attr('beta')?.f ?? 1;
    if (Number(transA) !== 0 || alpha !== 1 || beta !== 1) {
      return { reason: `its Gemm node "${node.name}" transposes its input or scales by alpha or beta` };
    }
    const weights = constant(constants, node.input[1]);
    const bias = node.input[2] ? constant(constants, node.input[2]) : undefined;
    if (weights?.dims.length !== 2 || (node.input[2] && !bias)) {
      return { reason: `its Gemm node "${node.name}" does not take a constant 2-D weight and bias` };
    }
    return layerOf(node, weights, bias, Number(transB) === 1, node.input[0] as string);
  }
  let bias: { values: Float64Array; dims: number[] } | undefined;
  let matmul = node;
  if (node?.opType === 'Add') {
    const [a, b] = node.input as [string, string];
    const constA = constant(constants, a);
    const constB = constant(constants, b);
    bias = constB ?? constA;
    matmul = through(constB ? a : b);
    if (!bias || (constA && constB))
      return { reason: `its Add node "${node.name}" does not add a constant bias` };
  }
  if (matmul?.opType !== 'MatMul') {
    return {
      reason: `a dense layer ends in ${matmul ? `a ${matmul.opType} node` : 'no node'} where a Gemm or MatMul (+ Add) was expected`,
    };
  }
  const weights = constant(constants, matmul.input[1]);
  if (weights?.dims.length !== 2) {
    return { reason: `its MatMul node "${matmul.name}" does not multiply by a constant 2-D weight` };
  }
  return layerOf(matmul, weights, bias, false, matmul.input[0] as string);
}

function layerOf(
  node: NodeDef,
  weights: { values: Float64Array; dims: number[] },
  bias: { values: Float64Array; dims: number[] } | undefined,
  transposed: boolean,
  input: string,
): { layer: Omit<ReferenceLayer, 'activation'>; input: string } | { reason: string } {
  const [d0, d1] = weights.dims as [number, number];
  const inputs = transposed ? d1 : d0;
  const units = transposed ? d0 : d1;
  let kernel = weights.values;
  if (transposed) {
    kernel = new Float64Array(inputs * units);
    for (let i = 0; i < units; i++)
      for (let j = 0; j < inputs; j++) kernel[j * units + i] = weights.values[i * inputs + j] as number;
  }
  const biasValues = bias?.values ?? new Float64Array(units);
  if (biasValues.length !== units) {
    return { reason: `the bias of "${node.name}" has ${biasValues.length} values for ${units} units` };
  }
  return { layer: { inputs, units, kernel, bias: biasValues }, input };
}

function readScaling(
  value: string,
  through: Through,
  constants: Map<string, TensorDef>,
  inputName: string | undefined,
): { scaling: InputScaling } | { reason: string } {
  const scaling: InputScaling = {};
  let current = value;
  let node = through(current);
  if (node && (node.opType === 'Div' || node.opType === 'Mul')) {
    const factor = constant(constants, node.input[1]);
    if (!factor) return { reason: `its ${node.opType} node "${node.name}" does not scale by a constant` };
    if (node.opType === 'Div') scaling.divisor = factor.values;
    else scaling.multiplier = factor.values;
    current = node.input[0] as string;
    node = through(current);
  }
  if (node?.opType === 'Sub') {
    const center = constant(constants, node.input[1]);
    if (!center) return { reason: `its Sub node "${node.name}" does not subtract a constant` };
    scaling.center = center.values;
    current = node.input[0] as string;
    node = through(current);
  }
  if (current !== inputName) {
    return {
      reason: `the first dense layer reads ${node ? `a ${node.opType} node` : `"${current}"`}, not the graph input (or a Sub/Div scaler on it)`,
    };
  }
  return { scaling: Object.keys(scaling).length > 0 ? scaling : {} };
}

function constant(
  constants: Map<string, TensorDef>,
  name: string | undefined,
): { values: Float64Array; dims: number[] } | undefined {
  const tensor = name ? constants.get(name) : undefined;
  if (!tensor || tensor.dataType !== DataType.FLOAT) return undefined;
  let values: Float64Array;
  if (tensor.rawData && tensor.rawData.length > 0) {
    const bytes = Uint8Array.from(tensor.rawData);
    values = Float64Array.from(new Float32Array(bytes.buffer, 0, bytes.length / 4));
  } else {
    values = Float64Array.from(tensor.floatData ?? []);
  }
  // A bias or scaler stored as [1, n] is read by its length; weights by their two dims.
  return { values, dims: tensor.dims.map(Number) };
}

function defaultActivationAttributes(node: NodeDef): boolean {
  const f = (name: string) =>
    node.attribute?.find((a) => a.name === name && a.type === AttributeType.FLOAT)?.f;
  if (node.opType === 'Elu') return (f('alpha') ?? 1) === 1;
  if (node.opType === 'Selu') {
    const near = (a: number | undefined, b: number) => a === undefined || Math.abs(a - b) <= 1e-6 * b;
    return near(f('alpha'), 1.6732632423543772) && near(f('gamma'), 1.0507009873554805);
  }
  return true;
}
